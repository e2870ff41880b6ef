"""The report as a Word document (python-docx): what Chinese government offices exchange.

A real document, not a picture of one: headings in the heading styles (so Word's navigation pane and
table of contents work), tables as Word tables with a repeated header row, text in 宋体 and headings in
黑体 set for East Asian text (``w:eastAsia``), the chain figure embedded as a picture, and a footer that
traces the printout to its dataset. The fonts are in :data:`FONTS`; a user who wants others edits them
there or restyles the document in Word.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from accountability.reports.figure import ChainFigure, draw, draw_reporting
from accountability.reports.model import AssessedGroup, PersonEntry, Report, say

if TYPE_CHECKING:
    from accountability.reports.timeliness import ReportingSection

# (Latin font, East Asian font) — the names Chinese Word installations know
FONTS = {
    "body": ("Times New Roman", "宋体"),
    "heading": ("Arial", "黑体"),
}
BODY_PT = 12  # 小四
TABLE_PT = 10.5  # 五号
HEADING_PT = {0: 18, 1: 16, 2: 14, 3: 12}  # 小二, 三号, 四号, 小四
CONTENT_MM = 210 - 2 * 25
BLACK = RGBColor(0, 0, 0)
GREY = RGBColor(0x66, 0x66, 0x66)
DARK_RED = RGBColor(0x9B, 0x1C, 0x1C)
THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
# What XML 1.0 cannot hold: control characters but tab and line breaks, U+FFFE/U+FFFF, lone surrogates
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` as a Word document can hold it. The store keeps names verbatim, control characters included
    (the PDF prints them), but python-docx refuses them: the document shows each escaped (``\\x00``), so
    that the printout still says the data holds one."""
    return XML_ILLEGAL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def set_fonts(target, which: str = "body") -> None:
    """Latin and East Asian fonts of a style or a run, replacing the theme's."""
    latin, east_asia = FONTS[which]
    target.font.name = latin
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _styles(doc, lang: str) -> None:
    normal = doc.styles["Normal"]
    set_fonts(normal, "body")
    normal.font.size = Pt(BODY_PT)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.25
    rpr = normal.element.get_or_add_rPr()
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = OxmlElement("w:lang")
        rpr.append(lang_el)
    lang_el.set(qn("w:val"), "en-US")
    lang_el.set(qn("w:eastAsia"), "zh-CN")
    for level in range(4):
        style = doc.styles["Title" if level == 0 else f"Heading {level}"]
        set_fonts(style, "heading")
        style.font.size = Pt(HEADING_PT[level])
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = BLACK
        style.paragraph_format.space_before = Pt(12 if level <= 1 else 8)
        style.paragraph_format.space_after = Pt(6 if level <= 1 else 4)
        style.paragraph_format.keep_with_next = True
    title = doc.styles["Title"]
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # the default Title style draws a blue rule under the text; official documents have none
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def _page(doc) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin, section.bottom_margin = Mm(25), Mm(22)


