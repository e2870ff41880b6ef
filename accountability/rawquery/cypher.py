"""Raw, read-only Cypher for auditors on the Neo4j store — the twin of :mod:`accountability.rawquery.sql`.

The database must come out of a raw query exactly as it went in, so a write is refused by three
independent guards, each enough on its own:

1. a statement check before anything is sent: one statement, starting with ``MATCH``, ``OPTIONAL
   MATCH``, ``WITH``, ``UNWIND``, ``RETURN``, ``CALL`` or ``SHOW``, and none of the clauses that write
   (``CREATE``, ``MERGE``, ``SET``, ``DELETE``, ``DETACH``, ``REMOVE``, ``DROP``, ``FOREACH``,
   ``LOAD CSV``, ``CALL { … } IN TRANSACTIONS``, ``INSERT``, administration commands, ``USE``) outside
   strings, quoted names and comments; ``CALL`` reaches only a short list of read-only procedures and
   ``SHOW`` only indexes, constraints, procedures and functions;
2. the plan: ``EXPLAIN`` must report a read-only query (query type ``r``);
3. the query runs in a READ-access transaction, which the server itself keeps from writing.

Resources are bounded as for every raw query (see :mod:`accountability.rawquery.base`):

- time: ``timeout`` seconds (default the ``query_timeout`` setting) of wall time from the call to the
  last row. What is left of it when the transaction begins is the transaction's timeout, enforced by
  the server — a runaway query is stopped there, not merely abandoned (the server looks every 2 s by
  default, ``db.transaction.monitor.check.interval``); the result raises :class:`QueryTimeout` at the
  first row past the limit, so converting and writing rows count too; :func:`~.base.alarm` stops even
  the decoding of one huge record, which the driver does in Python (five million numbers: 25 s);
- size: a row cap (default ``query_row_cap``) and a byte cap (default ``query_byte_cap``, bytes of the
  values as plain data) keep a view small and say ``truncated`` once the rows are read. What one record
  may hold while the server builds it is the server's to bound (``db.memory.transaction.max``); a
  transaction over the server's memory limit is reported as :class:`QueryTooLarge`.

Parameters are passed to the driver as parameters (``$name``), never pasted into the text.

Generations: a query sees the labels as they are, so during an import (and after a killed one, until
the next import sweeps) a label also holds the nodes of the pending generation, which the tool itself
does not read (``accountability.stores.neo4j``). The console neither hides them nor refuses to run: a
statement that must see exactly what the tool reads filters on the current generation,
``MATCH (m:Meta {_key: 'store'}) MATCH (h:Hazard) WHERE h._gen = m._gen …``.

    >>> check_cypher("MATCH (h:Hazard {level: $level}) RETURN h.id // CREATE nothing")
    'MATCH (h:Hazard {level: $level}) RETURN h.id // CREATE nothing'
    >>> check_cypher("MATCH (n) WHERE n.note = 'DELETE me' RETURN n.set")
    "MATCH (n) WHERE n.note = 'DELETE me' RETURN n.set"
    >>> check_cypher("MATCH (n) /* harmless */ DETACH DELETE n")
    Traceback (most recent call last):
    ...
    accountability.rawquery.base.QueryRefused: refused: raw queries are read-only; DETACH is not allowed
"""

from __future__ import annotations

from typing import Any, Iterator

from accountability.errors import AccountabilityError, StoreError, UsageError
from accountability.rawquery.base import (
    Deadline,
    Grammar,
    QueryRefused,
    QueryTooLarge,
    RawResult,
    Tokens,
    capped,
    check,
    check_params,
    doubled,
    escaped,
    limits,
    timeout_error,
    tokenizer,
    unique_columns,
)
from accountability.stores import Store, is_neo4j

