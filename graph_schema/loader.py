"""Load and check the schema files: types, vocabularies and rules.

A broken file fails at import with :class:`InvalidSchema` naming the file and the key, so that a bad
schema never reaches a user (compare FollowTheMoney's ``Model``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
RULESETS = HERE / "rulesets"  # rulesets addressed by name: reference-v1.yaml → "reference-v1"
DEFAULT_RULESET = "reference-v2"
COLUMN_TYPE = re.compile(r"^(list:)?(id|text|date|datetime|bool|int|vocab:[a-z_]+|ref:[a-z_]+)$")
# The anchors a selector may name; each is one documented function in accountability.anchors.
ANCHORS = (
    "enterprise",
    "enterprise_park",
    "other_organizations",
    "enterprise_controller",
    "sector_departments",
    "comprehensive_departments",
    "government",
    "party_committee",
    "township_government",
    "township_party_committee",
    "below_regulator_government",
    "below_regulator_party_committee",
)
REACHES = ("parent", "investigating_tier")
# v2 escalation tiers (DESIGN.md, "Calibrated reach above R"); T is R when R is county level or higher, else
# the nearest county-level-or-higher jurisdiction above R
TIERS = ("parent", "first_tier", "second_tier", "higher_tiers", "investigating_tier")
PORTFOLIO_FILTERS = ("covers", "overall", "in_charge")
# v2 conduct rules: acts on a day, found in the records (accountability.conduct)
CONDUCT_KINDS = ("designation", "missed_inspection", "false_closure", "late_report")
ASSESSED_APART = ("exempt", "no_conditions")  # the assessment statuses a report shows apart, with their basis
TEMPLATE_FIELDS = {"post", "organization", "jurisdiction", "industry", "duty", "degree", "date", "record"}


class InvalidSchema(Exception):
    """A schema or ruleset file is malformed; the message names the file and the key."""


def _fail(path: Path, key: str, reason: str) -> InvalidSchema:
    return InvalidSchema(f"{path.name}: {key}: {reason}")


def read_yaml(path: Path) -> dict:
    """A YAML file's top-level mapping, or InvalidSchema naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidSchema(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise InvalidSchema(f"{path.name}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "(top)", "expected a mapping")
    return data


def _need(path: Path, mapping: Any, key: str, where: str, kind: type | tuple = object) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise _fail(path, where, f"missing '{key}'")
    value = mapping[key]
    if not isinstance(value, kind):
        raise _fail(path, f"{where}.{key}", f"expected {getattr(kind, '__name__', kind)}")
    return value


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str
    extra: dict = field(default_factory=dict, compare=False)

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool

    @property
    def is_list(self) -> bool:
        return self.type.startswith("list:")

    @property
    def base(self) -> str:
        """The type without its ``list:`` prefix, e.g. ``vocab:industries``."""
        return self.type[5:] if self.is_list else self.type

    @property
    def references(self) -> str | None:
        """The table a single reference points to (``ref:posts`` → ``posts``); None for a list or a value."""
        return self.type[4:] if self.type.startswith("ref:") else None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Selector:
    organizations: tuple[str, ...]
    role: str | None
    portfolio: str | None
    duty: str
    degree: str
    basis: tuple[str, ...]
    explain: dict
    gap_if_none: str | None


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict
    selectors: tuple[Selector, ...]


