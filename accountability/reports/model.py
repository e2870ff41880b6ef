"""The report as plain data: everything an accountability report says, assembled once, rendered many ways.

:func:`build_report` reads the incident's chain from the engine (``session.incident``) and the rows the
chain refers to (hazards, events, names), and turns codes into labels in one language. The renderers
(Markdown, HTML, Word, PDF) only lay this data out; none of them looks anything up.

The sections follow 国务院令第493号 Art. 30 (the accountability part of an investigation report):
the incident and its level, the hazard history, the determination of responsibility (units by duty,
then persons by degree), the gaps found, a figure of the chain, and the legal provisions cited.

Under a generation-2 ruleset (reference-v2) the engine also judges conduct, and the persons part follows
the Provisions (地方党政领导干部安全生产责任制规定) Art. 23 and 25: the proposed list holds the persons whose
place is ``accountable`` (accountable on any link), each once with all their posts, the acts held against
them (rules 10, 11) and the records behind those acts; then the persons proposed for exemption (duty
performed, with the records cited) and those who had no conditions to perform (days in post against
``min_days``) — shown apart, never dropped. Under reference-v1 none of this exists and the report is
exactly version 1's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from accountability import audit, conduct, measures
from accountability.access import NOBODY_CONFIGURED
from accountability.dates import SHANGHAI
from accountability.errors import UsageError
from accountability.names import Names
from accountability.trace import ACCIDENT_MEASURES, IncidentChain, Link, hazard_state, title_in
from graph_schema import SCHEMA

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Investigation reports list persons from the one whose failure was decisive up to the leaders.
DEGREE_ORDER = ("direct", "principal_leadership", "important_leadership")
# Sections always cite the level (Art. 3) and the investigating government (Art. 19).
LEVEL_CITATIONS = ("gwyl493_3", "gwyl493_19")
HASH_LENGTH = 12
LANGUAGES = ("zh", "en")
ROLE_ORDER = {code: i for i, code in enumerate(SCHEMA.vocab("roles"))}
# A person's place (DESIGN.md, "resolved readings"): accountable if accountable on any link, else exempt
# if exempt on any link, else no_conditions.
PLACES = ("accountable", "exempt", "no_conditions")


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
    return SCHEMA.degree_weights.get(degree, 0)


def say(template: str, **values: Any) -> str:
    """Fill a sentence of the label file.

    >>> say("{a} and {b}", a="x")
    'x and '
    """
    return template.format_map(_Blank(values))


def _nested(template: str, name: str, value: str) -> str:
    """``value`` as placed in ``template``: within Chinese quotation marks (“{name}”), its own quotation
    marks become the inner, single pair (GB/T 15834-2011 标点符号用法 4.1.3.2), so that
    “北峪市“5·2”事故” reads “北峪市‘5·2’事故”.

    >>> _nested("“{title}”报告", "title", "北峪市“5·2”事故")
    '北峪市‘5·2’事故'
    """
    if "“{%s}”" % name not in template:
        return value
    return value.replace("“", "‘").replace("”", "’")


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
    # v2 rulesets: the engine's assessment of this person on this link (None under v1) and why
    status: str | None = None
    status_label: str = ""
    reasons: list["Record"] = field(default_factory=list)
    reasons_text: str = ""  # the reasons in one line


@dataclass
class Record:
    """A record the report cites: the evidence of a link, or a reason of an assessment, in words."""

    kind: str  # inspection, event, designation, report; tenure or overlap (days in post)
    date: str
    text: str
    data: dict  # the engine's record, as is


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
    # v2 rulesets: a conduct link's act, (rule, day), and its words; the records behind the link
    act: tuple[str, str] | None = None
    act_text: str = ""
    evidence: list[Record] = field(default_factory=list)

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

    @property
    def status(self) -> str | None:
        """The person's assessment on this link: one per person per link, so every holding has it."""
        return self.holdings[0].status

    @property
    def status_label(self) -> str:
        return self.holdings[0].status_label

    @property
    def reasons(self) -> list[Record]:
        return self.holdings[0].reasons

    @property
    def reasons_text(self) -> str:
        return self.holdings[0].reasons_text


@dataclass
class PersonEntry:
    person: Ref
    degree: str  # the heaviest degree among the person's posts (v2: those they are accountable on)
    degree_label: str
    posts: list[PersonPost]
    place: str | None = None  # v2: accountable, exempt or no_conditions (see PLACES)

    @property
    def moved_on(self) -> bool:
        return all(p.moved_on for p in self.posts)


