"""The demo province generator: deterministic, plausible, valid under the contract, and shaped so that the
rules engine finds every kind of gap in it."""

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
    orgs = Counter(r["kind"] for r in _rows(out, "organizations"))
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
            assert roles_of[f"{j['id']}-GOV"] == {"government_head"}
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
    with Session(store) as session:
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
    assert 9_000 <= sum(1 for r in _rows(tmp_path, "organizations") if r["kind"] == "enterprise") <= 10_000
    unresolved = sum(1 for h in _rows(tmp_path, "hazards") if h["status"] != "closed")
    assert unresolved >= 15_000
    data = _load(tmp_path)
    assert data.counts()["hazards"] == 60_000
