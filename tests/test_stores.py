"""The storage contract: every test here runs against every store (the `any_store` fixture).

The parity of chains between stores is checked in ``test_parity.py``.
"""

from __future__ import annotations

import pytest

import scenario
from accountability.dataset import from_store, load
from accountability.errors import UsageError
from accountability.session import Session
from accountability.trace import HAZARD_COLUMNS


@pytest.fixture
def dataset(tmp_path):
    data = scenario.base()
    data["hazards"] += [
        scenario.hazard("H2", "hazardous_chemicals", "T", "E2", found_on="2026-01-10", deadline="2026-02-01"),
        scenario.hazard("H3", "construction", "V", "E3", found_on="2025-12-01", status="closed", closed_on="2026-01-20"),
    ]
    data["events"] = [
        {"hazard_id": "H2", "on": "2026-01-25", "kind": "deadline_extended", "deadline": "2026-03-01"},
        {"hazard_id": "H2", "on": "2026-01-11", "kind": "escalated", "post_id": "K-EM-HEAD"},
        {"hazard_id": "H2", "on": "2026-01-10", "kind": "found"},
        {"hazard_id": "H1", "on": "2026-01-02", "kind": "inspected", "note": "复查"},
    ]
    data["hazards"][0]["inspector"] = "王五"
    return load(scenario.write(data, tmp_path))


def test_write_then_read_back_everything(any_store, dataset):
    result = any_store.write(dataset)
    assert not result.unchanged and result.inserted["hazards"] == 3
    assert from_store(any_store).content_hash() == dataset.content_hash()
    assert any_store.meta()["dataset_hash"] == dataset.content_hash()


def test_scan_reads_every_row_as_the_dataset_holds_it(any_store, dataset, monkeypatch):
    from accountability import audit
    from accountability.stores import neo4j

    monkeypatch.setattr(neo4j, "SCAN_PAGE", 2)  # Neo4j reads pages: rows on both sides of their edges
    any_store.write(dataset)
    for name, table in dataset.schema.tables.items():
        key = audit.row_key(table)
        held = dataset.tables.get(name, [])
        scanned = list(any_store.scan(name))
        assert len(scanned) == len(held), name
        assert {key(r): r for r in scanned} == {key(r): r for r in held}, name
    with any_store.snapshot():
        assert audit.stored_manifests(any_store, any_store.schema) == audit.dataset_manifests(dataset)


def test_same_dataset_again_is_a_noop(any_store, dataset):
    any_store.write(dataset)
    assert any_store.write(dataset).unchanged


def test_rows_filters(any_store, dataset):
    any_store.write(dataset)
    assert [r["id"] for r in any_store.rows("hazards", id="H2")] == ["H2"]
    assert sorted(r["id"] for r in any_store.rows("hazards", id=["H1", "H3", "nope"])) == ["H1", "H3"]
    assert sorted(r["id"] for r in any_store.rows("organizations", jurisdiction_id="K", kind=["department"])) == [
        "K-EM", "K-HOUSING"]
    assert list(any_store.rows("hazards", id=[])) == []
    e2 = next(any_store.rows("organizations", id="E2"))
    assert e2["industries"] == ("hazardous_chemicals",) and e2["parent_id"] == "PARK"
    h1 = next(any_store.rows("hazards", id="H1"))
    assert h1["extra"] == {"inspector": "王五"} and h1["closed_on"] is None
    tenure = next(any_store.rows("tenures", post_id="K-SEC"))
    assert tenure["acting"] is False and tenure["end"] is None
    with pytest.raises(UsageError):
        list(any_store.rows("planets"))
    with pytest.raises(UsageError):
        list(any_store.rows("hazards", colour="red"))


def test_count(any_store, dataset):
    any_store.write(dataset)
    assert any_store.count("hazards") == 3 and any_store.count("events") == 4


def test_hazard_records_join_state_events(any_store, dataset):
    any_store.write(dataset)
    records = list(any_store.hazard_records(unresolved_on="2026-01-25"))
    assert [h["id"] for h, _ in records] == ["H1", "H2"]
    events = dict((h["id"], ev) for h, ev in records)
    assert events["H1"] == []  # "inspected" is history, not state
    assert [(e["kind"], e["on"], e["deadline"]) for e in events["H2"]] == [
        ("escalated", "2026-01-11", None), ("deadline_extended", "2026-01-25", "2026-03-01")]
    assert [h["id"] for h, _ in any_store.hazard_records(unresolved_on="2025-12-15")] == ["H3"]
    assert [h["id"] for h, _ in any_store.hazard_records(ids=["H3", "H1"])] == ["H1", "H3"]


