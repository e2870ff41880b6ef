"""The embedded store: one SQLite file (WAL), one table per table of the dataset contract.

Lists are kept as ``;``-separated text and extra columns as JSON in ``extra``, so that an auditor's
SQL reads the tables exactly as the contract describes them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from accountability.dataset import EXTRA, Dataset
from accountability.errors import StoreError, UsageError
from accountability.stores.base import STATE_EVENTS, Store, WriteResult, merge_events
from graph_schema import SCHEMA, Schema

SCHEMA_VERSION = 1
SEARCHABLE = (("people", "name"), ("posts", "title"), ("organizations", "name"), ("jurisdictions", "name"),
              ("hazards", "description"), ("incidents", "title"))
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
)


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

    def _key_column(self, table: str) -> str:
        return "id" if self.schema.tables[table].key == ("id",) else "_key"

    def _create(self) -> None:
        statements = []
        for name, table in self.schema.tables.items():
            cols = []
            if self._key_column(name) == "_key":
                cols.append("_key TEXT PRIMARY KEY")
            for c in table.columns:
                sql_type = "INTEGER" if c.base in ("int", "bool") and not c.is_list else "TEXT"
                pk = " PRIMARY KEY" if c.name == "id" and table.key == ("id",) else ""
                cols.append(f"{_quote(c.name)} {sql_type}{pk}")
            cols.append(f"{EXTRA} TEXT")
            statements.append(f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})")
        statements += [f"CREATE INDEX IF NOT EXISTS {_index_name(i, ix)} ON {ix}" for i, ix in enumerate(INDEXES)]
        statements.append("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        with self._transaction():
            for sql in statements:
                self.db.execute(sql)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _transaction(self):
        store = self

        class Tx:
            def __enter__(self):
                store.db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, exc, tb):
                store.db.execute("ROLLBACK" if exc_type else "COMMIT")
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

    def write(self, dataset: Dataset) -> WriteResult:
        digest = dataset.content_hash()
        if self.meta().get("dataset_hash") == digest:
            return WriteResult(digest, unchanged=True)
        result = WriteResult(digest, unchanged=False)
        fresh = all(self.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() is None for t in self.schema.tables)
        try:
            with self._transaction():
                self.db.execute("PRAGMA cache_size=-262144")
                if fresh:  # bulk load: build the indexes once, after the rows are in
                    for i, ix in enumerate(INDEXES):
                        self.db.execute(f"DROP INDEX IF EXISTS {_index_name(i, ix)}")
                for name in self.schema.tables:
                    self._write_table(name, dataset.tables.get(name, []), result)
                if fresh:
                    for i, ix in enumerate(INDEXES):
                        self.db.execute(f"CREATE INDEX IF NOT EXISTS {_index_name(i, ix)} ON {ix}")
                now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                for key, value in (("dataset_hash", digest), ("imported_at", now), ("source", dataset.source)):
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"import failed, store unchanged: {exc}") from None
        return result

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

    def _decoder(self, table: str):
        columns = list(self.schema.tables[table].columns)
        names = [c.name for c in columns] + [EXTRA]
        lists = [i for i, c in enumerate(columns) if c.is_list]
        bools = [i for i, c in enumerate(columns) if c.base == "bool"]
        extra_pos = len(columns)

        def decode(row: tuple) -> dict:
            row = list(row)
            for i in lists:
                row[i] = tuple(row[i].split(";")) if row[i] else ()
            for i in bools:
                row[i] = bool(row[i])
            if row[extra_pos] is not None:
                row[extra_pos] = orjson.loads(row[extra_pos])
            return dict(zip(names, row))

        return names, decode

    def rows(self, table: str, **where: Any) -> Iterator[dict]:
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        names, decode = self._decoder(table)
        clauses, params = [], []
        for column, value in where.items():
            if column not in names:
                raise UsageError(f"unknown column '{column}' of table '{table}'")
            if isinstance(value, (list, tuple, set, frozenset)):
                value = list(value)
                if not value:
                    return
                # large IN lists go through a temporary table rather than thousands of parameters
                clauses.append(f"{_quote(column)} IN (SELECT value FROM json_each(?))")
                params.append(orjson.dumps(value).decode())
            elif value is None:
                clauses.append(f"{_quote(column)} IS NULL")
            else:
                clauses.append(f"{_quote(column)} = ?")
                params.append(value)
        sql = f"SELECT {', '.join(_quote(n) for n in names)} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        for row in self.db.execute(sql, params):
            yield decode(row)

    def count(self, table: str) -> int:
        if table not in self.schema.tables:
            raise UsageError(f"unknown table '{table}'")
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def hazard_records(
        self, unresolved_on: str | None = None, ids: Iterable[str] | None = None
    ) -> Iterator[tuple[dict, list[dict]]]:
        names, decode = self._decoder("hazards")
        cols = ", ".join(_quote(n) for n in names)
        if ids is not None:
            ids = orjson.dumps(sorted(set(ids))).decode()
            hazards = self.db.execute(
                f"SELECT {cols} FROM hazards WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id", (ids,)
            )
            events = self.db.execute(
                'SELECT hazard_id, "on", kind, deadline FROM events WHERE kind IN (?, ?) '
                "AND hazard_id IN (SELECT value FROM json_each(?)) ORDER BY hazard_id, \"on\"",
                (*STATE_EVENTS, ids),
            )
        else:
            if unresolved_on is None:
                raise UsageError("hazard_records needs unresolved_on or ids")
            hazards = self.db.execute(
                f"SELECT {cols} FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) ORDER BY id",
                (unresolved_on, unresolved_on),
            )
            events = self.db.execute(
                'SELECT hazard_id, "on", kind, deadline FROM events WHERE kind IN (?, ?) ORDER BY hazard_id, "on"',
                STATE_EVENTS,
            )
        yield from merge_events((decode(r) for r in hazards), events)

    def search(self, text: str, limit: int = 50) -> list[dict]:
        text = text.strip()
        if not text:
            return []
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found: list[dict] = []
        for table, label in SEARCHABLE:
            sql = (f"SELECT id, {label} FROM {table} WHERE id = ? OR id LIKE ? ESCAPE '\\' "
                   f"OR {label} LIKE ? ESCAPE '\\' ORDER BY id = ? DESC, id LIMIT ?")
            for oid, name in self.db.execute(sql, (text, pattern, pattern, text, limit)):
                found.append({"type": table, "id": oid, "name": name})
        found.sort(key=lambda r: (r["id"] != text, r["type"] != "people", len(r["name"] or "")))
        return found[:limit]

    def meta(self) -> dict[str, Any]:
        try:
            return dict(self.db.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError:
            return {}

    def close(self) -> None:
        self.db.close()

