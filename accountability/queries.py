"""Named auditor queries: the catalog is data (``graph_schema/queries.yaml``), each query is code written once.

The catalog gives every query its zh/en title and description, its typed parameters and its output
columns; it is loaded and checked when this module is imported, so a broken entry fails here with
:class:`~graph_schema.InvalidSchema` naming the file and the key, never in front of a user. Each query is
implemented once below over a :class:`~accountability.session.Session` — the store interface
(``rows``, ``hazard_records``), the graph and the rules engine — so it answers the same on every store.

    >>> [q.name for q in catalog()]  # doctest: +NORMALIZE_WHITESPACE
    ['overdue-hazards', 'official-exposure', 'who-held', 'regulatory-gaps', 'handover-risk', 'unescalated-major',
     'chain', 'missed-inspections', 'false-closures', 'exemptions', 'duty-on', 'duty-gaps']
    >>> get("who-held").parameters["start"].aliases
    ('from',)
    >>> run("no-such-query")
    Traceback (most recent call last):
    ...
    accountability.errors.UsageError: unknown query 'no-such-query'; the queries are: overdue-hazards, official-exposure, who-held, regulatory-gaps, handover-risk, unescalated-major, chain, missed-inspections, false-closures, exemptions, duty-on, duty-gaps

The conduct queries (``missed-inspections``, ``false-closures``, ``exemptions``) read what only a
generation-2 ruleset finds: the acts of rules 10 and 11 and each holder's assessment. Under reference-v1
they return no rows rather than refuse, so that every query of the catalog runs wherever the catalog is
listed (the app's queries page); their descriptions say that an empty answer there means "not judged".

Running one (rows are dicts keyed by ``result.columns``, streamed)::

    >>> with run("overdue-hazards", session, jurisdiction="K", as_of="2026-06-01") as result:  # doctest: +SKIP
    ...     for row in result:
    ...         print(row["hazard_id"], row["days_overdue"], row["principals"])
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


import graph_schema
from accountability import conduct, measures
from accountability.errors import NotFound, UsageError
from accountability.graph import FOREVER
from accountability.output import RowStream, chain_rows
from accountability.dates import Window, day, iso, today
from accountability.trace import Chain, hazard_state, unresolved_on
from graph_schema import SCHEMA, InvalidSchema
from graph_schema.loader import read_yaml

CATALOG_PATH = Path(graph_schema.__file__).parent / "queries.yaml"
PARAMETER_TYPES = ("jurisdiction", "date", "person", "post", "role", "industry", "hazard", "int", "str")
# types whose values are ids of rows in the store: checked once a session is open
REFERENCE_TYPES = {"jurisdiction": "jurisdictions", "person": "people", "post": "posts", "hazard": "hazards"}
TYPE_VOCABULARIES = {"role": "roles", "industry": "industries"}
QUERY_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
DEFAULT_OUTPUT = "default"
PRINCIPAL = "principal_leadership"
# the gaps that describe the system's structure rather than one hazard's handling


# -- the catalog ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    required: bool
    default: Any
    description: dict
    values: tuple[str, ...] | None = None
    vocabulary: str | None = None
    minimum: int | None = None
    aliases: tuple[str, ...] = ()

    def describe(self, lang: str = "en") -> str:
        """``name|alias (type, required): description`` — one line of a usage message."""
        names = "|".join((self.name,) + self.aliases)
        kind = self.type
        if self.values:
            kind += ": " + "|".join(self.values)
        elif self.vocabulary:
            kind += f": a code of {self.vocabulary}"
        extras = []
        if self.required:
            extras.append("required")
        if self.default is not None:
            extras.append(f"default {self.default}")
        if self.minimum is not None:
            extras.append(f">= {self.minimum}")
        tail = f", {', '.join(extras)}" if extras else ""
        return f"{names} ({kind}{tail}): {self.description[lang]}"


@dataclass(frozen=True)
class Column:
    name: str
    label: dict  # {"zh": …, "en": …}


@dataclass(frozen=True)
class Output:
    name: str
    columns: tuple[Column, ...]
    when: dict | None = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Query:
    name: str
    title: dict
    description: dict
    parameters: dict[str, Parameter]
    outputs: dict[str, Output]

    @property
    def columns(self) -> list[str]:
        """The columns of the default output."""
        return self.outputs[DEFAULT_OUTPUT].names

    def usage(self, lang: str = "en") -> str:
        if not self.parameters:
            return f"{self.name} takes no parameters"
        lines = "\n".join("  " + p.describe(lang) for p in self.parameters.values())
        return f"{self.name} expects:\n{lines}"

    def as_dict(self, lang: str = "zh") -> dict:
        return {
            "name": self.name,
            "title": self.title[lang],
            "description": self.description[lang],
            "parameters": [
                {"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                 "values": list(p.values) if p.values else None, "vocabulary": p.vocabulary,
                 "aliases": list(p.aliases), "description": p.description[lang]}
                for p in self.parameters.values()
            ],
            "outputs": {
                o.name: {"when": o.when[lang] if o.when else None,
                         "columns": [{"name": c.name, "label": c.label[lang]} for c in o.columns]}
                for o in self.outputs.values()
            },
        }


def _fail(path: Path, key: str, reason: str) -> InvalidSchema:
    return InvalidSchema(f"{path.name}: {key}: {reason}")


def _texts(path: Path, where: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _fail(path, where, "expected zh and en texts")
    for lang in ("zh", "en"):
        if not isinstance(value.get(lang), str) or not value[lang].strip():
            raise _fail(path, f"{where}.{lang}", "expected a non-empty text")
    return {"zh": value["zh"], "en": value["en"]}


def _columns(path: Path, where: str, raw: Any) -> tuple[Column, ...]:
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, where, "expected a non-empty mapping of columns")
    columns = []
    for name, label in raw.items():
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            raise _fail(path, f"{where}.{name}", "a column name is lower_snake_case")
        columns.append(Column(name, _texts(path, f"{where}.{name}", label)))
    for lang in ("zh", "en"):
        labels = [c.label[lang] for c in columns]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise _fail(path, where, f"the {lang} label '{twice[0]}' is used twice")
    return tuple(columns)


def _check_value(param: Parameter, value: Any, vocabularies: dict) -> str | None:
    """Why ``value`` (from the catalog itself) does not fit ``param``, or None."""
    if param.type == "date":
        if value == "today":
            return None
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return f"'{value}' is not a date (YYYY-MM-DD) or 'today'"
        return None
    if param.type == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"'{value}' is not an integer"
        if param.minimum is not None and value < param.minimum:
            return f"{value} is below the minimum {param.minimum}"
        return None
    if not isinstance(value, str):
        return f"'{value}' is not a text"
    if param.values is not None and value not in param.values:
        return f"'{value}' is not one of {', '.join(param.values)}"
    vocabulary = param.vocabulary or TYPE_VOCABULARIES.get(param.type)
    if vocabulary and value not in vocabularies[vocabulary]:
        return f"'{value}' is not a code of vocabulary {vocabulary}"
    return None


def _parameter(path: Path, where: str, name: Any, spec: Any, vocabularies: dict) -> Parameter:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise _fail(path, where, "a parameter name is lower_snake_case")
    if not isinstance(spec, dict):
        raise _fail(path, where, "expected a mapping")
    known = {"type", "required", "default", "description", "values", "vocabulary", "min", "aliases"}
    for key in spec:
        if key not in known:
            raise _fail(path, f"{where}.{key}", f"unknown field (known: {', '.join(sorted(known))})")
    ptype = spec.get("type")
    if ptype not in PARAMETER_TYPES:
        raise _fail(path, f"{where}.type", f"expected one of {', '.join(PARAMETER_TYPES)}, got '{ptype}'")
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise _fail(path, f"{where}.required", "expected true or false")
    vocabulary = spec.get("vocabulary")
    if vocabulary is not None:
        if ptype != "str":
            raise _fail(path, f"{where}.vocabulary", "only a str parameter takes a vocabulary")
        if vocabulary not in vocabularies:
            raise _fail(path, f"{where}.vocabulary", f"unknown vocabulary '{vocabulary}'")
    values = spec.get("values")
    if values is not None:
        if ptype not in ("str", "role", "industry") or not isinstance(values, list) or not values:
            raise _fail(path, f"{where}.values", "expected a non-empty list (str, role and industry only)")
        values = tuple(str(v) for v in values)
        vocab = vocabulary or TYPE_VOCABULARIES.get(ptype)
        for v in values:
            if vocab and v not in vocabularies[vocab]:
                raise _fail(path, f"{where}.values", f"'{v}' is not a code of vocabulary {vocab}")
    minimum = spec.get("min")
    if minimum is not None and (ptype != "int" or not isinstance(minimum, int) or isinstance(minimum, bool)):
        raise _fail(path, f"{where}.min", "only an int parameter takes an integer min")
    aliases = spec.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and IDENTIFIER.match(a) for a in aliases):
        raise _fail(path, f"{where}.aliases", "expected a list of lower_snake_case names")
    param = Parameter(name, ptype, required, spec.get("default"), _texts(path, f"{where}.description",
                      spec.get("description")), values, vocabulary, minimum, tuple(aliases))
    if param.default is not None:
        if required:
            raise _fail(path, f"{where}.default", "a required parameter has no default")
        if ptype in REFERENCE_TYPES:
            raise _fail(path, f"{where}.default", f"a {ptype} parameter has no default (ids are data)")
        problem = _check_value(param, param.default, vocabularies)
        if problem:
            raise _fail(path, f"{where}.default", problem)
    return param


def load_catalog(path: str | Path = CATALOG_PATH, vocabularies: dict | None = None) -> dict[str, Query]:
    """Load and check a query catalog; raise :class:`InvalidSchema` naming the file and the key."""
    path = Path(path)
    vocabularies = vocabularies if vocabularies is not None else SCHEMA.vocabularies
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("queries"), dict) or not data["queries"]:
        raise _fail(path, "queries", "expected a non-empty mapping of queries")
    catalog: dict[str, Query] = {}
    for name, spec in data["queries"].items():
        where = f"queries.{name}"
        if not isinstance(name, str) or not QUERY_NAME.match(name):
            raise _fail(path, where, "a query name is kebab-case (overdue-hazards)")
        if not isinstance(spec, dict):
            raise _fail(path, where, "expected a mapping")
        for key in spec:
            if key not in ("title", "description", "parameters", "columns", "outputs"):
                raise _fail(path, f"{where}.{key}", "unknown field (known: title, description, parameters, "
                                                    "columns, outputs)")
        title = _texts(path, f"{where}.title", spec.get("title"))
        description = _texts(path, f"{where}.description", spec.get("description"))
        raw_params = spec.get("parameters") or {}
        if not isinstance(raw_params, dict):
            raise _fail(path, f"{where}.parameters", "expected a mapping")
        parameters: dict[str, Parameter] = {}
        names: set[str] = set()
        for pname, pspec in raw_params.items():
            param = _parameter(path, f"{where}.parameters.{pname}", pname, pspec, vocabularies)
            for n in (param.name,) + param.aliases:
                if n in names:
                    raise _fail(path, f"{where}.parameters.{pname}", f"the name '{n}' is used twice")
                names.add(n)
            parameters[param.name] = param
        outputs = {DEFAULT_OUTPUT: Output(DEFAULT_OUTPUT, _columns(path, f"{where}.columns", spec.get("columns")))}
        raw_outputs = spec.get("outputs") or {}
        if not isinstance(raw_outputs, dict):
            raise _fail(path, f"{where}.outputs", "expected a mapping")
        for oname, ospec in raw_outputs.items():
            owhere = f"{where}.outputs.{oname}"
            if oname == DEFAULT_OUTPUT or not isinstance(oname, str) or not IDENTIFIER.match(oname):
                raise _fail(path, owhere, f"an output name is lower_snake_case and not '{DEFAULT_OUTPUT}'")
            if not isinstance(ospec, dict):
                raise _fail(path, owhere, "expected a mapping with when and columns")
            outputs[oname] = Output(oname, _columns(path, f"{owhere}.columns", ospec.get("columns")),
                                    _texts(path, f"{owhere}.when", ospec.get("when")))
        catalog[name] = Query(name, title, description, parameters, outputs)
    return catalog


# -- implementations ----------------------------------------------------------------------------------------

Implementation = Callable[[Any, dict], Iterable[dict]]  # (session, resolved parameters) -> rows


@dataclass(frozen=True)
class _Registered:
    function: Implementation
    output: Callable[[dict, Any], str]  # which output (set of columns) the parameters and the session select
    outputs: tuple[str, ...]


_IMPLEMENTATIONS: dict[str, _Registered] = {}


def implements(name: str, outputs: tuple[str, ...] = (DEFAULT_OUTPUT,),
               output: Callable[[dict, Any], str] = lambda params, session: DEFAULT_OUTPUT) -> Callable:
    """Register the implementation of query ``name``: ``function(session, params)`` checks what it must
    and returns an iterator of row dicts (a generator, so that rows stream); ``output(params, session)``
    names the output (set of columns) they have."""

    def register(function: Implementation) -> Implementation:
        _IMPLEMENTATIONS[name] = _Registered(function, output, outputs)
        return function

    return register


def _check_implementations(catalog: dict[str, Query], path: Path) -> None:
    for name, query in catalog.items():
        registered = _IMPLEMENTATIONS.get(name)
        if registered is None:
            raise _fail(path, f"queries.{name}", "no implementation in accountability.queries")
        for output in registered.outputs:
            if output not in query.outputs:
                raise _fail(path, f"queries.{name}.outputs", f"the implementation produces output '{output}'")
    for name in _IMPLEMENTATIONS:
        if name not in catalog:
            raise _fail(path, "queries", f"missing query '{name}' (implemented in accountability.queries)")


def _scope(session, params: dict) -> set[str] | None:
    """The jurisdictions a query covers: the subtree of ``jurisdiction``, or None for all of them — both cut
    to what the session's user may see."""
    return session.scope.within(params.get("jurisdiction"))


