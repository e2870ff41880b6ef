"""Access by jurisdiction (``accountability.access``): a county user sees that county's subtree only — on the
command line, in the library, in the queries and in every page of the app — and roles limit what they do.

Everything runs on the small demo province (two cities, two counties each) in a real SQLite file. The users:

- ``k1``: viewer scoped to county C01-K01;  ``a1``: auditor scoped to C01-K01;
- ``root``: auditor of the whole store;      ``boss``: admin of the whole store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest
from test_app import APP, texts
from test_app import open_page as page

from accountability import graphview, names, queries, ui
from accountability.access import (
    Account,
    User,
    authenticate,
    configured_users,
    hash_password,
    parse_users,
    users_from_file,
    verify_password,
)
from accountability.cli import main
from accountability.errors import AccessDenied, UsageError
from accountability.session import Session

COUNTY, OTHER = "C01-K01", "C02-K01"
PASSWORD = "s3cret-口令"
HASH = hash_password(PASSWORD)
USERS = {
    "k1": {"password": HASH, "role": "viewer", "scope": COUNTY},
    "a1": {"password": HASH, "role": "auditor", "scope": COUNTY},
    "root": {"password": HASH, "role": "auditor"},
    "boss": {"password": HASH, "role": "admin"},
}


def toml(users: dict) -> str:
    lines = []
    for name, spec in users.items():
        lines.append(f"[users.{name}]")
        lines += [f'{k} = "{v}"' for k, v in spec.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True, scope="module")
def reference_v1():
    """The scoping expectations of this module were worked out under reference-v1 (the default is v2):
    sessions, commands and the app here use v1."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
        yield


