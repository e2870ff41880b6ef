"""Raw, read-only queries for auditors: SQL on the embedded store (and, beside it, Cypher on Neo4j).

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

Resources are bounded as well, so that a query cannot take the machine with it:

- time: ``timeout`` seconds (default the ``query_timeout`` setting) of wall time from the call to the
  last row, whatever it is spent on. The statement runs in a process of its own
  (:mod:`accountability.sqlworker`) that is killed at the deadline, since SQLite does some long work in
  one step nothing else can interrupt (``printf('%.*c', 1e9, 'x')``: 12 s); turning rows into values
  and what the caller does between two rows (writing them out) count too — the result raises
  :class:`QueryTimeout` at the first row past the limit. :func:`alarm` adds the same limit as a signal
  for a process that owns its main thread (the command line);
- size: a row cap (default ``query_row_cap``) and a byte cap (default ``query_byte_cap``, bytes of
  values) keep a view small — the result says ``truncated`` (and by which cap) once its rows are read,
  it never cuts silently;
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
    accountability.rawquery.QueryRefused: refused: only one statement may run, found 2
    >>> check_sql("SELECT replace(name, 'x', 'y') FROM people -- replace() is a function")
    "SELECT replace(name, 'x', 'y') FROM people -- replace() is a function"

Other query languages sit beside SQL: a runner is ``runner(store, text, params, timeout, max_rows)``
(and ``max_bytes`` when a byte cap is given) returning a :class:`RawResult`, registered under its
language with :func:`register`, or found lazily in :data:`LAZY_RUNNERS` (Cypher:
``accountability.stores.neo4j_query.run_cypher``; it should open a READ-access session, pass the time
left to the driver's transaction and refuse plans that write). :func:`run` picks the
language from the store: SQL for a SQLite file, Cypher for a ``bolt://``/``neo4j://`` URI.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Self

from accountability import settings
from accountability.errors import AccountabilityError, StoreError, UsageError
from accountability.sqlworker import Worker, open_readonly  # noqa: F401 (the guarded connection, re-exported)
from accountability.stores import Store, is_neo4j

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Words that write, change the schema or the session; refused anywhere outside strings, names and comments.
FORBIDDEN = frozenset(
    ["ALTER", "ANALYZE", "ATTACH", "BEGIN", "COMMIT", "CREATE", "DELETE", "DETACH", "DROP", "GRANT", "INSERT", "MERGE", "PRAGMA", "REINDEX", "RELEASE", "REPLACE", "REVOKE", "ROLLBACK", "SAVEPOINT", "SET", "TRUNCATE", "UPDATE", "UPSERT", "VACUUM"]
)
FIRST_WORDS = ("SELECT", "WITH")
_TOKENS = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^']|'')*(?:'|\Z))
    | (?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`(?:[^`]|``)*(?:`|\Z)|\[[^\]]*(?:\]|\Z))
    | (?P<parameter>[:@$][A-Za-z0-9_]+|\?[0-9]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<semicolon>;)
    | (?P<other>.)
    """,
    re.DOTALL | re.VERBOSE,
)
MIN_VALUE_CAP = 1_000_000  # below this SQLite cannot even read its schema (SQLITE_LIMIT_LENGTH counts that too)
MEMORY_PER_VALUE = 4  # a query's process may take four of the longest values it may build …
MEMORY_BASE = 64_000_000  # … plus what an ordinary query needs: page cache, sorter, schema, rows in flight


class QueryRefused(UsageError):
    """A raw query that could write, or is not a single read-only statement: refused before it runs."""


class QueryTimeout(AccountabilityError):
    """A raw query ran past its time limit and was stopped."""


class QueryTooLarge(AccountabilityError):
    """A raw query built a value longer than its byte cap allows, or needed more memory than it may use."""


def timeout_error(limit: float | None) -> QueryTimeout:
    return QueryTimeout(f"query stopped after {limit:g} s, its time limit "
                        "(raise it with --timeout or ACCOUNTABILITY_QUERY_TIMEOUT)")


def in_bytes(n: int) -> str:
    """
    >>> in_bytes(50_000_000), in_bytes(264_000_000), in_bytes(1234)
    ('50 MB', '264 MB', '1,234 bytes')
    """
    return f"{n / 1e6:g} MB" if n >= 1_000_000 else f"{n:,} bytes"


