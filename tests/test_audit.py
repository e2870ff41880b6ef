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
        pytest.fail(f"{type(store).__name__} keeps no audit trail: every store records each write (audit.py)")


def test_any_store_records_each_write_in_its_transaction(any_store, tmp_path):
    audited(any_store)
    v1, v2 = versions(tmp_path)
    results = [any_store.write(load(p)) for p in (v1, v1, v2)]
    entries = list(audit.entries(any_store))
    assert [e["seq"] for e in entries] == [1, 2, 3] and [e["unchanged"] for e in entries] == [False, True, False]
    assert [r.audit for r in results] == [audit.head_of(e) for e in entries]
    assert audit.position(any_store) == audit.Position(3, entries[-1]["hash"])
    assert audit.verify(any_store).ok


# -- the data: verify recomputes what the log vouches for (issue #19, item 3) ------------------------------
#
# Rows are altered the way someone with access to the store would alter them: plain sqlite3 on the file,
# a Cypher SET or DELETE on the Neo4j server.

TENURE = "tenures:PE-P-SEC/P-SEC/2020-01-01"  # a composite key, as verify names it


def alter(store, sql: str | None = None, cypher: str | None = None) -> None:
    """Run ``sql`` on a SQLite store's file (its own connection, as sqlite3 would) or ``cypher`` on Neo4j."""
    if isinstance(store, SQLiteStore):
        con = sqlite3.connect(store.path, isolation_level=None)
        con.execute(sql)
        con.close()
    else:
        with store.driver.session(database=store.database) as session:
            session.run(cypher).consume()


def imported(store, tmp_path):
    """``store`` holding v1 of the scenario, imported through the CLI; returns the dataset's path."""
    v1, _ = versions(tmp_path)
    result = run("import", v1, "--store", store.uri)
    assert result.exit_code == 0, result.output
    return v1


def change_a_hazard(store) -> None:
    alter(store, "UPDATE hazards SET description = '已整改' WHERE id = 'H1'",
          "MATCH (h:Hazard {_key: 'H1'}) SET h.description = '已整改'")


def test_a_changed_row_fails_verify_naming_it(any_store, tmp_path):
    audited(any_store)
    imported(any_store, tmp_path)
    assert verify(any_store.uri).exit_code == 0
    change_a_hazard(any_store)
    alter(any_store, "UPDATE tenures SET acting = 1 WHERE person_id = 'PE-P-SEC'",
          "MATCH (t:Tenure {person_id: 'PE-P-SEC'}) SET t.acting = true")
    result = verify(any_store.uri)
    assert result.exit_code == 1, result.output
    assert "hazards:H1 changed since import #1" in result.output and f"{TENURE} changed since import #1" \
        in result.output
    assert "importing the dataset again restores it" in result.output
    doc = json.loads(verify(any_store.uri, "--format", "json").output.splitlines()[0])
    assert not doc["ok"] and doc["problem"] is None and doc["data"]["vouched_by"] == 1
    assert doc["data"]["differences"] == [f"{TENURE} changed since import #1", "hazards:H1 changed since import #1"]


def test_a_deleted_or_added_row_fails_verify_naming_it(any_store, tmp_path):
    audited(any_store)
    imported(any_store, tmp_path)
    alter(any_store, "DELETE FROM hazards WHERE id = 'H1'", "MATCH (h:Hazard {_key: 'H1'}) DETACH DELETE h")
    alter(any_store, "INSERT INTO hazards (id, description, industry, level, jurisdiction_id, found_on, status) "
                     "VALUES ('H9', '伪造', 'urban_gas', 'general', 'T', '2026-01-01', 'open')",
          "CREATE (:Hazard {_key: 'H9', id: 'H9', description: '伪造', industry: 'urban_gas', level: 'general', "
          "jurisdiction_id: 'T', found_on: '2026-01-01', status: 'open'})")
    result = verify(any_store.uri)
    assert result.exit_code == 1
    assert "hazards:H1 deleted since import #1; hazards:H9 added since import #1" in result.output


def test_reimporting_the_same_dataset_restores_altered_rows_and_records_it(any_store, tmp_path):
    audited(any_store)
    v1 = imported(any_store, tmp_path)
    change_a_hazard(any_store)
    alter(any_store, "DELETE FROM tenures WHERE person_id = 'PE-P-SEC'",
          "MATCH (t:Tenure {person_id: 'PE-P-SEC'}) DETACH DELETE t")
    result = run("import", v1, "--store", any_store.uri)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("restored: ") and "hazards +0 ~1 -0" in result.output \
        and "tenures +1 ~0 -0" in result.output
    assert verify(any_store.uri).exit_code == 0
    assert [r["description"] for r in any_store.rows("hazards")] == ["隐患H1"]
    entry = log(any_store.uri)[-1]
    assert entry["seq"] == 2 and entry["unchanged"] is False
    assert entry["dataset_hash"] == entry["previous_dataset_hash"] == load(v1).content_hash()
    assert entry["updated"] == {"hazards": 1} and entry["changes"].startswith("restored: ")
    # once restored, importing it again changes nothing
    assert run("import", v1, "--store", any_store.uri).output.startswith("unchanged:")