@pytest.fixture(scope="module")
def users_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    path.write_text(toml(USERS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def facts(small_demo_store) -> dict:
    """What the store holds, read straight from SQLite (not through the code under test)."""
    import sqlite3

    db = sqlite3.connect(small_demo_store)
    inside = {r[0] for r in db.execute("SELECT id FROM jurisdictions WHERE id = ? OR id LIKE ?", (COUNTY, COUNTY + "-%"))}
    villages = {r[0] for r in db.execute("SELECT id FROM jurisdictions WHERE level = 'village'")}
    hazards = dict(db.execute("SELECT id, jurisdiction_id FROM hazards ORDER BY id"))
    incidents = dict(db.execute("SELECT id, jurisdiction_id FROM incidents ORDER BY id"))
    person_places = db.execute(
        "SELECT t.person_id, o.jurisdiction_id FROM tenures t JOIN posts p ON p.id = t.post_id "
        "JOIN organizations o ON o.id = p.organization_id").fetchall()
    people_in = {p for p, j in person_places if j in inside}
    people_out = {p for p, j in person_places} - people_in
    orgs = dict(db.execute("SELECT id, jurisdiction_id FROM organizations"))
    db.close()
    return {
        "inside": inside, "inside_to_townships": inside - villages,
        "hazard_in": next(h for h, j in hazards.items() if j in inside),
        "hazard_out": next(h for h, j in hazards.items() if j.startswith(OTHER)),
        "incident_in": next((i for i, j in incidents.items() if j in inside), None),
        "incident_out": next(i for i, j in incidents.items() if j not in inside),
        "person_in": min(people_in), "person_out": min(people_out),
        "org_out": next(o for o, j in sorted(orgs.items()) if j.startswith(OTHER)),
        "hazards": hazards,
    }


def run(store: Path, users_file: Path, user: str | None, *args: str, password: str = PASSWORD):
    env = {"ACCOUNTABILITY_USERS": str(users_file), "ACCOUNTABILITY_STORE": str(store),
           "ACCOUNTABILITY_USER": user or "", "ACCOUNTABILITY_PASSWORD": password}
    return CliRunner().invoke(main, list(args), env=env)


# -- passwords and the users table ------------------------------------------------------------------------------


def test_a_password_hash_is_salted_and_checked_in_constant_form():
    again = hash_password(PASSWORD)
    assert again != HASH and again.startswith("scrypt$") and PASSWORD not in again
    assert verify_password(PASSWORD, HASH) and verify_password(PASSWORD, again)
    assert not verify_password("s3cret", HASH) and not verify_password("", HASH)
    for broken in ("", "plain-password", "scrypt$1$8$1$AAAA$BBBB", HASH[:-20], "scrypt$16384$8$1$!!$??", None):
        assert not verify_password(PASSWORD, broken)
    with pytest.raises(UsageError):
        hash_password("")


@pytest.mark.parametrize("spec, problem", [
    ({"password": "hunter2", "role": "viewer"}, "password must be a hash"),
    ({"password": HASH, "role": "god"}, "role must be one of viewer, auditor, admin"),
    ({"password": HASH, "role": "viewer", "scope": 3}, "scope must be a jurisdiction id"),
    ({"password": HASH, "role": "viewer", "scopes": "C01"}, "unknown key(s) scopes"),
    ("viewer", "must be a table"),
])
def test_a_bad_users_table_names_the_user_and_the_problem(spec, problem):
    with pytest.raises(UsageError) as info:
        parse_users({"ok": USERS["k1"], "bad\nuser": spec}, "users.toml")
    assert problem in str(info.value) and "users.toml: users.bad" in str(info.value)


def test_a_users_file_that_is_not_toml_or_absent_is_an_error_not_open_access(tmp_path, monkeypatch):
    bad = tmp_path / "users.toml"
    bad.write_text("[users.k1\npassword = ", encoding="utf-8")
    with pytest.raises(UsageError, match="not a TOML file"):
        users_from_file(bad)
    monkeypatch.setenv("ACCOUNTABILITY_USERS", str(tmp_path / "absent.toml"))
    with pytest.raises(UsageError, match="cannot read the users file"):
        configured_users()
    monkeypatch.delenv("ACCOUNTABILITY_USERS")
    assert configured_users() is None  # not configured: access control is off


def test_authentication_says_the_same_for_an_unknown_user_and_a_wrong_password():
    accounts = parse_users(USERS, "t")
    assert authenticate(accounts, "k1", PASSWORD) == User("k1", "viewer", COUNTY)
    messages = set()
    for name, password in (("k1", "wrong"), ("nobody", PASSWORD), ("", ""), (None, None)):
        with pytest.raises(AccessDenied) as info:
            authenticate(accounts, name, password)
        messages.add(str(info.value))
    assert messages == {"access denied: unknown user or wrong password"}


def test_roles_grow_and_a_scope_removes_what_cannot_be_cut_to_a_subtree():
    viewer, auditor, admin = User("v", "viewer", COUNTY), User("a", "auditor", COUNTY), User("r", "admin")
    assert viewer.may("view") and not viewer.may("query") and not viewer.may("export")
    assert auditor.may("query") and auditor.may("export") and not auditor.may("raw") and not auditor.may("import")
    assert admin.may("raw") and admin.may("import")
    assert not User("s", "admin", COUNTY).may("import")
    with pytest.raises(AccessDenied, match="may not run raw SQL or Cypher"):
        auditor.require("raw")


# -- the library: one scope for every way in -------------------------------------------------------------------


@pytest.fixture
def county(small_demo_store):
    with Session(str(small_demo_store), readonly=True, user=User("a1", "auditor", COUNTY)) as s:
        yield s


def test_a_scoped_session_reaches_its_subtree_only(county, facts):
    assert county.scope.jurisdictions == facts["inside"]
    assert county.trace(facts["hazard_in"]).hazard_id == facts["hazard_in"]
    for call in (lambda: county.trace(facts["hazard_out"]), lambda: county.incident(facts["incident_out"]),
                 lambda: county.check("people", facts["person_out"]),
                 lambda: county.check("organizations", facts["org_out"]),
                 lambda: county.check("jurisdictions", OTHER)):
        with pytest.raises(AccessDenied, match="outside the jurisdiction of user a1"):
            call()
    county.check("people", facts["person_in"])
    chains = list(county.trace_all())
    assert chains and all(facts["hazards"][c.hazard_id] in facts["inside"] for c in chains)


def test_every_chain_in_scope_is_the_same_as_the_unscoped_one(county, small_demo_store, facts):
    with Session(str(small_demo_store), readonly=True) as everyone:
        whole = {c.hazard_id: c.json(everyone.ruleset) for c in everyone.trace_all()}
    scoped = {c.hazard_id: c.json(county.ruleset) for c in county.trace_all()}
    expected = {h for h in whole if facts["hazards"][h] in facts["inside"]}
    assert set(scoped) == expected and len(expected) < len(whole)
    assert all(scoped[h] == whole[h] for h in scoped)  # the upward links stay: a chain is shown whole


def test_search_explore_summary_and_people_stay_inside(county, facts):
    found = county.search("C0", limit=500)
    assert found and all(county.visible(r["type"], r["id"]) for r in found)
    assert not any(r["id"].startswith(OTHER) for r in found)
    hood = graphview.neighbourhood(county, f"jurisdictions:{COUNTY}", names.Labels(county, "en"), "2026-11-28", depth=2)
    drawn = {hood.graph.nodes[n]["id"]: hood.graph.nodes[n]["table"] for n in hood.graph}
    assert "C01" not in drawn and all(county.visible(t, i) for i, t in drawn.items())
    with pytest.raises(AccessDenied):
        graphview.neighbourhood(county, f"organizations:{facts['org_out']}", names.Labels(county, "en"), "2026-11-28")
    summary = ui.hazard_summary(county, "2026-11-28")
    assert [r["jurisdiction_id"] for r in summary["by_city"]] == [COUNTY]
    assert summary["totals"]["unresolved"] == sum(1 for _ in county.trace_all())
    assert all(t["jurisdiction_id"] in facts["inside"] for t in ui.tenures_of_person(county, facts["person_in"]))


@pytest.mark.parametrize("name, params", [
    ("overdue-hazards", {}), ("official-exposure", {}), ("regulatory-gaps", {}), ("handover-risk", {}),
    ("unescalated-major", {}), ("who-held", {"role": "government_head"}),
])
def test_queries_default_to_the_users_subtree(county, facts, name, params):
    with queries.run(name, county, **params) as result:
        rows = list(result)
    places = {r.get("jurisdiction_id") for r in rows} - {None}
    assert places <= facts["inside"], places - facts["inside"]
    hazards = {r["hazard_id"] for r in rows if r.get("hazard_id")}
    assert all(facts["hazards"][h] in facts["inside"] for h in hazards)


@pytest.mark.parametrize("params", [
    {"jurisdiction": OTHER}, {"jurisdiction": "C01"}, {"person": "OUT"},
])
def test_a_query_naming_anything_outside_is_refused(county, facts, params):
    name = "official-exposure"
    params = {k: facts["person_out"] if v == "OUT" else v for k, v in params.items()}
    with pytest.raises(AccessDenied):
        queries.run(name, county, **params)
    with pytest.raises(AccessDenied):
        queries.run("chain", county, hazard=facts["hazard_out"])


# -- the command line -------------------------------------------------------------------------------------------


def test_cli_needs_a_user_when_access_control_is_on(small_demo_store, users_file, facts):
    for user, password in ((None, PASSWORD), ("k1", "wrong"), ("ghost", PASSWORD)):
        result = run(small_demo_store, users_file, user, "trace", facts["hazard_in"], password=password)
        assert result.exit_code == 3 and result.output.startswith("error: access denied"), result.output
    ok = run(small_demo_store, users_file, "k1", "trace", facts["hazard_in"], "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["hazard_id"] == facts["hazard_in"]


@pytest.mark.parametrize("user, args, allowed", [
    ("k1", ["trace", "{hazard_out}"], False),
    ("k1", ["trace", "--all"], False),                       # a viewer does not export
    ("k1", ["query", "overdue-hazards"], False),
    ("k1", ["incident", "{incident_out}"], False),
    ("a1", ["query", "overdue-hazards", "--param", f"jurisdiction={OTHER}"], False),
    ("a1", ["query", "who-held", "--param", "post={post_out}"], False),
    ("a1", ["report", "{incident_out}", "-o", "{tmp}/r.md"], False),
    ("a1", ["sql", "SELECT count(*) FROM hazards"], False),  # raw SQL cannot be scoped
    ("a1", ["audit", "log"], False),
    ("a1", ["import", "{demo}"], False),
    ("root", ["import", "{demo}"], False),                   # an auditor does not import
    ("root", ["sql", "SELECT count(*) AS n FROM hazards", "--format", "json"], True),
    ("root", ["trace", "{hazard_out}"], True),
    ("boss", ["audit", "log"], True),
])
def test_cli_refuses_what_role_and_scope_do_not_reach(small_demo_store, small_demo, users_file, facts, tmp_path,
                                                      user, args, allowed):
    import sqlite3

    db = sqlite3.connect(small_demo_store)
    post_out = db.execute("SELECT p.id FROM posts p JOIN organizations o ON o.id = p.organization_id "
                          "WHERE o.jurisdiction_id = ?", (OTHER,)).fetchone()[0]
    before = db.execute("SELECT count(*), (SELECT value FROM meta WHERE key = 'dataset_hash') FROM hazards").fetchone()
    db.close()
    values = {**facts, "post_out": post_out, "tmp": tmp_path, "demo": small_demo}
    result = run(small_demo_store, users_file, user, *[a.format(**values) for a in args])
    if allowed:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 3, result.output
        assert result.output.startswith("error: access denied:") and result.output.count("\n") == 1
        assert facts["hazard_out"] not in result.output.replace(args[1].format(**values), "")
    assert not (tmp_path / "r.md").exists() or allowed
    db = sqlite3.connect(small_demo_store)
    assert db.execute("SELECT count(*), (SELECT value FROM meta WHERE key = 'dataset_hash') FROM hazards"
                      ).fetchone() == before
    db.close()


def test_a_report_names_who_generated_it(county, facts):
    from accountability.reports import build_report

    if facts["incident_in"] is None:
        pytest.skip("no incident in the county")
    report = build_report(county, facts["incident_in"], "en")
    assert report.generated_by == f"a1 ({COUNTY})" and report.footer.endswith(f"· by a1 ({COUNTY})")


def test_a_scoped_auditors_export_holds_their_hazards_only(small_demo_store, users_file, facts):
    result = run(small_demo_store, users_file, "a1", "trace", "--all", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["hazard_id"] for line in result.output.splitlines()]
    assert ids and all(facts["hazards"][h] in facts["inside"] for h in ids)
    everyone = run(small_demo_store, users_file, "root", "trace", "--all", "--format", "jsonl")
    all_ids = [json.loads(line)["hazard_id"] for line in everyone.output.splitlines()]
    assert ids == [h for h in all_ids if facts["hazards"][h] in facts["inside"]]


def test_users_hash_password_and_list(users_file, monkeypatch):
    out = CliRunner().invoke(main, ["users", "hash-password"], input="abc\n")
    assert out.exit_code == 0 and verify_password("abc", out.output.strip())
    listed = CliRunner().invoke(main, ["users", "list", "--format", "json"],
                                env={"ACCOUNTABILITY_USERS": str(users_file)})
    assert listed.exit_code == 0 and HASH not in listed.output
    assert {"user": "k1", "role": "viewer", "scope": COUNTY} in json.loads(listed.output)


# -- the app ---------------------------------------------------------------------------------------------------


@pytest.fixture
def app(small_demo_store, tmp_path, monkeypatch):
    # a copy of the store per test: failed sign-ins are counted with the store, and a test that locks k1
    # must not lock it for the next one
    store = tmp_path / "demo.db"
    shutil.copyfile(small_demo_store, store)
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store))
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    return browser_session()


def browser_session() -> AppTest:
    """The app as a new browser session (or a reloaded page) sees it."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["users"] = USERS
    at.session_state["global_as_of"] = dt.date(2026, 11, 28)
    return at


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.run()
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_app_asks_for_a_login_and_shows_nothing_before(app, facts):
    app.query_params["hazard"] = facts["hazard_in"]
    app.run()
    assert [t.value for t in app.title] == ["登录"] and not app.metric and not app.dataframe
    sign_in(app, "k1", "wrong")
    assert "用户名或密码错误" in app.error[0].value and "global_user" not in app.session_state
    sign_in(app, "k1")
    assert app.session_state["global_user"] == User("k1", "viewer", COUNTY)
    assert any(COUNTY in c.value and "k1" in c.value for c in app.sidebar.caption)


def test_repeated_wrong_passwords_lock_the_login_for_a_while(app):
    for _ in range(5):
        sign_in(app, "k1", "wrong")
    sign_in(app, "k1")  # the right password, too late
    assert "global_user" not in app.session_state and "尝试次数过多" in app.error[0].value


@pytest.mark.parametrize("name, params", [
    ("hazard", {"hazard": "{hazard_out}"}),
    ("official", {"person": "{person_out}"}),
    ("explore", {"entity": "organizations:{org_out}"}),
    ("explore", {"entity": f"jurisdictions:{OTHER}"}),
    ("report", {"incident": "{incident_out}"}),
])
def test_a_county_user_cannot_open_another_countys_page(app, facts, name, params):
    sign_in(app, "a1")
    page(app, name, **{k: v.format(**facts) for k, v in params.items()})
    shown = texts(app)
    assert any("access denied" in e.value for e in app.error), shown
    assert not app.get("iframe")  # no graph, no report preview


def test_a_county_users_pages_show_their_county_only(app, facts):
    sign_in(app, "a1")
    page(app, "overview")
    metrics = {m.label: m.value for m in app.metric}
    with Session(str(app_store(app)), readonly=True, user=User("a1", "auditor", COUNTY)) as s:
        expected = sum(1 for _ in s.trace_all("2026-11-28"))
    assert metrics["未整改隐患"] == f"{expected:,}" or metrics["未整改隐患"] == str(expected)
    page(app, "hazard", hazard=facts["hazard_in"])
    assert not app.error and facts["hazard_in"] in texts(app)
    page(app, "hazard")
    listed = [o.split(" · ")[0] for sb in app.selectbox for o in (sb.options or []) if o.startswith("H")]
    assert listed and all(facts["hazards"][h] in facts["inside"] for h in listed)
    page(app, "gaps")
    places = app.selectbox(key="gp_jurisdiction").options
    assert len(places) == 1 + len(facts["inside_to_townships"])  # "all" (of the county), the county, its townships
    page(app, "report")
    offered = " ".join(o for sb in app.selectbox for o in (sb.options or []))
    assert f"({facts['incident_in']})" in offered and f"({facts['incident_out']})" not in offered


def app_store(at: AppTest) -> str:
    import os

    return os.environ["ACCOUNTABILITY_STORE"]


def test_roles_decide_which_pages_and_downloads_exist(app, facts):
    sign_in(app, "k1")  # a viewer: no queries page, no data page, no downloads
    for name in ("queries", "data"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            page(app, name)
    page(app, "gaps")
    assert app.dataframe and not app.get("download_button")
    page(app, "report", incident=facts["incident_in"])
    assert not app.get("download_button")
    sign_in(app.session_state.__setitem__("global_user", None) or app, "root")  # an auditor: queries, downloads
    page(app, "queries")
    assert not app.error and app.title[0].value == "查询"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        page(app, "data")
    page(app, "gaps")
    assert app.get("download_button")


def test_a_broken_users_configuration_stops_the_app(small_demo_store, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(small_demo_store))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["users"] = {"k1": {"password": "plain", "role": "viewer"}}
    at.run()
    assert not at.exception
    assert "访问控制配置有误" in at.error[0].value and "password must be a hash" in at.error[0].value
    assert not at.metric


def test_without_users_the_app_is_open_as_before(small_demo_store, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(small_demo_store))
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["global_as_of"] = dt.date(2026, 11, 28)
    at.run()
    assert not at.exception and at.metric and at.title[0].value != "登录"


def test_a_users_file_reads_every_account(users_file):
    accounts = users_from_file(users_file)
    assert set(accounts) == set(USERS) and isinstance(accounts["k1"], Account)
    assert accounts["root"].user == User("root", "auditor", None)


# -- every store: the scope is decided over the store interface ---------------------------------------------------


def test_a_scope_sees_the_same_on_every_store(any_store, small_demo, small_demo_store, facts):
    from accountability.dataset import load

    any_store.write(load(small_demo))
    user = User("a1", "auditor", COUNTY)
    with Session(str(small_demo_store), readonly=True, user=user) as reference:
        expected = [c.json(reference.ruleset) for c in reference.trace_all()]
    s = Session(any_store, user=user)
    assert [c.json(s.ruleset) for c in s.trace_all()] == expected
    for table, inside, outside in (("people", facts["person_in"], facts["person_out"]),
                                   ("hazards", facts["hazard_in"], facts["hazard_out"]),
                                   ("jurisdictions", COUNTY, OTHER)):
        assert s.visible(table, inside) and not s.visible(table, outside), table
    with pytest.raises(AccessDenied):
        s.trace(facts["hazard_out"])


# -- what the data links does not widen a scope (#19 item 4) ----------------------------------------------------

SCOPED_K = {"kk": {"password": HASH, "role": "auditor", "scope": "K"}, "all": {"password": HASH, "role": "auditor"}}
MANY = 600  # more matches outside the scope than a search ever took before filtering


@pytest.fixture(scope="module")
def linked(tmp_path_factory) -> dict:
    """The hand-made scenario: incident A1 in township T (county K) linked to H1 (in T) and to H9, a hazard of
    the neighbouring county K2 found earlier; and MANY hazards in K2 whose description matches H7's in K."""
    import scenario

    from accountability.dataset import load
    from accountability.stores.sqlite import SQLiteStore

    folder = tmp_path_factory.mktemp("linked")
    data = scenario.base()
    data["hazards"] += [scenario.hazard("H9", "tourism", "K2", found_on="2025-06-01", deadline="2025-07-01"),
                        scenario.hazard("H7", "construction", "V", "E3")]
    data["hazards"] += [scenario.hazard(f"H0{i:03d}", "tourism", "K2") for i in range(MANY)]
    for h in data["hazards"]:
        if h["id"] == "H7" or h["id"].startswith("H0"):
            h["description"] = "脚手架坍塌风险"
    data["incidents"] = [{"id": "A1", "title": "青石燃气爆炸事故", "occurred_on": "2026-05-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 2,
                          "direct_loss_yuan": 5_000_000, "hazard_ids": "H1;H9"}]
    db = folder / "linked.db"
    with SQLiteStore(db) as store:
        store.write(load(scenario.write(data, folder)))
    users = folder / "users.toml"
    users.write_text(toml(SCOPED_K), encoding="utf-8")
    return {"store": db, "users": users}


def test_an_incidents_hazard_outside_the_scope_is_withheld_from_its_chain(linked):
    scoped = run(linked["store"], linked["users"], "kk", "incident", "A1", "--format", "json")
    everyone = run(linked["store"], linked["users"], "all", "incident", "A1", "--format", "json")
    assert scoped.exit_code == 0 and everyone.exit_code == 0, scoped.output + everyone.output
    mine, whole = json.loads(scoped.stdout), json.loads(everyone.stdout)
    assert "withheld_hazards" not in whole and any(link["post_id"].startswith("K2-") for link in whole["links"])
    assert whole["window"]["start"] == "2025-06-01"  # H9, found first
    assert mine["withheld_hazards"] == 1
    assert not any(link["post_id"].startswith("K2-") for link in mine["links"])
    assert mine["window"]["start"] == "2026-01-01"  # H1's: nothing of H9 shows, not even its date
    assert "H9" not in scoped.stdout and "K2" not in scoped.stdout
    table = run(linked["store"], linked["users"], "kk", "incident", "A1")
    assert "1 linked hazard(s) outside your jurisdiction withheld" in table.stdout and "H9" not in table.stdout


def _report_text(path: Path, fmt: str) -> str:
    if fmt == "docx":
        import docx

        doc = docx.Document(str(path))
        cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells)
    if fmt == "pdf":
        import shutil
        import subprocess

        if not shutil.which("pdftotext"):
            pytest.skip("pdftotext (poppler-utils) is not installed")
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["md", "html", "docx", "pdf"])
def test_an_incident_report_withholds_the_hazards_outside_the_scope(linked, tmp_path, fmt):
    texts_ = {}
    for user in ("kk", "all"):
        out = tmp_path / f"{user}.{fmt}"
        result = run(linked["store"], linked["users"], user, "report", "A1", "--format", fmt, "-o", str(out))
        assert result.exit_code == 0, result.output
        texts_[user] = re.sub(r"\s+", "", _report_text(out, fmt))
    assert "H9" in texts_["all"] and "西山县" in texts_["all"]  # the other county's hazard and its leaders
    assert "H9" not in texts_["kk"] and "西山县" not in texts_["kk"]
    assert "另有1项关联隐患不在您的管辖范围内" in texts_["kk"] and "另有" not in texts_["all"]
    assert "H1" in texts_["kk"]