@dataclass(frozen=True)
class Conduct:
    """A v2 rule about an act on a day (rules 9–11): ``kind`` names the finder in accountability.conduct.
    ``variants`` maps a record's kind (a designation kind) to its duty and degree, and to its own
    ``explain`` where the rule's sentence would misread it; ``duty: by_organization`` takes the duty from the
    acting post's organization."""

    id: str
    title: dict
    kind: str
    duty: str
    degree: str
    basis: tuple[str, ...]
    explain: dict
    variants: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Escalation:
    id: str
    title: dict
    applies_to: str
    reach: str
    reapply: tuple[str, ...]
    basis: tuple[str, ...]
    when_level: str | None
    when_overdue_days_over: int | None
    # v2: per tier, the rules applied there ("R5:government_head": only R5's selectors of that role)
    tiers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # v2: per jurisdiction level, rules never applied there by escalation
    spare: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ruleset:
    version: str
    citations: dict[str, dict]
    rules: tuple[Rule, ...]
    escalations: tuple[Escalation, ...]
    source: str
    # 2: v2's reading (event-based closure, existed_since, several industries and units, evidence and
    # assessment in every output); 1: v1's, byte for byte
    generation: int = 1
    conduct: tuple[Conduct, ...] = ()
    min_days: int = 30  # fewer days in a post than this: no conditions to perform (Provisions Art. 25)
    name: str = ""
    # v2: per assessment status shown apart (exempt, no_conditions), the citations it rests on
    assessment_basis: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def escalation(self, applies_to: str) -> Escalation | None:
        return next((e for e in self.escalations if e.applies_to == applies_to), None)

    def escalation_by_id(self, escalation_id: str) -> Escalation:
        return next(e for e in self.escalations if e.id == escalation_id)

    def citation(self, key: str, lang: str = "zh") -> str:
        return self.citations[key][lang]


@dataclass(frozen=True)
class Schema:
    vocabularies: dict[str, dict[str, Term]]
    tables: dict[str, Table]
    nodes: dict[str, dict]
    relationships: dict[str, dict]
    rules: Ruleset

    def vocab(self, name: str) -> dict[str, Term]:
        return self.vocabularies[name]

    @cached_property
    def degree_weights(self) -> dict[str, int]:
        """Each degree's weight (``vocabularies.yaml``): where a person or a post has two, the heavier counts."""
        return {code: term.extra["weight"] for code, term in self.vocabularies["degrees"].items()}

    @cached_property
    def structural_gaps(self) -> tuple[str, ...]:
        """The gap kinds marked ``structural``: a post, a regulator, a portfolio or a principal missing."""
        return tuple(code for code, term in self.vocabularies["gap_kinds"].items() if term.extra.get("structural"))

    def label(self, vocabulary: str, code: str, lang: str = "zh") -> str:
        term = self.vocabularies[vocabulary].get(code)
        return term.label(lang) if term else code


def _load_vocabularies(path: Path) -> dict[str, dict[str, Term]]:
    data = read_yaml(path)
    vocabularies: dict[str, dict[str, Term]] = {}
    for name, terms in data.items():
        if not isinstance(terms, dict) or not terms:
            raise _fail(path, name, "expected a non-empty mapping of terms")
        vocab = {}
        for code, term in terms.items():
            where = f"{name}.{code}"
            zh = _need(path, term, "zh", where, str)
            en = _need(path, term, "en", where, str)
            extra = {k: v for k, v in term.items() if k not in ("zh", "en")}
            vocab[str(code)] = Term(str(code), zh, en, extra)
        vocabularies[name] = vocab
    for name in ("jurisdiction_levels", "organization_kinds", "roles", "industries", "duties", "degrees"):
        if name not in vocabularies:
            raise _fail(path, name, "missing vocabulary")
    for code, term in vocabularies["degrees"].items():
        if not isinstance(term.extra.get("weight"), int):
            raise _fail(path, f"degrees.{code}.weight", "expected an integer")
    for code, term in vocabularies["jurisdiction_levels"].items():
        if not isinstance(term.extra.get("rank"), int):
            raise _fail(path, f"jurisdiction_levels.{code}.rank", "expected an integer")
    return vocabularies


