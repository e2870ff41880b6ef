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
columns the contract does not define as one JSON text ``extra``, ``_key``: the row's key as the
embedded store writes it (the id for tables keyed by ``id``; the key columns joined by U+001F
otherwise), ``_seq``: its position in the dataset (``rows`` returns whole tables in that order, which
the content hash depends on) and ``_gen``: the generation it belongs to (below). ``(_key, _gen)`` is
unique per label (the constraint ``<label>_key``; uniqueness on several properties is allowed in
Community 5); the foreign keys that ``rows(table, col=…)`` filters on are indexed. The relationships
are derived from the properties at each import; the properties are the truth, so ``rows`` reads
properties only.

One ``(:Meta {_key: "store"})`` node holds ``dataset_hash``, ``imported_at``, ``source``, ``audit_head``,
``schema_version`` and ``_gen``, the current generation. ``write_back`` adds chains traced by the engine
as ``(:Person)-[:ACCOUNTABLE_FOR]->(:Hazard)`` and ``(:Post)-[:ACCOUNTABLE_FOR]->(:Hazard)``
relationships between nodes of the current generation (one ``(:WriteBack {as_of})`` node per date
written); an import that changes the dataset removes them, since they describe a dataset that is gone.

Generations: how an import that does not fit one transaction stays atomic
--------------------------------------------------------------------------
A province (millions of rows) does not fit one transaction's memory, so ``write(dataset)`` writes in
many small ones and makes the change visible in one small one at the end:

1. **Lock.** A *guard* transaction locks Meta (concurrent writers and ``write_back`` queue there) and
   stays open for the whole import. A killed client (``kill -9``) drops its connection and the server
   rolls the guard back, which frees the lock.
2. **Sweep.** Nodes of another generation than Meta's — left by an import that was killed or failed —
   are deleted; nodes without ``_gen`` (a store written before generations, or a node a user made with
   Cypher) are stamped with the current one.