def test_a_scoped_search_finds_what_is_in_scope_behind_many_matches_outside(linked):
    from accountability.stores.sqlite import SQLiteStore

    with SQLiteStore(linked["store"], readonly=True) as store:
        assert len(store.search("脚手架坍塌", limit=MANY + 1)) == MANY + 1  # H7 comes after H0000 … H0599
    with Session(str(linked["store"]), readonly=True, user=User("kk", "auditor", "K")) as s:
        for table in ("hazards", None):
            assert [r["id"] for r in s.search("脚手架坍塌", table)] == ["H7"], table
        assert [r["id"] for r in s.search("西山县")] == []  # K2 and its posts lie outside
    with Session(str(linked["store"]), readonly=True, user=User("k2", "auditor", "K2")) as s:
        found = s.search("脚手架坍塌", "hazards", limit=50)
        assert len(found) == 50 and all(r["id"].startswith("H0") for r in found)


# -- a scope that names no jurisdiction of the store (#19 item 9) -------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_scope_that_is_not_a_jurisdiction_gets_a_message_on_every_page(app, lang):
    app.secrets["users"] = {**USERS, "lost": {"password": HASH, "role": "auditor", "scope": "C09-K99"}}
    app.session_state["global_lang"] = lang
    sign_in(app, "lost")  # the overview runs first: a message, no traceback
    word = {"zh": "访问被拒绝", "en": "Access denied"}[lang]
    for name in ("overview", "explore", "hazard", "official", "gaps", "queries", "report"):
        page(app, name)
        assert any(word in e.value and "C09-K99" in e.value for e in app.error), (name, texts(app))
        assert not app.metric and not app.dataframe and not app.get("iframe")


