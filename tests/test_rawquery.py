"""Raw read-only SQL on the embedded store: writes refused before they run, runaway queries stopped,
caps signalled, parameters bound — and the store byte-for-byte unchanged afterwards. Then the resources
a raw query may take (issue #19 item 5): wall time end to end, bytes and memory, on SQL and on Cypher."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time

import orjson
import pytest
import scenario
from click.testing import CliRunner

from accountability import rawquery, sqlworker
from accountability.cli import main
from accountability.dataset import load
from accountability.errors import AccountabilityError, StoreError, UsageError
from accountability.rawquery import (
    QueryRefused,
    QueryTimeout,
    QueryTooLarge,
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


@pytest.mark.parametrize("statement", ["SELECT * FROM pragma_user_version", "SELECT * FROM pragma_journal_mode"])
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
    db.set_authorizer(sqlworker.authorize)
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


def test_time_spent_by_the_reader_counts(store_path):
    got = []
    with pytest.raises(QueryTimeout, match="stopped after 1.5 s"), \
            run_sql(store_path, "SELECT id FROM people ORDER BY id", timeout=1.5) as result:
        for row in result:
            time.sleep(0.2)  # writing a row out, slowly: 6.2 s for the 31 people
            got.append(row["id"])
    assert len(got) < 31
    assert result._close is None  # the query's process is gone


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
    (["SELECT 1", "--max-bytes", "-1"], 2, "cannot be negative"),
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
    with pytest.raises(UsageError, match="raw klingon queries are not available; available: cypher, sql"):
        rawquery.run(store_path, "x", language="klingon")


def test_sql_and_cypher_are_one_command_named_by_the_language(store_path, tmp_path):
    assert main.commands["sql"] is main.commands["cypher"]
    on_sqlite = CliRunner().invoke(main, ["cypher", "MATCH (n) RETURN n", "--store", str(store_path)])
    assert on_sqlite.exit_code == 2 and "Cypher runs on a Neo4j store" in on_sqlite.output
    missing = tmp_path / "no" / "such"
    into_nowhere = CliRunner().invoke(main, ["cypher", "RETURN 1", "-o", f"{missing}/q.csv", "--store",
                                             str(store_path)])
    assert into_nowhere.exit_code == 2 and f"the folder '{missing}' does not exist" in into_nowhere.output


def test_importing_the_raw_queries_leaves_the_neo4j_driver_unloaded():
    code = "import sys, accountability.rawquery; print(sorted(m for m in sys.modules if m.split('.')[0] == 'neo4j'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def test_a_store_object_is_read_through_its_own_read_only_connection(store_path):
    with SQLiteStore(store_path, readonly=True) as store, run_sql(store, "SELECT count(*) AS n FROM people") as result:
        assert list(result) == [{"n": 31}]
    with pytest.raises(StoreError):
        run_sql(store_path.parent / "nothing.db", "SELECT 1")


@pytest.mark.parametrize("statement", REFUSED)
def test_the_statement_check_alone_refuses_every_write(statement):
    with pytest.raises(QueryRefused, match="^refused: "):
        check_sql(statement)


# -- resources (issue #19 item 5): every attack stops at its limit, with a message naming it ----------------

QUADRATIC = ("SELECT instr(h, n) FROM (SELECT replace(zeroblob(4e6), x'00', 'a') AS h, "
             "replace(zeroblob(2e5), x'00', 'a') || 'b' AS n)")  # one SQLite step of hours
WIDE = "SELECT " + ", ".join(["printf('%.*c', 4e7, 'x')"] * 50)  # 50 values of 40 MB, each under the cap
ZEROS = "SELECT " + ", ".join(["zeroblob(4e7)"] * 50)  # built only when the row is read
CROSS = "SELECT * FROM people a, people b, people c, people d, people e"  # 28 million rows
ATTACKS = {  # name: (arguments, seconds allowed, what the message says) — before: 96 s and 17.6 GB, 20 s, 35 s
    "randomblob": (["SELECT randomblob(4e8) AS a, randomblob(4e8) AS b, randomblob(4e8) AS c", "--timeout", "1"], 1,
                   "error: a value is longer than 50 MB, the byte cap, which no value in a raw query may pass"),
    "printf": (["SELECT printf('%.*c', 1e9, 'x') AS a", "--timeout", "1"], 1,
               "error: query stopped after 1 s, its time limit"),
    "cross join to csv": ([CROSS, "--timeout", "2", "--format", "csv", "-o", "{tmp}/cross.csv"], 2,
                          "error: query stopped after 2 s, its time limit"),
    "quadratic instr": ([QUADRATIC, "--timeout", "1"], 1, "error: query stopped after 1 s, its time limit"),
    "wide row": ([WIDE, "--timeout", "3", "--format", "csv"], 3, "error: query stopped after 3 s, its time limit"),
    # the memory limit, not the clock, must stop this one: a time limit it cannot reach first on a busy machine
    "wide row of zeros": ([ZEROS, "--timeout", "15", "--format", "csv"], 15,
                          "error: the query needs more than 264 MB of memory, the limit for a raw query"),
}


def stops_at_its_limit(command, store: str, attack: tuple, tmp_path) -> None:
    """The raw ``command`` (sql, cypher) given ``attack``'s arguments fails within its seconds (and 2 more),
    saying what stopped it, and leaves no half-written export behind."""
    args, seconds, message = attack
    started = time.monotonic()
    result = CliRunner().invoke(main, [command, "--store", store, *(a.format(tmp=tmp_path) for a in args)])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr
    assert elapsed < seconds + 2, f"{elapsed:.1f} s"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attack_stops_at_its_limit(store_path, tmp_path, name):
    before = fingerprint(store_path)
    stops_at_its_limit("sql", str(store_path), ATTACKS[name], tmp_path)
    assert fingerprint(store_path) == before


def run_cli(*args: str) -> tuple[float, float, int, str]:
    """The real command line in a process of its own: seconds, peak memory in MB (the query's process
    included), exit code and stderr. Its address space is capped at 4 GB, so that an attack that gets
    through fails here instead of taking the machine."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30)); "
            "from accountability.cli import run; run()")
    # A small launcher starts the command and reads its peak: a child forked straight from this test process
    # (large, late in a suite) would count the parent's pages it held before exec in its own peak.
    launcher = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
                "stderr=subprocess.PIPE); err = p.stderr.read(); _, status, usage = os.wait4(p.pid, 0); "
                "sys.stderr.buffer.write(err); print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-c", code, "sql", *args],
                          capture_output=True, check=False)
    peak_kb, returncode = map(int, done.stdout.split())
    return time.monotonic() - started, peak_kb / 1024, returncode, done.stderr.decode()