def test_a_neo4j_node_deleted_outside_an_import_comes_back_with_its_relationships(neo4j_store, tmp_path):
    """``DETACH DELETE`` takes the relationships of the rows that point to the node along: the re-import
    that puts the node back puts them back too."""
    def relationships() -> set:
        with neo4j_store.driver.session(database=neo4j_store.database) as session:
            return {tuple(r) for r in session.run("MATCH (a)-[r]->(b) RETURN type(r), a._key, b._key")}

    v1 = imported(neo4j_store, tmp_path)
    before = relationships()
    assert ("OF_POST", "PE-P-SEC\x1fP-SEC\x1f2020-01-01", "P-SEC") in before
    alter(neo4j_store, cypher="MATCH (p:Post {_key: 'P-SEC'}) DETACH DELETE p")
    assert "posts:P-SEC deleted since import #1" in verify(neo4j_store.uri).output
    assert run("import", v1, "--store", neo4j_store.uri).exit_code == 0
    assert verify(neo4j_store.uri).exit_code == 0
    assert relationships() == before


def test_an_export_is_refused_while_rows_are_altered(any_store, tmp_path):
    audited(any_store)
    v1 = imported(any_store, tmp_path)
    change_a_hazard(any_store)
    out = tmp_path / "chains.jsonl"
    result = run("trace", "--all", "--as-of", "2026-02-01", "--format", "jsonl", "-o", out, "--store", any_store.uri)
    assert result.exit_code == 1
    assert "hazards:H1 changed" in result.output and "nothing exported" in result.output
    assert not out.exists() and not (tmp_path / "chains.jsonl.provenance.json").exists()
    assert run("import", v1, "--store", any_store.uri).exit_code == 0
    result = run("trace", "--all", "--as-of", "2026-02-01", "--format", "jsonl", "-o", out, "--store", any_store.uri)
    assert result.exit_code == 0, result.output
    stamp = json.loads((tmp_path / "chains.jsonl.provenance.json").read_text())
    assert stamp["dataset_hash"] == load(v1).content_hash() and stamp["audit"]["seq"] == 2


def test_an_altered_kept_manifest_is_reported_at_table_level_and_restored_by_an_import(any_store, tmp_path):
    audited(any_store)
    v1 = imported(any_store, tmp_path)
    change_a_hazard(any_store)
    alter(any_store, "UPDATE audit_rows SET manifest = x'00' WHERE tbl = 'hazards'",
          "MATCH (a:AuditRows {_key: 'hazards'}) SET a.manifest = 'AAAA'")
    result = verify(any_store.uri)
    assert result.exit_code == 1 and "hazards:H1" not in result.output
    assert "hazards: its rows are not those import #1 recorded" in result.output
    assert "the row hashes kept beside the log are missing or altered too" in result.output
    assert run("import", v1, "--store", any_store.uri).exit_code == 0
    assert verify(any_store.uri).exit_code == 0
    change_a_hazard(any_store)  # the import put the kept manifest back too: the row is named again
    assert "hazards:H1 changed since import #2" in verify(any_store.uri).output


def test_dropping_the_triggers_does_not_hide_a_change(tmp_path):
    """The triggers that record writes outside imports let an export check cheaply; they are not what
    verify relies on, and a store that lost them has every row checked until the next import."""
    v1, _ = versions(tmp_path)
    db = tmp_path / "store.db"
    assert run("import", v1, "--store", db).exit_code == 0
    out = tmp_path / "chains.jsonl"
    export = ("trace", "--all", "--as-of", "2026-02-01", "--format", "jsonl", "-o", out, "--store", db)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE hazards SET description = '已整改' WHERE id = 'H1'")
    assert "hazards:H1 changed since import #1" in run(*export).output and not out.exists()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_outside")
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                               "AND name LIKE 'audit_outside%'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("DELETE FROM audit_outside")
    con.close()
    result = verify(db)
    assert result.exit_code == 1 and "hazards:H1 changed since import #1" in result.output
    assert "hazards:H1 changed since import #1" in run(*export).output and not out.exists()
    SQLiteStore(db).close()  # opening it for writing puts the triggers back, and notes the gap they left
    assert "hazards:H1 changed since import #1" in verify(db).output
    assert "hazards:H1 changed since import #1" in run(*export).output and not out.exists()
    assert run("import", v1, "--store", db).exit_code == 0 and verify(db).exit_code == 0
    assert run(*export).exit_code == 0 and out.exists()


