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
4. the file opened read-only (``file:…?mode=ro``), on a connection of its own — never the store's.

A time limit (``timeout`` seconds of work inside SQLite, default the ``query_timeout`` setting) stops a
runaway query through the progress handler, and a row cap (default ``query_row_cap``) keeps a view
small: the result says ``truncated`` once its rows are read, it never cuts silently. Parameters are
bound as SQL named parameters (``:name``), never pasted into the text.

    >>> check_sql("SELECT id FROM hazards WHERE level = :level;")
    'SELECT id FROM hazards WHERE level = :level;'
    >>> check_sql("SELECT 1 /* harmless */; DELETE FROM hazards")
    Traceback (most recent call last):
    ...
    accountability.rawquery.QueryRefused: refused: only one statement may run, found 2
    >>> check_sql("SELECT replace(name, 'x', 'y') FROM people -- replace() is a function")
    "SELECT replace(name, 'x', 'y') FROM people -- replace() is a function"

Other query languages sit beside SQL: a runner is ``runner(store, text, params, timeout, max_rows)``
returning a :class:`RawResult`, registered under its language with :func:`register`, or found lazily in
:data:`LAZY_RUNNERS` (Cypher: ``accountability.stores.neo4j_query.run_cypher``; it should open a READ-access session,
pass the timeout to the driver's transaction and refuse plans that write). :func:`run` picks the
language from the store: SQL for a SQLite file, Cypher for a ``bolt://``/``neo4j://`` URI.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from accountability import settings
from accountability.errors import AccountabilityError, StoreError, UsageError
from accountability.stores import Store, is_neo4j

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Words that write, change the schema or the session; refused anywhere outside strings, names and comments.
FORBIDDEN = frozenset(
    ["ALTER", "ANALYZE", "ATTACH", "BEGIN", "COMMIT", "CREATE", "DELETE", "DETACH", "DROP", "GRANT", "INSERT", "MERGE", "PRAGMA", "REINDEX", "RELEASE", "REPLACE", "REVOKE", "ROLLBACK", "SAVEPOINT", "SET", "TRUNCATE", "UPDATE", "UPSERT", "VACUUM"]
)
FIRST_WORDS = ("SELECT", "WITH")
# Pragmas that only describe the schema: allowed as table-valued functions (``pragma_table_info('x')``).
INTROSPECTION_PRAGMAS = frozenset(
    ["table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list", "function_list", "collation_list"]
)
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
CHECK_EVERY = 1000  # SQLite virtual-machine steps between two looks at the clock


class QueryRefused(UsageError):
    """A raw query that could write, or is not a single read-only statement: refused before it runs."""


class QueryTimeout(AccountabilityError):
    """A raw query ran past its time limit and was stopped."""


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
    """``columns``, the ``rows`` (dicts, streamed once) and, once they are read, ``truncated``: whether the
    row cap (``max_rows``) stopped them. ``row_count`` counts the rows handed out."""

    language: str
    columns: list[str]
    rows: Iterator[dict]
    max_rows: int | None
    truncated: bool = False
    row_count: int = 0
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


def limits(timeout: float | None, max_rows: int | None) -> tuple[float | None, int | None]:
    """The time limit (None: none) and the row cap (None: none) from the arguments or the settings.

    ``None`` takes the setting (``query_timeout``, ``query_row_cap``); ``0`` means no limit.
    """
    timeout = settings.get("query_timeout") if timeout is None else timeout
    max_rows = settings.get("query_row_cap") if max_rows is None else max_rows
    try:
        timeout, max_rows = float(timeout), int(max_rows)
    except (TypeError, ValueError):
        raise UsageError(f"a time limit is seconds and a row cap a whole number, got {timeout!r} and {max_rows!r}") from None
    if timeout < 0 or max_rows < 0:
        raise UsageError("a time limit or a row cap cannot be negative (0 means none)")
    return (timeout or None), (max_rows or None)


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    for name in params:
        if not PARAMETER_NAME.match(str(name)):
            raise UsageError(f"parameter name '{name}' is not a name (letters, digits, _)")
    return params


def capped(rows: Iterator[dict], result: RawResult) -> Iterator[dict]:
    """``rows`` up to ``result.max_rows``; sets ``result.truncated`` when more were there."""
    try:
        for row in rows:
            if result.max_rows is not None and result.row_count >= result.max_rows:
                result.truncated = True
                return
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


class _Clock:
    """Time spent inside SQLite (executing and fetching), not while the caller writes rows out."""

    def __init__(self, limit: float | None):
        self.limit = limit
        self.spent = 0.0
        self.started: float | None = None
        self.expired = False

    def __enter__(self) -> Self:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.spent += time.monotonic() - (self.started or time.monotonic())
        self.started = None

    def over(self) -> int:
        if self.limit is not None and self.started is not None \
                and self.spent + time.monotonic() - self.started > self.limit:
            self.expired = True
            return 1  # non-zero: SQLite interrupts the statement
        return 0


def _authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, source: str | None) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 and arg1.lower() in INTROSPECTION_PRAGMAS:
        return sqlite3.SQLITE_OK
    # eponymous virtual tables (json_each, pragma_table_info) declare their schema through an internal
    # statement that SQLite reports as an update of sqlite_master; nothing is written (read-only file)
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                      getattr(sqlite3, "SQLITE_RECURSIVE", 33)})


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