def check_sql(sql: str) -> str:
    """``sql`` when it is one read-only ``SELECT``/``WITH`` statement; otherwise :class:`QueryRefused`."""
    statements: list[list[tuple[str, str]]] = [[]]
    for match in _TOKENS.finditer(sql):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        if kind == "semicolon":
            statements.append([])
        else:
            statements[-1].append((kind, match.group()))
    statements = [s for s in statements if s]
    if not statements:
        raise UsageError("no SQL statement given")
    if len(statements) > 1:
        raise QueryRefused(f"refused: only one statement may run, found {len(statements)}")
    tokens = statements[0]
    first = tokens[0][1].upper() if tokens[0][0] == "word" else tokens[0][1]
    if first not in FIRST_WORDS:
        raise QueryRefused(f"refused: only a read-only SELECT (or WITH … SELECT) may run, not {first}")
    for i, (kind, text) in enumerate(tokens):
        word = text.upper()
        if kind != "word" or word not in FORBIDDEN:
            continue
        if word == "REPLACE" and i + 1 < len(tokens) and tokens[i + 1][1] == "(":
            continue  # replace(x, y, z) is a string function
        raise QueryRefused(f"refused: raw queries are read-only; {word} is not allowed")
    return sql


@dataclass
class RawResult:
    """``columns``, the ``rows`` (dicts, streamed once) and, once they are read, ``truncated``: whether a
    cap stopped them, and ``truncated_by`` which one (``"rows"``: ``max_rows``, ``"bytes"``:
    ``max_bytes``). ``row_count`` counts the rows handed out, ``byte_count`` their values' bytes (counted
    only under a byte cap). Past ``deadline``, the next row raises :class:`QueryTimeout`."""

    language: str
    columns: list[str]
    rows: Iterator[dict]
    max_rows: int | None
    truncated: bool = False
    row_count: int = 0
    max_bytes: int | None = None
    byte_count: int = 0
    truncated_by: str | None = None
    deadline: Deadline | None = field(default=None, repr=False)
    _close: Callable[[], None] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[dict]:
        return self.rows

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Limits(NamedTuple):
    """What one raw query may use; None: no limit."""

    timeout: float | None  # seconds of wall time, from the call to the last row
    max_rows: int | None  # rows in the result
    max_bytes: int | None  # bytes of values in the result
    value_cap: int | None  # the longest value SQLite may build (SQLITE_LIMIT_LENGTH)

    @property
    def memory(self) -> int | None:
        """The memory a raw SQL query's process may take beyond what it starts with."""
        return None if self.value_cap is None else MEMORY_PER_VALUE * self.value_cap + MEMORY_BASE


def limits(timeout: float | None, max_rows: int | None, max_bytes: int | None = None) -> Limits:
    """The limits from the arguments or the settings: ``None`` takes the setting (``query_timeout``,
    ``query_row_cap``, ``query_byte_cap``), ``0`` means none.

    The longest value is the byte cap setting, or ``max_bytes`` when that is larger, and at least 1 MB: a
    small cap on a view does not make the values inside the query small, and ``max_bytes=0`` (an export
    of everything) does not lift it.

    >>> limits(2, 0, 0)
    Limits(timeout=2.0, max_rows=None, max_bytes=None, value_cap=50000000)
    >>> limits(2, 10, 10**9).value_cap, limits(2, 10, 100).value_cap
    (1000000000, 50000000)
    """
    given = (timeout, max_rows, max_bytes)
    timeout = settings.get("query_timeout") if timeout is None else timeout
    max_rows = settings.get("query_row_cap") if max_rows is None else max_rows
    setting = settings.get("query_byte_cap")
    max_bytes = setting if max_bytes is None else max_bytes
    try:
        timeout, max_rows, max_bytes, setting = float(timeout), int(max_rows), int(max_bytes), int(setting)
    except (TypeError, ValueError):
        raise UsageError("a time limit is seconds, a row cap and a byte cap whole numbers, got "
                         + ", ".join(map(repr, given))) from None
    if timeout < 0 or max_rows < 0 or max_bytes < 0 or setting < 0:
        raise UsageError("a time limit, a row cap or a byte cap cannot be negative (0 means none)")
    largest = max(max_bytes, setting) if setting else max_bytes  # a setting of 0: no cap but the one given
    value_cap = max(largest, MIN_VALUE_CAP) if largest else None
    return Limits(timeout or None, max_rows or None, max_bytes or None, value_cap)


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    for name in params:
        if not PARAMETER_NAME.match(str(name)):
            raise UsageError(f"parameter name '{name}' is not a name (letters, digits, _)")
    return params


