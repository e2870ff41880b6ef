"""The explorer's graph in a real browser (issue #20, "graphs that read"): a county drawn around its centre
with the legend and no label over another, a saved view opened from its URL, a change of view written
back to the URL — and no error in the browser's console, no request leaving the machine.

The server, the browser and the demo store are those of tests/test_app_browser.py (the small demo
province). Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from test_app_browser import (ARGS, CHROMIUM, TIMEOUT, browser, canvas_has_drawing, demo, graph_frame,  # noqa: F401
                              need_chromium, page, server, settle, shot)
from test_app_browser_campaigns import console

pytestmark = pytest.mark.browser

COUNTY = "jurisdictions:C01-K02"
ALT = "所选对象周边的关系图"


def drawn(page):
    """The graph's frame once vis-network has placed its nodes and painted them."""
    frame = graph_frame(page, ALT)
    frame.wait_for_function("() => typeof network !== 'undefined' && Object.keys(network.getPositions()).length > 0")
    page.wait_for_timeout(1500)  # let the layout settle before judging the drawing
    assert canvas_has_drawing(frame)
    return frame


# Every pair of nodes whose boxes (the shape and its label: vis-network's getBoundingBox) intersect
OVERLAPS = """() => {
    const ids = network.body.nodeIndices, boxes = ids.map(i => network.getBoundingBox(i)), out = [];
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push([ids[i], ids[j]]);
    }
    return out;
}"""


def test_a_county_reads_around_its_centre(server, page):
    errors = console(page)
    page.goto(f"{server}/explore?entity={COUNTY}")
    page.get_by_role("heading", name="图谱浏览").wait_for()
    frame = drawn(page)
    settle(page)
    shot(page, "10-explore-county")
    legend = frame.locator("#legend")
    assert legend.is_visible()
    text = legend.inner_text()
    for word in ("行政区域", "事故隐患", "生产经营单位", "多个同类对象", "关系：箭头指向", "粗黑边框：中心对象"):
        assert word in text, word
    assert frame.evaluate("() => network.body.nodeIndices.length") >= 15
    assert frame.evaluate(OVERLAPS) == []
    assert not errors, errors


def test_a_saved_view_opens_from_its_url_and_a_change_is_written_back(server, page):
    errors = console(page)
    page.goto(f"{server}/explore?entity={COUNTY}&depth=2&types=jurisdictions,department,posts"
              f"&focus=organizations:C01-K02-EM")
    page.get_by_role("heading", name="图谱浏览").wait_for()
    frame = drawn(page)
    settle(page)
    shot(page, "11-explore-saved-view")
    ids = set(frame.evaluate("() => network.body.nodeIndices"))
    assert {COUNTY, "organizations:C01-K02-EM"} <= ids and len(ids) < 10
    assert "只显示到所选目标的最短路径" in page.inner_text("[data-testid=stMain]")
    page.get_by_text("分组显示").click()  # grouping off: the URL says so
    page.wait_for_function("() => window.location.search.includes('group=0')", timeout=TIMEOUT)
    settle(page)
    view = parse_qs(urlsplit(page.url).query)
    assert view["group"] == ["0"] and view["depth"] == ["2"] and view["focus"] == ["organizations:C01-K02-EM"]
    assert not errors, errors
