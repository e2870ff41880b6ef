"""The one storage interface. Stores hold the data; the engine (``trace.py``) does all the reasoning.

Every store offers the same small surface, tested by one shared module against each implementation
(``tests/test_stores.py``):

- ``write(dataset)``: make the store hold exactly ``dataset``, atomically; a no-op when it already does.
- ``append(table, rows, source)``: add a few rows (a re-inspection entered by hand) without rewriting the
  rest, validated against the stored rows as an import would, in one transaction with its audit entry.
- ``rows(table, **where)``: rows of a table as dicts, filtered by ``column=value`` or ``column=[values]``.
  ``tuples(table, columns, **where)``: the same rows, only those columns, as tuples. ``column=Before(v)``
  filters on a range: the value is set and sorts before ``v`` (dates and ids, as text). ``scan(table)``:
  every row as a dataset holds it, in no particular order, as fast as the store reads a whole table.
- ``hazard_records(unresolved_on=D | ids=[…])``: hazards ordered by id, each with its escalation and
  deadline events, streamed.
- ``search(text)``: entities by id, name or title, for the explorer.
- ``meta()``: the dataset version (content hash), when it was imported and the audit head.
- ``audit_entries()``: the audit log, oldest first; ``write`` appends to it in its own transaction (see
  ``accountability.audit``), with the digests of the rows it leaves, and keeps their manifests
  (``audit_manifests()``).
- ``snapshot()``: a block in which every read sees one version of the data, even while an import commits.
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Iterator, Sequence

from accountability.dataset import EXTRA, Dataset
from accountability.errors import UsageError

# Events the engine needs to judge a hazard (escalation, extended deadlines); the rest is history.
STATE_EVENTS = ("escalated", "deadline_extended")


@dataclass(frozen=True)
class Before:
    """A filter of ``rows`` and ``tuples``: ``closed_on=Before("2026-07-31")`` keeps the rows whose value is
    set and less than this one (text order, which is date order for dates)."""

    value: Any


@dataclass
class WriteResult:
    dataset_hash: str
    unchanged: bool
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    audit: str | None = None  # the audit entry recording this write, as "seq:hash"

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset_hash": self.dataset_hash,
            "unchanged": self.unchanged,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "audit": self.audit,
        }


class Store(abc.ABC):
    uri: str

    @abc.abstractmethod
    def write(self, dataset: Dataset) -> WriteResult: ...

    def append(self, table: str, rows: list[dict], source: str) -> WriteResult:
        """Add ``rows`` (cells by column name) to ``table`` (one of ``dataset.APPENDABLE``), atomically.

        The rows are checked by ``dataset.validate_append`` against the stored rows they concern, as an
        import of the stored dataset with them added would check them (every error as ``table:row:
        column: reason``; nothing stored when there is one), and written in one transaction with their
        audit entry (action ``append``), the dataset hash chained (``audit.appended_hash``) and the table's
        digest and manifest updated (``audit.vouch_append``), so that ``audit verify`` vouches for them
        and a later import diffs against them as against any rows."""
        from accountability.errors import StoreError

        raise StoreError(f"the store at {self.uri} cannot append rows: import the dataset")

    @abc.abstractmethod
    def rows(self, table: str, **where: Any) -> Iterator[dict]: ...

    def tuples(self, table: str, columns: Sequence[str], **where: Any) -> Iterator[tuple]:
        """The ``columns`` of ``rows(table, **where)`` as tuples, in that order: batch work reads a million
        records with no more than it needs (a store may read them faster than its rows)."""
        rows = self.rows(table, **where)
        unknown = [c for c in columns if table in self.schema.tables and c not in self.schema.tables[table].names]
        if unknown:
            raise UsageError(f"unknown column '{unknown[0]}' of table '{table}'")
        for r in rows:
            yield tuple([r[c] for c in columns])

    def scan(self, table: str) -> Iterator[tuple]:
        """Every row of ``table`` as a dataset holds it (:func:`dataset_row`), in no particular order: a
        whole table read as fast as the store can (the audit's manifests). The default reads ``rows``."""
        names = self.schema.tables[table].names
        for r in self.rows(table):
            yield dataset_row(names, r)

    @abc.abstractmethod
    def count(self, table: str) -> int: ...

    @abc.abstractmethod
    def hazard_records(
        self, unresolved_on: str | None = None, ids: Iterable[str] | None = None,
        columns: Sequence[str] | None = None, events: bool = True,
    ) -> Iterator[tuple[dict, list[dict]]]:
        """Hazards ordered by id with their STATE_EVENTS (ordered by date): those unresolved on
        ``unresolved_on``, or those with the given ``ids``; each with every column and ``extra``, or
        ``columns`` only (batch work reads what the engine needs, ``trace.HAZARD_COLUMNS``). ``events=False``:
        the hazards only, each with an empty list (v2 reads its events from ``records.Records``)."""

    @abc.abstractmethod
    def search(self, text: str, limit: int = 50, within: Collection[str] | None = None,
               table: str | None = None) -> list[dict]:
        """Entities whose id, name or title contains ``text`` (case-insensitive), as
        ``{"type": table, "id": …, "name": …}``, exact id matches first; of ``table`` only when given.

        ``within`` (jurisdiction ids) keeps the entities placed there, as ``access.Scope`` places them — a
        jurisdiction by itself, an organization, hazard or incident by its jurisdiction, a post by its
        organization, a person by any post they held — inside the query, so that ``limit`` counts only
        those."""

    @abc.abstractmethod
    def meta(self) -> dict[str, Any]: ...

    def audit_entries(self) -> Iterator[dict]:
        """The audit log, oldest first: one record per write, with the fields of ``accountability.audit``.

        A store appends to it inside ``write``'s own transaction: it reads its last entry, builds the next
        with ``audit.next_entry(last, result, source, previous_dataset_hash)``, stores it and sets its
        ``meta`` key ``audit_head`` to ``audit.head_of(entry)`` — all before the commit.
        """
        from accountability.errors import StoreError

        raise StoreError(f"the store at {self.uri} keeps no audit trail")

    def audit_manifests(self) -> dict[str, bytes]:
        """Per table, the manifest of the rows the newest import left (``audit.manifest``), kept beside the
        log so that ``audit verify`` can name the rows that changed since; not trusted, but checked against
        the entry's digests. Stores that keep none return {} (verify then names the table only)."""
        return {}

    def writes_outside_imports(self) -> list[str] | None:
        """Rows written since the last import by anything but an import (``hazards:H1 changed outside an
        import``), for a store that records them cheaply as they happen; None when it cannot tell without
        reading every row (``audit.data_check`` then does)."""
        return None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["Store"]:
        """Every read inside the block sees one version of the data (one read transaction), whatever
        commits meanwhile. Stores whose reads are always consistent need not override it."""
        yield self

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dataset_row(names: Sequence[str], row: dict) -> tuple:
    """A row read as a dict (``Store.rows``) as a dataset holds it: the ``names`` columns in order, a list
    cell as a tuple, then ``extra``."""
    return tuple([tuple(v) if isinstance(v := row[c], list) else v for c in names]) + (row.get(EXTRA),)


def merge_events(hazards: Iterator[dict], events: Iterable[tuple]) -> Iterator[tuple[dict, list[dict]]]:
    """Join hazards and ``(hazard_id, on, kind, deadline)`` event tuples, both ordered by hazard id, in one
    pass (every store's ``hazard_records``)."""
    events = iter(events)
    pending = next(events, None)
    for hazard in hazards:
        hid = hazard["id"]
        own = []
        while pending is not None and pending[0] < hid:
            pending = next(events, None)
        while pending is not None and pending[0] == hid:
            own.append({"hazard_id": pending[0], "on": pending[1], "kind": pending[2], "deadline": pending[3]})
            pending = next(events, None)
        yield hazard, own
