"""The report as plain data: everything an accountability report says, assembled once, rendered many ways.

:func:`build_report` reads the incident's chain from the engine (``session.incident``) and the rows the
chain refers to (hazards, events, names), and turns codes into labels in one language. The renderers
(Markdown, HTML, Word, PDF) only lay this data out; none of them looks anything up.

The sections follow 国务院令第493号 Art. 30 (the accountability part of an investigation report):
the incident and its level, the hazard history, the determination of responsibility (units by duty,
then persons by degree), the gaps found, a figure of the chain, and the legal provisions cited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from accountability import audit
from accountability.access import NOBODY_CONFIGURED
from accountability.errors import UsageError
from accountability.trace import ACCIDENT_MEASURES, IncidentChain, Link, hazard_state
from graph_schema import SCHEMA

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Investigation reports list persons from the one whose failure was decisive up to the leaders.
DEGREE_ORDER = ("direct", "principal_leadership", "important_leadership")
# Sections always cite the level (Art. 3) and the investigating government (Art. 19).
LEVEL_CITATIONS = ("gwyl493_3", "gwyl493_19")
HASH_LENGTH = 12
LANGUAGES = ("zh", "en")
ROLE_ORDER = {code: i for i, code in enumerate(SCHEMA.vocab("roles"))}


@cache
def labels(lang: str) -> dict:
    """The report's own words in ``lang`` (``templates/report_labels.yaml``)."""
    data = yaml.safe_load((TEMPLATES / "report_labels.yaml").read_text(encoding="utf-8"))
    return data[lang]


class _Blank(dict):
    """Format fields a sentence does not get print as nothing rather than fail."""

    def __missing__(self, key: str) -> str:
        return ""


def degree_weight(degree: str) -> int:
    return SCHEMA.vocab("degrees")[degree].extra["weight"] if degree in SCHEMA.vocab("degrees") else 0


def say(template: str, **values: Any) -> str:
    """Fill a sentence of the label file.

    >>> say("{a} and {b}", a="x")
    'x and '
    """
    return template.format_map(_Blank(values))


# -- the data model -------------------------------------------------------------------------------------


@dataclass
class Ref:
    """An entity of the dataset as the report names it."""

    id: str
    name: str


@dataclass
class Fact:
    label: str
    value: str


@dataclass
class IncidentInfo:
    id: str
    title: str
    occurred_on: str
    place: list[Ref]  # the jurisdiction path, province first
    place_text: str
    unit: Ref | None
    industry: str
    deaths: int
    serious_injuries: int
    direct_loss_yuan: int
    loss_text: str
    level: str
    level_label: str
    level_reasons: list[str]  # each measure that reached the level, with its threshold
    decided_by: list[dict]  # the engine's measure/value/threshold, as is
    investigated_by: Ref | None  # the government; None = the State Council (or a tier missing from the data)
    investigator_text: str
    window_start: str
    window_end: str
    facts: list[Fact] = field(default_factory=list)  # the table of section 1, in order


@dataclass
class TimelineEntry:
    on: str
    kind: str  # an event kind, or "deadline" / "incident" for the entries the report adds
    label: str
    post: str
    note: str
    after_incident: bool


@dataclass
class HazardHistory:
    id: str
    description: str
    industry: str
    level: str
    level_label: str
    status_label: str
    place_text: str
    unit: Ref | None
    found_on: str
    deadline: str | None  # as first set
    effective_deadline: str | None  # on the incident date, after extensions
    escalated_on: str | None
    closed_on: str | None
    unresolved: bool  # on the incident date
    overdue_days: int
    state_text: str
    timeline: list[TimelineEntry]


@dataclass
class Holding:
    """One tenure of a person in an accountable post, seen from the negligence window."""

    person: Ref
    start: str
    end: str | None  # None: still in post
    acting: bool
    overlap_start: str | None
    overlap_end: str | None
    moved_on: bool  # left the post before the incident
    tenure_text: str
    overlap_text: str
    flags: list[str] = field(default_factory=list)  # "acting", "moved on", in the report's language
    text: str = ""  # name, flags and tenure, as a table cell shows a holder