@dataclass
class DegreeGroup:
    degree: str
    label: str
    persons: list[PersonEntry]


@dataclass
class AssessedGroup:
    """The persons of one place other than accountable (v2): the section that shows them apart."""

    status: str  # exempt or no_conditions
    title: str
    intro: str  # what the section is, in a sentence
    basis: str  # the provision it rests on ("" when the ruleset does not cite one)
    records_label: str  # what each post's line of records is called
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
class MeasureEntry:
    """An overdue measure (v2) assigned to an organization of the chain, on the incident date (rule M1)."""

    id: str
    title: str
    organization: Ref
    role_label: str  # lead or support
    deadline: str
    status_label: str
    days_overdue: int
    days_text: str
    answering: str  # for a lead assignment: the posts that answer for it and their holders, in one line


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
    withheld: str = ""  # the sentence saying that linked hazards outside the user's scope are left out
    generation: int = 1  # of the ruleset: 2 brings the assessment sections below
    assessed: list[AssessedGroup] = field(default_factory=list)  # v2: exempt, then no conditions to perform
    tally: str = ""  # v2: how many persons each place holds, in a sentence
    reporting: Any = None  # v2, an incident with occurred_at: timeliness.ReportingSection (how it was reported)
    measures: list[MeasureEntry] = field(default_factory=list)  # v2: overdue measures of the chain's units
    measures_intro: str = ""

    @property
    def persons(self) -> list[PersonEntry]:
        """Every person of the chain, once: the proposed list (by degree), then the persons shown apart."""
        return [p for g in self.degrees for p in g.persons] + [p for g in self.assessed for p in g.persons]

    @property
    def summary_total(self) -> SummaryRow:
        rows = self.summary
        if self.generation >= 2:  # posts once however many duties and acts; the proposed persons only
            posts = {link.post.id for link in self.links}
            persons = [p for g in self.degrees for p in g.persons]
        else:
            posts, persons = {(link.post.id, link.duty) for link in self.links}, self.persons
        return SummaryRow("", self.words["fields"]["count"], len({u.organization.id for g in self.duties for u in g.units}),
                          len(posts), len(persons), sum(p.moved_on for p in persons), sum(r.vacant for r in rows),
                          sum(r.escalated for r in rows))

    @property
    def summary_persons_label(self) -> str:
        """The summary's column of persons: v2 counts the proposed persons there (the others are shown
        apart, counted in ``tally``), v1 every holder."""
        return self.words["fields"]["persons_proposed" if self.generation >= 2 else "persons"]


# -- names ----------------------------------------------------------------------------------------------


def _place(names: Names, jid: str) -> list[Ref]:
    """The jurisdiction and those above it, province first, as the report names them."""
    return [Ref(j.id, j.name) for j in names.ancestry(jid)]


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
    names = Names(session, lang)
    ruleset = session.ruleset
    v2 = ruleset.generation >= 2
    incident = _incident(chain, ruleset, names, words, lang)
    links = [_link(link, chain, names, ruleset, words, lang) for link in chain.links]
    duties = _by_duty(links, names, lang)
    people = list(_by_person(links, _places(links) if v2 else None).values())
    degrees = _by_degree([p for p in people if p.place in (None, "accountable")], lang)
    assessed = _assessed(people, ruleset, words, lang) if v2 else []
    persons = [p for g in degrees for p in g.persons] + [p for g in assessed for p in g.persons]
    findings = [_finding(g, names, words, lang) for g in chain.gaps]
    now = now or dt.datetime.now(SHANGHAI)
    report = Report(
        lang=lang,
        words=words,
        incident=incident,
        hazards=_hazards(chain, session, names, words, lang),
        links=links,
        duties=duties,
        degrees=degrees,
        findings=findings,
        summary=_summary(duties, persons, findings, proposed_only=v2),
        citations=_citations(links, ruleset, lang, [g.status for g in assessed if g.persons]),
        dataset=(meta.get("dataset_hash") or "unknown")[:HASH_LENGTH],
        ruleset=ruleset.version,
        generated_at=now.strftime("%Y-%m-%d %H:%M %z").strip(),
        audit=f"{position.seq}:{position.hash[:HASH_LENGTH]}",
        generated_by="" if session.user is NOBODY_CONFIGURED else
        f"{session.user.name} ({session.user.scope or '*'})",
        generation=2 if v2 else 1,
        assessed=assessed,
    )
    if v2:
        counts = {place: sum(p.place == place for p in persons) for place in PLACES}
        report.tally = say(words["words"]["tally"], **counts)
        report.measures = _measures(session, chain, links, names, words, lang)
        if report.measures:
            report.measures_intro = say(words["words"]["measures_intro"], date=incident.occurred_on)
    from accountability.reports.timeliness import build_reporting  # built on this module's pieces

    report.reporting = build_reporting(session, chain, lang)  # v2, an incident with occurred_at: else None
    report.title = say(words["title"], title=_nested(words["title"], "title", incident.title))
    report.subtitle = say(words["subtitle"], id=incident.id, date=incident.occurred_on)
    if chain.withheld:
        report.withheld = say(words["words"]["withheld"], n=chain.withheld)
    report.footer = say(words["words"]["footer"], dataset=report.dataset, ruleset=report.ruleset,
                        generated=report.generated_at, audit=report.audit)
    if report.generated_by:
        report.footer += say(words["words"]["footer_by"], user=report.generated_by)
    return report