# -- failed sign-ins lock a name, wherever it is tried (#19 items 1 and 2) -----------------------------------------


def lockout_facts(uri: str, name: str):
    """The record the store keeps for ``name``, read through a log of its own (another connection)."""
    from accountability.lockout import key, open_log

    log = open_log(uri)
    try:
        return log.read(key("name", name))
    finally:
        log.close()


def attempt(uri: str, name: str, password: str, address: str | None = None) -> str:
    """One sign-in at the store ``uri``: "ok", "denied" (the password was checked) or "locked" (it was not)."""
    from accountability.access import sign_in
    from accountability.lockout import TooManyAttempts

    try:
        sign_in(parse_users(USERS, "t"), name, password, uri, address)
        return "ok"
    except TooManyAttempts:
        return "locked"
    except AccessDenied:
        return "denied"


def test_an_unknown_name_costs_as_much_as_a_wrong_password():
    """Timing must not tell which names exist: both cost one scrypt run of access.py's parameters."""
    import statistics
    import time

    accounts = parse_users({"k1": USERS["k1"]}, "t")
    spent: dict[str, list[float]] = {"ghost": [], "k1": []}
    for _ in range(15):  # interleaved, so that the machine's load weighs on both alike
        for name, times in spent.items():
            start = time.perf_counter()
            with pytest.raises(AccessDenied):
                authenticate(accounts, name, "wrong")
            times.append(time.perf_counter() - start)
    unknown, wrong = statistics.median(spent["ghost"]), statistics.median(spent["k1"])
    assert abs(unknown - wrong) < 0.25 * min(unknown, wrong), (unknown, wrong)