@pytest.mark.parametrize("name", ["randomblob", "printf", "wide row", "wide row of zeros"])
def test_an_attack_stays_far_below_a_gigabyte(store_path, name):
    args, seconds, message = ATTACKS[name]
    start_up, baseline, code, _ = run_cli("SELECT 1", "--store", str(store_path))
    assert code == 0
    elapsed, peak, code, err = run_cli(*args, "--store", str(store_path))
    assert code == 1 and message in err
    assert peak < 1024, f"{name}: {peak:.0f} MB (a plain query: {baseline:.0f} MB)"
    assert elapsed < start_up + seconds + 2, f"{name}: {elapsed:.1f} s (a plain query: {start_up:.1f} s)"


@pytest.mark.parametrize("statement", [
    "SELECT fts3_tokenizer('simple') AS p",
    "SELECT fts3_tokenizer('simple', x'4141414141414141') AS p",
    "SELECT 1 FROM people WHERE name = (SELECT FTS3_TOKENIZER('porter'))",
    "SELECT load_extension('/tmp/x.so') AS p",
    "SELECT fts5(NULL) AS p",
])
def test_functions_that_reach_beyond_the_data_are_refused(store_path, statement):
    before = fingerprint(store_path)
    result = sql(store_path, statement)
    assert result.exit_code == 2, result.output
    name = statement.split("(")[-2].split()[-1].lower()
    assert result.output == (f"error: refused: {name}() is not available in a raw query: it loads code or hands out "
                             "native pointers\n")
    assert fingerprint(store_path) == before


