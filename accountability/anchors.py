"""The named anchors of the rulesets: where a selector (``organization:`` in a ruleset file) finds the
organizations whose posts it reaches. One registry, read by the engine; each anchor is one small function
of the graph and the level being evaluated, and names the rule it serves.

A level (``trace._Level``) is where a group of rules is evaluated: a jurisdiction (``jurisdiction_id``),
the rule-2 departments found there (``departments``) and, for the enterprise side, the unit (``enterprise``).
Each anchor belongs to one **context** — the kind of level it is evaluated at:

==============  ===========================================================================================
``enterprise``  the hazard's own unit E (rules 1, 1a, 1c, and the park of rule 6)
``other``       each of the hazard's other answerable units, evaluated as E (rule 1b)
``regulator``   R, the jurisdiction that regulates the industry, and the tiers above it (rules 2–5, 2b, 7, 8)
``township``    the township J lies in, below R (rule 6 of reference-v1)
``below``       every jurisdiction from J (a village: its township) up to R, R excluded (rule 6 of v2)
==============  ===========================================================================================

``graph_schema/loader.py`` lists the names a ruleset may use (the schema does not import the engine); a
test checks that list against this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from accountability.graph import Graph, Organization

Finder = Callable[[Graph, Any], list]


@dataclass(frozen=True)
class Anchor:
    name: str
    context: str
    rule: str  # the rule (DESIGN.md) it serves
    find: Finder


ANCHORS: dict[str, Anchor] = {}


def anchor(name: str, context: str, rule: str) -> Callable[[Finder], Finder]:
    def register(find: Finder) -> Finder:
        ANCHORS[name] = Anchor(name, context, rule, find)
        return find

    return register


def in_context(context: str) -> set[str]:
    """The names of the anchors evaluated at levels of ``context``."""
    return {a.name for a in ANCHORS.values() if a.context == context}


@anchor("enterprise", "enterprise", "R1")
def enterprise(graph: Graph, level: Any) -> list[Organization]:
    """E, the hazard's own unit (安全生产法 Art. 5, 21, 25)."""
    return [level.enterprise] if level.enterprise else []


@anchor("enterprise_park", "enterprise", "R6")
def enterprise_park(graph: Graph, level: Any) -> list[Organization]:
    """E's parent when it is a park committee, whatever J is (安全生产法 Art. 9)."""
    e = level.enterprise
    parent = graph.org(e.parent_id) if e and e.parent_id else None
    return [parent] if parent and parent.kind == "park_committee" else []


@anchor("enterprise_controller", "enterprise", "R1c")
def enterprise_controller(graph: Graph, level: Any) -> list[Organization]:
    """The enterprise that controls E (``controlled_by``), one step (法释〔2015〕22号 Art. 1)."""
    e = level.enterprise
    controller = graph.org(e.controlled_by) if e is not None and e.controlled_by else None
    return [controller] if controller is not None else []


@anchor("other_organizations", "other", "R1b")
def other_organizations(graph: Graph, level: Any) -> list[Organization]:
    """One of the hazard's other answerable units (``other_organization_ids``), evaluated as E."""
    return [level.enterprise] if level.enterprise else []


@anchor("sector_departments", "regulator", "R2")
def sector_departments(graph: Graph, level: Any) -> list[Organization]:
    """The departments at this level whose industries include the hazard's (安全生产法 Art. 3, 10)."""
    return list(level.departments)


@anchor("comprehensive_departments", "regulator", "R3")
def comprehensive_departments(graph: Graph, level: Any) -> list[Organization]:
    """The comprehensive (emergency-management) departments at this level (安全生产法 Art. 10)."""
    return graph.departments(level.jurisdiction_id, supervision="comprehensive")


@anchor("government", "regulator", "R4, R5")
def government(graph: Graph, level: Any) -> list[Organization]:
    """The government at this level (Provisions Art. 4)."""
    return graph.organizations(level.jurisdiction_id, "government")


@anchor("party_committee", "regulator", "R4, R5")
def party_committee(graph: Graph, level: Any) -> list[Organization]:
    """The party committee at this level (Provisions Art. 4)."""
    return graph.organizations(level.jurisdiction_id, "party_committee")


@anchor("township_government", "township", "R6 (v1)")
def township_government(graph: Graph, level: Any) -> list[Organization]:
    """The government of the township J lies in, below R (安全生产法 Art. 9)."""
    return graph.organizations(level.jurisdiction_id, "government")


@anchor("township_party_committee", "township", "R6 (v1)")
def township_party_committee(graph: Graph, level: Any) -> list[Organization]:
    """The party committee of the township J lies in, below R."""
    return graph.organizations(level.jurisdiction_id, "party_committee")


@anchor("below_regulator_government", "below", "R6")
def below_regulator_government(graph: Graph, level: Any) -> list[Organization]:
    """The government of one jurisdiction between J and R (安全生产法 Art. 9; Provisions Art. 2)."""
    return graph.organizations(level.jurisdiction_id, "government")


@anchor("below_regulator_party_committee", "below", "R6")
def below_regulator_party_committee(graph: Graph, level: Any) -> list[Organization]:
    """The party committee of one jurisdiction between J and R."""
    return graph.organizations(level.jurisdiction_id, "party_committee")
