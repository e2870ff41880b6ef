"""The Neo4j store: the same product on a shared server, through the official ``neo4j`` driver (Bolt).

``Neo4jStore("bolt://host:7687")`` offers exactly the surface of the embedded store (``base.Store``) —
``rows`` returns the very dicts ``SQLiteStore.rows`` returns — so the engine, the queries and the app
run unchanged on either; ``tests/test_stores.py`` and ``tests/test_parity.py`` hold them to that.
Credentials come only from ``NEO4J_USER`` / ``NEO4J_PASSWORD`` (none at all when both are unset), the
database from ``NEO4J_DATABASE`` (unset: the server's default). Portable Cypher only, no APOC.

The model
---------
Every row of every table of the dataset contract is a node, tenures, portfolios and events included:
time-bounded relations are records, not bare edges.

==============  ============  ======================================================================
table           label         derived relationships (for navigation and auditors' Cypher)
==============  ============  ======================================================================
jurisdictions   Jurisdiction  ``(:Jurisdiction)-[:PART_OF]->(:Jurisdiction)``
organizations   Organization  ``-[:IN_JURISDICTION]->(:Jurisdiction)``, ``-[:UNDER]->(:Organization)``
posts           Post          ``(:Post)-[:POST_OF]->(:Organization)``
people          Person        —
tenures         Tenure        ``(:Person)-[:HELD]->(:Tenure)-[:OF_POST]->(:Post)``
portfolios      Portfolio     ``(:Post)-[:HAS_PORTFOLIO]->(:Portfolio)-[:COVERS]->(:Organization)``
hazards         Hazard        ``(:Hazard)-[:AT]->(:Organization)``, ``(:Hazard)-[:IN]->(:Jurisdiction)``
incidents       Incident      ``-[:LINKED_HAZARD]->(:Hazard)``, ``-[:AT]->(:Organization)``, ``-[:IN]->…``
events          Event         ``(:Event)-[:OF_HAZARD]->(:Hazard)``
inspections     Inspection    ``-[:INSPECTED]->(:Organization)``, ``(:Post)-[:LED]->``, ``-[:RECORDED]->(:Hazard)``
designations    Designation   ``(:Post)-[:DESIGNATED]->(:Designation)``
outcomes        Outcome       ``-[:DECIDED_FOR]->(:Person)``, ``-[:OF_INCIDENT]->(:Incident)``
campaigns       Campaign      ``-[:IN]->(:Jurisdiction)``; ``(:Inspection)-[:IN_CAMPAIGN]->(:Campaign)``
measures        Measure       ``-[:PART_OF]->(:Measure)`` (none to a built-in measure: it is no node)
measure_assignments (label Assignment): ``-[:OF_MEASURE]->(:Measure)``, ``-[:ASSIGNED_TO]->(:Organization)``
measure_reports (label MeasureReport): ``-[:OF_MEASURE]->(:Measure)``, ``-[:REPORTED_BY]->(:Organization)``
duty_shifts     DutyShift     ``-[:DUTY_IN]->(:Jurisdiction)``, ``(:Post)-[:ON_DUTY]->``, ``(:Person)-[:ON_DUTY]->``
incident_reports (label IncidentReport): ``-[:REPORTS]->(:Incident)``, ``(:Organization)-[:REPORTED]->``,
                ``-[:REPORTED_TO]->(:Organization)``
industries      Industry      —
==============  ============  ======================================================================

A node holds every contract column of its row as a property of the same name — lists as string
lists, booleans as booleans, whole numbers as integers; an empty cell or list is no property — the
columns the contract does not define as one JSON text ``extra``, and ``_key``: the row's key as the
embedded store writes it (the id for tables keyed by ``id``; the key columns joined by U+001F
otherwise). ``_key`` is unique per label; the foreign keys that ``rows(table, col=…)`` filters on are
indexed. The relationships are derived from the properties at each import; the properties are the
truth, so ``rows`` reads properties only.

One ``(:Meta {_key: "store"})`` node holds ``dataset_hash``, ``imported_at``, ``source``, ``audit_head`` and
``schema_version``. ``write_back`` adds chains traced by the engine as
``(:Person)-[:ACCOUNTABLE_FOR]->(:Hazard)`` and ``(:Post)-[:ACCOUNTABLE_FOR]->(:Hazard)`` relationships
(one ``(:WriteBack {as_of})`` node per date written); an import that changes the dataset removes them,
since they describe a dataset that is gone.

Writing
-------
``write(dataset)`` runs one explicit transaction: it locks Meta (concurrent writers queue), reads the
stored keys and properties, creates the new rows and updates the changed ones in batches of
``UNWIND $rows``, deletes the rows that are gone, re-derives the relationships of the rows it wrote,
updates Meta, keeps the manifests of the rows (base64) in ``(:AuditRows {_key: table, manifest})``
nodes and appends an ``(:AuditEntry)`` carrying their digests (``accountability.audit``) — then
commits, or on any error rolls back, so an interrupted import (an exception, a killed server) leaves the
previous dataset whole. Counts are the embedded store's. Each node's ``_seq`` keeps the dataset's row
order, which ``rows`` returns whole tables in (the content hash depends on it). The dataset already held
is diffed like any other: when no row differs the import changes nothing and is recorded as
``unchanged``; rows changed by a Cypher ``SET`` or ``DELETE`` since are put back, a node put back with
the relationships of the rows that point to it. Transient errors (deadlocks, a leader switch, a dropped
connection) are retried a few times with backoff; the others become a :class:`StoreError` that says
what happened.

One transaction holds the whole import in the server's heap: about 1.2 GB of transaction memory for
the county-scale demo (188,000 rows), which the default 1 GB test server cannot give (its limit is 70 %
of the heap); a province-scale import does not fit one transaction on a machine of ordinary size.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Collection, Iterable, Iterator, Sequence

import orjson

from accountability import audit, settings
from accountability.dataset import EXTRA, Dataset
from accountability.errors import StoreError, UsageError
from accountability.lockout import Record, SignInLog
from accountability.stores.base import STATE_EVENTS, Store, WriteResult, merge_events
from graph_schema import SCHEMA, Schema

# The driver logs a dropped connection before raising; the raised error becomes one StoreError message,
# so without a handler of its own the same news would also reach stderr through logging's last resort.
logging.getLogger("neo4j").addHandler(logging.NullHandler())

SCHEMA_VERSION = 1
META_KEY = "store"
BATCH_SIZE = 5000
RETRIES = 3  # retries after the first attempt, for transient errors only
BACKOFF = 0.25  # seconds before the first retry; doubled each time

LABELS = {
    "jurisdictions": "Jurisdiction",
    "organizations": "Organization",
    "posts": "Post",
    "people": "Person",
    "tenures": "Tenure",
    "portfolios": "Portfolio",
    "hazards": "Hazard",
    "incidents": "Incident",
    "events": "Event",
    "inspections": "Inspection",
    "designations": "Designation",
    "outcomes": "Outcome",
    "campaigns": "Campaign",
    "measures": "Measure",
    "measure_assignments": "Assignment",
    "measure_reports": "MeasureReport",
    "duty_shifts": "DutyShift",
    "incident_reports": "IncidentReport",
    "industries": "Industry",
}


@dataclass(frozen=True)
class Derived:
    """A relationship derived from a foreign-key column: ``outward`` points from the row's node to the
    referenced one, otherwise from the referenced node to the row's (``(:Person)-[:HELD]->(:Tenure)``)."""

    table: str
    column: str
    type: str
    target: str
    outward: bool = True