def _translate(exc: sqlite3.Error, clock: _Clock) -> AccountabilityError:
    message = str(exc)
    if clock.expired:
        return QueryTimeout(f"query stopped after {clock.limit:g} s, its time limit "
                            "(raise it with --timeout or ACCOUNTABILITY_QUERY_TIMEOUT)")
    if "not authorized" in message:
        return QueryRefused(f"refused: raw queries are read-only ({message})")
    if isinstance(exc, sqlite3.ProgrammingError):
        return UsageError(f"SQL: {message}")
    if "readonly" in message or "read-only" in message:
        return QueryRefused(f"refused: raw queries are read-only ({message})")
    return AccountabilityError(f"SQL error: {message}")


def _value(value: Any) -> Any:
    return value.hex() if isinstance(value, (bytes, memoryview)) else value


def open_readonly(path: Path, clock: _Clock | None = None) -> sqlite3.Connection:
    """A connection of its own to the SQLite file at ``path`` behind guards 2–4 (see the module's
    docstring); with ``clock``, SQLite stops once the clock's limit is spent."""
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                             check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from None
    try:
        db.execute("PRAGMA query_only=ON")
        db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # ATTACH would create a file, even read-only
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a file that is no database fails here
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"cannot open store {path}: {exc}") from None
    db.set_authorizer(_authorize)
    if clock is not None:
        db.set_progress_handler(clock.over, CHECK_EVERY)
    return db


def run_sql(store: Store | str | Path, sql: str, params: dict[str, Any] | None = None,
            timeout: float | None = None, max_rows: int | None = None) -> RawResult:
    """Run one read-only SQL statement on the embedded store at ``store`` (a path or a SQLite store).

    ``params`` are bound as named parameters (``:name``). ``timeout`` (seconds) and ``max_rows``: None
    takes the settings, 0 means none. Refusals raise :class:`QueryRefused` (a usage error), an overrun
    :class:`QueryTimeout`, SQLite's own errors an :class:`AccountabilityError` with SQLite's message.
    Blobs come out as hex text.
    """
    check_sql(sql)
    params = check_params(params)
    timeout, max_rows = limits(timeout, max_rows)
    clock = _Clock(timeout)
    db = open_readonly(_path(store), clock)
    try:
        with clock:
            cursor = db.execute(sql, params)
        if cursor.description is None:  # not a query after all: nothing ran that could write (guards)
            raise QueryRefused("refused: only a statement that returns rows may run")
        columns = unique_columns([d[0] for d in cursor.description])
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        db.close()
        raise QueryRefused(f"refused: {exc}") from None
    except sqlite3.Error as exc:
        db.close()
        raise _translate(exc, clock) from None
    except BaseException:
        db.close()
        raise
    result = RawResult("sql", columns, iter(()), max_rows, _close=db.close)

    def fetch() -> Iterator[dict]:
        try:
            while True:
                with clock:
                    batch = cursor.fetchmany(500)
                if not batch:
                    return
                for row in batch:
                    yield dict(zip(columns, map(_value, row)))
        except sqlite3.Error as exc:
            raise _translate(exc, clock) from None
        finally:
            result.close()

    result.rows = capped(fetch(), result)
    return result


RUNNERS: dict[str, Callable[..., RawResult]] = {"sql": run_sql}
LAZY_RUNNERS = {"cypher": ("accountability.stores.neo4j_query", "run_cypher")}


def register(language: str, runner: Callable[..., RawResult]) -> None:
    """Make ``runner(store, text, params, timeout, max_rows) -> RawResult`` answer ``language``."""
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
        max_rows: int | None = None, language: str | None = None) -> RawResult:
    """A raw read-only query in the store's own language (SQL on SQLite, Cypher on Neo4j)."""
    language = language or language_of(store)
    return runner(language)(store, text, params, timeout, max_rows)
