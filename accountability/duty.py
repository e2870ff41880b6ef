"""24-hour duty (值班值守): who was the leader on duty (带班领导) and the duty officer (值班员) of a
jurisdiction at a moment, and every stretch when nobody was (DESIGN.md, "Duty and reporting").

A shift is a row of ``duty_shifts``: ``[start, end)`` (a shift ending at 08:00 hands over to one starting at
08:00), naming a post — then whoever held it that day is on duty — or a person. Times are compared as
moments and written in Asia/Shanghai time with their offset (+08:00), whatever offset the data gave.

    >>> local("2026-03-01T00:15:00Z")
    '2026-03-01T08:15:00+08:00'
    >>> parse_moment("2026-03-01", "from")
    '2026-03-01T00:00:00+08:00'
    >>> hours(moment("2026-03-01T08:00"), moment("2026-03-01T20:30"))
    12.5
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from accountability.dates import SHANGHAI, local_date, moment, parse_datetime
from accountability.errors import UsageError
from accountability.graph import Graph
from accountability.stores.base import Store
from graph_schema import SCHEMA

ROLES = tuple(SCHEMA.vocab("duty_roles"))  # leader_on_duty, duty_officer: the order rows are listed in
GAP = "unstaffed_duty"


def local(text: str) -> str:
    """An ISO datetime in Asia/Shanghai time, with its offset."""
    return moment(text).astimezone(SHANGHAI).isoformat()


def parse_moment(value: Any, name: str) -> str:
    """A user's datetime (a bare date means 00:00; no offset means Asia/Shanghai), or UsageError."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00"
    try:
        return local(parse_datetime(text))
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


def now() -> str:
    return dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()


def hours(start: dt.datetime, end: dt.datetime) -> float:
    """The length of ``[start, end)`` in hours, two decimals."""
    return round((end - start).total_seconds() / 3600, 2)


