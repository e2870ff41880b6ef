"""Accountability reports: every format read back (Markdown, HTML, Word, PDF), in Chinese and English.

The store is the hand-built scenario (``scenario.py``) with incidents and events added here:

- A1 青石燃气爆炸事故 (4 dead, 12 million yuan: large, investigated by 临江市人民政府), linked to H1;
  in its window the head of 东湖区住建局 moves on and is replaced, 东湖区's deputy head becomes its
  executive deputy head (one person, two posts), the gas company's safety manager post stands vacant
  for a month, and the gas company's general manager is called ``<script>…`` (escaping).
- A2 a general accident with no linked hazard (investigated by 东湖区人民政府).
- A3 an especially major accident (investigated by the State Council).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import warnings
import zipfile

import pytest
from click.testing import CliRunner

import scenario
from accountability.cli import main
from accountability.reports import FORMATS, build_report, render
from accountability.reports.figure import chain_graph, cjk_font, draw
from accountability.reports.render import md_escape
from accountability.session import Session

SCRIPT = "<script>alert(1)</script>"
MOVED = "王旧局长"  # head of 东湖区住建局 until 2026-02-28
NEW = "李新局长"  # from 2026-03-01
TWO_POSTS = "赵两岗"  # 东湖区 deputy head to 2026-03-31, then its executive deputy head


def dataset() -> dict:
    data = scenario.base()
    tenures = {t["post_id"]: t for t in data["tenures"]}
    data["people"] += [{"id": "X-OLD", "name": MOVED}, {"id": "X-NEW", "name": NEW}, {"id": "X-TWO", "name": TWO_POSTS},
                       {"id": "X-GM", "name": SCRIPT}]
    # a head who moved on during the window, and the successor
    data["tenures"].remove(tenures["K-HOUSING-HEAD"])
    data["tenures"] += [
        {"person_id": "X-OLD", "post_id": "K-HOUSING-HEAD", "start": "2019-06-01", "end": "2026-02-28", "acting": "false"},
        {"person_id": "X-NEW", "post_id": "K-HOUSING-HEAD", "start": "2026-03-01", "end": "", "acting": "false"},
    ]
    # one person, two posts in the window; the previous executive deputy moved on
    data["tenures"].remove(tenures["K-DEP"])
    tenures["K-EXEC"]["end"] = "2026-03-31"
    data["tenures"] += [
        {"person_id": "X-TWO", "post_id": "K-DEP", "start": "2021-01-01", "end": "2026-03-31", "acting": "false"},
        {"person_id": "X-TWO", "post_id": "K-EXEC", "start": "2026-04-01", "end": "", "acting": "false"},
    ]
    # the safety manager's post stands vacant for a month
    tenures["E1-SM"]["end"] = "2026-02-28"
    data["tenures"].append({"person_id": "PE-E1-SM", "post_id": "E1-SM", "start": "2026-04-01", "end": "",
                            "acting": "true"})
    # a name that must print as text
    tenures["E1-GM"]["person_id"] = "X-GM"
    data["events"] = [
        {"hazard_id": "H1", "on": "2026-01-01", "kind": "found", "post_id": "E1-SM", "note": "调压箱锈蚀"},
        {"hazard_id": "H1", "on": "2026-02-10", "kind": "inspected", "post_id": "K-HOUSING-HEAD", "note": ""},
        {"hazard_id": "H1", "on": "2026-02-20", "kind": "deadline_extended", "deadline": "2026-04-01",
         "note": "申请延期"},
    ]
    data["incidents"] = [
        {"id": "A1", "title": "青石燃气爆炸事故", "occurred_on": "2026-05-20", "jurisdiction_id": "T",
         "organization_id": "E1", "industry": "urban_gas", "deaths": 4, "serious_injuries": 2,
         "direct_loss_yuan": 12_000_000, "hazard_ids": "H1"},
        {"id": "A2", "title": "石桥村工地坍塌", "occurred_on": "2026-04-10", "jurisdiction_id": "V",
         "organization_id": "E3", "industry": "construction", "deaths": 1, "serious_injuries": 0,
         "direct_loss_yuan": 800_000, "hazard_ids": ""},
        {"id": "A3", "title": "特大燃气爆炸", "occurred_on": "2026-05-20", "jurisdiction_id": "T",
         "organization_id": "E1", "industry": "urban_gas", "deaths": 35, "serious_injuries": 0,
         "direct_loss_yuan": 0, "hazard_ids": "H1"},
    ]
    return data


@pytest.fixture(autouse=True, scope="module")
def reference_v1():
    """The report expectations of this module's first part were worked out under reference-v1 (the default
    is v2): sessions and commands use v1 unless a test names reference-v2 (the second part)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
        yield


