"""The records of conduct that reference-v2 judges (DESIGN.md, "Reference rules v2"): a hazard's events,
the inspections of a unit and the designations of a post, and what they say on a day.

- :class:`~accountability.records.Records` reads them from a store as named records, on first use (one
  trace reads a few rows) or all at once (``load_all``) for batch work; the rules here read those.
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

from bisect import bisect_left
from collections import defaultdict
from operator import attrgetter
from typing import Any, Iterable

from accountability.records import Event, Inspection, Records, as_events, reopens
from accountability.trace import hazard_state

ORDERS = ("order_issued", "penalty", "suspension")  # inspection outcomes that handle what was found
DUTY_EVENTS = ("escalated", "order_issued")  # events that record a duty done for a hazard
REOPENING = ("reopened", "reinspected")
_on = attrgetter("on")


def closed_on(hazard: dict, events: list[Event] | list[dict], on: str) -> bool:
    """Whether the hazard is closed on ``on`` (v2's reading, events included; records or event rows)."""
    return _closed(hazard, as_events(events), on)


def _closed(hazard: dict, events: list[Event], on: str) -> bool:
    closure = hazard["closed_on"] if hazard["closed_on"] and hazard["closed_on"] <= on else None
    opened = None
    for e in events:
        if e.on > on:
            break
        if e.kind == "closed" and (closure is None or e.on > closure):
            closure = e.on
        elif reopens(e) and (opened is None or e.on > opened):
            opened = e.on
    return closure is not None and (opened is None or closure > opened)


def state(hazard: dict, events: list[Event] | list[dict], on: str) -> dict:
    """The hazard on ``on``: its deadline (the latest extension's), first escalation, whether it is unresolved
    and the days it is overdue — the keys of ``trace.hazard_state``, read the v2 way."""
    if not events:  # most hazards: the row says it all
        return hazard_state(hazard, (), on)
    events = as_events(events)
    return hazard_state(hazard, events, on, hazard["found_on"] <= on and not _closed(hazard, events, on))


def began(hazard: dict) -> str:
    """When the hazard's condition began: ``existed_since`` where established, else ``found_on``."""
    return hazard.get("existed_since") or hazard["found_on"]


def inspection_evidence(r: Inspection) -> dict:
    return {"kind": "inspection", "id": r.id, "date": r.on, "outcome": r.outcome}


def event_evidence(e: Event) -> dict:
    d = {"kind": "event", "hazard_id": e.hazard_id, "date": e.on, "event": e.kind}
    if e.outcome:
        d["outcome"] = e.outcome
    return d


def missed_inspections(hazard: dict, events: list[Event], units: Iterable[str], records: Records,
                       on: str) -> list[tuple[Inspection, str]]:
    """Rule 10 on ``on``: inspections of the hazard's units that missed it (on a day d from its beginning to
    ``on`` while it was not closed, not listing it), and inspections that listed a major hazard without
    handling it (no order or penalty by the same post from d to ``on``). Each as (inspection, how)."""
    hid, start = hazard["id"], began(hazard)
    found = []
    for unit in units:
        inspections = records.inspections(unit)  # by date: those before the hazard began are skipped
        for r in inspections[bisect_left(inspections, start, key=_on):] if inspections else ():
            d = r.on
            if d > on:
                break
            if hid not in r.hazard_ids:
                if not _closed(hazard, events, d):
                    found.append((r, "missed"))
            elif hazard["level"] == "major" and r.outcome in ("no_findings", "hazards_found") and \
                    not _handled(hid, r.post_id, d, on, events, records, units):
                found.append((r, "not_handled"))
    return found


def _handled(hid: str, post_id: str, since: str, on: str, events: list[Event], records: Records,
             units: Iterable[str]) -> bool:
    if any(e.kind == "order_issued" and e.post_id == post_id and since <= e.on <= on for e in events):
        return True
    return any(r.post_id == post_id and r.outcome in ORDERS and since <= r.on <= on and hid in r.hazard_ids
               for unit in units for r in records.inspections(unit))


def false_closures(events: list[Event], on: str) -> list[tuple[Event, Event]]:
    """Rule 11 on ``on``: ``closed`` events signed by a post and followed, on a strictly later day on or before
    ``on``, by a reopening; each as (the sign-off, the first reopening after it)."""
    found = []
    for i, e in enumerate(events):
        if e.on > on:
            break
        if e.kind != "closed" or not e.post_id:
            continue
        after = next((x for x in events[i + 1:] if e.on < x.on <= on and reopens(x)), None)
        if after is not None:
            found.append((e, after))
    return found


def duty_records(hazard: dict, events: list[Event], units: Iterable[str], records: Records,
                 on: str) -> dict[str, list[Event | Inspection]]:
    """Per post, the records on or before ``on`` of a duty done for the hazard (Provisions Art. 23): an
    inspection listing it with an order, a penalty or a suspension, an ``escalated`` or ``order_issued``
    event signed by the post (as records: ``evidence`` gives each as cited)."""
    hid = hazard["id"]
    out: dict[str, list[Event | Inspection]] = defaultdict(list)
    for e in events:
        if e.on > on:
            break
        if e.kind in DUTY_EVENTS and e.post_id:
            out[e.post_id].append(e)
    for unit in units:
        for r in records.inspections(unit):
            if r.on > on:
                break
            if r.outcome in ORDERS and hid in r.hazard_ids:
                out[r.post_id].append(r)
    return out


def evidence(record: Event | Inspection) -> dict:
    """A record as a link or an assessment cites it."""
    return inspection_evidence(record) if isinstance(record, Inspection) else event_evidence(record)


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
