"""Reporting timeliness of an incident (国务院令第493号 Art. 9–11; DESIGN.md, "Duty and reporting").

The required chain, for an incident in J with industries I that happened at t:

- the first steps go from the incident's unit (without one: J's government) to the comprehensive department
  and to each sector department for I of the county-level jurisdiction (J itself when it is county level or
  higher, else its county), each due t + 1 h (Art. 9);
- then level by level, up to the level the grade requires (general: city; large: province; major and
  especially major: province, whose report to the State Council lies outside the data), each department
  reports to the same kind of department one level up — comprehensive to comprehensive, sector for an
  industry to sector for that industry, where both exist — due 2 h after it received its own report
  (Art. 10–11).

Each step is compared with ``incident_reports`` (the earliest report of any kind satisfies it):
``on_time`` (at ≤ due), ``late_report`` (``late_minutes``: whole minutes after due, rounded up),
``missed_report`` (no such report) or ``unreached`` (the sender never received a report: nothing was due
of it; the missed step below answers for it).

    >>> minutes_late(moment("2026-03-01T10:00"), moment("2026-03-01T10:00:01"))
    1
    >>> minutes_late(moment("2026-03-01T10:00"), moment("2026-03-01T10:00"))
    0
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Iterable

from accountability import duty
from accountability.dates import SHANGHAI, moment
from accountability.graph import Graph, Organization

FIRST = dt.timedelta(hours=1)  # Art. 9: the unit's head reports within 1 hour
NEXT = dt.timedelta(hours=2)  # Art. 10: each department reports up within 2 hours of receiving
# the highest level a report must reach, by accident level (493号 Art. 10)
TOP_LEVEL = {"general": "city", "large": "province", "major": "province", "especially_major": "province"}
HEADS = {"department": "department_head", "enterprise": "enterprise_principal", "government": "government_head"}
LATE = ("late_report", "missed_report")


@dataclass
class Step:
    """One required report: from a unit to another, when it fell due, and what happened."""

    sender: Organization
    receiver: Organization
    due: dt.datetime | None  # None: unreached (the sender never received a report)
    at: dt.datetime | None  # the earliest report made, if any
    status: str
    late_minutes: int | None

    def as_dict(self) -> dict:
        return {"from": self.sender.id, "to": self.receiver.id, "due": _iso(self.due), "at": _iso(self.at),
                "status": self.status, "late_minutes": self.late_minutes}


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def minutes_late(due: dt.datetime, at: dt.datetime) -> int:
    """Whole minutes after ``due``, rounded up (0 when on time)."""
    return max(0, math.ceil((at - due).total_seconds() / 60))


def industries(incident: dict) -> tuple[str, ...]:
    out = [incident["industry"]]
    out += [i for i in incident.get("also_industries") or () if i not in out]
    return tuple(out)


def reporting_unit(graph: Graph, incident: dict) -> Organization | None:
    """Who reports first: the incident's unit, or its jurisdiction's government."""
    if incident.get("organization_id"):
        return graph.org(incident["organization_id"])
    govs = graph.organizations(incident["jurisdiction_id"], "government")
    return govs[0] if govs else None


def _comprehensive(graph: Graph, jid: str) -> list[Organization]:
    return graph.departments(jid, supervision="comprehensive")


def _sector(graph: Graph, jid: str, industry: str) -> list[Organization]:
    return graph.departments(jid, industry, supervision="sector")


def required(graph: Graph, incident: dict, level: str) -> list[tuple[Organization, Organization, bool]]:
    """The required steps as (sender, receiver, first step?), lowest level first, each once."""
    unit = reporting_unit(graph, incident)
    if unit is None:
        return []
    county_rank, top_rank = graph.rank_of_level["county"], graph.rank_of_level[TOP_LEVEL[level]]
    chain = list(graph.ancestors_or_self(incident["jurisdiction_id"]))
    at = next((j for j in chain if j.rank <= county_rank), chain[-1])
    kinds = industries(incident)
    receivers: list[tuple[Organization, str | None]] = [(d, None) for d in _comprehensive(graph, at.id)]
    for i in kinds:
        receivers += [(d, i) for d in _sector(graph, at.id, i)]
    steps: list[tuple[Organization, Organization, bool]] = []
    seen: set[tuple[str, str]] = set()

    def add(sender: Organization, receiver: Organization, first: bool) -> None:
        if sender.id != receiver.id and (sender.id, receiver.id) not in seen:
            seen.add((sender.id, receiver.id))
            steps.append((sender, receiver, first))

    for d, _ in receivers:
        add(unit, d, True)
    level_at = at
    while level_at.rank > top_rank and level_at.parent_id:
        parent = graph.jurisdiction(level_at.parent_id)
        above: list[tuple[Organization, str | None]] = []
        for d, industry in receivers:
            targets = _comprehensive(graph, parent.id) if industry is None else _sector(graph, parent.id, industry)
            for t in targets:
                add(d, t, False)
                if (t, industry) not in above:
                    above.append((t, industry))
        receivers, level_at = above, parent
    return steps


def assess(graph: Graph, incident: dict, level: str, reports: Iterable[dict]) -> list[Step]:
    """The required steps of ``incident`` (of accident level ``level``) against its ``reports``."""
    happened = moment(incident["occurred_at"])
    made: dict[tuple[str, str], dt.datetime] = {}
    received: dict[str, dt.datetime] = {}
    for r in reports:
        at = moment(r["at"])
        key = (r["from_organization_id"], r["to_organization_id"])
        made[key] = min(made.get(key, at), at)
        received[r["to_organization_id"]] = min(received.get(r["to_organization_id"], at), at)
    out = []
    for sender, receiver, first in required(graph, incident, level):
        at = made.get((sender.id, receiver.id))
        if first:
            due = happened + FIRST
        elif sender.id in received:
            due = received[sender.id] + NEXT
        else:
            out.append(Step(sender, receiver, None, at, "unreached", None))
            continue
        if at is None:
            out.append(Step(sender, receiver, due, None, "missed_report", None))
        elif at <= due:
            out.append(Step(sender, receiver, due, at, "on_time", 0))
        else:
            out.append(Step(sender, receiver, due, at, "late_report", minutes_late(due, at)))
    return out


def head_role(org: Organization) -> str | None:
    """The role of an organization's head, by its kind (none for other kinds)."""
    return HEADS.get(org.kind)


