"""The embedded store: one SQLite file (WAL), one table per table of the dataset contract.

Lists are kept as ``;``-separated text and extra columns as JSON in ``extra``, so that an auditor's
SQL reads the tables exactly as the contract describes them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Sequence

import orjson

from accountability import audit
from accountability.dataset import EXTRA, Dataset
from accountability.errors import StoreError, UsageError
from accountability.lockout import Record, SignInLog
from accountability.progress import Progress
from accountability.stores.base import STATE_EVENTS, Before, Store, WriteResult, merge_events
from graph_schema import SCHEMA, Schema

SCHEMA_VERSION = 1
SEARCHABLE = (("people", "name"), ("posts", "title"), ("organizations", "name"), ("jurisdictions", "name"),
              ("hazards", "description"), ("incidents", "title"))
# Where each searchable table's rows lie, for a search within jurisdictions (the parameter: a JSON list of ids)
_IN = "IN (SELECT value FROM json_each(?))"
PLACED_IN = {
    "people": "id IN (SELECT t.person_id FROM tenures t JOIN posts p ON p.id = t.post_id "
              f"JOIN organizations o ON o.id = p.organization_id WHERE o.jurisdiction_id {_IN})",
    "posts": f"organization_id IN (SELECT id FROM organizations WHERE jurisdiction_id {_IN})",
    "organizations": f"jurisdiction_id {_IN}",
    "jurisdictions": f"id {_IN}",
    "hazards": f"jurisdiction_id {_IN}",
    "incidents": f"jurisdiction_id {_IN}",
}
INDEXES = (
    "organizations(jurisdiction_id, kind)",
    "organizations(parent_id)",
    "posts(organization_id)",
    "tenures(post_id)",
    "tenures(person_id)",
    "portfolios(post_id)",
    "hazards(jurisdiction_id, industry)",
    "hazards(organization_id)",
    "events(hazard_id, kind)",
    "incidents(jurisdiction_id)",
    # v2 records: a single trace reads a unit's inspections and the designations naming it by these
    "inspections(organization_id)",
    "designations(target_id)",
    "designations(post_id)",
)


# The audit log (see accountability.audit): append-only for every connection that keeps the triggers;
# the hash chain catches whoever removes them.
AUDIT_TABLE = "audit_log"
AUDIT_DDL = (
    f"CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} ("
    + ", ".join(f'"{f}" ' + ("INTEGER PRIMARY KEY" if f == "seq" else "INTEGER NOT NULL" if f in ("v", "unchanged")
                             else "TEXT NOT NULL UNIQUE" if f == "hash" else "TEXT") for f in audit.FIELDS)
    + ")",
    f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    # the manifests of the rows the newest import left (audit.manifest): verify names changed rows with them
    "CREATE TABLE IF NOT EXISTS audit_rows (tbl TEXT PRIMARY KEY, manifest BLOB NOT NULL)",
    # every row written outside an import, recorded by triggers that imports lift while they write: lets an
    # export check its rows without reading them all (one who drops the triggers is left to audit verify)
    "CREATE TABLE IF NOT EXISTS audit_outside (tbl TEXT NOT NULL, key TEXT, op TEXT NOT NULL, "
    "at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
)
OUTSIDE_OPS = {"insert": ("NEW", "added"), "update": ("OLD", "changed"), "delete": ("OLD", "deleted")}
# A row of audit_outside saying that writes may have gone unrecorded (the triggers were missing)
GAP = "gap"
# Errors meaning "the file could not grow": a full disk, a quota, a file size limit.
NO_SPACE = ("SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE")


def _index_name(i: int, index: str) -> str:
    return f"ix_{i}_{index.split('(')[0]}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLiteStore(Store):
    def __init__(self, path: str | Path, schema: Schema = SCHEMA, readonly: bool = False):
        self.path = Path(path)
        self.uri = str(path)
        self.schema = schema
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"store not found: {self.path}")
                self._upgrade()
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            else:
                self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self._create()
            self.db.execute("PRAGMA busy_timeout=10000")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None

    # -- layout -----------------------------------------------------------------------------------------

    def _upgrade(self) -> None:
        """Before a read-only open: give a store made by an earlier version the tables and columns the
        contract has gained since (empty), through a short writable connection — so that the app and the
        read-only commands work on it after an upgrade. A store that cannot be written is left as it is."""
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return  # an empty file: nothing to upgrade (and nothing to read)
            current = all(
                name in tables and {c.name for c in table.columns} <= {r[1] for r in db.execute(
                    f"PRAGMA table_info({name})")}
                for name, table in self.schema.tables.items())
        if current:
            return
        try:
            writer = SQLiteStore(self.path, self.schema)
        except StoreError as exc:
            raise StoreError(f"the store {self.path} was made by an earlier version and cannot be upgraded here "
                             f"({exc}); open it once with write access (for example by an import)") from None
        writer.close()

    def _key_column(self, table: str) -> str:
        return "id" if self.schema.tables[table].key == ("id",) else "_key"

    def _foreign_key(self, column) -> str:
        """A reference declared as a foreign key, for the tools that follow them (Datasette, DB Browser,
        spreadsheets' SQLite links); declared, not enforced (``PRAGMA foreign_keys`` stays off): the
        dataset's validation is what refuses a dangling reference, with a message a user can act on."""
        target = column.references
        if target is None or self.schema.tables[target].key != ("id",):
            return ""
        return f" REFERENCES {target}(id)"

    def _create(self) -> None:
        statements = []
        for name, table in self.schema.tables.items():
            cols = []
            if self._key_column(name) == "_key":
                cols.append("_key TEXT PRIMARY KEY")
            for c in table.columns:
                sql_type = "INTEGER" if c.base in ("int", "bool") and not c.is_list else "TEXT"
                pk = " PRIMARY KEY" if c.name == "id" and table.key == ("id",) else ""
                cols.append(f"{_quote(c.name)} {sql_type}{pk}{self._foreign_key(c)}")
            cols.append(f"{EXTRA} TEXT")
            statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})")
        statements += [f"CREATE INDEX IF NOT EXISTS {_index_name(i, ix)} ON {ix}" for i, ix in enumerate(INDEXES)]
        statements.append("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        statements += AUDIT_DDL
        with self._transaction():
            for sql in statements:
                self.db.execute(sql)
            self._add_new_columns()
            present = {r[1] for r in self.db.execute(f"PRAGMA table_info({AUDIT_TABLE})")}
            for f in audit.FIELDS:  # a log begun by an earlier format: its entries keep their hashes
                if f not in present:
                    self.db.execute(f'ALTER TABLE {AUDIT_TABLE} ADD COLUMN "{f}" TEXT')
            if not self._sentinels_present() and self._last_entry() is not None:
                # writes made while the triggers were missing (dropped, or a log begun before they existed)
                # went unrecorded: until the next import, exports check every row
                self.db.execute("INSERT INTO audit_outside (tbl, op) VALUES ('*', ?)", (GAP,))
            self._sentinels(lift=False)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _sentinel_sql(self) -> dict[str, str]:
        """Trigger name → its statement: the triggers recording writes outside imports in audit_outside,
        and those keeping that record append-only (hiding a write then takes dropping a trigger, which
        ``writes_outside_imports`` notices)."""
        out = {}
        for name in self.schema.tables:
            key = _quote(self._key_column(name))
            for op, (row, _) in OUTSIDE_OPS.items():
                out[f"audit_outside_{name}_{op}"] = (
                    f"AFTER {op.upper()} ON {name} BEGIN INSERT INTO audit_outside (tbl, key, op) "
                    f"VALUES ('{name}', {row}.{key}, '{op}'); END")
        for op in ("update", "delete"):
            out[f"audit_outside_no_{op}"] = (f"BEFORE {op.upper()} ON audit_outside BEGIN SELECT RAISE(ABORT, "
                                             "'the record of writes outside imports is append-only'); END")
        return out

    def _sentinels_present(self) -> bool:
        triggers = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        return set(self._sentinel_sql()) <= triggers

    def _sentinels(self, lift: bool) -> None:
        """Create the sentinel triggers, or (``lift``, inside an import's own transaction, which restores
        them before it commits) drop them."""
        for trigger, body in self._sentinel_sql().items():
            if lift:
                self.db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            else:
                self.db.execute(f"CREATE TRIGGER IF NOT EXISTS {trigger} {body}")

    def _add_new_columns(self) -> None:
        """A store made before the contract gained optional columns (v2) gets them, empty: its rows read
        as before, and the next import fills them."""
        for name, table in self.schema.tables.items():
            present = {r[1] for r in self.db.execute(f"PRAGMA table_info({name})")}
            for c in table.columns:
                if c.name not in present:
                    sql_type = "INTEGER" if c.base in ("int", "bool") and not c.is_list else "TEXT"
                    self.db.execute(f"ALTER TABLE {name} ADD COLUMN {_quote(c.name)} {sql_type}")

    def _transaction(self):
        store = self

        class Tx:
            def __enter__(self):
                store.db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, exc, tb):
                if exc_type is None:
                    try:
                        store.db.execute("COMMIT")
                        return False
                    except sqlite3.Error:
                        # a failed COMMIT (disk full) may leave the transaction open: never keep it
                        if store.db.in_transaction:
                            store.db.execute("ROLLBACK")
                        raise
                # SQLite may have rolled back already (SQLITE_FULL): a second ROLLBACK would hide the cause
                if store.db.in_transaction:
                    store.db.execute("ROLLBACK")
                return False

        return Tx()

    # -- writing ----------------------------------------------------------------------------------------

    def _encoder(self, table: str):
        """A function turning a dataset row into the row stored (lists as text, bools as 0/1, extra as JSON)."""
        spec = self.schema.tables[table]
        lists = [i for i, c in enumerate(spec.columns) if c.is_list]
        bools = [i for i, c in enumerate(spec.columns) if c.base == "bool"]
        key_idx = [spec.names.index(k) for k in spec.key] if self._key_column(table) == "_key" else None

        if not lists and not bools and key_idx is None:
            def plain(row: tuple) -> tuple:
                extra = row[-1]
                return row[:-1] + ((orjson.dumps(extra, option=orjson.OPT_SORT_KEYS).decode() if extra else None),)
            return plain

        def encode(row: tuple) -> tuple:
            out = list(row)
            extra = out.pop()
            for i in lists:
                out[i] = ";".join(out[i]) if out[i] else None
            for i in bools:
                if out[i] is not None:
                    out[i] = int(out[i])
            out.append(orjson.dumps(extra, option=orjson.OPT_SORT_KEYS).decode() if extra else None)
            if key_idx is not None:
                out.insert(0, "\x1f".join("" if row[i] is None else str(row[i]) for i in key_idx))
            return tuple(out)

        return encode

    def write(self, dataset: Dataset, progress: Progress | None = None) -> WriteResult:
        """``progress`` (``accountability.progress``) hears of the rows written, table by table."""
        # Every import diffs the rows, even of the dataset already held: the hash in meta says what the last
        # import wrote, not what the file holds now, and rows changed outside an import are put back here.
        digest = dataset.content_hash()
        result = WriteResult(digest, unchanged=False)
        fresh = all(self.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() is None for t in self.schema.tables)
        try:
            with self._transaction():
                self.db.execute("PRAGMA cache_size=-262144")
                previous = self._meta_value("dataset_hash")
                self._sentinels(lift=True)
                if fresh:  # bulk load: build the indexes once, after the rows are in
                    for i, ix in enumerate(INDEXES):
                        self.db.execute(f"DROP INDEX IF EXISTS {_index_name(i, ix)}")
                total, done = sum(len(dataset.tables.get(n, ())) for n in self.schema.tables), 0
                for name in self.schema.tables:
                    if progress:
                        progress(done, total, "write")
                    self._write_table(name, dataset.tables.get(name, []), result)
                    done += len(dataset.tables.get(name, ()))
                if progress:
                    progress(done, total, "write")
                if fresh:
                    for i, ix in enumerate(INDEXES):
                        self.db.execute(f"CREATE INDEX IF NOT EXISTS {_index_name(i, ix)} ON {ix}")
                changed = any(n for c in (result.inserted, result.updated, result.deleted) for n in c.values())
                if previous == digest and not changed:
                    result = WriteResult(digest, unchanged=True)  # nothing to change; the trail records it
                else:
                    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                    for key, value in (("dataset_hash", digest), ("imported_at", now), ("source", dataset.source)):
                        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                digests, manifests = audit.vouch(self._last_entry(), dataset, digest, self.audit_manifests(), changed)
                self.db.executemany("INSERT OR REPLACE INTO audit_rows VALUES (?, ?)", manifests.items())
                result.audit = self._append_audit(result, dataset.source, previous, digests)
                self.db.execute("DELETE FROM audit_outside")  # the rows are the dataset's again
                self._sentinels(lift=False)
        except sqlite3.DatabaseError as exc:
            raise self._write_error(exc) from None
        return result

    def append(self, table: str, rows: list[dict], source: str) -> WriteResult:
        from accountability.dataset import validate_append

        try:
            with self._transaction():  # the checks read what the write lock keeps as it is
                new = validate_append(self, table, rows, source)
                previous = self._meta_value("dataset_hash")
                found = self.db.execute("SELECT manifest FROM audit_rows WHERE tbl = ?", (table,)).fetchone()
                digests, manifest = audit.vouch_append(self._last_entry(), self.schema.tables[table], new,
                                                       found[0] if found and isinstance(found[0], bytes) else None)
                self._sentinels(lift=True)
                columns = ([] if self._key_column(table) == "id" else ["_key"]) + list(self.schema.tables[table].names)
                names = ", ".join(_quote(c) for c in columns + [EXTRA])
                self.db.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * (len(columns) + 1))})",
                                    map(self._encoder(table), new))
                self._sentinels(lift=False)
                result = WriteResult(audit.appended_hash(previous, table, new), unchanged=False,
                                     inserted={table: len(new)})
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                for key, value in (("dataset_hash", result.dataset_hash), ("imported_at", now), ("source", source)):
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                if manifest is not None:
                    self.db.execute("INSERT OR REPLACE INTO audit_rows VALUES (?, ?)", (table, manifest))
                result.audit = self._append_audit(result, source, previous, digests, action="append")
        except sqlite3.DatabaseError as exc:
            raise self._write_error(exc, "append") from None
        return result

    def _write_error(self, exc: sqlite3.DatabaseError, doing: str = "import") -> StoreError:
        if getattr(exc, "sqlite_errorname", "") in NO_SPACE:
            return StoreError(f"{doing} failed, store unchanged: no room to write {self.path} ({exc}): free some "
                              f"disk space (or raise the file size limit) and {doing} again")
        return StoreError(f"{doing} failed, store unchanged: {exc}")

    def _meta_value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _last_entry(self) -> dict | None:
        columns = ", ".join(f'"{f}"' for f in audit.FIELDS)
        row = self.db.execute(f"SELECT {columns} FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
        return dict(zip(audit.FIELDS, row)) if row else None

    def _append_audit(self, result: WriteResult, source: str, previous: str | None = None,
                      digests: dict[str, str] | None = None, action: str = "import") -> str:
        """Append the entry recording ``result``; called inside the write transaction, so that the entry
        and the data commit together or not at all."""
        columns = ", ".join(f'"{f}"' for f in audit.FIELDS)
        last = self._last_entry()
        if result.unchanged:
            previous = result.dataset_hash
        entry = audit.next_entry(last, result, source, previous, action=action, digests=digests)
        self.db.execute(f"INSERT INTO {AUDIT_TABLE} ({columns}) VALUES ({', '.join('?' * len(audit.FIELDS))})",
                        [int(entry[f]) if f == "unchanged" else entry[f] for f in audit.FIELDS])
        head = audit.head_of(entry)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('audit_head', ?)", (head,))
        return head

    def _write_table(self, name: str, rows: list[tuple], result: WriteResult) -> None:
        key = self._key_column(name)
        columns = ([] if key == "id" else ["_key"]) + list(self.schema.tables[name].names) + [EXTRA]
        col_sql = ", ".join(_quote(c) for c in columns)
        values = ", ".join("?" * len(columns))
        insert = f"INSERT OR REPLACE INTO {name} ({col_sql}) VALUES ({values})"
        key_pos = columns.index(key)
        encode = self._encoder(name)
        if self.db.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone() is None:
            self.db.executemany(f"INSERT INTO {name} ({col_sql}) VALUES ({values})", map(encode, rows))
            result.inserted[name] = len(rows)
            return
        existing = {r[key_pos]: r for r in self.db.execute(f"SELECT {col_sql} FROM {name}")}
        changed, inserted = [], 0
        for row in map(encode, rows):
            old = existing.pop(row[key_pos], None)
            if old is None:
                inserted += 1
                changed.append(row)
            elif old != row:
                changed.append(row)
        self.db.executemany(insert, changed)
        self.db.executemany(f"DELETE FROM {name} WHERE {_quote(key)} = ?", ((k,) for k in existing))
        result.inserted[name] = inserted
        result.updated[name] = len(changed) - inserted
        result.deleted[name] = len(existing)

    # -- reading ----------------------------------------------------------------------------------------

    def _decoder(self, table: str, only: Sequence[str] | None = None):
        """Column names and the row decoder; ``only`` some columns (then without ``extra``)."""
        columns = [c for c in self.schema.tables[table].columns if only is None or c.name in only]
        if only is not None and len(columns) != len(set(only)):
            unknown = sorted(set(only) - {c.name for c in columns})
            raise UsageError(f"unknown column '{unknown[0]}' of table '{table}'")
        names = [c.name for c in columns] + ([EXTRA] if only is None else [])
        lists = [i for i, c in enumerate(columns) if c.is_list]
        bools = [i for i, c in enumerate(columns) if c.base == "bool"]
        extra_pos = len(columns) if only is None else None

        if not lists and not bools:
            def plain(row: tuple) -> dict:
                d = dict(zip(names, row))
                if extra_pos is not None and row[extra_pos] is not None:
                    d[EXTRA] = orjson.loads(row[extra_pos])
                return d
            return names, plain

        def decode(row: tuple) -> dict:
            row = list(row)
            for i in lists:
                row[i] = tuple(row[i].split(";")) if row[i] else ()
            for i in bools:
                row[i] = bool(row[i])
            if extra_pos is not None and row[extra_pos] is not None:
                row[extra_pos] = orjson.loads(row[extra_pos])
            return dict(zip(names, row))

        return names, decode

    def rows(self, table: str, **where: Any) -> Iterator[dict]:
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        names, decode = self._decoder(table)
        cursor = self._select(table, names, where)
        for row in cursor or ():
            yield decode(row)

    def tuples(self, table: str, columns: Sequence[str], **where: Any) -> Iterator[tuple]:
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        self._decoder(table, columns)  # unknown columns refused
        kinds = {c.name: c for c in self.schema.tables[table].columns}
        lists = [i for i, c in enumerate(columns) if kinds[c].is_list]
        bools = [i for i, c in enumerate(columns) if kinds[c].base == "bool"]
        cursor = self._select(table, columns, where) or ()
        if not lists and not bools:
            yield from cursor
            return
        for row in cursor:
            row = list(row)
            for i in lists:
                row[i] = tuple(row[i].split(";")) if row[i] else ()
            for i in bools:
                row[i] = bool(row[i])
            yield tuple(row)

    def _select(self, table: str, names: Sequence[str], where: dict[str, Any]) -> sqlite3.Cursor | None:
        """The rows' ``names`` where every ``column=value`` or ``column=[values]`` holds (None: an empty list
        of values, so no row)."""
        known = (*self.schema.tables[table].names, EXTRA)
        clauses, params = [], []
        for column, value in where.items():
            if column not in known:
                raise UsageError(f"unknown column '{column}' of table '{table}'")
            if isinstance(value, (list, tuple, set, frozenset)):
                value = list(value)
                if not value:
                    return None
                # large IN lists go through a temporary table rather than thousands of parameters
                clauses.append(f"{_quote(column)} IN (SELECT value FROM json_each(?))")
                params.append(orjson.dumps(value).decode())
            elif value is None:
                clauses.append(f"{_quote(column)} IS NULL")
            elif isinstance(value, Before):
                clauses.append(f"{_quote(column)} < ?")
                params.append(value.value)
            else:
                clauses.append(f"{_quote(column)} = ?")
                params.append(value)
        sql = f"SELECT {', '.join(_quote(n) for n in names)} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return self.db.execute(sql, params)

    def count(self, table: str) -> int:
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def hazard_records(
        self, unresolved_on: str | None = None, ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None, events: bool = True,
    ) -> Iterator[tuple[dict, list[dict]]]:
        names, decode = self._decoder("hazards", columns)
        cols = ", ".join(_quote(n) for n in names)
        if ids is not None:
            ids = orjson.dumps(sorted(set(ids))).decode()
            hazards = self.db.execute(
                f"SELECT {cols} FROM hazards WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", (ids,)
            )
            found = self.db.execute(
                'SELECT hazard_id, "on", kind, deadline FROM events WHERE kind IN (?, ?) '
                "AND hazard_id IN (SELECT value FROM json_each(?)) ORDER BY hazard_id, \"on\"",
                (*STATE_EVENTS, ids),
            ) if events else ()
        else:
            if unresolved_on is None:
                raise UsageError("hazard_records needs unresolved_on or ids")
            hazards = self.db.execute(
                f"SELECT {cols} FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) ORDER BY id",
                (unresolved_on, unresolved_on),
            )
            found = self.db.execute(
                'SELECT hazard_id, "on", kind, deadline FROM events WHERE kind IN (?, ?) ORDER BY hazard_id, "on"',
                STATE_EVENTS,
            ) if events else ()
        yield from merge_events((decode(r) for r in hazards), found) if events else ((decode(r), []) for r in hazards)

    def search(self, text: str, limit: int = 50, within: Collection[str] | None = None,
               table: str | None = None) -> list[dict]:
        text = text.strip()
        if not text:
            return []
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        places = () if within is None else (orjson.dumps(list(within)).decode(),)
        found: list[dict] = []
        for name, label in SEARCHABLE:
            if table is not None and name != table:
                continue
            placed = "" if within is None else f" AND {PLACED_IN[name]}"
            sql = (f"SELECT id, {label} FROM {name} WHERE (id = ? OR id LIKE ? ESCAPE '\\' "
                   f"OR {label} LIKE ? ESCAPE '\\'){placed} ORDER BY id = ? DESC, id LIMIT ?")
            for oid, value in self.db.execute(sql, (text, pattern, pattern, *places, text, limit)):
                found.append({"type": name, "id": oid, "name": value})
        found.sort(key=lambda r: (r["id"] != text, r["type"] != "people", len(r["name"] or "")))
        return found[:limit]

    def meta(self) -> dict[str, Any]:
        try:
            return dict(self.db.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError:
            return {}

    def audit_entries(self) -> Iterator[dict]:
        # a log of an earlier format, opened read-only, lacks the newer fields' columns
        fields = [r[1] for r in self.db.execute(f"PRAGMA table_info({AUDIT_TABLE})") if r[1] in audit.FIELDS]
        if not fields:  # a store written before the audit trail, opened read-only
            return
        columns = ", ".join(f'"{f}"' for f in fields)
        for row in self.db.execute(f"SELECT {columns} FROM {AUDIT_TABLE} ORDER BY seq"):
            yield dict(zip(fields, row))

    def audit_manifests(self) -> dict[str, bytes]:
        try:  # a manifest rewritten as text is no manifest: verify then names its table only
            return {t: m for t, m in self.db.execute("SELECT tbl, manifest FROM audit_rows") if isinstance(m, bytes)}
        except sqlite3.OperationalError:  # a store from before the manifests, opened read-only
            return {}

    def writes_outside_imports(self) -> list[str] | None:
        if not self._sentinels_present():
            return None  # never made (opened read-only since an upgrade) or dropped: only a full check can tell
        try:
            if self.db.execute("SELECT 1 FROM audit_outside WHERE op = ? LIMIT 1", (GAP,)).fetchone():
                return None  # the triggers were missing for a while (see _create)
            rows = self.db.execute("SELECT tbl, key, op, min(at), count(*) OVER () FROM audit_outside "
                                   "GROUP BY tbl, key, op ORDER BY min(rowid) LIMIT ?", (audit.MAX_NAMED,)).fetchall()
        except sqlite3.OperationalError:  # the record itself dropped
            return None
        out = [f"{audit.row_label(tbl, key or '')} {OUTSIDE_OPS[op][1]} outside an import ({at} UTC)"
               for tbl, key, op, at, _ in rows]
        if rows and rows[0][4] > len(rows):
            out.append(f"{rows[0][4] - len(rows)} more rows written outside an import")
        return out

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["SQLiteStore"]:
        """One read transaction: WAL gives it the version committed when its first read ran, and an
        import committing meanwhile does not show until the block ends."""
        if self.db.in_transaction:  # already inside one (a snapshot or a write): nothing to pin
            yield self
            return
        self.db.execute("BEGIN")
        try:
            self.db.execute("SELECT count(*) FROM meta").fetchone()  # the first read pins the version
            yield self
        finally:
            if self.db.in_transaction:
                self.db.execute("COMMIT")  # reads only: COMMIT, unlike ROLLBACK, leaves open cursors alone

    def close(self) -> None:
        self.db.close()


class SQLiteSignIns(SignInLog):
    """The sign-in log of a SQLite store (``accountability.lockout``): the file ``STORE.sign-ins`` beside
    the store's, one row per user name or client address, made (readable by its owner only) when the first
    attempt is counted.

    Beside the data rather than in its file, because an import holds the data file's write lock for as long
    as it runs (most of a minute at province scale) and a sign-in must not wait for it; because the app
    reads the data through a read-only connection, and the raw SQL console reads it too; and because a
    store that does not exist yet — an app waiting for its first import — must not seem to exist for a
    table of sign-ins. Each update is one ``BEGIN IMMEDIATE`` transaction: processes counting the same
    name queue there.
    """

    TABLE = ("CREATE TABLE IF NOT EXISTS sign_ins (key TEXT PRIMARY KEY, failures TEXT NOT NULL, "
             "locked_until REAL NOT NULL, expires REAL NOT NULL)")

    def __init__(self, store_path: str | Path, timeout: float = 30.0):
        self.path = Path(f"{store_path}.sign-ins")
        self.timeout = timeout
        self._db: sqlite3.Connection | None = None

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            if not create and not self.path.exists():
                return None
            try:
                self.path.touch(mode=0o600, exist_ok=True)  # SQLite gives its journal the same mode
                self._db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                           check_same_thread=False)
                self._db.execute("PRAGMA synchronous=FULL")
            except (OSError, sqlite3.Error) as exc:
                raise self._error(exc) from None
        return self._db

    def _error(self, exc: Exception) -> StoreError:
        return StoreError(f"cannot keep the count of failed sign-ins in {self.path}: "
                          f"{getattr(exc, 'strerror', None) or exc}")

    def read(self, key: str) -> Record | None:
        db = self._connect(create=False)
        if db is None:
            return None
        try:
            row = db.execute("SELECT failures, locked_until, expires FROM sign_ins WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # made by a process that has not counted its attempt yet
                return None
            raise self._error(exc) from None
        return None if row is None else Record(tuple(orjson.loads(row[0])), row[1], row[2])

    def update(self, key: str, change, now: float) -> None:
        db = self._connect(create=True)
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            db.execute(self.TABLE)
            db.execute("DELETE FROM sign_ins WHERE expires < ?", (now,))
            new = change(self.read(key))
            if new is None:
                db.execute("DELETE FROM sign_ins WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO sign_ins VALUES (?, ?, ?, ?)",
                           (key, orjson.dumps(new.failures).decode(), new.locked_until, new.expires))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._error(exc) from None
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
