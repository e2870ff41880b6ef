"""Raw read-only SQL on the embedded store: writes refused before they run, runaway queries stopped,
caps signalled, parameters bound — and the store byte-for-byte unchanged afterwards."""

from __future__ import annotations

import hashlib
import sqlite3
import time

import orjson
import pytest
import scenario
from click.testing import CliRunner

from accountability import rawquery
from accountability.cli import main
from accountability.dataset import load
from accountability.errors import StoreError, UsageError
from accountability.rawquery import (
    QueryRefused,
    QueryTimeout,
    check_sql,
    open_readonly,
    run_sql,
)
from accountability.stores.sqlite import SQLiteStore

COUNTING = ("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) "
            "SELECT count(*) FROM c")
TABLES = ("jurisdictions", "organizations", "posts", "people", "tenures", "portfolios", "hazards", "meta")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("raw")
    path = folder / "store.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(scenario.base(), folder)))
    return path


def fingerprint(path) -> tuple:
    """The store's bytes, its row counts and the files beside it."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    counts = tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)
    schema = tuple(db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"))
    version = db.execute("PRAGMA user_version").fetchone()[0]
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    files = sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm")))
    return hashlib.sha256(path.read_bytes()).hexdigest(), counts, schema, version, mode, files


def sql(store_path, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["sql", "--store", str(store_path), *args], input=input)


def test_a_select_with_bound_parameters(store_path):
    result = sql(store_path, "SELECT id, level FROM jurisdictions WHERE level = :level ORDER BY id", "--param",
                 "level=county", "--format", "json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == {"columns": ["id", "level"], "rows": [
        {"id": "K", "level": "county"}, {"id": "K2", "level": "county"}], "row_count": 2, "truncated": False}


REFUSED = [
    "DELETE FROM hazards",
    "delete from hazards where 1",
    "DROP TABLE hazards",
    "CREATE TABLE x (a)",
    "CREATE TEMP TABLE x AS SELECT 1",
    "INSERT INTO people (id, name) VALUES ('X', 'x')",
    "UPDATE people SET name = 'x'",
    "REPLACE INTO people (id, name) VALUES ('X', 'x')",
    "MERGE INTO people USING x ON 1 WHEN MATCHED THEN DELETE",
    "ALTER TABLE people ADD COLUMN x",
    "ATTACH DATABASE 'other.db' AS other",
    "DETACH DATABASE main",
    "PRAGMA journal_mode=DELETE",
    "PRAGMA user_version=5",
    "PRAGMA query_only=OFF",
    "VACUUM",
    "VACUUM INTO 'copy.db'",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "SELECT 1; DROP TABLE hazards",
    "SELECT 1;DROP TABLE hazards;",
    "SELECT 1 /* harmless */; DELETE FROM hazards",
    "SELECT 1 -- harmless\n; DELETE FROM hazards",
    "-- a comment first\nDELETE FROM hazards",
    "/* a comment first */ DELETE FROM hazards",
    "WITH x AS (SELECT 1) DELETE FROM hazards",
    "WITH x AS (SELECT 1) INSERT INTO people SELECT 'X', 'x', NULL FROM x",
    "WITH x AS (SELECT 1) UPDATE people SET name = 'x'",
    "SELECT * FROM people WHERE 1 = 1 UNION SELECT 1, 2, 3; UPDATE x SET y = 1",
    "EXPLAIN DELETE FROM hazards",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_writes_are_refused_before_they_run(store_path, statement, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where ATTACH or VACUUM INTO would leave a file
    before = fingerprint(store_path)
    result = sql(store_path, "--", statement)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: refused: ")
    assert fingerprint(store_path) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("statement", ["SELECT * FROM pragma_user_version", "SELECT * FROM pragma_journal_mode",
                                       "SELECT load_extension('x')"])
def test_the_authorizer_refuses_what_the_statement_check_lets_through(store_path, statement):
    before = fingerprint(store_path)
    result = sql(store_path, statement)
    assert result.exit_code == 2, result.output
    assert "error: refused: raw queries are read-only (not authorized)" in result.output
    assert fingerprint(store_path) == before


@pytest.mark.parametrize("statement", ["DELETE FROM hazards", "UPDATE people SET name = 'x'", "DROP TABLE people",
                                       "ATTACH DATABASE '{tmp}/attached.db' AS other", "PRAGMA user_version=5",
                                       "PRAGMA query_only=OFF", "CREATE TEMP TABLE t (a)"])
def test_each_guard_below_the_statement_check_holds_on_its_own(store_path, tmp_path, statement):
    statement = statement.format(tmp=tmp_path)
    before = fingerprint(store_path)
    # the authorizer alone, on an ordinary read-write connection
    db = sqlite3.connect(store_path)
    db.set_authorizer(rawquery._authorize)
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        db.execute(statement)
    db.close()
    # query_only and the read-only file, without the authorizer (query_only=OFF itself is a no-op there)
    if "query_only" not in statement and "TEMP" not in statement:
        db = open_readonly(store_path)
        db.set_authorizer(None)
        with pytest.raises(sqlite3.OperationalError):
            db.execute(statement)
        db.close()
    assert fingerprint(store_path) == before
    assert list(tmp_path.iterdir()) == []  # ATTACH created no file


@pytest.mark.parametrize("statement", [
    "SELECT 1 AS one;",
    "  /* a comment */ SELECT 1 AS one -- and another",
    "WITH t AS (SELECT 1 AS one) SELECT one FROM t",
    "select 1 as one; -- trailing",
])
def test_one_select_with_comments_and_a_trailing_semicolon_runs(store_path, statement):
    result = sql(store_path, "--format", "jsonl", "--", statement)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == {"one": 1}


def test_reads_that_look_like_writes_are_allowed(store_path):
    result = sql(store_path, "SELECT replace(name, '人员', 'P') AS n, 'DELETE FROM x' AS s, \"set\" FROM "
                             "(SELECT name, 1 AS \"set\" FROM people) ORDER BY n LIMIT 1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["rows"] == [{"n": "P01", "s": "DELETE FROM x", "set": 1}]
    info = sql(store_path, "SELECT name FROM pragma_table_info('hazards') LIMIT 2", "--format", "csv")
    assert info.output.splitlines() == ["name", "id", "description"]
    each = sql(store_path, "SELECT value FROM json_each('[3, 4]')", "--format", "csv")
    assert each.output.splitlines() == ["value", "3", "4"]


def test_parameters_are_bound_never_pasted(store_path):
    before = fingerprint(store_path)
    evil = "'; DROP TABLE hazards; --"
    result = sql(store_path, "SELECT :v AS v, (SELECT count(*) FROM hazards WHERE id = :v) AS n", "--param",
                 f"v={evil}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["rows"] == [{"v": evil, "n": 0}]
    assert fingerprint(store_path) == before
    with run_sql(store_path, "SELECT count(*) AS n FROM hazards WHERE id = :id", {"id": "H1"}) as result:
        assert list(result) == [{"n": 1}]


def test_a_runaway_query_is_stopped(store_path):
    started = time.monotonic()
    result = sql(store_path, COUNTING, "--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "error: query stopped after 0.5 s, its time limit" in result.output
    assert elapsed < 2


def test_the_time_limit_defaults_to_the_setting(store_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_QUERY_TIMEOUT", "0.3")
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="stopped after 0.3 s"):
        run_sql(store_path, COUNTING)
    assert time.monotonic() - started < 2


def test_time_spent_by_the_reader_does_not_count(store_path):
    with run_sql(store_path, "SELECT id FROM people ORDER BY id LIMIT 6", timeout=0.2) as result:
        got = []
        for row in result:
            time.sleep(0.06)  # 0.36 s in all, outside SQLite
            got.append(row["id"])
    assert len(got) == 6


def test_a_view_is_capped_and_says_so(store_path):
    table = sql(store_path, "SELECT id FROM people ORDER BY id", "--max-rows", "3")
    assert table.exit_code == 0
    assert table.stdout.splitlines() == ["id", "------------", "PE-C-DEP", "PE-C-EM-HEAD", "PE-C-EXEC",
                                         "… truncated: the first 3 rows"]
    assert "warning: truncated at 3 rows" in table.stderr
    as_json = orjson.loads(sql(store_path, "SELECT id FROM people", "--max-rows", "3", "--format", "json").stdout)
    assert (len(as_json["rows"]), as_json["row_count"], as_json["truncated"]) == (3, 3, True)
    exact = sql(store_path, "SELECT id FROM people", "--max-rows", "31", "--format", "json")
    assert orjson.loads(exact.stdout)["truncated"] is False and exact.stderr == ""


def test_the_row_cap_defaults_to_the_setting_except_for_a_csv_export(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_QUERY_ROW_CAP", "5")
    jsonl = sql(store_path, "SELECT id FROM people", "--format", "jsonl")
    assert len(jsonl.stdout.splitlines()) == 5 and "warning: truncated at 5 rows" in jsonl.stderr
    out = tmp_path / "people.csv"
    export = sql(store_path, "SELECT id, name FROM people", "--format", "csv", "-o", str(out))
    assert export.exit_code == 0 and export.stderr == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 31
    cut = sql(store_path, "SELECT id FROM people", "--format", "csv", "-o", str(out), "--max-rows", "4")
    assert cut.exit_code == 0 and "warning: truncated at 4 rows; raise --max-rows (0: all)" in cut.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 4
    everything = sql(store_path, "SELECT id FROM people", "--format", "jsonl", "--max-rows", "0")
    assert len(everything.stdout.splitlines()) == 31 and everything.stderr == ""


def test_api_result_signals_truncation_once_read(store_path):
    result = run_sql(store_path, "SELECT id FROM people ORDER BY id", max_rows=2)
    assert result.columns == ["id"] and result.truncated is False
    assert [r["id"] for r in result] == ["PE-C-DEP", "PE-C-EM-HEAD"]
    assert result.truncated is True and result.row_count == 2
    assert result._close is None  # its connection is closed


@pytest.mark.parametrize("args, code, message", [
    (["SELECT * FROM nope"], 1, "error: SQL error: no such table: nope"),
    (["SELECT * FROM WHERE"], 1, "error: SQL error: near \"WHERE\": syntax error"),
    (["SELECT 'unterminated"], 1, "error: SQL error: unrecognized token: \"'unterminated\""),
    (["SELECT :missing"], 2, "error: SQL: You did not supply a value for binding parameter :missing"),
    (["SELECT 1", "--param", "a-b=1"], 2, "error: parameter name 'a-b' is not a name"),
    (["SELECT 1", "--param", "novalue"], 2, "error: --param 'novalue': expected NAME=VALUE"),
    (["   ;  "], 2, "error: no SQL statement given"),
    (["SELECT 1", "--timeout", "-1"], 2, "cannot be negative"),
])
def test_errors_carry_sqlites_message(store_path, args, code, message):
    result = sql(store_path, *args)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_the_store_must_exist_and_be_sqlite(tmp_path):
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["sql", "SELECT 1", "--store", str(missing)])
    assert result.exit_code == 1 and "store not found" in result.output
    assert not missing.exists()
    neo = CliRunner().invoke(main, ["sql", "SELECT 1", "--store", "bolt://localhost:7687"])
    assert neo.exit_code == 2 and "SQL runs on the embedded (SQLite) store; on Neo4j use Cypher" in neo.output
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    with pytest.raises(StoreError, match="cannot open store .*junk.db: file is not a database"):
        run_sql(junk, "SELECT 1")


def test_sql_from_stdin_and_duplicate_column_names(store_path):
    result = sql(store_path, "-", "--format", "json", input="SELECT 1 AS a, 2 AS a, 3 AS a_2")
    assert orjson.loads(result.output)["columns"] == ["a", "a_3", "a_2"]


def test_check_sql_is_conservative():
    assert check_sql("WITH a AS (SELECT 1) SELECT * FROM a") == "WITH a AS (SELECT 1) SELECT * FROM a"
    for statement in ("SELECT 1 FROM t WHERE name = 'x'; ", "SELECT [set] FROM t", 'SELECT "delete" FROM t',
                      "SELECT :update"):
        check_sql(statement)
    with pytest.raises(QueryRefused, match="SET is not allowed"):
        check_sql("SELECT 1 FROM t WHERE x IN (SELECT 1) AND set")
    with pytest.raises(UsageError, match="no SQL statement"):
        check_sql("-- only a comment")


def test_runners_sit_side_by_side(store_path):
    assert rawquery.language_of(str(store_path)) == "sql"
    assert rawquery.language_of("neo4j://example:7687") == "cypher"
    with rawquery.run(store_path, "SELECT 2 AS two") as result:
        assert (result.language, list(result)) == ("sql", [{"two": 2}])

    def echo(store, text, params, timeout, max_rows):
        result = rawquery.RawResult("echo", ["text"], iter(()), max_rows)
        result.rows = rawquery.capped(iter([{"text": text}] * 3), result)
        return result

    rawquery.register("echo", echo)
    try:
        result = rawquery.run(store_path, "hello", language="echo", max_rows=2)
        assert list(result) == [{"text": "hello"}] * 2 and result.truncated
    finally:
        del rawquery.RUNNERS["echo"]
    with pytest.raises(UsageError, match="raw klingon queries are not available; available: sql"):
        rawquery.run(store_path, "x", language="klingon")


def test_a_store_object_is_read_through_its_own_read_only_connection(store_path):
    with SQLiteStore(store_path, readonly=True) as store, run_sql(store, "SELECT count(*) AS n FROM people") as result:
        assert list(result) == [{"n": 31}]
    with pytest.raises(StoreError):
        run_sql(store_path.parent / "nothing.db", "SELECT 1")


@pytest.mark.parametrize("statement", REFUSED)
def test_the_statement_check_alone_refuses_every_write(statement):
    with pytest.raises(QueryRefused, match="^refused: "):
        check_sql(statement)