def watch(graph: Graph, roster: duty.Roster, incident: dict, steps: list[dict]) -> list[dict]:
    """Who kept duty along the chain (the report's on-duty table): ``[{at, jurisdiction_id, steps,
    leader_on_duty, duty_officer}]`` — in each jurisdiction of the chain that keeps duty when the incident
    occurred (``steps`` empty), then in each sender's jurisdiction when its reports fell due (``steps``: the
    ``[from, to]`` due then), by time; a role's list is empty when nobody was on duty. ``steps`` are
    ``Step.as_dict`` rows."""
    happened = moment(incident["occurred_at"])
    places: list[str] = []
    for s in steps:
        for oid in (s["from"], s["to"]):
            org = graph.org(oid)
            if org and org.jurisdiction_id not in places and duty.keeps_duty(graph, roster, org.jurisdiction_id):
                places.append(org.jurisdiction_id)
    rows = [(happened, jid, []) for jid in places]
    by_due: dict[tuple[dt.datetime, str], list] = {}
    for s in steps:
        sender = graph.org(s["from"])
        if s["due"] and sender and duty.keeps_duty(graph, roster, sender.jurisdiction_id):
            key = (moment(s["due"]), sender.jurisdiction_id)
            if key not in by_due:
                by_due[key] = []
                rows.append((key[0], key[1], by_due[key]))
            by_due[key].append([s["from"], s["to"]])
    rows.sort(key=lambda row: row[0])  # by time; at one time, the chain's order
    return [{"at": _iso(when), "jurisdiction_id": jid, "steps": due, **duty.keepers(roster, graph, jid, when)}
            for when, jid, due in rows]
