"""One language at a time (issue #20, item 1): every page of the explorer, on the small demo province, in
each language, shows no word of the other language and no raw code.

What counts is what a user reads: titles, labels, captions, messages, options, placeholders, help texts,
button and tab labels, table headers and table cells. Data values are not words of the UI: the demo's
names, titles and descriptions are Chinese whatever the language, so every text value the store holds is
taken out before looking (a name in the English UI is data; "全部" is not). Codes are snake_case words of
the vocabularies (``enterprise_main``, ``principal_leadership``); a file name such as
``measure_assignments.csv`` is the name a user must give a file, not a code shown in place of a word.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from test_app_browser import browser, demo, page, server, settle  # noqa: F401 - the browser tests' fixtures

from accountability.errors import InvalidDataset, NotFound, error_text, translate
from graph_schema import SCHEMA

ROOT = Path(__file__).resolve().parent.parent
# every page (app_pages/common.py's PAGES: each page module but the shared one)
PAGES = {p.stem: f"app_pages/{p.name}" for p in sorted((ROOT / "app_pages").glob("*.py")) if p.stem != "common"}
APP = str(ROOT / "streamlit_app.py")
ON = dt.date(2026, 12, 1)
PARAMS = {"explore": {"entity": "jurisdictions:C01-K01"}, "hazard": {"hazard": "H0000009"},
          "official": {"person": "PE000001"}, "report": {"incident": "I0001"}}
# proto fields a user reads (ids, urls, formats, types and styles are not read)
READ = {"body", "label", "options", "placeholder", "help", "caption", "alt", "value", "default_value"}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b(?!\.csv)")
ENGLISH = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,}\b")  # two English words in a row: a phrase
STREAMLIT_ENGLISH = ("Choose an option", "No options to select", "Drag and drop", "Browse files", "per file")


@pytest.fixture(scope="module")
def data_values(small_demo_store) -> list[str]:
    """Every free text of the dataset (names, titles, descriptions, sources …) and every id, longest first;
    codes are not data values: they must be shown in words."""
    values: set[str] = set()
    with sqlite3.connect(small_demo_store) as con:
        for name, table in SCHEMA.tables.items():
            for col in table.columns:
                if col.base in ("text", "id") or col.base.startswith("ref:"):
                    values.update(v for (v,) in con.execute(f'SELECT DISTINCT "{col.name}" FROM "{name}"')
                                  if isinstance(v, str) and len(v) > 1)
    return sorted(values, key=len, reverse=True)


def _strings(msg: Message, out: list[str]) -> None:
    for field, value in msg.ListFields():
        items = value if hasattr(value, "__len__") and not isinstance(value, (str, bytes, Message)) else [value]
        for item in items:
            if isinstance(item, Message):
                _strings(item, out)
            elif isinstance(item, str) and field.name in READ and item.strip():
                out.append(item)


def visible(node, out: list[str]) -> list[str]:
    """The texts of an AppTest element tree a user reads (tables: headers and cells)."""
    for child in getattr(node, "children", {}).values():
        visible(child, out)
    kind = type(node).__name__
    proto = getattr(node, "proto", None)
    if kind == "Dataframe":
        frame = node.value
        out += [str(c) for c in frame.columns]
        out += [v for col in frame.columns for v in frame[col].head(50) if isinstance(v, str)]
    elif kind not in ("Html", "UnknownElement") and isinstance(proto, Message):
        _strings(proto, out)
    return out


def run_page(store: Path, page: str, lang: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["global_as_of"] = ON
    at.session_state["global_lang"] = lang
    for key, value in PARAMS.get(page, {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def problems(texts: list[str], lang: str, data: list[str]) -> list[str]:
    found = []
    for text in texts:
        if text in ("语言 / Language", "中文", "English") or text.startswith(("数据库：", "Store: ")):
            continue  # the language switch names both languages; the store is a path
        rest = text
        for value in data:
            if value in rest:
                rest = rest.replace(value, " ")
        if lang == "en" and CJK.search(rest):
            found.append(f"Chinese in the English UI: {text!r}")
        if lang == "zh" and (ENGLISH.search(rest) or any(s in rest for s in STREAMLIT_ENGLISH)):
            found.append(f"English in the Chinese UI: {text!r}")
        if CODE.search(rest):
            found.append(f"a raw code: {text!r}")
    return found


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_speaks_one_language(small_demo_store, data_values, page, lang, monkeypatch):
    at = run_page(small_demo_store, page, lang, monkeypatch)
    texts = visible(at._tree, [])
    assert len(texts) > 5, texts  # the page said something
    found = problems(texts, lang, data_values)
    assert not found, "\n".join(dict.fromkeys(found))


def test_the_check_sees_what_it_must(data_values):
    """The rule itself: a UI word of the other language or a code is caught, a data value is not."""
    assert problems(["全部"], "en", data_values)
    assert problems(["Choose an option"], "zh", data_values)
    assert problems(["责任类型：enterprise_main"], "zh", data_values)
    name = next(v for v in data_values if CJK.search(v))
    assert not problems([f"Holder: {name}"], "en", data_values)
    assert not problems(["措施分解（measure_assignments.csv）"], "zh", data_values)


def test_the_chinese_ui_shows_library_errors_in_chinese(small_demo_store, monkeypatch):
    at = run_page(small_demo_store, "hazard", "zh", monkeypatch)
    at.query_params["hazard"] = "NOPE"
    at.run()
    assert [e.value for e in at.error] == ["未找到隐患“NOPE”"]
    at.session_state["global_lang"] = "en"
    at.run()
    assert [e.value for e in at.error] == ["unknown hazard 'NOPE'"]


def test_library_errors_keep_a_stable_code_and_an_english_message():
    exc = NotFound("unknown hazard 'H9'")
    assert (exc.code, str(exc), exc.text("zh")) == ("unknown_hazard", "unknown hazard 'H9'", "未找到隐患“H9”")
    bad = InvalidDataset(["hazards:3: industry: unknown industry 'x'", "events: missing table"])
    assert bad.code == "invalid_dataset" and str(bad).startswith("invalid dataset: 2 error(s)")
    assert bad.text("zh").splitlines() == ["数据集有 2 处错误", "hazards:3: industry: 未找到行业领域“x”",
                                           "events: 缺少此表"]
    assert error_text("tenures:4: end: required", "zh") == "tenures:4: end: 必填"
    assert translate("something new") == (None, None)  # no form: the English message is shown as it is
    assert NotFound("something new").text("zh") == "something new"


def test_the_report_language_follows_the_ui(small_demo_store, monkeypatch):
    at = run_page(small_demo_store, "report", "zh", monkeypatch)
    assert at.radio(key="rp_lang").value == "zh"
    at.radio(key="global_lang").set_value("en").run()
    assert at.radio(key="rp_lang").value == "en"


@pytest.mark.parametrize("on, warned", [(dt.date(2036, 1, 1), "years ahead"), (dt.date(1995, 1, 1), "years back"),
                                        (ON, None)])
def test_a_far_as_of_date_is_warned_about(small_demo_store, monkeypatch, on, warned):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(small_demo_store))
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["global_as_of"] = on
    at.session_state["global_lang"] = "en"
    at.run()
    warnings = [w.value for w in at.sidebar.warning]
    assert (warned is None and not warnings) or (warned and warned in warnings[0]), warnings


# -- what only a browser shows: Streamlit's own words, a choice kept across a language switch -----------------


@pytest.mark.browser
def test_in_a_browser_the_uploader_speaks_chinese_and_all_stays_all(server, page):
    page.goto(f"{server}/data")
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    zone.wait_for()
    settle(page)
    shown = zone.evaluate("""z => [
        getComputedStyle(z.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span'), '::after')
            .content,
        getComputedStyle(z.querySelector('button [data-testid="stMarkdownContainer"] p'), '::after').content]""")
    assert shown[0].startswith('"每个文件不超过') and shown[1] == '"上传"', shown
    page.goto(server)  # the overview: its ranking's scope is "all" at first
    box = page.get_by_role("combobox", name="排名范围")
    box.wait_for()
    settle(page)
    assert box.input_value() == "全部"
    page.locator("[data-testid=stSidebar]").get_by_text("English").click()
    page.get_by_role("heading", name="Overview").wait_for()
    settle(page)
    assert page.get_by_role("combobox", name="Ranked over").input_value() == "All"  # not 全部, not empty


def test_a_csv_from_the_ui_has_its_words_and_keeps_the_codes():
    import csv
    import io
    import sys

    sys.path.insert(0, str(ROOT))
    from app_pages import common

    rows = [{"kind": "vacant_post", "hazards": 3}, {"kind": "no_regulator", "hazards": 1}]
    text = common.labelled_csv(rows, ["kind", "hazards"], ["缺口类型", "涉及隐患数"],
                               {"kind": lambda k: SCHEMA.label("gap_kinds", k, "zh")})
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    got = list(csv.DictReader(io.StringIO(text[1:])))
    assert got == [{"缺口类型": "岗位空缺", "缺口类型（代码）": "vacant_post", "涉及隐患数": "3"},
                   {"缺口类型": "无行业监管部门", "缺口类型（代码）": "no_regulator", "涉及隐患数": "1"}]