def _unresolved(session, on: str, scope: set[str] | None, industry: str | None = None
                ) -> Iterator[tuple[dict, list[dict]]]:
    """Hazards unresolved on ``on`` lying in ``scope`` (and of ``industry``), with their state events,
    in id order."""
    session.graph.load_all()
    for hazard, events in session.store.hazard_records(unresolved_on=on):
        if (scope is None or hazard["jurisdiction_id"] in scope) and (industry is None or hazard["industry"] == industry):
            yield hazard, events


def _principals(chain: Chain) -> tuple[list[str], list[str]]:
    """``post: name`` of each holder of a non-escalated principal-leadership link (``post: —`` when
    vacant), and their person ids."""
    labels: list[str] = []
    people: list[str] = []
    for link in chain.links:
        if link.degree != PRINCIPAL or link.escalated:
            continue
        if not link.holders:
            labels.append(f"{link.post_title}: —")
        for holder in link.holders:
            labels.append(f"{link.post_title}: {holder.name}")
            if holder.person_id not in people:
                people.append(holder.person_id)
    return labels, people


@implements("overdue-hazards")
def overdue_hazards(session, p: dict) -> Iterator[dict]:
    on, scope = p["as_of"], _scope(session, p)

    def rows() -> Iterator[dict]:
        overdue = []
        for hazard, events in _unresolved(session, on, scope, p.get("industry")):
            state = hazard_state(hazard, events, on)
            if state["overdue_days"] > 0:
                overdue.append((hazard, events, state))
        overdue.sort(key=lambda x: (-x[2]["overdue_days"], x[0]["id"]))
        window = Window.on(on)
        for hazard, events, state in overdue:
            # only the hazards that are overdue are traced, most overdue first
            labels, people = _principals(session.engine.chain(hazard, events, window))
            yield {
                "hazard_id": hazard["id"], "description": hazard["description"], "industry": hazard["industry"],
                "level": hazard["level"], "jurisdiction_id": hazard["jurisdiction_id"],
                "organization_id": hazard["organization_id"], "found_on": hazard["found_on"],
                "deadline": state["deadline"], "days_overdue": state["overdue_days"],
                "escalated_on": state["escalated_on"], "principals": labels, "person_ids": people,
            }

    return rows()