DERIVED = (
    Derived("jurisdictions", "parent_id", "PART_OF", "jurisdictions"),
    Derived("organizations", "jurisdiction_id", "IN_JURISDICTION", "jurisdictions"),
    Derived("organizations", "parent_id", "UNDER", "organizations"),
    Derived("posts", "organization_id", "POST_OF", "organizations"),
    Derived("tenures", "person_id", "HELD", "people", outward=False),
    Derived("tenures", "post_id", "OF_POST", "posts"),
    Derived("portfolios", "post_id", "HAS_PORTFOLIO", "posts", outward=False),
    Derived("portfolios", "organization_id", "COVERS", "organizations"),
    Derived("hazards", "organization_id", "AT", "organizations"),
    Derived("hazards", "jurisdiction_id", "IN", "jurisdictions"),
    Derived("incidents", "hazard_ids", "LINKED_HAZARD", "hazards"),
    Derived("incidents", "organization_id", "AT", "organizations"),
    Derived("incidents", "jurisdiction_id", "IN", "jurisdictions"),
    Derived("events", "hazard_id", "OF_HAZARD", "hazards"),
    Derived("organizations", "controlled_by", "CONTROLLED_BY", "organizations"),
    Derived("hazards", "other_organization_ids", "OTHER_UNIT", "organizations"),
    Derived("inspections", "organization_id", "INSPECTED", "organizations"),
    Derived("inspections", "post_id", "LED", "posts", outward=False),
    Derived("inspections", "hazard_ids", "RECORDED", "hazards"),
    Derived("designations", "post_id", "DESIGNATED", "posts", outward=False),
    Derived("outcomes", "person_id", "DECIDED_FOR", "people"),
    Derived("outcomes", "incident_id", "OF_INCIDENT", "incidents"),
    Derived("campaigns", "jurisdiction_id", "IN", "jurisdictions"),
    Derived("inspections", "campaign_id", "IN_CAMPAIGN", "campaigns"),
    Derived("measures", "parent_id", "PART_OF", "measures"),
    Derived("measure_assignments", "measure_id", "OF_MEASURE", "measures"),
    Derived("measure_assignments", "organization_id", "ASSIGNED_TO", "organizations"),
    Derived("measure_reports", "measure_id", "OF_MEASURE", "measures"),
    Derived("measure_reports", "organization_id", "REPORTED_BY", "organizations"),
    Derived("duty_shifts", "jurisdiction_id", "DUTY_IN", "jurisdictions"),
    Derived("duty_shifts", "post_id", "ON_DUTY", "posts", outward=False),
    Derived("duty_shifts", "person_id", "ON_DUTY", "people", outward=False),
    Derived("incident_reports", "incident_id", "REPORTS", "incidents"),
    Derived("incident_reports", "from_organization_id", "REPORTED", "organizations", outward=False),
    Derived("incident_reports", "to_organization_id", "REPORTED_TO", "organizations"),
)

