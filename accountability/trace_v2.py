"""The engine for generation-2 rulesets (reference-v2): conduct as well as posts.

It extends :class:`~accountability.trace.Engine`, whose v1 paths it leaves untouched (``--rules
reference-v1`` gives v1's answers byte for byte), with DESIGN.md's "Reference rules v2":

==================  ============================================================================
rules 1, 1a, 1c, 6  the enterprise part: E's posts, its park, the enterprise that controls it
rule 1b             each of the hazard's other units, as E
rules 2–5, 2b       at R, once per industry of the hazard (``industry`` and ``also_industries``)
rule 6              every jurisdiction from J (a village: its township) up to R, R excluded
rule 7              R's parent, with the tier list of the ruleset (no provincial leaders)
rule 8              tier by tier above R up to the investigating tier (``_reach``)
rule 9              designations of the hazard, of E, of a jurisdiction from J to R
rules 10, 11        acts on a day found in the records (``accountability.conduct``)
==================  ============================================================================

Every link carries ``evidence`` and every holder an ``assessment`` (exempt, no_conditions or accountable,
Provisions Art. 23 and 25), judged per person against the records of the chain's hazards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from accountability import anchors, conduct
from accountability.records import Designation, Records
from accountability.dates import Window, day, iso, local_date
from accountability.graph import FOREVER, Graph
from accountability.trace import (EMPTY, REGULATOR_ANCHORS, Candidate, Chain, Engine, Holder, IncidentChain, Link,
                                  Part, Title, _dedupe, _Level, _prefixed, _union, joined, merge_links, new_tuple)
from graph_schema import SCHEMA, Schema
from graph_schema.loader import Ruleset

# the columns of a hazard that a v2 chain reads (batch work reads no more)
HAZARD_COLUMNS = ("id", "industry", "level", "jurisdiction_id", "organization_id", "found_on", "deadline", "closed_on",
                  "also_industries", "existed_since", "other_organization_ids")


ACCOUNTABLE = ("accountable", ())


class Template(NamedTuple):
    """What ``trace._sentence`` needs of a selector, for links that no selector makes (rules 9–12)."""

    duty: str
    degree: str
    explain: dict


class Side(NamedTuple):
    """A hazard's government side (``EngineV2._side``)."""

    governments: list[Part]  # per industry
    designated: Part  # rule 9
    merged: Part  # both, as one part
    government_gaps: list[dict]
    gaps: list[dict]  # the governments', then the designations'


@dataclass(frozen=True)
class Context:
    """An incident seen from its hazards: the tier that investigates it (a jurisdiction level, or
    ``state_council``) and the day it happened."""

    investigating_level: str
    on: str


def industries(row: dict) -> tuple[str, ...]:
    """A hazard's or an incident's industries: ``industry`` first, then ``also_industries``, each once."""
    out = [row["industry"]]
    for i in row.get("also_industries") or ():
        if i not in out:
            out.append(i)
    return tuple(out)


def _midsentence(label: str) -> str:
    """An English label as a sentence uses it inside: its first letter in lower case, unless the word is an
    acronym ("LPG stations").

    >>> _midsentence("Direct responsibility"), _midsentence("LPG stations")
    ('direct responsibility', 'LPG stations')
    """
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def escalation_reason(escalation, hazard: dict, state: dict) -> dict:
    """Why the hazard escalation rule (R7) reaches the level above: ``major``, ``overdue_days`` (0 unless past
    the rule's limit) and ``escalated_on``, the first escalation (挂牌督办) on record, or None — a general
    hazard long overdue reaches the level above without any.

    >>> class R7: when_overdue_days_over = 90
    >>> escalation_reason(R7, {"level": "general"}, {"overdue_days": 120, "escalated_on": None})
    {'major': False, 'overdue_days': 120, 'escalated_on': None}
    """
    limit = escalation.when_overdue_days_over if escalation is not None else None
    overdue = state["overdue_days"] if limit is not None and state["overdue_days"] > limit else 0
    return {"major": hazard["level"] == "major", "overdue_days": overdue, "escalated_on": state["escalated_on"]}