@implements("official-exposure", outputs=(DEFAULT_OUTPUT, "ranking"),
            output=lambda p, session: DEFAULT_OUTPUT if p.get("person") else "ranking")
def official_exposure(session, p: dict) -> Iterator[dict]:
    on, scope, person = p["as_of"], _scope(session, p), p.get("person")
    window = Window.on(on)
    if person and p.get("limit"):
        raise UsageError("official-exposure: limit applies to the ranking (without person)")

    def exposure() -> Iterator[dict]:
        for hazard, events in unresolved_in(session, scope, set(), on):
            chain = session.engine.chain(hazard, events, window)
            for link in chain.links:
                if any(h.person_id == person for h in link.holders):
                    yield {
                        "person_id": person, "hazard_id": hazard["id"], "industry": hazard["industry"],
                        "level": hazard["level"], "jurisdiction_id": hazard["jurisdiction_id"],
                        "organization_id": hazard["organization_id"], "post_id": link.post_id,
                        "post_title": link.post_title, "duty": link.duty, "degree": link.degree,
                        "escalated": link.escalated, "rules": list(link.rules),
                    }

    def ranking() -> Iterator[dict]:
        yield from exposure_ranking(session, on, p.get("jurisdiction"), p.get("limit"),
                                    with_measures=False)["officials"]

    return exposure() if person else ranking()


