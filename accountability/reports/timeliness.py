"""The report's part on how the incident was reported (国务院令第493号 Art. 9–11; DESIGN.md, "Duty and
reporting"), as plain data: each required step with its due time, when it was made and its status — what
the timeline figure (``figure.draw_reporting``) draws and the steps table lists — and who was on duty
along the chain when the incident occurred and when each report fell due.

Only an incident with ``occurred_at`` under a generation-2 ruleset has it (the engine's ``reporting``);
otherwise :func:`build_reporting` gives None and the report is as before, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from accountability import duty, reporting
from accountability.dates import moment
from accountability.reports.model import Ref, labels, say
from accountability.trace import IncidentChain
from graph_schema import SCHEMA

STATUSES = tuple(SCHEMA.vocab("report_statuses"))  # on_time, late_report, missed_report, unreached


@dataclass
class StepEntry:
    """One required report: who to whom, when the sender's time began and ran out, and what happened."""

    number: int
    sender: Ref
    receiver: Ref
    opened: str | None  # when the sender's time began: the incident, or its own receipt (None: unreached)
    due: str | None  # ISO datetimes in Asia/Shanghai time, as the engine gives them
    at: str | None
    status: str
    status_label: str
    late_minutes: int | None
    due_text: str  # "2026-03-01 11:00", or a dash
    at_text: str
    status_text: str  # the status in words, with the minutes of a late report

    @property
    def late(self) -> bool:
        return self.status in reporting.LATE


@dataclass
class WatchEntry:
    """Who kept duty in one jurisdiction at one moment of the chain."""

    at: str
    at_text: str
    occasion: str  # "when the incident occurred", or the numbers of the steps that fell due then
    jurisdiction: Ref
    leader: str  # names with posts, or "nobody on duty"
    officer: str
    data: dict  # the rows of ``reporting.watch``, as is


@dataclass
class ReportingSection:
    occurred_at: str
    occurred_text: str
    title: str
    summary: str
    caption: str
    steps: list[StepEntry]
    on_duty_title: str
    on_duty_intro: str
    on_duty: list[WatchEntry]
    words: dict = field(default_factory=dict)  # the part's own words (report_labels.yaml ``reporting``)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(step.status == s for step in self.steps) for s in STATUSES}


def clock(value: str | None) -> str:
    """An ISO datetime as a report prints it (local time, to the minute).

    >>> clock("2026-03-01T11:00:00+08:00")
    '2026-03-01 11:00'
    """
    return value[:16].replace("T", " ") if value else ""


def build_reporting(session, chain: IncidentChain, lang: str) -> ReportingSection | None:
    """The reporting part of the report of ``chain`` in ``lang``; None when the engine judged no reporting
    (reference-v1, or an incident without ``occurred_at``)."""
    if chain.reporting is None:
        return None
    words = labels(lang)["reporting"]
    graph = session.graph
    occurred_at = duty.local(chain.incident["occurred_at"])
    steps = _steps(chain.reporting["steps"], moment(occurred_at), graph, words, lang)
    rows = reporting.watch(graph, duty.Roster(session.store), chain.incident, chain.reporting["steps"])
    section = ReportingSection(
        occurred_at=occurred_at, occurred_text=clock(occurred_at), title=words["title"], summary="",
        caption=say(words["caption"], occurred=clock(occurred_at)), steps=steps, on_duty_title=words["on_duty"],
        on_duty_intro=words["on_duty_intro"], on_duty=[_watch(r, steps, graph, words) for r in rows], words=words,
    )
    counts = section.counts
    section.summary = say(words["summary"], occurred=clock(occurred_at), n=len(steps), on_time=counts["on_time"],
                          late=counts["late_report"], missed=counts["missed_report"])
    if counts["unreached"]:
        section.summary += say(words["summary_unreached"], unreached=counts["unreached"])
    return section


def _steps(rows: list[dict], occurred: dt.datetime, graph, words: dict, lang: str) -> list[StepEntry]:
    first = rows[0]["from"] if rows else None  # the first steps come first, all from the reporting unit
    out = []
    for i, s in enumerate(rows, start=1):
        opened = None
        if s["due"]:
            opened = occurred if s["from"] == first else moment(s["due"]) - reporting.NEXT
        status_text = SCHEMA.label("report_statuses", s["status"], lang)
        if s["status"] == "late_report":
            status_text = say(words["late"], minutes=s["late_minutes"])
        out.append(StepEntry(
            number=i, sender=Ref(s["from"], _org(graph, s["from"])), receiver=Ref(s["to"], _org(graph, s["to"])),
            opened=opened.isoformat() if opened else None, due=s["due"], at=s["at"], status=s["status"],
            status_label=SCHEMA.label("report_statuses", s["status"], lang), late_minutes=s["late_minutes"],
            due_text=clock(s["due"]) or words["none"], at_text=clock(s["at"]) or words["none"],
            status_text=status_text,
        ))
    return out


def _watch(row: dict, steps: list[StepEntry], graph, words: dict) -> WatchEntry:
    if row["steps"]:
        numbers = {(s.sender.id, s.receiver.id): str(s.number) for s in steps}
        occasion = say(words["fell_due"], steps=words["list"].join(numbers[tuple(p)] for p in row["steps"]))
    else:
        occasion = words["occurred"]
    jurisdiction = graph.jurisdiction(row["jurisdiction_id"])
    return WatchEntry(
        at=row["at"], at_text=clock(row["at"]), occasion=occasion,
        jurisdiction=Ref(row["jurisdiction_id"], jurisdiction.name if jurisdiction else row["jurisdiction_id"]),
        leader=_people(row["leader_on_duty"], graph, words), officer=_people(row["duty_officer"], graph, words),
        data=row,
    )


def _people(keepers: list[dict], graph, words: dict) -> str:
    """Names with their posts ("name（post）"); a post nobody held shows as vacant; nobody: "nobody on duty"."""
    if not keepers:
        return words["nobody"]
    out = []
    for k in keepers:
        post = graph.post(k["post_id"]) if k["post_id"] else None
        name = k["name"] or words["vacant"]
        out.append(say(words["person_post"], name=name, post=_org(graph, post.organization_id) + post.title)
                   if post else name)
    return words["sep"].join(out)


def _org(graph, oid: str) -> str:
    org = graph.org(oid)
    return org.name if org else oid
