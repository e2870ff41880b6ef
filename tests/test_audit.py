"""The audit trail: every import recorded with who, when, what and how much, in a hash-chained,
append-only log written in the import's own transaction; ``audit verify`` finds every kind of tampering.

Tampering is done the way an intruder with the file would do it: plain ``sqlite3`` on the store, after
dropping the append-only triggers.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import sqlite3

import orjson
import pytest
from click.testing import CliRunner

import scenario
from accountability import audit
from accountability.cli import main
from accountability.dataset import load
from accountability.errors import StoreError
from accountability.stores.base import Store
from accountability.stores.sqlite import SQLiteStore


def run(*args, user="inspector-7"):
    env = {"ACCOUNTABILITY_USER": user} if user else {"ACCOUNTABILITY_USER": ""}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def versions(tmp_path):
    """Two versions of the scenario: v2 changes a description and adds a hazard."""
    for name in ("v1", "v2"):
        (tmp_path / name).mkdir(exist_ok=True)
    data = scenario.base()
    data["hazards"][0]["description"] = "新描述"
    data["hazards"].append(scenario.hazard("H2", "hazardous_chemicals", "T", "E2", found_on="2026-01-10"))
    return scenario.write(scenario.base(), tmp_path / "v1"), scenario.write(data, tmp_path / "v2")


@pytest.fixture
def trail(tmp_path):
    """A store with three imports through the CLI: v1, v1 again (unchanged), v2."""
    v1, v2 = versions(tmp_path)
    db = tmp_path / "store.db"
    for path in (v1, v1, v2):
        result = run("import", path, "--store", db)
        assert result.exit_code == 0, result.output
    return db, v1, v2


def log(db) -> list[dict]:
    result = run("audit", "log", "--store", db, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def tamper(db, *statements, params=()):
    """What someone with write access to the file can do: drop the triggers, then edit at will."""
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("DROP TRIGGER audit_log_no_delete")
    for sql in statements:
        con.execute(sql, params if "?" in sql else ())
    con.close()


def verify(db, *extra):
    return run("audit", "verify", "--store", db, *extra)


# -- recording ------------------------------------------------------------------------------------------


def test_every_import_is_recorded_with_who_when_what_and_counts(trail):
    db, v1, v2 = trail
    entries = log(db)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert {e["user"] for e in entries} == {"inspector-7"} and {e["action"] for e in entries} == {"import"}
    assert [e["source"] for e in entries] == [str(v1), str(v1), str(v2)]
    h1, h2 = load(v1).content_hash(), load(v2).content_hash()
    assert [e["dataset_hash"] for e in entries] == [h1, h1, h2]
    assert [e["previous_dataset_hash"] for e in entries] == [None, h1, h1]
    # the no-op re-import is recorded, as unchanged, with no counts
    assert [e["unchanged"] for e in entries] == [False, True, False]
    assert entries[1]["inserted"] == entries[1]["updated"] == entries[1]["deleted"] == {}
    assert entries[1]["changes"] == "unchanged"
    assert entries[0]["inserted"]["posts"] == len(scenario.base()["posts"]) and entries[0]["deleted"] == {}
    assert entries[2]["inserted"] == {"hazards": 1} and entries[2]["updated"] == {"hazards": 1}
    assert entries[0]["at"] <= entries[1]["at"] <= entries[2]["at"] and entries[0]["at"].endswith("+00:00")
    # the chain: each entry names the previous one's hash, and its own hash is over its canonical JSON
    assert entries[0]["prev_hash"] == audit.GENESIS
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    with SQLiteStore(db) as store:
        stored = list(audit.entries(store))
    for e in stored:
        body = {k: e[k] for k in audit.FIELDS if k != "hash"}
        assert e["hash"] == hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def test_the_user_is_the_os_user_unless_the_setting_names_one(tmp_path):
    v1, _ = versions(tmp_path)
    assert run("import", v1, "--store", tmp_path / "a.db", user=None).exit_code == 0
    assert log(tmp_path / "a.db")[0]["user"] == getpass.getuser()


def test_import_reports_its_audit_entry_and_position_reads_the_head(trail, tmp_path):
    db, v1, _ = trail
    with SQLiteStore(db) as store:
        head = audit.position(store)
    assert head.seq == 3 and head.hash == log(db)[-1]["hash"]
    result = run("import", v1, "--store", db, "--format", "json")
    assert result.exit_code == 0, result.output
    recorded = json.loads(result.output)["audit"]
    with SQLiteStore(db, readonly=True) as store:
        assert str(audit.position(store)) == recorded and recorded.startswith("4:")
    text = run("import", v1, "--store", db)
    assert text.output.rstrip().endswith("(audit entry #5)")
    with SQLiteStore(tmp_path / "empty.db") as store:
        assert audit.position(store) == audit.Position(0, audit.GENESIS)


def test_an_import_that_fails_leaves_no_entry(trail, tmp_path):
    db, _, _ = trail
    before = log(db)
    bad = scenario.base()
    bad["hazards"][0]["industry"] = "unicorns"
    (tmp_path / "bad").mkdir()
    result = run("import", scenario.write(bad, tmp_path / "bad"), "--store", db)
    assert result.exit_code == 1 and "hazards:1: industry: unknown industry 'unicorns'" in result.output
    assert log(db) == before
    assert verify(db).exit_code == 0


def test_the_log_is_append_only_for_plain_sql(trail):
    db, _, _ = trail
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit_log SET user = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_log WHERE seq = 1")
    con.close()
    assert verify(db).exit_code == 0


def test_log_formats(trail):
    db, v1, _ = trail
    table = run("audit", "log", "--store", db)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["seq", "at", "user", "action", "source", "dataset", "changes", "hash"]
    assert len(lines) == 2 + 3 and "unchanged" in lines[3]
    rows = list(csv.DictReader(io.StringIO(run("audit", "log", "--store", db, "--format", "csv").output)))
    assert [r["seq"] for r in rows] == ["1", "2", "3"] and rows[1]["unchanged"] == "true"
    assert json.loads(rows[2]["updated"]) == {"hazards": 1} and len(rows[2]["hash"]) == 64
    assert [e["seq"] for e in json.loads(run("audit", "log", "--store", db, "--format", "json", "--last", "1").output)] \
        == [3]
    assert run("audit", "log", "--store", db.parent / "missing.db").exit_code == 1


# -- verifying ------------------------------------------------------------------------------------------


def test_an_intact_log_verifies(trail):
    db, _, _ = trail
    result = verify(db)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 3 entries") and log(db)[-1]["hash"] in result.output
    doc = json.loads(verify(db, "--format", "json").output)
    assert doc["ok"] and doc["entries"] == 3 and doc["problem"] is None


def test_an_edited_entry_is_found(trail):
    db, _, _ = trail
    tamper(db, "UPDATE audit_log SET user = 'nobody' WHERE seq = 2")
    result = verify(db)
    assert result.exit_code == 1
    assert "broken at entry #2: its content does not match its hash: the entry was edited" in result.output


def test_an_edited_count_is_found(trail):
    db, _, _ = trail
    tamper(db, """UPDATE audit_log SET deleted = '{"hazards":1}' WHERE seq = 3""")
    assert "broken at entry #3: its content does not match its hash" in verify(db).output


def test_an_edited_and_rehashed_entry_breaks_the_link_after_it(trail):
    db, _, _ = trail
    with SQLiteStore(db, readonly=True) as store:
        second = next(e for e in audit.entries(store) if e["seq"] == 2)
    forged = {**second, "user": "nobody"}
    forged["hash"] = audit.entry_hash(forged)
    tamper(db, "UPDATE audit_log SET user = ?, hash = ? WHERE seq = 2", params=("nobody", forged["hash"]))
    result = verify(db)
    assert result.exit_code == 1
    assert "broken at entry #3: its prev_hash" in result.output and "entry #2" in result.output


def test_a_deleted_entry_is_found(trail):
    db, _, _ = trail
    tamper(db, "DELETE FROM audit_log WHERE seq = 2")
    result = verify(db)
    assert result.exit_code == 1
    assert "broken at entry #2: missing: the log goes from #1 to #3 (#2 deleted)" in result.output


def test_a_deleted_first_entry_is_found(trail):
    db, _, _ = trail
    tamper(db, "DELETE FROM audit_log WHERE seq = 1")
    assert "broken at entry #1: missing" in verify(db).output


def test_a_deleted_newest_entry_is_found(trail):
    db, _, _ = trail
    tamper(db, "DELETE FROM audit_log WHERE seq = 3")
    result = verify(db)
    assert result.exit_code == 1
    assert "broken at entry #3: missing: the store's head is #3 but the log ends at #2" in result.output


def test_renumbered_entries_are_found(trail):
    db, _, _ = trail
    tamper(db, "DELETE FROM audit_log WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    assert "broken at entry #2: its prev_hash" in verify(db).output


def test_data_replaced_outside_an_import_is_found(trail):
    db, _, _ = trail
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE meta SET value = ? WHERE key = 'dataset_hash'", ("f" * 64,))
    con.close()
    assert "broken at entry #3: records dataset" in verify(db).output


def test_a_rewritten_log_passes_alone_but_not_against_an_anchor(trail):
    """A chain without a secret can be rebuilt whole; a position kept elsewhere (in a report) catches it."""
    db, _, _ = trail
    with SQLiteStore(db, readonly=True) as store:
        anchor = audit.position(store)
        old = list(audit.entries(store))
    forged, last = [], None
    for e in old:
        entry = {**e, "user": "nobody", "prev_hash": last["hash"] if last else audit.GENESIS}
        entry["hash"] = audit.entry_hash(entry)
        forged.append(entry)
        last = entry
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("DROP TRIGGER audit_log_no_update")
    for e in forged:
        con.execute("UPDATE audit_log SET user = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (e["user"], e["prev_hash"], e["hash"], e["seq"]))
    con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (audit.head_of(forged[-1]),))
    con.close()
    assert verify(db).exit_code == 0
    result = verify(db, "--anchor", f"{anchor.seq}:{anchor.hash[:16]}")
    assert result.exit_code == 1 and "broken at entry #3: its hash" in result.output and "rewritten" in result.output
    assert verify(db, "--anchor", "3:nothex!").exit_code == 2


def test_a_store_from_before_the_trail_fails_until_reimported(tmp_path):
    v1, _ = versions(tmp_path)
    db = tmp_path / "old.db"
    assert run("import", v1, "--store", db).exit_code == 0
    tamper(db, "DELETE FROM audit_log", "DELETE FROM meta WHERE key = 'audit_head'")
    result = verify(db)
    assert result.exit_code == 1 and "its audit log is empty" in result.output and "import the dataset again" \
        in result.output
    assert run("import", v1, "--store", db).output.startswith("unchanged:")
    assert verify(db).exit_code == 0 and log(db)[0]["unchanged"] is True


def test_check_is_pure_and_stops_at_the_first_bad_position():
    from accountability.stores.base import WriteResult

    first = audit.next_entry(None, WriteResult("d1", False, inserted={"hazards": 1}), "x", None, user="u", host="h")
    second = audit.next_entry(first, WriteResult("d2", False, updated={"hazards": 1}), "y", "d1", user="u", host="h")
    third = audit.next_entry(second, WriteResult("d2", True), "y", "d2", user="u", host="h")
    assert audit.check([first, second, third], head=audit.head_of(third), dataset_hash="d2").ok
    bad = audit.check([first, {**second, "source": "z"}, {**third, "source": "z"}])
    assert bad.problem.seq == 2 and bad.entries == 1 and bad.head == audit.Position(1, first["hash"])
    assert audit.check([first, second], head=audit.head_of(third)).problem.seq == 3
    assert audit.check([first, first]).problem.reason.startswith("found #1 where #2 belongs")


# -- the contract every store keeps -----------------------------------------------------------------------


def audited(store) -> None:
    if type(store).audit_entries is Store.audit_entries:
        with pytest.raises(StoreError, match="keeps no audit trail"):
            store.audit_entries()
        pytest.xfail(f"{type(store).__name__} has no audit hook yet")


def test_any_store_records_each_write_in_its_transaction(any_store, tmp_path):
    audited(any_store)
    v1, v2 = versions(tmp_path)
    results = [any_store.write(load(p)) for p in (v1, v1, v2)]
    entries = list(audit.entries(any_store))
    assert [e["seq"] for e in entries] == [1, 2, 3] and [e["unchanged"] for e in entries] == [False, True, False]
    assert [r.audit for r in results] == [audit.head_of(e) for e in entries]
    assert audit.position(any_store) == audit.Position(3, entries[-1]["hash"])
    assert audit.verify(any_store).ok
