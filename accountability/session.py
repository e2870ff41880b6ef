"""A session: one store, the graph built from it and the engine over it.

This is the library's front door; the CLI, the queries, the reports and the app all go through it::

    >>> from accountability.session import Session
    >>> with Session("accountability.db") as s:             # doctest: +SKIP
    ...     chain = s.trace("H000001", as_of="2026-06-30")
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Iterator

from accountability import settings
from accountability.access import NOBODY_CONFIGURED, Scope, User
from accountability.errors import NotFound, UsageError
from accountability.graph import Graph
from accountability.memory import gc_paused
from accountability.stores import Store, open_store
from accountability.trace import HAZARD_COLUMNS, Chain, Engine, IncidentChain, Window, day, iso, today
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

    def search(self, text: str, table: str | None = None, limit: int = 50) -> list[dict]:
        """Entities (of ``table``, or any) whose id, name or title contains ``text``, that the user may see."""
        found = (r for r in self.store.search(text, limit=500 if table or not self.scope.everything else limit)
                 if table is None or r["type"] == table)
        return [r for r in found if self.visible(r["type"], r["id"])][:limit]

    def incident_row(self, incident_id: str) -> dict:
        for row in self.store.rows("incidents", id=incident_id):
            self.check("incidents", row)
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
        """Chains of every hazard unresolved on ``as_of`` (default today) that the user may see, streamed in
        hazard id order."""
        on = parse_date(as_of, "as_of") or today()
        self.graph.load_all()
        window = Window.on(on)
        engine = self.engine
        within = self.scope.jurisdictions
        with gc_paused():
            for hazard, events in self.store.hazard_records(unresolved_on=on, columns=HAZARD_COLUMNS):
                if within is None or hazard["jurisdiction_id"] in within:
                    yield engine.chain(hazard, events, window)

    def incident(self, incident_id: str) -> IncidentChain:
        incident = self.incident_row(incident_id)
        ids = list(incident["hazard_ids"] or ())
        hazards = list(self.store.hazard_records(ids=ids)) if ids else []
        return self.engine.incident_chain(incident, hazards)
