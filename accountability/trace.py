"""The rules engine: who is accountable for a hazard or an incident, why, and since when.

Written once for every store: it reads only the in-memory :class:`~accountability.graph.Graph` and the
hazard records it is given, and evaluates the ruleset loaded from ``graph_schema`` (rules as data).

Time is a :class:`Window`: a single day ``[D, D]`` answers "who on D", a longer one "who at any time in
it" (every overlapping tenure, with its overlap). A chain splits into parts that many hazards share —
the government side depends only on (jurisdiction, industry, window, escalation), the enterprise side
only on (enterprise, window) — and each part is computed once per engine, so batch work scales with
the distinct keys rather than with the hazards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Callable, Iterable, NamedTuple

import orjson

from accountability import anchors
from accountability.dates import Window, day, iso
from accountability.graph import FOREVER, Graph, Organization, Post
from accountability.output import chain_json
from graph_schema import SCHEMA, Schema
from graph_schema.loader import Ruleset, Selector

REGULATOR_ANCHORS = anchors.in_context("regulator")
TOWNSHIP_ANCHORS = anchors.in_context("township")
ENTERPRISE_ANCHORS = anchors.in_context("enterprise")
ACCIDENT_MEASURES = ("deaths", "serious_injuries", "direct_loss_yuan")
# what Engine.chain reads of a hazard (batch work reads no more)
HAZARD_COLUMNS = ("id", "industry", "level", "jurisdiction_id", "organization_id", "found_on", "deadline", "closed_on")


Interval = tuple[int, int]  # ordinals, inclusive
new_tuple = tuple.__new__


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[list[int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _uncovered(window: Interval, covered: list[Interval]) -> list[Interval]:
    """Stretches of ``window`` outside ``covered`` (a union)."""
    out, cursor = [], window[0]
    for a, b in covered:
        if b < cursor:
            continue
        if a > window[1]:
            break
        if a > cursor:
            out.append((cursor, a - 1))
        cursor = max(cursor, b + 1)
    if cursor <= window[1]:
        out.append((cursor, window[1]))
    return out


def _clip(start: str, end: str, window: Interval) -> Interval | None:
    a, b = max(day(start), window[0]), min(day(end), window[1])
    return (a, b) if a <= b else None


class Candidate(NamedTuple):
    """A post that a plan reaches at a level, before it becomes a link (``Engine._finish``)."""

    post: Post
    org: Organization
    selector: Selector  # or what stands for one (``trace_v2.Template``: rules 9–12)
    rules: tuple[str, ...]
    basis: tuple[str, ...]
    intervals: list[Interval]  # when the post is reached (portfolios), ordinals within the window
    order: int  # the rule's place in the ruleset

    def merge(self, org: Organization, selector: Selector, rules: tuple[str, ...], basis: tuple[str, ...],
              intervals: list[Interval], weight: dict[str, int]) -> "Candidate":
        """The post reached again: rules and bases united, the intervals of both, the organization and
        selector of the heavier degree."""
        heavier = weight[selector.degree] > weight[self.selector.degree]
        return self._replace(org=org if heavier else self.org, selector=selector if heavier else self.selector,
                             rules=self.rules + tuple(r for r in rules if r not in self.rules),
                             basis=self.basis + tuple(b for b in basis if b not in self.basis),
                             intervals=self.intervals + intervals)


class Holder(NamedTuple):  # a tuple: built once per link and holder, hundreds of thousands in batch work
    person_id: str
    name: str
    start: str
    end: str | None
    acting: bool
    overlap: tuple[str, str] | None = None  # within the window (window mode only)
    # v2 rulesets: (status, reasons) — exempt, no_conditions or accountable, and the records or facts why
    assessment: tuple[str, tuple[dict, ...]] | None = None

    def as_dict(self) -> dict:
        d = {"person_id": self.person_id, "name": self.name, "start": self.start, "end": self.end, "acting": self.acting}
        if self.overlap:
            d["overlap"] = {"start": self.overlap[0], "end": self.overlap[1]}
        if self.assessment is not None:
            d["assessment"] = {"status": self.assessment[0], "reasons": list(self.assessment[1])}
        return d


class _Shares:
    """Output made once and kept (``shared``), in a dict made on first use: most objects of batch work
    are never asked, and a dict each would cost a million allocations at province scale."""

    __slots__ = ()
    _shared: dict | None

    @property
    def keeps(self) -> bool:
        """Whether anything is kept for it (or for a copy sharing what it keeps) yet."""
        return self._shared is not None

    def shared(self, key: Any, make: Callable[[Any], Any]) -> Any:
        """``make(self)``, computed once and kept."""
        cache = self._shared
        if cache is None:
            cache = self._shared = {}
        found = cache.get(key)
        if found is None:
            found = cache[key] = make(self)
        return found


class Title(str):
    """A post title the engine writes itself rather than reads from the data (rule 12: a duty officer named
    without a post): the Chinese is the string, as titles in the data are; ``words`` holds every language.

    >>> title_in(Title({"zh": "值班员", "en": "Duty officer"}), "en"), title_in("书记", "en")
    ('Duty officer', '书记')
    """

    def __new__(cls, words: dict[str, str]) -> "Title":
        title = super().__new__(cls, words["zh"])
        title.words = dict(words)
        return title

    def __getnewargs__(self) -> tuple:
        return (self.words,)


def title_in(title: str, lang: str) -> str:
    """A link's post title in ``lang``: a title from the data as it is, the engine's own in that language."""
    return title.words.get(lang, str(title)) if isinstance(title, Title) else title


class Link(_Shares):
    """One accountable post in a chain: why (rules, basis, duty, degree), who (holders), and the path.

    Links are shared by every chain that reaches the same post the same way. Copies that differ only
    in where their path starts (``with_prefix``) share the rest, so the explanation is rendered and
    the JSON serialized once per language, whatever the number of hazards.
    """

    __slots__ = ("post_id", "post_title", "organization_id", "jurisdiction_id", "duty", "degree", "rules", "basis",
                 "escalated", "holders", "path", "rank", "_explain", "_shared", "evidence", "act")

    def __init__(self, post_id: str, post_title: str, organization_id: str, jurisdiction_id: str, duty: str,
                 degree: str, rules: tuple[str, ...], basis: tuple[str, ...], escalated: bool,
                 holders: tuple[Holder, ...], path: tuple[str, ...], explain: tuple, rank: tuple = (),
                 evidence: tuple[dict, ...] | None = None, act: tuple[str, str] | None = None):
        self.post_id = post_id
        self.post_title = post_title
        self.organization_id = organization_id
        self.jurisdiction_id = jurisdiction_id
        self.duty = duty
        self.degree = degree
        self.rules = rules
        self.basis = basis  # citation keys of the ruleset
        self.escalated = escalated
        self.holders = holders
        self.path = path
        self.rank = rank  # ordering within a chain
        self._explain = explain  # the arguments of _sentence, rendered on first use
        self._shared = None  # explanation, JSON and CSV pieces: common to copies with other paths
        self.evidence = evidence  # v2: the records behind the link (None under v1 rulesets: no key in the output)
        self.act = act  # v2 conduct links: (rule, day of the act); such a link merges only with the same act

    def __repr__(self) -> str:
        return f"Link({self.post_id!r}, {self.duty!r}, {self.degree!r}, escalated={self.escalated})"

    @property
    def key(self) -> tuple:
        """What merges links: (post, duty, escalated); for a conduct link, (post, rule, day of the act)."""
        if self.act is None:
            return (self.post_id, self.duty, self.escalated)
        if self.post_id is None:  # rule 12: a duty officer named without a post, keyed by the person
            return (None,) + self.act + tuple(h.person_id for h in self.holders)
        return (self.post_id,) + self.act

    @property
    def explanation(self) -> dict:
        """The sentence that explains the link, ``{"zh": …, "en": …}``."""
        return {lang: self.sentence(lang) for lang in self._explain[0]}

    def sentence(self, lang: str, keep: bool = True) -> str:
        """The explanation in ``lang``, rendered once for this link and its copies (unless not ``keep``)."""
        if not keep:
            return _sentence(lang, *self._explain)
        return self.shared(("sentence", lang), lambda link: _sentence(lang, *link._explain))

    def with_prefix(self, prefix: tuple[str, ...]) -> "Link":
        """This link seen from further down; it shares what ``shared`` keeps (output without the path)."""
        if self._shared is None:
            self._shared = {}
        other = self._clone()
        other.path = prefix + self.path
        other._shared = self._shared
        return other

    def copy(self, **changes: Any) -> "Link":
        """A link with other facts (a merge): shares nothing cached with this one."""
        other = self._clone()
        other._shared = None
        for name, value in changes.items():
            setattr(other, name, value)
        return other

    def _clone(self) -> "Link":
        """The same facts and explanation in a new link (its ``_shared`` for the caller to set)."""
        other = Link.__new__(Link)
        other.post_id, other.post_title, other.organization_id = self.post_id, self.post_title, self.organization_id
        other.jurisdiction_id, other.duty, other.degree = self.jurisdiction_id, self.duty, self.degree
        other.rules, other.basis, other.escalated = self.rules, self.basis, self.escalated
        other.holders, other.path, other.rank = self.holders, self.path, self.rank
        other.evidence, other.act, other._explain = self.evidence, self.act, self._explain
        return other

    def as_dict(self, ruleset: Ruleset, lang: str = "zh") -> dict:
        return {**self.facts(ruleset, lang), "path": list(self.path), "explanation": self.sentence(lang)}

    def facts(self, ruleset: Ruleset, lang: str) -> dict:
        """Everything in ``as_dict`` before the path: what copies with other paths have in common."""
        facts = {
            "post_id": self.post_id,
            "post_title": title_in(self.post_title, lang),
            "organization_id": self.organization_id,
            "jurisdiction_id": self.jurisdiction_id,
            "duty": self.duty,
            "degree": self.degree,
            "rules": list(self.rules),
            "basis": [ruleset.citation(b, lang) for b in self.basis],
            "escalated": self.escalated,
            "holders": [h.as_dict() for h in self.holders],
        }
        if self.evidence is not None:
            facts["evidence"] = list(self.evidence)
        return facts


class Part(_Shares):
    """A reusable piece of a chain: links (in chain order) and the gaps they raise; not changed once built.

    A plain slotted class rather than a dataclass: a province builds a quarter of a million of them."""

    __slots__ = ("links", "gaps", "posts", "first", "last", "_shared")

    def __init__(self, links: tuple[Link, ...] = (), gaps: tuple[dict, ...] = ()):
        self.links = links
        self.gaps = gaps
        self.posts = frozenset([link.post_id for link in links])
        # the ranks of the first and the last link: parts that do not interleave join without sorting
        self.first = links[0].rank if links else ()
        self.last = links[-1].rank if links else ()
        self._shared = None  # output of its links, for every chain that holds it

    def join(self, other: "Part", weight: dict[str, int]) -> tuple[list[Link], tuple["Part", ...]]:
        """The links of both parts in chain order, merged where they share a post; and the parts whose
        links, one after the other, are exactly those (none when they had to be merged or interleaved)."""
        if not other.links:
            return list(self.links), (self,)
        if not self.links:
            return list(other.links), (other,)
        if not self.posts.isdisjoint(other.posts):
            return merge_links((self.links, other.links), weight), ()
        if other.last < self.first:
            return list(other.links + self.links), (other, self)
        if self.last < other.first:
            return list(self.links + other.links), (self, other)
        return sorted(self.links + other.links, key=_rank), ()


def joined(*parts: Part) -> tuple[list[Link], tuple[Part, ...]]:
    """``Part.join`` for parts that have no post in common, however many: their links in chain order, and
    the parts one after the other when their links do not interleave (else none)."""
    parts = sorted([p for p in parts if p.links], key=attrgetter("first"))
    if all(a.last < b.first for a, b in zip(parts, parts[1:])):
        return [link for p in parts for link in p.links], tuple(parts)
    return sorted([link for p in parts for link in p.links], key=_rank), ()


EMPTY = Part()


@dataclass(slots=True)
class Chain:
    hazard_id: str
    window: Window
    links: list[Link]
    gaps: list[dict]
    parts: tuple[Part, ...] = ()  # when set, ``links`` is their links one after the other (JSON by part)
    # v2, when the hazard reaches the level above (rule R7): why — {"major", "overdue_days", "escalated_on"}
    escalation: dict | None = None

    def as_dict(self, ruleset: Ruleset, lang: str = "zh") -> dict:
        d: dict[str, Any] = {"hazard_id": self.hazard_id, "as_of": self.window.end}
        if not self.window.is_day:
            d["window"] = {"start": self.window.start, "end": self.window.end}
        d["links"] = [link.as_dict(ruleset, lang) for link in self.links]
        d["gaps"] = self.gaps
        if self.escalation is not None:
            d["escalation"] = self.escalation
        return d

    def json(self, ruleset: Ruleset, lang: str = "zh") -> bytes:
        """The chain as JSON, the same as ``as_dict`` (``output.chain_json``: spliced from shared pieces)."""
        return chain_json(self, ruleset, lang)


@dataclass
class IncidentChain:
    incident: dict
    level: str
    decided_by: list[dict]
    investigated_by: dict | None
    window: Window
    links: list[Link]
    gaps: list[dict]
    hazards: list[Chain]
    withheld: int = 0  # linked hazards outside the user's scope, left out (see Session.incident)
    # v2, an incident with occurred_at: {steps, on_duty} of its required reports (accountability.reporting)
    reporting: dict | None = None
    # v2: how far rule 8 reaches, per place and industry of the incident and of its hazards: (industry, R,
    # tiers of ``EngineV2.reach``); for reports, not in the JSON
    reach: list[tuple[str, str, list]] = field(default_factory=list)
    # v2: how far rule 7 reaches for the linked hazards that escalate: (hazard ids, industry, R, tiers)
    escalated_reach: list[tuple[list, str, str, list]] = field(default_factory=list)

    def as_dict(self, ruleset: Ruleset, lang: str = "zh") -> dict:
        d = {
            "incident_id": self.incident["id"],
            "level": self.level,
            "decided_by": self.decided_by,
            "investigated_by": self.investigated_by,
            "window": {"start": self.window.start, "end": self.window.end},
            "links": [link.as_dict(ruleset, lang) for link in self.links],
            "gaps": self.gaps,
        }
        if self.withheld:  # only for a scoped user: everyone else's output stays as it was
            d["withheld_hazards"] = self.withheld
        if self.reporting is not None:
            d["reporting"] = self.reporting
        return d


@dataclass(slots=True)
class _Level:
    """Where a group of rules is evaluated: a jurisdiction (or an enterprise) and how it was reached."""

    jurisdiction_id: str
    path: tuple[str, ...]
    escalated: bool = False
    raise_gaps: bool = True
    departments: tuple[Organization, ...] = ()  # the rule-2 departments here
    enterprise: Organization | None = None
    unit: str | None = None  # v2: the hazard's organization, for portfolios that name it (rule 2b)
    vacancies: bool | None = None  # v2: escalated tiers report vacant posts too (None: v1's reading)


class Engine:
    """The engine of generation-1 rulesets (reference-v1), and the machinery generation 2 extends.

    Rules are data (``graph_schema/rulesets/*.yaml``): each rule's selectors name a role, a duty, a degree
    and anchors — where the organizations whose posts they reach are found (``accountability.anchors``).
    ``_plan`` resolves, per context, which selectors apply there; ``_evaluate`` runs a plan at one level.
    What each method answers, by rule (numbers as in the ruleset and DESIGN.md):

    =======================  =================================================================================
    ``chain``                one hazard: the government side joined with the enterprise side, then its own
                             gaps ``overdue`` and ``unescalated_major``
    ``enterprise``           rule 1 (E's principal and safety manager; gap ``no_principal``), and the park of
                             rule 6 where the ruleset anchors it at E
    ``regulator``            R: the nearest jurisdiction from J up with a rule-2 department for the industry
                             (none anywhere: R is J's county, gap ``no_regulator``)
    ``government``           rules 2–5 at R (``_regulator_part``: sector and comprehensive departments, the
                             deputy in charge by portfolio, the party secretary and the government head;
                             gaps ``no_regulator``, ``no_portfolio``, ``vacant_post``), rule 6 at the township
                             J lies in below R (``_township_part``), rule 7 at the levels above R
    ``_escalates``           rule 7's condition: a major hazard, or one overdue beyond the rule's days
    ``_reach``               where rules 7 and 8 reach above R (the parent; tiers up to the investigating one)
    ``incident_chain``       an incident: its own chain with rule 8's reach, and the chains of its hazards
    ``accident_level``       the accident's level by 国务院令第493号 Art. 3 (which tier investigates: rule 8)
    ``_portfolio``           rule 4's portfolios (分管): the industry's, a department's, or the overall one
    ``_finish``              a post's holders on the day or in the window (``Holder``), and ``vacant_post``
    ``merge_links``          one link per post, duty and escalation: rules and bases united, the heaviest
                             degree kept (a post reached by several rules)
    =======================  =================================================================================

    Parts (``Part``) are cached by the keys they depend on (jurisdiction, industry, window, escalation levels;
    enterprise, window), so batch work computes each once however many hazards share it.
    """

    holder_assessment: tuple | None = None  # what a holder found on a day is judged when found (v1: nothing)
    link_evidence: tuple | None = None  # a link's evidence when made (v1: none, no key in the output)

    def __init__(self, graph: Graph, ruleset: Ruleset | None = None, schema: Schema = SCHEMA):
        self.graph = graph
        self.schema = schema
        self.ruleset = ruleset or schema.rules
        self.weight = schema.degree_weights
        ranks = graph.rank_of_level
        self.county_rank = ranks["county"]
        self.township_rank = ranks["township"]
        self.rule_order = {r.id: i for i, r in enumerate(self.ruleset.rules)}
        for i, e in enumerate(self.ruleset.escalations):
            self.rule_order[e.id] = len(self.ruleset.rules) + i
        self.duty_order = {c: i for i, c in enumerate(schema.vocab("duties"))}
        self.labels = {
            lang: {v: {c: t.label(lang) for c, t in schema.vocab(v).items()} for v in ("industries", "duties", "degrees")}
            for lang in ("zh", "en")
        }
        # per context, the (rule, selector, anchors) that apply there, resolved once
        everything = [r.id for r in self.ruleset.rules]
        self._plans: dict[tuple, list] = {}
        for name, anchors in (("enterprise", ENTERPRISE_ANCHORS), ("regulator", REGULATOR_ANCHORS),
                              ("township", TOWNSHIP_ANCHORS)):
            self._plans[(name, None)] = self._plan(everything, None, anchors)
        for e in self.ruleset.escalations:
            self._plans[("regulator", e.id)] = self._plan(list(e.reapply), e.id, REGULATOR_ANCHORS)
        self._hazard_escalation = self.ruleset.escalation("hazard")
        self._needs_industry = {name: any(_uses_industry(sel) for sel, *_ in plan)
                                for (name, via), plan in self._plans.items() if via is None}
        # parts by window, then by key (one dict per window: the keys of batch work stay small)
        self._government: dict[Window, dict[tuple, Part]] = defaultdict(dict)
        self._core: dict[tuple, Part] = {}
        self._townships: dict[tuple, Part] = {}
        self._enterprise: dict[Window, dict[str, Part]] = defaultdict(dict)
        self._regulators: dict[tuple, tuple] = {}
        self._escalation_levels: dict[tuple, tuple] = {}  # (jurisdiction, industry) → where R7 reaches

    def _plan(self, rule_ids: list[str], via: str | None, anchors: set[str]) -> list:
        plan = []
        for rule in self.ruleset.rules:
            if rule.id not in rule_ids:
                continue
            for selector in rule.selectors:
                own = tuple(a for a in selector.organizations if a in anchors)
                if own:
                    rules = (rule.id,) + ((via,) if via else ())
                    basis = tuple(selector.basis)
                    if via:
                        basis += tuple(b for b in self.ruleset.escalation_by_id(via).basis if b not in basis)
                    plan.append((selector, own, rules, basis, min(self.rule_order[r] for r in rules)))
        return plan

    # -- public -----------------------------------------------------------------------------------------

    def chain(self, hazard: dict, events: list[dict], window: Window) -> Chain:
        """The chain of one hazard over ``window`` (a day or a span), from its row and its events."""
        state = hazard_state(hazard, events, window.end)
        jid, industry = hazard["jurisdiction_id"], hazard["industry"]
        escalation = self._hazard_escalation
        if escalation and self._escalates(escalation, hazard, state):
            levels = self._escalation_levels.get((jid, industry))
            if levels is None:
                regulator = self.regulator(jid, industry)[0]
                levels = self._escalation_levels[(jid, industry)] = self._reach(escalation.reach, regulator, None)
            gov = self.government(jid, industry, window, levels, escalation.id if levels else None)
        else:
            gov = self.government(jid, industry, window)
        org = hazard["organization_id"]
        ent = self.enterprise(org, window) if org else EMPTY
        links, parts = gov.join(ent, self.weight)
        gaps = list(ent.gaps + gov.gaps) if ent.gaps else list(gov.gaps)
        if state["unresolved"]:
            if state["overdue_days"] > 0:
                gaps.append({"kind": "overdue", "hazard_id": hazard["id"], "deadline": state["deadline"],
                             "days": state["overdue_days"]})
            if hazard["level"] == "major" and not state["escalated_on"]:
                gaps.append({"kind": "unescalated_major", "hazard_id": hazard["id"]})
        return Chain(hazard["id"], window, links, gaps, parts)

    def incident_chain(self, incident: dict, hazards: list[tuple[dict, list[dict]]]) -> IncidentChain:
        level, decided_by = self.accident_level(incident)
        spec = self.schema.vocab("accident_levels")[level].extra
        tier = spec.get("investigated_by")
        investigated_by = None
        if tier:
            seat = next((j for j in self.graph.ancestors_or_self(incident["jurisdiction_id"]) if j.level == tier), None)
            if seat:
                gov = self.graph.organizations(seat.id, "government")
                investigated_by = {"jurisdiction_id": seat.id, "organization_id": gov[0].id if gov else None}
        end = incident["occurred_on"]
        found = [h["found_on"] for h, _ in hazards if h["found_on"] <= end]
        start = min(found) if found else iso(day(end) - 365)
        window = Window(start, end)
        reach = self.ruleset.escalation("incident")
        levels: tuple[str, ...] = ()
        if reach:
            regulator = self.regulator(incident["jurisdiction_id"], incident["industry"])[0]
            # an especially major accident is investigated by the State Council; its reach stops at the province
            levels = self._reach(reach.reach, regulator, tier or "province")
        gov = self.government(incident["jurisdiction_id"], incident["industry"], window, levels,
                              reach.id if levels and reach else None)
        ent = self.enterprise(incident["organization_id"], window) if incident.get("organization_id") else EMPTY
        chains = [self.chain(h, ev, window) for h, ev in hazards]
        links = merge_links([gov.links, ent.links] + [c.links for c in chains], self.weight)
        gaps = _dedupe(list(ent.gaps) + list(gov.gaps) + [g for c in chains for g in c.gaps])
        return IncidentChain(incident, level, decided_by, investigated_by, window, links, gaps, chains)

    def accident_level(self, incident: dict) -> tuple[str, list[dict]]:
        """The level by 国务院令第493号 Art. 3: the highest level that any one measure reaches."""
        for code, term in self.schema.vocab("accident_levels").items():
            reached = [
                {"measure": m, "value": int(incident[m]), "threshold": term.extra[m]}
                for m in ACCIDENT_MEASURES
                if term.extra[m] > 0 and int(incident[m]) >= term.extra[m]
            ]
            if reached or all(term.extra[m] == 0 for m in ACCIDENT_MEASURES):
                return code, reached
        raise AssertionError("the accident_levels vocabulary has no floor level")

    # -- the regulator and the escalation levels ------------------------------------------------------

    def regulator(self, jid: str, industry: str) -> tuple[str, tuple[str, ...], tuple[Organization, ...]]:
        """R, the walk from J up to R, and R's rule-2 departments (empty: no regulator anywhere)."""
        key = (jid, industry)
        found = self._regulators.get(key)
        if found is None:
            walk: list[str] = []
            for j in self.graph.ancestors_or_self(jid):
                walk.append(j.id)
                departments = self.graph.departments(j.id, industry)
                if departments:
                    found = (j.id, tuple(walk), tuple(departments))
                    break
            else:
                walk = []
                for j in self.graph.ancestors_or_self(jid):
                    walk.append(j.id)
                    if j.rank <= self.county_rank:
                        break
                found = (walk[-1] if walk else jid, tuple(walk), ())
            self._regulators[key] = found
        return found

    def _escalates(self, escalation, hazard: dict, state: dict) -> bool:
        if escalation.when_level and hazard["level"] == escalation.when_level:
            return True
        limit = escalation.when_overdue_days_over
        return limit is not None and state["overdue_days"] > limit

    def _reach(self, reach: str, regulator: str, tier: str | None) -> tuple[str, ...]:
        above = list(self.graph.ancestors_or_self(regulator))[1:]
        if reach == "parent":
            return (above[0].id,) if above else ()
        levels = []
        tier_rank = self.graph.rank_of_level[tier]
        for j in above:
            if j.rank < tier_rank:
                break
            levels.append(j.id)
        return tuple(levels)

    # -- parts ------------------------------------------------------------------------------------------

    def government(self, jid: str, industry: str, window: Window, levels: tuple[str, ...] = (),
                   via: str | None = None) -> Part:
        """The government side for a hazard in ``jid``: R's part and the township's, seen from ``jid``."""
        cache = self._government[window]
        key = (jid, industry, levels, via)
        part = cache.get(key)
        if part is None:
            self.graph.jurisdiction(jid)
            regulator, walk, departments = self.regulator(jid, industry)
            core = self._regulator_part(regulator, industry, departments, window, levels, via)
            links = _prefixed(core.links, walk[:-1])
            gaps = [dict(g, jurisdiction_id=jid) if g["kind"] == "no_regulator" else g for g in core.gaps]
            township = self._township(jid, regulator)
            if township:
                tpart = self._township_part(township, industry, window)
                links = merge_links([links, _prefixed(tpart.links, walk[: walk.index(township)])], self.weight)
                gaps = _dedupe(gaps + list(tpart.gaps))
            part = cache[key] = Part(tuple(links), tuple(gaps))
        return part

    def _regulator_part(self, regulator: str, industry: str, departments: tuple, window: Window,
                        levels: tuple[str, ...], via: str | None) -> Part:
        """Rules at R (and the escalation levels above it), with paths starting at R: shared by every
        jurisdiction that R regulates for ``industry``."""
        key = (regulator, industry, window, levels, via)
        part = self._core.get(key)
        if part is None:
            parts = [self._evaluate(self._plans[("regulator", None)],
                                    _Level(regulator, (regulator,), departments=departments), industry, window)]
            path: tuple[str, ...] = (regulator,)
            for lid in levels:
                path = path + (lid,)
                level = _Level(lid, path, escalated=True, raise_gaps=False,
                               departments=tuple(self.graph.departments(lid, industry)))
                parts.append(self._evaluate(self._plans[("regulator", via)], level, industry, window))
            links = merge_links([p.links for p in parts], self.weight)
            part = self._core[key] = Part(tuple(links), tuple(_dedupe(g for p in parts for g in p.gaps)))
        return part

    def _township_part(self, township: str, industry: str, window: Window) -> Part:
        if not self._needs_industry["township"]:
            industry = None  # the same part serves every industry
        key = (township, industry, window)
        part = self._townships.get(key)
        if part is None:
            part = self._townships[key] = self._evaluate(self._plans[("township", None)],
                                                         _Level(township, (township,)), industry, window)
        return part

    def enterprise(self, oid: str, window: Window) -> Part:
        cache = self._enterprise[window]
        part = cache.get(oid)
        if part is None:
            org = self.graph.org(oid)
            if org is None:
                part = EMPTY
            else:
                level = _Level(org.jurisdiction_id, (org.id,), enterprise=org)
                part = self._evaluate(self._plans[("enterprise", None)], level, None, window)
            cache[oid] = part
        return part

    def _township(self, jid: str, regulator: str) -> str | None:
        """The township J lies in (a village counts as its township), when it is below R."""
        for j in self.graph.ancestors_or_self(jid):
            if j.id == regulator or j.rank < self.township_rank:
                return None
            if j.rank == self.township_rank:
                return j.id
        return None

    # -- evaluating selectors ---------------------------------------------------------------------------

    def _evaluate(self, plan: list, level: _Level, industry: str | None, window: Window) -> Part:
        span = (day(window.start), day(window.end))
        is_day = span[0] == span[1]
        escalated = level.escalated
        weight = self.weight
        found: dict[tuple, Candidate] = {}  # by (post, duty, escalated): a post reached twice merges into one
        gaps: list[dict] = []
        posts_of, graph, finders = self.graph.posts_of, self.graph, anchors.ANCHORS
        orgs_at: dict[str, list[Organization]] = {}  # by anchor: several selectors share one
        for selector, names, rules, basis, order in plan:
            role, duty = selector.role, selector.duty
            watch = selector.gap_if_none and level.raise_gaps
            covered: list[Interval] = []
            for anchor in names:
                orgs = orgs_at.get(anchor)
                if orgs is None:  # the organizations the anchor names here (``accountability.anchors``)
                    orgs = orgs_at[anchor] = finders[anchor].find(graph, level)
                for org in orgs:
                    for post in posts_of.get(org.id, ()):
                        if role is not None and post.role != role:
                            continue
                        if selector.portfolio is None:
                            intervals = [span]
                        else:
                            intervals = self._portfolio(post, selector, level, industry, span)
                            if not intervals:
                                continue
                        if watch:
                            covered += intervals
                        key = (post.id, duty, escalated)
                        c = found.get(key)
                        if c is None:  # tuple.__new__: a NamedTuple's own __new__ is Python
                            found[key] = new_tuple(Candidate, (post, org, selector, rules, basis, intervals, order))
                        else:
                            found[key] = c.merge(org, selector, rules, basis, intervals, weight)
            if watch and (not covered or not is_day):
                for a, b in _uncovered(span, _union(covered)):
                    gaps.append(self._gap(selector.gap_if_none, level, industry, window, (a, b)))
        if not found:
            return Part((), tuple(gaps)) if gaps else EMPTY
        links, vacancies = self._finish(found.values(), level, window, industry)
        return Part(tuple(links), tuple(gaps + vacancies) if vacancies else tuple(gaps))

    def _portfolio(self, post: Post, selector: Selector, level: _Level, industry: str | None,
                   span: Interval) -> list[Interval]:
        portfolios = self.graph.portfolios_of.get(post.id)
        if not portfolios:
            return []
        out = []
        for p in portfolios:
            if selector.portfolio == "overall":
                match = p.industry == "*"
            else:
                match = (p.industry is not None and p.industry == industry) or \
                    any(d.id == p.organization_id for d in level.departments)
            if match:
                clipped = _clip(p.start, p.end, span)
                if clipped:
                    out.append(clipped)
        return _union(out)

    def _finish(self, found: Iterable[Candidate], level: _Level, window: Window, industry: str | None):
        links, gaps = [], []
        end = window.end
        is_day = window.start == end
        escalated = level.escalated
        vacancies = level.raise_gaps and not escalated if level.vacancies is None else level.vacancies
        duty_order = self.duty_order
        explained = (self.labels, self.graph.jurisdictions, level.jurisdiction_id, industry)
        assessed, evidence = self.holder_assessment, self.link_evidence
        path = level.path
        own = path[-1] if path else None  # the enterprise itself: its posts' paths do not repeat it
        recent = self._judged_after(window)  # a holder in the post since after this day is judged again
        for post, org, selector, rules, basis, intervals, order in found:
            if len(intervals) > 1:
                intervals = _union(intervals)
            holders: list[Holder] = []
            judge = False
            if is_day:
                for t in post.tenures:
                    if t.start <= end <= t.end:  # tuple.__new__: a NamedTuple's own __new__ is Python
                        holders.append(new_tuple(Holder, (t.person_id, t.name, t.start,
                                                          None if t.end == FOREVER else t.end, t.acting, None,
                                                          assessed)))
                        if recent is not None and t.start > recent:
                            judge = True
                held = [intervals[0]] if holders else []
            else:
                held = []
                for t in post.tenures:
                    parts = [x for x in (_clip(t.start, t.end, iv) for iv in intervals) if x]
                    if parts:
                        held += parts
                        holders.append(Holder(t.person_id, t.name, t.start, None if t.end == FOREVER else t.end,
                                              t.acting, (iso(parts[0][0]), iso(parts[-1][1]))))
                judge = recent is not None
            if vacancies and (not held or not is_day):
                covered = _union(held)
                for iv in intervals:
                    for a, b in _uncovered(iv, covered):
                        gap = {"kind": "vacant_post", "post_id": post.id, "post_title": post.title,
                               "organization_id": org.id, "jurisdiction_id": org.jurisdiction_id}
                        if not is_day:
                            gap.update({"from": iso(a), "to": iso(b)})
                        gaps.append(gap)
            link = Link(
                post.id, post.title, org.id, org.jurisdiction_id, selector.duty, selector.degree, rules, basis,
                escalated, tuple(holders), path + (post.id,) if own == org.id else path + (org.id, post.id),
                explained + (selector, org, post), (escalated, order, duty_order.get(selector.duty, 99), post.id),
                evidence,
            )
            if judge:
                link.holders = self._judged(link, window)
            links.append(link)
        if len(links) > 1:
            links.sort(key=_rank)
        return links, gaps

    def _judged_after(self, window: Window) -> str | None:
        """The day after which a holder found on ``window``'s day is judged again (``_judged``): none under
        v1, whose links carry no assessment; over a window, every holder is (any day but None)."""
        return None

    def _judged(self, link: Link, window: Window) -> tuple[Holder, ...]:
        return link.holders

    def _gap(self, kind: str, level: _Level, industry: str | None, window: Window, stretch: Interval) -> dict:
        if kind == "no_principal":
            gap = {"kind": kind, "organization_id": level.enterprise.id if level.enterprise else None}
        elif kind == "no_regulator":
            # jurisdiction_id is the hazard's own jurisdiction, filled in by government()
            gap = {"kind": kind, "industry": industry, "jurisdiction_id": level.path[0],
                   "regulator_jurisdiction_id": level.jurisdiction_id}
        else:
            gap = {"kind": kind, "industry": industry, "jurisdiction_id": level.jurisdiction_id}
        if not window.is_day and (stretch[0] != day(window.start) or stretch[1] != day(window.end)):
            gap.update({"from": iso(stretch[0]), "to": iso(stretch[1])})
        return gap


def _sentence(lang: str, labels: dict, jurisdictions: dict, jid: str, industry: str | None, selector: Selector,
              org: Organization, post: Post) -> str:
    """A link's explanation in ``lang``, from its selector's template. Links keep these arguments rather
    than a closure over the engine: no cycles, so batch work may freeze what it keeps."""
    jurisdiction = jurisdictions.get(jid)
    lab = labels[lang]
    return selector.explain[lang].format(
        post=post.title,
        organization=org.name,
        jurisdiction=jurisdiction.name if jurisdiction else jid,
        industry=lab["industries"].get(industry, industry or ""),
        duty=lab["duties"][selector.duty],
        degree=lab["degrees"][selector.degree],
    )


def _uses_industry(selector: Selector) -> bool:
    """Whether a selector's result depends on the industry (portfolios, gaps or its sentence)."""
    return (selector.portfolio == "covers" or selector.gap_if_none in ("no_regulator", "no_portfolio")
            or any("{industry}" in text for text in selector.explain.values()))


_rank = attrgetter("rank")  # a link's place in its chain


def _prefixed(links: Iterable[Link], prefix: tuple[str, ...]) -> list[Link]:
    """Links whose paths start ``prefix`` further down (the walk from the hazard to where they apply)."""
    if not prefix:
        return list(links)
    return [link.with_prefix(prefix) for link in links]


def unresolved_on(hazard: dict, on: str) -> bool:
    """Whether the hazard's row says it is unresolved on ``on``: found by then, and not closed by then (v2
    reads the events too: ``conduct.state``). The stores' ``hazard_records(unresolved_on=…)`` select the same.

    >>> unresolved_on({"found_on": "2026-01-01", "closed_on": "2026-03-01"}, "2026-03-01")
    False
    """
    return hazard["found_on"] <= on and (not hazard["closed_on"] or hazard["closed_on"] > on)


def hazard_state(hazard: dict, events: list[dict], on: str, unresolved: bool | None = None) -> dict:
    """A hazard's deadline (the latest extension replaces it), escalation and overdue days on ``on``;
    ``unresolved`` as the caller reads it (v2 reads closures from the events too), else from the row."""
    deadline = hazard["deadline"]
    escalated_on = None
    for e in sorted(events, key=lambda e: e["on"]) if events else ():
        if e["on"] > on:
            break
        if e["kind"] == "deadline_extended" and e.get("deadline"):
            deadline = e["deadline"]
        elif e["kind"] == "escalated" and escalated_on is None:
            escalated_on = e["on"]
    if unresolved is None:
        unresolved = unresolved_on(hazard, on)
    overdue = day(on) - day(deadline) if unresolved and deadline and on > deadline else 0
    return {"deadline": deadline, "escalated_on": escalated_on, "unresolved": unresolved, "overdue_days": overdue}


def merge_links(groups: Iterable[Iterable[Link]], weight: dict[str, int]) -> list[Link]:
    """One link per (post, duty, escalated): rules and bases united, the heaviest degree kept."""
    merged: dict[tuple, Link] = {}
    for group in groups:
        for link in group:
            # ``link.key``, without a property call for the links of posts (all but conduct links)
            key = (link.post_id, link.duty, link.escalated) if link.act is None else link.key
            old = merged.get(key)
            if old is None:
                merged[key] = link
            elif old is not link:
                merged[key] = _merge(old, link, weight)
    return sorted(merged.values(), key=_rank)


def _merge(a: Link, b: Link, weight: dict[str, int]) -> Link:
    heavy = b if weight[b.degree] > weight[a.degree] else a
    holders: dict[tuple, Holder] = {}
    for h in a.holders + b.holders:
        k = (h.person_id, h.start)
        old = holders.get(k)
        if old and old.overlap and h.overlap:
            h = h._replace(overlap=(min(old.overlap[0], h.overlap[0]), max(old.overlap[1], h.overlap[1])))
        holders[k] = h
    changes = {}
    if a.evidence is not None or b.evidence is not None:  # v2: the records behind both, each once
        changes["evidence"] = (a.evidence or ()) + tuple(e for e in b.evidence or () if e not in (a.evidence or ()))
    return heavy.copy(
        rules=a.rules + tuple(r for r in b.rules if r not in a.rules),
        basis=a.basis + tuple(x for x in b.basis if x not in a.basis),
        holders=tuple(sorted(holders.values(), key=lambda h: (h.start, h.person_id))),
        rank=min(a.rank, b.rank),
        **changes,
    )


def _dedupe(gaps: Iterable[dict]) -> list[dict]:
    seen, out = set(), []
    for g in gaps:
        k = orjson.dumps(g, option=orjson.OPT_SORT_KEYS)
        if k not in seen:
            seen.add(k)
            out.append(g)
    return out