def _measures(session, chain: IncidentChain, links: list[LinkEntry], names: Names, words: dict,
              lang: str) -> list[MeasureEntry]:
    """The measures overdue on the incident date assigned to the organizations of the chain (its links'
    and the incident's own), most overdue first; a lead assignment with the posts that answer for it (M1)."""
    on = chain.incident["occurred_on"]
    units = {link.organization.id for link in links}
    if chain.incident.get("organization_id"):
        units.add(chain.incident["organization_id"])
    rows = sorted((r for r in measures.status_rows(session, on, lang=lang)
                   if r["days_overdue"] and r["organization_id"] in units),
                  key=lambda r: (-r["days_overdue"], r["measure_id"], r["role"] != "lead", r["organization_id"]))
    answering: dict[tuple[str, str], list[str]] = {}
    p = words["punct"]
    for link in measures.links(session, on, lang=lang, rows=rows):
        org, title = names.organization(link["organization_id"]), names.post(link["post_id"])
        post = title if title.startswith(org) else f"{org} {title}"
        holders = p["list"].join(h["name"] for h in link["holders"]) or words["words"]["vacant"]
        degree = SCHEMA.label("degrees", link["degree"], lang)
        answering.setdefault((link["measure_id"], link["path"][0]), []).append(
            f"{post} {holders}{p['open']}{degree}{p['close']}")
    return [MeasureEntry(
        id=r["measure_id"], title=r["title"] or r["measure_id"],
        organization=Ref(r["organization_id"], names.organization(r["organization_id"])),
        role_label=SCHEMA.label("measure_roles", r["role"], lang), deadline=r["deadline"],
        status_label=SCHEMA.label("measure_statuses", r["status"], lang), days_overdue=r["days_overdue"],
        days_text=say(words["words"]["days"], days=r["days_overdue"]),
        answering=p["semi"].join(answering.get((r["measure_id"], r["organization_id"]), [])))
        for r in rows]


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


