"""Calibration: how well a ruleset's proposed lists match what real investigations decided (DESIGN.md,
"Calibration").

For every incident with ``outcomes`` rows, the persons the ruleset **names** (a person's place in the
incident chain is ``accountable``: accountable on any link; under a generation-1 ruleset, which assesses
nobody, every holder) are compared with the persons **sanctioned** (an outcome whose form has
``sanction: true`` in the ``outcome_forms`` vocabulary; an interview 约谈 is not a sanction):

- per incident, recall (sanctioned and named ÷ sanctioned), precision (sanctioned and named ÷ named), and
  the ``missed`` (sanctioned, not named) and ``extra`` (named, not sanctioned) person ids;
- ``overall``, pooling the persons of every incident (a micro-average: a large investigation weighs more);
- the same counts grouped by tier, role and rule, so that a province sees *where* its ruleset reaches too
  far or not far enough. A named person is grouped by the links they are accountable on: the tier is the
  level of the link's jurisdiction (``enterprise`` for the ``enterprise_main`` duty), the role is the
  post's, the rules are the link's. A sanctioned person the ruleset did not name is grouped by the posts
  they held on the incident day (else during the incident's window), with rule ``—``. A person with
  several links counts once in each group they fall in, so group rows do not add up to ``overall``.

A ratio whose denominator is zero is None (JSON null). ::

    >>> _ratio(2, 4), _ratio(0, 0)
    (0.5, None)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from accountability.graph import FOREVER
from accountability.trace import IncidentChain
from graph_schema import SCHEMA

NONE = "—"  # the key of a group that does not apply (a rule for a person the ruleset did not name)
ENTERPRISE = "enterprise"
GROUPS = ("tier", "role", "rule")
CSV_COLUMNS = ["section", "key", "named", "sanctioned", "hits", "recall", "precision", "missed", "extra"]


@dataclass
class _Person:
    """One person in one incident: named, sanctioned or both, and the groups they fall in."""

    named: bool = False
    sanctioned: bool = False
    keys: dict[str, set[str]] = field(default_factory=lambda: {g: set() for g in GROUPS})


def calibrate(session) -> dict:
    """Recall and precision of ``session``'s ruleset against the recorded outcomes, in the JSON shape of
    DESIGN.md: ``{rules, incidents: [{incident_id, recall, precision, missed, extra}], overall: {recall,
    precision}, by_tier, by_role, by_rule}`` (group rows ``{key, named, sanctioned, hits, recall,
    precision}``); ``rules`` is the ruleset's name (``reference-v1``, ``reference-v2``, a file's stem). Only
    the incidents the session's user may see are compared, in id order."""
    sanctioned = _sanctioned(session, _sanction_forms())
    incidents, pooled = [], []
    for incident_id in sorted(sanctioned):
        people = _people(session, session.incident(incident_id), sanctioned[incident_id])
        pooled.append(people)
        named = {p for p, x in people.items() if x.named}
        hit = {p for p, x in people.items() if x.named and x.sanctioned}
        incidents.append({
            "incident_id": incident_id,
            "recall": _ratio(len(hit), len(sanctioned[incident_id])),
            "precision": _ratio(len(hit), len(named)),
            "missed": sorted(sanctioned[incident_id] - named),
            "extra": sorted(named - sanctioned[incident_id]),
        })
    everyone = [x for people in pooled for x in people.values()]
    total = _tally(everyone)
    result = {"rules": session.ruleset.name or session.ruleset.version, "incidents": incidents,
              "overall": {"recall": total["recall"], "precision": total["precision"]}}
    for group in GROUPS:
        result[f"by_{group}"] = _grouped(everyone, group, _order(session, group))
    return result


def rows(result: dict) -> Iterator[dict]:
    """``calibrate``'s result as flat rows (``CSV_COLUMNS``): one per incident, the overall one, then one per
    tier, role and rule, each marked by its ``section``."""
    for item in result["incidents"]:
        yield {"section": "incident", "key": item["incident_id"], "recall": item["recall"],
               "precision": item["precision"], "missed": item["missed"], "extra": item["extra"]}
    yield {"section": "overall", "key": "", **result["overall"]}
    for group in GROUPS:
        for row in result[f"by_{group}"]:
            yield {"section": group, **row}


# -- who was sanctioned, who was named ------------------------------------------------------------------------


def _sanction_forms() -> set[str]:
    return {code for code, term in SCHEMA.vocab("outcome_forms").items() if term.extra.get("sanction")}