@dataclass
class LinkEntry:
    """One accountable post: the unit's duty, the post's degree, who held it, why and on what basis."""

    post: Ref
    organization: Ref
    jurisdiction: Ref
    duty: str
    duty_label: str
    degree: str
    degree_label: str
    escalated: bool
    rules: list[Ref]  # rule id and title
    basis: list[str]  # citation labels
    basis_keys: list[str]
    holders: list[Holding]
    path: list[Ref]  # the evidence path, ids with names
    path_text: str
    explanation: str
    role: str = ""  # the post's role: orders a unit's posts as its leadership ranks

    @property
    def vacant(self) -> bool:
        return not self.holders

    @property
    def weight(self) -> int:
        return degree_weight(self.degree)


@dataclass
class Unit:
    organization: Ref
    jurisdiction_text: str
    links: list[LinkEntry]


@dataclass
class DutyGroup:
    duty: str
    label: str
    units: list[Unit]


@dataclass
class PersonPost:
    link: LinkEntry
    holdings: list[Holding]  # this person's tenures of that post (acting then substantive: two)

    @property
    def moved_on(self) -> bool:
        return all(h.moved_on for h in self.holdings)


@dataclass
class PersonEntry:
    person: Ref
    degree: str  # the heaviest degree among the person's posts
    degree_label: str
    posts: list[PersonPost]

    @property
    def moved_on(self) -> bool:
        return all(p.moved_on for p in self.posts)


@dataclass
class DegreeGroup:
    degree: str
    label: str
    persons: list[PersonEntry]


@dataclass
class Finding:
    kind: str
    label: str
    text: str
    data: dict


@dataclass
class SummaryRow:
    duty: str
    label: str
    units: int
    posts: int
    persons: int
    moved_on: int
    vacant: int
    escalated: int


@dataclass
class Citation:
    key: str
    label: str
    text: str


@dataclass
class Report:
    lang: str
    words: dict  # the label file in ``lang``
    incident: IncidentInfo
    hazards: list[HazardHistory]
    links: list[LinkEntry]
    duties: list[DutyGroup]
    degrees: list[DegreeGroup]
    findings: list[Finding]
    summary: list[SummaryRow]
    citations: list[Citation]
    dataset: str  # short content hash of the dataset the store holds
    ruleset: str
    generated_at: str
    audit: str = ""  # the audit log position the report was generated after ("seq:hash")
    generated_by: str = ""  # the user, when access control is on
    title: str = ""
    subtitle: str = ""
    footer: str = ""

    @property
    def persons(self) -> list[PersonEntry]:
        return [p for g in self.degrees for p in g.persons]

    @property
    def summary_total(self) -> SummaryRow:
        rows = self.summary
        return SummaryRow("", self.words["fields"]["count"], len({u.organization.id for g in self.duties for u in g.units}),
                          len({(link.post.id, link.duty) for link in self.links}), len(self.persons),
                          sum(p.moved_on for p in self.persons), sum(r.vacant for r in rows),
                          sum(r.escalated for r in rows))


# -- names ----------------------------------------------------------------------------------------------


class _Names:
    """Display names of ids, from the graph the engine already loaded, else from the store."""

    def __init__(self, session):
        self.session = session
        self.graph = session.graph
        self._rows: dict[tuple[str, str], dict | None] = {}
        self._industries: dict[str, dict] | None = None

    def row(self, table: str, rid: str) -> dict | None:
        key = (table, rid)
        if key not in self._rows:
            self._rows[key] = next(iter(self.session.store.rows(table, id=rid)), None)
        return self._rows[key]

    def jurisdiction(self, jid: str) -> str:
        j = self.graph.jurisdictions.get(jid)
        return j.name if j else jid

    def organization(self, oid: str) -> str:
        o = self.graph.orgs.get(oid)
        if o:
            return o.name
        row = self.row("organizations", oid)
        return row["name"] if row else oid

    def post(self, pid: str) -> str:
        p = self.graph.posts.get(pid)
        if p:
            return p.title
        row = self.row("posts", pid)
        return row["title"] if row else pid

    def post_with_org(self, pid: str) -> str:
        p = self.graph.posts.get(pid)
        oid = p.organization_id if p else (self.row("posts", pid) or {}).get("organization_id")
        return (self.organization(oid) if oid else "") + self.post(pid)

    def place(self, jid: str) -> list[Ref]:
        return [Ref(j.id, j.name) for j in reversed(list(self.graph.ancestors_or_self(jid)))]

    def name_of(self, any_id: str) -> str:
        """A name for an id on an evidence path: jurisdiction, organization or post."""
        if any_id in self.graph.jurisdictions:
            return self.graph.jurisdictions[any_id].name
        if any_id in self.graph.orgs:
            return self.graph.orgs[any_id].name
        if any_id in self.graph.posts:
            return self.graph.posts[any_id].title
        for table, column in (("organizations", "name"), ("posts", "title")):
            row = self.row(table, any_id)
            if row:
                return row[column]
        return any_id

    def industry(self, code: str, lang: str) -> str:
        if code in SCHEMA.vocab("industries"):
            return SCHEMA.label("industries", code, lang)
        if self._industries is None:
            self._industries = {r["code"]: r for r in self.session.store.rows("industries")}
        row = self._industries.get(code)
        return row[f"name_{lang}"] if row else code