def _incident(chain: IncidentChain, ruleset, names: Names, words: dict, lang: str) -> IncidentInfo:
    row = chain.incident
    v2 = ruleset.generation >= 2
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
                say(words["level"]["threshold"], measure=words["measures"][m], value=_measure(m, spec[m], words, lang))
                for m in ACCIDENT_MEASURES)
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
    graded = levels[chain.level].extra.get("investigated_by") or "state_council"
    recorded = row.get("investigating_level") if v2 else None  # v2 reads the incident's own level (rule 8)
    if recorded and recorded != graded:  # not the tier of Art. 19: say whose it would have been
        text = say(words["level"]["recorded_tier"], investigator=text, level=level_label,
                   graded=_tier(graded, words, lang))
    place = _place(names, row["jurisdiction_id"])
    unit = Ref(row["organization_id"], names.organization(row["organization_id"])) if row.get("organization_id") else None
    info = IncidentInfo(
        id=row["id"], title=row.get("title") or row["id"], occurred_on=row["occurred_on"], place=place,
        place_text=_place_text(place, lang), unit=unit, industry=names.industry(row["industry"]),
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
    if v2 and (chain.reach or chain.escalated_reach):
        info.facts.insert(-1, Fact(f["reach"], _reach(chain, ruleset, names, words, lang)))
    return info


def _reach(chain: IncidentChain, ruleset, names: Names, words: dict, lang: str) -> str:
    """How far the chain reaches above R: rule 8 for the incident's and its hazards' places and industries
    (who regulates, then the tiers above and the rules applied at each, as the engine applies them:
    ``EngineV2.reach``), then rule 7 for the linked hazards that escalate — so that a reader sees why a
    city's bureau head is named and its mayor is not. Industries (hazards) with the same R and tiers are
    said once; a tier where the chain holds no post of the rule is marked."""
    level, seps = words["level"], words["level"]["reach_seps"]
    out = []
    incident = ruleset.escalation("incident")
    grouped: dict[str, tuple[str, bool, list, list[str]]] = {}  # by R and tiers: (R, regulated, tiers, industries)
    for industry, regulator, regulated, tiers in chain.reach:
        _, _, _, shown = grouped.setdefault(repr((regulator, regulated, tiers)), (regulator, regulated, tiers, []))
        if industry not in shown:
            shown.append(industry)
    for regulator, regulated, tiers, industries in grouped.values():
        who = say(level["reach_regulated" if regulated else "reach_unregulated"],
                  industry=_industries(industries, names, words, lang), regulator=names.jurisdiction(regulator))
        out.append(who + seps["sentences"] + _reach_tiers(chain, incident, tiers, ruleset, names, words, lang))
    hazard = ruleset.escalation("hazard")
    escalated: dict[str, tuple[list, list[str], list[str]]] = {}  # by R and tiers: (tiers, hazards, industries)
    for ids, industry, regulator, _, tiers in chain.escalated_reach:
        _, hazards, shown = escalated.setdefault(repr((regulator, tiers)), (tiers, [], []))
        hazards += [h for h in ids if h not in hazards]
        if industry not in shown:
            shown.append(industry)
    for tiers, hazards, industries in escalated.values():
        out.append(say(level["reach_hazards"], hazards=words["punct"]["list"].join(hazards),
                       industry=_industries(industries, names, words, lang, first=False)) + seps["sentences"] +
                   _reach_tiers(chain, hazard, tiers, ruleset, names, words, lang))
    return seps["groups"].join(out)


def _industries(codes: list[str], names: Names, words: dict, lang: str, first: bool = True) -> str:
    """Industries in words; in English in lower case but for the first, when it begins a sentence."""
    labels = [names.industry(i) for i in codes]
    if lang == "en":
        labels = labels[:1] * first + [label.lower() for label in labels[1 if first else 0:]]
    return words["punct"]["list"].join(labels)


def _reach_tiers(chain: IncidentChain, rule, tiers: list, ruleset, names: Names, words: dict, lang: str) -> str:
    """Where ``rule`` (R7 or R8) reaches above R, tier by tier, in one sentence (``_reach``)."""
    level, seps = words["level"], words["level"]["reach_seps"]
    values = {"rule": rule.id, "title": rule.title[lang]}
    applied = [(jid, tier, rules) for jid, tier, rules in tiers if rules]
    if not tiers:
        return say(level["reach_none"], **values)
    if not applied:  # every tier's list spared at its level
        return say(level["reach_spared"], **values)
    reached = {link.jurisdiction_id for link in chain.links if rule.id in link.rules}
    return say(level["reach"], **values, tiers=seps["tiers"].join(
        say(level["reach_tier"], jurisdiction=names.jurisdiction(jid), tier=level["tiers"][tier],
            rules=seps["rules"].join(_rule_ref(ruleset, rid, roles, words, lang) for rid, roles in rules))
        + ("" if jid in reached else level["reach_nobody"])
        for jid, tier, rules in applied))


def _hazards(chain: IncidentChain, session, names: Names, words: dict, lang: str) -> list[HazardHistory]:
    ids = [c.hazard_id for c in chain.hazards]
    if not ids:
        return []
    rows = {r["id"]: r for r in session.store.rows("hazards", id=ids)}
    events: dict[str, list[dict]] = {h: [] for h in ids}
    for e in session.store.rows("events", hazard_id=ids):
        events[e["hazard_id"]].append(e)
    on = chain.incident["occurred_on"]
    w = words["words"]
    v2 = session.ruleset.generation >= 2
    out = []
    for hid in ids:
        h = rows[hid]
        history = sorted(events[hid], key=lambda e: (e["on"], e["kind"]))
        # v2 reads closures from events too (a relapse reopens the hazard)
        state = conduct.state(h, history, on) if v2 else hazard_state(h, history, on)
        timeline = _inspections(h, session, names, words, lang, on, history) if v2 else []
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
            label = SCHEMA.label("event_kinds", e["kind"], lang)
            if v2 and e.get("outcome"):  # a re-inspection's finding: held, or relapsed (rule 11)
                label += words["punct"]["open"] + _term("reinspection_outcomes", e["outcome"], lang) + \
                    words["punct"]["close"]
            timeline.append(TimelineEntry(e["on"], e["kind"], label,
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
        status_label = SCHEMA.label("hazard_statuses", h["status"], lang)
        if v2 and state["unresolved"] and h["closed_on"] and h["closed_on"] <= on:  # closed, then reopened
            status_label = say(w["reopened_status"], status=status_label)
        out.append(HazardHistory(
            id=hid, description=h.get("description") or "", industry=names.industry(h["industry"]),
            level=h["level"], level_label=SCHEMA.label("hazard_levels", h["level"], lang),
            status_label=status_label,
            place_text=_place_text(_place(names, h["jurisdiction_id"]), lang),
            unit=Ref(h["organization_id"], names.organization(h["organization_id"])) if h["organization_id"] else None,
            found_on=h["found_on"], deadline=h["deadline"], effective_deadline=state["deadline"],
            escalated_on=state["escalated_on"], closed_on=h["closed_on"], unresolved=state["unresolved"],
            overdue_days=state["overdue_days"], state_text=state_text, timeline=timeline,
        ))
    return out


def _inspections(h: dict, session, names: Names, words: dict, lang: str, on: str,
                 history: list[dict]) -> list[TimelineEntry]:
    """v2: the inspections of the hazard's units since it began — those that recorded it and those that did
    not (rule 10 judges both; one made while the hazard stood closed had nothing to record) — as entries of
    its history (``history``: its events)."""
    records = getattr(session.engine, "records", None)
    if records is None:
        return []
    w, p = words["words"], words["punct"]
    units = ([h["organization_id"]] if h.get("organization_id") else []) + list(h.get("other_organization_ids") or ())
    began = conduct.began(h)
    out = []
    for unit in units:
        for r in records.inspections(unit):
            if r["on"] < began:
                continue
            listed = h["id"] in (r["hazard_ids"] or ())
            closed = not listed and conduct.closed_on(h, history, r["on"])
            outcome = names.inspection_outcome({"id": r["id"], "outcome": r["outcome"], "hazard_ids": r["hazard_ids"]},
                                               [h["id"]])
            label = SCHEMA.label("event_kinds", "inspected", lang) + p["open"] + outcome + p["close"]
            note = say(w["inspection_note"], id=r["id"],
                       listed=w["listed" if listed else "closed_then" if closed else "not_listed"],
                       note=p["semi"] + r["note"] if r.get("note") else "")
            out.append(TimelineEntry(r["on"], "inspection", label, names.post_with_org(r["post_id"]), note,
                                     r["on"] > on))
    return out


DUTY_OFFICE = {"zh": "值班室", "en": " duty office"}


def _link(link: Link, chain: IncidentChain, names: Names, ruleset, words: dict, lang: str) -> LinkEntry:
    w = words["words"]
    p = words["punct"]
    on = chain.incident["occurred_on"]
    # a holder who still held the post that day did not move on, whatever tenure of theirs ended before it
    # (an acting holder made the substantive holder of the same post); reference-v1's reports stay as they were
    stayed = {h.person_id for h in link.holders if not h.end or h.end >= on} if ruleset.generation >= 2 else set()
    holders = []
    for h in link.holders:
        end_text = h.end or w["current"]
        overlap = h.overlap or (None, None)
        moved_on = bool(h.end and h.end < on) and h.person_id not in stayed
        holders.append(Holding(
            person=Ref(h.person_id, h.name), start=h.start, end=h.end, acting=h.acting,
            overlap_start=overlap[0], overlap_end=overlap[1], moved_on=moved_on,
            tenure_text=say(w["tenure_span"], start=h.start, end=end_text),
            overlap_text=say(w["tenure_span"], start=overlap[0], end=overlap[1]) if h.overlap else "",
            flags=([w["acting"]] if h.acting else []) + ([w["moved_on"]] if moved_on else []),
        ))
        holding = holders[-1]
        flags = "".join(p["flag_open"] + f + p["flag_close"] for f in holding.flags)
        if h.assessment is not None:
            _assess(holding, h.assessment, link, names, words, lang)
            if holding.status != "accountable":  # a table cell says why the person is not proposed
                flags += p["flag_open"] + words["short_statuses"][holding.status] + p["flag_close"]
        holding.text = holding.person.name + flags + p["open"] + holding.tenure_text + p["close"]
    # consecutive repeats (an enterprise is both the level and the unit) say nothing
    path_ids = [p for i, p in enumerate(link.path) if i == 0 or p != link.path[i - 1]]
    path = [Ref(p, names.name_of(p)) for p in path_ids]
    rules = [Ref(rid, _rule_title(ruleset, rid)[lang]) for rid in link.rules]
    entry = LinkEntry(
        post=Ref(link.post_id, title_in(link.post_title, lang)),
        # a duty officer named without a post (rule 12) answers from the jurisdiction's duty office
        organization=Ref(link.organization_id, names.organization(link.organization_id)) if link.organization_id
        else Ref(None, names.jurisdiction(link.jurisdiction_id) + DUTY_OFFICE[lang]),
        jurisdiction=Ref(link.jurisdiction_id, names.jurisdiction(link.jurisdiction_id)),
        duty=link.duty, duty_label=SCHEMA.label("duties", link.duty, lang),
        degree=link.degree, degree_label=SCHEMA.label("degrees", link.degree, lang),
        escalated=link.escalated, rules=rules,
        basis=[ruleset.citation(b, lang) for b in link.basis], basis_keys=list(link.basis),
        holders=holders, path=path, path_text=" → ".join(r.name for r in path),
        explanation=link.explanation[lang],
        role=post.role if (post := names.graph.posts.get(link.post_id)) else "",
    )
    if link.evidence is not None:
        hazards = [c.hazard_id for c in chain.hazards]  # an inspection cited about them: what else it found
        entry.evidence = [_record(r, names, words, lang, hazards=hazards) for r in link.evidence]
    if link.act is not None:
        rule, on_day = link.act
        entry.act = (rule, on_day)
        entry.act_text = say(w["act"], rule=rule, title=_rule_title(ruleset, rule)[lang], date=_moment(on_day))
    return entry


def _moment(text: str) -> str:
    """A day as it is; a moment (rule 12's due and made times, ISO with the Beijing offset) as a reader writes
    it: 2025-11-03 13:51."""
    return text[:16].replace("T", " ") if len(text) > 10 else text


def _rule_ref(ruleset, rule: str, roles: tuple[str, ...], words: dict, lang: str) -> str:
    """A rule that a tier applies, in words: the whole rule, or only some of its roles (``R5`` for its
    government head only)."""
    title = _rule_title(ruleset, rule)[lang]
    if not roles:
        return say(words["level"]["reach_rule"], rule=rule, title=title)
    labels = [_term("roles", role, lang) for role in roles]
    labels = [label.lower() for label in labels] if lang == "en" else labels
    return say(words["level"]["reach_role"], rule=rule, title=title,
               roles=words["level"]["reach_seps"]["roles"].join(labels))


def _rule_title(ruleset, rule_id: str) -> dict:
    """A rule's title, ``{zh, en}``: a rule of posts, an escalation, or a rule of conduct (v2)."""
    for group in (ruleset.rules, ruleset.escalations, ruleset.conduct):
        for rule in group:
            if rule.id == rule_id:
                return rule.title
    return {"zh": rule_id, "en": rule_id}


def _assess(holding: Holding, assessment: tuple[str, tuple[dict, ...]], link: Link, names: Names, words: dict,
            lang: str) -> None:
    """The engine's assessment of a holder, in words: the status and the records or days behind it."""
    status, reasons = assessment
    holding.status = status
    holding.status_label = words["short_statuses"].get(status) or SCHEMA.label("assessment_statuses", status, lang)
    holding.reasons = [_record(r, names, words, lang, link) for r in reasons]
    holding.reasons_text = words["punct"]["semi"].join(r.text for r in holding.reasons)


def _record(record: dict, names: Names, words: dict, lang: str, link: Link | None = None,
            hazards: list[str] | tuple = ()) -> Record:
    """A record of conduct (an inspection, an event, a designation, a report) or a reason of an
    assessment (days in post), as one sentence of the report; ``hazards``: those it is cited about."""
    sentences = words["records"]
    kind = record.get("kind", "")
    values = dict(record)
    if kind == "inspection":
        values["outcome"] = names.inspection_outcome(record, hazards)
    elif kind == "event":
        values["event"] = _term("event_kinds", record.get("event"), lang)
        values["hazard"] = record.get("hazard_id", "")
        values["outcome"] = (words["punct"]["colon"] + _term("reinspection_outcomes", record["outcome"], lang)
                             if record.get("outcome") else "")
    elif kind == "designation":
        values["designation"] = _term("designation_kinds", record.get("designation"), lang)
        values["post"] = names.post_with_org(record["post_id"]) if record.get("post_id") else ""
        values["target"] = _target(record.get("target_id", ""), names, words)
    elif kind == "report":
        values["from"] = names.name_of(record["from"]) if record.get("from") else ""
        values["to"] = names.name_of(record["to"]) if record.get("to") else ""
        values["due"] = _moment(record.get("due") or "")
        values["at"] = say(words["words"]["made"], at=_moment(record["at"])) if record.get("at") else \
            words["words"]["never"]
    elif kind == "overlap":  # the other holder is on the same link; the store knows them otherwise
        other = record.get("other_person_id") or ""
        on_link = [h.name for h in (link.holders if link else ()) if h.person_id == other]
        values["other"] = on_link[0] if on_link else names.person(other) if other else ""
    if kind in sentences:
        text = say(sentences[kind], **values)
    else:  # a record this label file does not know yet: still cited, with its data
        detail = ", ".join(f"{k}={v}" for k, v in record.items() if k != "kind")
        text = say(sentences["other"], kind=kind, detail=detail)
    date = record.get("date") or record.get("start") or record.get("due") or ""
    return Record(kind, date, text, dict(record))


def _tier(code: str, words: dict, lang: str) -> str:
    """Who investigates at a tier: the State Council, or the government of a jurisdiction level."""
    if code == "state_council":
        return words["words"]["state_council"]
    label = SCHEMA.label("jurisdiction_levels", code, lang)
    return say(words["level"]["tier_government"], tier=label.lower() if lang == "en" else label)


def _term(vocabulary: str, code: str | None, lang: str) -> str:
    if not code:
        return ""
    return SCHEMA.label(vocabulary, code, lang) if code in SCHEMA.vocab(vocabulary) else code


def _target(target_id: str, names: Names, words: dict) -> str:
    """What a designation names: a hazard (by id), an organization or a jurisdiction (by name)."""
    name = names.name_of(target_id)
    if name == target_id and names.row("hazards", target_id):
        return say(words["records"]["hazard"], id=target_id)
    return name


def _by_duty(links: list[LinkEntry], names: Names, lang: str) -> list[DutyGroup]:
    groups = []
    for duty in SCHEMA.vocab("duties"):
        units: dict[str, Unit] = {}
        for link in links:
            if link.duty != duty:
                continue
            unit = units.get(link.organization.id)
            if unit is None:
                unit = units[link.organization.id] = Unit(
                    link.organization, _place_text(_place(names, link.jurisdiction.id), lang), [])
            unit.links.append(link)
        for unit in units.values():  # the principal leader before the deputies
            unit.links.sort(key=lambda link: (link.escalated, -link.weight, ROLE_ORDER.get(link.role, 99)))
        if units:
            groups.append(DutyGroup(duty, SCHEMA.label("duties", duty, lang), list(units.values())))
    return groups


def _by_person(links: list[LinkEntry], places: dict[str, str] | None = None) -> dict[str, PersonEntry]:
    """Each person once, with every post they held in the window, under the heaviest degree of those posts
    (v2: of the posts they are accountable on, for a person whose place is accountable)."""
    weight = SCHEMA.degree_weights
    persons: dict[str, PersonEntry] = {}
    weighed: set[str] = set()  # persons whose degree comes from a post that counts
    for link in links:
        mine: dict[str, list[Holding]] = {}
        for h in link.holders:
            mine.setdefault(h.person.id, []).append(h)
        for pid, holdings in mine.items():
            entry = persons.get(pid)
            place = places.get(pid) if places else None
            counts = place != "accountable" or holdings[0].status == "accountable"
            if entry is None:
                entry = persons[pid] = PersonEntry(holdings[0].person, link.degree, link.degree_label, [], place)
            elif counts and (pid not in weighed or weight[link.degree] > weight[entry.degree]):
                entry.degree, entry.degree_label = link.degree, link.degree_label
            if counts:
                weighed.add(pid)
            entry.posts.append(PersonPost(link, holdings))
    return persons


def _by_degree(persons: list[PersonEntry], lang: str) -> list[DegreeGroup]:
    """The persons by degree, direct first (v2: the proposed list, the persons whose place is accountable)."""
    weight = SCHEMA.degree_weights
    order = [d for d in DEGREE_ORDER if d in weight] + [d for d in weight if d not in DEGREE_ORDER]
    return [
        DegreeGroup(d, SCHEMA.label("degrees", d, lang), [p for p in persons if p.degree == d])
        for d in order if any(p.degree == d for p in persons)
    ]


def _places(links: list[LinkEntry]) -> dict[str, str]:
    """Each person's place: accountable if accountable on any link, else exempt if exempt on any, else
    no_conditions."""
    statuses: dict[str, set[str]] = {}
    for link in links:
        for h in link.holders:
            statuses.setdefault(h.person.id, set()).add(h.status or "accountable")
    return {pid: next(p for p in PLACES if p in found) for pid, found in statuses.items()}


def _assessed(persons: list[PersonEntry], ruleset, words: dict, lang: str) -> list[AssessedGroup]:
    """The sections of the persons shown apart: duty performed (exempt), then no conditions to perform."""
    sections, fields = words["sections"], words["fields"]
    groups = []
    for status in PLACES[1:]:
        placed = [p for p in persons if p.place == status]
        # the ruleset's provisions for the section (``assessment_basis``), cited here and in the appendix
        # when someone is placed under it
        keys = ruleset.assessment_basis.get(status, ()) if placed else ()
        basis = words["punct"]["list"].join(ruleset.citation(key, lang) for key in keys)
        groups.append(AssessedGroup(
            status=status, title=sections[status],
            intro=say(words["words"][f"{status}_intro"], min_days=ruleset.min_days),
            basis=basis, records_label=fields[f"{status}_records"], persons=placed,
        ))
    return groups


def _finding(gap: dict, names: Names, words: dict, lang: str) -> Finding:
    kind = gap["kind"]
    sentences = words["gaps"]
    span = say(sentences["span"], start=gap["from"], end=gap["to"]) if gap.get("from") else ""
    values = {
        "post": gap.get("post_title") or (names.post(gap["post_id"]) if gap.get("post_id") else ""),
        "organization": names.organization(gap["organization_id"]) if gap.get("organization_id") else "",
        "jurisdiction": names.jurisdiction(gap["jurisdiction_id"]) if gap.get("jurisdiction_id") else "",
        "regulator": names.jurisdiction(gap["regulator_jurisdiction_id"]) if gap.get("regulator_jurisdiction_id") else "",
        "industry": names.industry(gap["industry"]) if gap.get("industry") else "",
        "hazard": gap.get("hazard_id", ""), "deadline": gap.get("deadline", ""), "days": gap.get("days", ""),
        "span": span, "kind": kind,
    }
    if kind in sentences:
        text = say(sentences[kind], **values)
    else:  # a gap kind this label file does not know yet: still shown, with its data
        detail = ", ".join(f"{k}={v}" for k, v in gap.items() if k != "kind")
        text = say(sentences["other"], kind=SCHEMA.label("gap_kinds", kind, lang), detail=detail)
    return Finding(kind, SCHEMA.label("gap_kinds", kind, lang), text, dict(gap))


def _summary(duties: list[DutyGroup], persons: list[PersonEntry], findings: list[Finding],
             proposed_only: bool = False) -> list[SummaryRow]:
    """Per duty: units, posts, persons, of whom moved on, posts vacant at any time in the window, escalated.

    ``proposed_only`` (v2): a post counts once however many links it has there (an act of rule 10 or 11
    beside its position), and the persons are those proposed for accountability; v1 counts every link and
    every holder."""
    vacant_posts = {f.data.get("post_id") for f in findings if f.kind == "vacant_post"}
    if proposed_only:
        persons = [p for p in persons if p.place == "accountable"]
    rows = []
    for group in duties:
        links = [link for u in group.units for link in u.links]
        people = {h.person.id for link in links for h in link.holders}
        if proposed_only:
            people &= {p.person.id for p in persons}
            posts = len({link.post.id for link in links})
            vacant = len({link.post.id for link in links if link.vacant or link.post.id in vacant_posts})
        else:
            posts, vacant = len(links), sum(link.vacant or link.post.id in vacant_posts for link in links)
        moved = {p.person.id for p in persons
                 if p.person.id in people and all(pp.moved_on for pp in p.posts if pp.link.duty == group.duty)}
        rows.append(SummaryRow(group.duty, group.label, len(group.units), posts, len(people), len(moved),
                               vacant, sum(link.escalated for link in links)))
    return rows


def _citations(links: Iterable[LinkEntry], ruleset, lang: str, assessed: Iterable[str] = ()) -> list[Citation]:
    keys: list[str] = [k for k in LEVEL_CITATIONS if k in ruleset.citations]
    for link in links:
        keys += [k for k in link.basis_keys if k not in keys]
    for status in assessed:  # v2: the provisions the sections of persons shown apart rest on
        keys += [k for k in ruleset.assessment_basis.get(status, ()) if k not in keys]
    out = []
    for key in keys:
        c = ruleset.citations.get(key, {})
        out.append(Citation(key, c.get(lang, key), c.get(f"text_{lang}", "")))
    return out