def value_size(value: Any) -> int:
    """The bytes a value takes, about as written out: text in UTF-8, a number 8, lists and maps summed.

    >>> value_size({"a": "东湖", "b": [1, None, b"xy"]})
    18
    """
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(value_size(k) + value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(map(value_size, value))
    return 8


def capped(rows: Iterator[dict], result: RawResult) -> Iterator[dict]:
    """``rows`` up to ``result.max_rows`` rows and ``result.max_bytes`` bytes of values, and none past
    ``result.deadline``; sets ``result.truncated`` (and ``truncated_by``) when more were there.

    The deadline is looked at before each row is handed out, so the time the caller took with the rows
    before counts: a slow consumer is stopped like a slow query."""
    deadline = result.deadline
    try:
        for row in rows:
            if deadline is not None:
                deadline.check()
            if result.max_rows is not None and result.row_count >= result.max_rows:
                result.truncated, result.truncated_by = True, "rows"
                return
            if result.max_bytes is not None:
                size = sum(map(value_size, row.values()))
                if result.byte_count + size > result.max_bytes:
                    result.truncated, result.truncated_by = True, "bytes"
                    return
                result.byte_count += size
            result.row_count += 1
            yield row
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # a generator holding a connection or a driver session releases it now


def unique_columns(names: list[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2`` …) so that every value has a key in a row dict.

    >>> unique_columns(["id", "name", "id", "id_2"])
    ['id', 'name', 'id_3', 'id_2']
    """
    everything, taken, out = set(names), set(), []
    for name in names:
        candidate, n = name, 2
        while candidate in taken or (candidate != name and candidate in everything):
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


class Deadline:
    """The moment a raw query must be over: ``limit`` seconds (None: never) after it was created.

    Wall time, not time inside the database: converting rows and writing them out count too."""

    def __init__(self, limit: float | None):
        self.limit = limit
        self.at = None if limit is None else time.monotonic() + limit

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self) -> None:
        if self.passed():
            raise timeout_error(self.limit)


@contextlib.contextmanager
def alarm(limit: float | None) -> Iterator[None]:
    """Raise :class:`QueryTimeout` wherever the block is after ``limit`` seconds (None: no alarm).

    A backstop for what the checks between rows cannot reach — one row so large that building, decoding
    or printing it alone outlasts the limit (a Cypher list of millions of items takes the driver
    minutes). It is SIGALRM, so it works in the main thread only and is for a process that owns its
    signals, the command line; elsewhere, or while another timer is set, it does nothing."""
    usable = (limit is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise timeout_error(limit)

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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


RUNNERS: dict[str, Callable[..., RawResult]] = {"sql": run_sql}
LAZY_RUNNERS = {"cypher": ("accountability.stores.neo4j_query", "run_cypher")}


def register(language: str, runner: Callable[..., RawResult]) -> None:
    """Make ``runner(store, text, params, timeout, max_rows[, max_bytes]) -> RawResult`` answer ``language``."""
    RUNNERS[language] = runner


def language_of(store: Store | str | Path) -> str:
    uri = store if isinstance(store, (str, Path)) else getattr(store, "uri", "")
    return "cypher" if is_neo4j(str(uri)) else "sql"


def runner(language: str) -> Callable[..., RawResult]:
    found = RUNNERS.get(language)
    if found is None and language in LAZY_RUNNERS:
        module, name = LAZY_RUNNERS[language]
        try:
            found = getattr(importlib.import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            found = None
        if found is not None:
            RUNNERS[language] = found
    if found is None:
        raise UsageError(f"raw {language} queries are not available; available: {', '.join(sorted(RUNNERS))}")
    return found


def run(store: Store | str | Path, text: str, params: dict[str, Any] | None = None, timeout: float | None = None,
        max_rows: int | None = None, language: str | None = None, max_bytes: int | None = None) -> RawResult:
    """A raw read-only query in the store's own language (SQL on SQLite, Cypher on Neo4j)."""
    language = language or language_of(store)
    extra = () if max_bytes is None else (max_bytes,)  # a runner written before byte caps takes five arguments
    return runner(language)(store, text, params, timeout, max_rows, *extra)