# -- building -------------------------------------------------------------------------------------------


def build_report(session, incident_id: str, lang: str = "zh", now: dt.datetime | None = None) -> Report:
    """The accountability report of ``incident_id`` as data, in ``lang`` (``zh`` or ``en``).

    Raises :class:`~accountability.errors.NotFound` for an unknown incident.
    """
    if lang not in LANGUAGES:
        raise UsageError(f"unknown language '{lang}' (choose from {', '.join(LANGUAGES)})")
    with session.store.snapshot():  # the chain, the dataset and the audit position: one version of the data
        chain = session.incident(incident_id)
        meta = session.store.meta() or {}
        position = audit.position(session.store)
    words = labels(lang)
    names = _Names(session)
    ruleset = session.ruleset
    incident = _incident(chain, names, words, lang)
    links = [_link(link, chain, names, ruleset, words, lang) for link in chain.links]
    duties = _by_duty(links, names, lang)
    degrees = _by_degree(links, lang)
    findings = [_finding(g, names, words, lang) for g in chain.gaps]
    now = now or dt.datetime.now().astimezone()
    report = Report(
        lang=lang,
        words=words,
        incident=incident,
        hazards=_hazards(chain, session, names, words, lang),
        links=links,
        duties=duties,
        degrees=degrees,
        findings=findings,
        summary=_summary(duties, degrees, findings),
        citations=_citations(links, ruleset, lang),
        dataset=(meta.get("dataset_hash") or "unknown")[:HASH_LENGTH],
        ruleset=ruleset.version,
        generated_at=now.strftime("%Y-%m-%d %H:%M %z").strip(),
        audit=f"{position.seq}:{position.hash[:HASH_LENGTH]}",
        generated_by="" if session.user is NOBODY_CONFIGURED else
        f"{session.user.name} ({session.user.scope or '*'})",
    )
    report.title = say(words["title"], title=incident.title)
    report.subtitle = say(words["subtitle"], id=incident.id, date=incident.occurred_on)
    report.footer = say(words["words"]["footer"], dataset=report.dataset, ruleset=report.ruleset,
                        generated=report.generated_at, audit=report.audit)
    if report.generated_by:
        report.footer += say(words["words"]["footer_by"], user=report.generated_by)
    return report


def _place_text(place: list[Ref], lang: str) -> str:
    return (" " if lang == "zh" else " / ").join(r.name for r in place)


def _amount(value: int, words: dict, lang: str) -> str:
    """Money as reports write it: 万元 in Chinese, yuan with separators in English."""
    if lang == "zh":
        wan = f"{value / 10000:,.2f}".rstrip("0").rstrip(".") or "0"
        return say(words["words"]["yuan"], wan=wan)
    return say(words["words"]["yuan"], yuan=f"{value:,}")


def _measure(measure: str, value: int, words: dict, lang: str) -> str:
    if measure == "direct_loss_yuan":
        return _amount(value, words, lang)
    return say(words["words"]["persons"], n=value)


