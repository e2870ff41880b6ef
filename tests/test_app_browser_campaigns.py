"""The Campaigns and Measures pages (issue #16) in a real browser: both pages drawn in Chinese and then in
English with no error in the browser's console and no request leaving the machine, no word of the other
language in the page's own text, the charts drawn, and the look-back plan downloaded as a CSV file with
headers in the page's language.

The server, the browser and the demo store are those of tests/test_app_browser.py (the small demo province);
the date is the demo's own ``TODAY`` (the look-back CAMP-HTK runs up to it). Screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from test_app_browser import ARGS, CHROMIUM, ROOT, TIMEOUT, browser, demo, need_chromium, server, settle, shot  # noqa: F401

from accountability.demo import TODAY
from graph_schema import SCHEMA

pytestmark = pytest.mark.browser

PAGES = {"campaigns": ("大检查与回头看", "Campaigns"), "measures": ("措施落实", "Measures")}
VOCABULARIES = ("campaign_kinds", "reinspection_outcomes", "measure_statuses", "measure_roles", "jurisdiction_levels")


def words_of(lang: str, store: Path) -> set[str]:
    """The pages' own words in ``lang`` (their sections of words.yaml and the vocabularies they label with),
    each cut at its first placeholder: what must never show in the other language — but for the words the
    data itself holds (a campaign titled 重大事故隐患整改“回头看” is shown as it is in English too)."""
    words = yaml.safe_load((ROOT / "app_pages" / "words.yaml").read_text(encoding="utf-8"))
    found = {w[lang] for section in ("campaigns", "measures") for w in words[section].values()}
    found |= {SCHEMA.label(vocab, code, lang) for vocab in VOCABULARIES for code in SCHEMA.vocab(vocab)}
    pieces = {re.split(r"[{*]", w)[0].strip(" ：:（(") for w in found}
    db = sqlite3.connect(store)
    data = [row[0] or "" for table, column in (("campaigns", "title"), ("measures", "title"), ("organizations", "name"),
                                               ("jurisdictions", "name"), ("posts", "title"), ("people", "name"))
            for row in db.execute(f"SELECT {column} FROM {table}")]
    db.close()
    return {p for p in pieces if len(p) >= (2 if lang == "zh" else 6) and not any(p in d for d in data)}


# Opened at /campaigns, Streamlit's frontend looks for its server under that path first (/campaigns/_stcore/…)
# and then at the root: those two 404s are how it finds its base path, not errors of a page.
PROBE = re.compile(r"/[a-z_]+/_stcore/(health|host-config)$")


def console(page) -> list[str]:
    """Collect, from now on, the page's console errors, uncaught exceptions, failed requests and requests
    to any other host."""
    errors: list[str] = []

    def logged(m) -> None:
        if m.type == "error" and not PROBE.search((m.location or {}).get("url", "")):
            errors.append(f"console: {m.text} ({(m.location or {}).get('url')})")

    page.on("console", logged)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and not PROBE.search(r.url) else None)
    # the product makes no outside request (issue #20): only the app's own server, data: and blob: URLs
    page.on("request", lambda r: errors.append(f"outside request: {r.url}")
            if urlsplit(r.url).scheme not in ("data", "blob", "about") and urlsplit(r.url).hostname != "127.0.0.1"
            else None)
    return errors


def main_text(page) -> str:
    return page.inner_text("[data-testid=stMain]")


def charts_drawn(page) -> int:
    """Vega charts with something drawn: a canvas or an SVG with marks."""
    return page.evaluate("""() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .filter(c => c.querySelector('canvas, svg .mark-rect, svg .mark-group')).length""")


def drawn(page, title: str, foreign: set[str], name: str) -> None:
    """Wait for the page titled ``title`` to be drawn, with its charts, and none of the ``foreign`` words."""
    page.get_by_role("heading", name=title, exact=True).wait_for()
    page.locator("[data-testid=stMetric]").first.wait_for()
    settle(page)
    assert charts_drawn(page) >= 1, title
    text = main_text(page)
    assert not sorted(w for w in foreign if w in text), (title, sorted(w for w in foreign if w in text))
    shot(page, name)


def test_both_pages_in_both_languages_with_a_clean_console(server, browser, demo):  # noqa: F811
    need_chromium()
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors = console(page)
    english, chinese = words_of("en", demo["store"]), words_of("zh", demo["store"])
    try:
        for name, (zh, _) in PAGES.items():
            page.goto(f"{server}/{name}?as_of={TODAY}")
            drawn(page, zh, english, f"h16-{name}-zh")
        # the plan, downloaded from the look-back's page (the demo's campaigns: CAMP-HTK is the latest)
        page.goto(f"{server}/campaigns?as_of={TODAY}")
        page.get_by_role("heading", name="复查计划").wait_for()
        settle(page)
        assert "已复查隐患" in main_text(page) and "反弹率" in main_text(page)
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="下载复查计划（CSV）").click()
        assert info.value.suggested_filename == "lookback-plan-CAMP-HTK.csv"
        lines = Path(info.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("隐患编号,单位编号,隐患单位,地区,行业领域,隐患等级,销号日期")
        assert len(lines) > 2 and re.match(r"H\d+,", lines[1])

        page.locator("[data-testid=stSidebar]").get_by_text("English").click()
        for name, (_, en) in PAGES.items():
            page.locator("[data-testid=stSidebarNav]").get_by_text(en, exact=True).click()
            drawn(page, en, chinese, f"h16-{name}-en")
        assert "Relapse rate" not in main_text(page)  # the measures page, not the campaigns page, is shown last
    finally:
        context.close()
    assert not errors, errors