def exposure_ranking(session, as_of: str, jurisdiction: str | None = None, limit: int | None = 50,
                     with_measures: bool = True) -> dict:
    """People ranked by how many hazards unresolved on ``as_of`` (in ``jurisdiction``'s subtree, or all, as the
    user sees them) they answer for — each hazard once, at the person's heaviest degree — the first ``limit``
    (None: all), and how many of those hazards have a structural gap in their chain: ``{jurisdiction,
    hazards, with_gaps, officials}``. The ``official-exposure`` query's ranking is ``officials``. With
    ``with_measures``, under a v2 ruleset each official also carries ``measures_overdue``: the overdue measures
    they answer for (rule M1, wherever in the user's view).

    This traces every hazard in scope; for a whole province that is minutes, so the app asks for a
    scope (a city) there.
    """
    weight = SCHEMA.degree_weights
    window = Window.on(as_of)
    people: dict[str, dict] = {}
    hazards = with_gaps = 0
    for hazard, events in unresolved_in(session, session.scope.within(jurisdiction), set(), as_of):
        chain = session.engine.chain(hazard, events, window)
        hazards += 1
        if any(g["kind"] in SCHEMA.structural_gaps for g in chain.gaps):
            with_gaps += 1
        heaviest: dict[str, str] = {}  # a person counts once per hazard, at their heaviest degree
        for link in chain.links:
            for h in link.holders:
                old = heaviest.get(h.person_id)
                if old is None or weight[link.degree] > weight[old]:
                    heaviest[h.person_id] = link.degree
                entry = people.get(h.person_id)
                if entry is None:
                    entry = people[h.person_id] = {"person_id": h.person_id, "name": h.name, "hazards": 0,
                                                   **{d: 0 for d in weight}, "post_ids": set()}
                entry["post_ids"].add(link.post_id)
        for pid, degree in heaviest.items():
            people[pid]["hazards"] += 1
            people[pid][degree] += 1
    ranked = sorted(people.values(), key=lambda r: (-r["hazards"], -r[PRINCIPAL], r["person_id"]))[:limit]
    overdue = measures.overdue_counts(session, as_of) if with_measures and session.ruleset.generation >= 2 else None
    for r in ranked:
        r["post_ids"] = sorted(r["post_ids"])
        if overdue is not None:
            r["measures_overdue"] = overdue.get(r["person_id"], 0)
    return {"jurisdiction": jurisdiction, "hazards": hazards, "with_gaps": with_gaps, "officials": ranked}


# Above this many jurisdictions, one pass over the unresolved hazards beats looking them up by jurisdiction.
SCAN_ABOVE = 300


def unresolved_in(session, jurisdictions: set[str] | None, enterprises: set[str],
                  as_of: str) -> Iterator[tuple[dict, list[dict]]]:
    """Hazards unresolved on ``as_of`` (with their events, in id order) lying in ``jurisdictions`` (None:
    anywhere) or at one of ``enterprises``, and where the user may see them: looked up by jurisdiction when
    the scope is small, else one pass over every unresolved hazard."""
    within = session.scope.jurisdictions
    for hazard, events in _unresolved_in(session, jurisdictions, enterprises, as_of):
        if within is None or hazard["jurisdiction_id"] in within:
            yield hazard, events


def _unresolved_in(session, jurisdictions: set[str] | None, enterprises: set[str],
                   as_of: str) -> Iterator[tuple[dict, list[dict]]]:
    if jurisdictions is None or len(jurisdictions) > SCAN_ABOVE:
        if jurisdictions is None or len(jurisdictions) > 4 * SCAN_ABOVE:
            session.graph.load_all()  # many chains to come: read the graph at once, not piece by piece
        for hazard, events in session.store.hazard_records(unresolved_on=as_of):
            if jurisdictions is None or hazard["jurisdiction_id"] in jurisdictions \
                    or hazard["organization_id"] in enterprises:
                yield hazard, events
        return
    ids: set[str] = set()
    if jurisdictions:
        ids |= {h["id"] for h in session.store.rows("hazards", jurisdiction_id=sorted(jurisdictions))
                if unresolved_on(h, as_of)}
    if enterprises:
        ids |= {h["id"] for h in session.store.rows("hazards", organization_id=sorted(enterprises))
                if unresolved_on(h, as_of)}
    if ids:
        yield from session.store.hazard_records(ids=sorted(ids))


