"""Many users at once: answers computed once per view and shared, never shown to another view; several app
processes behind nginx.

The app's cached results (the overview's counts and ranking, the gaps, the queries, an official's exposure, the
explorer's drawing, an incident's reporting) live in the server process and are shared by every session. They
are keyed by the dataset's hash and by the user's view — role and scope (``common.BY_VIEW``): two users who
see the same share one computation; a user of another scope gets their own answer, on the real small demo
store, checked against the same answer computed afresh for them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import sqlite3
import urllib.request

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_access import COUNTY, OTHER, PASSWORD, USERS, sign_in
from test_app import APP
from test_app import open_page as page

from accountability.access import User
from accountability.queries import exposure_ranking
from accountability.session import Session
from accountability.ui import hazard_summary
from app_pages import common
from benchmarks.load import run_load, sample_ids, summary, walk
from deploy.launch import deployment, nginx_config

ON = "2026-11-28"
K1, K2 = User("k1", "viewer", COUNTY), User("k2", "viewer", COUNTY)  # one view, two names
A1 = User("a1", "auditor", COUNTY)  # the same scope, another role
O1 = User("o1", "viewer", OTHER)  # another county


@pytest.fixture
def counted(monkeypatch):
    """How many times the overview's counts and ranking are computed (the real functions, counted)."""
    calls = {"summary": [], "ranking": []}

    def summary_of(s, on):
        calls["summary"].append(s.user)
        return hazard_summary(s, on)

    def ranking_of(s, on, jurisdiction):
        calls["ranking"].append(s.user)
        return exposure_ranking(s, on, jurisdiction)

    monkeypatch.setattr(common, "hazard_summary", summary_of)
    monkeypatch.setattr(common, "exposure_ranking", ranking_of)
    st.cache_data.clear()
    common.live.clear()  # a live session other tests opened on this store may hold other rules (reference-v1)
    yield calls
    st.cache_data.clear()
    common.live.clear()


def fresh(store, user: User, what):
    with Session(str(store), readonly=True, user=user) as s:
        return what(s)


def test_one_view_is_computed_once_and_every_other_view_gets_its_own(small_demo_store, counted):
    uri = str(small_demo_store)
    digest = common.live(uri).dataset_hash()
    k1 = common.summary_data(uri, digest, ON, K1)
    k2 = common.summary_data(uri, digest, ON, K2)
    assert k1 == k2 and counted["summary"] == [K1]  # k2 was served k1's answer: same role, same scope
    a1 = common.summary_data(uri, digest, ON, A1)
    o1 = common.summary_data(uri, digest, ON, O1)
    everyone = common.summary_data(uri, digest, ON, User("root", "auditor"))
    assert counted["summary"] == [K1, A1, O1, User("root", "auditor")]
    # each answer is exactly the one computed afresh for that user
    for user, got in ((K1, k1), (A1, a1), (O1, o1), (User("root", "auditor"), everyone)):
        assert got == fresh(small_demo_store, user, lambda s: hazard_summary(s, ON)), user
    assert k1["totals"]["unresolved"] + o1["totals"]["unresolved"] <= everyone["totals"]["unresolved"]
    assert k1["totals"] != o1["totals"] and 0 < k1["totals"]["unresolved"] < everyone["totals"]["unresolved"]
    inside = {r["hazard_id"] for r in k1["overdue"]}
    assert inside and all(h.startswith("H") for h in inside)
    assert not inside & {r["hazard_id"] for r in o1["overdue"]}
    # the ranking too: per (jurisdiction, view); a jurisdiction outside the scope is refused, not served
    r1 = common.ranking_data(uri, digest, ON, COUNTY, K1)
    assert common.ranking_data(uri, digest, ON, COUNTY, K2) == r1 and counted["ranking"] == [K1]
    assert r1 == fresh(small_demo_store, K1, lambda s: exposure_ranking(s, ON, COUNTY))
    from accountability.errors import AccessDenied

    with pytest.raises(AccessDenied):
        common.ranking_data(uri, digest, ON, COUNTY, O1)


def test_an_import_is_a_new_data_version(small_demo, small_demo_store, tmp_path, counted):
    """The dataset's hash is part of every key: after an import (as the Data page does it) the answers are
    computed again, on the new data."""
    import csv

    from accountability.dataset import load

    store = tmp_path / "copy.db"
    shutil.copyfile(small_demo_store, store)
    uri = str(store)
    live = common.live(uri)
    before_hash = live.dataset_hash()
    before = common.summary_data(uri, before_hash, ON, K1)
    changed = tmp_path / "changed"
    shutil.copytree(small_demo, changed)
    with (changed / "hazards.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    closed = [r for r in rows if r["jurisdiction_id"].startswith(COUNTY) and not r["closed_on"]
              and r["found_on"] <= ON][:3]
    assert closed
    for r in closed:
        r["closed_on"], r["status"] = r["found_on"], "closed"  # three of the county's unresolved hazards closed
    with (changed / "hazards.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    live.write(load(changed))
    after_hash = live.dataset_hash()
    assert after_hash != before_hash
    after = common.summary_data(uri, after_hash, ON, K1)
    assert len(counted["summary"]) == 2
    assert after["totals"]["unresolved"] == before["totals"]["unresolved"] - len(closed)
    assert after == fresh(store, K1, lambda s: hazard_summary(s, ON))


# -- the app: two users of different scopes, one server process ------------------------------------------------


def _session(store, monkeypatch) -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store))
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["users"] = {**USERS, "o1": {"password": USERS["k1"]["password"], "role": "viewer", "scope": OTHER}}
    at.session_state["global_as_of"] = dt.date(2026, 11, 28)
    return at