def test_hazard_records_read_only_the_columns_asked(any_store, dataset):
    any_store.write(dataset)
    full = {h["id"]: h for h, _ in any_store.hazard_records(unresolved_on="2026-01-25")}
    lean = list(any_store.hazard_records(unresolved_on="2026-01-25", columns=HAZARD_COLUMNS))
    assert [h["id"] for h, _ in lean] == ["H1", "H2"]
    assert all(h == {c: full[h["id"]][c] for c in HAZARD_COLUMNS} for h, _ in lean)
    assert [len(ev) for _, ev in lean] == [0, 2]
    with pytest.raises(UsageError, match="unknown column 'colour' of table 'hazards'"):
        list(any_store.hazard_records(ids=["H1"], columns=("id", "colour")))


def test_search(any_store, dataset):
    any_store.write(dataset)
    found = any_store.search("东湖")
    assert {"type": "jurisdictions", "id": "K", "name": "东湖区"} in found
    assert any_store.search("E1-GM")[0]["id"] == "E1-GM"
    assert any_store.search("100%_") == [] and any_store.search("") == []


def test_a_search_within_jurisdictions_keeps_what_the_scope_shows(any_store, dataset):
    from accountability.access import User

    any_store.write(dataset)
    for scope in ("T", "K", "K2", "C"):
        s = Session(any_store, user=User("u", "viewer", scope))
        within = s.scope.jurisdictions
        for text in ("E", "人员", "H", "东湖", "K", "局长"):
            every = any_store.search(text, limit=1000)
            expected = [r for r in every if s.visible(r["type"], r["id"])]
            assert any_store.search(text, limit=1000, within=within) == expected, (scope, text)
            for table in ("people", "posts", "hazards"):
                assert any_store.search(text, limit=1000, within=within, table=table) == \
                    [r for r in expected if r["type"] == table], (scope, text, table)
    assert [r["id"] for r in any_store.search("E1-GM", within={"T"})] == ["E1-GM", "PE-E1-GM"]
    assert any_store.search("E1-GM", within={"K"}) == []  # its enterprise lies in T, below K, not in K itself


def test_replacing_a_changed_dataset(any_store, dataset, tmp_path):
    any_store.write(dataset)
    data = scenario.base()
    data["hazards"][0]["description"] = "新描述"
    (tmp_path / "v2").mkdir()
    result = any_store.write(load(scenario.write(data, tmp_path / "v2")))
    assert result.updated["hazards"] == 1 and result.deleted["hazards"] == 2 and result.deleted["events"] == 4
    assert next(any_store.rows("hazards", id="H1"))["description"] == "新描述"
    assert any_store.count("hazards") == 1


def test_the_engine_reads_any_store(any_store, dataset):
    any_store.write(dataset)
    chain = Session(any_store).trace("H2", as_of="2026-02-15")
    assert {link.post_id for link in chain.links} >= {"E2-GM", "PARK-DIR", "K-EM-HEAD"}
    assert chain.gaps == []  # escalated, deadline extended to March


def test_a_store_made_by_an_earlier_version_opens_read_only_after_an_upgrade(tmp_path, dataset):
    """The contract gained tables and columns (v2): a store without them is given them, empty, when it is
    opened read-only (the app, every read-only command), and reads as before."""
    import sqlite3

    from accountability.stores.sqlite import SQLiteStore

    db = tmp_path / "old.db"
    with SQLiteStore(db) as store:
        store.write(dataset)
        before = list(store.rows("hazards"))
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE designations")
        con.execute("ALTER TABLE hazards DROP COLUMN existed_since")
    with SQLiteStore(db, readonly=True) as store:
        assert list(store.rows("hazards")) == before and list(store.rows("designations")) == []
    with Session(str(db), rules="reference-v2", readonly=True) as s:
        assert s.trace("H1", as_of="2026-02-01").links


def test_rows_before_a_value(any_store, dataset):
    from accountability.stores.base import Before

    any_store.write(dataset)
    assert [r["id"] for r in any_store.rows("hazards", closed_on=Before("2026-02-01"))] == ["H3"]  # NULL is not before
    assert list(any_store.rows("hazards", closed_on=Before("2026-01-20"))) == []  # strictly before
    assert sorted(any_store.tuples("hazards", ("id", "found_on"), found_on=Before("2026-01-10"))) == \
        [("H1", "2026-01-01"), ("H3", "2025-12-01")]
    assert sorted(any_store.tuples("events", ("kind",), hazard_id="H2", on=Before("2026-01-12"))) == \
        [("escalated",), ("found",)]