def test_a_lock_is_kept_with_the_store_and_refuses_even_the_right_password(any_store):
    import time

    uri = any_store.uri
    before = any_store.meta(), list(any_store.audit_entries())
    assert [attempt(uri, "k1", "wrong") for _ in range(5)] == ["denied"] * 5
    assert attempt(uri, "k1", PASSWORD) == "locked"  # the right password, refused unchecked
    record = lockout_facts(uri, "k1")  # kept with the store: every connection, process and restart sees it
    assert record.locked_until - time.time() == pytest.approx(900, abs=60)
    assert attempt(uri, "root", PASSWORD) == "ok"  # a lock is per name
    assert (any_store.meta(), list(any_store.audit_entries())) == before  # beside the data, not in it


def test_unknown_names_lock_the_same_way(any_store):
    from accountability.access import sign_in

    uri = any_store.uri
    known = [attempt(uri, "k1", "wrong") for _ in range(6)]
    unknown = [attempt(uri, "nobody", "wrong") for _ in range(6)]
    assert known == unknown == ["denied"] * 5 + ["locked"]
    messages = set()
    for name in ("k1", "nobody"):
        with pytest.raises(AccessDenied) as info:
            sign_in(parse_users(USERS, "t"), name, PASSWORD, uri)
        messages.add(str(info.value))
    assert messages == {"access denied: too many failed sign-ins; try again in 15 minute(s)"}


