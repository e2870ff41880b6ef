"""The records of conduct as the v2 engine reads them (``accountability.records``), the stores' ``tuples``
read, and batch work (``trace --all``, its shared parts) giving each hazard the chain it has alone."""

from __future__ import annotations

import pytest

import scenario
from accountability.dataset import load
from accountability.errors import UsageError
from accountability.records import EVENT_KINDS, Event, Inspection, Records
from accountability.session import Session
from test_rules_v2 import by_post, v2

ON = "2026-02-01"


def _records_scenario() -> dict:
    data = scenario.base()
    data["events"] = [
        {"hazard_id": "H1", "on": "2026-01-20", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H1", "on": "2026-01-02", "kind": "found"},
        {"hazard_id": "H1", "on": "2026-01-25", "kind": "reinspected", "post_id": "K-HOUSING-HEAD",
         "outcome": "relapsed"},
        {"hazard_id": "H1", "on": "2026-01-10", "kind": "inspected", "post_id": "K-HOUSING-HEAD", "note": "复查"},
        {"hazard_id": "H1", "on": "2026-01-10", "kind": "escalated", "post_id": "K-EM-HEAD"},
    ]
    data["inspections"] = [
        {"id": "X2", "organization_id": "E1", "on": "2026-01-12", "post_id": "K-EM-HEAD", "outcome": "order_issued",
         "hazard_ids": "H1", "note": "执法检查"},
        {"id": "X1", "organization_id": "E1", "on": "2026-01-05", "post_id": "K-HOUSING-HEAD",
         "outcome": "no_findings", "hazard_ids": ""},
    ]
    data["designations"] = [
        {"post_id": "C-DEP", "kind": "supervising_leader", "target_id": "H1", "start": "2026-01-15", "end": ""}]
    return data


def test_records_are_named_tuples_of_the_events_the_rules_read_in_date_order(make_session):
    s = make_session(_records_scenario(), rules="reference-v2")
    lazy, whole = Records(s.store), Records(s.store).load_all()
    for records in (lazy, whole):
        events = records.events("H1")
        assert [(e.on, e.kind) for e in events] == [("2026-01-10", "escalated"), ("2026-01-20", "closed"),
                                                  ("2026-01-25", "reinspected")]  # found, inspected: no rule reads
        assert all(isinstance(e, Event) and e.kind in EVENT_KINDS for e in events)
        assert events[2].outcome == "relapsed" and events[2]["outcome"] == "relapsed"  # read as a row, too
        assert events[0].get("note") is None and events[0].get("deadline", "x") is None
        found = records.inspections("E1")
        assert [r.id for r in found] == ["X1", "X2"] and isinstance(found[0], Inspection)
        assert found[0].hazard_ids == () and found[1].hazard_ids == ("H1",) and found[1]["note"] == "执法检查"
        assert [d.post_id for d in records.designations("H1")] == ["C-DEP"]
        assert not records.events("H2") and not records.inspections("E2") and not records.designations("K")
    assert whole.reopened() == {"H1"}


def test_the_rules_read_event_rows_as_well_as_records(make_session):
    from accountability import conduct

    s = make_session(_records_scenario(), rules="reference-v2")
    hazard = next(h for h, _ in s.store.hazard_records(ids=["H1"]))
    rows = sorted(s.store.rows("events", hazard_id="H1"), key=lambda e: (e["on"], e["kind"]))
    records = Records(s.store).events("H1")
    for on in ("2026-01-21", "2026-01-26"):
        assert conduct.state(hazard, rows, on) == conduct.state(hazard, records, on)
        assert conduct.closed_on(hazard, rows, on) == conduct.closed_on(hazard, records, on)
    assert conduct.closed_on(hazard, rows, "2026-01-21") and not conduct.closed_on(hazard, rows, "2026-01-26")


def test_tuples_reads_only_the_columns_asked_of_the_rows_asked(any_store, tmp_path):
    any_store.write(load(scenario.write(_records_scenario(), tmp_path)))
    columns = ("hazard_id", "on", "kind", "post_id")
    got = sorted(any_store.tuples("events", columns, kind=["closed", "escalated"]))
    assert got == sorted(tuple(r[c] for c in columns) for r in any_store.rows("events")
                         if r["kind"] in ("closed", "escalated"))
    assert len(got) == 2
    assert sorted(any_store.tuples("inspections", ("id", "hazard_ids"))) == [("X1", ()), ("X2", ("H1",))]
    assert list(any_store.tuples("events", ("on",), hazard_id=[])) == []
    with pytest.raises(UsageError, match="unknown column 'colour' of table 'events'"):
        list(any_store.tuples("events", ("on", "colour")))
    with pytest.raises(UsageError, match="unknown column 'colour'"):
        list(any_store.tuples("events", ("on",), colour="red"))


def test_a_hazard_with_no_unit_of_its_own_answers_through_its_other_unit(make_session):
    data = scenario.base()
    data["hazards"][0]["organization_id"] = ""
    data["hazards"][0]["other_organization_ids"] = "E3"
    chain = v2(make_session, data).trace("H1", as_of=ON)
    assert by_post(chain)["E3-SM"].rules == ("R1b",)  # rule 1b: the other unit as E
    assert {"kind": "no_principal", "organization_id": "E3"} in chain.gaps


def test_trace_all_gives_each_hazard_the_chain_it_has_traced_alone(small_demo_store):
    """Batch work shares parts (the government side with its designations, the act of an inspection that
    missed several hazards of its unit); a hazard traced alone, in a fresh session reading lazily, shares
    nothing: the bytes must agree."""
    on = "2026-11-28"
    with Session(str(small_demo_store), rules="reference-v2", readonly=True) as batch:
        chains = {c.hazard_id: c.json(batch.ruleset) for c in batch.trace_all(as_of=on)}
    sample = sorted(chains)[::max(1, len(chains) // 150)]
    with Session(str(small_demo_store), rules="reference-v2", readonly=True) as alone:
        for hid in sample:
            assert alone.trace(hid, as_of=on).json(alone.ruleset) == chains[hid], hid
    assert len(sample) > 100