# Properties that ``rows(table, column=…)`` filters on (the graph's lazy loading) or that ranges read.
INDEXED = {
    "organizations": ("jurisdiction_id", "kind", "parent_id"),
    "posts": ("organization_id",),
    "tenures": ("post_id", "person_id"),
    "portfolios": ("post_id",),
    "hazards": ("jurisdiction_id", "organization_id", "found_on"),
    "incidents": ("jurisdiction_id",),
    "events": ("hazard_id", "kind"),
    "inspections": ("organization_id", "post_id", "campaign_id"),
    "designations": ("post_id", "target_id"),
    "outcomes": ("incident_id", "person_id"),
    "campaigns": ("jurisdiction_id",),
    "measure_assignments": ("measure_id", "organization_id"),
    "measure_reports": ("measure_id", "organization_id"),
    "duty_shifts": ("jurisdiction_id", "start"),
    "incident_reports": ("incident_id",),
}

SEARCHABLE = (("people", "name"), ("posts", "title"), ("organizations", "name"), ("jurisdictions", "name"),
              ("hazards", "description"), ("incidents", "title"))
# Where each searchable node lies, for a search within the jurisdictions $within
PLACED_IN = {
    "people": "EXISTS { MATCH (t:Tenure {person_id: n._key}) MATCH (p:Post {_key: t.post_id}) "
              "MATCH (o:Organization {_key: p.organization_id}) WHERE o.jurisdiction_id IN $within }",
    "posts": "EXISTS { MATCH (o:Organization {_key: n.organization_id}) WHERE o.jurisdiction_id IN $within }",
    "organizations": "n.jurisdiction_id IN $within",
    "jurisdictions": "n._key IN $within",
    "hazards": "n.jurisdiction_id IN $within",
    "incidents": "n.jurisdiction_id IN $within",
}


def _manifests(records: Iterable[Any]) -> dict[str, bytes]:
    """The manifests kept in ``(:AuditRows {_key, manifest})`` nodes (base64 text); one that is not
    base64 any more names nothing, as if it were missing (verify then names its table only)."""
    out = {}
    for r in records:
        if isinstance(r["k"], str) and isinstance(r["m"], str):
            with contextlib.suppress(binascii.Error):
                out[r["k"]] = base64.b64decode(r["m"], validate=True)
    return out


def _q(name: str) -> str:
    """A Cypher name in backticks (``on`` and ``end`` are words of the language)."""
    return "`" + name.replace("`", "``") + "`"


def credentials() -> tuple[str, Any]:
    """The user name (for messages) and the driver's ``auth`` from ``NEO4J_USER`` / ``NEO4J_PASSWORD``."""
    user = os.environ.get("NEO4J_USER")
    password = os.environ.get("NEO4J_PASSWORD")
    if user is None and password is None:
        return "", None
    user = user or "neo4j"
    return user, (user, password or "")


def _transient(exc: BaseException) -> bool:
    is_retryable = getattr(exc, "is_retryable", None)
    return bool(is_retryable and is_retryable())