def imported(data: dict, folder) -> str:
    """``data`` imported into a fresh store in ``folder``: its path."""
    db = folder / "store.db"
    result = CliRunner().invoke(main, ["import", str(scenario.write(data, folder)), "--store", str(db)])
    assert result.exit_code == 0, result.output
    return str(db)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    return imported(dataset(), tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def session(store):
    with Session(store, readonly=True) as s:
        yield s


@pytest.fixture(scope="module")
def zh(session):
    return build_report(session, "A1", "zh")


@pytest.fixture(scope="module")
def en(session):
    return build_report(session, "A1", "en")


@pytest.fixture(scope="module")
def figure(zh):
    return draw(zh, ("svg", "png"))


def flat(text: str) -> str:
    """Text without whitespace: table cells and PDF lines wrap anywhere."""
    return re.sub(r"\s+", "", text)


def expected(report) -> dict:
    """What every format must say about A1, taken from the engine's chain, not from the report."""
    return {
        "level": report.incident.level_label,
        "investigator": "临江市人民政府",
        "posts": sorted({link.post.name for link in report.links}),
        "holders": sorted({h.person.name for link in report.links for h in link.holders}),
        "citations": [c.label for c in report.citations],
    }


def assert_complete(text: str, report, escaped_script: str | None = None) -> None:
    body = flat(text)
    facts = expected(report)
    assert flat(facts["level"]) in body
    assert facts["investigator"] in body
    for post in facts["posts"]:
        assert flat(post) in body, post
    for name in facts["holders"]:
        if name == SCRIPT and escaped_script is not None:
            assert flat(escaped_script) in body
        else:
            assert flat(name) in body, name
    for label in facts["citations"]:
        assert flat(label) in body, label
    assert report.dataset in body


# -- the report as data --------------------------------------------------------------------------------


def test_the_report_holds_the_chain_of_the_engine(session, zh):
    chain = session.incident("A1")
    assert zh.incident.level == chain.level == "large"
    assert zh.incident.level_label == "较大事故"
    assert [d["measure"] for d in zh.incident.decided_by] == ["deaths", "direct_loss_yuan"]
    assert zh.incident.level_reasons[0] == "死亡4人，达到较大事故标准（3人以上）"
    assert zh.incident.investigated_by.name == "临江市人民政府"
    assert zh.incident.place_text == "江南省 临江市 东湖区 青石镇"
    assert (zh.incident.window_start, zh.incident.window_end) == ("2026-01-01", "2026-05-20")
    assert {(link.post.id, link.duty, link.escalated) for link in zh.links} == {link.key for link in chain.links}
    assert zh.dataset == session.store.meta()["dataset_hash"][:12]
    # units grouped by duty in the vocabulary's order, persons by degree direct → principal → important
    assert [g.duty for g in zh.duties] == ["enterprise_main", "sector_supervision", "comprehensive_supervision",
                                          "territorial_leadership"]
    assert zh.duties[0].label == "企业主体责任"
    assert [g.degree for g in zh.degrees] == ["direct", "principal_leadership", "important_leadership"]


def test_the_hazard_history_is_a_timeline_with_the_state_on_the_incident_date(zh):
    (h,) = zh.hazards
    assert h.id == "H1" and h.deadline == "2026-03-01" and h.effective_deadline == "2026-04-01"
    assert h.overdue_days == 49 and h.state_text == "事故发生时已逾期49天"
    assert [(t.on, t.kind) for t in h.timeline] == [
        ("2026-01-01", "found"), ("2026-02-10", "inspected"), ("2026-02-20", "deadline_extended"),
        ("2026-03-01", "deadline"), ("2026-05-20", "incident"),
    ]
    assert h.timeline[0].post == "青石燃气有限公司安全总监" and h.timeline[0].note == "调压箱锈蚀"
    assert h.timeline[2].note == "申请延期 → 2026-04-01"


def test_a_head_who_moved_on_is_kept_and_flagged(zh):
    link = next(link for link in zh.links if link.post.id == "K-HOUSING-HEAD")
    old, new = link.holders
    assert (old.person.name, old.moved_on, old.overlap_start, old.overlap_end) == (MOVED, True, "2026-01-01", "2026-02-28")
    assert (new.person.name, new.moved_on) == (NEW, False)
    assert old.text == f"{MOVED}【已调离】（2019-06-01至2026-02-28）"
    person = next(p for p in zh.persons if p.person.name == MOVED)
    assert person.moved_on and person.degree == "principal_leadership"


def test_a_person_with_two_posts_is_listed_once_with_both(zh):
    (person,) = [p for p in zh.persons if p.person.name == TWO_POSTS]
    assert sorted(pp.link.post.id for pp in person.posts) == ["K-DEP", "K-EXEC"]
    assert not person.moved_on  # still executive deputy head
    assert next(pp for pp in person.posts if pp.link.post.id == "K-DEP").moved_on
    g = chain_graph(zh)
    assert g.in_degree(("h", "X-TWO")) == 2  # one box in the figure, two lines into it


def test_a_vacant_post_is_a_finding_with_its_dates(zh):
    vacant = [f for f in zh.findings if f.kind == "vacant_post"]
    assert {f.text for f in vacant} == {
        "青石燃气有限公司安全总监岗位空缺（2026-03-01至2026-03-31）",
        "东湖区人民政府副区长岗位空缺（2026-04-01至2026-05-20）",  # left by the one who took a second post
    }
    assert vacant[0].label == "岗位空缺"
    overdue = next(f for f in zh.findings if f.kind == "overdue")
    assert overdue.label == "逾期未整改" and "49" in overdue.text
    by_duty = {r.duty: r.vacant for r in zh.summary}
    assert by_duty == {"enterprise_main": 1, "sector_supervision": 0, "comprehensive_supervision": 0,
                       "territorial_leadership": 1}


def test_citations_are_the_bases_of_every_link_plus_the_level_and_investigation(zh):
    keys = [c.key for c in zh.citations]
    assert keys[:2] == ["gwyl493_3", "gwyl493_19"] and len(keys) == len(set(keys))
    assert set(keys) == {"gwyl493_3", "gwyl493_19"} | {b for link in zh.links for b in link.basis_keys}
    assert all(c.text for c in zh.citations)


def test_an_incident_without_hazards_and_a_general_level(session):
    r = build_report(session, "A2", "zh")
    assert r.hazards == []
    assert r.incident.level_label == "一般事故"
    assert r.incident.level_reasons == ["死亡、重伤人数和直接经济损失均未达到较大事故标准（死亡3人、重伤10人、直接经济损失1,000万元）"]
    assert r.incident.investigated_by.name == "东湖区人民政府"
    assert (r.incident.window_start, r.incident.window_end) == ("2025-04-10", "2026-04-10")
    text = render(r, "md").decode()
    assert "该事故未关联已登记的事故隐患" in text
    assert "石桥建筑工程有限公司" in text


def test_an_especially_major_accident_is_investigated_by_the_state_council(session):
    r = build_report(session, "A3", "zh")
    assert r.incident.level == "especially_major" and r.incident.investigated_by is None
    assert r.incident.investigator_text.startswith("国务院")
    assert "国务院" in render(r, "md").decode()
    assert next(f.value for f in r.incident.facts if f.label == "直接经济损失") == "0万元"
    en = build_report(session, "A3", "en")
    assert en.incident.investigator_text.startswith("The State Council")


# -- formats -------------------------------------------------------------------------------------------


def test_markdown_says_everything_and_escapes_data(zh):
    text = render(zh, "md", figure_href="a1.chain.svg").decode()
    assert_complete(text, zh, escaped_script=md_escape(SCRIPT))
    assert SCRIPT not in text  # the raw tag cannot reach a Markdown renderer
    assert "## 三、责任认定" in text and "#### 企业主体责任" in text and "#### 直接责任" in text
    assert f"**{MOVED}**【已调离】" in text
    assert text.count(f"**{TWO_POSTS}**") == 1
    assert "![图1" in text and "(a1.chain.svg)" in text
    assert "| 企业主体责任 | 1 | 2 |" in text  # the summary table


def test_html_escapes_every_value(zh, figure):
    html = render(zh, "html").decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_complete(re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">"), zh)
    assert 'lang="zh-CN"' in html and "Noto Serif CJK SC" in html
    assert html.count("data:image/svg+xml;base64,") == 1


def test_word_document_is_real_text_in_chinese_fonts(zh):
    import docx
    from docx.oxml.ns import qn

    data = render(zh, "docx")
    doc = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    footer = [p.text for p in doc.sections[0].footer.paragraphs]
    assert_complete("\n".join(paragraphs + cells + footer), zh)
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["一、事故基本情况", "二、事故隐患排查治理情况"]
    assert "（二）有关人员责任" in headings and "附录　引用的法律依据" in headings
    # real tables: the units of the sector duty, with a header row repeated on each page
    units = next(t for t in doc.tables if t.rows[0].cells[0].text == "单位" and "东湖区住房和城乡建设局" in t.rows[1].cells[0].text)
    assert [c.text for c in units.rows[0].cells] == ["单位", "所属地区", "岗位", "责任程度", "在岗人员"]
    assert units.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert units.rows[1]._tr.trPr.find(qn("w:tblHeader")) is None
    assert MOVED + "【已调离】" in units.rows[1].cells[4].text
    assert len(doc.inline_shapes) == 1  # the figure, as a picture
    styles = zipfile.ZipFile(io.BytesIO(data)).read("word/styles.xml").decode()
    assert re.search(r'w:styleId="Normal".*?w:eastAsia="宋体"', styles, re.DOTALL)
    assert re.search(r'w:styleId="Heading1".*?w:eastAsia="黑体"', styles, re.DOTALL)
    assert zh.dataset in doc.sections[0].footer.paragraphs[0].text
    assert f"审计位置 {zh.audit}" in doc.sections[0].footer.paragraphs[0].text


def test_a_report_records_the_audit_position_it_was_generated_after(session, zh, en):
    from accountability import audit

    head = audit.position(session.store)
    assert head.seq >= 1 and zh.audit == en.audit == f"{head.seq}:{head.hash[:12]}"
    assert zh.audit in zh.footer and f"audit position {en.audit}" in en.footer
    assert zh.generated_by == "" and "生成人" not in zh.footer  # access control off: no user to name