class EngineV2(Engine):
    """The engine of generation-2 rulesets: :class:`~accountability.trace.Engine`'s machinery, with the rules of
    DESIGN.md's "Reference rules v2" (the module's table) and the records of conduct (``records``).

    =============================  ==========================================================================
    ``chain``                      one hazard: every part below joined, its gaps (``overdue``,
                                   ``unescalated_major``), ``escalation`` when rule 7 reaches above R
    ``enterprise``, ``_other``     rules 1, 1a, 1c and the park of rule 6 at E; rule 1b at each other unit
    ``_side``                      the government side: every industry's part and J's designations, merged;
                                   shared by the hazards of J (``_named_unit``: a unit's designations, apart)
    ``_governments``, ``_gov``     per industry of the hazard: R's part seen from J, and rule 6 at every
                                   level from J to R (``_below``); cached per (J, industries, unit, tier); a
                                   village's is its township's seen from the village, an escalating
                                   hazard's the plain part and R's escalated links
    ``_core_v2``, ``_portfolio``   rules 2–5 and 2b at R (2b: a portfolio ``in_charge`` of the industry or
                                   naming the unit, ``_unit_key``), and the tiers above R
    ``_tiers``, ``_tier_plan``     the tier lists of rule 7 (R's parent) and rule 8 (up to the investigating
                                   tier), less what an escalation spares at a level
    ``_designated``                rule 9: designations of the hazard, of E, of a jurisdiction from J to R
    ``_acts``, ``_act``            rules 10 (an inspection that missed the hazard or left a major one
                                   unhandled) and 11 (a closure signed off, later reopened): acts on a day
    ``_reporting``                 rule 12: late or missed reports of an accident, by the sender's head and
                                   the duty officer on duty
    ``_assess``, ``_holders``      each holder's assessment (Provisions Art. 23, 25): ``exempt`` with the
                                   records of a duty done, ``no_conditions`` (``_brief``: under ``min_days``),
                                   else ``accountable``
    ``incident_chain``             an incident: rule 8's tiers by its investigating level, the chains of its
                                   hazards, gap ``unregistered_hazard``, rule 12
    =============================  ==========================================================================

    Batch work shares what depends on less than the hazard: parts as in v1, designations per unit and per J,
    the act of an inspection that missed several hazards of its unit, a link judged on the records of an
    inspection that listed several; records are read once (``load_all``).
    """

    holder_assessment = ACCOUNTABLE  # a holder found on a day, until records say otherwise (``_assess``)
    link_evidence = ()  # a link of a post, until records are cited (rules 9–12)

    def __init__(self, graph: Graph, ruleset: Ruleset, schema: Schema = SCHEMA, records: Records | None = None):
        super().__init__(graph, ruleset, schema)
        self.records = records or Records(graph.store)
        first = len(self.rule_order)
        for i, c in enumerate(self.ruleset.conduct):
            self.rule_order[c.id] = first + i
        everything = [r.id for r in self.ruleset.rules]
        for context in ("enterprise", "other", "below", "regulator", "township"):
            self._plans[(context, None)] = self._plan(everything, None, anchors.in_context(context))
        self._conduct = {c.kind: c for c in self.ruleset.conduct}
        if "industries" in graph.store.schema.tables:  # the dataset's own industries, named in the sentences
            for row in graph.store.rows("industries"):  # (reference-v1 keeps its answers: their codes)
                for lang in ("zh", "en"):
                    self.labels[lang]["industries"].setdefault(row["code"], row[f"name_{lang}"])
        # English sentences name an industry, a duty and a degree mid-sentence: in lower case ("bears direct
        # responsibility under enterprise main responsibility"), an acronym as it is (v1 keeps its capitals)
        for words in self.labels["en"].values():
            words.update({code: _midsentence(label) for code, label in words.items()})
        # per rule, the roles of its selectors that apply at a jurisdiction (rules 7 and 8 reach no more above
        # R: ``reach``)
        self._regulator_selectors = {r.id: len({sel.role for sel in r.selectors
                                                if any(a in REGULATOR_ANCHORS for a in sel.organizations)})
                                     for r in self.ruleset.rules}
        self._missed, self._closure = self._conduct.get("missed_inspection"), self._conduct.get("false_closure")
        self._tier_plans: dict[tuple, list] = {}
        self._parts: dict[tuple, Part] = {}
        self._assessed: dict[tuple, Link] = {}  # links judged on records (``_assess``)
        self._cited: dict[tuple, dict] = {}  # records as evidence (``_evidence``)
        self._templates: dict[tuple, Template] = {}  # of designations and acts, by rule, kind and day
        self._named: set[str] | None = None  # organizations that some portfolio names (batch work)
        self._roster = None  # duty shifts (rule 12), read on first use
        self._status_labels = {lang: {c: t.label(lang) for c, t in schema.vocab("designation_kinds").items()}
                               for lang in ("zh", "en")}

    # -- public -----------------------------------------------------------------------------------------

    def chain(self, hazard: dict, events: list[dict] | None, window: Window, context: Context | None = None,
              state: dict | None = None) -> Chain:
        """The chain of one hazard over ``window``; ``events`` are read from the records (the kinds a rule
        reads), and ``state`` is the hazard's on the window's end (``conduct.state``) when the caller has it."""
        records = self.records
        if not records.complete and self.graph.complete:
            records.load_all()  # batch work (the whole graph is loaded): every record at once, too
        hid = hazard["id"]
        events = records.events(hid)
        on = context.on if context else window.end
        if state is None:
            state = conduct.state(hazard, events, window.end)
        jid, unit = hazard["jurisdiction_id"], hazard["organization_id"]
        escalation = self._hazard_escalation
        escalates = bool(escalation and self._escalates(escalation, hazard, state))
        also = hazard.get("also_industries")
        kinds = industries(hazard) if also else (hazard["industry"],)
        if records.designations(hid):  # the hazard's own designations: a side of its own, the unit's in it
            side, named = self._side(hid, jid, kinds, window, unit, escalates, context), EMPTY
        else:  # J's side, shared by every unit in J; the unit's designations apart, shared by its hazards
            side = self._side(None, jid, kinds, window, unit, escalates, context)
            named = self._named_unit(unit, window) if unit and records.designations(unit) else EMPTY
        others = hazard.get("other_organization_ids") or ()
        ent = self.enterprise(unit, window) if unit else EMPTY
        if others:
            units = [unit, *others] if unit else list(others)
            other_parts = [self._other(other, window) for other in others]
            gaps = [*ent.gaps, *side.government_gaps, *(g for p in other_parts for g in p.gaps), *named.gaps,
                    *side.designated.gaps]
            inspected = any([records.inspections(u) for u in units])
        else:
            units, other_parts = [unit] if unit else [], ()
            gaps = [*ent.gaps, *side.gaps] if named is EMPTY else \
                [*ent.gaps, *side.government_gaps, *named.gaps, *side.designated.gaps]
            inspected = unit is not None and bool(records.inspections(unit))
        acts = self._acts(hazard, events, units, on) if inspected or events else ()
        if state["unresolved"]:
            if state["overdue_days"] > 0:
                gaps.append({"kind": "overdue", "hazard_id": hid, "deadline": state["deadline"],
                             "days": state["overdue_days"]})
            if hazard["level"] == "major" and not state["escalated_on"]:
                gaps.append({"kind": "unescalated_major", "hazard_id": hid})
        done = conduct.duty_records(hazard, events, units, records, on) if inspected or events else None
        # why the level above answers, said with the chain: a link marked escalated says only that R7 reached it
        why = escalation_reason(escalation, hazard, state) if escalates else None
        if not others and not acts and ent.posts.isdisjoint(side.designated.posts):
            # the common case — one unit, no act: the government side (every industry, the designations) and
            # the enterprise side join as in v1; when no record of a duty done touches their posts, their
            # output is rendered once for every chain that shares them
            if named is EMPTY:
                links, parts = side.merged.join(ent, self.weight)
            elif named.posts.isdisjoint(ent.posts) and named.posts.isdisjoint(side.merged.posts):
                links, parts = joined(side.merged, named, ent)
            else:
                links = None
            if links is not None:
                assessed = self._assess(links, done, window, False)
                return Chain(hid, window, assessed, gaps if len(gaps) < 2 else _dedupe(gaps),
                             parts if assessed is links else (), why)
        # the general case: every group merged, in the order of the designations' rule (the unit's, then J's)
        groups = [part.links for part in side.governments] + [ent.links] + [part.links for part in other_parts]
        links = merge_links(groups + [named.links, side.designated.links, acts], self.weight)
        return Chain(hid, window, self._assess(links, done, window), _dedupe(gaps), escalation=why)

    def incident_chain(self, incident: dict, hazards: list[tuple[dict, list[dict]]]) -> IncidentChain:
        level, decided_by = self.accident_level(incident)
        tier = incident.get("investigating_level") or \
            self.schema.vocab("accident_levels")[level].extra.get("investigated_by") or "state_council"
        jid, unit, end = incident["jurisdiction_id"], incident.get("organization_id"), incident["occurred_on"]
        investigated_by = None
        if tier != "state_council":
            seat = next((j for j in self.graph.ancestors_or_self(jid) if j.level == tier), None)
            if seat:
                gov = self.graph.organizations(seat.id, "government")
                investigated_by = {"jurisdiction_id": seat.id, "organization_id": gov[0].id if gov else None}
        began = [conduct.began(h) for h, _ in hazards if conduct.began(h) <= end]
        window = Window(min(began) if began else iso(day(end) - 365), end)
        context = Context(tier, end)
        groups: list[Iterable[Link]] = []
        gaps: list[dict] = []
        regulators = []
        for industry in industries(incident):  # the incident's own (industries, J, E): rule 7 never applies
            part = self._gov(jid, industry, window, unit, False, context)
            groups.append(part.links)
            gaps += part.gaps
            regulators.append(self.regulator(jid, industry)[0])
        if unit:
            ent = self.enterprise(unit, window)
            groups.append(ent.links)
            gaps = list(ent.gaps) + gaps
        designated = self._designated(None, unit, jid, regulators, window)
        groups.append(designated.links)
        gaps += designated.gaps
        chains = [self.chain(h, None, window, context) for h, _ in hazards]
        records: dict[str, list[dict]] = {}
        for h, _ in hazards:
            if h["found_on"] >= end:
                gaps.append({"kind": "unregistered_hazard", "hazard_id": h["id"], "found_on": h["found_on"]})
            units = [h["organization_id"]] if h["organization_id"] else []
            units += list(h.get("other_organization_ids") or ())
            for post, found in conduct.duty_records(h, self.records.events(h["id"]), units, self.records,
                                                    end).items():
                records.setdefault(post, []).extend(found)
        reporting, late = self._reporting(incident, level)
        links = merge_links(groups + [c.links for c in chains] + [late], self.weight)
        gaps = _dedupe(gaps + [g for c in chains for g in c.gaps])
        chain = IncidentChain(incident, level, decided_by, investigated_by, window,
                              self._assess(links, records, window), gaps, chains)
        chain.reporting = reporting
        if self.ruleset.escalation("incident") is not None:  # the incident's place and industries, its hazards'
            places = dict.fromkeys([(jid, i) for i in industries(incident)] +
                                   [(h["jurisdiction_id"], i) for h, _ in hazards for i in industries(h)])
            chain.reach = [(i, *self.reach(j, i, context)) for j, i in places]
        if self._hazard_escalation is not None:  # rule 7 for the linked hazards that escalate, by place
            escalated: dict[tuple, list[str]] = {}
            for (h, _), c in zip(hazards, chains):
                if c.escalation is not None:
                    for i in industries(h):
                        escalated.setdefault((h["jurisdiction_id"], i), []).append(h["id"])
            chain.escalated_reach = [(ids, i, *self.reach(j, i, context, escalates=True))
                                     for (j, i), ids in escalated.items()]
        return chain

    # -- the government side ------------------------------------------------------------------------------

    def _governments(self, jid: str, industries: tuple[str, ...], window: Window, unit: str | None, escalates: bool,
                     context: Context | None) -> tuple[list[Part], list[str]]:
        """The government parts of a hazard, one per industry (``_gov``), and the regulator of each."""
        key = ("governments", jid, industries, window, self._unit_key(unit), escalates,
               context.investigating_level if context else None)
        found = self._parts.get(key)
        if found is None:
            found = self._parts[key] = ([self._gov(jid, i, window, unit, escalates, context) for i in industries],
                                        [self.regulator(jid, i)[0] for i in industries])
        return found

    def _side(self, hazard_id: str | None, jid: str, industries: tuple[str, ...], window: Window,
              unit: str | None, escalates: bool, context: Context | None) -> "Side":
        """A hazard's government side: its government parts (``_governments``), the designations (rule 9)
        and both merged as one part (in that order: a post that E's part also reaches merges with E's
        afterwards, as in ``chain``'s general case). ``hazard_id``: the hazard has designations of its own,
        and the side holds the unit's too; without, the side holds J's designations only (the unit's are
        ``_named_unit``), is the same for every hazard in J whose unit no portfolio names, and is kept."""
        key = ("side", jid, industries, window, self._unit_key(unit), escalates,
               context.investigating_level if context else None)
        side = None if hazard_id else self._parts.get(key)
        if side is None:
            governments, regulators = self._governments(jid, industries, window, unit, escalates, context)
            designated = self._designated(hazard_id, unit if hazard_id else None, jid, regulators, window)
            if len(governments) == 1 and not designated.links:
                merged = governments[0]
            elif len(governments) == 1 and governments[0].posts.isdisjoint(designated.posts):
                merged = Part(tuple(governments[0].join(designated, self.weight)[0]))  # merge_links', cheaper
            else:
                merged = Part(tuple(merge_links([p.links for p in governments] + [designated.links], self.weight)))
            government_gaps = [g for part in governments for g in part.gaps]
            side = Side(governments, designated, merged, government_gaps, government_gaps + list(designated.gaps))
            if not hazard_id:
                self._parts[key] = side
        return side

    def _named_unit(self, unit: str, window: Window) -> Part:
        """Rule 9 for the designations that name the unit (a grid inspector's, say): one part for every
        hazard of the unit without designations of its own, whatever its jurisdiction."""
        key = ("named", unit, window)
        part = self._parts.get(key)
        if part is None:
            rule = self._conduct.get("designation")
            part = self._parts[key] = self._designations_of(rule, [unit], window) if rule else EMPTY
        return part

    def _gov(self, jid: str, industry: str, window: Window, unit: str | None, escalates: bool,
             context: Context | None) -> Part:
        """Rules 2–6 and 2b for one industry, rule 7 when the hazard escalates, rule 8 in an incident: R's
        part (shared by every jurisdiction R regulates) seen from ``jid``, and the levels between. Below a
        township (a village) without a regulator of its own, that is its parent's part seen from one step
        further down: rule 6 skips the village, and R and the township are its parent's."""
        unit = self._unit_key(unit)
        tier = context.investigating_level if context else None
        key = ("government", jid, industry, window, unit, escalates, tier)
        part = self._parts.get(key)
        if part is not None:
            return part
        place = self.graph.jurisdiction(jid)
        parent = self.graph.jurisdictions.get(place.parent_id) if place.parent_id else None
        if place.rank > self.township_rank and parent is not None and parent.rank < place.rank and \
                not self.graph.departments(jid, industry):
            above = self._gov(parent.id, industry, window, unit, escalates, context)
            if not any(g["kind"] == "no_regulator" for g in above.gaps):  # else the gap names J itself
                part = self._parts[key] = Part(tuple(_prefixed(above.links, (jid,))), above.gaps)
                return part
        regulator, walk, departments = self.regulator(jid, industry)
        core = self._core_v2(regulator, industry, departments, window, unit, escalates, context)
        # rule 7 adds escalated links only: they merge with no other and rank after every other, so the part of
        # an escalating hazard is the plain part followed by R's escalated links seen from J
        plain = self._gov(jid, industry, window, unit, False, None) if escalates and context is None else None
        links = _prefixed(core.links if plain is None else [link for link in core.links if link.escalated],
                          walk[:-1])
        gaps = [dict(g, jurisdiction_id=jid) if g["kind"] == "no_regulator" else g for g in core.gaps]
        for i, below in enumerate(walk[:-1]):  # rule 6: every level from J (a village: its township) to R
            if self.graph.jurisdiction(below).rank > self.township_rank:
                continue
            p = self._below(below, industry, window)
            if plain is None:
                links = merge_links([links, _prefixed(p.links, walk[:i])], self.weight)
            gaps += p.gaps
        township = self._township(jid, regulator)
        if township and self._plans[("township", None)]:
            p = self._evaluate(self._plans[("township", None)], _Level(township, (township,)), industry, window)
            if plain is None:
                links = merge_links([links, _prefixed(p.links, walk[: walk.index(township)])], self.weight)
            gaps += p.gaps
        if plain is not None:
            links = [*plain.links, *links]
        part = self._parts[key] = Part(tuple(links), tuple(_dedupe(gaps)))
        return part

    def _core_v2(self, regulator: str, industry: str, departments: tuple, window: Window, unit: str | None,
                 escalates: bool, context: Context | None) -> Part:
        """Rules at R and the tiers above it, with paths starting at R."""
        key = ("core", regulator, industry, window, unit, escalates, context.investigating_level if context else None)
        part = self._parts.get(key)
        if part is not None:
            return part
        levels = [_Level(regulator, (regulator,), departments=departments, unit=unit)]
        plans = [self._plans[("regulator", None)]]
        for tier_jid, refs, via, _ in self._tiers(regulator, escalates, context):
            levels.append(_Level(tier_jid, self._path_up(regulator, tier_jid), escalated=True, raise_gaps=False,
                                 vacancies=True, departments=tuple(self.graph.departments(tier_jid, industry)),
                                 unit=unit))
            plans.append(self._tier_plan(refs, via, self.graph.jurisdiction(tier_jid).level))
        groups, gaps = [], []
        for plan, level in zip(plans, levels):
            p = self._evaluate(plan, level, industry, window)
            groups.append(p.links)
            gaps += p.gaps
        part = self._parts[key] = Part(tuple(merge_links(groups, self.weight)), tuple(_dedupe(gaps)))
        return part

    def _unit_key(self, unit: str | None) -> str | None:
        """The hazard's unit where a portfolio may name it (rule 2b), else None: parts stay shared by every
        unit that no portfolio names."""
        if not self.graph.complete or unit is None:
            return unit
        if self._named is None:
            self._named = {p.organization_id for ps in self.graph.portfolios_of.values() for p in ps
                           if p.organization_id}
        return unit if unit in self._named else None

    def _below(self, jid: str, industry: str, window: Window) -> Part:
        key = ("below", jid, industry, window)
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = self._evaluate(self._plans[("below", None)], _Level(jid, (jid,)), industry,
                                                     window)
        return part

    def _other(self, oid: str, window: Window) -> Part:
        """Rule 1b: rule 1 applied to another answerable unit as to E."""
        key = ("other", oid, window)
        part = self._parts.get(key)
        if part is None:
            org = self.graph.org(oid)
            part = EMPTY if org is None else self._evaluate(
                self._plans[("other", None)], _Level(org.jurisdiction_id, (org.id,), enterprise=org), None, window)
            self._parts[key] = part
        return part

    def _path_up(self, regulator: str, to: str) -> tuple[str, ...]:
        path = []
        for j in self.graph.ancestors_or_self(regulator):
            path.append(j.id)
            if j.id == to:
                break
        return tuple(path)

    def _tiers(self, regulator: str, escalates: bool, context: Context | None) -> list[tuple[str, tuple, str, str]]:
        """Where rules 7 and 8 reach above R: (jurisdiction, rule references, rule, the tier's name in the
        ruleset) per tier, lowest first.

        T is R when R is county level or higher, else the nearest such jurisdiction above it. Rule 8 (in an
        incident) applies its first-tier list from above R up to T, its second-tier list at T's parent,
        its higher-tier list further up, and its investigating-tier list at the investigating tier when that
        lies strictly above T; it stops there (at the province for the State Council). Rule 7 applies its
        parent list at R's parent — cut to the investigating tier's list when that is where it lands."""
        g = self.graph
        above = list(g.ancestors_or_self(regulator))[1:]
        chain_ids = [regulator] + [j.id for j in above]
        ranks = [g.jurisdiction(j).rank for j in chain_ids]
        t_index = next((i for i, r in enumerate(ranks) if r <= self.county_rank), len(chain_ids) - 1)
        out: list[tuple[str, tuple, str, str]] = []
        reach = self.ruleset.escalation("incident")
        inv_index = None
        if context is not None and reach is not None:
            tier = context.investigating_level
            if tier == "state_council":
                stop = next((i for i, j in enumerate(chain_ids) if g.jurisdiction(j).level == "province"),
                            len(chain_ids) - 1)
            else:
                stop = next((i for i, j in enumerate(chain_ids) if g.jurisdiction(j).level == tier), 0)
                inv_index = stop
            for i in range(1, len(chain_ids)):
                if i <= t_index:
                    name = "first_tier"
                elif i > stop:
                    break
                elif i == inv_index:
                    name = "investigating_tier"
                elif i == t_index + 1:
                    name = "second_tier"
                else:
                    name = "higher_tiers"
                if name in reach.tiers:
                    out.append((chain_ids[i], reach.tiers[name], reach.id, name))
        escalation = self._hazard_escalation
        if escalates and escalation is not None and len(chain_ids) > 1:
            refs, name = escalation.tiers.get("parent", ()), "parent"
            if inv_index == 1 and t_index < 1 and reach is not None:
                refs, name = reach.tiers.get("investigating_tier", ()), "investigating_tier"
            out.append((chain_ids[1], refs, escalation.id, name))
        return out

    def reach(self, jid: str, industry: str, context: Context,
              escalates: bool = False) -> tuple[str, bool, list[tuple[str, str, list]]]:
        """How far rule 8 (``escalates``: rule 7, for a linked hazard that is major or long overdue) reaches
        for a place ``jid`` and ``industry`` of an incident (what a report says in words): R, whether a
        department there regulates the industry (else gap ``no_regulator``), and each tier above R, lowest
        first — the jurisdiction, the tier's name in the ruleset and the rules applied there, read from the
        plan the engine evaluates (``_tier_plan``: what the ruleset spares at the tier's level left out, so
        a tier may apply none), each rule with the roles it is limited to (none: every role of the rule
        that applies at a jurisdiction)."""
        regulator, _, departments = self.regulator(jid, industry)
        rule = self._hazard_escalation if escalates else self.ruleset.escalation("incident")
        out = []
        for tier_jid, refs, via, name in self._tiers(regulator, escalates, context):
            if via != rule.id:
                continue
            roles: dict[str, dict[str, None]] = {}
            for selector, _, rules, *_ in self._tier_plan(refs, via, self.graph.jurisdiction(tier_jid).level):
                roles.setdefault(rules[0], {})[selector.role] = None
            out.append((tier_jid, name, [(rid, () if len(found) == self._regulator_selectors[rid] else tuple(found))
                                         for rid, found in roles.items()]))
        return regulator, bool(departments), out

    def _tier_plan(self, refs: tuple[str, ...], via: str, level: str) -> list:
        """The plan of the rules ``refs`` names (``R5:government_head``: only that role's selectors), less
        what the escalation spares at ``level``."""
        key = (refs, via, level)
        plan = self._tier_plans.get(key)
        if plan is None:
            escalation = self.ruleset.escalation_by_id(via)
            spared = set(escalation.spare.get(level, ()))
            wanted = set(refs)
            plan = []
            for rule in self.ruleset.rules:
                for selector in rule.selectors:
                    ref = f"{rule.id}:{selector.role}"
                    if not (rule.id in wanted or ref in wanted) or rule.id in spared or ref in spared:
                        continue
                    own = tuple(a for a in selector.organizations if a in REGULATOR_ANCHORS)
                    if own:
                        rules = (rule.id, via)
                        basis = tuple(selector.basis) + tuple(b for b in escalation.basis if b not in selector.basis)
                        plan.append((selector, own, rules, basis, min(self.rule_order[r] for r in rules)))
            self._tier_plans[key] = plan
        return plan

    # -- portfolios of v2 ---------------------------------------------------------------------

    def _portfolio(self, post, selector, level, industry, span):
        if selector.portfolio != "in_charge":
            return super()._portfolio(post, selector, level, industry, span)
        out = []
        for p in self.graph.portfolios_of.get(post.id, ()):
            if p.industry == "*" or (p.industry is not None and p.industry == industry) or \
                    (level.unit is not None and p.organization_id == level.unit):
                a, b = max(day(p.start), span[0]), min(day(p.end), span[1])
                if a <= b:
                    out.append((a, b))
        return _union(out)

    def _judged_after(self, window: Window) -> str | None:
        """Links are made with (empty) evidence and their holders assessed without records — what most links
        keep: only a post with records of a duty done for the chain's hazards is judged again (``_assess``),
        and a holder in the post for fewer than ``min_days`` on the day (after the day returned), or any
        holder over a window, is judged when the link is made (``_judged``)."""
        return iso(day(window.end) - self.ruleset.min_days) if window.is_day else window.start

    def _judged(self, link: Link, window: Window) -> tuple[Holder, ...]:
        return self._holders(link, (), (), window)

    # -- rule 9: designations -----------------------------------------------------------------------------

    def _designated(self, hazard_id: str | None, unit: str | None, jid: str, regulators: list[str],
                    window: Window) -> Part:
        rule = self._conduct.get("designation")
        if rule is None:
            return EMPTY
        if not self.records.any_designations():
            return EMPTY
        own = self.records.designations(hazard_id) if hazard_id else ()
        if unit and not self.records.designations(unit):
            unit = None  # a unit that no designation names: the part is J's, shared by every such unit
        key = ("designated", unit, jid, tuple(regulators), window)
        part = None if own else self._parts.get(key)
        if part is not None:
            return part  # no designation of the hazard's own: the same for every hazard of the unit in J
        places = self._parts.get(("places",) + key[2:4])
        if places is None:  # the jurisdictions from J up to each R that some designation names
            places = []
            for regulator in regulators:
                for j in self.graph.ancestors_or_self(jid):
                    if j.id not in places and self.records.designations(j.id):
                        places.append(j.id)
                    if j.id == regulator:
                        break
            self._parts[("places",) + key[2:4]] = places
        targets = [t for t in (hazard_id if own else None, unit) if t and t not in places] + places
        part = self._designations_of(rule, targets, window)
        if not own:
            self._parts[key] = part
        return part

    def _designations_of(self, rule, targets: list[str], window: Window) -> Part:
        groups, gaps = [], []
        for target in targets:
            for d in self.records.designations(target):
                links, vacant = self._designation(rule, d, window)
                groups.append(links)
                gaps += vacant
        if not groups:
            return EMPTY
        if len(groups) == 1:  # one designation (most targets): its links are one per post, in chain order
            return Part(tuple(groups[0]), tuple(_dedupe(gaps)) if len(gaps) > 1 else tuple(gaps))
        return Part(tuple(merge_links(groups, self.weight)), tuple(_dedupe(gaps)))

    def _designation(self, rule, d: Designation, window: Window) -> tuple[list[Link], list[dict]]:
        """The link of one designation over ``window`` (none outside its period) and its vacancies; the same
        for every hazard the designation's target covers."""
        key = ("designation", d.post_id, d.kind, d.target_id, d.start, window)
        found = self._parts.get(key)
        if found is not None:
            return found
        variant = rule.variants.get(d.kind)
        post = self.graph.post(d.post_id)
        span = (day(window.start), day(window.end))
        a, b = max(day(d.start), span[0]), min(day(d.end or FOREVER), span[1])
        if variant is None or post is None or a > b:
            found = ([], [])
        else:
            org = self.graph.org(post.organization_id)
            template = self._templates.get((rule.id, d.kind, d.start))
            if template is None:  # the same for every designation of the kind from that day
                labels = {lang: self._status_labels[lang][d.kind] for lang in ("zh", "en")}
                template = self._templates[(rule.id, d.kind, d.start)] = Template(
                    variant["duty"], variant["degree"], _fill(rule.explain, d.start, labels))
            level = _Level(org.jurisdiction_id, (d.target_id,), vacancies=True)
            candidate = Candidate(post, org, template, (rule.id,), tuple(rule.basis), [(a, b)],
                                  self.rule_order[rule.id])
            links, vacant = self._finish([candidate], level, window, None)
            evidence = ({"kind": "designation", "post_id": post.id, "designation": d.kind,
                         "target_id": d.target_id, "date": d.start},)
            for link in links:
                link.evidence = evidence
            found = (links, vacant)
        self._parts[key] = found
        return found

    # -- rules 10 and 11: acts on a day -------------------------------------------------------------------

    def _acts(self, hazard: dict, events: list[dict], units: list[str], on: str) -> list[Link]:
        acts: list[Link] = []
        missed = self._missed
        if missed is not None and units:
            for r, how in conduct.missed_inspections(hazard, events, units, self.records, on):
                key = ("act", missed.id, r.id, how)  # the same for every hazard of the unit the inspection missed
                found = self._parts.get(key)
                if found is None:
                    found = self._parts[key] = self._act(missed, r.post_id, r.on, MISSED[how],
                                                         (conduct.inspection_evidence(r),), r.organization_id)
                acts += found
        closure = self._closure
        if closure is not None and events:
            for signed, after in conduct.false_closures(events, on):
                record = RELAPSED if after.kind == "reinspected" else REOPENED
                acts += self._act(closure, signed.post_id, signed.on, record,
                                  (conduct.event_evidence(signed), conduct.event_evidence(after)),
                                  hazard["organization_id"] or hazard["jurisdiction_id"])
        return acts

    def _act(self, rule, post_id: str, on: str, record: dict, evidence: tuple, start: str,
             variant: str | None = None, moment: str | None = None) -> list[Link]:
        """A conduct link of ``post_id`` for an act on the day ``on`` (rule 12: ``on`` is the local due time,
        ``moment`` the due time keying the link, ``variant`` the sender's head or duty officer)."""
        post = self.graph.post(post_id)
        if post is None:
            return []
        org = self.graph.org(post.organization_id)
        duty = conduct.duty_of(org.kind, org.supervision) if rule.duty == "by_organization" else rule.duty
        degree = rule.variants[variant]["degree"] if variant else rule.degree
        key = (rule.id, variant, duty, degree, on, record["zh"], record["en"])
        template = self._templates.get(key)
        if template is None:  # the same for every act of the rule on that day with that record
            explain = rule.variants[variant].get("explain", rule.explain) if variant else rule.explain
            template = self._templates[key] = Template(duty, degree, _fill(explain, on, record))
        level = _Level(org.jurisdiction_id, (start,), vacancies=False)
        d = on[:10]
        found = [Candidate(post, org, template, (rule.id,), tuple(rule.basis), [(day(d), day(d))],
                           self.rule_order[rule.id])]
        links, _ = self._finish(found, level, Window.on(d), None)
        for link in links:
            link.evidence, link.act = evidence, (rule.id, moment or on)
            link.holders = _with_assessment(link.holders, ACCOUNTABLE)
        return links

    # -- rule 12: late and missed reports -----------------------------------------------------------------

    def _reporting(self, incident: dict, level: str) -> tuple[dict | None, list[Link]]:
        """The incident's ``reporting`` ({steps, on_duty}; None without ``occurred_at``) and its rule-12
        links: for each late or missed step, the sender's head and, for a department, the duty officer on
        duty in its jurisdiction when the report fell due."""
        if not incident.get("occurred_at"):
            return None, []
        from accountability import duty, reporting

        if self._roster is None:
            self._roster = duty.Roster(self.graph.store)
        reports = list(self.graph.store.rows("incident_reports", incident_id=incident["id"])) \
            if "incident_reports" in self.graph.store.schema.tables else []
        steps = reporting.assess(self.graph, incident, level, reports)
        rule = self._conduct.get("late_report")
        links: list[Link] = []
        on_duty: list[dict] = []
        for step in steps:
            if step.status not in reporting.LATE:
                continue
            due = step.as_dict()["due"]
            for row in duty.on_duty_at(self._roster, self.graph, step.sender.jurisdiction_id, due):
                if row not in on_duty:
                    on_duty.append(row)
            if rule is not None:
                links += self._late_report(rule, step, incident["id"])
        return {"steps": [s.as_dict() for s in steps], "on_duty": on_duty}, links

    def _late_report(self, rule, step, incident_id: str) -> list[Link]:
        from accountability import duty, reporting

        record = step.as_dict()
        due = record["due"]
        evidence = ({"kind": "report", "incident_id": incident_id, "from": record["from"], "to": record["to"],
                     "due": due, "at": record["at"]},)
        to = self.graph.org(record["to"])
        what = {"zh": f"{'迟报' if record['at'] else '漏报'}（报{to.name if to else record['to']}）",
                "en": (f"reported {record['late_minutes']} minutes late" if record["at"] else "never reported")
                + f" (to {to.name if to else record['to']})"}
        when = due[:16].replace("T", " ")
        links = []
        role = reporting.head_role(step.sender)
        for post in self.graph.posts_in(step.sender.id, role) if role else ():
            links += self._act(rule, post.id, when, what, evidence, step.sender.id, "head", due)
        if step.sender.kind == "department":
            # the duty officer's sentence names the sender, whose report it was (not the officer's own unit)
            sent = {"zh": step.sender.name + what["zh"], "en": f"{step.sender.name} {what['en']}"}
            for shift in self._roster.at(step.sender.jurisdiction_id, "duty_officer", step.due):
                if shift["post_id"]:
                    links += self._act(rule, shift["post_id"], when, sent, evidence, step.sender.id,
                                       "duty_officer", due)
                else:
                    links.append(self._officer(rule, shift, when, sent, evidence, due, duty.holder(self.graph, shift)))
        return links

    def _officer(self, rule, shift: dict, when: str, record: dict, evidence: tuple, due: str,
                 held: tuple[str | None, str | None]) -> Link:
        """The rule-12 link of a duty officer named without a post: post_id null, the person its one holder,
        keyed by (person, R12, due time)."""
        variant = rule.variants["duty_officer"]
        jid = shift["jurisdiction_id"]
        place = self.graph.jurisdiction(jid)
        labels = {"zh": "值班员", "en": "duty officer"}
        name = place.name.replace("{", "{{").replace("}", "}}")
        explain = {lang: _fill({lang: text.replace("{post}", labels[lang]).replace("{organization}", name)},
                               when, record)[lang] for lang, text in variant.get("explain", rule.explain).items()}
        template = Template(variant["duty"], variant["degree"], explain)
        org = _Place(jid, place.name)
        post = _Place(None, labels["zh"])
        person, name = held
        start, end = local_date(shift["start"]), local_date(shift["end"])
        holders = (Holder(person, name, start, end, False, None, ("accountable", ())),) if person else ()
        rank = (False, self.rule_order[rule.id], self.duty_order.get(variant["duty"], 99), "")
        title = Title({lang: SCHEMA.label("duty_roles", "duty_officer", lang) for lang in labels})
        return Link(None, title, None, jid, variant["duty"], variant["degree"], (rule.id,), tuple(rule.basis),
                    False, holders, (jid,), (self.labels, self.graph.jurisdictions, jid, None, template, org, post),
                    rank, evidence, (rule.id, due))

    # -- assessment ---------------------------------------------------------------------------------------

    def _assess(self, links: list[Link], records: dict[str, list[tuple]], window: Window,
                with_acts: bool = True) -> list[Link]:
        """Each holder's assessment (Provisions Art. 23, 25), one per person per link: exempt when the post
        recorded the duty done for the hazard during the person's tenure and no act of the post in that
        tenure stands against it; else no_conditions when the person held the post too briefly; else
        accountable. A link judged on the same records before (another hazard of an inspection that listed
        several) is that link again. ``with_acts``: whether ``links`` may hold acts (rules 10–12)."""
        if not records:
            return links  # assessed when made (``_finish``): no records, nothing to judge again
        acts: dict[str, list[str]] = {}
        if with_acts:
            for link in links:
                if link.act is not None:
                    acts.setdefault(link.post_id, []).append(link.act[1])
        judge = [i for i, link in enumerate(links) if link.post_id in records and link.act is None]
        if not judge:
            return links
        out = list(links)  # a copy: ``links`` may be a part's
        assessed = self._assessed
        for i in judge:
            link = links[i]
            found, against = tuple(records[link.post_id]), tuple(acts.get(link.post_id, ()))
            key = (link, found, against, window)
            judged = assessed.get(key)
            if judged is None:
                judged = assessed[key] = link.copy(holders=self._holders(link, found, against, window))
            out[i] = judged
        return out

    def _holders(self, link: Link, records: Iterable[tuple], acts: Iterable[str], window: Window) -> tuple[Holder, ...]:
        if not records and window.is_day:  # most holders: nothing recorded, in the post long enough
            on, least = day(window.end), self.ruleset.min_days
            if all(on - day(h.start) >= least for h in link.holders):
                return _with_assessment(link.holders, ACCOUNTABLE)
        post = self.graph.post(link.post_id)
        tenures = post.tenures if post else []
        by_person: dict[str, list[Holder]] = {}
        for h in link.holders:
            by_person.setdefault(h.person_id, []).append(h)
        # days each person held the post in the window (``_brief`` over a window; a day needs none)
        held = None if window.is_day else {p: sum(_days(h.overlap) for h in hs) for p, hs in by_person.items()}
        status: dict[str, tuple] = {}
        for person, hs in by_person.items():
            spans = [(t.start, t.end) for t in tenures if t.person_id == person]
            own = [r for r in records if any(a <= r.on <= b for a, b in spans)]
            blocked = any(a <= d[:10] <= b for d in acts for a, b in spans)  # rule 12 acts at a time
            if own and not blocked:
                status[person] = ("exempt", tuple([self._evidence(r) for r in own]))
                continue
            brief = self._brief(person, tenures, held, window)
            status[person] = ("no_conditions", (brief,)) if brief else ("accountable", ())
        return tuple([new_tuple(Holder, h[:6] + (status[h.person_id],)) for h in link.holders])

    def assessment_on(self, person: str, post_id: str, on: str) -> tuple[str, tuple[dict, ...]]:
        """A holder's assessment on ``on`` where no record of a duty done can exempt (rule M1's overdue
        measures): ``no_conditions`` when the person held the post too briefly (``min_days``), else
        ``accountable``."""
        post = self.graph.post(post_id)
        brief = self._brief(person, post.tenures if post else [], None, Window.on(on))
        return ("no_conditions", (brief,)) if brief else ACCOUNTABLE

    def _evidence(self, record: tuple) -> dict:
        """``conduct.evidence``, one dictionary per record however many holders cite it."""
        found = self._cited.get(record)
        if found is None:
            found = self._cited[record] = conduct.evidence(record)
        return found

    def _brief(self, person: str, tenures: list, held: dict[str, int] | None, window: Window) -> dict | None:
        """Why ``person`` had no conditions to perform (too few days in the post), or None."""
        least = self.ruleset.min_days
        if window.is_day:
            spans = sorted((t.start, t.end) for t in tenures if t.person_id == person)
            start = None
            for a, b in spans:  # the continuous holding (acting, then substantive) that covers the day
                if start is not None and day(a) <= day(prev) + 1:
                    prev = max(prev, b)
                    continue
                if a <= window.end:
                    start, prev = a, b
            if start is None:
                return None
            days = day(window.end) - day(start)
            if days < least:
                return {"kind": "tenure", "start": start, "days": days, "min_days": least}
            return None
        mine = held.get(person, 0)
        longest = max(((d, p) for p, d in held.items() if p != person), default=(0, None))
        if mine < least and longest[0] > mine:
            return {"kind": "overlap", "days": mine, "min_days": least, "other_person_id": longest[1],
                    "other_days": longest[0]}
        return None