class Neo4jStore(Store):
    """The store on a Neo4j 5 server at ``uri`` (``bolt://``, ``neo4j://`` and their ``+s`` forms)."""

    def __init__(self, uri: str, schema: Schema = SCHEMA, database: str | None = None,
                 batch_size: int = BATCH_SIZE, retries: int = RETRIES, connection_timeout: float = 15.0):
        import neo4j

        self.uri = uri
        self.schema = schema
        self.database = database if database is not None else settings.get("neo4j_database")
        self.batch_size = batch_size
        self.retries = retries
        self.user, auth = credentials()
        self._schema_ready = False
        try:
            self.driver = neo4j.GraphDatabase.driver(
                uri, auth=auth, connection_timeout=connection_timeout, notifications_min_severity="OFF",
                user_agent="accountability",
            )
        except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
            raise StoreError(f"not a usable Neo4j URI '{uri}': {exc}") from None
        try:
            self.driver.verify_connectivity()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError, OSError) as exc:
            self.driver.close()
            raise self._error(exc) from None

    # -- errors -----------------------------------------------------------------------------------------

    def _error(self, exc: BaseException, doing: str = "") -> StoreError:
        """The driver's exception as one message a user can act on (never the password)."""
        from neo4j import exceptions as ne

        prefix = f"{doing}: " if doing else ""
        if isinstance(exc, ne.AuthError):
            who = f"user '{self.user}'" if self.user else "no credentials (NEO4J_USER and NEO4J_PASSWORD are unset)"
            return StoreError(f"{prefix}Neo4j refused the credentials at {self.uri} ({who}): "
                              f"set NEO4J_USER and NEO4J_PASSWORD")
        if isinstance(exc, ne.Forbidden):
            return StoreError(f"{prefix}Neo4j user '{self.user or 'neo4j'}' may not do this at {self.uri}: "
                              f"{exc.message}")
        if isinstance(exc, ne.IncompleteCommit):
            return StoreError(f"{prefix}the connection to Neo4j at {self.uri} broke while committing: the "
                              "change may or may not have been stored; run it again", retryable=True)
        if isinstance(exc, (ne.ServiceUnavailable, ne.SessionExpired, OSError)):
            reason = str(exc).split("(reason ")[-1].rstrip(")") if "(reason " in str(exc) else str(exc)
            return StoreError(f"{prefix}cannot reach Neo4j at {self.uri}: {reason}", retryable=True)
        if isinstance(exc, ne.Neo4jError):
            code = exc.code or ""
            if code.endswith("Security.CredentialsExpired"):
                return StoreError(f"{prefix}Neo4j at {self.uri} accepted the credentials of user '{self.user}' "
                                  "but they have expired: set a new password first")
            if "OutOfMemory" in code or "MemoryLimit" in code:
                # "transient" to Neo4j, but the same transaction would need the same memory again
                return StoreError(f"{prefix}Neo4j at {self.uri} ran out of transaction memory ({exc.message}): "
                                  "a write runs as one transaction; give the server more heap or raise "
                                  "db.memory.transaction.total.max / db.memory.transaction.max")
            if code.endswith("DatabaseNotFound"):
                return StoreError(f"{prefix}Neo4j at {self.uri} has no database '{self.database}' (NEO4J_DATABASE)")
            return StoreError(f"{prefix}Neo4j error {code}: {exc.message}", retryable=_transient(exc))
        return StoreError(f"{prefix}Neo4j driver error: {exc}", retryable=_transient(exc))

    def _session(self, write: bool = False):
        import neo4j

        return self.driver.session(database=self.database,
                                   default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS)

    def _read(self, query: str, **params: Any) -> Iterator[Any]:
        """Records of one read query, streamed; driver errors become StoreError."""
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            with self._session() as session:
                yield from session.run(query, params)
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._error(exc) from None

    def _retrying(self, doing: str, work: Callable[[Any], Any]) -> Any:
        """Run ``work(tx)`` in one explicit write transaction and commit; on a transient error roll back
        and run it again (up to ``retries`` times, with backoff); on any other error roll back and raise."""
        from neo4j.exceptions import DriverError, Neo4jError

        attempt = 0
        while True:
            try:
                with self._session(write=True) as session:
                    tx = session.begin_transaction()
                    try:
                        result = work(tx)
                        tx.commit()
                        return result
                    finally:
                        if not tx.closed():
                            try:
                                tx.rollback()
                            except (Neo4jError, DriverError, OSError):
                                pass  # the connection is gone: the server rolls back on its own
            except (Neo4jError, DriverError, OSError) as exc:
                error = self._error(exc, "" if _incomplete(exc) else doing)  # "unchanged" may not hold
                if error.is_retryable() and attempt < self.retries and not _incomplete(exc):
                    time.sleep(BACKOFF * 2 ** attempt)
                    attempt += 1
                    continue
                raise error from None

    # -- schema (constraints and indexes, once) ---------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the key constraints and the indexes that are missing (each in its own transaction, as
        Neo4j requires) and wait until they are online. Those already there are left alone, so a user
        without schema rights can write to a database that has them."""
        if self._schema_ready:
            return
        wanted = {}
        own = {"meta": "Meta", "write_backs": "WriteBack", "audit_rows": "AuditRows"}
        for table, label in {**LABELS, **own}.items():
            wanted[f"{label.lower()}_key"] = (f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS "
                                              f"FOR (n:{label}) REQUIRE n._key IS UNIQUE")
            for prop in INDEXED.get(table, ()):
                wanted[f"{label.lower()}_{prop}"] = (f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS "
                                                     f"FOR (n:{label}) ON (n.{_q(prop)})")
        wanted["auditentry_seq"] = ("CREATE CONSTRAINT auditentry_seq IF NOT EXISTS "
                                    "FOR (n:AuditEntry) REQUIRE n.seq IS UNIQUE")
        wanted["accountable_for_as_of"] = ("CREATE INDEX accountable_for_as_of IF NOT EXISTS "
                                           "FOR ()-[r:ACCOUNTABLE_FOR]-() ON (r.as_of)")
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            with self._session(write=True) as session:
                present = {r["name"] for r in session.run("SHOW INDEXES YIELD name RETURN name")}
                present |= {r["name"] for r in session.run("SHOW CONSTRAINTS YIELD name RETURN name")}
                for name, statement in wanted.items():
                    if name not in present:
                        session.run(statement).consume()
                session.run("CALL db.awaitIndexes(300)").consume()
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._error(exc, "cannot create the constraints and indexes") from None
        self._schema_ready = True

    # -- writing ----------------------------------------------------------------------------------------

    def _key(self, table: str, row: tuple) -> str:
        t = self.schema.tables[table]
        if t.key == ("id",):
            return row[0]
        idx = [t.names.index(k) for k in t.key]
        return "\x1f".join("" if row[i] is None else str(row[i]) for i in idx)

    def _props(self, table: str, row: tuple) -> dict[str, Any]:
        props: dict[str, Any] = {"_key": self._key(table, row)}
        for column, value in zip(self.schema.tables[table].columns, row):
            if value is None or (column.is_list and not value):
                continue
            props[column.name] = list(value) if column.is_list else value
        if row[-1]:
            props[EXTRA] = orjson.dumps(row[-1], option=orjson.OPT_SORT_KEYS).decode()
        return props

    def write(self, dataset: Dataset) -> WriteResult:
        # Every import diffs the rows, even of the dataset already held: the hash in Meta says what the last
        # import wrote, not what the nodes hold now, and rows changed outside an import are put back here.
        digest = dataset.content_hash()
        self.ensure_schema()
        rows = {name: [self._props(name, r) for r in dataset.tables.get(name, [])] for name in self.schema.tables}
        return self._retrying("import failed, store unchanged",
                              lambda tx: self._write_tx(tx, rows, digest, dataset))

    def _lock_meta(self, tx: Any) -> str | None:
        """Lock the Meta node (creating it if need be) and return the dataset hash it holds: concurrent
        writers queue here rather than interleave their diffs and audit entries."""
        record = tx.run("MERGE (m:Meta {_key: $key}) SET m._lock = true REMOVE m._lock "
                        "RETURN m.dataset_hash AS hash", key=META_KEY).single()
        return record["hash"]

    def _last_entry(self, tx: Any) -> dict | None:
        last = tx.run("MATCH (a:AuditEntry) RETURN properties(a) AS p ORDER BY a.seq DESC LIMIT 1").single()
        return last["p"] if last else None

    def _append_audit(self, tx: Any, result: WriteResult, source: str, previous: str | None,
                      action: str = "import", digests: dict[str, str] | None = None) -> str:
        """Append the audit entry recording ``result`` inside the write's own transaction (see
        ``accountability.audit``) and make it the head in Meta."""
        entry = audit.next_entry(self._last_entry(tx), result, source, previous, action=action, digests=digests)
        head = audit.head_of(entry)
        tx.run("CREATE (a:AuditEntry) SET a = $entry WITH a MATCH (m:Meta {_key: $key}) SET m.audit_head = $head",
               entry=entry, key=META_KEY, head=head).consume()
        return head

    def _batch(self, tx: Any, query: str, rows: list) -> list[tuple]:
        """One batch of one statement, and the records it returns (the unit an interrupted import is
        tested with)."""
        return [tuple(record.values()) for record in tx.run(query, rows=rows)]

    def _batches(self, tx: Any, query: str, rows: list) -> list[tuple]:
        out: list[tuple] = []
        for i in range(0, len(rows), self.batch_size):
            out += self._batch(tx, query, rows[i:i + self.batch_size])
        return out

    def _write_tx(self, tx: Any, rows: dict[str, list[dict]], digest: str, dataset: Dataset) -> WriteResult:
        source = dataset.source
        previous = self._lock_meta(tx)
        result = WriteResult(digest, unchanged=False)
        # Nodes are addressed by element id once read or created: a seek on the _key index inside a
        # transaction that has already changed that index a lot costs time in proportion to the changes
        # (measured: a county replaced by a small dataset took 330 s that way, 15 s this way).
        node_ids: dict[str, dict[str, str]] = {}  # table → _key → element id, for every row kept or created
        written: dict[str, list[tuple[str, dict]]] = {}  # table → (element id, properties) of rows written
        created_ids: dict[str, dict[str, str]] = {}  # table → _key → element id, for every row created
        for name, new in rows.items():
            label = LABELS[name]
            existing = {r["k"]: (r["id"], r["p"]) for r in tx.run(
                f"MATCH (n:{label}) RETURN n._key AS k, elementId(n) AS id, properties(n) AS p")}
            was_empty = not existing
            ids = node_ids[name] = {}
            created, updated, moved = [], [], []
            # _seq keeps the dataset's row order (rows() reads in it); a row that only moved is not "updated"
            for seq, props in enumerate(new):
                props.pop("_seq", None)  # set by an attempt that was rolled back
                found = existing.pop(props["_key"], None)
                if found is None:
                    created.append(props)
                else:
                    eid, old = found
                    ids[props["_key"]] = eid
                    old_seq = old.pop("_seq", None)
                    if old != props:
                        updated.append((eid, props))
                    elif old_seq != seq:
                        moved.append([eid, seq])
                props["_seq"] = seq
            # created before anything is deleted: the unique-key check of a CREATE slows down in proportion
            # to the deletions of that label the transaction already holds
            new_ids = dict(self._batches(tx, f"UNWIND $rows AS r CREATE (n:{label}) SET n = r "
                                             "RETURN r._key, elementId(n)", created))
            ids.update(new_ids)
            self._batches(tx, "UNWIND $rows AS r MATCH (n) WHERE elementId(n) = r[0] SET n._seq = r[1]", moved)
            # an updated row's relationships are re-derived from its new properties
            for rel in (d for d in DERIVED if d.table == name):
                pattern = f"(n)-[r:{rel.type}]->(:{LABELS[rel.target]})" if rel.outward else \
                    f"(n)<-[r:{rel.type}]-(:{LABELS[rel.target]})"
                self._batches(tx, f"UNWIND $rows AS id MATCH (n) WHERE elementId(n) = id MATCH {pattern} DELETE r",
                              [eid for eid, _ in updated])
            self._batches(tx, "UNWIND $rows AS r MATCH (n) WHERE elementId(n) = r[0] SET n = r[1]",
                          [[eid, props] for eid, props in updated])
            gone = [eid for eid, _ in existing.values()]
            self._batches(tx, "UNWIND $rows AS id MATCH (n) WHERE elementId(n) = id DETACH DELETE n", gone)
            written[name] = updated + [(new_ids[props["_key"]], props) for props in created]
            created_ids[name] = new_ids
            result.inserted[name] = len(created)
            if not was_empty:  # as the embedded store counts: a table filled from empty only inserts
                result.updated[name] = len(updated)
                result.deleted[name] = len(gone)
        for rel in DERIVED:
            targets = node_ids[rel.target]
            pairs = []
            for eid, props in written.get(rel.table, ()):
                value = props.get(rel.column)
                for key in (value if isinstance(value, list) else (value,) if value is not None else ()):
                    if key in targets:
                        pairs.append([eid, targets[key]])
            pairs += self._pointing_to_created(rel, rows[rel.table], written[rel.table], node_ids, created_ids)
            arrow = f"(a)-[:{rel.type}]->(b)" if rel.outward else f"(a)<-[:{rel.type}]-(b)"
            self._batches(tx, "UNWIND $rows AS p MATCH (a) WHERE elementId(a) = p[0] "
                              f"MATCH (b) WHERE elementId(b) = p[1] CREATE {arrow}", pairs)
        changed = any(n for c in (result.inserted, result.updated, result.deleted) for n in c.values())
        if previous == digest and not changed:
            result = WriteResult(digest, unchanged=True)  # nothing to change; the trail records it
        else:
            # chains written back describe the dataset being replaced
            tx.run("MATCH ()-[r:ACCOUNTABLE_FOR]->() DELETE r").consume()
            tx.run("MATCH (w:WriteBack) DELETE w").consume()
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            tx.run("MATCH (m:Meta {_key: $key}) SET m.dataset_hash = $hash, m.imported_at = $now, "
                   "m.source = $source, m.schema_version = $version", key=META_KEY, hash=digest, now=now,
                   source=source, version=str(SCHEMA_VERSION)).consume()
        kept = _manifests(tx.run("MATCH (a:AuditRows) RETURN a._key AS k, a.manifest AS m"))
        digests, manifests = audit.vouch(self._last_entry(tx), dataset, digest, kept, changed)
        for name, blob in manifests.items():  # base64 text: Cypher tools and JSON show it, unlike a byte array
            tx.run("MERGE (a:AuditRows {_key: $name}) SET a.manifest = $text", name=name,
                   text=base64.b64encode(blob).decode()).consume()
        result.audit = self._append_audit(tx, result, source, previous, digests=digests)
        return result

    @staticmethod
    def _pointing_to_created(rel: Derived, rows: list[dict], written: list[tuple[str, dict]],
                             node_ids: dict[str, dict[str, str]], created_ids: dict[str, dict[str, str]]) -> list:
        """The ``rel`` relationships of rows not written that point to a node created by this import: a
        node deleted outside an import (``DETACH DELETE`` takes its relationships along) and put back gets
        back those of the rows that refer to it, as a re-import restores the rows."""
        created = created_ids.get(rel.target)
        if not created or len(written) == len(rows):
            return []
        mine, ids, pairs = {props["_key"] for _, props in written}, node_ids[rel.table], []
        for props in rows:
            value = props.get(rel.column)
            if value is None or props["_key"] in mine:
                continue
            for key in value if isinstance(value, list) else (value,):
                if key in created:
                    pairs.append([ids[props["_key"]], created[key]])
        return pairs

    def write_back(self, chains: Iterable[Any], as_of: str) -> dict[str, Any]:
        """Write traced chains as ``ACCOUNTABLE_FOR`` relationships for ``as_of``, replacing the ones
        written before for that date, in one transaction (batched statements), recorded in the audit log.

        ``(:Post)-[:ACCOUNTABLE_FOR {duty, degree, rules, escalated, vacant, as_of}]->(:Hazard)`` for every
        link (so vacant posts show), and
        ``(:Person)-[:ACCOUNTABLE_FOR {duty, degree, rules, escalated, acting, post_id, as_of}]->(:Hazard)``
        for every holder of a linked post; ``(:WriteBack {as_of, dataset_hash, written_at, chains})`` says
        which dataset they were traced from. Returns the counts written.
        """
        self.ensure_schema()
        digest = self.meta().get("dataset_hash")
        if digest is None:
            raise StoreError(f"Neo4j at {self.uri} holds no dataset: import or push one first")
        chains = iter(chains)
        post_query = ("UNWIND $rows AS r MATCH (p:Post {_key: r.post_id}) MATCH (h:Hazard {_key: r.hazard_id}) "
                      "CREATE (p)-[:ACCOUNTABLE_FOR {duty: r.duty, degree: r.degree, rules: r.rules, "
                      "escalated: r.escalated, vacant: r.vacant, as_of: $as_of}]->(h)")
        person_query = ("UNWIND $rows AS r MATCH (p:Person {_key: r.person_id}) MATCH (h:Hazard {_key: r.hazard_id}) "
                        "CREATE (p)-[:ACCOUNTABLE_FOR {duty: r.duty, degree: r.degree, rules: r.rules, "
                        "escalated: r.escalated, acting: r.acting, post_id: r.post_id, as_of: $as_of}]->(h)")

        def work(tx: Any) -> dict[str, Any]:
            if self._lock_meta(tx) != digest:
                raise StoreError(f"the dataset in Neo4j at {self.uri} changed while the chains were traced: "
                                 "run write-back again")
            counts = {"as_of": as_of, "chains": 0, "post_links": 0, "person_links": 0}
            counts["replaced"] = tx.run("MATCH ()-[r:ACCOUNTABLE_FOR]->() WHERE r.as_of = $as_of DELETE r "
                                        "RETURN count(r) AS n", as_of=as_of).single()["n"]
            posts: list[dict] = []
            people: list[dict] = []

            def flush(force: bool = False) -> None:
                for query, rows, name in ((post_query, posts, "post_links"), (person_query, people, "person_links")):
                    if rows and (force or len(rows) >= self.batch_size):
                        tx.run(query, rows=rows, as_of=as_of).consume()
                        counts[name] += len(rows)
                        rows.clear()

            for chain in chains:
                counts["chains"] += 1
                for link in chain.links:
                    common = {"hazard_id": chain.hazard_id, "post_id": link.post_id, "duty": link.duty,
                              "degree": link.degree, "rules": list(link.rules), "escalated": link.escalated}
                    posts.append({**common, "vacant": not link.holders})
                    people.extend({**common, "person_id": h.person_id, "acting": h.acting} for h in link.holders)
                flush()
            flush(force=True)
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            tx.run("MERGE (w:WriteBack {_key: $as_of}) SET w.as_of = $as_of, w.dataset_hash = $hash, "
                   "w.written_at = $now, w.chains = $chains", as_of=as_of, hash=digest, now=now,
                   chains=counts["chains"]).consume()
            written = WriteResult(digest, unchanged=False,
                                  inserted={"ACCOUNTABLE_FOR": counts["post_links"] + counts["person_links"]},
                                  deleted={"ACCOUNTABLE_FOR": counts["replaced"]})
            counts["audit"] = self._append_audit(tx, written, f"write-back as of {as_of}", digest,
                                                 action="write-back")
            return counts

        # The chains stream from the engine once: a retry could not replay them, so none is made.
        retries, self.retries = self.retries, 0
        try:
            return self._retrying("write-back failed, nothing written", work)
        finally:
            self.retries = retries

    # -- reading ----------------------------------------------------------------------------------------

    def _table(self, table: str):
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        return self.schema.tables[table]

    def _decoder(self, table: str, only: Sequence[str] | None = None) -> tuple[list[str], str, Callable[[list], dict]]:
        """Column names, the RETURN list that reads them from ``n`` and the row decoder; ``only`` some
        columns (then without ``extra``)."""
        columns = [c for c in self._table(table).columns if only is None or c.name in only]
        if only is not None and len(columns) != len(set(only)):
            unknown = sorted(set(only) - {c.name for c in columns})
            raise UsageError(f"unknown column '{unknown[0]}' of table '{table}'")
        names = [c.name for c in columns] + ([EXTRA] if only is None else [])
        lists = [i for i, c in enumerate(columns) if c.is_list]
        bools = [i for i, c in enumerate(columns) if c.base == "bool"]
        extra_pos = len(columns) if only is None else None
        returns = ", ".join(f"n.{_q(n)}" for n in names)

        def decode(row: list) -> dict:
            for i in lists:
                row[i] = tuple(row[i]) if row[i] else ()
            for i in bools:
                row[i] = bool(row[i])
            if extra_pos is not None and row[extra_pos] is not None:
                row[extra_pos] = orjson.loads(row[extra_pos])
            return dict(zip(names, row))

        return names, returns, decode

    def rows(self, table: str, **where: Any) -> Iterator[dict]:
        t = self._table(table)
        names, returns, decode = self._decoder(table)
        columns = {c.name: c for c in t.columns}
        clauses, params = [], {}
        for i, (column, value) in enumerate(where.items()):
            if column not in names:
                raise UsageError(f"unknown column '{column}' of table '{table}'")
            prop = "n._key" if t.key == (column,) else f"n.{_q(column)}"
            is_list = column in columns and columns[column].is_list
            if isinstance(value, (list, tuple, set, frozenset)):
                value = list(value)
                if not value:
                    return
                clauses.append(f"{prop} IN $p{i}")
                params[f"p{i}"] = [_list_value(v) for v in value] if is_list else value
            elif value is None:
                clauses.append(f"{prop} IS NULL")
            else:
                clauses.append(f"{prop} = $p{i}")
                params[f"p{i}"] = _list_value(value) if is_list else value
        query = f"MATCH (n:{LABELS[table]})"
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        for record in self._read(f"{query} RETURN {returns} ORDER BY n._seq", **params):
            yield decode(list(record.values()))

    def count(self, table: str) -> int:
        self._table(table)
        for record in self._read(f"MATCH (n:{LABELS[table]}) RETURN count(n) AS n"):
            return record["n"]
        return 0

    def hazard_records(
        self, unresolved_on: str | None = None, ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Iterator[tuple[dict, list[dict]]]:
        _, returns, decode = self._decoder("hazards", columns)
        event_returns = "RETURN e.hazard_id, e.`on`, e.kind, e.deadline ORDER BY e.hazard_id, e.`on`"
        if ids is not None:
            ids = sorted(set(ids))
            hazards = self._read(f"MATCH (n:Hazard) WHERE n._key IN $ids RETURN {returns} ORDER BY n._key", ids=ids)
            events = self._read(f"MATCH (e:Event) WHERE e.kind IN $kinds AND e.hazard_id IN $ids {event_returns}",
                                kinds=list(STATE_EVENTS), ids=ids)
        else:
            if unresolved_on is None:
                raise UsageError("hazard_records needs unresolved_on or ids")
            unresolved = "n.found_on <= $d AND (n.closed_on IS NULL OR n.closed_on > $d)"
            hazards = self._read(f"MATCH (n:Hazard) WHERE {unresolved} RETURN {returns} ORDER BY n._key",
                                 d=unresolved_on)
            events = self._read(f"MATCH (e:Event) WHERE e.kind IN $kinds {event_returns}", kinds=list(STATE_EVENTS))
        # the events are read whole first: one open result per session, and they are few
        event_rows = [tuple(r.values()) for r in events]
        yield from merge_events((decode(list(r.values())) for r in hazards), event_rows)

    def search(self, text: str, limit: int = 50, within: Collection[str] | None = None,
               table: str | None = None) -> list[dict]:
        text = text.strip()
        if not text:
            return []
        low = text.lower()
        places = {} if within is None else {"within": list(within)}
        found: list[dict] = []
        for name, label in SEARCHABLE:
            if table is not None and name != table:
                continue
            placed = "" if within is None else f" AND {PLACED_IN[name]}"
            query = (f"MATCH (n:{LABELS[name]}) WHERE (n._key = $text OR toLower(n.id) CONTAINS $low "
                     f"OR toLower(n.{_q(label)}) CONTAINS $low){placed} "
                     f"RETURN n.id AS id, n.{_q(label)} AS name ORDER BY n.id = $text DESC, n.id LIMIT $limit")
            for record in self._read(query, text=text, low=low, limit=limit, **places):
                found.append({"type": name, "id": record["id"], "name": record["name"]})
        found.sort(key=lambda r: (r["id"] != text, r["type"] != "people", len(r["name"] or "")))
        return found[:limit]

    def meta(self) -> dict[str, Any]:
        for record in self._read("MATCH (m:Meta {_key: $key}) RETURN properties(m) AS p", key=META_KEY):
            return {k: v for k, v in record["p"].items() if not k.startswith("_")}
        return {}

    def audit_entries(self) -> Iterator[dict]:
        for record in self._read("MATCH (a:AuditEntry) RETURN properties(a) AS p ORDER BY a.seq"):
            yield record["p"]

    def audit_manifests(self) -> dict[str, bytes]:
        return _manifests(self._read("MATCH (a:AuditRows) RETURN a._key AS k, a.manifest AS m"))

    def close(self) -> None:
        self.driver.close()


def _list_value(value: Any) -> Any:
    """A list column compared with one value, as the embedded store compares its ``;``-joined text."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return str(value).split(";") if value != "" else None