needs_poppler = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftotext", "pdffonts", "pdftoppm")),
                                   reason="poppler-utils (pdftotext, pdffonts, pdftoppm) not installed")


@needs_poppler
def test_pdf_reads_back_with_chinese_fonts_and_ink(zh, figure, tmp_path):
    from PIL import Image

    pdf = tmp_path / "a1.pdf"
    pdf.write_bytes(render(zh, "pdf"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert_complete(text, zh)
    assert "已调离" in text and "岗位空缺" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"CJK", fonts), fonts  # Chinese glyphs come from an embedded CJK font
    assert "yes yes yes" in fonts  # embedded, subset, with a ToUnicode map
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    inked = sum(page.histogram()[:200])
    assert inked > 0.01 * page.width * page.height  # a page of text and tables, not a blank sheet


def test_the_figure_draws_chinese_with_a_cjk_font(zh):
    from PIL import Image

    assert cjk_font() is not None, "install fonts-noto-cjk"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw(zh, ("png", "svg"))
    assert not [w for w in caught if "missing from" in str(w.message)]  # no glyph drawn as a box
    image = Image.open(io.BytesIO(fig.png)).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.005 * image.width * image.height
    assert fig.svg.startswith(b"<?xml") and b"<script" not in fig.svg


def test_a_cjk_font_installed_after_matplotlib_cached_its_font_list_is_found(tmp_path):
    """fonts-noto-cjk installed after matplotlib first ran: the cached font list lacks it."""
    import json
    import os
    import sys

    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True)
    cache = next(tmp_path.glob("fontlist-*.json"))
    fonts = json.loads(cache.read_text())
    fonts["ttflist"] = [f for f in fonts["ttflist"] if "cjk" not in f["fname"].lower()]
    cache.write_text(json.dumps(fonts))

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    stale = run("from matplotlib import font_manager as f\n"
                "try: f.findfont(f.FontProperties(family='Noto Sans CJK SC'), fallback_to_default=False); print('found')\n"
                "except ValueError: print('missing')")
    assert stale == "missing"  # the situation the user is in
    assert run("from accountability.reports.figure import cjk_font; print(cjk_font())") != "None"


def test_english_reports_use_english_labels(en):
    text = render(en, "md").decode()
    assert "Large accident" in text and "3. Determination of responsibility" in text
    assert "Principal leadership responsibility" in text and "Sector supervision responsibility" in text
    assert f"**{MOVED}** (moved on)" in text
    assert "Work Safety Law of the PRC (2021), Art. 5" in text
    for zh_label in ("主要领导责任", "较大事故", "一、事故基本情况", "已调离", "《中华人民共和国安全生产法》"):
        assert zh_label not in text
    import docx

    doc = docx.Document(io.BytesIO(render(en, "docx", figure=False)))
    assert doc.paragraphs[0].text == "Accountability report: 青石燃气爆炸事故"
    assert "1. The incident" in [p.text for p in doc.paragraphs]


# -- the command ---------------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(main, ["report", *args])


def test_cli_writes_each_format(store, tmp_path):
    for fmt in ("md", "html", "docx"):
        out = tmp_path / f"a1.{fmt}"
        result = run("A1", "--store", store, "-o", str(out))  # the format follows the suffix
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert (tmp_path / "a1.chain.svg").read_bytes().startswith(b"<?xml")
    assert zipfile.is_zipfile(tmp_path / "a1.docx")
    result = run("A2", "--store", store, "--format", "md", "--lang", "en", "--no-figure")
    assert result.exit_code == 0 and "General accident" in result.output