3. **Diff.** The current generation's ``(_key, properties)`` are streamed and compared with the dataset's
   rows one by one (the dataset's rows are looked up by key; no property map is held): inserted,
   updated and deleted counts are the embedded store's. When no row differs (and none moved), nothing
   is written but the audit entry (``unchanged``, or the Meta update when only the hash it records differs).
4. **Write.** Otherwise every row is written again as a node of generation ``Meta._gen + 1``, in
   transactions of ``batch_size`` rows (``UNWIND $rows``; the rows are packed as lists of values, the
   statement naming the property of each position, one batch at a time), each with its relationships to
   the tables written before; then the other derived relationships, in batches too. Readers do not see
   these nodes: every read filters on the current generation. (A province takes minutes, most of them the
   server's: run it with the launcher's ``deploy`` profile, ``accountability.stores.neo4j_server``.)
5. **Switch.** The guard transaction sets ``Meta._gen``, the dataset hash and the rest of Meta, deletes
   the ``WriteBack`` nodes, keeps the manifests of the rows (base64) in ``(:AuditRows {_key: table,
   manifest})`` nodes and appends an ``(:AuditEntry)`` carrying their digests (``accountability.audit``),
   and commits: the audit log and the data switch together.
6. **Drop.** The previous generation (with the ``ACCOUNTABLE_FOR`` relationships on it) is deleted in
   batches once every read transaction that was running at the switch has ended (``SHOW TRANSACTIONS``;
   at most ``READER_WAIT`` seconds), so that a reader that pinned the old generation reads it to its end.

Every read pins the generation it reads: a single query reads ``Meta._gen`` in the same statement, and
``snapshot()`` reads Meta once and keeps a read transaction open for the block (so the drop waits for
it); ``hazard_records`` and ``search`` read in one snapshot. A reader therefore sees the old dataset or
the new one, never a mix. An interrupted import (an exception, a killed client or server) leaves the
previous generation current and whole; what it wrote is invisible and the next import deletes it.
Transient errors (deadlocks, a leader switch, a dropped connection) are retried a few times per batch
with backoff; the others become a :class:`StoreError` that says what happened.

What the raw Cypher console sees: it reads the labels directly, so it sees every generation present.
Between imports there is one; during an import (and after a killed one, until the next import sweeps)
a label also holds the pending generation's nodes. A query that must match what the tool reads filters
on the current generation: ``MATCH (m:Meta {_key: 'store'}) MATCH (h:Hazard) WHERE h._gen = m._gen …``.
Nodes a user makes without ``_gen`` count as current in whole-table and column reads (so ``audit
verify`` names them), not in reads by key, which seek on ``(_key, _gen)``.

Costs: an import that changes anything rewrites every node (a re-import that changes one row of a
province takes as long as the first one) — a few rows entered by hand are appended instead (``append``:
into the current generation, in one transaction); ``count`` scans the label (the generation is a property).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import itertools
import logging
import operator
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
from accountability.progress import Progress
from accountability.stores.base import STATE_EVENTS, Before, Store, WriteResult, merge_events
from graph_schema import SCHEMA, Schema

# The driver logs a dropped connection before raising; the raised error becomes one StoreError message,
# so without a handler of its own the same news would also reach stderr through logging's last resort.
logging.getLogger("neo4j").addHandler(logging.NullHandler())

SCHEMA_VERSION = 2  # 2: generations (_gen)
META_KEY = "store"
BATCH_SIZE = 5000
WRITERS = 2  # batches of an import in flight at once
RETRIES = 3  # retries after the first attempt, for transient errors only
BACKOFF = 0.25  # seconds before the first retry; doubled each time
READER_WAIT = 600.0  # seconds an import waits for the readers of the previous generation before dropping it
IMPORT_TAG = {"app": "accountability", "role": "import"}  # transaction metadata of an import's transactions

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
# Where each searchable node lies, for a search within the jurisdictions $within (``g``: the generation read)
PLACED_IN = {
    "people": "EXISTS { MATCH (t:Tenure {person_id: n._key}) WHERE coalesce(t._gen, g) = g "
              "MATCH (p:Post {_key: t.post_id, _gen: g}) MATCH (o:Organization {_key: p.organization_id, _gen: g}) "
              "WHERE o.jurisdiction_id IN $within }",
    "posts": "EXISTS { MATCH (o:Organization {_key: n.organization_id, _gen: g}) WHERE o.jurisdiction_id IN $within }",
    "organizations": "n.jurisdiction_id IN $within",
    "jurisdictions": "n._key IN $within",
    "hazards": "n.jurisdiction_id IN $within",
    "incidents": "n.jurisdiction_id IN $within",
}
# A node of the generation ``g`` being read, or one without ``_gen`` (made by hand, or before generations).
# A node that an import deletes while a reader scans (the old generation, once its readers are done) reads
# as having no properties at all, so passes this test too: what the reader returns includes ``_key``, read
# after it, and what has none is skipped.
_CURRENT = "coalesce({0}._gen, g) = g"
SCAN_PAGE = 10_000  # rows per record of ``Neo4jStore.scan``


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
                 batch_size: int = BATCH_SIZE, retries: int = RETRIES, connection_timeout: float = 15.0,
                 writers: int = WRITERS):
        import neo4j

        self.uri = uri
        self.schema = schema
        self.database = database if database is not None else settings.get("neo4j_database")
        self.batch_size = batch_size
        self.retries = retries
        self.writers = writers
        self.user, auth = credentials()
        self._schema_ready = False
        self._local = threading.local()  # the snapshot a thread is in
        self._generational = False  # the database is known to hold generations (then it always will)
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

    def _retrying(self, doing: str, work: Callable[[Any], Any], metadata: dict | None = None,
                  pending: bool = False) -> Any:
        """Run ``work(tx)`` in one explicit write transaction and commit; on a transient error roll back
        and run it again (up to ``retries`` times, with backoff); on any other error roll back and raise.
        ``pending``: the transaction writes nodes no reader sees yet (a batch of an import), so a commit
        that may not have happened leaves the store unchanged either way."""
        from neo4j.exceptions import DriverError, Neo4jError

        attempt = 0
        while True:
            try:
                with self._session(write=True) as session:
                    tx = session.begin_transaction(metadata=metadata)
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
                if _incomplete(exc) and pending:  # committed or not, no reader sees it
                    raise StoreError(f"{doing}: cannot reach Neo4j at {self.uri}: the connection broke while "
                                     "committing a batch", retryable=True) from None
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
        without schema rights can write to a database that has them; a data label's key constraint made
        before generations (on ``_key`` alone, which two generations would break) is replaced."""
        if self._schema_ready:
            return
        wanted, data_keys = {}, set()
        own = {"meta": "Meta", "write_backs": "WriteBack", "audit_rows": "AuditRows"}
        for table, label in {**LABELS, **own}.items():
            name = f"{label.lower()}_key"
            if table in LABELS:
                data_keys.add(name)
                wanted[name] = f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE (n._key, n._gen) IS UNIQUE"
            else:
                wanted[name] = f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{label}) REQUIRE n._key IS UNIQUE"
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
                for r in session.run("SHOW CONSTRAINTS YIELD name, properties RETURN name, properties"):
                    if r["name"] in data_keys and r["properties"] == ["_key"]:
                        session.run(f"DROP CONSTRAINT {r['name']}").consume()  # made before generations
                        present.discard(r["name"])
                    else:
                        present.add(r["name"])
                for name, statement in wanted.items():
                    if name not in present:
                        session.run(statement).consume()
                session.run("CALL db.awaitIndexes(300)").consume()
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._error(exc, "cannot create the constraints and indexes") from None
        self._schema_ready = True

    # -- writing ----------------------------------------------------------------------------------------

    def _key(self, table: str, row: tuple) -> str:
        return self._keyer(table)(row)

    def _keyer(self, table: str) -> Callable[[tuple], str]:
        """The function giving a row's ``_key`` (module docstring), its column positions found once."""
        t = self.schema.tables[table]
        if t.key == ("id",):
            return lambda row: row[0]
        cells = operator.itemgetter(*[t.names.index(k) for k in t.key])

        def key(row: tuple) -> str:
            try:
                return "\x1f".join(cells(row))  # the usual case: every key cell is text
            except TypeError:
                return "\x1f".join("" if v is None else str(v) for v in cells(row))

        return key

    def _props(self, table: str, row: tuple) -> dict[str, Any]:
        props: dict[str, Any] = {"_key": self._key(table, row)}
        for column, value in zip(self.schema.tables[table].columns, row):
            if value is None or (column.is_list and not value):
                continue
            props[column.name] = list(value) if column.is_list else value
        if row[-1]:
            props[EXTRA] = orjson.dumps(row[-1], option=orjson.OPT_SORT_KEYS).decode()
        return props

    def _packer(self, table: str) -> Callable[[tuple, int], list]:
        """A row as the list ``[_key, _seq, column…, extra]`` that :meth:`_create_query` reads by position:
        ``_props``'s values without its keys (a list packs and unpacks much faster than a map of the same
        values, and six million maps are most of an import's client time); an empty list or cell that is
        no property is null, which no property is made of."""
        key = self._keyer(table)
        lists = [i + 2 for i, c in enumerate(self.schema.tables[table].columns) if c.is_list]
        dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS

        def pack(row: tuple, seq: int) -> list:
            out = [key(row), seq, *row]
            for i in lists:
                out[i] = list(out[i]) if out[i] else None
            out[-1] = dumps(out[-1], option=sort).decode() if out[-1] else None
            return out

        return pack

    def write(self, dataset: Dataset, progress: Progress | None = None) -> WriteResult:
        """``progress`` (``accountability.progress``) hears of the rows sent, batch by batch."""
        # Every import diffs the rows, even of the dataset already held: the hash in Meta says what the last
        # import wrote, not what the nodes hold now, and rows changed outside an import are put back here.
        digest = dataset.content_hash()
        self.ensure_schema()
        return self._import(dataset, digest, progress)

    def _import(self, dataset: Dataset, digest: str, progress: Progress | None = None) -> WriteResult:
        """One attempt at the steps of the module's docstring."""
        from neo4j.exceptions import DriverError, Neo4jError

        doing = "import failed, store unchanged"
        try:
            session = self._session(write=True)
            guard = session.begin_transaction(metadata=IMPORT_TAG)
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._error(exc, doing) from None
        committing = committed = False
        current = rewrite = None
        try:
            try:
                previous, current = self._lock_meta(guard)
            except (Neo4jError, DriverError, OSError) as exc:
                raise self._error(exc, doing) from None
            self._sweep(current, doing)
            result, rewrite = self._diff(dataset, digest, previous, current)
            new = current + 1 if rewrite else current
            if rewrite:
                self._write_generation(dataset, new, doing, progress)
            try:
                self._switch(guard, dataset, digest, previous, result, new, rewrite)
                committing = True
                guard.commit()
                committed = True
            except (Neo4jError, DriverError, OSError) as exc:
                raise self._error(exc, "" if _incomplete(exc) else doing) from None
        finally:
            if not committed:
                with contextlib.suppress(Neo4jError, DriverError, OSError):
                    guard.rollback()
            with contextlib.suppress(Neo4jError, DriverError, OSError):
                session.close()
            if rewrite and not committing:  # what it wrote is invisible: best effort, else the next sweep
                with contextlib.suppress(StoreError):
                    self._drop(lambda n: f"{n}._gen > $g", current, "")
        if rewrite:
            self._wait_for_readers()
            with contextlib.suppress(StoreError):  # invisible already; else the next import's sweep
                self._drop(lambda n: f"({n}._gen IS NULL OR {n}._gen <> $g)", new, "")
        return result

    def _lock_meta(self, tx: Any) -> tuple[str | None, int]:
        """Lock the Meta node (creating it if need be) and return the dataset hash and the generation it
        holds: concurrent writers queue here rather than interleave their imports and audit entries."""
        record = tx.run("MERGE (m:Meta {_key: $key}) SET m._lock = true REMOVE m._lock "
                        "RETURN m.dataset_hash AS hash, coalesce(m._gen, 0) AS gen", key=META_KEY).single()
        return record["hash"], record["gen"]

    def _maintain(self, query: str, doing: str, **params: Any) -> None:
        """One statement of the import's upkeep in an implicit transaction of its own (``CALL { … } IN
        TRANSACTIONS`` commits as it goes), tagged as the import's; transient errors retried."""
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError

        for attempt in range(self.retries + 1):
            try:
                with self._session(write=True) as session:
                    session.run(neo4j.Query(query, metadata=IMPORT_TAG), params).consume()
                return
            except (Neo4jError, DriverError, OSError) as exc:
                error = self._error(exc, doing)
                if not error.is_retryable() or attempt == self.retries:
                    raise error from None
                time.sleep(BACKOFF * 2 ** attempt)

    def _drop(self, which: Callable[[str], str], gen: int, doing: str) -> None:
        """Delete, label by label and in batches, the data nodes ``which("n")`` selects (``$g``: ``gen``)."""
        for label in LABELS.values():
            self._maintain(f"MATCH (n:{label}) WHERE {which('n')} CALL {{ WITH n DETACH DELETE n }} "
                           f"IN TRANSACTIONS OF {self.batch_size} ROWS", doing, g=gen)

    def _sweep(self, current: int, doing: str) -> None:
        """Before an import: delete what an interrupted one left (nodes of other generations, invisible),
        and stamp nodes without a generation (made before generations, or by hand) with the current one."""
        self._drop(lambda n: f"{n}._gen <> $g", current, doing)
        for label in LABELS.values():
            # a node made by hand with the key of a current one cannot take its generation: it stays
            # unstamped (still read as current) and goes with the previous generation after the switch.
            # Batches of plain transactions: under CALL … IN TRANSACTIONS the outer transaction's check that
            # the key is free would lock out the inner one that takes it.
            stamp = (f"MATCH (n:{label}) WHERE n._gen IS NULL AND NOT EXISTS {{ MATCH (o:{label} {{_key: n._key, "
                     f"_gen: {int(current)}}}) }} WITH n LIMIT {self.batch_size} SET n._gen = {int(current)} "
                     "RETURN count(n)")
            with contextlib.suppress(StoreError):
                while self._retrying(doing, lambda tx, q=stamp: tx.run(q).single()[0], IMPORT_TAG):
                    pass

    def _diff(self, dataset: Dataset, digest: str, previous: str | None,
              current: int) -> tuple[WriteResult, bool]:
        """The counts of the import (the embedded store's) and whether a new generation must be written:
        the current generation's nodes streamed and compared with the dataset's rows, found by key."""
        result = WriteResult(digest, unchanged=False)
        moved = False
        for name in self.schema.tables:
            rows, key = dataset.tables.get(name, []), self._keyer(name)
            stored = self._read(f"MATCH (n:{LABELS[name]}) WHERE coalesce(n._gen, $g) = $g "
                                "RETURN n._key AS k, properties(n) AS p", g=current)
            first = next(stored, None)
            if first is None:  # as the embedded store counts: a table filled from empty only inserts
                result.inserted[name] = len(rows)
                continue
            # rows are read once, in order (a streamed dataset has no random access): their places and the
            # fingerprints of their properties
            at = {key(row): (i, _fingerprint(self._props(name, row))) for i, row in enumerate(rows)}
            updated = gone = 0
            for record in itertools.chain((first,), stored):
                found = at.pop(record["k"], None)
                if found is None:
                    gone += 1
                    continue
                old = record["p"]
                old.pop("_gen", None)
                seq = old.pop("_seq", None)
                if _fingerprint(old) != found[1]:
                    updated += 1
                elif seq != found[0]:
                    moved = True  # a row that only moved is not "updated"
            result.inserted[name] = len(at)
            result.updated[name] = updated
            result.deleted[name] = gone
        changed = any(n for c in (result.inserted, result.updated, result.deleted) for n in c.values())
        if previous == digest and not changed:
            result = WriteResult(digest, unchanged=True)  # nothing to change; the trail records it
        return result, changed or moved

    def _batch(self, tx: Any, query: str, rows: list) -> list[tuple]:
        """One batch of one statement, and the records it returns (the unit an interrupted import is
        tested with)."""
        return [tuple(record.values()) for record in tx.run(query, rows=rows)]

    def _batches(self, query: str, rows: Iterable[Any], doing: str, sent: Callable[[int], None] | None = None) -> None:
        """``query`` over ``rows`` (streamed), ``batch_size`` at a time, each batch its own transaction;
        ``writers`` batches at once (the next batch is packed while the server writes one), never more in
        memory. Returns when all are committed; the first error stops the rest and is raised. ``sent`` hears
        of each batch's size as it goes out."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        def send(batch: list) -> None:
            self._retrying(doing, lambda tx: self._batch(tx, query, batch), IMPORT_TAG, pending=True)

        def chunks() -> Iterator[list]:
            batch: list = []
            for row in rows:
                batch.append(row)
                if len(batch) >= self.batch_size:
                    yield batch
                    if sent:
                        sent(len(batch))
                    batch = []
            if batch:
                yield batch
                if sent:
                    sent(len(batch))

        if self.writers <= 1:
            for batch in chunks():
                send(batch)
            return
        running: set = set()
        with ThreadPoolExecutor(self.writers) as pool:
            try:
                for batch in chunks():
                    if len(running) >= self.writers:
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    running.add(pool.submit(send, batch))
                for future in running:
                    future.result()
            except BaseException:
                for future in running:
                    future.cancel()
                raise

    def _write_generation(self, dataset: Dataset, gen: int, doing: str, progress: Progress | None = None) -> None:
        """Every row as a node of generation ``gen``, then the relationships between them (step 4). A
        relationship to a table written before is made in the statement that creates the node (one seek
        less); the others (to the same table, or one written later) in a pass of their own."""
        written, later = set(), []
        total, done = sum(len(dataset.tables.get(n, ())) for n in self.schema.tables), [0]

        def sent(n: int) -> None:
            done[0] += n
            progress(done[0], total, "write")

        if progress:
            progress(0, total, "write")
        for name in self.schema.tables:
            rows = dataset.tables.get(name, [])
            later += [d for d in DERIVED if d.table == name and d.target not in written]
            query, pack = self._create_query(name, gen, written), self._packer(name)
            self._batches(query, (pack(row, i) for i, row in enumerate(rows)), doing, sent if progress else None)
            written.add(name)
        for rel in later:
            src, dst = LABELS[rel.table], LABELS[rel.target]
            arrow = f"(a)-[:{rel.type}]->(b)" if rel.outward else f"(a)<-[:{rel.type}]-(b)"
            self._batches(f"UNWIND $rows AS p MATCH (a:{src} {{_key: p[0], _gen: {gen}}}) "
                          f"MATCH (b:{dst} {{_key: p[1], _gen: {gen}}}) CREATE {arrow}",
                          self._pairs(dataset, rel), doing)

    def _create_query(self, name: str, gen: int, targets: Collection[str]) -> str:
        """The statement creating ``$rows`` (lists made by :meth:`_packer`) as nodes of ``name`` in
        generation ``gen``, with their derived relationships to the nodes of the ``targets`` tables."""
        columns = self.schema.tables[name].columns
        at = {c.name: f"r[{i + 2}]" for i, c in enumerate(columns)}
        props = ", ".join([f"_key: r[0], _seq: r[1], _gen: {int(gen)}",
                           *(f"{_q(c.name)}: {at[c.name]}" for c in columns), f"{_q(EXTRA)}: r[{len(columns) + 2}]"])
        query = f"UNWIND $rows AS r CREATE (n:{LABELS[name]}) SET n = {{{props}}}"
        for rel in (d for d in DERIVED if d.table == name and d.target in targets):
            column = next(c for c in columns if c.name == rel.column)
            arrow = f"(n)-[:{rel.type}]->(b)" if rel.outward else f"(n)<-[:{rel.type}]-(b)"
            keys = f"UNWIND coalesce({at[rel.column]}, []) AS k" if column.is_list else \
                f"WITH n, {at[rel.column]} AS k WHERE k IS NOT NULL"
            query += (f" WITH n, r CALL {{ WITH n, r {keys} MATCH (b:{LABELS[rel.target]} {{_key: k, _gen: {gen}}}) "
                      f"CREATE {arrow} }}")
        return query

    def append(self, table: str, rows: list[dict], source: str) -> WriteResult:
        """Into the current generation, in one transaction that locks Meta as an import does: the rows as
        nodes after the stored ones (``_seq``), their relationships, Meta, the table's manifest and the audit
        entry. Chains written back stay, their ``WriteBack`` node naming the dataset they were traced from."""
        from accountability.dataset import validate_append

        self.ensure_schema()

        def work(tx: Any) -> WriteResult:
            previous, gen = self._lock_meta(tx)
            new = validate_append(self, table, rows, source)  # no import switches generations meanwhile
            label = LABELS[table]
            seq = tx.run(f"MATCH (n:{label}) WHERE coalesce(n._gen, $g) = $g RETURN coalesce(max(n._seq), -1) + 1 "
                         "AS s", g=gen).single()["s"]
            pack = self._packer(table)
            tx.run(self._create_query(table, gen, self.schema.tables),
                   rows=[pack(row, seq + i) for i, row in enumerate(new)]).consume()
            kept = _manifests(tx.run("MATCH (a:AuditRows {_key: $k}) RETURN a._key AS k, a.manifest AS m", k=table))
            digests, manifest = audit.vouch_append(self._last_entry(tx), self.schema.tables[table], new,
                                                   kept.get(table))
            result = WriteResult(audit.appended_hash(previous, table, new), unchanged=False,
                                 inserted={table: len(new)})
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            tx.run("MATCH (m:Meta {_key: $key}) SET m.dataset_hash = $hash, m.imported_at = $now, m.source = $source",
                   key=META_KEY, hash=result.dataset_hash, now=now, source=source).consume()
            if manifest is not None:
                tx.run("MERGE (a:AuditRows {_key: $name}) SET a.manifest = $text", name=table,
                       text=base64.b64encode(manifest).decode()).consume()
            result.audit = self._append_audit(tx, result, source, previous, action="append", digests=digests)
            return result

        return self._retrying("append failed, store unchanged", work)

    def _pairs(self, dataset: Dataset, rel: Derived) -> Iterator[list[str]]:
        """``[row key, referenced key]`` for every reference of ``rel``'s column (a list column: each)."""
        i = self.schema.tables[rel.table].names.index(rel.column)
        keyer = self._keyer(rel.table)
        for row in dataset.tables.get(rel.table, ()):
            value = row[i]
            if value is None or value == () or value == "":
                continue
            key = keyer(row)
            for target in (value if isinstance(value, (list, tuple)) else (value,)):
                yield [key, target]

    def _switch(self, tx: Any, dataset: Dataset, digest: str, previous: str | None, result: WriteResult,
                gen: int, rewrite: bool) -> None:
        """Make generation ``gen`` current, with Meta, the manifests and the audit entry, in the guard
        transaction (step 5)."""
        source = dataset.source
        if rewrite:
            # chains written back describe the nodes being replaced (their relationships go with them)
            tx.run("MATCH (w:WriteBack) DELETE w").consume()
            tx.run("MATCH (m:Meta {_key: $key}) SET m._gen = $gen", key=META_KEY, gen=gen).consume()
        if not result.unchanged:
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            tx.run("MATCH (m:Meta {_key: $key}) SET m.dataset_hash = $hash, m.imported_at = $now, "
                   "m.source = $source, m.schema_version = $version", key=META_KEY, hash=digest, now=now,
                   source=source, version=str(SCHEMA_VERSION)).consume()
        changed = any(n for c in (result.inserted, result.updated, result.deleted) for n in c.values())
        kept = _manifests(tx.run("MATCH (a:AuditRows) RETURN a._key AS k, a.manifest AS m"))
        digests, manifests = audit.vouch(self._last_entry(tx), dataset, digest, kept, changed)
        for name, blob in manifests.items():  # base64 text: Cypher tools and JSON show it, unlike a byte array
            tx.run("MERGE (a:AuditRows {_key: $name}) SET a.manifest = $text", name=name,
                   text=base64.b64encode(blob).decode()).consume()
        result.audit = self._append_audit(tx, result, source, previous, digests=digests)

    def _wait_for_readers(self) -> None:
        """Wait until every transaction that is running now, but the imports', has ended (at most
        ``READER_WAIT`` seconds): the readers that may have pinned the previous generation (step 6). Best
        effort: a user who may not list others' transactions sees their own only."""
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError

        query = neo4j.Query("SHOW TRANSACTIONS YIELD transactionId AS id, metaData AS m, outerTransactionId AS outer "
                            "WHERE outer = '' RETURN id, m", metadata=IMPORT_TAG)
        deadline = time.monotonic() + READER_WAIT
        waiting: set[str] | None = None
        try:
            with self._session() as session:
                while waiting is None or waiting:
                    running = {r["id"] for r in session.run(query) if (r["m"] or {}).get("role") != IMPORT_TAG["role"]}
                    waiting = running if waiting is None else waiting & running
                    if not waiting or time.monotonic() > deadline:
                        return
                    time.sleep(0.05)
        except (Neo4jError, DriverError, OSError):
            return

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
        post_query = ("UNWIND $rows AS r MATCH (p:Post {_key: r.post_id, _gen: $gen}) "
                      "MATCH (h:Hazard {_key: r.hazard_id, _gen: $gen}) "
                      "CREATE (p)-[:ACCOUNTABLE_FOR {duty: r.duty, degree: r.degree, rules: r.rules, "
                      "escalated: r.escalated, vacant: r.vacant, as_of: $as_of}]->(h)")
        person_query = ("UNWIND $rows AS r MATCH (p:Person {_key: r.person_id, _gen: $gen}) "
                        "MATCH (h:Hazard {_key: r.hazard_id, _gen: $gen}) "
                        "CREATE (p)-[:ACCOUNTABLE_FOR {duty: r.duty, degree: r.degree, rules: r.rules, "
                        "escalated: r.escalated, acting: r.acting, post_id: r.post_id, as_of: $as_of}]->(h)")

        def work(tx: Any) -> dict[str, Any]:
            held, gen = self._lock_meta(tx)
            if held != digest:
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
                        tx.run(query, rows=rows, as_of=as_of, gen=gen).consume()
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

    # -- reading: every read pins one generation ----------------------------------------------------------

    def _pinned(self) -> tuple[int, dict[str, Any]] | None:
        """The generation and Meta pinned by the snapshot this thread is in, if any."""
        return getattr(self._local, "pin", None)

    def _data(self, query: str, **params: Any) -> Iterator[Any]:
        """Records of a read of data nodes: ``query`` names the generation it reads ``g``, which is the
        snapshot's, or else read from Meta in the same statement."""
        pin = self._pinned()
        if pin is not None:
            return self._read("WITH $gen AS g " + query, gen=pin[0], **params)
        return self._read("OPTIONAL MATCH (meta:Meta {_key: $meta_key}) WITH coalesce(meta._gen, 0) AS g " + query,
                          meta_key=META_KEY, **params)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["Neo4jStore"]:
        """Meta read once and its generation pinned for every read of the block, in this thread; a read
        transaction stays open meanwhile, so that an import switching generations waits for it before it
        drops the one read here."""
        if self._pinned() is not None:
            yield self
            return
        from neo4j.exceptions import DriverError, Neo4jError

        try:
            session = self._session()
            tx = session.begin_transaction()
            record = tx.run("OPTIONAL MATCH (m:Meta {_key: $key}) RETURN properties(m) AS p", key=META_KEY).single()
        except (Neo4jError, DriverError, OSError) as exc:
            raise self._error(exc) from None
        props = record["p"] or {}
        self._generational = self._generational or "_gen" in props
        self._local.pin = (props.get("_gen", 0), {k: v for k, v in props.items() if not k.startswith("_")})
        try:
            yield self
        finally:
            self._local.pin = None
            for thing in (tx, session):
                with contextlib.suppress(Neo4jError, DriverError, OSError):
                    thing.close()

    def _table(self, table: str):
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        return self.schema.tables[table]

    def _decoder(self, table: str, only: Sequence[str] | None = None) -> tuple[list[str], str, Callable[[list], list]]:
        """Column names, the RETURN list that reads them from ``n`` and the decoder of a row's values (in
        place: lists as tuples, booleans, ``extra`` parsed); ``only`` some columns (then without ``extra``)."""
        columns = [c for c in self._table(table).columns if only is None or c.name in only]
        if only is not None and len(columns) != len(set(only)):
            unknown = sorted(set(only) - {c.name for c in columns})
            raise UsageError(f"unknown column '{unknown[0]}' of table '{table}'")
        names = [c.name for c in columns] + ([EXTRA] if only is None else [])
        lists = [i for i, c in enumerate(columns) if c.is_list]
        bools = [i for i, c in enumerate(columns) if c.base == "bool"]
        extra_pos = len(columns) if only is None else None
        returns = ", ".join(f"n.{_q(n)}" for n in names)

        def cells(row: list) -> list:
            for i in lists:
                row[i] = tuple(row[i]) if row[i] else ()
            for i in bools:
                row[i] = bool(row[i])
            if extra_pos is not None and row[extra_pos] is not None:
                row[extra_pos] = orjson.loads(row[extra_pos])
            return row

        return names, returns, cells

    def _current_by_key(self, var: str) -> str:
        """The generation filter of a read by key: an equality, so that the seek uses the (_key, _gen)
        index — once the database holds generations; one written before them (read before its first
        import by this version) still has its index on _key alone, and nodes without ``_gen``."""
        if not self._generational:
            for record in self._read("MATCH (m:Meta {_key: $key}) RETURN m._gen IS NOT NULL AS g", key=META_KEY):
                self._generational = bool(record["g"])
        return f"{var}._gen = g" if self._generational else _CURRENT.format(var)

    def rows(self, table: str, **where: Any) -> Iterator[dict]:
        return self._rows(table, where)

    def tuples(self, table: str, columns: Sequence[str], **where: Any) -> Iterator[tuple]:
        """Only the ``columns``' properties are returned by the server."""
        for row in self._rows(table, where, columns):
            yield tuple([row[c] for c in columns])

    def _rows(self, table: str, where: dict[str, Any], only: Sequence[str] | None = None) -> Iterator[dict]:
        t = self._table(table)
        names, returns, cells = self._decoder(table, only)
        columns = {c.name: c for c in t.columns}
        clauses, params = [], {}
        by_key = False
        for i, (column, value) in enumerate(where.items()):
            if column not in columns and column != EXTRA:
                raise UsageError(f"unknown column '{column}' of table '{table}'")
            by_key = by_key or t.key == (column,)
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
            elif isinstance(value, Before):
                clauses.append(f"{prop} < $p{i}")
                params[f"p{i}"] = value.value
            else:
                clauses.append(f"{prop} = $p{i}")
                params[f"p{i}"] = _list_value(value) if is_list else value
        if not clauses:  # a whole table: read in pages, put in the dataset's order here
            with self.snapshot():
                rows = sorted(self._paged(table, returns), key=_by_seq) if self._indexed() else None
            if rows is not None:
                for row in rows:
                    yield dict(zip(names, cells(row[2:])))
                return
        clauses.append(self._current_by_key("n") if by_key else _CURRENT.format("n"))
        query = f"MATCH (n:{LABELS[table]}) WHERE " + " AND ".join(clauses)
        # the rows found, in pages of SCAN_PAGE, a record each (sorting held them all on the server anyway)
        for record in self._data(f"{query} WITH n ORDER BY n._seq WITH collect([n._key, {returns}]) AS rows "
                                 f"UNWIND range(0, size(rows) - 1, {SCAN_PAGE}) AS i "
                                 f"RETURN rows[i..i + {SCAN_PAGE}] AS page", **params):
            for row in record[0]:
                if row[0] is not None:  # not deleted meanwhile (see _CURRENT)
                    yield dict(zip(names, cells(row[1:])))

    def scan(self, table: str) -> Iterator[tuple]:
        """Page by page (:meth:`_paged`), as the server returns them."""
        _, returns, cells = self._decoder(table)
        with self.snapshot():
            if not self._indexed():
                yield from super().scan(table)
                return
            for row in self._paged(table, returns):
                yield tuple(cells(row[2:]))

    def _indexed(self) -> bool:
        """Whether the data nodes carry generations, and so the (_key, _gen) index :meth:`_paged` seeks."""
        return self._current_by_key("n") == "n._gen = g"

    def _paged(self, table: str, returns: str, condition: str = "true", **params: Any) -> Iterator[list]:
        """``[_key, _seq, returns…]`` of every node of ``table`` in the pinned generation where ``condition``
        holds: pages of ``SCAN_PAGE`` rows in key order, each page one record, read by a seek of the key
        index from the last key of the page before — a record per row costs the driver more than the rows'
        values (a province's two million hazards: 47 s as records, 22 s as pages) — then the nodes without
        a generation (made by hand: the index holds none of them). Call it inside a snapshot of a store
        whose nodes carry generations (:meth:`_indexed`)."""
        values = ", ".join(["n._key", "n._seq"] + ([returns] if returns else []))
        label = LABELS[table]
        query = (f"MATCH (n:{label}) WHERE n._key > $after AND n._gen = g AND ({condition}) WITH n ORDER BY n._key "
                 f"LIMIT {SCAN_PAGE} RETURN collect([{values}]) AS page")
        after = ""
        while True:
            page = next(self._data(query, after=after, **params))["page"]
            yield from page
            if len(page) < SCAN_PAGE:
                break
            after = page[-1][0]
        for record in self._data(f"MATCH (n:{label}) WHERE n._gen IS NULL AND ({condition}) RETURN {values}", **params):
            if record[0] is not None:  # not deleted meanwhile (see _CURRENT)
                yield list(record.values())

    def count(self, table: str) -> int:
        self._table(table)
        for record in self._data(f"MATCH (n:{LABELS[table]}) WHERE {_CURRENT.format('n')} "
                                   "RETURN count(n._key) AS n"):  # not count(n): see _CURRENT
            return record["n"]
        return 0

    def hazard_records(
        self, unresolved_on: str | None = None, ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None, events: bool = True,
    ) -> Iterator[tuple[dict, list[dict]]]:
        names, returns, cells = self._decoder("hazards", columns)
        event_returns = (f"AND {_CURRENT.format('e')} "
                         "RETURN e.hazard_id, e.`on`, e.kind, e.deadline ORDER BY e.hazard_id, e.`on`")
        if ids is None and unresolved_on is None:
            raise UsageError("hazard_records needs unresolved_on or ids")
        unresolved = "n.found_on <= $d AND (n.closed_on IS NULL OR n.closed_on > $d)"
        with self.snapshot():  # the hazards and their events of one generation
            if ids is not None:
                ids = sorted(set(ids))
                hazards = (list(r.values()) for r in self._data(
                    f"MATCH (n:Hazard) WHERE n._key IN $ids AND {self._current_by_key('n')} RETURN {returns} "
                    "ORDER BY n._key", ids=ids))
                found = (r.values() for r in self._data(
                    f"MATCH (e:Event) WHERE e.kind IN $kinds AND e.hazard_id IN $ids {event_returns}",
                    kinds=list(STATE_EVENTS), ids=ids)) if events else ()
            elif self._indexed():  # in pages (see _paged), put in order here
                pages = sorted(self._paged("hazards", returns, unresolved, d=unresolved_on),
                               key=operator.itemgetter(0))
                hazards = (row[2:] for row in pages)
                pages = sorted(self._paged("events", "n.hazard_id, n.`on`, n.kind, n.deadline", "n.kind IN $kinds",
                                           kinds=list(STATE_EVENTS)),
                               key=lambda r: (r[2], r[3], *_by_seq(r))) if events else []
                found = (row[2:] for row in pages)
            else:
                hazards = (list(r.values()) for r in self._data(
                    f"MATCH (n:Hazard) WHERE {unresolved} AND {_CURRENT.format('n')} RETURN {returns} ORDER BY n._key",
                    d=unresolved_on))
                found = (r.values() for r in self._data(f"MATCH (e:Event) WHERE e.kind IN $kinds {event_returns}",
                                                        kinds=list(STATE_EVENTS))) if events else ()
            # the events are read whole first: one open result per session, and they are few
            event_rows = [e for e in map(tuple, found) if e[0] is not None]  # not deleted meanwhile: _CURRENT
            rows = (dict(zip(names, cells(r))) for r in hazards)
            yield from merge_events(rows, event_rows) if events else ((row, []) for row in rows)

    def search(self, text: str, limit: int = 50, within: Collection[str] | None = None,
               table: str | None = None) -> list[dict]:
        text = text.strip()
        if not text:
            return []
        low = text.lower()
        places = {} if within is None else {"within": list(within)}
        found: list[dict] = []
        with self.snapshot():
            for name, label in SEARCHABLE:
                if table is not None and name != table:
                    continue
                placed = "" if within is None else f" AND {PLACED_IN[name]}"
                query = (f"MATCH (n:{LABELS[name]}) WHERE {_CURRENT.format('n')} AND (n._key = $text "
                         f"OR toLower(n.id) CONTAINS $low OR toLower(n.{_q(label)}) CONTAINS $low){placed} "
                         f"RETURN n.id AS id, n.{_q(label)} AS name ORDER BY n.id = $text DESC, n.id LIMIT $limit")
                for record in self._data(query, text=text, low=low, limit=limit, **places):
                    found.append({"type": name, "id": record["id"], "name": record["name"]})
        found.sort(key=lambda r: (r["id"] != text, r["type"] != "people", len(r["name"] or "")))
        return found[:limit]

    def generation(self) -> int:
        """The current generation (0 before the first import)."""
        for record in self._read("MATCH (m:Meta {_key: $key}) RETURN coalesce(m._gen, 0) AS g", key=META_KEY):
            return record["g"]
        return 0

    def meta(self) -> dict[str, Any]:
        pin = self._pinned()
        if pin is not None:
            return dict(pin[1])
        for record in self._read("MATCH (m:Meta {_key: $key}) RETURN properties(m) AS p", key=META_KEY):
            return {k: v for k, v in record["p"].items() if not k.startswith("_")}
        return {}

    def audit_entries(self) -> Iterator[dict]:
        pin = self._pinned()
        head = pin[1].get("audit_head") if pin is not None else None
        if pin is not None:  # the log as the pinned Meta's head ends it: entries appended since are not shown
            seq = int(str(head).partition(":")[0]) if head and str(head).partition(":")[0].isdigit() else 0
            yield from (r["p"] for r in self._read("MATCH (a:AuditEntry) WHERE a.seq <= $seq "
                                                   "RETURN properties(a) AS p ORDER BY a.seq", seq=seq))
            return
        for record in self._read("MATCH (a:AuditEntry) RETURN properties(a) AS p ORDER BY a.seq"):
            yield record["p"]

    def audit_manifests(self) -> dict[str, bytes]:
        return _manifests(self._read("MATCH (a:AuditRows) RETURN a._key AS k, a.manifest AS m"))

    def close(self) -> None:
        self.driver.close()


def _by_seq(row: list) -> tuple:
    """The order of ``ORDER BY n._seq`` for ``[_key, _seq, …]`` (a node made by hand, without one, last)."""
    return (row[1] is None, row[1] or 0)


def _fingerprint(props: dict[str, Any]) -> bytes:
    """A node's properties as 16 bytes (lists and tuples alike), to compare a stored node with a row."""
    return hashlib.blake2b(orjson.dumps(props, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


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