def _run(paragraph, text: str, bold: bool = False, color: RGBColor | None = None, size: float | None = None,
         which: str = "body"):
    run = paragraph.add_run(xml_text(text))
    run.bold = bold or None
    if color is not None:
        run.font.color.rgb = color
    if size:
        run.font.size = Pt(size)
    if which != "body":
        set_fonts(run, which)
    return run


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _row_flag(row, tag: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement(tag)
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _repeat_header(row) -> None:
    _row_flag(row, "w:tblHeader")


def _table(doc, header: list[str] | None, rows: list[list], widths_mm: list[float],
           header_columns: tuple[int, ...] = (), numeric_columns: tuple[int, ...] = ()):
    """A Word table: grid lines, a shaded header row repeated on every page, fixed column widths."""
    n = len(widths_mm)
    table = doc.add_table(rows=0, cols=n)
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for j, width in enumerate(widths_mm):  # the grid, which LibreOffice and WPS lay out by
        table.columns[j].width = Mm(width)
    all_rows = ([header] if header else []) + rows
    for i, values in enumerate(all_rows):
        row = table.add_row()
        _row_flag(row, "w:cantSplit")  # a row that would break over a page moves whole to the next
        for j, value in enumerate(values):
            cell = row.cells[j]
            cell.width = Mm(widths_mm[j])
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.1
            if j in numeric_columns and not (header and i == 0):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            is_head = (header and i == 0) or j in header_columns
            parts = value if isinstance(value, list) else [value]
            for k, part in enumerate(parts):
                text, bold, color = (part, False, None) if not isinstance(part, tuple) else part
                if k:
                    paragraph = cell.add_paragraph()
                    paragraph.paragraph_format.space_after = Pt(0)
                _run(paragraph, str(text), bold=bool(is_head and header and i == 0) or bold, color=color,
                     size=TABLE_PT, which="heading" if is_head else "body")
            if is_head:
                _shade(cell, "E9E9E9" if header and i == 0 else "F4F4F4")
        if header and i == 0:
            _repeat_header(row)
    doc.add_paragraph().paragraph_format.space_after = Pt(0)
    return table


def _labelled(doc, label: str, value: str, p: dict, indent_cm: float = 0.74, keep: bool = True) -> None:
    """A "label: value" line; ``keep`` holds it on the page of the line after (a person's block stays whole)."""
    para = doc.add_paragraph()
    para.paragraph_format.left_indent = Cm(indent_cm)
    para.paragraph_format.space_after = Pt(0)
    para.paragraph_format.keep_with_next = keep
    _run(para, label + p["colon"], bold=True, size=TABLE_PT, which="heading")
    _run(para, value, size=TABLE_PT)


def _page_field(paragraph) -> None:
    """A PAGE field: Word fills in the page number."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = " PAGE "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _footer(doc, report: Report) -> None:
    footer = doc.sections[0].footer
    para = footer.paragraphs[0]
    _run(para, report.footer + "    ", size=8, color=GREY)
    before, _, after = report.words["words"]["page"].partition("{page}")
    _run(para, before, size=8, color=GREY)
    _page_field(para)
    _run(para, after, size=8, color=GREY)


def _person(doc, i: int, person: PersonEntry, report: Report, assessed: AssessedGroup | None = None) -> None:
    """One person of the proposed list, every post they held with why; or, in a section of persons shown
    apart (``assessed``, v2), their posts with the records or days that set them apart."""
    w, f, p = (report.words[k] for k in ("words", "fields", "punct"))
    para = doc.add_paragraph()
    para.paragraph_format.space_before = Pt(4)
    para.paragraph_format.keep_with_next = True
    _run(para, f"{i}. ", bold=True)
    _run(para, person.person.name, bold=True, which="heading")
    if person.moved_on:
        _run(para, p["flag_open"] + w["moved_on"] + p["flag_close"], bold=True, color=DARK_RED)
    for n, pp in enumerate(person.posts, start=1):
        link = pp.link
        last = n == len(person.posts)
        tenure = p["semi"].join(
            h.tenure_text + "".join(p["flag_open"] + x + p["flag_close"] for x in h.flags)
            + (p["open"] + f["overlap"] + " " + h.overlap_text + p["close"] if h.overlap_text else "")
            for h in pp.holdings)
        escalated = p["open"] + w["escalated"] + p["close"] if link.escalated else ""
        lines = [(f["post"], f"{link.organization.name} {link.post.name}"), (f["tenure"], tenure)]
        if link.act:
            lines.append((f["act"], link.act_text))
        lines += [(f["duty"], f"{link.duty_label} · {link.degree_label}{escalated}"),
                  (f["rules"], p["semi"].join(f"{r.id} {r.name}" for r in link.rules))]
        assessment = (f["assessment"], pp.status_label + (p["dash"] + pp.reasons_text if pp.reasons_text else ""))
        if assessed is not None:
            lines.append((assessed.records_label, pp.reasons_text) if pp.status == assessed.status else assessment)
        else:
            if link.evidence:
                lines.append((f["evidence"], p["semi"].join(r.text for r in link.evidence)))
            lines += [(f["basis"], p["semi"].join(link.basis)), (f["path"], link.path_text),
                      (f["explanation"], link.explanation)]
            if pp.status and pp.status != "accountable":
                lines.append(assessment)
        for k, (label, value) in enumerate(lines, start=1):
            _labelled(doc, label, value, p, keep=not (last and k == len(lines)))


def _reporting(doc, r: "ReportingSection", with_figure: bool) -> None:
    """The reporting timeline (figure and steps) and the on-duty table, under the incident's facts."""
    w = r.words
    doc.add_heading(xml_text(r.title), level=2)
    doc.add_paragraph(xml_text(r.summary))
    if with_figure and r.steps:
        timeline = draw_reporting(r, ("png",))
        doc.add_picture(io.BytesIO(timeline.png), width=Mm(CONTENT_MM))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = doc.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(caption, r.caption, size=9, which="heading")
    rows = [[str(step.number), step.sender.name, step.receiver.name, step.due_text, step.at_text,
             [(step.status_text, step.late, DARK_RED if step.late else None)]] for step in r.steps]
    _table(doc, [w["number"], w["sender"], w["receiver"], w["due"], w["at"], w["status"]], rows,
           [10, 38, 34, 27, 27, CONTENT_MM - 136], numeric_columns=(0,))
    doc.add_heading(xml_text(r.on_duty_title), level=2)
    doc.add_paragraph(xml_text(r.on_duty_intro))
    rows = [[row.at_text, row.occasion, row.jurisdiction.name,
             [(row.leader, False, None if row.data["leader_on_duty"] else DARK_RED)],
             [(row.officer, False, None if row.data["duty_officer"] else DARK_RED)]] for row in r.on_duty]
    _table(doc, [w["time"], w["occasion"], w["jurisdiction"], w["leader"], w["officer"]], rows,
           [27, 40, 21, 36, CONTENT_MM - 124])


def render_docx(report: Report, figure: ChainFigure | bool | None = True) -> bytes:
    """The report as a .docx file's bytes."""
    w, f, s, p = (report.words[k] for k in ("words", "fields", "sections", "punct"))
    doc = Document()
    _page(doc)
    _styles(doc, report.lang)
    props = doc.core_properties
    props.title, props.subject = xml_text(report.title), xml_text(report.incident.id)
    props.keywords = f"dataset {report.dataset}; ruleset {report.ruleset}"
    props.comments = xml_text(report.footer)
    props.author = "accountability"
    props.created = props.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
    props.revision = 1

    doc.add_paragraph(xml_text(report.title), style="Title")
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(sub, report.subtitle, color=GREY)
    note = doc.add_paragraph()
    _run(note, w["draft_note"], color=GREY, size=9)

    # 1. the incident
    doc.add_heading(s["incident"], level=1)
    _table(doc, None, [[fact.label, fact.value] for fact in report.incident.facts], [38, CONTENT_MM - 38],
           header_columns=(0,))
    if report.reporting:  # v2, an incident with occurred_at: how it was reported, who was on duty
        _reporting(doc, report.reporting, bool(figure))

    # 2. the hazards
    doc.add_heading(s["hazards"], level=1)
    if report.withheld:
        doc.add_paragraph(report.withheld)
    elif not report.hazards:
        doc.add_paragraph(w["no_hazards"])
    for h in report.hazards:
        doc.add_heading(xml_text(f"{f['hazard']} {h.id}" + (p["colon"] + h.description if h.description else "")),
                        level=2)
        lines = [
            (f["hazard_level"], h.level_label), (f["industry"], h.industry), (f["status"], h.status_label),
            (f["location"], h.place_text), (f["hazard_unit"], h.unit.name if h.unit else w["none"]),
            (f["found_on"], h.found_on), (f["deadline"], h.deadline or w["none"]),
            (f["effective_deadline"], h.effective_deadline or w["none"]),
            (f["escalated_on"], h.escalated_on or w["none"]), (f["closed_on"], h.closed_on or w["none"]),
        ]
        pairs = [lines[i:i + 2] for i in range(0, len(lines), 2)]
        _table(doc, None, [[a[0], a[1], b[0], b[1]] for a, b in pairs], [30, 52, 36, CONTENT_MM - 118],
               header_columns=(0, 2))
        state = doc.add_paragraph()
        _run(state, h.state_text, bold=True, color=DARK_RED if h.overdue_days > 0 else None)
        rows = []
        for t in h.timeline:
            style = (t.label, True, DARK_RED) if t.kind == "incident" else (t.label, False, GREY if t.after_incident else None)
            rows.append([t.on, [style], t.post, t.note])
        _table(doc, [f["date"], f["event"], f["by"], f["note"]], rows, [26, 32, 56, CONTENT_MM - 114])

    # 3. responsibility: units by duty, then persons by degree
    doc.add_heading(s["responsibility"], level=1)
    doc.add_heading(s["units"], level=2)
    for group in report.duties:
        doc.add_heading(group.label, level=3)
        rows, spans = [], []
        for unit in group.units:
            spans.append((len(rows), len(unit.links)))
            for link in unit.links:
                post = [link.post.name] + ([(f"{p['flag_open']}{w['escalated']}{p['flag_close']}", False, GREY)]
                                           if link.escalated else [])
                if link.act:  # v2: a conduct link is an act on a day, beside the post's own link
                    post.append((f"{p['flag_open']}{link.act_text}{p['flag_close']}", False, DARK_RED))
                if link.vacant:
                    holders = [(w["vacant"], True, DARK_RED)]
                else:
                    holders = [(h.text, False, GREY if h.moved_on else None) for h in link.holders]
                rows.append([unit.organization.name, unit.jurisdiction_text, post, link.degree_label, holders])
        table = _table(doc, [f["unit_name"], f["jurisdiction"], f["post"], f["degree"], f["holders"]], rows,
                       [30, 24, 30, 26, CONTENT_MM - 110])
        for start, count in spans:  # one unit, one cell: merge its name and place down its posts
            if count > 1:
                for col in (0, 1):
                    top = table.cell(start + 1, col)
                    bottom = table.cell(start + count, col)
                    keep = top.text
                    merged = top.merge(bottom)
                    for para in merged.paragraphs[1:]:
                        para._p.getparent().remove(para._p)
                    if merged.text != keep:
                        merged.paragraphs[0].runs[0].text = keep

    doc.add_heading(s["proposed"] if report.generation >= 2 else s["persons"], level=2)
    if report.tally:
        doc.add_paragraph(xml_text(report.tally))
    if not report.degrees:
        doc.add_paragraph(w["no_persons"])
    for group in report.degrees:
        doc.add_heading(group.label, level=3)
        for i, person in enumerate(group.persons, start=1):
            _person(doc, i, person, report)
    for assessed in report.assessed:  # v2: the persons shown apart, exempt then no conditions to perform
        doc.add_heading(assessed.title, level=2)
        doc.add_paragraph(xml_text(assessed.intro))
        if assessed.basis:
            para = doc.add_paragraph()
            _run(para, f["basis"] + p["colon"], bold=True, which="heading")
            _run(para, assessed.basis)
        if not assessed.persons:
            doc.add_paragraph(w["nobody"])
        for i, person in enumerate(assessed.persons, start=1):
            _person(doc, i, person, report, assessed)
    if report.measures:  # v2: measures overdue at units of the chain on the incident date
        doc.add_heading(s["measures_overdue"], level=2)
        doc.add_paragraph(xml_text(report.measures_intro))
        rows = [[xml_text(f"{m.id} {m.title}"), xml_text(m.organization.name), m.role_label, m.deadline,
                 m.status_label, m.days_text, xml_text(m.answering)] for m in report.measures]
        _table(doc, [f["measure"], f["unit_name"], f["measure_role"], f["measure_deadline"], f["measure_status"],
                     f["days_overdue"], f["answering"]], rows, [34, 26, 16, 20, 16, 14, CONTENT_MM - 126],
               numeric_columns=(5,))

    # 4. gaps
    doc.add_heading(s["gaps"], level=1)
    if not report.findings:
        doc.add_paragraph(w["no_gaps"])
    for i, g in enumerate(report.findings, start=1):
        para = doc.add_paragraph()
        _run(para, f"{i}. ")
        _run(para, g.label, bold=True, which="heading")
        _run(para, p["colon"] + g.text)

    # 5. the figure and the summary
    doc.add_heading(s["figure"], level=1)
    if figure is True or (figure and figure.png is None):
        figure = draw(report, ("png",))
    if figure:
        width_mm = CONTENT_MM
        height_mm = width_mm * figure.height_pt / max(figure.width_pt, 1)
        limit = 215
        doc.add_picture(io.BytesIO(figure.png), **({"height": Mm(limit)} if height_mm > limit else {"width": Mm(width_mm)}))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = doc.add_paragraph()
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(caption, say(w["figure_caption"], title=report.incident.title, start=report.incident.window_start,
                          end=report.incident.window_end), size=9, which="heading")
    doc.add_heading(s["summary"], level=2)
    rows = [[r.label, str(r.units), str(r.posts), str(r.persons), str(r.moved_on), str(r.vacant), str(r.escalated)]
            for r in report.summary]
    t = report.summary_total
    rows.append([[(str(v), True, None)] for v in
                 (t.label, t.units, t.posts, t.persons, t.moved_on, t.vacant, t.escalated)])
    other = (CONTENT_MM - 46) / 6
    _table(doc, [f["duty"], f["units"], f["posts"], report.summary_persons_label, f["moved_on"], f["vacant"], f["escalated"]], rows,
           [46] + [other] * 6, header_columns=(0,), numeric_columns=(1, 2, 3, 4, 5, 6))

    # 6. the legal provisions
    doc.add_heading(s["appendix"], level=1)
    for i, c in enumerate(report.citations, start=1):
        para = doc.add_paragraph()
        para.paragraph_format.keep_with_next = bool(c.text)
        _run(para, f"{i}. ")
        _run(para, c.label, bold=True, which="heading")
        if c.text:
            text = doc.add_paragraph()
            text.paragraph_format.left_indent = Cm(0.74)
            _run(text, c.text, size=TABLE_PT)

    _footer(doc, report)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