def _load_types(path: Path, vocabularies: dict) -> tuple[dict, dict, dict]:
    data = read_yaml(path)
    nodes = _need(path, data, "nodes", "(top)", dict)
    relationships = _need(path, data, "relationships", "(top)", dict)
    raw_tables = _need(path, data, "tables", "(top)", dict)
    for name, rel in relationships.items():
        for end in ("from", "to"):
            if _need(path, rel, end, f"relationships.{name}", str) not in nodes:
                raise _fail(path, f"relationships.{name}.{end}", f"unknown node type '{rel[end]}'")
    tables = {}
    for name, spec in raw_tables.items():
        columns = []
        for col, cspec in _need(path, spec, "columns", f"tables.{name}", dict).items():
            where = f"tables.{name}.columns.{col}"
            ctype = _need(path, cspec, "type", where, str)
            if not COLUMN_TYPE.match(ctype):
                raise _fail(path, f"{where}.type", f"unknown column type '{ctype}'")
            base = ctype.removeprefix("list:")
            if base.startswith("vocab:") and base[6:] not in vocabularies:
                raise _fail(path, f"{where}.type", f"unknown vocabulary '{base[6:]}'")
            if base.startswith("ref:") and base[4:] not in raw_tables:
                raise _fail(path, f"{where}.type", f"unknown table '{base[4:]}'")
            columns.append(Column(str(col), ctype, bool(cspec.get("required", False))))
        key = tuple(_need(path, spec, "key", f"tables.{name}", list))
        names = {c.name for c in columns}
        for k in key:
            if k not in names:
                raise _fail(path, f"tables.{name}.key", f"unknown column '{k}'")
        tables[name] = Table(name, tuple(columns), key, bool(spec.get("optional", False)))
    for name, node in nodes.items():
        if _need(path, node, "table", f"nodes.{name}", str) not in tables:
            raise _fail(path, f"nodes.{name}.table", f"unknown table '{node['table']}'")
    return nodes, relationships, tables


