"""Load: twenty people using the explorer at once keep being served, without errors.

A real ``streamlit run`` server on the small demo province; twenty sessions speak the app's own WebSocket
protocol (``benchmarks.load``: what a browser sends and receives, without drawing), each walking eight pages
at once with the others. Bounded: loopback only, a deadline for the whole load. The province-scale figures
come from ``python -m benchmarks.load`` (see the README).
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from benchmarks.load import Session, run_load, sample_ids, streamlit_server, summary, walk

ON = "2026-11-28"
USERS, PAGES = 20, 8


@pytest.fixture(scope="module")
def server(small_demo_store, tmp_path_factory):
    with streamlit_server(small_demo_store, tmp_path_factory.mktemp("load-log")) as url:
        yield url


def test_twenty_concurrent_sessions_are_served_without_errors(server, small_demo_store):
    walks = [walk(ids, PAGES, ON) for ids in sample_ids(small_demo_store, ON, USERS, seed=3)]
    results, wall = asyncio.run(run_load(server, walks, timeout=60, deadline=240, ramp=1.0))
    result = summary(results, wall)
    assert result["errors"] == [], result["errors"]
    assert result["requests"] == USERS * PAGES and all(len(r) == PAGES for r in results)
    # every page showed what was asked for, not just "something"
    for steps, visits in zip(walks, results):
        for (page, params), visit in zip(steps, visits):
            assert visit.page == page and visit.texts, (page, params)
            shown = "\n".join(visit.texts)
            if page == "hazard":
                assert params["hazard"] in shown, (params, shown[:300])
            if page == "report":
                assert params["incident"] in shown or "事故" in shown
    slowest = max(r["max"] for r in result["pages"])
    assert slowest < 60


def test_a_failing_page_is_counted_as_an_error(server, small_demo_store):
    """The load generator can tell: a page that shows an error box, and one that does not exist."""
    db = sqlite3.connect(small_demo_store)
    hazard = db.execute("SELECT id FROM hazards ORDER BY id").fetchone()[0]
    db.close()

    async def go():
        session = Session(server, timeout=30)
        await session.open()
        try:
            return [await session.visit("hazard", hazard=hazard, as_of=ON),
                    await session.visit("hazard", hazard="NO-SUCH-HAZARD", as_of=ON),
                    await session.visit("no-such-page")]
        finally:
            await session.close()

    good, missing, nowhere = asyncio.run(go())
    assert good.error is None and hazard in "\n".join(good.texts)
    assert missing.error and "NO-SUCH-HAZARD" in missing.error
    assert nowhere.error and "page not found" in nowhere.error