def _sanctioned(session, sanctions: set[str]) -> dict[str, set[str]]:
    """Per incident with outcomes that the user may see, the persons it sanctioned (perhaps none: an incident
    whose only outcomes are interviews is still compared)."""
    if "outcomes" not in session.store.schema.tables:  # a store made before the contract had outcomes
        return {}
    out: dict[str, set[str]] = {}
    for row in session.store.rows("outcomes"):
        persons = out.setdefault(row["incident_id"], set())
        if row["form"] in sanctions:
            persons.add(row["person_id"])
    return {i: persons for i, persons in out.items() if session.visible("incidents", i)}


def _people(session, chain: IncidentChain, sanctioned: set[str]) -> dict[str, _Person]:
    """The incident's named and sanctioned persons, each with the tiers, roles and rules they fall in."""
    v2 = session.ruleset.generation >= 2
    people: dict[str, _Person] = {}
    for link in chain.links:
        post = session.graph.post(link.post_id) if link.post_id else None
        tier = ENTERPRISE if link.duty == "enterprise_main" else _level(session, link.jurisdiction_id)
        for holder in link.holders:
            if v2 and holder.assessment[0] != "accountable":
                continue
            person = people.setdefault(holder.person_id, _Person())
            person.named = True
            person.keys["tier"].add(tier)
            person.keys["role"].add(post.role if post else NONE)
            person.keys["rule"].update(link.rules)
    for pid in sanctioned:
        person = people.setdefault(pid, _Person())
        person.sanctioned = True
        if not person.named:
            person.keys["tier"], person.keys["role"] = _posts_held(session, pid, chain)
            person.keys["rule"] = {NONE}
    return people


def _posts_held(session, person_id: str, chain: IncidentChain) -> tuple[set[str], set[str]]:
    """The tiers and roles of the posts ``person_id`` held on the incident day, else during the incident's
    window (an official moved on before the accident is still judged on the post they left), else ``—``."""
    on = chain.incident["occurred_on"]
    tenures = [(t["post_id"], t["start"], t["end"] or FOREVER)
               for t in session.store.rows("tenures", person_id=person_id)]
    held = [post for post, start, end in tenures if start <= on <= end] or \
        [post for post, start, end in tenures if start <= chain.window.end and end >= chain.window.start]
    tiers, roles = set(), set()
    for post_id in held:
        post = session.graph.post(post_id)
        org = session.graph.org(post.organization_id) if post else None
        if org is None:
            continue
        tiers.add(ENTERPRISE if org.kind == "enterprise" else _level(session, org.jurisdiction_id))
        roles.add(post.role)
    return tiers or {NONE}, roles or {NONE}


def _level(session, jurisdiction_id: str | None) -> str:
    j = session.graph.jurisdictions.get(jurisdiction_id) if jurisdiction_id else None
    return j.level if j else NONE


# -- counting -------------------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _tally(people: Iterable[_Person]) -> dict:
    named = sanctioned = hits = 0
    for p in people:
        named += p.named
        sanctioned += p.sanctioned
        hits += p.named and p.sanctioned
    return {"named": named, "sanctioned": sanctioned, "hits": hits, "recall": _ratio(hits, sanctioned),
            "precision": _ratio(hits, named)}


def _grouped(people: list[_Person], group: str, order: dict[str, int]) -> list[dict]:
    """One row per key of ``group`` that some person falls in, in the vocabulary's (or ruleset's) order."""
    members: dict[str, list[_Person]] = {}
    for p in people:
        for key in p.keys[group]:
            members.setdefault(key, []).append(p)
    ranked = sorted(members, key=lambda k: (k == NONE, order.get(k, len(order)), k))
    return [{"key": key, **_tally(members[key])} for key in ranked]


def _order(session, group: str) -> dict[str, int]:
    """How a group's keys are listed: tiers from the province down, then enterprises; roles as their
    vocabulary; rules as the ruleset (rules, escalations, conduct)."""
    if group == "tier":
        keys = list(SCHEMA.vocab("jurisdiction_levels")) + [ENTERPRISE]
    elif group == "role":
        keys = list(SCHEMA.vocab("roles"))
    else:
        ruleset = session.ruleset
        keys = [r.id for r in ruleset.rules] + [e.id for e in ruleset.escalations] + [c.id for c in ruleset.conduct]
    return {k: i for i, k in enumerate(keys)}