MISSED = {"missed": {"zh": "未发现该隐患", "en": "did not record the hazard"},
          "not_handled": {"zh": "发现该重大隐患但未依法处理", "en": "found the major hazard and did not handle it"}}
RELAPSED = {"zh": "经复查反弹", "en": "found relapsed on re-inspection"}
REOPENED = {"zh": "被重新打开", "en": "reopened"}


class _Place(NamedTuple):
    """What ``trace._sentence`` reads of an organization or a post, for a duty officer without a post."""

    id: str | None
    name: str

    @property
    def title(self) -> str:
        return self.name


def _fill(explain: dict, date: str, record: dict) -> dict:
    """A conduct template with its day and record written in (what ``trace._sentence`` then fills)."""
    return {lang: text.replace("{date}", date).replace("{record}", record[lang].replace("{", "{{").replace("}", "}}"))
            for lang, text in explain.items()}


def _with_assessment(holders: Iterable[Holder], assessment: tuple) -> tuple[Holder, ...]:
    """``holders``, each with ``assessment`` (``tuple.__new__``: a NamedTuple's own ``__new__`` is Python)."""
    return tuple([new_tuple(Holder, h[:6] + (assessment,)) for h in holders])


def _days(overlap: tuple[str, str] | None) -> int:
    return day(overlap[1]) - day(overlap[0]) + 1 if overlap else 0