def _incident(chain: IncidentChain, names: _Names, words: dict, lang: str) -> IncidentInfo:
    row = chain.incident
    levels = SCHEMA.vocab("accident_levels")
    level_label = SCHEMA.label("accident_levels", chain.level, lang)
    reasons = [
        say(words["level"]["reached"], measure=words["measures"][d["measure"]],
            value=_measure(d["measure"], d["value"], words, lang), level=level_label,
            threshold=_measure(d["measure"], d["threshold"], words, lang))
        for d in chain.decided_by
    ]
    if not reasons:
        # the floor level: name the next level's thresholds that were not reached
        codes = list(levels)
        above = codes[codes.index(chain.level) - 1] if codes.index(chain.level) > 0 else None
        if above:
            spec = levels[above].extra
            thresholds = words["words"]["sep"].join(
                words["measures"][m] + _measure(m, spec[m], words, lang) for m in ACCIDENT_MEASURES)
            reasons.append(say(words["level"]["floor"], next=SCHEMA.label("accident_levels", above, lang),
                               thresholds=thresholds))
    investigator, text = None, words["words"]["state_council"]
    if chain.investigated_by:
        jid, oid = chain.investigated_by["jurisdiction_id"], chain.investigated_by.get("organization_id")
        org_name = names.organization(oid) if oid else names.jurisdiction(jid) + words["words"]["not_in_dataset"]
        investigator = Ref(oid or jid, org_name)
        text = say(words["level"]["investigated"], organization=org_name, jurisdiction=names.jurisdiction(jid))
    elif levels[chain.level].extra.get("investigated_by"):
        tier = levels[chain.level].extra["investigated_by"]
        text = say(words["level"]["tier_missing"], tier=SCHEMA.label("jurisdiction_levels", tier, lang))
    place = names.place(row["jurisdiction_id"])
    unit = Ref(row["organization_id"], names.organization(row["organization_id"])) if row.get("organization_id") else None
    info = IncidentInfo(
        id=row["id"], title=row.get("title") or row["id"], occurred_on=row["occurred_on"], place=place,
        place_text=_place_text(place, lang), unit=unit, industry=names.industry(row["industry"], lang),
        deaths=int(row["deaths"]), serious_injuries=int(row["serious_injuries"]),
        direct_loss_yuan=int(row["direct_loss_yuan"]),
        loss_text=_amount(int(row["direct_loss_yuan"]), words, lang),
        level=chain.level, level_label=level_label, level_reasons=reasons, decided_by=list(chain.decided_by),
        investigated_by=investigator, investigator_text=text,
        window_start=chain.window.start, window_end=chain.window.end,
    )
    f, w = words["fields"], words["words"]
    info.facts = [
        Fact(f["incident_id"], info.id),
        Fact(f["title"], info.title),
        Fact(f["occurred_on"], info.occurred_on),
        Fact(f["place"], info.place_text),
        Fact(f["unit"], unit.name if unit else w["none"]),
        Fact(f["industry"], info.industry),
        Fact(f["deaths"], _measure("deaths", info.deaths, words, lang)),
        Fact(f["serious_injuries"], _measure("serious_injuries", info.serious_injuries, words, lang)),
        Fact(f["direct_loss_yuan"], info.loss_text),
        Fact(f["level"], level_label),
        Fact(f["level_basis"], words["punct"]["semi"].join(reasons)),
        Fact(f["investigated_by"], text),
        Fact(f["window"], say(w["tenure_span"], start=info.window_start, end=info.window_end)),
    ]
    return info


