"""The records of conduct that reference-v2 judges (DESIGN.md, "Reference rules v2"): a hazard's events,
the inspections of a unit and the designations of a post, and what they say on a day.

- :class:`Records` reads them from a store on first use (one trace reads a few rows), or all at once
  (``load_all``) for batch work.
- :func:`state` is a hazard's state on a day under v2's reading: closed when its latest closure on or before
  the day (``closed_on`` or a ``closed`` event) is later than its latest ``reopened`` or relapsed
  ``reinspected`` event; the deadline is the latest extension's.
- The finders of rules 10 and 11 (:func:`missed_inspections`, :func:`false_closures`) and of the records
  that exempt a holder (:func:`duty_records`) return evidence records in the shapes of DESIGN.md:
  ``{kind: inspection, id, date, outcome}``, ``{kind: event, hazard_id, date, event, outcome?}``.

    >>> h = {"id": "H1", "found_on": "2026-01-01", "deadline": "2026-02-01", "closed_on": "2026-03-01"}
    >>> relapse = {"hazard_id": "H1", "on": "2026-04-01", "kind": "reinspected", "outcome": "relapsed"}
    >>> state(h, [], "2026-03-15")["unresolved"], state(h, [relapse], "2026-04-02")["unresolved"]
    (False, True)
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import Any, Iterable

from accountability.stores.base import Store

ORDERS = ("order_issued", "penalty", "suspension")  # inspection outcomes that handle what was found
DUTY_EVENTS = ("escalated", "order_issued")  # events that record a duty done for a hazard
REOPENING = ("reopened", "reinspected")


# the order of each table's records: by date, then events by kind and inspections by id
ORDER = {"events": itemgetter("on", "kind"), "inspections": itemgetter("on", "id"),
         "designations": itemgetter("start", "post_id")}


class Records:
    """Events by hazard, inspections by inspected unit and designations by target, read once."""

    def __init__(self, store: Store):
        self.store = store
        tables = store.schema.tables
        self._has = {t: t in tables for t in ("inspections", "designations")}
        self._events: dict[str, list[dict]] = {}
        self._inspections: dict[str, list[dict]] = {}
        self._designations: dict[str, list[dict]] = {}
        self._reopened: set[str] | None = None
        self._complete = False

    def load_all(self) -> "Records":
        """Read every event, inspection and designation (batch work)."""
        if self._complete:
            return self
        events, inspections, designations = defaultdict(list), defaultdict(list), defaultdict(list)
        for r in self.store.rows("events"):
            events[r["hazard_id"]].append(r)
        for r in self.store.rows("inspections") if self._has["inspections"] else ():
            inspections[r["organization_id"]].append(r)
        for r in self.store.rows("designations") if self._has["designations"] else ():
            designations[r["target_id"]].append(r)
        self._events = {k: sorted(v, key=ORDER["events"]) for k, v in events.items()}
        self._inspections = {k: sorted(v, key=ORDER["inspections"]) for k, v in inspections.items()}
        self._designations = {k: sorted(v, key=ORDER["designations"]) for k, v in designations.items()}
        self._complete = True
        return self

    @property
    def complete(self) -> bool:
        return self._complete

    def any_designations(self) -> bool:
        """False when every record is read and none is a designation (rule 9 has nothing to look up)."""
        return not self._complete or bool(self._designations)

    def _get(self, cache: dict, table: str, column: str, key: str) -> list[dict]:
        found = cache.get(key)
        if found is None:
            if self._complete or not self._has.get(table, True):
                return []
            found = cache[key] = sorted(self.store.rows(table, **{column: key}), key=ORDER[table])
        return found

    def events(self, hazard_id: str) -> list[dict]:
        """Every event of the hazard, by date."""
        return self._get(self._events, "events", "hazard_id", hazard_id)

    def inspections(self, organization_id: str) -> list[dict]:
        """The inspections of a unit, by date."""
        return self._get(self._inspections, "inspections", "organization_id", organization_id)

    def designations(self, target_id: str) -> list[dict]:
        """The designations naming a hazard, an organization or a jurisdiction, by start."""
        return self._get(self._designations, "designations", "target_id", target_id)

    def reopened(self) -> set[str]:
        """Hazards with a ``reopened`` or relapsed ``reinspected`` event (``trace --all`` reads these
        besides the hazards whose row says unresolved)."""
        if self._reopened is None:
            self.load_all()
            self._reopened = {hid for hid, evs in self._events.items() if any(_reopens(e) for e in evs)}
        return self._reopened


def _reopens(event: dict) -> bool:
    return event["kind"] == "reopened" or (event["kind"] == "reinspected" and event.get("outcome") == "relapsed")


def closed_on(hazard: dict, events: Iterable[dict], on: str) -> bool:
    """Whether the hazard is closed on ``on`` (v2's reading, events included)."""
    closure = hazard["closed_on"] if hazard["closed_on"] and hazard["closed_on"] <= on else None
    opened = None
    for e in events:
        if e["on"] > on:
            break
        if e["kind"] == "closed" and (closure is None or e["on"] > closure):
            closure = e["on"]
        elif _reopens(e) and (opened is None or e["on"] > opened):
            opened = e["on"]
    return closure is not None and (opened is None or closure > opened)


def state(hazard: dict, events: list[dict], on: str) -> dict:
    """The hazard on ``on``: its deadline (the latest extension's), first escalation, whether it is unresolved
    and the days it is overdue — the keys of ``trace.hazard_state``, read the v2 way."""
    from accountability.trace import hazard_state

    return hazard_state(hazard, events, on, hazard["found_on"] <= on and not closed_on(hazard, events, on))


def began(hazard: dict) -> str:
    """When the hazard's condition began: ``existed_since`` where established, else ``found_on``."""
    return hazard.get("existed_since") or hazard["found_on"]


def inspection_evidence(r: dict) -> dict:
    return {"kind": "inspection", "id": r["id"], "date": r["on"], "outcome": r["outcome"]}


def event_evidence(e: dict) -> dict:
    d = {"kind": "event", "hazard_id": e["hazard_id"], "date": e["on"], "event": e["kind"]}
    if e.get("outcome"):
        d["outcome"] = e["outcome"]
    return d


def missed_inspections(hazard: dict, events: list[dict], units: Iterable[str], records: Records,
                       on: str) -> list[tuple[dict, str]]:
    """Rule 10 on ``on``: inspections of the hazard's units that missed it (on a day d from its beginning to
    ``on`` while it was not closed, not listing it), and inspections that listed a major hazard without
    handling it (no order or penalty by the same post from d to ``on``). Each as (inspection, how)."""
    hid, start = hazard["id"], began(hazard)
    found = []
    for unit in units:
        for r in records.inspections(unit):
            d = r["on"]
            if d < start:
                continue
            if d > on:
                break
            listed = hid in (r["hazard_ids"] or ())
            if not listed:
                if not closed_on(hazard, events, d):
                    found.append((r, "missed"))
            elif hazard["level"] == "major" and r["outcome"] in ("no_findings", "hazards_found") and \
                    not _handled(hid, r["post_id"], d, on, events, records, units):
                found.append((r, "not_handled"))
    return found


def _handled(hid: str, post_id: str, since: str, on: str, events: list[dict], records: Records,
             units: Iterable[str]) -> bool:
    if any(e["kind"] == "order_issued" and e.get("post_id") == post_id and since <= e["on"] <= on for e in events):
        return True
    return any(r["post_id"] == post_id and r["outcome"] in ORDERS and since <= r["on"] <= on
               and hid in (r["hazard_ids"] or ()) for unit in units for r in records.inspections(unit))


def false_closures(events: list[dict], on: str) -> list[tuple[dict, dict]]:
    """Rule 11 on ``on``: ``closed`` events signed by a post and followed, on a strictly later day on or before
    ``on``, by a reopening; each as (the sign-off, the first reopening after it)."""
    found = []
    for i, e in enumerate(events):
        if e["on"] > on:
            break
        if e["kind"] != "closed" or not e.get("post_id"):
            continue
        after = next((x for x in events[i + 1:] if e["on"] < x["on"] <= on and _reopens(x)), None)
        if after is not None:
            found.append((e, after))
    return found


def duty_records(hazard: dict, events: list[dict], units: Iterable[str], records: Records,
                 on: str) -> dict[str, list[dict]]:
    """Per post, the records on or before ``on`` of a duty done for the hazard (Provisions Art. 23): an
    inspection listing it with an order, a penalty or a suspension, an ``escalated`` or ``order_issued``
    event signed by the post."""
    hid = hazard["id"]
    out: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        if e["on"] > on:
            break
        if e["kind"] in DUTY_EVENTS and e.get("post_id"):
            out[e["post_id"]].append(event_evidence(e))
    for unit in units:
        for r in records.inspections(unit):
            if r["on"] > on:
                break
            if r["outcome"] in ORDERS and hid in (r["hazard_ids"] or ()):
                out[r["post_id"]].append(inspection_evidence(r))
    return out


def duty_of(kind: str, supervision: str | None) -> str:
    """The duty of a conduct link, from the acting post's organization (DESIGN.md, "Resolved readings")."""
    if kind == "department":
        return "comprehensive_supervision" if supervision == "comprehensive" else "sector_supervision"
    if kind == "safety_committee":
        return "comprehensive_supervision"
    if kind in ("government", "party_committee", "park_committee"):
        return "territorial_leadership"
    if kind == "enterprise":
        return "enterprise_main"
    return "sector_supervision"


def as_list(value: Any) -> tuple:
    return tuple(value or ())