def test_cli_errors(store, tmp_path):
    result = run("NOPE", "--store", store, "-o", str(tmp_path / "x.md"))
    assert result.exit_code == 1 and "unknown incident 'NOPE'" in result.output
    assert not (tmp_path / "x.md").exists()
    result = run("A1", "--store", store, "--format", "odt")
    assert result.exit_code == 2 and "odt" in result.output
    result = run("A1", "--store", store, "--format", "pdf")
    assert result.exit_code == 2 and "-o FILE" in result.output
    result = run("A1", "--store", store, "--format", "md", "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 2 and "--format md does not match -o x.pdf (a pdf file name)" in result.output
    assert not list(tmp_path.iterdir())  # nothing written, not even the figure beside it
    result = run("A1", "--store", store, "--format", "md", "-o", str(tmp_path / "x.txt"), "--no-figure")
    assert result.exit_code == 0 and (tmp_path / "x.txt").read_text(encoding="utf-8").startswith("# ")


def test_adapted_templates_replace_the_packaged_ones(store, tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "report.md.j2").write_text("{{ report.incident.level_label }} / {{ report.dataset }}\n",
                                                   encoding="utf-8")
    result = run("A1", "--store", store, "--templates", str(tmp_path / "tpl"), "--no-figure")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("较大事故 / ")


def test_formats_are_the_design_s():
    assert FORMATS == ("md", "html", "docx", "pdf")


def test_control_characters_in_names_make_a_word_document_that_shows_them(tmp_path):
    """The store keeps text verbatim (NUL, vertical tab and escape included: they pass validation), and
    python-docx refuses them: the Word report shows each escaped instead of failing (#19 item 6)."""
    import docx

    data = dataset()
    name, title, description = "王\x00五", "总\x0b经理\x07", "隐患\x1b[31m\ufffe"
    next(p for p in data["people"] if p["id"] == "X-GM")["name"] = name
    next(p for p in data["posts"] if p["id"] == "E1-GM")["title"] = title
    data["hazards"][0]["description"] = description
    data["incidents"][0]["title"] = "燃气\x0c爆炸"
    db = imported(data, tmp_path)
    out = tmp_path / "a1.docx"
    result = CliRunner().invoke(main, ["report", "A1", "--format", "docx", "--store", str(db), "-o", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    doc = docx.Document(str(out))
    text = "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    assert "王\\x00五" in text and "总\\x0b经理\\x07" in text and "隐患\\x1b[31m\\ufffe" in text
    assert "燃气\\x0c爆炸" in doc.paragraphs[0].text  # the title
    assert doc.core_properties.title == doc.paragraphs[0].text
    for fmt in ("md", "html", "pdf"):  # the other forms keep working on the same data
        other = CliRunner().invoke(main, ["report", "A1", "--format", fmt, "--store", str(db), "-o",
                                          str(tmp_path / f"a1.{fmt}")])
        assert other.exit_code == 0, (fmt, other.output)


def test_quotation_marks_in_a_title_nest_as_chinese_punctuation_sets_them(tmp_path):
    """A title that quotes a date (“5·20”) sits inside the report title's own quotation marks: the inner pair
    becomes single (GB/T 15834), in every Chinese form; the English title keeps the data as it is."""
    data = dataset()
    data["incidents"][0]["title"] = "东湖区“5·20”燃气爆炸事故"
    db = imported(data, tmp_path)
    zh = CliRunner().invoke(main, ["report", "A1", "--store", str(db), "--no-figure"])
    assert zh.output.splitlines()[0] == "# “东湖区‘5·20’燃气爆炸事故”责任追究分析报告"
    assert "| 事故名称 | 东湖区“5·20”燃气爆炸事故 |" in zh.output  # the name itself, as the data has it
    en = CliRunner().invoke(main, ["report", "A1", "--store", str(db), "--no-figure", "--lang", "en"])
    assert en.output.splitlines()[0] == "# Accountability report: 东湖区“5·20”燃气爆炸事故"


# -- reference rules v2: the proposed list, then exemption and no conditions to perform ----------------------
#
# The same store with the records v2 judges (issue #15 item 3):
# - 王旧局长 (head of 东湖区住建局) inspected the gas company on 2026-02-05 and ordered H1 rectified: duty
#   performed, proposed for exemption; his successor 李新局长 holds the post for 81 days and is accountable;
# - 赵两岗 ordered H1 rectified as deputy head (exempt there) but is accountable as executive deputy head:
#   one entry, in the proposed list, with both posts;
# - 孙新区长 took over 东湖区's government on 2026-05-01, 20 days before the incident, beside a predecessor
#   who held it for 120 days of the window: no conditions to perform;
# - the head of 东湖区应急管理局 inspected the gas company on 2026-03-15 and did not record H1 (rule 10);
# - 李新局长 signed H1 off on 2026-03-20 and it relapsed on re-inspection on 2026-04-10 (rule 11);
# - 临江市's deputy mayor was made H1's supervising leader (挂牌督办) on 2026-01-15 (rule 9).

V2 = "reference-v2"
EXEMPT = MOVED
BRIEF = "孙新区长"
MISSED_BY = "人员25"  # the head of 东湖区应急管理局 (scenario.py names people by post)
NOW = __import__("datetime").datetime(2026, 6, 1, 9, 0, tzinfo=__import__("datetime").timezone(
    __import__("datetime").timedelta(hours=8)))
GOLDEN = __import__("pathlib").Path(__file__).parent / "golden" / "reports-v1"


def dataset_v2() -> dict:
    data = dataset()
    for t in data["tenures"]:
        if t["post_id"] == "K-HEAD":
            t["end"] = "2026-04-30"
    data["people"].append({"id": "X-BRIEF", "name": BRIEF})
    data["tenures"].append({"person_id": "X-BRIEF", "post_id": "K-HEAD", "start": "2026-05-01", "end": "",
                            "acting": "false"})
    data["inspections"] = [
        {"id": "JC-01", "organization_id": "E1", "on": "2026-02-05", "post_id": "K-HOUSING-HEAD",
         "outcome": "order_issued", "hazard_ids": "H1", "note": "责令限期整改"},
        {"id": "JC-02", "organization_id": "E1", "on": "2026-03-15", "post_id": "K-EM-HEAD",
         "outcome": "no_findings", "hazard_ids": "", "note": ""},
    ]
    data["events"] += [
        {"hazard_id": "H1", "on": "2026-02-15", "kind": "order_issued", "post_id": "K-DEP", "note": ""},
        {"hazard_id": "H1", "on": "2026-03-20", "kind": "closed", "post_id": "K-HOUSING-HEAD", "note": "验收合格"},
        {"hazard_id": "H1", "on": "2026-04-10", "kind": "reinspected", "post_id": "K-EM-HEAD", "outcome": "relapsed",
         "note": ""},
    ]
    data["designations"] = [
        {"post_id": "C-DEP", "kind": "supervising_leader", "target_id": "H1", "start": "2026-01-15", "end": ""},
    ]
    return data


@pytest.fixture(scope="module")
def store_v2(tmp_path_factory) -> str:
    return imported(dataset_v2(), tmp_path_factory.mktemp("reports-v2"))


def v1_renderings(store: str, v2_store: str) -> dict[str, str]:
    """Markdown and HTML (without the figure) of every incident under reference-v1, the stamps that change
    from one import to the next (audit position, dataset hash) written as placeholders."""
    out = {}
    for name, path, incidents in (("v1data", store, ("A1", "A2", "A3")), ("v2data", v2_store, ("A1",))):
        with Session(path, rules="reference-v1", readonly=True) as s:
            for iid in incidents:
                for lang in ("zh", "en"):
                    r = build_report(s, iid, lang, now=NOW)
                    for fmt, data in (("md", render(r, "md", figure_href="chain.svg")),
                                      ("html", render(r, "html", figure=False))):
                        text = data.decode().replace(r.audit, "<audit>").replace(r.dataset, "<dataset>")
                        out[f"{name}-{iid}-{lang}.{fmt}"] = text
    return out


def test_under_reference_v1_the_report_is_byte_for_byte_what_it_was(store, store_v2):
    """The goldens were rendered by the report code before v2's sections existed, on the same data (the
    records v2 judges included: v1 reads none of them)."""
    got = v1_renderings(store, store_v2)
    assert sorted(got) == sorted(p.name for p in GOLDEN.iterdir())
    for name, text in got.items():
        assert text == (GOLDEN / name).read_text(encoding="utf-8"), name


@pytest.fixture(scope="module")
def session_v2(store_v2):
    with Session(store_v2, rules=V2, readonly=True) as s:
        yield s


def test_v2_each_person_has_one_place_and_one_entry(session_v2):
    r = build_report(session_v2, "A1", "zh")
    assert r.generation == 2
    proposed = [p.person.name for g in r.degrees for p in g.persons]
    exempt, no_conditions = ([p.person.name for p in g.persons] for g in r.assessed)
    assert [g.status for g in r.assessed] == ["exempt", "no_conditions"]
    assert exempt == [EXEMPT] and no_conditions == [BRIEF]
    names = proposed + exempt + no_conditions
    assert len(names) == len(set(names)) == len({h.person.id for link in r.links for h in link.holders})
    assert NEW in proposed and TWO_POSTS in proposed and MISSED_BY in proposed
    # exempt as deputy head, accountable as executive deputy head: proposed, once, with both posts
    (two,) = [p for g in r.degrees for p in g.persons if p.person.name == TWO_POSTS]
    assert two.place == "accountable"
    assert {pp.link.post.id: pp.status for pp in two.posts} == {"K-DEP": "exempt", "K-EXEC": "accountable"}
    assert next(pp for pp in two.posts if pp.status == "exempt").reasons_text == "2026-02-15 下达整改指令（隐患H1）"
    # the missed inspection is its own link, with the inspection it rests on
    (missed,) = [p for g in r.degrees for p in g.persons if p.person.name == MISSED_BY]
    act = next(pp.link for pp in missed.posts if pp.link.act)
    assert act.act == ("R10", "2026-03-15") and act.act_text == "R10 检查失察，2026-03-15"
    assert [e.text for e in act.evidence] == ["检查JC-02（2026-03-15，未发现问题）"]
    assert missed.degree == "important_leadership"  # R3's degree outweighs the act's direct one
    # the false closure: the sign-off and the relapse that followed it
    (new,) = [p for g in r.degrees for p in g.persons if p.person.name == NEW]
    assert [([r.id for r in pp.link.rules], pp.link.act) for pp in new.posts] == [
        (["R2"], None), (["R11"], ("R11", "2026-03-20"))]
    assert [(e.kind, e.date, e.data["event"]) for e in new.posts[1].link.evidence] == [
        ("event", "2026-03-20", "closed"), ("event", "2026-04-10", "reinspected")]
    # the records cited, and the days in post against min_days
    (moved,) = r.assessed[0].persons
    assert [rec.data for pp in moved.posts for rec in pp.reasons] == [
        {"kind": "inspection", "id": "JC-01", "date": "2026-02-05", "outcome": "order_issued"}]
    (brief,) = r.assessed[1].persons
    assert brief.posts[0].reasons_text == "追溯期内在岗20天，不足30天；人员10同期在岗120天"
    assert r.tally == "建议追责12人；尽职免责建议1人；不具备履职条件1人。"
    assert [c.key for c in r.citations][-2:] == ["dzts_23", "dzts_25"]
    # the summary counts the proposed persons (the two shown apart are counted in the tally above), and
    # a post once: 李新局长's post has its R2 link and its R11 act in the same duty
    assert r.summary_persons_label == "建议追责人数"
    assert r.summary_total.persons == len([p for g in r.degrees for p in g.persons]) == 12 < len(names)
    assert r.summary_total.posts == len({link.post.id for link in r.links}) < len(r.links)
    sector = next(row for row in r.summary if row.duty == new.posts[1].link.duty)
    assert sector.posts == len({link.post.id for u in next(g for g in r.duties if g.duty == sector.duty).units
                                for link in u.links})


def test_v2_a_hazard_whose_row_says_closed_but_an_event_reopened_says_so(tmp_path):
    """H1's row closed on 2026-03-20; re-inspected as relapsed on 2026-04-10, it was open on the incident
    date: the report says both, not 已销号 alone beside its days overdue."""
    data = dataset_v2()
    h1 = next(h for h in data["hazards"] if h["id"] == "H1")
    h1.update(status="closed", closed_on="2026-03-20")
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        (zh,) = [h for h in build_report(s, "A1", "zh").hazards if h.id == "H1"]
        (en,) = [h for h in build_report(s, "A1", "en").hazards if h.id == "H1"]
    assert zh.unresolved and zh.status_label == "已销号（事故发生时已重新打开）"
    assert en.status_label == "Closed (reopened by the incident date)"
    with Session(str(db), rules="reference-v1", readonly=True) as s:  # v1 reads the row: closed before it
        (v1,) = [h for h in build_report(s, "A1", "zh").hazards if h.id == "H1"]
    assert not v1.unresolved and v1.status_label == "已销号"


def test_v2_an_investigating_level_other_than_the_grade_s_is_said_beside_art_19(tmp_path):
    """A1 is a large accident, which Art. 19 gives the city; its data records the province (rule 8 reaches
    by it). The report names the province's government and says whose the grade would have made it."""
    data = dataset_v2()
    data["incidents"][0]["investigating_level"] = "province"
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        zh, en = build_report(s, "A1", "zh"), build_report(s, "A1", "en")
    assert zh.incident.investigator_text == \
        "江南省人民政府（调查层级依数据所载；按条例第十九条，较大事故由市级人民政府负责调查）"
    assert en.incident.investigator_text.endswith("under Art. 19, Large accident: investigated by the city government)")
    assert zh.incident.investigator_text in render(zh, "html", figure=False).decode()
    with Session(str(db), rules="reference-v1", readonly=True) as s:  # v1 reads no investigating_level
        assert build_report(s, "A1", "zh").incident.investigator_text == "临江市人民政府"


def _reach_row(report) -> list[str]:
    return [f.value for f in report.incident.facts if f.label in ("上级追责范围", "Reach above the regulator")]


def test_v2_the_reach_of_rule_8_is_said_tier_by_tier_beside_the_investigator(tmp_path):
    """Rule 8's calibrated reach in words, so that a reader sees why the city's head of government is named
    and its party secretary is not: A1, whose data says the province investigates, reaches the city as the
    level above and the province as the investigating tier (rules 2 and 2b only); A2 (the district's own)
    nothing above. Every format shows it; a v1 report does not."""
    data = dataset_v2()
    data["incidents"][0]["investigating_level"] = "province"
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        a1, a1_en = build_report(s, "A1", "zh"), build_report(s, "A1", "en")
        assert _reach_row(a1) == [
            "城镇燃气由东湖区负责行业监管。按R8（事故调查层级）上溯：临江市（上一级）适用R2 行业监管责任、R2b 部门分管负责人、"
            "R3 综合监管责任、R4 一岗双责、R5 党政同责（仅政府主要负责人）；江南省（调查层级）适用R2 行业监管责任、R2b 部门分管负责人"
            "（未找到相应岗位）。"]  # the province has no urban-gas department
        assert _reach_row(a1_en) == [
            "Urban gas: regulated at 东湖区. Under R8 (Incident reach): 临江市 (level above) for R2 Sector supervision / "
            "R2b Department deputy in charge / R3 Comprehensive supervision / R4 One post, two responsibilities / R5 "
            "Party and government share responsibility (head of government only); 江南省 (investigating level) for R2 "
            "Sector supervision / R2b Department deputy in charge (no such post found)."]
        assert _reach_row(build_report(s, "A2", "zh")) == ["建筑施工由东湖区负责行业监管。按R8（事故调查层级）不向上追溯。"]
        # what the words say is what the chain holds: the city's head of government, not its party secretary
        reached = {link.post_id for link in s.incident("A1").links if "R8" in link.rules}
        assert "C-HEAD" in reached and "C-SEC" not in reached and "C-SEC" in s.graph.posts
        import docx

        cells = {c.text for t in docx.Document(io.BytesIO(render(a1, "docx", figure=False))).tables
                 for row in t.rows for c in row.cells}
        assert _reach_row(a1)[0] in cells
        assert _reach_row(a1)[0] in render(a1, "html", figure=False).decode()
        assert md_escape(_reach_row(a1)[0]) in render(a1, "md").decode()
    with Session(str(db), rules="reference-v1", readonly=True) as s:
        assert _reach_row(build_report(s, "A1", "zh")) == []


def test_v2_the_reach_follows_the_plan_spares_and_the_hazards_places(tmp_path):
    """A3 (the State Council investigates) is a forest fire, which the city regulates: the province is the
    level above, where the ruleset spares R5 (no provincial governor, its departments and deputies reached);
    its hazard H1 (urban gas, the district's) is said apart, reaching the city and the province. A ruleset
    that spares the city's party secretary only says R5 of its government head only, and a tier whose whole
    list is spared is not said at all."""
    import yaml
    from graph_schema.loader import RULESETS

    data = dataset_v2()
    data["incidents"][2]["industry"] = "forest_fire"
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        assert _reach_row(build_report(s, "A3", "zh")) == [
            "森林防火由临江市负责行业监管。按R8（事故调查层级）上溯：江南省（上一级）适用R2 行业监管责任、R2b 部门分管负责人、"
            "R3 综合监管责任、R4 一岗双责。城镇燃气由东湖区负责行业监管。按R8（事故调查层级）上溯：临江市（上一级）适用R2 行业监管责任、"
            "R2b 部门分管负责人、R3 综合监管责任、R4 一岗双责、R5 党政同责（仅政府主要负责人）；江南省（更上级）适用R2 行业监管责任、"
            "R2b 部门分管负责人、R3 综合监管责任、R4 一岗双责。"]
        reached = {link.post_id for link in s.incident("A3").links if "R8" in link.rules}
        assert {"P-EM-HEAD", "P-EXEC"} <= reached and not {"P-HEAD", "P-SEC"} & reached
    rules = yaml.safe_load((RULESETS / "reference-v2.yaml").read_text(encoding="utf-8"))
    r8 = next(e for e in rules["escalations"] if e["id"] == "R8")
    r8["tiers"]["second_tier"] = ["R2", "R5"]
    r8["spare"] = {"province": ["R2", "R5"], "city": ["R5:party_secretary"]}
    path = tmp_path / "spares.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    with Session(str(db), rules=str(path), readonly=True) as s:
        said = _reach_row(build_report(s, "A3", "zh"))[0]
        reached = {link.post_id for link in s.incident("A3").links if "R8" in link.rules}
    assert said.startswith("森林防火由临江市负责行业监管。按R8（事故调查层级），上级各层级均无适用规则。")  # all spared
    assert "临江市（上一级）适用R2 行业监管责任、R5 党政同责（仅政府主要负责人）；" in said
    assert "C-HEAD" in reached and "C-SEC" not in reached and not {p for p in reached if p.startswith("P-")} - {"P-EM-HEAD", "P-EXEC"}


def test_v2_the_reach_names_each_industry_once_and_says_where_no_one_regulates_or_is_found(tmp_path):
    """A1 (urban gas, construction, and fire safety, which no department regulates; the province
    investigates) with a construction hazard in the village: each industry is said once for both places
    (English too), fire safety as unregulated, and the province, where the chain holds no post of rule 8, is marked. A rule whose
    selectors include one anchored at the enterprise is whole when every role it has at a jurisdiction is
    applied."""
    import yaml
    from graph_schema.loader import RULESETS

    data = dataset_v2()
    a1 = data["incidents"][0]
    a1.update(investigating_level="province", also_industries="construction;fire", hazard_ids="H1;H9")
    data["hazards"].append(scenario.hazard("H9", "construction", "V", "E1", found_on="2026-01-01"))
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        (en,) = _reach_row(build_report(s, "A1", "en"))
        (zh,) = _reach_row(build_report(s, "A1", "zh"))
    assert en.count("Urban gas") == 1 and en.count("onstruction") == 1
    assert en.startswith("Urban gas, construction: regulated at 东湖区. Under R8 (Incident reach): 临江市 (level above) for R2 ")
    assert "江南省 (investigating level) for R2 Sector supervision / R2b Department deputy in charge (no such post found)" in en
    assert 'Fire safety: no regulating department at 东湖区 or below (see "Gaps found"). Under R8' in en
    assert "消防在东湖区及以下无行业监管部门（见“发现的问题”）。" in zh and "（未找到相应岗位）" in zh
    rules = yaml.safe_load((RULESETS / "reference-v2.yaml").read_text(encoding="utf-8"))
    r5 = next(r for r in rules["rules"] if r["id"] == "R5")
    r5["selectors"].append(dict(r5["selectors"][0], organization="enterprise", role="enterprise_principal"))
    next(e for e in rules["escalations"] if e["id"] == "R8")["tiers"]["second_tier"] = ["R2", "R5"]
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    with Session(str(db), rules=str(path), readonly=True) as s:
        (zh,) = _reach_row(build_report(s, "A1", "zh"))
    assert "临江市（上一级）适用R2 行业监管责任、R5 党政同责；" in zh


def test_v2_the_reach_says_rule_7_for_a_linked_hazard_that_escalates(tmp_path):
    """H1 made major: rule 7 reaches the city for it, and the row says so after rule 8 — at the city, which
    investigates A1 (a large accident), with the investigating tier's list (DESIGN.md: a tier that is both
    R's parent and the investigating tier takes its list), as the chain holds: the city's housing bureau
    head, no city leader."""
    data = dataset_v2()
    data["hazards"][0]["level"] = "major"
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        assert _reach_row(build_report(s, "A1", "zh")) == [
            "城镇燃气由东湖区负责行业监管。按R8（事故调查层级）上溯：临江市（调查层级）适用R2 行业监管责任、R2b 部门分管负责人。"
            "隐患H1（城镇燃气）为重大隐患或长期逾期。按R7（重大或长期逾期隐患上溯）上溯：临江市（调查层级）适用R2 行业监管责任、"
            "R2b 部门分管负责人。"]
        (en,) = _reach_row(build_report(s, "A1", "en"))
        assert "H1 (urban gas): major or long overdue. Under R7 (Major or long-overdue hazard reaches the level " \
               "above): 临江市 (investigating level) for R2 Sector supervision / R2b Department deputy in charge." in en
        assert {link.post_id for link in s.incident("A1").links if "R7" in link.rules} == {"C-HOUSING-HEAD"}


def test_v2_an_inspection_that_found_other_hazards_says_so_where_it_is_cited_about_the_missed_one(tmp_path):
    """JC-02 found hazards at E1, H2 among them, and not H1: rule 10 cites it about H1, so its evidence and
    H1's history read 发现其他隐患 ("other hazards found"), not a bare 发现隐患 beside 未发现该隐患. About a
    hazard it listed, or about no hazard, the outcome reads as recorded."""
    data = dataset_v2()
    h2 = dict(data["hazards"][0], id="H2", description="另一隐患", closed_on="2026-03-30", status="closed")
    data["hazards"].append(h2)
    next(r for r in data["inspections"] if r["id"] == "JC-02").update(outcome="hazards_found", hazard_ids="H2")
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        for lang, said, history in (("zh", "检查JC-02（2026-03-15，发现其他隐患）", "检查（发现其他隐患）"),
                                    ("en", "inspection JC-02 (2026-03-15, Other hazards found)",
                                     "Inspected (Other hazards found)")):
            r = build_report(s, "A1", lang)
            (act,) = [link for link in r.links if link.act and link.act[0] == "R10"]
            assert [e.text for e in act.evidence] == [said]
            (h1,) = r.hazards
            assert [e.label for e in h1.timeline if e.on == "2026-03-15"] == [history]
        from accountability.names import Labels

        record = {"kind": "inspection", "id": "JC-02", "date": "2026-03-15", "outcome": "hazards_found"}
        zh = Labels(s, "zh")
        assert zh.evidence(record, ("H2",)) == zh.evidence(record) == "检查 JC-02（2026-03-15，发现隐患）"
        assert zh.evidence(record, ("H1",)) == "检查 JC-02（2026-03-15，发现其他隐患）"
        # found hazards without listing them: which, the record does not say
        assert zh.evidence({**record, "hazard_ids": ()}, ("H1",)) == "检查 JC-02（2026-03-15，发现隐患）"


def test_v2_an_inspection_while_the_hazard_stood_closed_is_not_said_to_have_missed_it(tmp_path):
    """H1 was signed off on 2026-03-20 and found relapsed on 2026-04-10: an inspection of E1 in between had
    nothing to record (其时该隐患已销号), one after the relapse that does not list it missed it (rule 10)."""
    data = dataset_v2()
    data["inspections"] += [
        {"id": "JC-03", "organization_id": "E1", "on": "2026-03-25", "post_id": "K-EM-HEAD", "outcome": "no_findings",
         "hazard_ids": "", "note": ""},
        {"id": "JC-04", "organization_id": "E1", "on": "2026-04-20", "post_id": "K-EM-HEAD", "outcome": "no_findings",
         "hazard_ids": "", "note": ""},
    ]
    db = imported(data, tmp_path)
    with Session(str(db), rules=V2, readonly=True) as s:
        for lang, closed, missed in (("zh", "JC-03：其时该隐患已销号", "JC-04：未记录该隐患"),
                                     ("en", "JC-03: the hazard was closed by then", "JC-04: did not record the hazard")):
            (h1,) = build_report(s, "A1", lang).hazards
            assert [e.note for e in h1.timeline if e.kind == "inspection" and e.on > "2026-03-20"] == [closed, missed]
        acts = {link.act for link in s.incident("A1").links if link.act and link.act[0] == "R10"}
        assert ("R10", "2026-04-20") in acts and ("R10", "2026-03-25") not in acts


def test_v2_sections_are_shown_even_when_empty(session_v2):
    """A2 has no linked hazard, hence no record to exempt anyone (DESIGN.md); 赵两岗 became executive deputy
    head nine days before it."""
    text = render(build_report(session_v2, "A2", "zh"), "md").decode()
    exempt = text[text.index("### （三）尽职免责建议"):text.index("### （四）不具备履职条件")]
    assert exempt.rstrip().endswith("\n\n无。") and "第二十三条" not in text
    assert f"**{TWO_POSTS}**" in text[text.index("### （四）不具备履职条件"):text.index("## 四、发现的问题")]


V2_WORDS = {
    "zh": {"proposed": "（二）建议追责人员", "exempt": "（三）尽职免责建议", "no_conditions": "（四）不具备履职条件",
           "gaps": "四、发现的问题", "exempt_record": "检查JC-01（2026-02-05，责令整改）",
           "missed": "检查JC-02（2026-03-15，未发现问题）", "act": "R10 检查失察，2026-03-15",
           "days": "追溯期内在岗20天，不足30天", "two_posts": "尽职免责——2026-02-15 下达整改指令（隐患H1）",
           "closure": "R11 验收把关不严，2026-03-20",
           "closure_records": "2026-03-20 验收销号（隐患H1）；2026-04-10 复查：问题反弹（隐患H1）",
           "designation": "2026-01-15起被指定为挂牌督办（包保）领导（隐患H1）"},
    "en": {"proposed": "3.2 Persons proposed for accountability",
           "exempt": "3.3 Duty performed — proposed for exemption", "no_conditions": "3.4 No conditions to perform",
           "gaps": "4. Gaps found", "exempt_record": "inspection JC-01 (2026-02-05, Order issued)",
           "missed": "inspection JC-02 (2026-03-15, No findings)", "act": "R10 Inspected and missed, 2026-03-15",
           "days": "20 days in post during the window, fewer than 30",
           "two_posts": "exempt — Order issued on 2026-02-15 (hazard H1)",
           "closure": "R11 False closure, 2026-03-20",
           "closure_records": "Closed on 2026-03-20 (hazard H1); Re-inspected: Relapsed on 2026-04-10 (hazard H1)",
           "designation": "designated Supervising leader from 2026-01-15 (hazard H1)"},
}


def v2_text(fmt: str, lang: str, store: str, session, tmp_path) -> str:
    """The report of A1 under reference-v2 as a reader gets it: the command's Markdown, the HTML's text,
    the Word document's paragraphs, the PDF's text (pdftotext)."""
    if fmt == "md":
        result = run("A1", "--store", store, "--rules", V2, "--lang", lang, "--format", "md", "--no-figure")
        assert result.exit_code == 0, result.output
        return result.output
    report = build_report(session, "A1", lang)
    if fmt == "html":
        html = render(report, "html", figure=False).decode()
        return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if fmt == "docx":
        import docx

        doc = docx.Document(io.BytesIO(render(report, "docx", figure=False)))
        return "\n".join(p.text for p in doc.paragraphs)
    pdf = tmp_path / "a1.pdf"
    pdf.write_bytes(render(report, "pdf", figure=False))
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["md", "html", "docx", pytest.param("pdf", marks=needs_poppler)])
def test_v2_every_format_shows_the_three_sections_each_person_once_and_the_records(
        fmt, lang, store_v2, session_v2, tmp_path):
    words = {k: flat(v) for k, v in V2_WORDS[lang].items()}
    text = flat(v2_text(fmt, lang, store_v2, session_v2, tmp_path))
    if fmt == "md":
        text = text.replace("\\", "")  # Markdown's escapes
    at = [text.index(words[k]) for k in ("proposed", "exempt", "no_conditions", "gaps")]
    assert at == sorted(at), at
    proposed, exempt, no_conditions = text[at[0]:at[1]], text[at[1]:at[2]], text[at[2]:at[3]]
    for name, where in ((TWO_POSTS, proposed), (MISSED_BY, proposed), (NEW, proposed), (EXEMPT, exempt),
                        (BRIEF, no_conditions)):
        parts = (proposed, exempt, no_conditions)
        assert [part.count(flat(name)) for part in parts] == [int(part is where) for part in parts], name
    for record in ("missed", "act", "two_posts", "closure", "closure_records", "designation"):
        assert words[record] in proposed, record
    assert words["exempt_record"] in exempt
    assert words["days"] in no_conditions


def test_templates_are_compiled_once_and_an_edited_one_is_read_again(zh, tmp_path):
    """Compiling the report's templates cost more than rendering them (about 40 of 45 ms); the compiled
    templates are kept, and a user's template edited on disk is still seen."""
    import os

    from accountability.reports.render import environment

    assert environment("md") is environment("md") and environment("html", None) is environment("html")
    folder = tmp_path / "tpl"
    folder.mkdir()
    template = folder / "report.md.j2"
    template.write_text("first {{ report.incident.id }}\n", encoding="utf-8")
    assert render(zh, "md", templates=folder).decode() == "first A1\n"
    template.write_text("second {{ report.incident.id }}\n", encoding="utf-8")
    later = template.stat().st_mtime + 5
    os.utime(template, (later, later))
    assert render(zh, "md", templates=str(folder)).decode() == "second A1\n"


# -- reference-v2, an incident with occurred_at: the reporting timeline and who was on duty (issue #17) ------
#
# A1 occurred at 09:30 on 2026-05-20 (large: reports go up to the province). The required chain and what was
# made: 1 E1 → 东湖区应急管理局 09:50 (due 10:30, on time); 2 E1 → 东湖区住建局 10:45 (15 minutes late);
# 3 东湖区应急管理局 → 临江市应急管理局 11:30 (due 11:50, on time); 4 东湖区住建局 → 临江市住建局 never
# (missed, due 12:45); 5 临江市应急管理局 → 江南省应急管理厅 14:00 (due 13:30, 30 minutes late).
# On duty: in 东湖区 the executive deputy head's post leads (赵两岗 holds it since April) and 值班张三, named
# without a post, is the officer; in 临江市 the deputy mayor's post leads until 12:00 and nobody keeps the
# officer's watch; in 江南省 nobody is on duty at all.

ON_DUTY = "值班张三"


def dataset_reporting() -> dict:
    data = dataset_v2()
    a1 = data["incidents"][0]
    a1["occurred_at"] = "2026-05-20T09:30"
    data["people"].append({"id": "X-DUTY", "name": ON_DUTY})
    report = [("E1", "K-EM", "09:50"), ("E1", "K-HOUSING", "10:45"), ("K-EM", "C-EM", "11:30"),
              ("C-EM", "P-EM", "14:00")]
    data["incident_reports"] = [{"incident_id": "A1", "from_organization_id": a, "to_organization_id": b,
                                 "at": f"2026-05-20T{at}", "kind": "initial"} for a, b, at in report]
    data["duty_shifts"] = [
        {"jurisdiction_id": "K", "post_id": "K-EXEC", "role": "leader_on_duty", "start": "2026-05-20T08:00",
         "end": "2026-05-21T08:00"},
        {"jurisdiction_id": "K", "person_id": "X-DUTY", "role": "duty_officer", "start": "2026-05-20T00:00",
         "end": "2026-05-21T00:00"},
        {"jurisdiction_id": "C", "post_id": "C-DEP", "role": "leader_on_duty", "start": "2026-05-20T08:00",
         "end": "2026-05-20T12:00"},
    ]
    return data


@pytest.fixture(scope="module")
def store_reporting(tmp_path_factory) -> str:
    from test_app import build_store

    return str(build_store(tmp_path_factory.mktemp("reports-reporting"), dataset_reporting()))


@pytest.fixture(scope="module")
def session_reporting(store_reporting):
    with Session(store_reporting, rules=V2, readonly=True) as s:
        yield s


def test_the_report_holds_the_reporting_steps_and_who_was_on_duty(session_reporting, store_reporting):
    r = build_report(session_reporting, "A1", "zh")
    steps = r.reporting.steps
    assert [(s.sender.id, s.receiver.id, s.due_text, s.at_text, s.status_text) for s in steps] == [
        ("E1", "K-EM", "2026-05-20 10:30", "2026-05-20 09:50", "按时报告"),
        ("E1", "K-HOUSING", "2026-05-20 10:30", "2026-05-20 10:45", "迟报15分钟"),
        ("K-EM", "C-EM", "2026-05-20 11:50", "2026-05-20 11:30", "按时报告"),
        ("K-HOUSING", "C-HOUSING", "2026-05-20 12:45", "—", "漏报"),
        ("C-EM", "P-EM", "2026-05-20 13:30", "2026-05-20 14:00", "迟报30分钟"),
    ]
    assert [(s.opened or "")[11:16] for s in steps] == ["09:30", "09:30", "09:50", "10:45", "11:30"]
    assert r.reporting.summary == ("事故发生于2026-05-20 09:30。依照《生产安全事故报告和调查处理条例》第九条至第十一条，"
                                   "应逐级报告5次：按时报告2次，迟报2次，漏报1次。")
    assert [(w.at_text[11:], w.occasion, w.jurisdiction.id, w.leader, w.officer) for w in r.reporting.on_duty] == [
        ("09:30", "事故发生时", "K", f"{TWO_POSTS}（东湖区人民政府常务副区长）", ON_DUTY),
        ("09:30", "事故发生时", "C", "人员08（临江市人民政府副市长）", "无人值守"),
        ("09:30", "事故发生时", "P", "无人值守", "无人值守"),
        ("11:50", "第3项报告时限届满", "K", f"{TWO_POSTS}（东湖区人民政府常务副区长）", ON_DUTY),
        ("12:45", "第4项报告时限届满", "K", f"{TWO_POSTS}（东湖区人民政府常务副区长）", ON_DUTY),
        ("13:30", "第5项报告时限届满", "C", "无人值守", "无人值守"),
    ]
    # a rule-12 act and its record say their times as a reader writes them, not in ISO
    late = next(link for link in r.links if link.act and link.act[0] == "R12")
    assert re.fullmatch(r"R12 迟报漏报，2026-05-20 \d\d:\d\d", late.act_text), late.act_text
    records = [e.text for link in r.links if link.act and link.act[0] == "R12" for e in link.evidence]
    assert "东湖区住房和城乡建设局向临江市住房和城乡建设局报告，应于2026-05-20 12:45前，未报告" in records
    assert any(t.endswith("应于2026-05-20 10:30前，实际2026-05-20 10:45") for t in records), records
    en_records = [e.text for link in build_report(session_reporting, "A1", "en").links
                  if link.act and link.act[0] == "R12" for e in link.evidence]
    assert any(t.endswith(", due 2026-05-20 12:45, never made") for t in en_records), en_records
    # the person-only duty officer answers for the missed step (rule 12), titled in each language
    officer = [link for link in r.links if link.post.id is None]
    assert [(link.post.name, link.organization.name) for link in officer] == [("值班员", "东湖区值班室")]
    en = build_report(session_reporting, "A1", "en")
    assert [(link.post.name, link.organization.name) for link in en.links if link.post.id is None] == [
        ("Duty officer", "东湖区 duty office")]
    assert [s.status_text for s in en.reporting.steps] == ["On time", "15 min late", "On time", "Missed report",
                                                           "30 min late"]
    with Session(store_reporting, rules="reference-v1", readonly=True) as v1:
        plain = build_report(v1, "A1", "zh")
        assert plain.reporting is None and "事故信息报告情况" not in render(plain, "md").decode()


def test_the_reporting_timeline_figure_marks_late_and_missed_steps(session_reporting):
    from PIL import Image

    from accountability.reports.figure import REPORT_COLORS, draw_reporting

    r = build_report(session_reporting, "A1", "zh")
    fig = draw_reporting(r.reporting, ("png", "svg"))
    assert fig.svg.startswith(b"<?xml") and b"<script" not in fig.svg
    assert fig.svg == draw_reporting(r.reporting, ("svg",)).svg  # the same figure, the same bytes

    def ink(png: bytes) -> dict[str, int]:
        """Pixels of each status colour."""
        counts = {rgb: n for n, rgb in Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 20)}
        return {k: counts.get(tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)), 0) for k, c in REPORT_COLORS.items()
                if k != "window"}

    mixed = ink(fig.png)
    on_time_only = build_report(session_reporting, "A1", "zh").reporting
    for step in on_time_only.steps:
        step.status, step.at = "on_time", step.due
    plain = ink(draw_reporting(on_time_only, ("png",)).png)  # the legend's samples only, but green dots
    assert mixed["late_report"] > 3 * plain["late_report"] and mixed["missed_report"] > 2 * plain["missed_report"]
    assert plain["on_time"] > mixed["on_time"] > 0