def test_a_write_undone_since_refuses_no_export(tmp_path):
    """The record of writes outside imports says where to look; the digests decide, as in verify."""
    v1, _ = versions(tmp_path)
    db = tmp_path / "store.db"
    assert run("import", v1, "--store", db).exit_code == 0
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE hazards SET description = '已整改' WHERE id = 'H1'")
    con.execute("UPDATE hazards SET description = '隐患H1' WHERE id = 'H1'")
    assert con.execute("SELECT count(*) FROM audit_outside").fetchone()[0] == 2
    con.close()
    assert verify(db).exit_code == 0
    out = tmp_path / "chains.jsonl"
    result = run("trace", "--all", "--as-of", "2026-02-01", "--format", "jsonl", "-o", out, "--store", db)
    assert result.exit_code == 0, result.output
    assert out.exists()


def format_1(db) -> None:
    """Turn ``db`` into a store as the code before row digests left it: its log rewritten as format-1
    entries (no ``digests`` column, the hash over the format-1 fields), no manifests, no sentinels."""
    con = sqlite3.connect(db, isolation_level=None)
    columns = audit.FIELDS_V1
    old = [dict(zip(columns, r)) for r in con.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} "
                                                      "FROM audit_log ORDER BY seq").fetchall()]
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("DROP TABLE audit_rows")
    con.execute("DROP TABLE audit_outside")
    con.execute("DELETE FROM audit_log")
    con.execute("ALTER TABLE audit_log DROP COLUMN digests")
    prev = audit.GENESIS
    for e in old:
        e.update(v=1, prev_hash=prev, unchanged=bool(e["unchanged"]))
        e["hash"] = prev = audit.entry_hash(e)
        con.execute(f"INSERT INTO audit_log VALUES ({', '.join('?' * len(columns))})", [e[c] for c in columns])
    con.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{old[-1]['seq']}:{prev}",))
    con.close()


def test_a_format_1_log_still_verifies_and_says_the_rows_are_not_vouched_for(tmp_path):
    v1, _ = versions(tmp_path)
    db = tmp_path / "store.db"
    assert run("import", v1, "--store", db).exit_code == 0
    format_1(db)
    first = log(db)[0]
    assert first["v"] == 1 and first["digests"] is None
    result = verify(db)  # read-only: the store stays as the old code left it
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 1 entries") and "rows not vouched for" in result.output
    assert json.loads(verify(db, "--format", "json").output)["data"] == {"vouched_by": None, "differences": []}
    # the next import upgrades the store: the old entry keeps its hash, the new one vouches for the rows
    result = run("import", v1, "--store", db)
    assert result.exit_code == 0 and result.output.startswith("unchanged:")
    entries = log(db)
    assert entries[0]["hash"] == first["hash"] and entries[1]["v"] == audit.FORMAT and entries[1]["digests"]
    assert "every row as entry #2 vouches" in verify(db).output
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE hazards SET description = '已整改' WHERE id = 'H1'")
    con.close()
    assert "hazards:H1 changed since import #2" in verify(db).output


def test_digests_added_to_a_format_1_entry_are_found(tmp_path):
    """A format-1 entry's hash does not cover digests: some added later must not vouch for anything."""
    v1, _ = versions(tmp_path)
    db = tmp_path / "store.db"
    assert run("import", v1, "--store", db).exit_code == 0
    format_1(db)
    with SQLiteStore(db) as store:  # the upgrade: a digests column, empty for the format-1 entry
        pass
    tamper(db, """UPDATE audit_log SET digests = '{"hazards":"00"}' WHERE seq = 1""")
    result = verify(db)
    assert result.exit_code == 1 and "broken at entry #1: it is of format 1" in result.output


def test_a_report_is_refused_while_rows_are_altered(tmp_path):
    """A report's footer names the dataset and the audit position: it is not written over rows they do not
    vouch for."""
    import sqlite3

    data = scenario.base()
    data["incidents"] = [{"id": "A1", "title": "燃气爆炸事故", "occurred_on": "2026-05-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 0,
                          "direct_loss_yuan": 0, "hazard_ids": "H1"}]
    dataset, db, out = scenario.write(data, tmp_path), tmp_path / "store.db", tmp_path / "a1.md"
    assert run("import", dataset, "--store", db).exit_code == 0
    with sqlite3.connect(db) as con:
        con.execute("UPDATE hazards SET description = '已整改' WHERE id = 'H1'")
    result = run("report", "A1", "-o", out, "--store", db)
    assert result.exit_code == 1 and "hazards:H1 changed" in result.output and "no report written" in result.output
    assert not out.exists()
    assert run("import", dataset, "--store", db).output.startswith("restored: ")
    assert run("report", "A1", "-o", out, "--store", db).exit_code == 0 and out.exists()