def test_a_view_stops_at_the_byte_cap_and_says_so(store_path, tmp_path, monkeypatch):
    every = orjson.loads(sql(store_path, "SELECT id, name FROM people ORDER BY id", "--format", "json").stdout)["rows"]
    sizes = [len(r["id"]) + len(r["name"].encode()) for r in every]
    fits = next(i for i in range(len(sizes)) if sum(sizes[:i + 1]) > 100)  # rows within 100 bytes
    view = sql(store_path, "SELECT id, name FROM people ORDER BY id", "--max-bytes", "100", "--format", "json")
    body = orjson.loads(view.stdout)
    assert (body["rows"], body["row_count"], body["truncated"]) == (every[:fits], fits, True)
    assert f"warning: truncated at 100 bytes of values ({fits} rows); raise --max-bytes (0: all)" in view.stderr
    table = sql(store_path, "SELECT id, name FROM people ORDER BY id", "--max-bytes", "100")
    assert table.stdout.splitlines()[-1] == f"… truncated: the first {fits} rows"
    with run_sql(store_path, "SELECT id, name FROM people ORDER BY id", max_bytes=100) as result:
        assert list(result) == every[:fits]
    assert (result.truncated, result.truncated_by, result.byte_count) == (True, "bytes", sum(sizes[:fits]))
    # the setting is the default; a CSV export is not cut by it, but no value may pass it (nor 1 MB)
    monkeypatch.setenv("ACCOUNTABILITY_QUERY_BYTE_CAP", "100")
    assert orjson.loads(sql(store_path, "SELECT id, name FROM people ORDER BY id", "--format", "json").stdout
                        )["row_count"] == fits
    out = tmp_path / "people.csv"
    export = sql(store_path, "SELECT id, name FROM people", "--format", "csv", "-o", str(out))
    assert export.exit_code == 0 and export.stderr == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 31
    monkeypatch.setenv("ACCOUNTABILITY_QUERY_BYTE_CAP", "2000000")
    assert sql(store_path, "SELECT length(randomblob(2000000)) AS n", "--format", "csv").output == "n\n2000000\n"
    long = sql(store_path, "SELECT length(randomblob(2000001)) AS n", "--format", "csv")
    assert long.exit_code == 1
    assert "error: a value is longer than 2 MB, the byte cap, which no value in a raw query may pass" in long.output
    with pytest.raises(QueryTooLarge, match="longer than 2 MB"):
        run_sql(store_path, "SELECT length(randomblob(2000001))", max_bytes=100)


def test_values_come_out_as_before(store_path):
    """Through the query's process: integers to 64 bits, floats, NULL, text, blobs as hex, one row per row."""
    statement = ("SELECT x'00ff10' AS b, 1.5 AS f, NULL AS n, '东湖 δ' AS t, 9223372036854775807 AS big, "
                 "-0.0 AS z, 1e308 * 10 AS inf")
    result = sql(store_path, statement, "--format", "jsonl")
    assert result.stdout == '{"b":"00ff10","f":1.5,"n":null,"t":"东湖 δ","big":9223372036854775807,"z":-0.0,"inf":null}\n'
    with run_sql(store_path, statement) as rows:
        assert list(rows)[0]["inf"] == float("inf")
    many = sql(store_path, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 50000) "
                           "SELECT n, printf('%05d', n) AS s FROM c", "--format", "csv", "--timeout", "0")
    assert many.stdout.splitlines()[1:] == [f"{n},{n:05d}" for n in range(1, 50001)]


