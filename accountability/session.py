"""A session: one store, the graph built from it and the engine over it.

This is the library's front door; the CLI, the queries, the reports and the app all go through it::

    >>> from accountability.session import Session
    >>> with Session("accountability.db") as s:             # doctest: +SKIP
    ...     chain = s.trace("H000001", as_of="2026-06-30")
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Collection, Iterator

from accountability import settings
from accountability.access import NOBODY_CONFIGURED, Scope, User
from accountability.errors import NotFound, UsageError
from accountability.graph import Graph
from accountability.memory import gc_paused
from accountability.progress import Progress, counted
from accountability.stores import Store, open_store
from accountability.dates import Window, day, iso, today
from accountability.trace import HAZARD_COLUMNS, Chain, Engine, IncidentChain, unresolved_on
from graph_schema import SCHEMA, Ruleset, load_rules


def parse_date(value: str | None, name: str = "date") -> str | None:
    if value is None or value == "":
        return None
    try:
        day(str(value))
    except ValueError:
        raise UsageError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None
    if len(str(value)) != 10:
        raise UsageError(f"{name}: '{value}' is not a date (YYYY-MM-DD)")
    return str(value)


def load_ruleset(path: str | Path | None) -> Ruleset:
    path = path or settings.get("rules")
    return load_rules(path, SCHEMA.vocabularies) if path else SCHEMA.rules


class Session:
    """``user`` decides what the session shows (see ``accountability.access``); by default everything."""

    def __init__(self, store: Store | str | None = None, rules: str | Path | None = None, readonly: bool = False,
                 user: User = NOBODY_CONFIGURED):
        if store is None or isinstance(store, str):
            store = open_store(store or settings.get("store"), readonly=readonly)
        self.store = store
        self.ruleset = load_ruleset(rules)
        self.user = user
        self._scope: Scope | None = None
        self._graph: Graph | None = None
        self._engine: Engine | None = None

    def as_user(self, user: User) -> "Session":
        """This session (same store, graph and engine caches) as seen by ``user``."""
        graph, engine = self.graph, self.engine  # built once, here, so that every view shares them
        view = copy.copy(self)
        view._graph, view._engine, view.user, view._scope = graph, engine, user, None
        return view

    # -- access ---------------------------------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        if self._scope is None:
            self._scope = Scope(self, self.user)
        return self._scope

    def require(self, action: str) -> None:
        """Refuse (AccessDenied) what the user's role or scope does not allow."""
        self.user.require(action)

    def roots(self) -> list[str]:
        """The topmost jurisdictions the user sees: their scope, or the roots of the tree."""
        if self.user.scope:
            self.scope  # noqa: B018 - a scope that is not a jurisdiction here is refused, not listed
            return [self.user.scope]
        return sorted(j.id for j in self.graph.jurisdictions.values() if not j.parent_id)

    def visible(self, table: str, row_or_id: dict | str) -> bool:
        return self.scope.allows(table, row_or_id)

    def check(self, table: str, row_or_id: dict | str) -> None:
        self.scope.check(table, row_or_id)

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = Graph(self.store)
        return self._graph

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            if self.ruleset.generation >= 2:
                from accountability.trace_v2 import EngineV2

                self._engine = EngineV2(self.graph, self.ruleset)
            else:
                self._engine = Engine(self.graph, self.ruleset)
        return self._engine

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lookups ----------------------------------------------------------------------------------------

    def hazard(self, hazard_id: str) -> tuple[dict, list[dict]]:
        for record in self.store.hazard_records(ids=[hazard_id]):
            self.check("hazards", record[0])
            return record
        raise NotFound(f"unknown hazard '{hazard_id}'")

    def unresolved(self, hazard: dict, on: str) -> bool:
        """Whether ``hazard`` is unresolved on ``on`` as the ruleset reads it (v2: its closures and what
        reopened them, from the events, too)."""
        if self.ruleset.generation >= 2:
            from accountability import conduct

            return conduct.state(hazard, self.engine.records.events(hazard["id"]), on)["unresolved"]
        return unresolved_on(hazard, on)

    def search(self, text: str, table: str | None = None, limit: int = 50) -> list[dict]:
        """Entities (of ``table``, or any) whose id, name or title contains ``text``, that the user may see.

        The store applies the table and the scope inside its query: matches in scope are never crowded out
        by matches elsewhere."""
        return self.store.search(text, limit=limit, within=self.scope.jurisdictions, table=table)

    def incident_row(self, incident_id: str) -> dict:
        for row in self.store.rows("incidents", id=incident_id):
            self.check("incidents", row)
            return row
        raise NotFound(f"unknown incident '{incident_id}'")

    def person(self, person_id: str) -> dict:
        """The person's row; NotFound, or AccessDenied outside the user's scope."""
        for row in self.store.rows("people", id=person_id):
            self.check("people", row)
            return row
        raise NotFound(f"unknown person '{person_id}'")

    def incidents(self) -> list[dict]:
        """Every incident the user may see."""
        return [row for row in self.store.rows("incidents") if self.visible("incidents", row)]

    def unresolved_hazards(self, on: str, limit: int) -> list[dict]:
        """The rows of the first ``limit`` hazards (in id order) unresolved on ``on`` that the user may see."""
        rows = (hazard for hazard, _ in self.store.hazard_records(unresolved_on=on) if self.visible("hazards", hazard))
        return list(itertools.islice(rows, limit))

    def has_column(self, table: str, column: str) -> bool:
        """Whether the dataset records ``column`` of ``table`` (an optional column may be absent)."""
        return column in self.store.schema.tables[table].names

    def dataset_meta(self) -> dict:
        """The store's dataset: its hash, when and from what it was imported ({} when nothing was)."""
        return self.store.meta() or {}

    def dataset_counts(self) -> dict[str, int]:
        """The rows the store holds, per table of the dataset contract."""
        return {table: self.store.count(table) for table in SCHEMA.tables}

    # -- tracing ----------------------------------------------------------------------------------------

    def trace(self, hazard_id: str, as_of: str | None = None, start: str | None = None,
              end: str | None = None) -> Chain:
        """The chain of a hazard on ``as_of`` or over [``start``, ``end``].

        Without dates: today for an unresolved hazard; for a closed one, its last unresolved day.
        """
        hazard, events = self.hazard(hazard_id)
        as_of, start, end = parse_date(as_of, "as_of"), parse_date(start, "from"), parse_date(end, "to")
        if start or end:
            if as_of:
                raise UsageError("give either --as-of or --from/--to, not both")
            start = start or hazard["found_on"]
            end = end or (as_of or today())
            if end < start:
                raise UsageError(f"the window ends ({end}) before it starts ({start})")
            window = Window(start, end)
        else:
            window = Window.on(as_of or self.default_as_of(hazard))
        return self.engine.chain(hazard, events, window)

    @staticmethod
    def default_as_of(hazard: dict) -> str:
        if hazard["closed_on"]:
            return max(hazard["found_on"], iso(day(hazard["closed_on"]) - 1))
        return today()

    def trace_all(self, as_of: str | None = None, progress: Progress | None = None,
                  part: Collection[str] | None = None) -> Iterator[Chain]:
        """Chains of every hazard unresolved on ``as_of`` (default today) that the user may see, streamed in
        hazard id order. ``progress`` (``accountability.progress``) hears of the hazards checked, every few
        hundred, out of a count taken first. ``part`` (jurisdiction ids): only the hazards placed there
        (``accountability.batch`` runs the parts of one run in several processes)."""
        on = parse_date(as_of, "as_of") or today()
        self.graph.load_all()
        window = Window.on(on)
        engine = self.engine
        within = self.scope.jurisdictions
        if part is not None:
            within = frozenset(part) if within is None else within & frozenset(part)
        if self.ruleset.generation >= 2:
            yield from self._trace_all_v2(on, window, within, progress)
            return
        rows = self.store.hazard_records(unresolved_on=on, columns=HAZARD_COLUMNS)
        if progress:
            rows = counted(rows, self._hazards_to_check(on), progress, "trace")
        with gc_paused():
            for hazard, events in rows:
                if within is None or hazard["jurisdiction_id"] in within:
                    yield engine.chain(hazard, events, window)

    def _hazards_to_check(self, on: str, reopened: list[str] | tuple = ()) -> int:
        """How many hazards a run over ``on`` reads: one more pass over their ids, made for progress only."""
        ids = {hazard["id"] for hazard, _ in self.store.hazard_records(unresolved_on=on, columns=("id",), events=False)}
        return len(ids.union(reopened))

    def _trace_all_v2(self, on: str, window: Window, within, progress: Progress | None = None) -> Iterator[Chain]:
        engine = self.engine
        with gc_paused():
            for hazard, state in self.unresolved_v2(on, within, progress):
                yield engine.chain(hazard, None, window, state=state)

    def unresolved_v2(self, on: str, within: Collection[str] | None = None,
                      progress: Progress | None = None) -> Iterator[tuple[dict, dict]]:
        """v2's reading of the hazards unresolved on ``on``, with their state (``conduct.state``), in id
        order: those the store holds unresolved and those reopened by an event (their rows may say closed),
        kept when unresolved by their events too; placed in ``within`` (jurisdiction ids) when given. Only
        the columns a v2 chain reads; the events come from the engine's records, read whole."""
        from accountability import conduct
        from accountability.trace_v2 import HAZARD_COLUMNS as COLUMNS

        self.graph.load_all()
        records = self.engine.records.load_all()
        columns = tuple(c for c in COLUMNS if c in self.store.schema.tables["hazards"].names)
        rows = self.store.hazard_records(unresolved_on=on, columns=columns, events=False)
        reopened = sorted(records.reopened())
        if reopened:
            rows = _merged(rows, self.store.hazard_records(ids=reopened, columns=columns, events=False))
        if progress:
            rows = counted(rows, self._hazards_to_check(on, reopened), progress, "trace")
        events, state = records.events, conduct.state
        for hazard, _ in rows:
            if within is not None and hazard["jurisdiction_id"] not in within:
                continue
            found = state(hazard, events(hazard["id"]), on)
            if found["unresolved"]:
                yield hazard, found

    def incident(self, incident_id: str) -> IncidentChain:
        """The incident's chain. Its linked hazards that lie outside the user's scope are withheld, whatever
        the data links: they do not enter the chain (nor the window, which starts at the earliest linked
        hazard the user sees), and ``withheld`` counts them without naming them."""
        incident = self.incident_row(incident_id)
        ids = list(incident["hazard_ids"] or ())
        hazards = list(self.store.hazard_records(ids=ids)) if ids else []
        shown = [record for record in hazards if self.visible("hazards", record[0])]
        chain = self.engine.incident_chain(incident, shown)
        chain.withheld = len(hazards) - len(shown)
        return chain


def _merged(a: Iterator[tuple], b: Iterator[tuple]) -> Iterator[tuple]:
    """Two streams of hazard records in id order, as one (a hazard in both, once); ``b`` is the short one."""
    b = iter(b)
    nb = next(b, None)
    for record in a:
        hid = record[0]["id"]
        while nb is not None and nb[0]["id"] < hid:
            yield nb
            nb = next(b, None)
        if nb is not None and nb[0]["id"] == hid:
            nb = next(b, None)
        yield record
    while nb is not None:
        yield nb
        nb = next(b, None)