REPORTING_WORDS = {
    "zh": ("事故信息报告情况", "迟报15分钟", "迟报30分钟", "漏报", "值班带班情况", "第4项报告时限届满",
           f"{ON_DUTY}", "无人值守", "图事故信息报告时间线（事故发生于2026-05-2009:30）"),
    "en": ("Reporting of the incident", "15 min late", "30 min late", "Missed report", "On duty",
           "Report no. 4 due", f"{ON_DUTY}", "nobody on duty",
           "Reporting timeline (the incident occurred at 2026-05-20 09:30)"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["md", "html", "docx", pytest.param("pdf", marks=needs_poppler)])
def test_every_format_shows_the_reporting_timeline_and_the_on_duty_table(fmt, lang, store_reporting,
                                                                         session_reporting, tmp_path):
    """Read back as a reader gets it: the command's Markdown (with its timeline beside it), the HTML, the Word
    document (paragraphs, tables and the pictures it holds), the PDF's text (pdftotext)."""
    import docx

    report = build_report(session_reporting, "A1", lang)
    if fmt == "md":
        out = tmp_path / "a1.md"
        result = run("A1", "--store", store_reporting, "--rules", V2, "--lang", lang, "-o", str(out))
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8").replace("\\", "")
        assert "](a1.reporting.svg)" in text and (tmp_path / "a1.reporting.svg").read_bytes().startswith(b"<?xml")
    elif fmt == "html":
        html = render(report, "html").decode()
        assert html.count("data:image/svg+xml;base64,") == 2  # the chain, and the timeline
        text = re.sub(r"<[^>]+>", "", html)
    elif fmt == "docx":
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        doc = docx.Document(io.BytesIO(render(report, "docx")))
        assert len(doc.inline_shapes) == 2
        parts = []  # paragraphs and tables' cells, in the document's order
        for child in doc.element.body.iterchildren():
            if child.tag.endswith("}p"):
                parts.append(Paragraph(child, doc).text)
            elif child.tag.endswith("}tbl"):
                parts += [c.text for row in Table(child, doc).rows for c in row.cells]
        text = "\n".join(parts)
    else:
        pdf = tmp_path / "a1.pdf"
        pdf.write_bytes(render(report, "pdf"))
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = flat(text)
    at = [text.index(flat(w)) for w in REPORTING_WORDS[lang]]
    assert at[:2] == sorted(at[:2]) and at[0] < at[4], at  # the steps, then who was on duty
    section2 = flat("二、事故隐患排查治理情况" if lang == "zh" else "2. Hazard history")
    assert max(at) < text.index(section2)  # all in the first section
