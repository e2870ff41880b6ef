"""The explorer in a real browser: what only a browser shows — the graph drawn on its canvas, Chinese text
rendered with real glyphs, names kept as text in the graph's tooltips, report downloads.

Starts ``streamlit run streamlit_app.py`` on a free port against the small demo province (one person
renamed to markup), drives headless Chromium (Debian's, at /usr/bin/chromium) with Playwright, and saves
screenshots to ``test-artifacts/`` (not committed).
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from test_app import HOSTILE

from accountability.dataset import load
from accountability.stores.sqlite import SQLiteStore
from benchmarks.load import streamlit_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
TIMEOUT = 30_000  # ms, for one page or element to appear


@pytest.fixture(scope="module")
def demo(small_demo, tmp_path_factory) -> dict:
    """The small demo in a store of its own, its first person renamed to markup."""
    folder = tmp_path_factory.mktemp("browser-demo") / "csv"
    shutil.copytree(small_demo, folder)
    people = list(csv.DictReader((folder / "people.csv").open(encoding="utf-8")))
    people[0]["name"] = HOSTILE
    with (folder / "people.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "name"])
        writer.writeheader()
        writer.writerows(people)
    store = folder.parent / "demo.db"
    with SQLiteStore(store) as s:
        s.write(load(folder))
    incidents = list(csv.DictReader((folder / "incidents.csv").open(encoding="utf-8")))
    return {"store": store, "hostile": people[0]["id"], "incident": incidents[0]}


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")


@pytest.fixture(scope="module")
def server(demo, tmp_path_factory):
    """A Streamlit server on the demo store; stopped at teardown."""
    need_chromium()
    with streamlit_server(demo["store"], tmp_path_factory.mktemp("log")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1700}, locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    yield pg
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def settle(page) -> None:
    """Wait until Streamlit has finished the current run and every element has been drawn."""
    page.wait_for_timeout(300)
    page.wait_for_function("""() => {
        const app = document.querySelector('[data-testid="stApp"]');
        return app && app.getAttribute('data-test-script-state') === 'notRunning'
            && !document.querySelector('[data-testid="stSkeleton"]');
    }""", timeout=TIMEOUT)


def graph_frame(page, alt: str):
    frame_el = page.locator(f'iframe[title="{alt}"]')
    frame_el.wait_for()
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_selector("canvas", timeout=TIMEOUT)
    return frame


def canvas_has_drawing(frame) -> bool:
    """The vis-network canvas holds pixels of more than one colour (the graph is drawn, not just cleared)."""
    return frame.evaluate("""() => {
        const c = document.querySelector('canvas');
        if (!c || !c.width || !c.height) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) { seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2] + ',' + d[i+3]); }
        return seen.size > 3;
    }""")


def chinese_glyphs(page) -> bool:
    """CJK text draws with real glyphs: "中" and "安" differ from each other and from an unassigned code
    point (which, without a CJK font, all render as the same empty box)."""
    return page.evaluate("""() => {
        const font = getComputedStyle(document.body).fontFamily;
        const draw = (ch) => {
            const c = document.createElement('canvas'); c.width = 40; c.height = 40;
            const x = c.getContext('2d'); x.font = '32px ' + font; x.fillText(ch, 2, 32);
            return c.toDataURL();
        };
        const a = draw('中'), b = draw('安'), none = draw('\\uE000');
        return a !== b && a !== none && b !== none;
    }""")


def test_walk_overview_hazard_official_report(server, page, demo):
    page.goto(server)
    page.get_by_role("heading", name="总览").wait_for()
    page.get_by_text("责任暴露最多的干部").wait_for()
    settle(page)
    assert chinese_glyphs(page)
    shot(page, "01-overview")

    # overview → the most overdue hazard
    page.locator('a[href*="hazard?hazard="]').first.click()
    page.get_by_role("heading", name="隐患责任链条").wait_for()
    page.get_by_role("tab", name="责任链条").wait_for()
    settle(page)
    assert "hazard=" in page.url
    shot(page, "02-hazard")
    page.get_by_role("tab", name="关系图").click()
    frame = graph_frame(page, "隐患责任链条关系图")
    page.wait_for_timeout(1500)  # let the layout settle before judging the drawing
    assert canvas_has_drawing(frame)
    shot(page, "03-hazard-graph")
    page.get_by_role("tab", name="任职变化").click()
    page.wait_for_timeout(800)
    shot(page, "04-hazard-timeline")

    # hazard → an accountable official
    page.get_by_role("tab", name="责任链条").click()
    page.locator('a[href*="official?person="]').first.click()
    page.get_by_role("heading", name="干部责任").wait_for()
    page.get_by_text("任职经历").wait_for()
    settle(page)
    assert "person=" in page.url
    shot(page, "05-official")

    # → the incident report, downloaded as Markdown and PDF
    incident = demo["incident"]
    page.goto(f"{server}/report?incident={incident['id']}")
    page.get_by_role("heading", name="事故调查报告").wait_for()
    page.locator('iframe[title="报告预览"]').wait_for()
    settle(page)
    shot(page, "06-report")
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=re.compile("下载 MD")).click()
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert incident["title"] in markdown
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=re.compile("下载 PDF")).click()
    assert Path(info.value.path()).read_bytes()[:5] == b"%PDF-"
    assert info.value.suggested_filename == f"report-{incident['id']}-zh.pdf"


def test_explore_graph_tooltips_show_names_as_text(server, page, demo):
    person = demo["hostile"]
    page.goto(f"{server}/explore?entity=people:{person}")
    page.get_by_role("heading", name="图谱浏览").wait_for()
    frame = graph_frame(page, "所选对象周边的关系图")
    frame.wait_for_function("() => typeof network !== 'undefined' && Object.keys(network.getPositions()).length > 0")
    page.wait_for_timeout(1500)
    assert canvas_has_drawing(frame)
    settle(page)
    shot(page, "07-explore")
    # hover the hostile person's node: vis-network shows its tooltip
    box = page.locator('iframe[title="所选对象周边的关系图"]').bounding_box()
    x, y = frame.evaluate("""(key) => { const p = network.getPositions([key])[key];
                                        const d = network.canvasToDOM(p); return [d.x, d.y]; }""", f"people:{person}")
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = frame.locator(".vis-tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "<img src=x" in tooltip.inner_text()  # the markup, as text
    assert frame.locator(".vis-tooltip img").count() == 0
    assert page.evaluate("() => window.__xss") is None
    shot(page, "08-explore-tooltip")
    assert HOSTILE.split("[")[0] in tooltip.inner_text()


def test_login_in_a_real_browser_keeps_a_county_user_in_their_county(demo, browser, tmp_path):
    """With access control on, a deep link opens the login form, not the data; a county viewer who signs in
    sees their county, is refused another county's hazard, and is offered neither queries nor data."""
    import sqlite3

    from accountability.access import hash_password

    need_chromium()
    db = sqlite3.connect(demo["store"])
    inside = db.execute("SELECT id FROM hazards WHERE jurisdiction_id LIKE 'C01-K01%' ORDER BY id").fetchone()[0]
    outside = db.execute("SELECT id FROM hazards WHERE jurisdiction_id LIKE 'C02-%' ORDER BY id").fetchone()[0]
    db.close()
    users = tmp_path / "users.toml"
    users.write_text(f'[users.k1]\npassword = "{hash_password("pw-k1")}"\nrole = "viewer"\nscope = "C01-K01"\n',
                     encoding="utf-8")
    with streamlit_server(demo["store"], tmp_path, ACCOUNTABILITY_USERS=str(users)) as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        try:
            page.goto(f"{url}/hazard?hazard={outside}")
            page.get_by_role("heading", name="登录").wait_for()
            settle(page)
            assert outside not in page.inner_text("[data-testid=stMain]")
            page.get_by_label("用户名").fill("k1")
            page.get_by_label("密码").fill("wrong")
            page.get_by_role("button", name="登录").click()
            page.get_by_text("用户名或密码错误").wait_for()
            page.get_by_label("密码").fill("pw-k1")
            page.get_by_role("button", name="登录").click()
            page.get_by_text("access denied").wait_for()  # signed in, the link is followed — and refused
            assert "hazard=" in page.url and outside in page.url
            settle(page)
            shot(page, "09-link-refused")
            page.locator("[data-testid=stSidebarNav]").get_by_text("总览").click()
            page.get_by_role("heading", name="总览").wait_for()
            settle(page)
            shot(page, "09-signed-in-county")
            nav = page.inner_text("[data-testid=stSidebarNav]")
            assert "查询" not in nav and "数据" not in nav and "隐患责任链条" in nav
            main_text = page.inner_text("[data-testid=stMain]")
            assert outside not in main_text and "C02" not in main_text
            page.locator("[data-testid=stSidebarNav]").get_by_text("隐患责任链条").click()
            page.get_by_role("heading", name="隐患责任链条").wait_for()
            search = page.get_by_label("搜索隐患")

            def offered(text: str) -> str:
                search.fill(text)
                search.press("Enter")
                settle(page)
                page.locator("[data-testid=stSelectbox]").first.click()
                page.wait_for_timeout(300)
                options = " ".join(page.get_by_role("option").all_inner_texts())
                page.keyboard.press("Escape")
                return options

            assert outside not in offered(outside)  # another county's hazard is not found
            assert inside in offered(inside)
            shot(page, "10-county-search")
            page.goto(f"{url}/hazard?hazard={inside}")  # a new browser session must sign in again
            page.get_by_role("heading", name="登录").wait_for()
        finally:
            context.close()