def _codes(path: Path, where: str, value: Any, allowed: dict | tuple | set, what: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v not in allowed:
            raise _fail(path, where, f"unknown {what} '{v}'")
    return tuple(values)


def _title(path: Path, where: str, raw: Any, default: dict) -> dict:
    """A rule's title: its zh and en texts, nothing else — in a YAML flow mapping ``{zh: …, en: a, b}`` an
    unquoted comma starts another key and cuts the text short."""
    if not raw:
        return dict(default)
    if not isinstance(raw, dict) or set(raw) - {"zh", "en"} or not all(isinstance(v, str) for v in raw.values()):
        raise _fail(path, where, "expected zh and en texts only (a text with a comma inside {…} needs quotes)")
    return dict(raw)


def _template(path: Path, where: str, explain: Any) -> dict:
    if not isinstance(explain, dict):
        raise _fail(path, where, "expected zh and en templates")
    for lang in ("zh", "en"):
        text = _need(path, explain, lang, where, str)
        for name in re.findall(r"{(\w*)}", text):
            if name not in TEMPLATE_FIELDS:
                raise _fail(path, f"{where}.{lang}", f"unknown template field '{{{name}}}'")
    return dict(explain)


def load_rules(path: str | Path, vocabularies: dict[str, dict[str, Term]]) -> Ruleset:
    """Load a ruleset (a name of ``graph_schema/rulesets`` or a file) and check every reference in it
    against the vocabularies."""
    path = ruleset_path(path)
    data = read_yaml(path)
    citations = _need(path, data, "citations", "(top)", dict)
    for key, cit in citations.items():
        for lang in ("zh", "en"):
            _need(path, cit, lang, f"citations.{key}", str)
    gap_kinds = vocabularies.get("gap_kinds", {})
    generation = data.get("generation", 1)
    if generation not in (1, 2):
        raise _fail(path, "generation", "expected 1 or 2")
    min_days = data.get("min_days", 30)
    if not isinstance(min_days, int) or isinstance(min_days, bool) or min_days < 0:
        raise _fail(path, "min_days", "expected a whole number of days")
    assessment_basis = {}
    basis_of = data.get("assessment_basis") or {}
    if not isinstance(basis_of, dict):
        raise _fail(path, "assessment_basis", "expected a mapping of assessment status to citations")
    for status, keys in basis_of.items():
        if not isinstance(status, str):
            raise _fail(path, "assessment_basis", f"unknown assessment status '{status}'")
        _codes(path, "assessment_basis", status, ASSESSED_APART, "assessment status")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _fail(path, f"assessment_basis.{status}", "expected a list of citations")
        assessment_basis[status] = _codes(path, f"assessment_basis.{status}", keys, citations, "citation")
    if assessment_basis and generation < 2:
        raise _fail(path, "assessment_basis", "assessments need generation 2")
    rules = []
    seen = set()
    for i, raw in enumerate(_need(path, data, "rules", "(top)", list)):
        rid = _need(path, raw, "id", f"rules[{i}]", str)
        if rid in seen:
            raise _fail(path, f"rules[{i}].id", f"duplicate rule id '{rid}'")
        seen.add(rid)
        selectors = []
        for j, sel in enumerate(_need(path, raw, "selectors", f"rules.{rid}", list)):
            where = f"rules.{rid}.selectors[{j}]"
            orgs = _codes(path, f"{where}.organization", _need(path, sel, "organization", where), ANCHORS, "anchor")
            role = sel.get("role")
            portfolio = sel.get("portfolio")
            if role is None and portfolio is None:
                raise _fail(path, where, "needs 'role', 'portfolio' or both")
            if role is not None and portfolio is not None and generation < 2:
                raise _fail(path, where, "needs exactly one of 'role' and 'portfolio' (both: generation 2)")
            if role is not None:
                _codes(path, f"{where}.role", role, vocabularies["roles"], "role")
            if portfolio is not None:
                _codes(path, f"{where}.portfolio", portfolio, PORTFOLIO_FILTERS, "portfolio filter")
            duty = _codes(path, f"{where}.duty", _need(path, sel, "duty", where, str), vocabularies["duties"], "duty")[0]
            degree = _codes(path, f"{where}.degree", _need(path, sel, "degree", where, str), vocabularies["degrees"], "degree")[0]
            basis = _codes(path, f"{where}.basis", _need(path, sel, "basis", where, list), citations, "citation")
            gap = sel.get("gap_if_none")
            if gap is not None:
                _codes(path, f"{where}.gap_if_none", gap, gap_kinds, "gap kind")
            explain = _template(path, f"{where}.explain", _need(path, sel, "explain", where))
            selectors.append(Selector(orgs, role, portfolio, duty, degree, basis, explain, gap))
        rules.append(Rule(rid, _title(path, f"rules.{rid}.title", raw.get("title"), {"zh": rid, "en": rid}),
                          tuple(selectors)))
    escalations = []
    for i, raw in enumerate(data.get("escalations") or []):
        where = f"escalations[{i}]"
        eid = _need(path, raw, "id", where, str)
        if eid in seen:
            raise _fail(path, f"{where}.id", f"duplicate rule id '{eid}'")
        seen.add(eid)
        applies_to = _codes(path, f"{where}.applies_to", _need(path, raw, "applies_to", where), ("hazard", "incident"), "subject")[0]
        tiers: dict[str, tuple[str, ...]] = {}
        if "tiers" in raw:
            reach, reapply = "tiers", ()
            for tier, applied in _need(path, raw, "tiers", where, dict).items():
                _codes(path, f"{where}.tiers", tier, TIERS, "tier")
                tiers[tier] = _rule_refs(path, f"{where}.tiers.{tier}", applied, rules)
        else:
            reach = _codes(path, f"{where}.reach", _need(path, raw, "reach", where), REACHES, "reach")[0]
            reapply = _codes(path, f"{where}.reapply", _need(path, raw, "reapply", where, list), {r.id for r in rules}, "rule")
        spare = {}
        for level, spared in (raw.get("spare") or {}).items():
            _codes(path, f"{where}.spare", level, vocabularies["jurisdiction_levels"], "jurisdiction level")
            spare[level] = _rule_refs(path, f"{where}.spare.{level}", spared, rules)
        basis = _codes(path, f"{where}.basis", raw.get("basis") or [], citations, "citation")
        when = raw.get("when") or {}
        level = when.get("hazard_level")
        if level is not None:
            _codes(path, f"{where}.when.hazard_level", level, vocabularies.get("hazard_levels", {}), "hazard level")
        days = when.get("overdue_days_over")
        if days is not None and not isinstance(days, int):
            raise _fail(path, f"{where}.when.overdue_days_over", "expected an integer")
        escalations.append(
            Escalation(eid, _title(path, f"escalations.{eid}.title", raw.get("title"), {}), applies_to, reach, reapply, basis, level, days, tiers, spare)
        )
    conduct = []
    for i, raw in enumerate(data.get("conduct") or []):
        where = f"conduct[{i}]"
        cid = _need(path, raw, "id", where, str)
        if cid in seen:
            raise _fail(path, f"{where}.id", f"duplicate rule id '{cid}'")
        seen.add(cid)
        kind = _codes(path, f"{where}.kind", _need(path, raw, "kind", where), CONDUCT_KINDS, "conduct kind")[0]
        variants = {}
        for code, v in (raw.get("variants") or {}).items():
            variants[code] = {
                "duty": _codes(path, f"{where}.variants.{code}.duty", _need(path, v, "duty", f"{where}.variants.{code}"),
                               vocabularies["duties"], "duty")[0],
                "degree": _codes(path, f"{where}.variants.{code}.degree",
                                 _need(path, v, "degree", f"{where}.variants.{code}"), vocabularies["degrees"], "degree")[0],
            }
            if v.get("explain") is not None:  # the variant's own sentence (else the rule's)
                variants[code]["explain"] = _template(path, f"{where}.variants.{code}.explain", v["explain"])
        duty = raw.get("duty", "by_organization")
        if duty != "by_organization":
            _codes(path, f"{where}.duty", duty, vocabularies["duties"], "duty")
        degree = _codes(path, f"{where}.degree", raw.get("degree", "direct"), vocabularies["degrees"], "degree")[0]
        basis = _codes(path, f"{where}.basis", _need(path, raw, "basis", where, list), citations, "citation")
        explain = _template(path, f"{where}.explain", _need(path, raw, "explain", where))
        conduct.append(Conduct(cid, _title(path, f"conduct.{cid}.title", raw.get("title"), {"zh": cid, "en": cid}),
                               kind, duty, degree, basis,
                               explain, variants))
    if conduct and generation < 2:
        raise _fail(path, "conduct", "conduct rules need generation 2")
    version = str(data.get("version") or path.stem)
    return Ruleset(version, dict(citations), tuple(rules), tuple(escalations), str(path), generation,
                   tuple(conduct), min_days, path.stem, assessment_basis)


def _rule_refs(path: Path, where: str, value: Any, rules: list[Rule]) -> tuple[str, ...]:
    """Rule ids, or ``RULE:role`` for the selectors of that role only (R5:government_head)."""
    if not isinstance(value, list):
        raise _fail(path, where, "expected a list of rule ids")
    known = {r.id: r for r in rules}
    for ref in value:
        rid, _, role = str(ref).partition(":")
        if rid not in known:
            raise _fail(path, where, f"unknown rule '{rid}'")
        if role and not any(sel.role == role for sel in known[rid].selectors):
            raise _fail(path, where, f"rule '{rid}' has no selector of role '{role}'")
    return tuple(str(v) for v in value)


def ruleset_path(name_or_path: str | Path) -> Path:
    """A ruleset's file: a name of ``graph_schema/rulesets`` (``reference-v1``, ``reference-v2``) or a path."""
    text = str(name_or_path)
    named = RULESETS / f"{text}.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        if named.exists():
            return named
        known = ", ".join(sorted(p.stem for p in RULESETS.glob("*.yaml")))
        raise InvalidSchema(f"{text}: no such ruleset (known: {known}; or give a YAML file's path)")
    return Path(text)


def load_schema(directory: str | Path = HERE, rules: str | Path | None = None) -> Schema:
    """Load the schema from ``directory`` and the ruleset ``rules`` (default: DEFAULT_RULESET)."""
    directory = Path(directory)
    vocabularies = _load_vocabularies(directory / "vocabularies.yaml")
    nodes, relationships, tables = _load_types(directory / "types.yaml", vocabularies)
    ruleset = load_rules(rules or DEFAULT_RULESET, vocabularies)
    return Schema(vocabularies, tables, nodes, relationships, ruleset)