def _incomplete(exc: BaseException) -> bool:
    from neo4j.exceptions import IncompleteCommit

    return isinstance(exc, IncompleteCommit)


class Neo4jSignIns(SignInLog):
    """The sign-in log of a Neo4j store (``accountability.lockout``): one ``(:SignIn {_key, failures,
    locked_until, expires})`` node per user name or client address, beside the data's nodes — no label of
    the dataset contract, no Meta, no audit entry.

    An update is one write transaction that MERGEs the node and writes to it first, which locks it: every
    app server and command line counting the same name queues there. ``_key`` is unique (the constraint
    ``signin_key``, made on first use if missing), so that two first attempts cannot make two nodes.
    """

    # Servers (uri, database) known to have the constraint; threads of one process check it one at a time
    _constrained: set[tuple[str, str | None]] = set()
    _constraining = threading.Lock()

    def __init__(self, store: Neo4jStore, owns_store: bool = False):
        self.store = store
        self.owns_store = owns_store

    def _ensure_constraint(self) -> None:
        """Make the constraint if it is missing. Creating it takes a lock on the label that sign-ins being
        counted meanwhile also take: a deadlock the server breaks is tried again, like an update's."""
        server = (self.store.uri, self.store.database)
        if server in self._constrained:
            return
        from neo4j.exceptions import DriverError, Neo4jError

        with self._constraining:
            for attempt in range(self.store.retries + 1):
                try:
                    with self.store._session(write=True) as session:
                        present = {r["name"] for r in session.run("SHOW CONSTRAINTS YIELD name RETURN name")}
                        if "signin_key" not in present:
                            session.run("CREATE CONSTRAINT signin_key IF NOT EXISTS "
                                        "FOR (n:SignIn) REQUIRE n._key IS UNIQUE").consume()
                            session.run("CALL db.awaitIndexes(60)").consume()
                    break
                except (Neo4jError, DriverError, OSError) as exc:
                    error = self.store._error(exc, "cannot keep the count of failed sign-ins")
                    if not error.is_retryable() or attempt == self.store.retries:
                        raise error from None
                    time.sleep(BACKOFF * 2 ** attempt * (0.5 + random.random()))
            self._constrained.add(server)

    def read(self, key: str) -> Record | None:
        for r in self.store._read("MATCH (s:SignIn {_key: $key}) "
                                  "RETURN s.failures AS f, s.locked_until AS l, s.expires AS e", key=key):
            return Record(tuple(r["f"] or ()), r["l"] or 0.0, r["e"] or 0.0)
        return None

    def update(self, key: str, change, now: float) -> None:
        self._ensure_constraint()

        def work(tx: Any) -> None:
            # writing to the node locks it until the commit; a node just made has no expiry yet
            r = tx.run("MERGE (s:SignIn {_key: $key}) SET s._lock = true REMOVE s._lock "
                       "RETURN s.failures AS f, s.locked_until AS l, s.expires AS e", key=key).single()
            current = None if r["e"] is None or r["e"] < now else Record(tuple(r["f"] or ()), r["l"] or 0.0, r["e"])
            new = change(current)
            if new is None:
                tx.run("MATCH (s:SignIn {_key: $key}) DELETE s", key=key).consume()
            else:
                tx.run("MATCH (s:SignIn {_key: $key}) SET s.failures = $f, s.locked_until = $l, s.expires = $e",
                       key=key, f=list(new.failures), l=new.locked_until, e=new.expires).consume()

        self.store._retrying("cannot keep the count of failed sign-ins", work)
        self._forget(now)

    def _forget(self, now: float) -> None:
        """Delete the records expired before ``now``, a thousand at most. Best effort, after the update's
        own commit: two processes forgetting the same node must not fail a sign-in. Each node is locked, then
        looked at again: an update may have renewed it meanwhile."""
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            with self.store._session(write=True) as session:
                session.run("MATCH (s:SignIn) WHERE s.expires < $now WITH s LIMIT 1000 "
                            "SET s._lock = true REMOVE s._lock WITH s WHERE s.expires < $now DELETE s",
                            now=now).consume()
        except (Neo4jError, DriverError, OSError):
            pass  # the next update tries again

    def close(self) -> None:
        if self.owns_store:
            self.store.close()
