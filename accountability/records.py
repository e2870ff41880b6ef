"""The records of conduct that reference-v2 judges, as read from a store: a hazard's events, the inspections
of a unit and the designations naming a target (DESIGN.md, "Reference rules v2"; the rules that read them
are in ``accountability.conduct``).

Each record is a named tuple of the columns the rules read, not a row dictionary: batch work holds over a
million of them (a tuple is a quarter of a dictionary's size, and the store reads it without building
one). They still read as rows do — ``record["on"]``, ``record.get("note")`` — for code written against
rows; the rules read attributes.

    >>> e = Event("H1", "2026-04-01", "reinspected", "P1", None, "relapsed")
    >>> e.on, e["kind"], e.get("outcome"), e.get("note")
    ('2026-04-01', 'reinspected', 'relapsed', None)
    >>> as_events([{"hazard_id": "H1", "on": "2026-01-02", "kind": "closed", "deadline": None}])
    [Event(hazard_id='H1', on='2026-01-02', kind='closed', post_id=None, deadline=None, outcome=None)]
"""

from __future__ import annotations

from collections import defaultdict
from operator import attrgetter
from typing import Any, NamedTuple

from accountability.memory import gc_paused
from accountability.stores.base import Store

new_tuple = tuple.__new__


def _get(record: tuple, key: str, default: Any = None) -> Any:
    """``record.get(key)`` as a row's: the column, or ``default`` when the record has none by that name."""
    return getattr(record, key) if key in record._fields else default


class Event(NamedTuple):
    hazard_id: str
    on: str
    kind: str
    post_id: str | None
    deadline: str | None
    outcome: str | None

    __getitem__ = object.__getattribute__  # record["on"], as a row reads
    get = _get


class Inspection(NamedTuple):
    id: str
    organization_id: str
    on: str
    post_id: str
    hazard_ids: tuple[str, ...]
    outcome: str
    note: str | None

    __getitem__ = object.__getattribute__
    get = _get


class Designation(NamedTuple):
    post_id: str
    kind: str
    target_id: str
    start: str
    end: str | None

    __getitem__ = object.__getattribute__
    get = _get


# the kinds of event that a rule reads (accountability.conduct): closures and what reopens them, extended
# deadlines, escalations, orders; the rest of a hazard's history (found, inspected, rectified) none does
EVENT_KINDS = ("closed", "reopened", "reinspected", "deadline_extended", "escalated", "order_issued")

# per table: the record, the column that groups the records and their order within a group
TABLES = {
    "events": (Event, "hazard_id", attrgetter("on", "kind")),
    "inspections": (Inspection, "organization_id", attrgetter("on", "id")),
    "designations": (Designation, "target_id", attrgetter("start", "post_id")),
}


def as_events(events: list) -> list[Event]:
    """A hazard's events as records: those read here as they are, event rows (dictionaries) converted."""
    if events and isinstance(events[0], dict):
        return [Event(*[e.get(c) for c in Event._fields]) for e in events]
    return events


class Records:
    """Events by hazard, inspections by inspected unit and designations by target, read once: on first use
    (one trace reads a few), or all at once (``load_all``, batch work)."""

    def __init__(self, store: Store):
        self.store = store
        tables = store.schema.tables
        self._has = {t: t in tables for t in TABLES}
        self._events: dict[str, list[Event]] = {}
        self._inspections: dict[str, list[Inspection]] = {}
        self._designations: dict[str, list[Designation]] = {}
        self._reopened: set[str] | None = None
        self._complete = False

    def load_all(self) -> "Records":
        """Read every event of a kind the rules read, every inspection and designation (batch work)."""
        if self._complete:
            return self
        with gc_paused():
            self._events = self._read_all("events", kind=list(EVENT_KINDS))
            self._inspections = self._read_all("inspections")
            self._designations = self._read_all("designations")
        self._complete = True
        # every record is read: a lookup is one dictionary access (a key without records reads as none)
        self.events, self.inspections = self._events.__getitem__, self._inspections.__getitem__
        self.designations = self._designations.__getitem__
        return self

    def _read_all(self, table: str, **where: Any) -> dict[str, list]:
        if not self._has[table]:
            return {}
        record, column, order = TABLES[table]
        at = record._fields.index(column)
        grouped: dict[str, list] = defaultdict(list)
        for row in self.store.tuples(table, record._fields, **where):
            grouped[row[at]].append(new_tuple(record, row))
        for group in grouped.values():
            if len(group) > 1:
                group.sort(key=order)
        return _Grouped(grouped)

    @property
    def complete(self) -> bool:
        return self._complete

    def any_designations(self) -> bool:
        """False when every record is read and none is a designation (rule 9 has nothing to look up)."""
        return not self._complete or bool(self._designations)

    def _find(self, cache: dict, table: str, key: str) -> list | tuple:
        """The records of one hazard, unit or target: those read, else (all read: none) an empty tuple, else
        the few asked, read now and kept."""
        found = cache.get(key)
        if found is None:
            found = () if self._complete else self._read(cache, table, key)
        return found

    def _read(self, cache: dict, table: str, key: str) -> list:
        if not self._has[table]:
            return []
        record, column, order = TABLES[table]
        rows = self.store.tuples(table, record._fields, **{column: key})
        if table == "events":
            rows = (r for r in rows if r[2] in EVENT_KINDS)
        found = cache[key] = sorted([new_tuple(record, r) for r in rows], key=order)
        return found

    def events(self, hazard_id: str) -> list[Event]:
        """The events of the hazard that a rule reads (``EVENT_KINDS``), by date."""
        return self._find(self._events, "events", hazard_id)

    def inspections(self, organization_id: str) -> list[Inspection]:
        """The inspections of a unit, by date."""
        return self._find(self._inspections, "inspections", organization_id)

    def designations(self, target_id: str) -> list[Designation]:
        """The designations naming a hazard, an organization or a jurisdiction, by start."""
        return self._find(self._designations, "designations", target_id)

    def reopened(self) -> set[str]:
        """Hazards with a ``reopened`` or relapsed ``reinspected`` event (``trace --all`` reads these
        besides the hazards whose row says unresolved)."""
        if self._reopened is None:
            self.load_all()
            self._reopened = {e.hazard_id for evs in self._events.values() for e in evs if reopens(e)}
        return self._reopened


class _Grouped(dict):
    """Records by key, every one read: a key without any reads as an empty tuple (and is not added)."""

    def __missing__(self, key: str) -> tuple:
        return ()


def reopens(event: Event) -> bool:
    """Whether the event reopens its hazard: ``reopened``, or a ``reinspected`` that found it relapsed."""
    return event.kind == "reopened" or (event.kind == "reinspected" and event.outcome == "relapsed")
