"""Raw, read-only SQL for auditors on the embedded (SQLite) store.

The store must come out of any raw query exactly as it went in, so a write is refused before it runs,
by four independent guards — any one of them is enough, all of them are kept:

1. a statement check: one statement only, starting with ``SELECT`` or ``WITH``, and none of the words
   that write or change the session (``DELETE``, ``DROP``, ``INSERT``, ``UPDATE … SET``, ``ATTACH``,
   ``PRAGMA`` …) outside strings, quoted names and comments — so ``SELECT 1; DROP TABLE x``,
   ``SELECT 1 /* */; DELETE …`` and ``WITH x AS (…) DELETE …`` are all refused with a clear message;
2. sqlite3's authorizer, which denies every action except reading, selecting, functions and recursive
   CTEs (plus the introspection pragmas behind ``pragma_table_info(…)``);
3. ``PRAGMA query_only=ON``, and no database may be attached (``SQLITE_LIMIT_ATTACHED`` 0: an ``ATTACH``
   would create a file);
4. the file opened read-only (``file:…?mode=ro``), on a connection of its own — never the store's
   (:func:`~accountability.sqlworker.open_readonly`).

Resources are bounded as for every raw query (see :mod:`accountability.rawquery.base`), and more:

- time: the statement runs in a process of its own (:mod:`accountability.sqlworker`) that is killed at
  the deadline, since SQLite does some long work in one step nothing else can interrupt
  (``printf('%.*c', 1e9, 'x')``: 12 s);
- memory: no single value, not even an intermediate one, may be longer than the byte cap
  (``SQLITE_LIMIT_LENGTH``), so ``randomblob(4e8)`` fails at once instead of building gigabytes, and the
  query's process may take four times the byte cap and 64 MB (``RLIMIT_AS``), for a row of many long
  values;
- reach: functions that load code or hand out native pointers (``load_extension``, ``fts3_tokenizer``,
  ``fts5``) are denied by the authorizer and extension loading is off.

Parameters are bound as SQL named parameters (``:name``), never pasted into the text.

    >>> check_sql("SELECT id FROM hazards WHERE level = :level;")
    'SELECT id FROM hazards WHERE level = :level;'
    >>> check_sql("SELECT 1 /* harmless */; DELETE FROM hazards")
    Traceback (most recent call last):
    ...
    accountability.rawquery.base.QueryRefused: refused: only one statement may run, found 2
    >>> check_sql("SELECT replace(name, 'x', 'y') FROM people -- replace() is a function")
    "SELECT replace(name, 'x', 'y') FROM people -- replace() is a function"
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from accountability.errors import AccountabilityError, StoreError, UsageError
from accountability.rawquery.base import (
    MEMORY_BASE,
    MEMORY_PER_VALUE,
    Deadline,
    Grammar,
    Limits,
    QueryRefused,
    QueryTooLarge,
    RawResult,
    capped,
    check,
    check_params,
    doubled,
    in_bytes,
    limits,
    timeout_error,
    tokenizer,
    unique_columns,
)
from accountability.sqlworker import Worker
from accountability.stores import Store, is_neo4j

# Words that write, change the schema or the session; refused anywhere outside strings, names and comments.
FORBIDDEN = frozenset(
    ["ALTER", "ANALYZE", "ATTACH", "BEGIN", "COMMIT", "CREATE", "DELETE", "DETACH", "DROP", "GRANT", "INSERT", "MERGE", "PRAGMA", "REINDEX", "RELEASE", "REPLACE", "REVOKE", "ROLLBACK", "SAVEPOINT", "SET", "TRUNCATE", "UPDATE", "UPSERT", "VACUUM"]
)
FIRST_WORDS = ("SELECT", "WITH")
SQL = Grammar(
    "SQL",
    tokenizer(comment=r"--[^\n]*", string=doubled("'"),
              quoted="|".join([doubled('"'), doubled("`"), r"\[[^\]]*(?:\]|\Z)"]),
              parameter=r"[:@$][A-Za-z0-9_]+|\?[0-9]*", word=r"[A-Za-z_][A-Za-z0-9_$]*"),
    FIRST_WORDS,
    "refused: only a read-only SELECT (or WITH … SELECT) may run, not {first}",
    FORBIDDEN,
    lambda word, before, after: word == "REPLACE" and after == "(",  # replace(x, y, z) is a string function
)


def check_sql(sql: str) -> str:
    """``sql`` when it is one read-only ``SELECT``/``WITH`` statement; otherwise :class:`QueryRefused`."""
    return check(SQL, sql)


def _path(store: Store | str | Path) -> Path:
    if isinstance(store, (str, Path)):
        if isinstance(store, str) and is_neo4j(store):
            raise UsageError("SQL runs on the embedded (SQLite) store; on Neo4j use Cypher")
        path = Path(store)
    else:
        path = getattr(store, "path", None)
        if path is None:
            raise UsageError("SQL runs on the embedded (SQLite) store; on Neo4j use Cypher")
    if not path.is_file():
        raise StoreError(f"store not found: {path}")
    return path


def _translate(kind: str, message: str, deadline: Deadline, limit: Limits) -> AccountabilityError:
    """The error a query's process reported (``kind``: the exception's class name) as the user sees it."""
    if deadline.passed():
        return timeout_error(deadline.limit)
    if kind == "open":
        return StoreError(message)
    if kind in ("no rows", "Warning"):  # Warning: "You can only execute one statement at a time."
        return QueryRefused(f"refused: {message}")
    if kind == "MemoryError":
        return QueryTooLarge(f"the query needs more than {in_bytes(limit.memory or 0)} of memory, the limit for a raw "
                             f"query ({MEMORY_PER_VALUE} times the byte cap of {in_bytes(limit.value_cap or 0)} and "
                             f"{in_bytes(MEMORY_BASE)}; raise it with --max-bytes or ACCOUNTABILITY_QUERY_BYTE_CAP)")
    if kind == "DataError" and "too big" in message:
        return QueryTooLarge(f"a value is longer than {in_bytes(limit.value_cap or 0)}, the byte cap, which no value "
                             "in a raw query may pass (raise it with --max-bytes or ACCOUNTABILITY_QUERY_BYTE_CAP)")
    function = re.search(r"not authorized to use function: (\w+)", message)
    if function:
        return QueryRefused(f"refused: {function.group(1).lower()}() is not available in a raw query: it loads code or "
                            "hands out native pointers")
    if "not authorized" in message:
        return QueryRefused(f"refused: raw queries are read-only ({message})")
    if kind == "ProgrammingError":
        return UsageError(f"SQL: {message}")
    if "readonly" in message or "read-only" in message:
        return QueryRefused(f"refused: raw queries are read-only ({message})")
    return AccountabilityError(f"SQL error: {message}")


def _receive(worker: Worker, deadline: Deadline, limit: Limits) -> tuple:
    """The query process's next frame, before the deadline; its errors as the user sees them."""
    try:
        frame = worker.receive(deadline.remaining)
    except TimeoutError:
        raise timeout_error(limit.timeout) from None
    except EOFError as exc:
        if deadline.passed() or worker.process.returncode == -signal.SIGXCPU:  # killed by its CPU limit
            raise timeout_error(limit.timeout) from None
        raise AccountabilityError(f"the query's process ended without an answer ({exc})") from None
    if frame[0] == "error":
        raise _translate(frame[1], frame[2], deadline, limit)
    return frame


