"""A session: one store, the graph built from it and the engine over it.

This is the library's front door; the CLI, the queries, the reports and the app all go through it::

    >>> from accountability.session import Session
    >>> with Session("accountability.db") as s:             # doctest: +SKIP
    ...     chain = s.trace("H000001", as_of="2026-06-30")
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from accountability import settings
from accountability.errors import NotFound, UsageError
from accountability.graph import Graph
from accountability.memory import gc_paused
from accountability.stores import Store, open_store
from accountability.trace import Chain, Engine, IncidentChain, Window, day, iso, today
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
    def __init__(self, store: Store | str | None = None, rules: str | Path | None = None, readonly: bool = False):
        if store is None or isinstance(store, str):
            store = open_store(store or settings.get("store"), readonly=readonly)
        self.store = store
        self.ruleset = load_ruleset(rules)
        self._graph: Graph | None = None
        self._engine: Engine | None = None

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = Graph(self.store)
        return self._graph

    @property
    def engine(self) -> Engine:
        if self._engine is None:
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
            return record
        raise NotFound(f"unknown hazard '{hazard_id}'")

    def incident_row(self, incident_id: str) -> dict:
        for row in self.store.rows("incidents", id=incident_id):
            return row
        raise NotFound(f"unknown incident '{incident_id}'")

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

    def trace_all(self, as_of: str | None = None) -> Iterator[Chain]:
        """Chains of every hazard unresolved on ``as_of`` (default today), streamed in hazard id order."""
        on = parse_date(as_of, "as_of") or today()
        self.graph.load_all()
        window = Window.on(on)
        engine = self.engine
        with gc_paused():
            for hazard, events in self.store.hazard_records(unresolved_on=on):
                yield engine.chain(hazard, events, window)

    def incident(self, incident_id: str) -> IncidentChain:
        incident = self.incident_row(incident_id)
        ids = list(incident["hazard_ids"] or ())
        hazards = list(self.store.hazard_records(ids=ids)) if ids else []
        return self.engine.incident_chain(incident, hazards)