FIRST_WORDS = ("MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL", "SHOW")
FORBIDDEN = frozenset(
    ["CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "FOREACH", "LOAD", "INSERT", "ALTER",
     "GRANT", "DENY", "REVOKE", "TERMINATE", "RENAME", "USE", "PERIODIC"]
)
# What SHOW may list: the schema and the catalogue of procedures and functions (not transactions, users…).
SHOWABLE = frozenset(
    ["INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS", "PROCEDURE", "PROCEDURES", "FUNCTION", "FUNCTIONS",
     "ALL", "RANGE", "TEXT", "POINT", "LOOKUP", "FULLTEXT", "VECTOR", "UNIQUE", "UNIQUENESS", "EXISTENCE",
     "EXIST", "KEY", "NODE", "RELATIONSHIP", "REL", "PROPERTY", "BUILT", "USER", "DEFINED"]
)
READ_PROCEDURES = frozenset(
    ["db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
     "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.info", "db.ping", "dbms.components",
     "db.index.fulltext.querynodes", "db.index.fulltext.queryrelationships", "db.index.vector.querynodes"]
)
CYPHER = Grammar(
    "Cypher",
    tokenizer(comment=r"//[^\n]*", string=escaped("'") + "|" + escaped('"'), quoted=doubled("`"),
              parameter=r"\$(?:[^\W\d]\w*|\d+|`(?:[^`]|``)*`)", number=r"\d[\w.]*", word=r"[^\W\d]\w*"),
    FIRST_WORDS,
    f"refused: a raw query starts with {', '.join(FIRST_WORDS)}, not {{first}}",
    FORBIDDEN,
    # a property, a label or a map key, not a clause
    lambda word, before, after: before in (".", ":") or (after == ":" and before in ("{", ",")),
)


def _name(tokens: Tokens, i: int) -> tuple[str, int]:
    """The dotted name starting at ``tokens[i]`` (``db.schema.visualization``) and the index after it."""
    parts = []
    while i < len(tokens) and tokens[i][0] in ("word", "quoted"):
        kind, text = tokens[i]
        parts.append(text[1:-1].replace("``", "`") if kind == "quoted" else text)
        i += 1
        if i < len(tokens) and tokens[i][1] == ".":
            i += 1
        else:
            break
    return ".".join(parts), i


def check_cypher(text: str) -> str:
    """``text`` when it is one read-only Cypher statement by the rules above; otherwise QueryRefused."""
    return check(CYPHER, text, _clause)


def _clause(tokens: Tokens, i: int, word: str, before: str, after: str) -> None:
    """Refuses the reads that reach too far: CALL … IN TRANSACTIONS, a procedure off the list, SHOW of
    anything but the schema and the catalogue."""
    if word == "TRANSACTIONS" and before.upper() == "IN":
        raise QueryRefused("refused: raw queries are read-only; CALL … IN TRANSACTIONS is not allowed")
    if word == "CALL" and after not in ("{", "("):
        name, _ = _name(tokens, i + 1)
        if name.lower() not in READ_PROCEDURES:
            raise QueryRefused(f"refused: the procedure {name or after} is not on the list of read-only "
                               f"procedures ({', '.join(sorted(READ_PROCEDURES))})")
    if word == "SHOW" and after.upper() not in SHOWABLE:
        raise QueryRefused("refused: SHOW may list indexes, constraints, procedures and functions only")