class Roster:
    """Every shift of a store, by jurisdiction and role, read once."""

    def __init__(self, store: Store):
        self.by_place: dict[tuple[str, str], list[dict]] = defaultdict(list)
        if "duty_shifts" in store.schema.tables:
            for r in store.rows("duty_shifts"):
                shift = dict(r, _start=moment(r["start"]), _end=moment(r["end"]))
                self.by_place[(r["jurisdiction_id"], r["role"])].append(shift)
        for shifts in self.by_place.values():
            shifts.sort(key=lambda s: (s["_start"], s["post_id"] or "", s["person_id"] or ""))

    @property
    def jurisdictions(self) -> set[str]:
        return {j for j, _ in self.by_place}

    def at(self, jid: str, role: str, when: dt.datetime) -> list[dict]:
        """The shifts of ``role`` in ``jid`` covering the moment ``when``."""
        return [s for s in self.by_place.get((jid, role), ()) if s["_start"] <= when < s["_end"]]

    def uncovered(self, jid: str, role: str, start: dt.datetime, end: dt.datetime
                  ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The maximal stretches of ``[start, end)`` that no shift of ``role`` in ``jid`` covers."""
        out, cursor = [], start
        for s in self.by_place.get((jid, role), ()):  # by start
            if s["_end"] <= cursor:
                continue
            if s["_start"] >= end:
                break
            if s["_start"] > cursor:
                out.append((cursor, s["_start"]))
            cursor = max(cursor, s["_end"])
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
        return out


def holder(graph: Graph, shift: dict) -> tuple[str | None, str | None]:
    """Who was on duty by ``shift``: its person, or whoever held its post on the shift's local day (a
    substantive holder before an acting one); (None, None) for a post nobody held."""
    if shift["person_id"]:
        if shift["person_id"] not in graph.people:  # a person on duty without a post: not loaded with posts
            graph.people[shift["person_id"]] = _name(graph, shift["person_id"])
        return shift["person_id"], graph.person_name(shift["person_id"])
    post = graph.post(shift["post_id"])
    on = local_date(shift["start"])
    held = [t for t in (post.tenures if post else ()) if t.start <= on <= t.end]
    held.sort(key=lambda t: t.acting)
    return (held[0].person_id, held[0].name) if held else (None, None)


def _name(graph: Graph, person_id: str) -> str:
    row = next(graph.store.rows("people", id=person_id), None)
    return row["name"] if row else person_id


def keeps_duty(graph: Graph, roster: Roster, jid: str) -> bool:
    """Whether duty is kept in ``jid``: a jurisdiction of county level or higher, or any with shifts."""
    return jid in roster.jurisdictions or graph.jurisdiction(jid).rank <= graph.rank_of_level["county"]


def places(graph: Graph, roster: Roster, within: set[str] | None) -> list[str]:
    """The jurisdictions duty is kept in (``keeps_duty``), cut to ``within``; the highest first, then by id."""
    county = graph.rank_of_level["county"]
    found = {j.id for j in graph.jurisdictions.values() if j.rank <= county} | roster.jurisdictions
    if within is not None:
        found &= within
    return sorted(found, key=lambda j: (graph.jurisdiction(j).rank, j))


def on_duty(session: Any, at: str | None = None, jurisdiction: str | None = None) -> dict:
    """``{at, rows: [{jurisdiction_id, role, post_id, person_id, name, start, end}]}``: the leader and the
    officer on duty in each jurisdiction the user sees (``jurisdiction``: it and its subtree) at ``at``
    (default now); a jurisdiction with nobody on duty in a role has a row with an empty person."""
    when = parse_moment(at, "at") if at else now()
    within = session.scope.within(jurisdiction)
    roster = Roster(session.store)
    graph = session.graph
    rows = []
    moment_ = moment(when)
    for jid in places(graph, roster, within):
        for role in ROLES:
            shifts = roster.at(jid, role, moment_)
            for s in shifts:
                person, name = holder(graph, s)
                rows.append({"jurisdiction_id": jid, "role": role, "post_id": s["post_id"], "person_id": person,
                             "name": name, "start": local(s["start"]), "end": local(s["end"])})
            if not shifts:
                rows.append({"jurisdiction_id": jid, "role": role, "post_id": None, "person_id": None,
                             "name": None, "start": None, "end": None})
    return {"at": when, "rows": rows}


def gaps(session: Any, start: str, end: str, jurisdiction: str | None = None, left_by: bool = False) -> dict:
    """``{from, to, gaps: [{kind: unstaffed_duty, jurisdiction_id, role, start, end, hours}]}``: every
    maximal stretch of ``[start, end)`` without a shift of a role, per jurisdiction the user sees.
    ``left_by`` adds ``person_ids``: who was on duty in that role until the gap began (handed over to nobody;
    empty when the gap begins with ``start`` or follows no shift)."""
    a, b = parse_moment(start, "from"), parse_moment(end, "to")
    if moment(b) <= moment(a):
        raise UsageError(f"to: {b} is not after from {a}")
    roster = Roster(session.store)
    return {"from": a, "to": b, "gaps": _gaps(session, roster, a, b, session.scope.within(jurisdiction), left_by)}


def _gaps(session: Any, roster: Roster, a: str, b: str, within: set[str] | None, left_by: bool = False) -> list[dict]:
    found = []
    for jid in places(session.graph, roster, within):
        for role in ROLES:
            for x, y in roster.uncovered(jid, role, moment(a), moment(b)):
                gap = {"kind": GAP, "jurisdiction_id": jid, "role": role,
                       "start": x.astimezone(SHANGHAI).isoformat(), "end": y.astimezone(SHANGHAI).isoformat(),
                       "hours": hours(x, y)}
                if left_by:
                    ended = [s for s in roster.by_place.get((jid, role), ()) if s["_end"] == x and x > moment(a)]
                    gap["person_ids"] = [p for p in (holder(session.graph, s)[0] for s in ended) if p]
                found.append(gap)
    return found


ROW_COLUMNS = ["jurisdiction_id", "role", "post_id", "person_id", "name", "start", "end"]
GAP_COLUMNS = ["kind", "jurisdiction_id", "role", "start", "end", "hours"]


def on_duty_at(roster: Roster, graph: Graph, jid: str, when: str) -> list[dict]:
    """``[{jurisdiction_id, role, person_id, at}]``: who was on duty in ``jid`` at ``when`` (the ``on_duty``
    list of an incident's reporting)."""
    out = []
    for role in ROLES:
        for s in roster.at(jid, role, moment(when)):
            person, _ = holder(graph, s)
            out.append({"jurisdiction_id": jid, "role": role, "person_id": person, "at": local(when)})
    return out


def keepers(roster: Roster, graph: Graph, jid: str, when: dt.datetime) -> dict[str, list[dict]]:
    """``{role: [{person_id, name, post_id, start, end}]}``: who kept duty in ``jid`` at the moment ``when``,
    each role listed (empty: nobody)."""
    out: dict[str, list[dict]] = {}
    for role in ROLES:
        out[role] = []
        for s in roster.at(jid, role, when):
            person, name = holder(graph, s)
            out[role].append({"person_id": person, "name": name, "post_id": s["post_id"], "start": local(s["start"]),
                              "end": local(s["end"])})
    return out


def week(session: Any, start: str, days: int = 7, jurisdiction: str | None = None) -> dict:
    """The roster of ``days`` days from ``start`` (a date or datetime) for the jurisdictions the user sees
    (``jurisdiction``: it and its subtree), as a calendar draws it: ``{from, to, places, shifts: [{jurisdiction_id,
    role, post_id, person_id, name, start, end}], gaps}`` — each shift cut to the window, in local time; the
    ``gaps`` are those of :func:`gaps` over the same window."""
    a = parse_moment(start, "from")
    b = (moment(a) + dt.timedelta(days=days)).astimezone(SHANGHAI).isoformat()
    within = session.scope.within(jurisdiction)
    roster = Roster(session.store)
    graph = session.graph
    found = places(graph, roster, within)
    lo, hi = moment(a), moment(b)
    shifts = []
    for jid in found:
        for role in ROLES:
            for s in roster.by_place.get((jid, role), ()):
                if s["_end"] <= lo or s["_start"] >= hi:
                    continue
                person, name = holder(graph, s)
                shifts.append({"jurisdiction_id": jid, "role": role, "post_id": s["post_id"], "person_id": person,
                               "name": name, "start": max(s["_start"], lo).astimezone(SHANGHAI).isoformat(),
                               "end": min(s["_end"], hi).astimezone(SHANGHAI).isoformat()})
    return {"from": a, "to": b, "places": found, "shifts": shifts, "gaps": _gaps(session, roster, a, b, within)}