def _hazards(chain: IncidentChain, session, names: _Names, words: dict, lang: str) -> list[HazardHistory]:
    ids = [c.hazard_id for c in chain.hazards]
    if not ids:
        return []
    rows = {r["id"]: r for r in session.store.rows("hazards", id=ids)}
    events: dict[str, list[dict]] = {h: [] for h in ids}
    for e in session.store.rows("events", hazard_id=ids):
        events[e["hazard_id"]].append(e)
    on = chain.incident["occurred_on"]
    w = words["words"]
    out = []
    for hid in ids:
        h = rows[hid]
        history = sorted(events[hid], key=lambda e: (e["on"], e["kind"]))
        state = hazard_state(h, history, on)
        timeline = []
        kinds = {e["kind"] for e in history}
        if "found" not in kinds:
            timeline.append(TimelineEntry(h["found_on"], "found", SCHEMA.label("event_kinds", "found", lang), "", "",
                                          h["found_on"] > on))
        if h["deadline"]:
            label = w["original_deadline"] if "deadline_extended" in kinds else words["fields"]["deadline"]
            timeline.append(TimelineEntry(h["deadline"], "deadline", label, "", "", h["deadline"] > on))
        for e in history:
            note = e.get("note") or ""
            if e["kind"] == "deadline_extended" and e.get("deadline"):
                note = (note + " " if note else "") + "→ " + e["deadline"]
            timeline.append(TimelineEntry(e["on"], e["kind"], SCHEMA.label("event_kinds", e["kind"], lang),
                                          names.post_with_org(e["post_id"]) if e.get("post_id") else "", note,
                                          e["on"] > on))
        if h["closed_on"] and "closed" not in kinds:
            timeline.append(TimelineEntry(h["closed_on"], "closed", SCHEMA.label("event_kinds", "closed", lang), "", "",
                                          h["closed_on"] > on))
        timeline.append(TimelineEntry(on, "incident", w["incident_event"], "", chain.incident.get("title") or "", False))
        order = {"found": 0, "deadline": 2, "incident": 9}
        timeline.sort(key=lambda t: (t.on, order.get(t.kind, 1)))
        if not state["unresolved"] and h["closed_on"] and h["closed_on"] <= on:
            state_text = say(w["closed_before"], date=h["closed_on"])
        elif state["overdue_days"] > 0:
            state_text = say(w["overdue_on_incident"], days=state["overdue_days"])
        else:
            state_text = w["not_overdue"]
        out.append(HazardHistory(
            id=hid, description=h.get("description") or "", industry=names.industry(h["industry"], lang),
            level=h["level"], level_label=SCHEMA.label("hazard_levels", h["level"], lang),
            status_label=SCHEMA.label("hazard_statuses", h["status"], lang),
            place_text=_place_text(names.place(h["jurisdiction_id"]), lang),
            unit=Ref(h["organization_id"], names.organization(h["organization_id"])) if h["organization_id"] else None,
            found_on=h["found_on"], deadline=h["deadline"], effective_deadline=state["deadline"],
            escalated_on=state["escalated_on"], closed_on=h["closed_on"], unresolved=state["unresolved"],
            overdue_days=state["overdue_days"], state_text=state_text, timeline=timeline,
        ))
    return out


def _link(link: Link, chain: IncidentChain, names: _Names, ruleset, words: dict, lang: str) -> LinkEntry:
    w = words["words"]
    on = chain.incident["occurred_on"]
    holders = []
    for h in link.holders:
        end_text = h.end or w["current"]
        overlap = h.overlap or (None, None)
        holders.append(Holding(
            person=Ref(h.person_id, h.name), start=h.start, end=h.end, acting=h.acting,
            overlap_start=overlap[0], overlap_end=overlap[1], moved_on=bool(h.end and h.end < on),
            tenure_text=say(w["tenure_span"], start=h.start, end=end_text),
            overlap_text=say(w["tenure_span"], start=overlap[0], end=overlap[1]) if h.overlap else "",
            flags=([w["acting"]] if h.acting else []) + ([w["moved_on"]] if h.end and h.end < on else []),
        ))
        holding = holders[-1]
        p = words["punct"]
        flags = "".join(p["flag_open"] + f + p["flag_close"] for f in holding.flags)
        holding.text = holding.person.name + flags + p["open"] + holding.tenure_text + p["close"]
    # consecutive repeats (an enterprise is both the level and the unit) say nothing
    path_ids = [p for i, p in enumerate(link.path) if i == 0 or p != link.path[i - 1]]
    path = [Ref(p, names.name_of(p)) for p in path_ids]
    rules = []
    for rid in link.rules:
        try:
            title = ruleset.rule(rid).title
        except StopIteration:
            title = ruleset.escalation_by_id(rid).title
        rules.append(Ref(rid, title[lang]))
    return LinkEntry(
        post=Ref(link.post_id, link.post_title),
        organization=Ref(link.organization_id, names.organization(link.organization_id)),
        jurisdiction=Ref(link.jurisdiction_id, names.jurisdiction(link.jurisdiction_id)),
        duty=link.duty, duty_label=SCHEMA.label("duties", link.duty, lang),
        degree=link.degree, degree_label=SCHEMA.label("degrees", link.degree, lang),
        escalated=link.escalated, rules=rules,
        basis=[ruleset.citation(b, lang) for b in link.basis], basis_keys=list(link.basis),
        holders=holders, path=path, path_text=" → ".join(r.name for r in path),
        explanation=link.explanation[lang],
        role=post.role if (post := names.graph.posts.get(link.post_id)) else "",
    )