def _vacancies(window: tuple[int, int], held: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``window`` (ordinals, inclusive) that no interval of ``held`` covers."""
    out, cursor = [], window[0]
    for a, b in sorted(held):
        if a > cursor:
            out.append((cursor, min(a - 1, window[1])))
        cursor = max(cursor, b + 1)
        if cursor > window[1]:
            break
    if cursor <= window[1]:
        out.append((cursor, window[1]))
    return [(a, b) for a, b in out if a <= b]


def _window(name: str, p: dict) -> tuple[str, str]:
    """The day or the period of a query taking ``as_of`` or ``start``/``end`` (default: today)."""
    start, end = p.get("start"), p.get("end")
    if p.get("as_of") and (start or end):
        raise UsageError(f"{name}: give either as_of or start/end, not both")
    if start or end:
        if not start:
            raise UsageError(f"{name}: a period needs its start")
        end = end or today()
        if end < start:
            raise UsageError(f"{name}: the period ends ({end}) before it starts ({start})")
        return start, end
    on = p.get("as_of") or today()
    return on, on


@implements("who-held")
def who_held(session, p: dict) -> Iterator[dict]:
    post_id, role, jid, scope_kind = p.get("post"), p.get("role"), p.get("jurisdiction"), p["scope"]
    if bool(post_id) == bool(role):
        raise UsageError("who-held: give post or role (one of them)")
    if post_id and jid:
        raise UsageError("who-held: jurisdiction goes with role, not with post")
    if scope_kind == "own" and not jid:
        raise UsageError("who-held: scope own needs a jurisdiction")
    start, end = _window("who-held", p)
    graph = session.graph
    if post_id:
        row = next(session.store.rows("posts", id=post_id))
        graph.org(row["organization_id"])  # loads the organization's posts and their tenures
        posts = [graph.posts[post_id]]
    else:
        graph.load_all()
        scope = session.scope.within(None) if not jid else ({jid} if scope_kind == "own" else graph.subtree(jid))
        posts = sorted(
            (x for x in graph.posts.values()
             if x.role == role and (scope is None or graph.orgs[x.organization_id].jurisdiction_id in scope)),
            key=lambda x: x.id,
        )
    span = (day(start), day(end))

    def rows() -> Iterator[dict]:
        for post in posts:
            org = graph.orgs[post.organization_id]
            base = {"post_id": post.id, "post_title": post.title, "organization_id": org.id,
                    "jurisdiction_id": org.jurisdiction_id, "role": post.role}
            found, held = [], []
            for t in post.tenures:
                a, b = max(day(t.start), span[0]), min(day(t.end), span[1])
                if a <= b:
                    held.append((a, b))
                    found.append((a, 0, {**base, "person_id": t.person_id, "name": t.name,
                                         "start": t.start, "end": None if t.end == FOREVER else t.end,
                                         "acting": t.acting}))
            for a, b in _vacancies(span, held):
                found.append((a, 1, {**base, "person_id": None, "name": None, "start": iso(a), "end": iso(b),
                                     "acting": None}))
            for _, _, row in sorted(found, key=lambda x: (x[0], x[1], x[2]["person_id"] or "")):
                yield row

    return rows()


def _gap_key(graph, gap: dict) -> tuple:
    """Where a gap lives: (kind, jurisdiction, industry, organization, post, post title)."""
    kind = gap["kind"]
    if kind == "vacant_post":
        return kind, gap["jurisdiction_id"], None, gap["organization_id"], gap["post_id"], gap["post_title"]
    if kind == "no_regulator":
        # the county-or-higher jurisdiction that should assign the industry to a department
        return kind, gap["regulator_jurisdiction_id"], gap["industry"], None, None, None
    if kind == "no_portfolio":
        return kind, gap["jurisdiction_id"], gap["industry"], None, None, None
    org = graph.orgs.get(gap["organization_id"])
    return kind, org.jurisdiction_id if org else None, None, gap["organization_id"], None, None


@implements("regulatory-gaps")
def regulatory_gaps(session, p: dict) -> Iterator[dict]:
    on, scope, only = p["as_of"], _scope(session, p), p.get("kind")
    kinds = (only,) if only else SCHEMA.structural_gaps
    order = {code: i for i, code in enumerate(SCHEMA.vocab("gap_kinds"))}

    def rows() -> Iterator[dict]:
        window = Window.on(on)
        groups: dict[tuple, list[str]] = {}
        for hazard, events in _unresolved(session, on, scope, p.get("industry")):
            for gap in session.engine.chain(hazard, events, window).gaps:
                if gap["kind"] in kinds:
                    hazards = groups.setdefault(_gap_key(session.graph, gap), [])
                    if hazard["id"] not in hazards:
                        hazards.append(hazard["id"])
        for key in sorted(groups, key=lambda k: (order.get(k[0], 99),) + tuple(x or "" for x in k[1:])):
            kind, jid, industry, org, post, title = key
            yield {"kind": kind, "jurisdiction_id": jid, "industry": industry, "organization_id": org,
                   "post_id": post, "post_title": title, "hazards": len(groups[key]), "hazard_ids": groups[key]}

    return rows()


@implements("handover-risk")
def handover_risk(session, p: dict) -> Iterator[dict]:
    on, scope = p["as_of"], _scope(session, p)

    def rows() -> Iterator[dict]:
        for hazard, events in _unresolved(session, on, scope):
            window = Window(hazard["found_on"], on)
            for link in session.engine.chain(hazard, events, window).links:
                holders = sorted(link.holders, key=lambda h: ((h.overlap or (window.start,))[0], h.person_id))
                people, names, changed = [], [], []
                for h in holders:
                    if h.person_id not in people:
                        if people:
                            changed.append((h.overlap or (window.start,))[0])
                        people.append(h.person_id)
                        names.append(h.name)
                if len(people) > 1:
                    yield {"hazard_id": hazard["id"], "industry": hazard["industry"], "level": hazard["level"],
                           "jurisdiction_id": hazard["jurisdiction_id"], "found_on": hazard["found_on"],
                           "post_id": link.post_id, "post_title": link.post_title, "duty": link.duty,
                           "degree": link.degree, "escalated": link.escalated, "holders": len(people),
                           "person_ids": people, "names": names, "changed_on": changed}

    return rows()


@implements("unescalated-major")
def unescalated_major(session, p: dict) -> Iterator[dict]:
    on, scope = p["as_of"], _scope(session, p)

    def rows() -> Iterator[dict]:
        window = Window.on(on)
        found = []
        for hazard, events in _unresolved(session, on, scope):
            if hazard["level"] != "major":
                continue
            chain = session.engine.chain(hazard, events, window)
            gaps = {g["kind"]: g for g in chain.gaps}
            days = gaps["overdue"]["days"] if "overdue" in gaps else 0
            if "unescalated_major" in gaps or days:
                found.append((hazard, hazard_state(hazard, events, on), chain, "unescalated_major" in gaps, days))
        found.sort(key=lambda x: (-x[4], x[0]["found_on"], x[0]["id"]))
        for hazard, state, chain, unescalated, days in found:
            labels, people = _principals(chain)
            yield {"hazard_id": hazard["id"], "description": hazard["description"], "industry": hazard["industry"],
                   "jurisdiction_id": hazard["jurisdiction_id"], "organization_id": hazard["organization_id"],
                   "found_on": hazard["found_on"], "deadline": state["deadline"],
                   "escalated_on": state["escalated_on"], "unescalated": unescalated, "days_overdue": days,
                   "principals": labels, "person_ids": people}

    return rows()


@implements("chain", outputs=(DEFAULT_OUTPUT, "v2"),
            output=lambda p, session: "v2" if session.ruleset.generation >= 2 else DEFAULT_OUTPUT)
def chain(session, p: dict) -> Iterator[dict]:
    """``trace``'s CSV rows, as ``trace --format csv`` writes them (v2: with the assessment and evidence
    columns); a row holds the keys it has values for, as ``output.chain_rows`` gives it."""
    traced = session.trace(p["hazard"], as_of=p.get("as_of"), start=p.get("start"), end=p.get("end"))
    return chain_rows(traced.as_dict(session.ruleset, "zh"))


# -- conduct (generation-2 rulesets) ------------------------------------------------------------------------


def _conduct_rule(session, kind: str) -> str | None:
    """The id of the ruleset's conduct rule of ``kind`` (``missed_inspection``: R10 in reference-v2), or None
    when the ruleset has none (reference-v1 judges no conduct)."""
    return next((c.id for c in session.ruleset.conduct if c.kind == kind), None)


def _unresolved_v2(session, on: str, scope: set[str] | None, industry: str | None = None) -> Iterator[dict]:
    """Hazards unresolved on ``on`` by v2's reading, as ``trace --all`` reads them (a ``reopened`` or relapsed
    ``reinspected`` event makes a hazard unresolved although its row says closed; a ``closed`` event closes
    it), lying in ``scope`` and of ``industry`` (any of its industries), in id order."""
    from accountability.trace_v2 import industries

    for hazard, _ in session.unresolved_v2(on, scope):
        if industry is None or industry in industries(hazard):
            yield hazard


def _acts(chain: Chain, rule: str) -> list:
    """The conduct links of ``rule`` in ``chain``, by day of the act and post."""
    return sorted((link for link in chain.links if link.act is not None and link.act[0] == rule),
                  key=lambda link: (link.act[1], link.post_id))


def _held_by(link) -> tuple[list[str], list[str]]:
    """The person ids and names of a link's holders, each person once."""
    people: list[str] = []
    names: list[str] = []
    for h in link.holders:
        if h.person_id not in people:
            people.append(h.person_id)
            names.append(h.name)
    return people, names