def _overview(at: AppTest) -> tuple[str, list[str]]:
    page(at, "overview")
    metrics = {m.label: m.value for m in at.metric}
    cities = [str(o) for o in at.selectbox(key="ov_scope").options]
    return metrics["未整改隐患"], cities


def test_two_scopes_on_one_server_each_see_their_own_overview(small_demo_store, tmp_path, monkeypatch):
    store = tmp_path / "demo.db"  # a copy: sign-ins are counted with the store
    shutil.copyfile(small_demo_store, store)
    st.cache_data.clear()
    shown = {}
    for name in ("k1", "o1", "k1"):  # k1 again: now from the shared cache, after o1's answer was cached
        at = sign_in(_session(store, monkeypatch), name, PASSWORD)
        shown.setdefault(name, []).append(_overview(at))
    expected = {name: fresh(store, user, lambda s: hazard_summary(s, ON))["totals"]["unresolved"]
                for name, user in (("k1", K1), ("o1", O1))}
    for name, views in shown.items():
        for unresolved, cities in views:
            assert int(re.sub(r"\D", "", unresolved)) == expected[name], (name, unresolved)
    assert shown["k1"][0] == shown["k1"][1] and shown["k1"][0] != shown["o1"][0]
    st.cache_data.clear()


# -- several processes behind nginx -------------------------------------------------------------------------------


def test_nginx_config_is_the_template_filled_in(tmp_path):
    text = nginx_config("127.0.0.1:8500", ["http://127.0.0.1:9001", "http://127.0.0.1:9002"], tmp_path, "ip")
    body = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    assert not any("{{" in line for line in body)
    assert "hash $remote_addr consistent;" in text and "server 127.0.0.1:9001;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    with pytest.raises(ValueError, match="affinity"):
        nginx_config("127.0.0.1:8500", ["http://127.0.0.1:9001"], tmp_path, "sticky")
    with pytest.raises(ValueError, match="no app process"):
        nginx_config("127.0.0.1:8500", [], tmp_path)


@pytest.mark.skipif(shutil.which("nginx") is None and not __import__("os").path.exists("/usr/sbin/nginx"),
                    reason="nginx is not installed (apt-get install nginx)")
def test_two_processes_behind_nginx_serve_sessions_from_several_addresses(small_demo_store, tmp_path):
    users = 4
    walks = [walk(ids, 2, ON) for ids in sample_ids(small_demo_store, ON, users, seed=5)]
    with deployment(small_demo_store, 2, affinity="ip", run_dir=tmp_path / "run") as d:
        with urllib.request.urlopen(d["url"] + "/", timeout=10) as r:  # the page: a browser gets its affinity id
            assert r.status == 200 and any(c.startswith("app_affinity=") for c in r.headers.get_all("Set-Cookie"))
        results, wall = asyncio.run(run_load(d["url"], walks, timeout=60, deadline=120, clients=users))
        log = (d["run_dir"] / "access.log").read_text()
        processes = d["backends"]
    result = summary(results, wall)
    assert result["errors"] == [] and result["requests"] == users * 2
    assert {v.page for r in results for v in r} == {"overview", "hazard"}
    clients = {line.split()[0] for line in log.splitlines() if "/_stcore/stream" in line}
    assert clients == {f"127.0.0.{i}" for i in range(1, users + 1)}
    assert len(processes) == 2 and len(set(processes)) == 2


@pytest.mark.skipif(shutil.which("nginx") is None and not __import__("os").path.exists("/usr/sbin/nginx"),
                    reason="nginx is not installed (apt-get install nginx)")
def test_a_browser_uses_the_app_through_nginx(small_demo_store, tmp_path):
    """Chromium through the proxy: the page, its WebSocket (Origin and Host agree) and the affinity cookie."""
    from test_app_browser import ARGS, CHROMIUM, need_chromium

    need_chromium()
    from playwright.sync_api import sync_playwright

    db = sqlite3.connect(small_demo_store)
    hazard = db.execute("SELECT id FROM hazards ORDER BY id").fetchone()[0]
    db.close()
    with deployment(small_demo_store, 2, run_dir=tmp_path / "run") as d, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{d['url'].replace('127.0.0.1', 'localhost')}/hazard?as_of={ON}&hazard={hazard}")
            page.get_by_text(hazard).first.wait_for(timeout=60_000)  # drawn from the session's WebSocket
            cookies = {c["name"] for c in page.context.cookies()}
        finally:
            browser.close()
        log = (d["run_dir"] / "access.log").read_text()
    assert "app_affinity" in cookies
    assert re.search(r'"GET /_stcore/stream HTTP/1.1" 101 ', log), log[-2000:]