def _value(value: Any) -> Any:
    """A driver value as plain JSON-friendly data: nodes and relationships as maps of their properties
    with ``_labels`` / ``_type`` and element ids, paths as their nodes and relationships, temporal and
    spatial values as text."""
    from neo4j.graph import Node, Path, Relationship

    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Node):
        return {"_id": value.element_id, "_labels": sorted(value.labels), **{k: _value(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"_id": value.element_id, "_type": value.type,
                "_start": value.start_node.element_id if value.start_node is not None else None,
                "_end": value.end_node.element_id if value.end_node is not None else None,
                **{k: _value(v) for k, v in value.items()}}
    if isinstance(value, Path):
        return {"nodes": [_value(n) for n in value.nodes], "relationships": [_value(r) for r in value.relationships]}
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    iso = getattr(value, "iso_format", None)
    return iso() if iso is not None else str(value)


def _translate(exc: BaseException, store: Any, deadline: Deadline) -> AccountabilityError:
    from neo4j import exceptions as ne

    timeout = deadline.limit
    if deadline.passed():  # whatever the driver says once the time is up (a connection the server dropped)
        return timeout_error(timeout)
    if isinstance(exc, ne.Neo4jError):
        code, message = exc.code or "", exc.message or str(exc)
        if "TransactionTimedOut" in code or (timeout and code.endswith("Transaction.Terminated")):
            return timeout_error(timeout)
        if "OutOfMemory" in code:
            return QueryTooLarge(f"the query needs more memory than the Neo4j server allows a transaction ({message})")
        if code.endswith(("AccessMode", "ForbiddenOnReadOnlyDatabase")) or isinstance(exc, ne.Forbidden):
            return QueryRefused(f"refused: raw queries are read-only ({message})")
        if isinstance(exc, ne.CypherSyntaxError) or code.startswith("Neo.ClientError.Statement."):
            return UsageError(f"Cypher: {message}")
    if isinstance(exc, (ne.ServiceUnavailable, ne.SessionExpired, ne.AuthError, OSError)):
        return store._error(exc)
    if isinstance(exc, ne.Neo4jError):
        return AccountabilityError(f"Cypher error: {exc.message or exc}")
    return StoreError(f"Neo4j driver error: {exc}")


def run_cypher(store: Store | str, text: str, params: dict[str, Any] | None = None, timeout: float | None = None,
               max_rows: int | None = None, max_bytes: int | None = None) -> RawResult:
    """Run one read-only Cypher statement on the Neo4j store ``store`` (a ``bolt://`` URI or a Neo4jStore).

    ``params`` are passed as Cypher parameters (``$name``). ``timeout`` (seconds, from this call to the
    last row), ``max_rows`` and ``max_bytes``: None takes the settings, 0 means none. Refusals raise
    :class:`QueryRefused` (a usage error), an overrun :class:`QueryTimeout`, Neo4j's own errors an
    :class:`AccountabilityError` with Neo4j's message.
    """
    import neo4j
    from neo4j.exceptions import DriverError, Neo4jError

    from accountability.stores.neo4j import Neo4jStore

    check_cypher(text)
    params = check_params(params)
    limit = limits(timeout, max_rows, max_bytes)
    deadline = Deadline(limit.timeout)
    own = isinstance(store, str)
    if own:
        if not is_neo4j(store):
            raise UsageError("Cypher runs on a Neo4j store (bolt:// or neo4j://); on the embedded store use SQL")
        store = Neo4jStore(store)
    elif not isinstance(store, Neo4jStore):
        raise UsageError("Cypher runs on a Neo4j store (bolt:// or neo4j://); on the embedded store use SQL")
    session = tx = None
    broken = False  # interrupted inside the driver (an alarm): the connection is mid-message

    def close() -> None:
        if broken and own:
            # a graceful close would first read the rest of the interrupted answer (minutes for a huge
            # record); dropping the connection is instant and the server rolls the read back. A store
            # passed in is the caller's, and its connection goes back to the pool the graceful way.
            store.close()
        for thing in (tx, session):
            if thing is not None:
                try:
                    thing.close()
                except (Neo4jError, DriverError, OSError):
                    pass
        if own:
            store.close()

    def time_left() -> float | None:
        """The transaction's timeout: what is left of the limit (0 would mean none to the server)."""
        deadline.check()
        left = deadline.remaining()
        return None if left is None else max(left, 0.001)

    try:
        fetch = 1000 if limit.max_rows is None else min(1000, limit.max_rows + 1)
        session = store.driver.session(database=store.database, default_access_mode=neo4j.READ_ACCESS,
                                       fetch_size=fetch)
        plan = session.run(neo4j.Query("EXPLAIN " + text, timeout=time_left()), params).consume()
        if plan.query_type != "r":
            raise QueryRefused(f"refused: raw queries are read-only; the plan of this query writes "
                               f"(query type '{plan.query_type}')")
        tx = session.begin_transaction(timeout=time_left())
        cursor = tx.run(text, params)
        columns = unique_columns(list(cursor.keys()))
    except (Neo4jError, DriverError, OSError) as exc:
        close()
        raise _translate(exc, store, deadline) from None
    except BaseException:
        broken = True
        close()
        raise
    result = RawResult("cypher", columns, iter(()), limit.max_rows, max_bytes=limit.max_bytes, deadline=deadline,
                       _close=close)

    def rows() -> Iterator[dict]:
        nonlocal broken
        try:
            for record in cursor:
                yield dict(zip(columns, map(_value, record.values())))
        except (Neo4jError, DriverError, OSError) as exc:
            raise _translate(exc, store, deadline) from None
        except GeneratorExit:  # the caller stopped reading: a clean place to close
            raise
        except BaseException:
            broken = True
            raise
        finally:
            result.close()

    result.rows = capped(rows(), result)
    return result

