"""The demo province generator: deterministic, plausible, valid under the contract, and shaped so that the
rules engine finds every kind of gap in it — and, under reference-v2, every rule of conduct and assessment."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from accountability.dataset import load
from accountability.demo import SCALES, TABLES, TODAY, generate
from accountability.errors import InvalidDataset
from graph_schema import SCHEMA

ROOT = Path(__file__).resolve().parent.parent


def _load(folder: Path):
    try:
        return load(folder)
    except InvalidDataset as exc:  # pragma: no cover - shows every error when it fails
        print("\n".join(exc.errors[:200]))
        raise


def _rows(folder: Path, table: str) -> list[dict]:
    with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("small")
    started = time.perf_counter()
    counts = generate(out, scale="small", seed=1)
    assert time.perf_counter() - started < 3  # well under a second on a normal machine
    return out, counts


# -- determinism ------------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(small, tmp_path):
    first, _ = small
    again = tmp_path / "again"
    generate(again, scale="small", seed=1)
    assert _files(first) == _files(again)


def test_output_does_not_depend_on_hash_seed(small, tmp_path):
    first, _ = small
    other = tmp_path / "other"
    code = f"from accountability.demo import generate; generate({str(other)!r}, 'small', 1)"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
    assert _files(first) == _files(other)


def test_another_seed_gives_another_province(small, tmp_path):
    first, _ = small
    generate(tmp_path / "seed2", scale="small", seed=2)
    assert _files(first)["hazards.csv"] != _files(tmp_path / "seed2")["hazards.csv"]
    assert _files(first)["people.csv"] != _files(tmp_path / "seed2")["people.csv"]


def test_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown scale"):
        generate(tmp_path, scale="country")


# -- shape and counts ----------------------------------------------------------------------------------------------


def test_headers_are_the_contract_columns(small):
    out, _ = small
    assert set(TABLES) == {t for t, spec in SCHEMA.tables.items() if t != "industries"}
    for table, columns in TABLES.items():
        assert columns == SCHEMA.tables[table].names
        with (out / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
            assert tuple(next(csv.reader(fh))) == columns


def test_counts_match_the_files_and_are_plausible(small):
    out, counts = small
    assert list(counts) == list(TABLES)
    for table in TABLES:
        assert counts[table] == len(_rows(out, table)), table
    scale = SCALES["small"]
    assert counts["hazards"] == scale.hazards == 2000
    assert counts["incidents"] == scale.incidents
    assert 0.5 * counts["hazards"] <= counts["events"] <= 1.2 * counts["hazards"]
    jurs = Counter(r["level"] for r in _rows(out, "jurisdictions"))
    assert (jurs["province"], jurs["city"], jurs["county"], jurs["township"]) == (1, 2, 4, 12)
    orgs = Counter(r["kind"] for r in _rows(out, "organizations") if not r["id"].startswith("G"))  # G: groups
    assert orgs["enterprise"] == 200
    assert orgs["government"] == orgs["party_committee"] == 1 + 2 + 4 + 12
    assert orgs["safety_committee"] == 1 + 2 + 4
    assert orgs["park_committee"] >= 1
    assert counts["people"] >= counts["posts"] * 0.9


def test_ids_are_ascii_and_names_chinese(small):
    out, _ = small
    for table, key in (("jurisdictions", "id"), ("organizations", "id"), ("posts", "id"), ("people", "id"),
                       ("hazards", "id"), ("incidents", "id")):
        for r in _rows(out, table):
            assert r[key].isascii(), r
    assert {r["id"] for r in _rows(out, "jurisdictions") if r["level"] == "province"} == {"P"}
    names = [r["name"] for r in _rows(out, "people")]
    assert all(2 <= len(n) <= 3 and not n.isascii() for n in names)
    orgs = {r["id"]: r["name"] for r in _rows(out, "organizations")}
    assert orgs["P-PC"] == "中共江南省委"
    assert orgs["P-GOV"] == "江南省人民政府"
    assert orgs["P-EM"] == "江南省应急管理厅"
    assert orgs["C01-AWH"].endswith("市安全生产委员会")
    assert orgs["C01-K01-EM"].endswith("应急管理局")


def test_every_level_has_its_bodies_and_posts(small):
    out, _ = small
    orgs = _rows(out, "organizations")
    posts = _rows(out, "posts")
    roles_of = defaultdict(set)
    for p in posts:
        roles_of[p["organization_id"]].add(p["role"])
    by_jur = defaultdict(Counter)
    for o in orgs:
        by_jur[o["jurisdiction_id"]][o["kind"]] += 1
    for j in _rows(out, "jurisdictions"):
        kinds = by_jur[j["id"]]
        if j["level"] in ("province", "city", "county"):
            assert kinds["party_committee"] == kinds["government"] == kinds["safety_committee"] == 1
            assert kinds["department"] >= 7
            assert {"party_secretary", "other"} <= roles_of[f"{j['id']}-PC"]
            assert {"government_head", "executive_deputy_head", "deputy_head"} <= roles_of[f"{j['id']}-GOV"]
            assert roles_of[f"{j['id']}-AWH"] == {"committee_director"}
            assert roles_of[f"{j['id']}-EM"] == {"department_head", "deputy_department_head"}
        elif j["level"] == "township":
            assert set(kinds) - {"enterprise"} == {"party_committee", "government"}
            assert roles_of[f"{j['id']}-GOV"] == {"government_head", "other"}  # other: the safety officer
    comprehensive = [o for o in orgs if o["supervision"] == "comprehensive"]
    assert comprehensive and all(o["industries"] == "hazardous_chemicals;mining;industry_trade" for o in comprehensive)
    ents = [o for o in orgs if o["kind"] == "enterprise"]
    assert all(o["industries"] and ";" not in o["industries"] for o in ents)
    in_park = sum(1 for o in ents if o["parent_id"])
    assert 0.04 * len(ents) <= in_park <= 0.2 * len(ents)
    principals = {p["organization_id"] for p in posts if p["role"] == "enterprise_principal"}
    without = [o for o in ents if o["id"] not in principals]
    assert 1 <= len(without) <= 0.05 * len(ents)


def test_tenures_portfolios_and_moves(small):
    out, _ = small
    tenures = _rows(out, "tenures")
    assert all(t["end"] == "" or t["end"] >= t["start"] for t in tenures)
    assert all(t["start"] <= TODAY for t in tenures)
    assert any(t["acting"] == "true" for t in tenures)
    # every government post is covered from at least three years before today
    earliest = defaultdict(lambda: "9999")
    for t in tenures:
        earliest[t["post_id"]] = min(earliest[t["post_id"]], t["start"])
    gov_posts = [p["id"] for p in _rows(out, "posts") if p["organization_id"].endswith("-GOV")]
    assert all(earliest[p] <= "2023-11-28" for p in gov_posts)
    # people move between posts; the government head also chairs the safety committee
    posts_of = defaultdict(set)
    for t in tenures:
        posts_of[t["person_id"]].add(t["post_id"])
    assert sum(1 for s in posts_of.values() if len(s) > 1) >= 10
    assert posts_of[next(t["person_id"] for t in tenures if t["post_id"] == "P-AWH-DIR")] >= {"P-AWH-DIR", "P-GOV-HEAD"}
    portfolios = _rows(out, "portfolios")
    assert all((p["industry"] == "") != (p["organization_id"] == "") for p in portfolios)
    assert {p["post_id"] for p in portfolios if p["industry"] == "*"} >= {"P-GOV-EXEC", "C01-GOV-EXEC"}
    ended = [p for p in portfolios if p["end"]]
    assert ended, "some portfolio passes from one deputy to another mid-period"


def test_hazards_events_and_incidents_are_plausible(small):
    out, _ = small
    hazards = _rows(out, "hazards")
    orgs = {r["id"]: r for r in _rows(out, "organizations")}
    unresolved = [h for h in hazards if h["status"] != "closed"]
    assert 0.2 <= len(unresolved) / len(hazards) <= 0.32
    assert all(h["closed_on"] == "" for h in unresolved)
    closed = [h for h in hazards if h["status"] == "closed"]
    assert all(h["found_on"] <= h["closed_on"] <= TODAY for h in closed)
    assert all(h["found_on"] < h["deadline"] and h["found_on"] <= TODAY for h in hazards)
    assert "2023-11-01" <= min(h["found_on"] for h in hazards)
    majors = [h for h in hazards if h["level"] == "major"]
    assert 1 <= len(majors) <= 0.02 * len(hazards)
    overdue = [h for h in unresolved if h["deadline"] < TODAY]
    assert overdue and len(overdue) < len(unresolved)
    assert any(h["deadline"] < "2026-08-30" for h in overdue)  # more than 90 days overdue
    for h in hazards:
        if h["organization_id"]:
            org = orgs[h["organization_id"]]
            assert (h["industry"], h["jurisdiction_id"]) == (org["industries"], org["jurisdiction_id"])
    assert any(not h["organization_id"] for h in hazards)
    assert all(h["description"] and not h["description"].isascii() for h in hazards)

    by_id = {h["id"]: h for h in hazards}
    posts = {p["id"]: p for p in _rows(out, "posts")}
    events = _rows(out, "events")
    kinds = Counter(e["kind"] for e in events)
    assert {"found", "inspected", "deadline_extended", "escalated", "rectified", "closed"} <= set(kinds)
    for e in events:
        h = by_id[e["hazard_id"]]
        assert h["found_on"] <= e["on"] <= TODAY
        if e["kind"] == "deadline_extended":
            assert e["deadline"] > h["deadline"]
        if e["kind"] == "escalated":
            assert h["level"] == "major" and posts[e["post_id"]]["role"] == "department_head"
        if e["kind"] == "closed" and h["status"] == "closed":
            assert e["on"] == h["closed_on"]
    escalated = {e["hazard_id"] for e in events if e["kind"] == "escalated"}
    assert 0 < len(escalated) <= len(majors)

    incidents = _rows(out, "incidents")
    assert len(incidents) == 5
    assert all(i["occurred_on"] <= TODAY and "“" in i["title"] and i["title"].endswith("事故") for i in incidents)
    for i in incidents:
        for hid in filter(None, i["hazard_ids"].split(";")):
            assert by_id[hid]["found_on"] < i["occurred_on"]
            assert by_id[hid]["organization_id"] == i["organization_id"]
    assert any(i["hazard_ids"] for i in incidents)
    deaths = {int(i["deaths"]) for i in incidents}
    assert {3, 10, 30} <= deaths  # on the thresholds of 国务院令第493号


def test_today_moves_every_date(tmp_path):
    generate(tmp_path, scale="small", seed=3, today="2025-06-30")
    assert max(h["found_on"] for h in _rows(tmp_path, "hazards")) <= "2025-06-30"
    assert max(t["start"] for t in _rows(tmp_path, "tenures")) <= "2025-06-30"
    assert max(i["occurred_on"] for i in _rows(tmp_path, "incidents")) <= "2025-06-30"
    _load(tmp_path)


# -- validity and fit to the rules --------------------------------------------------------------------------------


def test_small_passes_the_validator(small):
    out, counts = small
    data = _load(out)
    assert {t: n for t, n in data.counts().items() if t in counts} == counts


def test_the_engine_finds_every_kind_of_gap(small, tmp_path):
    from accountability.session import Session
    from accountability.stores.sqlite import SQLiteStore

    out, _ = small
    store = SQLiteStore(tmp_path / "demo.db")
    store.write(_load(out))
    with Session(store, rules="reference-v1") as session:  # the gap counts below are v1's
        gaps: Counter = Counter()
        chains = 0
        for chain in session.trace_all(as_of=TODAY):
            chains += 1
            assert chain.links
            gaps.update(g["kind"] for g in chain.gaps)
        assert chains == sum(1 for h in _rows(out, "hazards") if h["status"] != "closed")
        assert {"no_regulator", "no_portfolio", "no_principal", "vacant_post", "overdue"} <= set(gaps)
        levels = {session.incident(i["id"]).level for i in _rows(out, "incidents")}
        assert {"general", "large", "major", "especially_major"} <= levels


@pytest.mark.slow
def test_county_scale_passes_the_validator(tmp_path):
    started = time.perf_counter()
    counts = generate(tmp_path, scale="county", seed=1)
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert counts["hazards"] == 60_000
    assert 9_000 <= sum(1 for r in _rows(tmp_path, "organizations")
                        if r["kind"] == "enterprise" and r["id"].startswith("E")) <= 10_000
    unresolved = sum(1 for h in _rows(tmp_path, "hazards") if h["status"] != "closed")
    assert unresolved >= 15_000
    data = _load(tmp_path)
    assert data.counts()["hazards"] == 60_000


# -- the records of conduct (contract v2) ----------------------------------------------------------------------


V2_RULES = ("R1a", "R1b", "R1c", "R2b", "R9", "R10", "R11")  # the rules the conduct records bring


def _by(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows}


def _held_on(tenures: list[dict], person: str, on: str) -> set[str]:
    return {t["post_id"] for t in tenures if t["person_id"] == person and t["start"] <= on <= (t["end"] or "9999")}


def test_the_v2_tables_and_columns_are_filled_and_follow_the_seed(small, tmp_path):
    out, counts = small
    for table in ("inspections", "designations", "outcomes"):
        assert counts[table] > 0, table
    hazards = _rows(out, "hazards")
    for column in ("also_industries", "existed_since", "other_organization_ids"):
        assert any(h[column] for h in hazards), column
    assert any(o["controlled_by"] for o in _rows(out, "organizations"))
    incidents = _rows(out, "incidents")
    assert all(i["occurred_at"] for i in incidents)
    assert any(i["also_industries"] for i in incidents) and any(i["investigating_level"] for i in incidents)
    events = _rows(out, "events")
    assert {e["outcome"] for e in events if e["kind"] == "reinspected"} == {"held", "relapsed"}
    assert any(e["kind"] == "order_issued" for e in events)
    generate(tmp_path / "seed2", scale="small", seed=2)
    for table in ("inspections", "designations", "outcomes"):
        assert _files(out)[f"{table}.csv"] != _files(tmp_path / "seed2")[f"{table}.csv"], table


def test_group_enterprises_and_actual_controllers(small):
    out, _ = small
    orgs = _by(_rows(out, "organizations"), "id")
    jurs = _by(_rows(out, "jurisdictions"), "id")
    posts = _rows(out, "posts")
    tenures = _rows(out, "tenures")
    ents = [o for o in orgs.values() if o["kind"] == "enterprise" and o["id"].startswith("E")]
    controlled = [o for o in ents if o["controlled_by"]]
    assert 0.01 * len(ents) <= len(controlled) <= 0.08 * len(ents)
    held = {t["post_id"] for t in tenures}
    for o in controlled:
        group = orgs[o["controlled_by"]]
        assert group["kind"] == "enterprise" and jurs[group["jurisdiction_id"]]["level"] == "city"
        assert f"{group['id']}-GM" in held  # a group with a principal in post (rule 1c)
    controllers = [p for p in posts if p["role"] == "actual_controller"]
    assert 0.01 * len(ents) <= len(controllers) <= 0.06 * len(ents)
    assert all(p["organization_id"] in orgs and p["id"] in held for p in controllers)
    newest = max((t for t in tenures if t["post_id"] == "E000002-AC"), key=lambda t: t["start"])
    assert "2026-10-29" < newest["start"] <= TODAY  # took over days ago: no conditions to perform yet


def test_hazards_name_their_other_industries_their_beginning_and_other_units(small):
    out, _ = small
    hazards = _rows(out, "hazards")
    orgs = _by(_rows(out, "organizations"), "id")
    also = [h for h in hazards if h["also_industries"]]
    assert 0.01 * len(hazards) <= len(also) <= 0.1 * len(hazards)
    assert any(h["industry"] == "urban_gas" and h["also_industries"] == "special_equipment" for h in also)
    assert all(h["also_industries"] != h["industry"] for h in also)
    since = [h for h in hazards if h["existed_since"]]
    assert 0.03 * len(hazards) <= len(since) <= 0.15 * len(hazards)
    assert all(h["existed_since"] < h["found_on"] for h in since)
    others = [h for h in hazards if h["other_organization_ids"]]
    assert 1 <= len(others) <= 0.06 * len(hazards)
    for h in others:
        other = orgs[h["other_organization_ids"]]
        assert other["id"] != h["organization_id"] and other["jurisdiction_id"] == h["jurisdiction_id"]


def test_inspections_orders_and_look_backs_are_plausible(small):
    out, _ = small
    hazards = _by(_rows(out, "hazards"), "id")
    orgs = _by(_rows(out, "organizations"), "id")
    posts = _by(_rows(out, "posts"), "id")
    inspections = _rows(out, "inspections")
    ents = sum(1 for o in orgs.values() if o["kind"] == "enterprise")
    assert 0.5 * ents * 3 <= len(inspections) <= 4 * ents * 3  # about once a year per enterprise, over 3 years
    outcomes = Counter(i["outcome"] for i in inspections)
    assert set(outcomes) == {"no_findings", "hazards_found", "order_issued", "penalty", "suspension"}
    missed = 0
    for i in inspections:
        post = posts[i["post_id"]]
        assert post["role"] in ("department_head", "deputy_department_head")
        assert orgs[post["organization_id"]]["kind"] == "department"
        assert orgs[i["organization_id"]]["kind"] == "enterprise" and i["on"] <= TODAY
        listed = [hazards[h] for h in i["hazard_ids"].split(";") if h]
        assert (i["outcome"] == "no_findings") == (not listed)
        for h in listed:  # what it records is its unit's, registered and not yet closed that day
            assert i["organization_id"] in (h["organization_id"], h["other_organization_ids"])
            assert h["found_on"] <= i["on"] and (not h["closed_on"] or i["on"] <= h["closed_on"])
        missed += any(h["organization_id"] == i["organization_id"] and h["existed_since"]
                      and h["existed_since"] <= i["on"] < h["found_on"] for h in hazards.values())
    assert missed >= 1  # a visit while a hazard existed unrecorded: rule 10
    events = _rows(out, "events")
    for e in events:
        if e["kind"] in ("order_issued", "reinspected"):
            assert posts[e["post_id"]]["role"] in ("department_head", "deputy_department_head")
        assert bool(e["outcome"]) == (e["kind"] == "reinspected")
    signed = {e["hazard_id"] for e in events if e["kind"] == "closed" and e["post_id"]}
    relooked = [e for e in events if e["kind"] == "reinspected"]
    assert relooked and all(e["hazard_id"] in signed and hazards[e["hazard_id"]]["status"] == "closed" and
                            e["on"] > hazards[e["hazard_id"]]["closed_on"] for e in relooked)
    assert 0.05 <= sum(e["outcome"] == "relapsed" for e in relooked) / len(relooked) <= 0.4


def test_designations_and_department_deputies(small):
    out, _ = small
    hazards = _by(_rows(out, "hazards"), "id")
    orgs = _by(_rows(out, "organizations"), "id")
    posts = _by(_rows(out, "posts"), "id")
    jurs = _by(_rows(out, "jurisdictions"), "id")
    designations = _rows(out, "designations")
    supervised = [d for d in designations if d["kind"] == "supervising_leader"]
    majors = [h for h in hazards.values() if h["level"] == "major"]
    assert 0.6 * len(majors) <= len(supervised) <= len(majors)
    for d in supervised:
        post, h = posts[d["post_id"]], hazards[d["target_id"]]
        assert h["level"] == "major" and post["role"] in ("deputy_head", "executive_deputy_head")
        assert jurs[orgs[post["organization_id"]]["jurisdiction_id"]]["level"] in ("city", "county")
        assert h["found_on"] <= d["start"] and d["end"] == h["closed_on"]
    grid = [d for d in designations if d["kind"] == "grid_inspector"]
    in_townships = [o for o in orgs.values()
                    if o["kind"] == "enterprise" and jurs[o["jurisdiction_id"]]["level"] == "township"]
    assert 0.1 * len(in_townships) <= len(grid) <= 0.5 * len(in_townships)
    for d in grid:
        post, unit = posts[d["post_id"]], orgs[d["target_id"]]
        assert unit["kind"] == "enterprise"
        assert orgs[post["organization_id"]]["jurisdiction_id"] == unit["jurisdiction_id"]
        assert jurs[unit["jurisdiction_id"]]["level"] == "township"
    deputies = [p for p in _rows(out, "portfolios") if posts[p["post_id"]]["role"] == "deputy_department_head"]
    assert deputies and {p["industry"] for p in deputies} > {"*"}
    assert all(jurs[orgs[posts[p["post_id"]]["organization_id"]]["jurisdiction_id"]]["level"] in ("city", "county")
               for p in deputies)


def test_incidents_carry_their_time_and_what_the_investigation_decided(small):
    out, _ = small
    incidents = _rows(out, "incidents")
    tenures = _rows(out, "tenures")
    posts = _by(_rows(out, "posts"), "id")
    assert all(i["occurred_at"].startswith(i["occurred_on"] + "T") and len(i["occurred_at"]) == 19
               for i in incidents)
    assert [i["investigating_level"] for i in incidents if i["investigating_level"]] == ["province"]
    outcomes = _rows(out, "outcomes")
    by_incident = defaultdict(list)
    for o in outcomes:
        by_incident[o["incident_id"]].append(o)
        assert o["decided_on"] == "" or o["decided_on"] <= TODAY
    forms = SCHEMA.vocab("outcome_forms")
    for i in incidents:
        decided = by_incident[i["id"]]
        assert any(forms[o["form"]].extra["sanction"] for o in decided)
        assert any(o["form"] == "interview" for o in decided)
        assert len({o["person_id"] for o in decided}) == len(decided)
        roles = set()
        for o in decided:  # each was in post on the day of the accident
            held = _held_on(tenures, o["person_id"], i["occurred_on"])
            assert held, o
            roles |= {posts[p]["role"] for p in held}
        assert "department_head" in roles
        if i["organization_id"]:
            assert "enterprise_principal" in roles
    graver = [len(by_incident[i["id"]]) for i in sorted(incidents, key=lambda i: int(i["deaths"]))]
    assert graver[-1] > graver[0]  # the gravest accident reaches more people


def test_both_rulesets_trace_the_demo_and_only_v2_reads_its_conduct(small, tmp_path):
    from click.testing import CliRunner

    from accountability.cli import main
    from accountability.session import Session
    from accountability.stores.sqlite import SQLiteStore

    out, _ = small
    db = tmp_path / "demo.db"
    with SQLiteStore(db) as store:
        store.write(_load(out))
    with Session(SQLiteStore(db), rules="reference-v2") as session:
        rules: Counter = Counter()
        statuses: Counter = Counter()
        for chain in session.trace_all(as_of=TODAY):
            for link in chain.links:
                rules.update(link.rules)
                statuses.update(h.assessment[0] for h in link.holders)
        assert set(V2_RULES) <= set(rules)
        assert statuses["exempt"] >= 1 and statuses["no_conditions"] >= 1
        assert rules["R10"] < rules["R1"] / 5  # a missed inspection is the exception, not the rule
        decided = {o["incident_id"] for o in _rows(out, "outcomes")}
        for i in _rows(out, "incidents"):
            assert i["id"] in decided
            assert session.incident(i["id"]).links
    # reference-v1 reads none of it: every unresolved hazard, no v2 rule, key or record
    result = CliRunner().invoke(main, ["trace", "--all", "--as-of", TODAY, "--rules", "reference-v1", "--store",
                                       str(db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == sum(1 for h in _rows(out, "hazards") if h["status"] != "closed")
    assert '"evidence"' not in result.output and '"assessment"' not in result.output
    assert not any(f'"{r}"' in result.output for r in V2_RULES)


# -- several provinces (#18) ---------------------------------------------------------------------------------------


def test_provinces_side_by_side(small, tmp_path):
    from accountability.cli.data import DEMO_PROVINCES
    from accountability.demo import PROVINCES

    single, counts = small
    first = tmp_path / "two"
    both = generate(first, scale="small", seed=1, provinces=2)
    generate(tmp_path / "again", scale="small", seed=1, provinces=2)
    assert _files(first) == _files(tmp_path / "again")  # deterministic
    assert not [p for p in first.iterdir() if p.suffix != ".csv"]  # the provinces' own folders are gone
    _load(first)  # one valid dataset
    provinces = [j for j in _rows(first, "jurisdictions") if j["level"] == "province"]
    assert [(j["id"], j["name"]) for j in provinces] == [("JN-P", "江南省"), ("JB-P", "江北省")]
    for table, n in counts.items():
        rows = list(csv.reader((first / f"{table}.csv").open(encoding="utf-8", newline="")))[1:]
        mine = list(csv.reader((single / f"{table}.csv").open(encoding="utf-8", newline="")))[1:]
        # the first province is the one-province demo of the seed, its ids prefixed
        assert [[c.replace("JN-", "") for c in r] for r in rows[:n]] == mine, table
        assert not any("JN-" in c for r in rows[n:] for c in r), table
    assert both["hazards"] == 2 * counts["hazards"]
    ids = {t: [r["id"] for r in _rows(first, t)] for t in ("jurisdictions", "people", "posts", "hazards", "incidents")}
    assert all(i[:3] in ("JN-", "JB-") for t in ids.values() for i in t)
    jb = [i[3:] for i in ids["hazards"] if i.startswith("JB-")]
    assert jb == [i[3:] for i in ids["hazards"] if i.startswith("JN-")]  # the same shape of ids …
    hazards = _rows(first, "hazards")
    assert [h["description"] for h in hazards[:50]] != [h["description"] for h in hazards[len(jb):len(jb) + 50]]  # … drawn anew
    cities = [j["name"] for j in _rows(first, "jurisdictions") if j["level"] == "city"]
    assert len(cities) == len(set(cities))  # no city name twice across provinces
    # the built-in national measures are shared: both provinces assign SC15-01, neither prefixes it
    assignments = _rows(first, "measure_assignments")
    assert {a["organization_id"][:3] for a in assignments if a["measure_id"] == "SC15-01"} == {"JN-", "JB-"}
    assert DEMO_PROVINCES == len(PROVINCES)
    with pytest.raises(ValueError, match="provinces: 9 is not between 1 and 8"):
        generate(tmp_path / "nine", scale="small", provinces=9)


def test_the_generator_reads_rule_2_as_the_engine_does(tmp_path):
    """The demo places events and signers with its own reading of rule 2 (the graph does not exist yet while
    it writes): for every jurisdiction and industry of a hazard it names the engine's R, and the head of R's
    first department regulating the industry (or, with none anywhere, R the nearest county or higher)."""
    import datetime as dt

    from accountability.demo import _Generator
    from accountability.session import Session
    from accountability.stores.sqlite import SQLiteStore

    (tmp_path / "out").mkdir()
    generator = _Generator(tmp_path / "out", SCALES["small"], 3, dt.date.fromisoformat(TODAY))
    generator.run()
    store = SQLiteStore(tmp_path / "demo.db")
    store.write(_load(tmp_path / "out"))
    pairs = {(h["jurisdiction_id"], h["industry"]) for h in _rows(tmp_path / "out", "hazards")}
    with Session(store) as session:
        regulated = 0
        for jid, industry in sorted(pairs):
            r, _, departments = session.engine.regulator(jid, industry)
            demo_r, head = generator.regulator(jid, industry)
            assert demo_r == r, (jid, industry)
            if departments:
                first = min(departments, key=lambda d: d.id)
                assert head in {p.id for p in session.graph.posts_in(first.id, "department_head")}, (jid, industry)
                regulated += 1
        assert regulated > len(pairs) / 2 and regulated < len(pairs)  # both readings were exercised