def _by_duty(links: list[LinkEntry], names: _Names, lang: str) -> list[DutyGroup]:
    groups = []
    for duty in SCHEMA.vocab("duties"):
        units: dict[str, Unit] = {}
        for link in links:
            if link.duty != duty:
                continue
            unit = units.get(link.organization.id)
            if unit is None:
                unit = units[link.organization.id] = Unit(
                    link.organization, _place_text(names.place(link.jurisdiction.id), lang), [])
            unit.links.append(link)
        for unit in units.values():  # the principal leader before the deputies
            unit.links.sort(key=lambda link: (link.escalated, -link.weight, ROLE_ORDER.get(link.role, 99)))
        if units:
            groups.append(DutyGroup(duty, SCHEMA.label("duties", duty, lang), list(units.values())))
    return groups


def _by_degree(links: list[LinkEntry], lang: str) -> list[DegreeGroup]:
    """Each person once, under the heaviest degree of any post they held in the window."""
    weight = {c: t.extra["weight"] for c, t in SCHEMA.vocab("degrees").items()}
    persons: dict[str, PersonEntry] = {}
    for link in links:
        mine: dict[str, list[Holding]] = {}
        for h in link.holders:
            mine.setdefault(h.person.id, []).append(h)
        for pid, holdings in mine.items():
            entry = persons.get(pid)
            if entry is None:
                entry = persons[pid] = PersonEntry(holdings[0].person, link.degree, link.degree_label, [])
            elif weight[link.degree] > weight[entry.degree]:
                entry.degree, entry.degree_label = link.degree, link.degree_label
            entry.posts.append(PersonPost(link, holdings))
    order = [d for d in DEGREE_ORDER if d in weight] + [d for d in weight if d not in DEGREE_ORDER]
    return [
        DegreeGroup(d, SCHEMA.label("degrees", d, lang), [p for p in persons.values() if p.degree == d])
        for d in order if any(p.degree == d for p in persons.values())
    ]


def _finding(gap: dict, names: _Names, words: dict, lang: str) -> Finding:
    kind = gap["kind"]
    sentences = words["gaps"]
    span = say(sentences["span"], start=gap["from"], end=gap["to"]) if gap.get("from") else ""
    values = {
        "post": gap.get("post_title") or (names.post(gap["post_id"]) if gap.get("post_id") else ""),
        "organization": names.organization(gap["organization_id"]) if gap.get("organization_id") else "",
        "jurisdiction": names.jurisdiction(gap["jurisdiction_id"]) if gap.get("jurisdiction_id") else "",
        "regulator": names.jurisdiction(gap["regulator_jurisdiction_id"]) if gap.get("regulator_jurisdiction_id") else "",
        "industry": names.industry(gap["industry"], lang) if gap.get("industry") else "",
        "hazard": gap.get("hazard_id", ""), "deadline": gap.get("deadline", ""), "days": gap.get("days", ""),
        "span": span, "kind": kind,
    }
    if kind in sentences:
        text = say(sentences[kind], **values)
    else:  # a gap kind this label file does not know yet: still shown, with its data
        detail = ", ".join(f"{k}={v}" for k, v in gap.items() if k != "kind")
        text = say(sentences["other"], kind=SCHEMA.label("gap_kinds", kind, lang), detail=detail)
    return Finding(kind, SCHEMA.label("gap_kinds", kind, lang), text, dict(gap))


def _summary(duties: list[DutyGroup], degrees: list[DegreeGroup], findings: list[Finding]) -> list[SummaryRow]:
    """Per duty: units, posts, persons, of whom moved on, posts vacant at any time in the window, escalated."""
    vacant_posts = {f.data.get("post_id") for f in findings if f.kind == "vacant_post"}
    rows = []
    for group in duties:
        links = [link for u in group.units for link in u.links]
        people = {h.person.id for link in links for h in link.holders}
        moved = {p.person.id for g in degrees for p in g.persons
                 if p.person.id in people and all(pp.moved_on for pp in p.posts if pp.link.duty == group.duty)}
        rows.append(SummaryRow(group.duty, group.label, len(group.units), len(links), len(people), len(moved),
                               sum(link.vacant or link.post.id in vacant_posts for link in links),
                               sum(link.escalated for link in links)))
    return rows


def _citations(links: Iterable[LinkEntry], ruleset, lang: str) -> list[Citation]:
    keys: list[str] = [k for k in LEVEL_CITATIONS if k in ruleset.citations]
    for link in links:
        keys += [k for k in link.basis_keys if k not in keys]
    out = []
    for key in keys:
        c = ruleset.citations.get(key, {})
        out.append(Citation(key, c.get(lang, key), c.get(f"text_{lang}", "")))
    return out