CUT_TEXT = """() => [...document.querySelectorAll('[data-testid=stMetric] *, [data-testid=stMarkdownContainer] span')]
    .filter(e => e.innerText && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).textOverflow === 'ellipsis')
    .map(e => e.innerText)"""


def test_english_at_1280_px_nothing_is_cut_no_chinese_choice_no_deploy_button(server, browser, demo):
    """#19 item 9: the window most laptops give (1280 px), switched to English after a page was seen in Chinese."""
    import sqlite3

    db = sqlite3.connect(demo["store"])
    hazard = db.execute("SELECT id FROM hazards WHERE level = 'major' AND status = 'rectifying' ORDER BY id").fetchone()[0]
    db.close()
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(f"{server}/hazard?hazard={hazard}")
        page.get_by_role("heading", name="隐患责任链条").wait_for()
        settle(page)
        assert page.locator('[data-testid="stAppDeployButton"]').count() == 0  # .streamlit/config.toml
        assert page.get_by_role("button", name="Deploy").count() == 0
        page.get_by_role("tab", name="关系图").click()
        assert page.get_by_role("combobox", name="突出显示").input_value() == "全部责任环节"
        page.locator("[data-testid=stSidebar]").get_by_text("English").click()
        page.get_by_role("heading", name="Hazard").wait_for()
        settle(page)
        page.get_by_role("tab", name="Graph").click()
        assert page.get_by_role("combobox", name="Highlight").input_value() == "Every link"  # not 全部责任环节
        for word in ("Major hazard", "Under rectification"):
            assert page.get_by_text(word, exact=True).count() == 1, word
        assert page.evaluate(CUT_TEXT) == []
        shot(page, "11-hazard-en-1280")
        page.get_by_role("tab", name="Chain").click()
        page.locator('a[href*="official?person="]').first.click()
        page.get_by_role("heading", name="Official").wait_for()
        page.locator("[data-testid=stMetric]").first.wait_for()
        settle(page)
        assert page.evaluate(CUT_TEXT) == []
        shot(page, "12-official-en-1280")
        page.locator("[data-testid=stSidebarNav]").get_by_text("Overview").click()
        page.get_by_role("heading", name="Overview").wait_for()
        page.locator("[data-testid=stMetric]").first.wait_for()
        settle(page)
        assert page.evaluate(CUT_TEXT) == []
        shot(page, "13-overview-en-1280")
    finally:
        context.close()


def test_no_request_leaves_the_machine(server, browser, demo):
    """The product makes no outside request (issue #20, item 6): every page, in both languages, with its
    icons, fonts and graphs, asks only the app's own server (or data:/blob: URLs it built itself)."""
    from urllib.parse import urlsplit

    local = {urlsplit(server).netloc}
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1700}, locale="zh-CN")
    context.on("request", lambda r: outside.append(r.url)
               if urlsplit(r.url).scheme not in ("data", "blob", "about") and urlsplit(r.url).netloc not in local
               else None)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    try:
        for path in ("", "explore", "hazard", "official", "gaps", "queries",
                     f"report?incident={demo['incident']['id']}", "data"):
            pg.goto(f"{server}/{path}")
            pg.locator('[data-testid="stApp"]').wait_for()
            settle(pg)
            pg.wait_for_timeout(500)
        pg.goto(f"{server}/explore")
        settle(pg)
        pg.wait_for_timeout(1500)  # the graph's own scripts and images
    finally:
        context.close()
    assert not outside, sorted(set(outside))
