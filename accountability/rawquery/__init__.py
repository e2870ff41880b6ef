"""Raw, read-only queries for auditors, in the store's own language: SQL on the embedded store, Cypher on
Neo4j. The store must come out of any raw query exactly as it went in, and a query cannot take the
machine with it.

- :mod:`~accountability.rawquery.base`: what every language shares — the result (:class:`RawResult`), its
  limits (time, rows, bytes), the deadline, and the statement check that refuses what could write before
  anything runs;
- :mod:`~accountability.rawquery.sql`: SQL on the SQLite file, behind four guards, in a process of its own;
- :mod:`~accountability.rawquery.cypher`: Cypher on Neo4j, behind three guards, in a READ-access
  transaction (the driver is imported when a query runs, so importing this package stays light).

A runner is ``runner(store, text, params, timeout, max_rows)`` (and ``max_bytes`` when a byte cap is
given) returning a :class:`RawResult`, registered under its language in :data:`RUNNERS` (or with
:func:`register`). :func:`run` picks the language from the store — SQL for a SQLite file, Cypher for a
``bolt://``/``neo4j://`` URI — unless it is told one; a runner refuses a store that does not speak its
language.

    >>> language_of("accountability.db"), language_of("bolt://db:7687")
    ('sql', 'cypher')
    >>> sorted(RUNNERS)
    ['cypher', 'sql']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from accountability.errors import UsageError
from accountability.rawquery.base import (
    Deadline,
    Limits,
    QueryRefused,
    QueryTimeout,
    QueryTooLarge,
    RawResult,
    alarm,
    capped,
    check_params,
    in_bytes,
    limits,
    timeout_error,
    unique_columns,
    value_size,
)
from accountability.rawquery.cypher import check_cypher, run_cypher
from accountability.rawquery.sql import check_sql, run_sql
from accountability.sqlworker import open_readonly  # the guarded connection of guards 2–4
from accountability.stores import Store, is_neo4j

__all__ = ["Deadline", "Limits", "QueryRefused", "QueryTimeout", "QueryTooLarge", "RawResult", "RUNNERS", "alarm",
           "capped", "check_cypher", "check_params", "check_sql", "in_bytes", "language_of", "limits",
           "open_readonly", "register", "run", "run_cypher", "run_sql", "runner", "timeout_error",
           "unique_columns", "value_size"]

RUNNERS: dict[str, Callable[..., RawResult]] = {"sql": run_sql, "cypher": run_cypher}


def register(language: str, runner: Callable[..., RawResult]) -> None:
    """Make ``runner(store, text, params, timeout, max_rows[, max_bytes]) -> RawResult`` answer ``language``."""
    RUNNERS[language] = runner


def language_of(store: Store | str | Path) -> str:
    uri = store if isinstance(store, (str, Path)) else getattr(store, "uri", "")
    return "cypher" if is_neo4j(str(uri)) else "sql"


def runner(language: str) -> Callable[..., RawResult]:
    found = RUNNERS.get(language)
    if found is None:
        raise UsageError(f"raw {language} queries are not available; available: {', '.join(sorted(RUNNERS))}")
    return found


def run(store: Store | str | Path, text: str, params: dict[str, Any] | None = None, timeout: float | None = None,
        max_rows: int | None = None, language: str | None = None, max_bytes: int | None = None) -> RawResult:
    """A raw read-only query in the store's own language (SQL on SQLite, Cypher on Neo4j), or in ``language``."""
    language = language or language_of(store)
    extra = () if max_bytes is None else (max_bytes,)  # a runner written before byte caps takes five arguments
    return runner(language)(store, text, params, timeout, max_rows, *extra)
