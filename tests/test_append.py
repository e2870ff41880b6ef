"""Appending a few rows to a stored dataset (``Store.append``: a re-inspection entered by hand) on every store:
checked against the stored rows as an import would check them, written with its audit entry so that `audit
verify` vouches for it, refused whole with the import's messages, and diffed by a later import like any row."""

from __future__ import annotations

import pytest
from test_campaigns import data

import scenario
from accountability import audit, campaigns
from accountability.access import User
from accountability.dataset import from_store, load
from accountability.errors import AccessDenied, InvalidDataset, StoreError, UsageError
from accountability.session import Session


@pytest.fixture
def held(any_store, tmp_path):
    """The campaigns scenario (11 events), imported into each store."""
    any_store.write(load(scenario.write(data(), tmp_path)))
    return any_store


def state(store) -> tuple:
    """What an append must leave alone when it refuses: row counts, the dataset hash, the audit log."""
    return ({t: store.count(t) for t in store.schema.tables}, store.meta()["dataset_hash"],
            [e["hash"] for e in store.audit_entries()])


def relapse(hazard: str = "H11", on: str = "2026-10-01", outcome: str = "relapsed", post: str = "K-EM-HEAD") -> dict:
    return {"hazard_id": hazard, "on": on, "kind": "reinspected", "post_id": post, "deadline": None, "note": "复发",
            "outcome": outcome}


def test_an_append_is_stored_recorded_and_vouched_for(held):
    before = state(held)
    with audit.acting_as("chen"):
        result = held.append("events", [relapse()], "reinspection H11 by chen")
    assert result.inserted == {"events": 1} and not result.unchanged
    counts, digest, log = state(held)
    assert counts == {**before[0], "events": 12} and len(log) == len(before[2]) + 1
    new = ("H11", "2026-10-01", "reinspected", "K-EM-HEAD", None, "复发", "relapsed", None)  # as a dataset holds it
    assert digest == result.dataset_hash == audit.appended_hash(before[1], "events", [new])
    entry = audit.normalize(list(held.audit_entries())[-1])
    assert (entry["action"], entry["user"], entry["source"], entry["previous_dataset_hash"]) == \
        ("append", "chen", "reinspection H11 by chen", before[1])
    assert result.audit == audit.head_of(entry)
    verdict = audit.verify(held)
    assert verdict.ok and verdict.vouched_by == entry["seq"], verdict
    assert [e for e in held.rows("events", hazard_id="H11") if e["kind"] == "reinspected"][-1]["outcome"] == \
        "relapsed"
    assert campaigns.report(Session(held), "LB")["by_jurisdiction"][0]["relapsed"] == 3


def test_a_later_import_diffs_against_the_appended_rows(held, tmp_path):
    held.append("events", [relapse()], "by hand")
    with_it = from_store(held)
    again = held.write(with_it)  # the same rows: nothing to write, the import's own hash recorded
    assert not any(n for c in (again.inserted, again.updated, again.deleted) for n in c.values())
    assert held.meta()["dataset_hash"] == with_it.content_hash() and audit.verify(held).ok
    without = held.write(load(scenario.write(data(), tmp_path)))  # the source never had it
    assert without.deleted["events"] == 1 and held.count("events") == 11 and audit.verify(held).ok
    held.append("events", [relapse()], "by hand, again")
    assert held.count("events") == 12 and audit.verify(held).ok


def test_two_appends_chain_and_verify(held):
    held.append("events", [relapse(outcome="held")], "first")
    held.append("events", [relapse("H12", "2026-10-02", "held", "K-HOUSING-HEAD"),
                           relapse("H17", "2026-10-03", "relapsed", "K-HOUSING-HEAD")], "second")
    assert held.count("events") == 14 and audit.verify(held).ok
    assert [e["action"] for e in audit.entries(held)][-2:] == ["append", "append"]


@pytest.mark.parametrize("row, message", [
    (relapse("ZZ"), "events:13: hazard_id: unknown hazard 'ZZ'"),
    (relapse(outcome="bogus"), "events:13: outcome: unknown reinspection outcome 'bogus'"),
    (relapse("H1"), "events:13: kind: a re-inspection of hazard 'H1', which was never closed on or before 2026-10-01"),
    (relapse(on="2026-02-01"), "events:13: kind: a re-inspection of hazard 'H11', which was never closed on or "
                               "before 2026-02-01"),
    (relapse(post="NOBODY"), "events:13: post_id: unknown post 'NOBODY'"),
    (relapse(on="2026-13-01"), "events:13: on: '2026-13-01' is not a valid date"),
    ({**relapse(), "outcome": ""}, "events:13: outcome: a reinspected event needs its outcome (held or relapsed)"),
])
def test_a_bad_row_is_refused_with_the_import_s_message_and_nothing_is_stored(held, row, message):
    before = state(held)
    with pytest.raises(InvalidDataset) as caught:
        held.append("events", [relapse("H12", "2026-10-02", "held", "K-HOUSING-HEAD"), row], "test")
    assert message in caught.value.errors  # as an import says it (an unknown hazard was never closed either)
    assert all(e.startswith("events:13: ") for e in caught.value.errors)  # the good row 12 is not stored either
    assert state(held) == before and audit.verify(held).ok


def test_a_row_already_stored_is_a_duplicate(held):
    held.append("events", [relapse()], "first")
    before = state(held)
    with pytest.raises(InvalidDataset) as caught:
        held.append("events", [relapse()], "again")
    assert caught.value.errors == ["events:13: hazard_id/on/kind/post_id/deadline: duplicate "
                                   "'H11/2026-10-01/reinspected/K-EM-HEAD' (already stored)"]
    assert state(held) == before


def test_only_an_appendable_table_takes_rows(held):
    before = state(held)
    with pytest.raises(UsageError, match="rows are appended to events only, not to 'hazards'"):
        held.append("hazards", [{"id": "H99"}], "test")
    assert state(held) == before


def test_a_row_outside_the_user_s_scope_is_refused_before_anything_is_written(held):
    county = Session(held, user=User("k", "auditor", "K"))
    before = state(held)
    with pytest.raises(AccessDenied, match="hazard 'H14' is outside the jurisdiction of user k"):
        held.append("events", [campaigns.reinspection(county, "H14", "2026-10-01", "held")], "test")
    assert state(held) == before


def test_an_append_never_vouches_for_row_hashes_altered_beside_the_log(tmp_path):
    import sqlite3

    from accountability.stores.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "store.db") as store:
        store.write(load(scenario.write(data(), tmp_path)))
        with sqlite3.connect(tmp_path / "store.db") as con:
            con.execute("UPDATE audit_rows SET manifest = ? WHERE tbl = 'events'", (b"forged",))
        before = state(store)
        with pytest.raises(StoreError, match="nothing appended: the row hashes of 'events' kept beside the audit log"):
            store.append("events", [relapse()], "test")
        assert state(store) == before


def test_a_manifest_takes_new_rows_in_their_places():
    from accountability.dataset import SCHEMA

    events = SCHEMA.tables["events"]
    rows = list(dict.fromkeys(("H%02d" % (i % 17), "2026-0%d-01" % (1 + i % 9), "closed", None, None, None, None, None)
                              for i in range(60)))
    assert len(rows[0]) == len(events.names) + 1 and len(rows) > 40
    whole = audit.manifest(events, rows)
    for split in (0, 1, len(rows) // 2, len(rows) - 1):
        assert audit._insert(audit.manifest(events, rows[:split] + rows[split + 3:]),
                             audit.manifest(events, rows[split:split + 3])) == whole