def test_a_success_clears_the_count(any_store):
    uri = any_store.uri
    assert [attempt(uri, "a1", "wrong") for _ in range(4)] + [attempt(uri, "a1", PASSWORD)] == ["denied"] * 4 + ["ok"]
    assert lockout_facts(uri, "a1") is None
    assert [attempt(uri, "a1", "wrong") for _ in range(4)] + [attempt(uri, "a1", PASSWORD)] == ["denied"] * 4 + ["ok"]


def test_parallel_attempts_cannot_exceed_the_limit(any_store):
    """Twelve guesses sent at once: five passwords are checked, seven refused unchecked."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(12)

    def guess(i: int) -> str:
        start.wait()
        return attempt(any_store.uri, "boss", f"guess-{i}")

    with ThreadPoolExecutor(12) as pool:
        outcomes = sorted(pool.map(guess, range(12)))
    assert outcomes == ["denied"] * 5 + ["locked"] * 7
    assert attempt(any_store.uri, "boss", PASSWORD) == "locked"


def test_failures_from_one_address_lock_the_address(any_store, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_LOGIN_ADDRESS_FAILURES", "3")
    uri = any_store.uri
    assert [attempt(uri, name, "wrong", "203.0.113.9") for name in ("k1", "a1", "x")] == ["denied"] * 3
    assert attempt(uri, "root", PASSWORD, "203.0.113.9") == "locked"  # a fourth name, from there
    assert attempt(uri, "root", PASSWORD, "198.51.100.7") == "ok"  # from elsewhere
    monkeypatch.setenv("ACCOUNTABILITY_LOGIN_ADDRESS_FAILURES", "0")  # off: addresses are not counted
    assert attempt(uri, "root", PASSWORD, "203.0.113.9") == "ok"


def test_a_lock_ends_when_its_time_is_up(any_store):
    from accountability.lockout import Lockout, Policy, TooManyAttempts, open_log

    now = [1_000_000.0]
    policy = Policy(failures=2, window=60, lockout=300, address_failures=0)
    with Lockout(open_log(any_store.uri), policy, clock=lambda: now[0]) as lockout:
        for _ in range(2):
            lockout.admit("k1")
        with pytest.raises(TooManyAttempts) as info:
            lockout.admit("k1")
        assert info.value.minutes == 5
        now[0] += 299
        with pytest.raises(TooManyAttempts):
            lockout.admit("k1")
        now[0] += 2
        lockout.admit("k1")  # the lock is over; this attempt counts afresh
        now[0] += 61
        lockout.admit("k1")  # the previous one is out of the window: one failure so far
        lockout.admit("k1")  # the second: checked, and it locks
        with pytest.raises(TooManyAttempts):
            lockout.admit("k1")


def cli_process(store: str, users_file: Path, user: str, password: str, *args: str,
                **env: str) -> subprocess.CompletedProcess:
    """The installed ``accountability`` program in a process of its own."""
    import os
    import sys

    program = Path(sys.executable).with_name("accountability")
    environment = {**os.environ, "ACCOUNTABILITY_USERS": str(users_file), "ACCOUNTABILITY_USER": user,
                   "ACCOUNTABILITY_PASSWORD": password, **env}
    return subprocess.run([str(program), *args, "--store", store], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_a_lock_made_on_the_command_line_holds_in_a_new_process(small_demo_store, users_file, facts, tmp_path):
    store = tmp_path / "demo.db"
    shutil.copyfile(small_demo_store, store)
    for _ in range(5):
        result = run(store, users_file, "k1", "trace", facts["hazard_in"], password="wrong")
        assert result.exit_code == 3 and "wrong password" in result.output, result.output
    again = cli_process(str(store), users_file, "k1", PASSWORD, "trace", facts["hazard_in"])
    assert again.returncode == 3 and "too many failed sign-ins; try again in 15 minute(s)" in again.stderr
    other = cli_process(str(store), users_file, "a1", PASSWORD, "trace", facts["hazard_in"], "--format", "json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["hazard_id"] == facts["hazard_in"]


@pytest.mark.neo4j
def test_a_lock_on_neo4j_holds_for_every_process(neo4j_store, users_file, facts):
    uri = neo4j_store.uri
    assert [attempt(uri, "k1", "wrong") for _ in range(5)] == ["denied"] * 5
    # another process, the command line, counting with the same server: no data needed to be refused
    locked = cli_process(uri, users_file, "k1", PASSWORD, "trace", facts["hazard_in"])
    assert locked.returncode == 3 and "too many failed sign-ins" in locked.stderr, locked.stderr
    with neo4j_store.driver.session(database=neo4j_store.database) as session:
        nodes = session.run("MATCH (s:SignIn) RETURN s._key AS key, labels(s) AS labels").data()
        meta = session.run("MATCH (m:Meta) RETURN count(m) AS n").single()["n"]
    assert len(nodes) == 1 and nodes[0]["labels"] == ["SignIn"] and "k1" not in nodes[0]["key"]
    assert meta == 0  # no Meta, no audit entry: the data is untouched


@pytest.mark.parametrize("variable, value, problem", [
    ("ACCOUNTABILITY_LOGIN_FAILURES", "five", "ACCOUNTABILITY_LOGIN_FAILURES: 'five' is not a whole number"),
    ("ACCOUNTABILITY_LOGIN_FAILURES", "0", "ACCOUNTABILITY_LOGIN_FAILURES must be at least 1"),
    ("ACCOUNTABILITY_LOGIN_WINDOW", "0", "ACCOUNTABILITY_LOGIN_WINDOW must be at least 1"),
    ("ACCOUNTABILITY_LOGIN_WINDOW", "-1", "ACCOUNTABILITY_LOGIN_WINDOW: '-1' must not be negative"),
    ("ACCOUNTABILITY_LOGIN_LOCKOUT", "1.5", "ACCOUNTABILITY_LOGIN_LOCKOUT: '1.5' is not a whole number"),
    ("ACCOUNTABILITY_LOGIN_ADDRESS_FAILURES", "-3", "ACCOUNTABILITY_LOGIN_ADDRESS_FAILURES: '-3' must not be negative"),
])
def test_a_bad_lockout_setting_is_a_usage_error(small_demo_store, users_file, facts, tmp_path, variable, value,
                                                problem):
    store = tmp_path / "demo.db"
    shutil.copyfile(small_demo_store, store)
    env = {"ACCOUNTABILITY_USERS": str(users_file), "ACCOUNTABILITY_STORE": str(store),
           "ACCOUNTABILITY_USER": "k1", "ACCOUNTABILITY_PASSWORD": PASSWORD, variable: value}
    result = CliRunner().invoke(main, ["trace", facts["hazard_in"]], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: invalid sign-in lockout settings:") and problem in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.db"]  # nothing counted, nothing made


def test_a_login_lock_survives_a_page_reload_and_reaches_the_command_line(app, users_file, facts):
    for _ in range(5):
        sign_in(app, "k1", "wrong")
        assert "用户名或密码错误" in app.error[0].value
    reloaded = browser_session()  # a new browser session: the count is the store's, not the page's
    sign_in(reloaded, "k1")
    assert "global_user" not in reloaded.session_state
    assert reloaded.error[0].value == "尝试次数过多，已暂时锁定，请 15 分钟后再试。"
    english = browser_session()
    english.session_state["global_lang"] = "en"
    sign_in(english, "k1")
    assert english.error[0].value == "Too many failed sign-ins: locked for now; try again in 15 minute(s)."
    cli = run(app_store(app), users_file, "k1", "trace", facts["hazard_in"])
    assert cli.exit_code == 3 and "too many failed sign-ins" in cli.output
    sign_in(english, "a1")  # another name signs in
    assert english.session_state["global_user"] == User("a1", "auditor", COUNTY)