@implements("missed-inspections")
def missed_inspections(session, p: dict) -> Iterator[dict]:
    on, scope, rule = p["as_of"], _scope(session, p), _conduct_rule(session, "missed_inspection")

    def rows() -> Iterator[dict]:
        if rule is None:
            return
        window, records = Window.on(on), session.engine.records
        for hazard in _unresolved_v2(session, on, scope, p.get("industry")):
            units = [u for u in [hazard["organization_id"], *(hazard.get("other_organization_ids") or ())] if u]
            # the engine's own finder, first: only the few hazards it finds something for are traced
            if not conduct.missed_inspections(hazard, records.events(hazard["id"]), units, records, on):
                continue
            acts = _acts(session.engine.chain(hazard, None, window), rule)
            inspections = {r["id"]: r for unit in units for r in records.inspections(unit)}
            for link in acts:
                people, names = _held_by(link)
                # a link is one (post, day): two units inspected that day are two inspections behind it
                for evidence in link.evidence:
                    inspection = inspections[evidence["id"]]
                    listed = hazard["id"] in (inspection["hazard_ids"] or ())
                    yield {"hazard_id": hazard["id"], "industry": hazard["industry"], "level": hazard["level"],
                           "jurisdiction_id": hazard["jurisdiction_id"],
                           "organization_id": inspection["organization_id"], "inspection_id": inspection["id"],
                           "inspected_on": inspection["on"], "outcome": inspection["outcome"],
                           "failure": "not_handled" if listed else "missed", "post_id": link.post_id,
                           "post_title": link.post_title, "inspecting_organization_id": link.organization_id,
                           "duty": link.duty, "person_ids": people, "names": names}

    return rows()