def run_sql(store: Store | str | Path, sql: str, params: dict[str, Any] | None = None,
            timeout: float | None = None, max_rows: int | None = None, max_bytes: int | None = None) -> RawResult:
    """Run one read-only SQL statement on the embedded store at ``store`` (a path or a SQLite store).

    ``params`` are bound as named parameters (``:name``). ``timeout`` (seconds, from this call to the last
    row), ``max_rows`` and ``max_bytes``: None takes the settings, 0 means none (see :func:`limits`).
    Refusals raise :class:`QueryRefused` (a usage error), an overrun :class:`QueryTimeout`, a value or a
    process past its limits :class:`QueryTooLarge`, SQLite's own errors an :class:`AccountabilityError`
    with SQLite's message. Blobs come out as hex text.

    The statement runs in a process of its own (:mod:`accountability.sqlworker`), killed at the deadline.
    """
    check_sql(sql)
    params = check_params(params)
    limit = limits(timeout, max_rows, max_bytes)
    deadline = Deadline(limit.timeout)
    job = {"path": str(_path(store)), "sql": sql, "params": params, "value_cap": limit.value_cap,
           "memory": limit.memory, "timeout": limit.timeout}
    try:
        worker = Worker(job)
    except OSError as exc:
        raise AccountabilityError(f"cannot start a process for the query: {exc}") from None
    try:
        columns = unique_columns(_receive(worker, deadline, limit)[1])
    except BaseException:
        worker.close()
        raise
    result = RawResult("sql", columns, iter(()), limit.max_rows, max_bytes=limit.max_bytes, deadline=deadline,
                       _close=worker.close)

    def fetch() -> Iterator[dict]:
        try:
            while (frame := _receive(worker, deadline, limit))[0] == "rows":
                for row in frame[1]:
                    yield dict(zip(columns, row))  # blobs come as hex text already
        finally:
            result.close()

    result.rows = capped(fetch(), result)
    return result
