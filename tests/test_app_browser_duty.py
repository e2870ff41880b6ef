"""The Duty page and the incident view's reporting timeline in a real browser (issue #17): what only a browser
shows — the week's chart drawn, the timeline figure loaded, Chinese glyphs, no error in the console.

Starts ``streamlit run streamlit_app.py`` against the small demo province (its rosters and report chains) as
tests/test_app_browser.py does, drives headless Chromium (/usr/bin/chromium) with Playwright, and saves
screenshots to ``test-artifacts/`` (not committed).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from test_app_browser import browser  # noqa: F401  (the module's Chromium, a fixture)
from test_app_browser import TIMEOUT, chinese_glyphs, need_chromium, settle, shot

from accountability.dataset import load
from accountability.stores.sqlite import SQLiteStore
from benchmarks.load import streamlit_server

pytestmark = pytest.mark.browser
STREAMLIT_PROBE = re.compile(r"//[^/]+/[^/_][^/]*/_stcore/(health|host-config)$")


@pytest.fixture(scope="module")
def demo(small_demo, tmp_path_factory) -> dict:
    """The small demo in a store of its own; the first incident whose reporting has a late or missed step."""
    store = tmp_path_factory.mktemp("browser-duty") / "demo.db"
    with SQLiteStore(store) as s:
        s.write(load(small_demo))
    incidents = list(csv.DictReader((Path(small_demo) / "incidents.csv").open(encoding="utf-8")))
    reports = list(csv.DictReader((Path(small_demo) / "incident_reports.csv").open(encoding="utf-8")))
    with_reports = [i for i in incidents if i["occurred_at"] and any(r["incident_id"] == i["id"] for r in reports)]
    return {"store": store, "incident": with_reports[0]}


@pytest.fixture(scope="module")
def server(demo, tmp_path_factory):
    need_chromium()
    with streamlit_server(demo["store"], tmp_path_factory.mktemp("log"),
                          ACCOUNTABILITY_RULES="reference-v2") as url:
        yield url


@pytest.fixture
def page(browser):
    """A page that records every console error and uncaught exception; the test fails on any."""
    context = browser.new_context(viewport={"width": 1400, "height": 1700}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    # A failed resource shows in the console as "Failed to load resource"; it is judged by its response
    # instead, where Streamlit's own probe of a page's path for its server (/PAGE/_stcore/health and
    # host-config, answered 404 before it falls back to the root) can be told apart.
    pg.on("console", lambda m: errors.append(f"console: {m.text}")
          if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on("response", lambda r: errors.append(f"{r.status} {r.url}")
          if r.status >= 400 and not STREAMLIT_PROBE.search(r.url) else None)
    pg.on("requestfailed", lambda r: errors.append(f"failed: {r.url} {r.failure}"))
    yield pg
    context.close()
    assert not errors, errors


def drawn(page, selector: str) -> bool:
    """The first element matching ``selector`` (a chart's canvas or svg) has a size: Vega drew it."""
    return page.evaluate("""(sel) => { const e = document.querySelector(sel);
        if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 100 && r.height > 50; }""",
                         selector)


def test_the_duty_page_in_both_languages(server, page):
    page.goto(f"{server}/duty")
    page.get_by_role("heading", name="值班值守", exact=True).wait_for()
    page.get_by_text("在岗值班人员").wait_for()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()
    settle(page)
    page.wait_for_timeout(800)  # Vega draws after the element appears
    assert drawn(page, "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg")
    assert chinese_glyphs(page)
    main = page.inner_text("[data-testid=stMain]")
    assert "一周排班" in main and "带班领导" in main
    shot(page, "duty-01-zh")
    page.locator("[data-testid=stSidebar]").get_by_text("English").click()
    page.get_by_role("heading", name="Duty", exact=True).wait_for()
    page.get_by_text("The week's roster").wait_for()
    settle(page)
    page.wait_for_timeout(800)
    main = page.inner_text("[data-testid=stMain]")
    assert "Leader on duty" in main and "一周排班" not in main and "带班领导岗位" not in main
    shot(page, "duty-02-en")


def test_the_incident_view_shows_the_reporting_timeline(server, page, demo):
    incident = demo["incident"]
    page.goto(f"{server}/report?incident={incident['id']}")
    page.get_by_role("heading", name="事故调查报告").wait_for()
    page.get_by_text("事故信息报告情况").first.wait_for()
    figure = page.locator("[data-testid=stImage] img").first
    figure.wait_for()
    settle(page)
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 400", figure.element_handle())
    main = page.inner_text("[data-testid=stMain]")
    assert "值班带班情况" in main and "报告时限" in main
    page.locator('iframe[title="报告预览"]').wait_for()
    settle(page)
    shot(page, "duty-03-incident-timeline")