@implements("false-closures")
def false_closures(session, p: dict) -> Iterator[dict]:
    on, scope, rule = p["as_of"], _scope(session, p), _conduct_rule(session, "false_closure")

    def rows() -> Iterator[dict]:
        if rule is None:
            return
        session.graph.load_all()
        records = session.engine.records.load_all()
        # only a hazard that was reopened or relapsed can have had a false closure, whatever its state today
        reopened = sorted(records.reopened())
        window = Window.on(on)
        for hazard, _ in session.store.hazard_records(ids=reopened, events=False) if reopened else ():
            events = records.events(hazard["id"])
            if scope is not None and hazard["jurisdiction_id"] not in scope or not conduct.false_closures(events, on):
                continue
            acts = _acts(session.engine.chain(hazard, None, window), rule)
            unresolved = conduct.state(hazard, events, on)["unresolved"]
            for link in acts:
                signed = next(e for e in link.evidence if e["event"] == "closed")
                after = next(e for e in link.evidence if e["event"] != "closed")
                people, names = _held_by(link)
                yield {"hazard_id": hazard["id"], "industry": hazard["industry"], "level": hazard["level"],
                       "jurisdiction_id": hazard["jurisdiction_id"], "organization_id": hazard["organization_id"],
                       "signed_on": signed["date"], "post_id": link.post_id, "post_title": link.post_title,
                       "signing_organization_id": link.organization_id, "duty": link.duty, "person_ids": people,
                       "names": names, "reopened_on": after["date"],
                       "reopening": "relapsed" if after["event"] == "reinspected" else "reopened",
                       "unresolved": unresolved}

    return rows()


def _reason(reason: dict) -> str:
    """One reason of an assessment in a few words of codes, ids and dates (rows are for machines too)."""
    kind = reason.get("kind")
    if kind == "inspection":
        return f"inspection {reason['id']} {reason['date']} {reason['outcome']}"
    if kind == "event":
        return " ".join(str(x) for x in ("event", reason["event"], reason["hazard_id"], reason["date"],
                                          reason.get("outcome")) if x)
    if kind == "tenure":
        return f"tenure since {reason['start']}: {reason['days']} < {reason['min_days']} days"
    if kind == "overlap":
        return (f"overlap {reason['days']} < {reason['min_days']} days; "
                f"{reason['other_person_id']} {reason['other_days']} days")
    return " ".join(str(v) for v in reason.values())


@implements("exemptions")
def exemptions(session, p: dict) -> Iterator[dict]:
    # the jurisdiction is where the posts sit: a designated or inspecting post may answer for a hazard far off,
    # so every hazard the user sees is traced and its links kept by their own jurisdiction
    on, posts_in, hazards_in = p["as_of"], _scope(session, p), session.scope.within(None)
    wanted = (p["status"],) if p.get("status") else ("exempt", "no_conditions")

    def rows() -> Iterator[dict]:
        if session.ruleset.generation < 2:
            return
        window = Window.on(on)
        found = []
        for hazard in _unresolved_v2(session, on, hazards_in):
            for link in session.engine.chain(hazard, None, window).links:
                if posts_in is not None and link.jurisdiction_id not in posts_in:
                    continue
                seen: set[str] = set()  # one status per person per link, whatever their tenure entries
                for h in link.holders:
                    if h.assessment is None or h.assessment[0] not in wanted or h.person_id in seen:
                        continue
                    seen.add(h.person_id)
                    found.append({"jurisdiction_id": link.jurisdiction_id, "organization_id": link.organization_id,
                                  "post_id": link.post_id, "post_title": link.post_title, "person_id": h.person_id,
                                  "name": h.name, "status": h.assessment[0],
                                  "reasons": [_reason(r) for r in h.assessment[1]], "hazard_id": hazard["id"],
                                  "duty": link.duty, "degree": link.degree, "rules": list(link.rules)})
        found.sort(key=lambda r: (r["jurisdiction_id"] or "", r["post_id"], r["person_id"], r["hazard_id"],
                                  r["duty"]))
        yield from found

    return rows()


@implements("duty-on")
def duty_on(session, p: dict) -> Iterator[dict]:
    from accountability import duty

    return iter(duty.on_duty(session, p.get("at"), p.get("jurisdiction"))["rows"])


@implements("duty-gaps")
def duty_gaps(session, p: dict) -> Iterator[dict]:
    from accountability import duty

    return iter(duty.gaps(session, p["start"], p["end"], p.get("jurisdiction"), left_by=True)["gaps"])


# -- running ---------------------------------------------------------------------------------------------------


