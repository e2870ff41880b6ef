"""Campaigns (大检查, 专项整治) and look-backs (回头看): who was to be inspected, who was, and what held
(DESIGN.md, "Campaigns and look-back" and its resolved readings).

- :func:`coverage` — for a campaign, per jurisdiction of its subtree (each row counting its own subtree, so the
  campaign's own row holds the totals) and per inspecting department: enterprises in scope, inspected,
  hazards found, orders; every enterprise in scope never inspected is a gap ``uninspected_enterprise``.
- :func:`plan` — which closed hazards a look-back re-inspects: every closed major hazard in scope first, then
  a deterministic, risk-weighted sample of the others (industry, closed after its deadline, the signer's
  earlier relapses); each row names the unit, the closure's signer and the regulator to re-inspect.
- :func:`report` — the re-inspections made during a look-back (``reinspected`` events of hazards in scope,
  dated within the campaign): held and relapsed per jurisdiction, department and signer.

Campaign counts use the inspections whose ``campaign_id`` is the campaign. A user scoped to a jurisdiction
sees the campaigns that reach it and, in each, only the rows of their own subtree.

- :func:`reinspection` — a re-inspection's result entered by hand (the app's Campaigns page): a ``reinspected``
  event, which ``Store.append`` adds (validated against the stored rows as an import would, one audit entry
  naming who entered it).

Pure functions of a session: no I/O beyond the store reads, no printing.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left
from collections import defaultdict
from operator import attrgetter
from typing import Iterable, NamedTuple

from accountability import conduct
from accountability.errors import NotFound, UsageError
from accountability.memory import gc_paused
from accountability.records import Event, new_tuple
from accountability.stores.base import Before
from accountability.dates import day, iso

ORDERS = conduct.ORDERS  # inspection outcomes that count as orders issued
# How much an industry weighs in a look-back's sample: where a relapse kills (DESIGN.md: "risk-weighted")
INDUSTRY_RISK = {"hazardous_chemicals": 3.0, "mining": 3.0, "urban_gas": 3.0, "fire": 2.0, "construction": 2.0,
                 "special_equipment": 2.0, "road_traffic": 1.5, "water_traffic": 1.5, "self_built_housing": 1.5}
CLOSED_LATE_RISK = 2.0  # a closure after the deadline: rushed or dragged on
RELAPSE_RISK = 1.0  # added per earlier relapse of a closure the same post signed
HEAD_ROLE = {"department": "department_head", "government": "government_head", "party_committee": "party_secretary",
             "safety_committee": "committee_director", "park_committee": "park_director",
             "enterprise": "enterprise_principal"}


# -- campaigns ------------------------------------------------------------------------------------------------


def campaigns(session) -> list[dict]:
    """Every campaign the user may see (one whose subtree meets their scope), by start then id."""
    if "campaigns" not in session.store.schema.tables:
        return []
    rows = [r for r in session.store.rows("campaigns") if _reaches_scope(session, r["jurisdiction_id"])]
    return sorted(rows, key=lambda r: (r["start"], r["id"]))


def campaign(session, campaign_id: str) -> dict:
    """The campaign ``campaign_id`` (NotFound when unknown or out of the user's reach)."""
    for row in session.store.rows("campaigns", id=campaign_id) if "campaigns" in session.store.schema.tables else ():
        if _reaches_scope(session, row["jurisdiction_id"]):
            return row
    raise NotFound(f"unknown campaign '{campaign_id}'")


def _reaches_scope(session, jid: str) -> bool:
    """Whether a campaign held in ``jid`` covers part of the user's scope (their subtree lies in its, or
    its in theirs)."""
    within = session.scope.jurisdictions
    if within is None:
        return True
    return jid in within or any(j.id == jid for j in session.graph.ancestors_or_self(session.user.scope))


def _subtree(session, row: dict) -> list[str]:
    """The campaign's jurisdictions the user sees, in tree order (preorder, children by id)."""
    graph, within = session.graph, session.scope.jurisdictions
    order, stack = [], [row["jurisdiction_id"]]
    while stack:
        jid = stack.pop()
        order.append(jid)
        stack.extend(sorted(graph.tree.successors(jid), reverse=True))
    return [j for j in order if within is None or j in within]


def _up(session, root: str):
    """``jid`` → the jurisdictions from ``jid`` up to ``root`` (cached), for counting each row's subtree."""
    cache: dict[str, tuple[str, ...]] = {}

    def up(jid: str) -> tuple[str, ...]:
        found = cache.get(jid)
        if found is None:
            walk = []
            for j in session.graph.ancestors_or_self(jid):
                walk.append(j.id)
                if j.id == root:
                    break
            else:
                walk = []  # not under the campaign
            found = cache[jid] = tuple(walk)
        return found

    return up


def _in_industries(industries: Iterable[str] | None, wanted: tuple[str, ...]) -> bool:
    return not wanted or bool(set(industries or ()) & set(wanted))


def coverage(session, campaign_id: str) -> dict:
    """``{campaign_id, coverage: [{jurisdiction_id, in_scope, inspected, hazards_found, orders, coverage_pct}],
    by_department: [{organization_id, inspected, hazards_found, orders}], gaps: [{kind, organization_id,
    jurisdiction_id}]}``.

    In scope: the enterprises of the campaign's subtree in one of its industries (all, when it names none).
    Inspected: in scope, with at least one of the campaign's inspections. Hazards found and orders count the
    campaign's inspections of any unit in the row's subtree: distinct hazards listed, and inspections with
    an order, a penalty or a suspension."""
    row = campaign(session, campaign_id)
    shown = _subtree(session, row)
    visible = set(shown)
    up = _up(session, row["jurisdiction_id"])
    wanted = tuple(row["industries"] or ())
    in_scope = {o["id"]: o["jurisdiction_id"] for o in session.store.rows("organizations", kind="enterprise")
                if up(o["jurisdiction_id"]) and o["jurisdiction_id"] in visible
                and _in_industries(o["industries"], wanted)}
    units = {}  # every unit a campaign inspection names → its jurisdiction
    inspections = list(session.store.rows("inspections", campaign_id=campaign_id))
    missing = sorted({r["organization_id"] for r in inspections} - in_scope.keys())
    if missing:
        units.update((o["id"], o["jurisdiction_id"]) for o in session.store.rows("organizations", id=missing))
    units.update(in_scope)
    inspections = [r for r in inspections if units.get(r["organization_id"]) in visible]
    counts = {j: {"in_scope": 0, "inspected": set(), "hazards": set(), "orders": 0} for j in shown}
    for jid in in_scope.values():
        for j in up(jid):
            if j in counts:
                counts[j]["in_scope"] += 1
    departments: dict[str, dict] = defaultdict(lambda: {"inspected": set(), "hazards": set(), "orders": 0})
    for r in sorted(inspections, key=lambda r: (r["on"], r["id"])):
        post = session.graph.post(r["post_id"])
        dept = departments[post.organization_id if post else r["post_id"]]
        ordered = r["outcome"] in ORDERS
        for j in up(units[r["organization_id"]]):
            if j in counts:
                c = counts[j]
                if r["organization_id"] in in_scope:
                    c["inspected"].add(r["organization_id"])
                c["hazards"].update(r["hazard_ids"] or ())
                c["orders"] += ordered
        if r["organization_id"] in in_scope:
            dept["inspected"].add(r["organization_id"])
        dept["hazards"].update(r["hazard_ids"] or ())
        dept["orders"] += ordered
    inspected = {r["organization_id"] for r in inspections}
    return {
        "campaign_id": row["id"],
        "coverage": [{"jurisdiction_id": j, "in_scope": c["in_scope"], "inspected": len(c["inspected"]),
                      "hazards_found": len(c["hazards"]), "orders": c["orders"],
                      "coverage_pct": _pct(len(c["inspected"]), c["in_scope"])} for j, c in counts.items()],
        "by_department": [{"organization_id": oid, "inspected": len(d["inspected"]), "hazards_found": len(d["hazards"]),
                           "orders": d["orders"]} for oid, d in sorted(departments.items())],
        "gaps": [{"kind": "uninspected_enterprise", "organization_id": oid, "jurisdiction_id": jid}
                 for oid, jid in sorted(in_scope.items()) if oid not in inspected],
    }


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# -- look-back -----------------------------------------------------------------------------------------------


def _look_back(session, campaign_id: str) -> dict:
    row = campaign(session, campaign_id)
    if row["kind"] != "look_back":
        raise UsageError(f"campaign '{campaign_id}' is a {row['kind']}, not a look-back (kind look_back)")
    return row


class Closed(NamedTuple):
    """A closed hazard as a look-back reads it: the columns it uses, as a record that reads as a row does
    (``hazard["level"]``; see ``accountability.records``) — a province's look-back reads a million."""

    id: str
    industry: str
    level: str
    closed_on: str
    deadline: str | None

    __getitem__ = object.__getattribute__


def scope(session, row: dict, among: list[str] | None = None) -> list[tuple[Closed, list[Event]]]:
    """The hazards a look-back tests (DESIGN.md, "Look-back scope"): closed hazards of the campaign's subtree
    (as the user sees it) and industries whose ``closed_on`` is before its start and that are still closed
    the day before it (a relapse recorded earlier reopened them); with their events of the kinds
    :data:`LOOK_BACK_EVENTS`, by id. ``among``: only these hazards (those re-inspected, for the report)."""
    candidates, events, reopened = _scope(session, row, among)
    return [(new_tuple(Closed, h), events.get(h[0], ())) for h in candidates if h[0] not in reopened]


def _scope(session, row: dict, among: list[str] | None = None) -> tuple[list[tuple], dict[str, list[Event]], set]:
    """:func:`scope` as a plan reads a million of them: the closed hazards before the start (tuples of
    :class:`Closed`'s columns, by id), their events, and those of them reopened by the eve."""
    shown = set(_subtree(session, row))
    wanted = tuple(row["industries"] or ())
    start, eve = row["start"], iso(day(row["start"]) - 1)
    where = {"status": "closed", "closed_on": Before(start)}
    if among is not None:
        where["id"] = among
    if len(shown) < len(session.graph.jurisdictions):  # else every hazard's jurisdiction is shown
        where["jurisdiction_id"] = sorted(shown)
    rows = session.store.tuples("hazards", Closed._fields + (("also_industries",) if wanted else ()), **where)
    if wanted:
        rows = (h[:-1] for h in rows if _in_industries((h[1],) + h[-1], wanted))
    candidates = sorted(rows)
    events = _events_of(session, None if len(candidates) >= BY_ID else [h[0] for h in candidates], LOOK_BACK_EVENTS)
    # with no event but a closure the closure stands (closed_on is before the start, so on or before its
    # eve): only the others are read through
    reopened = set()
    for hid, evs in events.items():
        if len(evs) > 1 or evs[0].kind != "closed":
            i = bisect_left(candidates, (hid,))  # by id: a tuple sorts by its first item, the id, which is unique
            if i < len(candidates) and candidates[i][0] == hid and \
                    not conduct.closed_on(new_tuple(Closed, candidates[i]), evs, eve):
                reopened.add(hid)
    return candidates, events, reopened


# what a look-back reads of a hazard's events: its closures and what reopened them (conduct.closed_on), the
# closure's signer, and the re-inspections
LOOK_BACK_EVENTS = ("closed", "reopened", "reinspected")
BY_ID = 50_000  # fewer hazards than this: their events are read by hazard id, more: by kind
BY_DATE = attrgetter("on", "kind")


def _events_of(session, hazard_ids: list[str] | None, kinds: tuple[str, ...]) -> dict[str, list[Event]]:
    """The events of ``kinds`` of the hazards, by hazard, each list by date; of every hazard when
    ``hazard_ids`` is None or holds many (one read by kind, the few events of those kinds, rather than every
    event of a million hazards by id: look them up by id)."""
    if hazard_ids is not None and not hazard_ids:
        return {}
    where = {"hazard_id": hazard_ids} if hazard_ids is not None and len(hazard_ids) < BY_ID else {}
    out: dict[str, list[Event]] = defaultdict(list)
    for e in session.store.tuples("events", Event._fields, kind=list(kinds), **where):
        out[e[0]].append(new_tuple(Event, e))
    for evs in out.values():
        if len(evs) > 1:
            evs.sort(key=BY_DATE)
    return out


def _signer(events: list[Event], before: str) -> Event | None:
    """The latest ``closed`` event signed by a post on or before ``before``: the sign-off a re-inspection tests."""
    signed = None
    for e in events:
        if e.on > before:
            break
        if e.kind == "closed" and e.post_id:
            signed = e
    return signed


def regulator_post(session, jurisdiction_id: str, industry: str) -> str | None:
    """Rule 2's department head for a hazard of ``industry`` in ``jurisdiction_id`` at its regulator R (the
    first department by id)."""
    _, _, departments = session.engine.regulator(jurisdiction_id, industry)
    for dept in sorted(departments, key=lambda d: d.id):
        heads = session.graph.posts_in(dept.id, "department_head")
        if heads:
            return sorted(p.id for p in heads)[0]
    return None


def _relapses_by_signer(session, before: str, events: dict[str, list[Event]] | None = None) -> dict[str, int]:
    """Per post, relapsed re-inspections before ``before`` of closures it signed (the sample's third weight).
    ``events``: the look-back's events of every hazard, when they were read already."""
    if events is None:
        relapses = [new_tuple(Event, e) for e in session.store.tuples("events", Event._fields, kind="reinspected")
                    if e[5] == "relapsed" and e[1] < before]
        events = _events_of(session, sorted({e.hazard_id for e in relapses}), ("closed",))
    else:
        relapses = [e for evs in events.values() for e in evs
                    if e.kind == "reinspected" and e.outcome == "relapsed" and e.on < before]
    out: dict[str, int] = defaultdict(int)
    for e in relapses:
        signed = _signer(events.get(e.hazard_id, []), e.on)
        if signed is not None:
            out[signed.post_id] += 1
    return out


PLAN_COLUMNS = ["hazard_id", "organization_id", "jurisdiction_id", "industry", "level", "closed_on",
                "signer_post_id", "regulator_post_id", "major", "weight"]


def plan(session, campaign_id: str, sample: int | None = None, seed: int = 1) -> dict:
    """``{campaign_id, rows: [{hazard_id, organization_id, level, closed_on, signer_post_id,
    regulator_post_id, …}]}``: every closed major hazard in scope (by id), then ``sample`` others drawn
    without replacement with probability by their weight (Efraimidis–Spirakis keys from ``Random(seed)``,
    drawn in hazard id order: the same seed gives the same plan); without ``sample``, every other one.

    A hazard's weight is its industry's risk (:data:`INDUSTRY_RISK`), doubled when it closed after its
    deadline, plus one per earlier relapse of its signer's closures."""
    if sample is not None and sample < 0:
        raise UsageError(f"--sample: {sample} is negative")
    row = _look_back(session, campaign_id)
    with gc_paused(freeze=False):  # a million closed hazards and no reference cycles
        return _plan(session, row, sample, seed)


def _plan(session, row: dict, sample: int | None, seed: int) -> dict:
    candidates, events, reopened = _scope(session, row)
    # many candidates: their events were read by kind, every hazard's (see _events_of)
    relapses = _relapses_by_signer(session, row["start"], events if len(candidates) >= BY_ID else None)
    majors = [h for h in candidates if h[2] == "major" and h[0] not in reopened]
    # a million at a province: passes of comprehensions rather than one loop (twice as fast)
    others = [h for h in candidates if h[2] != "major" and h[0] not in reopened]
    draw = random.Random(seed).random
    keys = [-(draw() ** (1.0 / w)) for w in _weights(others, events, relapses)]  # the largest first, ties by id
    if sample is not None:  # without sorting a million keys
        others = [others[i] for _, i in heapq.nsmallest(sample, zip(keys, range(len(keys))))]
    chosen = [(new_tuple(Closed, h), _signer_of(h, events), w)
              for h, w in zip(majors + others, _weights(majors + others, events, relapses))]
    placed = _placed(session, [h.id for h, _, _ in chosen])
    _load_regulators(session, {jid for _, jid in placed.values()})
    regulators: dict[tuple[str, str], str | None] = {}  # one lookup per (jurisdiction, industry)
    rows = [_plan_row(session, hazard, *placed[hazard.id], signer, weight, regulators)
            for hazard, signer, weight in chosen]
    return {"campaign_id": row["id"], "rows": rows}


def _weights(hazards: list[tuple], events: dict[str, list[Event]], relapses: dict[str, int]) -> list[float]:
    """The hazards' weights in the sample (see :func:`plan`), the hazards tuples of :class:`Closed`'s columns.
    A million at a province: the signer is looked for only where a post with relapses signed something."""
    risk = INDUSTRY_RISK.get
    signed_by_relapsing = {e.hazard_id for evs in events.values() for e in evs if e.post_id in relapses}
    return [risk(h[1], 1.0) * (CLOSED_LATE_RISK if h[4] and h[3] > h[4] else 1.0)
            + (RELAPSE_RISK * relapses.get(_signer_of(h, events), 0) if h[0] in signed_by_relapsing else 0.0)
            for h in hazards]


def _signer_of(hazard: tuple, events: dict[str, list[Event]]) -> str | None:
    """The post that signed the closure of ``hazard`` (a tuple of :class:`Closed`'s columns), if any."""
    mine = events.get(hazard[0])
    if mine and len(mine) == 1:  # most hazards: :func:`_signer` of one event, without the call
        e = mine[0]
        return e.post_id if e.kind == "closed" and e.on <= hazard[3] else None
    signed = _signer(mine, hazard[3]) if mine else None
    return signed.post_id if signed else None


def _placed(session, hazard_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Hazard id → (unit, jurisdiction): read for the few hazards a plan or a report shows."""
    return {h[0]: h[1:] for h in session.store.tuples("hazards", ("id", "organization_id", "jurisdiction_id"),
                                                      id=hazard_ids)}


def _load_regulators(session, jurisdictions: set[str]) -> None:
    """Read the government bodies of the jurisdictions and of those above them in one go (the regulators'
    walks read them), rather than one jurisdiction at a time."""
    session.graph.ensure_jurisdictions({a.id for jid in jurisdictions for a in session.graph.ancestors_or_self(jid)})


def _plan_row(session, hazard: Closed, unit: str, jurisdiction_id: str, signer: str | None, weight: float,
              regulators: dict) -> dict:
    key = (jurisdiction_id, hazard.industry)
    if key not in regulators:
        regulators[key] = regulator_post(session, *key)
    return {"hazard_id": hazard.id, "organization_id": unit, "jurisdiction_id": jurisdiction_id,
            "industry": hazard.industry, "level": hazard.level, "closed_on": hazard.closed_on,
            "signer_post_id": signer, "regulator_post_id": regulators[key], "major": hazard.level == "major",
            "weight": round(weight, 3)}


def holder_on(session, post_id: str | None, on: str) -> str | None:
    """Who held ``post_id`` on ``on``: the substantive holder, else the acting one, else nobody."""
    post = session.graph.post(post_id) if post_id else None
    found = None
    for t in post.tenures if post else ():
        if t.start <= on <= t.end:
            if not t.acting:
                return t.person_id
            found = found or t.person_id
    return found


def report(session, campaign_id: str) -> dict:
    """``{campaign_id, by_jurisdiction: [{jurisdiction_id, reinspected, held, relapsed}], by_department:
    [{organization_id, …}], by_signer: [{post_id, person_id, reinspected, held, relapsed}]}``.

    Counts are hazards: a hazard in scope re-inspected within [start, end] counts once, as ``relapsed`` when any
    of those re-inspections found it relapsed, else ``held``. Jurisdiction rows count their subtree; the
    department is the re-inspecting post's organization; the signer is the post that signed the closure
    tested (and who held it that day) — signers with the most relapses first."""
    row = _look_back(session, campaign_id)
    shown = _subtree(session, row)
    up = _up(session, row["jurisdiction_id"])
    per_j = {j: [0, 0, 0] for j in shown}
    per_dept: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_signer: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    # only a hazard re-inspected within the campaign counts: those first, then which of them are in scope
    tested = sorted({e["hazard_id"] for e in session.store.rows("events", kind="reinspected")
                     if row["start"] <= e["on"] <= row["end"]})
    hazards = scope(session, row, among=tested) if tested else []
    placed = _placed(session, [h.id for h, _ in hazards])
    for hazard, events in hazards:
        found = [e for e in events if e.kind == "reinspected" and row["start"] <= e.on <= row["end"]]
        if not found:
            continue
        relapsed = any(e.get("outcome") == "relapsed" for e in found)
        tally = (1, 0 if relapsed else 1, 1 if relapsed else 0)
        for j in up(placed[hazard.id][1]):
            if j in per_j:
                per_j[j] = [a + b for a, b in zip(per_j[j], tally)]
        for org in sorted({_org_of(session, e.get("post_id")) for e in found} - {None}):
            per_dept[org] = [a + b for a, b in zip(per_dept[org], tally)]
        signed = _signer(events, found[0]["on"])
        if signed is not None:
            key = (signed["post_id"], holder_on(session, signed["post_id"], signed["on"]))
            per_signer[key] = [a + b for a, b in zip(per_signer[key], tally)]

    def counts(c: list[int]) -> dict:
        return {"reinspected": c[0], "held": c[1], "relapsed": c[2]}

    return {
        "campaign_id": row["id"],
        "by_jurisdiction": [{"jurisdiction_id": j, **counts(c)} for j, c in per_j.items()],
        "by_department": [{"organization_id": o, **counts(c)} for o, c in sorted(per_dept.items())],
        "by_signer": [{"post_id": p, "person_id": person, **counts(c)} for (p, person), c in
                      sorted(per_signer.items(), key=lambda kv: (-kv[1][2], -kv[1][0], kv[0][0], kv[0][1] or ""))],
    }


def _org_of(session, post_id: str | None) -> str | None:
    post = session.graph.post(post_id) if post_id else None
    return post.organization_id if post else None


# -- entering a re-inspection ---------------------------------------------------------------------------------

REINSPECTION_SOURCE = "reinspection {hazard_id} {on} {outcome} entered by {user}"


def reinspection(session, hazard_id: str, on: str, outcome: str, post_id: str | None = None,
                 note: str | None = None) -> dict:
    """The ``reinspected`` event of a re-inspection entered by hand, as a row of ``events``. A hazard outside
    the user's scope is refused here; everything else (an unknown hazard, post or outcome, a hazard never
    closed by ``on``) is the dataset's validation's to say, as for an import."""
    hazard_id = (hazard_id or "").strip()
    if any(h["id"] == hazard_id for h in session.store.rows("hazards", id=hazard_id)):
        session.check("hazards", hazard_id)
    return {"hazard_id": hazard_id, "on": on, "kind": "reinspected", "post_id": (post_id or "").strip() or None,
            "deadline": None, "note": (note or "").strip() or None, "outcome": outcome}
