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


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("reports")
    path = scenario.write(dataset(), folder)
    db = folder / "store.db"
    result = CliRunner().invoke(main, ["import", str(path), "--store", str(db)])
    assert result.exit_code == 0, result.output
    return str(db)


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


def test_adapted_templates_replace_the_packaged_ones(store, tmp_path):
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "report.md.j2").write_text("{{ report.incident.level_label }} / {{ report.dataset }}\n",
                                                   encoding="utf-8")
    result = run("A1", "--store", store, "--templates", str(tmp_path / "tpl"), "--no-figure")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("较大事故 / ")


def test_formats_are_the_design_s():
    assert FORMATS == ("md", "html", "docx", "pdf")