def _coerce(query: Query, param: Parameter, value: Any) -> Any:
    """``value`` as ``param``'s type, or UsageError naming the query, the parameter and the type."""
    where = f"{query.name}: {param.name}"
    if param.type == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip()
        if text == "today":
            return today()
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise UsageError(f"{where}: '{value}' is not a date (YYYY-MM-DD)") from None
        if len(text) != 10:
            raise UsageError(f"{where}: '{value}' is not a date (YYYY-MM-DD)")
        return text
    if param.type == "int":
        if isinstance(value, bool):
            raise UsageError(f"{where}: '{value}' is not an integer")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise UsageError(f"{where}: '{value}' is not an integer") from None
        if param.minimum is not None and number < param.minimum:
            raise UsageError(f"{where}: {number} is below the minimum {param.minimum}")
        return number
    if not isinstance(value, str):
        raise UsageError(f"{where}: expected a text ({param.type}), got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise UsageError(f"{where}: empty value")
    if param.values is not None and value not in param.values:
        raise UsageError(f"{where}: '{value}' is not one of {', '.join(param.values)}")
    vocabulary = param.vocabulary or (TYPE_VOCABULARIES.get(param.type) if param.type != "industry" else None)
    if vocabulary and value not in SCHEMA.vocab(vocabulary):
        raise UsageError(f"{where}: unknown {param.type} '{value}'; expected one of "
                         f"{', '.join(SCHEMA.vocab(vocabulary))}")
    return value


def resolve(name: str, params: dict[str, Any]) -> tuple[Query, dict[str, Any]]:
    """The query ``name`` and its parameters checked, typed and defaulted (no store needed).

    >>> resolve("who-held", {"role": "party_secretary", "from": "2025-01-01"})[1]
    {'post': None, 'role': 'party_secretary', 'jurisdiction': None, 'scope': 'subtree', 'as_of': None, 'start': '2025-01-01', 'end': None}
    >>> resolve("who-held", {"role": "mayor"})
    Traceback (most recent call last):
    ...
    accountability.errors.UsageError: who-held: role: unknown role 'mayor'; expected one of party_secretary, government_head, executive_deputy_head, deputy_head, department_head, deputy_department_head, committee_director, park_director, enterprise_principal, safety_manager, actual_controller, other
    """
    query = CATALOG.get(name)
    if query is None:
        raise UsageError(f"unknown query '{name}'; the queries are: {', '.join(CATALOG)}")
    by_name = {n: p for p in query.parameters.values() for n in (p.name,) + p.aliases}
    given: dict[str, Any] = {}
    for key, value in params.items():
        param = by_name.get(key)
        if param is None:
            raise UsageError(f"{name}: unknown parameter '{key}'; {query.usage()}")
        if value is None or value == "":
            continue
        if param.name in given:
            raise UsageError(f"{name}: {param.name} given twice")
        given[param.name] = _coerce(query, param, value)
    out: dict[str, Any] = {}
    for param in query.parameters.values():
        if param.name in given:
            out[param.name] = given[param.name]
        elif param.required:
            raise UsageError(f"{name}: missing parameter '{param.name}'; {query.usage()}")
        elif param.default is not None:
            out[param.name] = _coerce(query, param, param.default)
        else:
            out[param.name] = None
    return query, out


def _check_references(session, query: Query, params: dict[str, Any]) -> None:
    """Ids must name rows of the store; industries may extend the vocabulary in the dataset."""
    for param in query.parameters.values():
        value = params.get(param.name)
        if value is None:
            continue
        if param.type == "jurisdiction":
            session.graph.jurisdiction(value)
            session.check("jurisdictions", value)
        elif param.type == "hazard":
            session.hazard(value)
        elif param.type in REFERENCE_TYPES:
            table = REFERENCE_TYPES[param.type]
            if next(session.store.rows(table, id=value), None) is None:
                raise NotFound(f"{query.name}: {param.name}: unknown {param.type} '{value}'")
            session.check(table, value)
        elif param.type == "industry":
            known = set(SCHEMA.vocab("industries")) | {r["code"] for r in session.store.rows("industries")}
            if value not in known:
                raise UsageError(f"{query.name}: {param.name}: unknown industry '{value}'; expected one of "
                                 f"{', '.join(sorted(known))}")


class Result(RowStream):
    """The answer of a named query: ``columns`` (keys of every row), and the rows, streamed once.

    Iterate it (or ``result.rows``) for row dicts. Use it as a context manager, or exhaust it, so that a
    session it opened itself is closed.
    """

    def __init__(self, query: Query, params: dict[str, Any], output: str, rows: Iterable[dict],
                 close: Callable[[], None] | None = None):
        self.query = query
        self.params = params
        self.output = query.outputs[output]
        self._close = close
        self.rows: Iterator[dict] = self._stream(iter(rows))

    @property
    def name(self) -> str:
        return self.query.name

    @property
    def columns(self) -> list[str]:
        return self.output.names

    def labels(self, lang: str = "zh") -> list[str]:
        return [c.label[lang] for c in self.output.columns]

    def _stream(self, rows: Iterator[dict]) -> Iterator[dict]:
        try:
            yield from rows
        finally:
            self.close()

    def __exit__(self, *exc: object) -> None:
        self.rows.close()  # the generator's own ``finally`` first
        self.close()


def run(name: str, session=None, **params: Any) -> Result:
    """Run the named query ``name`` with ``params`` (strings are parsed, e.g. from ``--param k=v``).

    Without ``session`` it opens the default store (``ACCOUNTABILITY_STORE``) read-only and closes it when
    the rows are exhausted or the result is closed. Parameters are checked before anything runs: an
    unknown query, an unknown, missing or mistyped parameter raise :class:`UsageError` listing what is
    expected; an id the store does not hold raises :class:`NotFound`.
    """
    query, resolved = resolve(name, params)
    close = None
    if session is None:
        from accountability.session import Session

        session = Session(readonly=True)
        close = session.close
    try:
        _check_references(session, query, resolved)
        registered = _IMPLEMENTATIONS[name]
        output = registered.output(resolved, session)
        rows = registered.function(session, resolved)
    except BaseException:
        if close:
            close()
        raise
    return Result(query, resolved, output, rows, close)


def catalog() -> list[Query]:
    """Every named query, in the catalog's order."""
    return list(CATALOG.values())


def get(name: str) -> Query:
    try:
        return CATALOG[name]
    except KeyError:
        raise UsageError(f"unknown query '{name}'; the queries are: {', '.join(CATALOG)}") from None


CATALOG: dict[str, Query] = load_catalog()
_check_implementations(CATALOG, CATALOG_PATH)