def test_a_query_process_that_dies_is_an_error_not_a_hang(store_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")  # an interpreter that ends at once, saying nothing
    with pytest.raises(AccountabilityError, match=r"the query's process ended without an answer \(exit code 1\)"):
        run_sql(store_path, "SELECT 1")
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(AccountabilityError, match="cannot start a process for the query"):
        run_sql(store_path, "SELECT 1")


def test_a_frame_may_hold_plain_values_only():
    import io
    import pickle

    with pytest.raises(pickle.UnpicklingError, match="plain values only, not posix.system"):
        sqlworker.PlainUnpickler(io.BytesIO(pickle.dumps(("rows", [(os.system,)])))).load()


# -- the same on Neo4j, with the real server ------------------------------------------------------------------

def cypher(uri: str, *args: str):
    return CliRunner().invoke(main, ["cypher", "--store", uri, *args])


CYPHER_ATTACKS = {  # name: (arguments, seconds allowed, what the message says)
    "runaway": (["UNWIND range(1, 100000000) AS x RETURN count(x) AS n", "--timeout", "1"], 1,
                "error: query stopped after 1 s, its time limit"),
    "one huge record": (["RETURN range(1, 5000000) AS r", "--timeout", "1", "--format", "jsonl"], 1,
                        "error: query stopped after 1 s, its time limit"),  # before: 25 s decoding in the driver
    "export": (["UNWIND range(1, 100000000) AS x RETURN x, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' AS s",
                "--timeout", "2", "--format", "csv", "-o", "{tmp}/big.csv"], 2,
               "error: query stopped after 2 s, its time limit"),
}


@pytest.mark.neo4j
@pytest.mark.parametrize("name", list(CYPHER_ATTACKS))
def test_a_cypher_attack_stops_at_its_limit(neo4j_server, tmp_path, name):
    assert cypher(neo4j_server, "RETURN 1 AS one").exit_code == 0  # connected once: the driver is warm
    stops_at_its_limit("cypher", neo4j_server, CYPHER_ATTACKS[name], tmp_path)


@pytest.mark.neo4j
def test_a_slow_cypher_reader_is_stopped(neo4j_server):
    from accountability.rawquery import run_cypher

    got = []
    with pytest.raises(QueryTimeout, match="stopped after 1.5 s"), \
            run_cypher(neo4j_server, "UNWIND range(1, 40) AS x RETURN x", timeout=1.5) as result:
        for row in result:  # all 40 arrive at once; writing them out takes 8 s
            time.sleep(0.2)
            got.append(row["x"])
    assert len(got) < 40


@pytest.mark.neo4j
def test_a_cypher_view_stops_at_the_byte_cap(neo4j_server, tmp_path):
    from accountability.rawquery import run_cypher

    statement = "UNWIND range(1, 100000) AS x RETURN x, 'abcdefghij' AS s"  # 18 bytes a row
    with run_cypher(neo4j_server, statement, max_bytes=10_000, max_rows=0) as result:
        rows = list(result)
    assert (len(rows), result.byte_count, result.truncated, result.truncated_by) == (555, 9990, True, "bytes")
    view = cypher(neo4j_server, statement, "--max-bytes", "10000", "--max-rows", "0", "--format", "jsonl")
    assert len(view.stdout.splitlines()) == 555
    assert "warning: truncated at 10,000 bytes of values (555 rows); raise --max-bytes (0: all)" in view.stderr
    nodes = cypher(neo4j_server, "UNWIND range(1, 3) AS x RETURN {id: x, name: '东湖'} AS m", "--max-bytes", "30",
                   "--format", "jsonl")  # a map counts its keys and values: 2 + 8 + 4 + 6 = 20 bytes
    assert list(map(orjson.loads, nodes.stdout.splitlines())) == [{"m": {"id": 1, "name": "东湖"}}]
    out = tmp_path / "all.csv"
    export = cypher(neo4j_server, statement, "--max-bytes", "0", "--format", "csv", "-o", str(out), "--timeout", "60")
    assert export.exit_code == 0 and export.stderr == ""
    assert len(out.read_text().splitlines()) == 1 + 100_000
    default = cypher(neo4j_server, statement, "--format", "csv", "--timeout", "60")  # an export is not cut
    assert default.exit_code == 0 and len(default.stdout.splitlines()) == 1 + 100_000
