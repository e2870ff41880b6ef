"""The two baselines the engine is measured against.

**Naive** — what a straightforward implementation would do: one networkx ``MultiDiGraph`` of the whole
structure (jurisdictions, organizations, posts, people, tenures and portfolios as edges), and for every
hazard, on its own, a walk of that graph applying reference rules 1–7 (DESIGN.md): up the jurisdiction
tree to the regulating departments, then posts by scanning edges, holders by the dates on the edges.
Nothing is shared between hazards. It produces the same links and gaps as the engine (checked on every
hazard it runs), so the comparison is between two correct programs.

**Lower bound** — the least work any implementation must do once chains are shared: everything that does
not depend on the individual hazard (a chain per (jurisdiction, industry, escalated) and per enterprise,
as JSON) is computed *outside* the timing by the engine itself; what is timed is reading the unresolved
hazards and their state events, and a pandas/NumPy join that attaches the precomputed chains (and the
hazard's own gaps: overdue, unescalated major) to each of them — and, for the output figure, splicing the
precomputed JSON into one line per hazard written to a file.

Under a generation-2 ruleset (reference-v2, the default) a chain also depends on the hazard's own records
(events of every kind, the inspections of its units, the designations naming it), so both baselines change:

- **naive v2** — the engine itself with nothing shared between hazards: the structure loaded once (as the
  networkx graph above is built once), then per hazard a fresh engine whose records are read from the store
  for that hazard alone (:class:`PerHazardRecords`) — no shared parts, no cached tiers, no batch read;
- **lower bound v2** — the v1 lower bound's read and join, plus reading every record a v2 chain may cite
  (all events, inspections and designations). It attaches no assessment and no evidence, so it is less work
  than any correct v2 implementation; its JSONL is not compared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import numpy as np
import orjson
import pandas as pd

from accountability.records import Records
from graph_schema import SCHEMA

FOREVER = "9999-12-31"
WEIGHT = SCHEMA.degree_weights
RANK = {c: t.extra["rank"] for c, t in SCHEMA.vocab("jurisdiction_levels").items()}
ESCALATE_AFTER_DAYS = 90


# -- naive ----------------------------------------------------------------------------------------------------


def build_graph(store) -> nx.MultiDiGraph:
    """The whole structure as one graph: nodes keyed ``J:``/``O:``/``P:``/``H:`` + id, relations as edges.

    child jurisdiction ─within→ parent; organization ─in→ jurisdiction; organization ─under→ parent
    organization; post ─of→ organization; person ─holds{start,end,acting}→ post; post
    ─covers{start,end}→ industry ``I:code`` or organization.
    """
    g = nx.MultiDiGraph()
    for r in store.rows("jurisdictions"):
        g.add_node("J:" + r["id"], type="jurisdiction", id=r["id"], name=r["name"], level=r["level"],
                   rank=RANK[r["level"]])
        if r["parent_id"]:
            g.add_edge("J:" + r["id"], "J:" + r["parent_id"], rel="within")
    for r in store.rows("organizations"):
        supervision = r["supervision"] or ("sector" if r["kind"] == "department" else None)
        g.add_node("O:" + r["id"], type="organization", id=r["id"], name=r["name"], kind=r["kind"],
                   industries=tuple(r["industries"] or ()), supervision=supervision,
                   jurisdiction_id=r["jurisdiction_id"])
        g.add_edge("O:" + r["id"], "J:" + r["jurisdiction_id"], rel="in")
        if r["parent_id"]:
            g.add_edge("O:" + r["id"], "O:" + r["parent_id"], rel="under")
    for r in store.rows("posts"):
        g.add_node("P:" + r["id"], type="post", id=r["id"], title=r["title"], role=r["role"])
        g.add_edge("P:" + r["id"], "O:" + r["organization_id"], rel="of")
    for r in store.rows("people"):
        g.add_node("H:" + r["id"], type="person", id=r["id"], name=r["name"])
    for r in store.rows("tenures"):
        g.add_edge("H:" + r["person_id"], "P:" + r["post_id"], rel="holds", start=r["start"],
                   end=r["end"] or FOREVER, acting=bool(r["acting"]))
    for r in store.rows("portfolios"):
        target = "I:" + r["industry"] if r["industry"] else "O:" + r["organization_id"]
        g.add_edge("P:" + r["post_id"], target, rel="covers", start=r["start"], end=r["end"] or FOREVER)
    return g


class Naive:
    """Rules 1–7 for one hazard at a time, straight off the graph; nothing is cached between hazards."""

    def __init__(self, g: nx.MultiDiGraph):
        self.g = g

    # the few graph lookups, each a scan of a node's edges
    def parent(self, jid: str) -> str | None:
        for _, p, a in self.g.out_edges("J:" + jid, data=True):
            if a["rel"] == "within":
                return self.g.nodes[p]["id"]
        return None

    def orgs_in(self, jid: str, kind: str) -> list[str]:
        g = self.g
        return [g.nodes[o]["id"] for o, _, a in g.in_edges("J:" + jid, data=True)
                if a["rel"] == "in" and g.nodes[o]["kind"] == kind]

    def departments(self, jid: str, industry: str | None = None, supervision: str | None = None) -> list[str]:
        g = self.g
        return [d for d in self.orgs_in(jid, "department")
                if (industry is None or industry in g.nodes["O:" + d]["industries"])
                and (supervision is None or g.nodes["O:" + d]["supervision"] == supervision)]

    def posts(self, oid: str, role: str | None = None) -> list[str]:
        g = self.g
        return sorted(g.nodes[p]["id"] for p, _, a in g.in_edges("O:" + oid, data=True)
                      if a["rel"] == "of" and (role is None or g.nodes[p]["role"] == role))

    def holders(self, pid: str, on: str) -> list[dict]:
        g = self.g
        out = []
        for h, _, a in g.in_edges("P:" + pid, data=True):
            if a["rel"] == "holds" and a["start"] <= on <= a["end"]:
                out.append({"person_id": g.nodes[h]["id"], "name": g.nodes[h]["name"], "start": a["start"],
                            "end": None if a["end"] == FOREVER else a["end"], "acting": a["acting"]})
        return sorted(out, key=lambda h: (h["start"], h["person_id"]))

    def covers(self, pid: str, on: str) -> list[str]:
        """What the post is in charge of on ``on``: ``I:industry`` / ``O:organization`` node keys."""
        return [t for _, t, a in self.g.out_edges("P:" + pid, data=True)
                if a["rel"] == "covers" and a["start"] <= on <= a["end"]]

    def chain(self, hazard: dict, events: list[dict], on: str) -> dict:
        g = self.g
        jid, industry, oid = hazard["jurisdiction_id"], hazard["industry"], hazard["organization_id"]
        links: dict[tuple, dict] = {}
        gaps: list[dict] = []

        def add(post: str, org: str, duty: str, degree: str, rule: str, path: list[str], escalated: bool = False,
                via: str | None = None) -> None:
            key = (post, duty, escalated)
            rules = [rule] + ([via] if via else [])
            old = links.get(key)
            if old is None:
                o = g.nodes["O:" + org]
                links[key] = {"post_id": post, "post_title": g.nodes["P:" + post]["title"], "organization_id": org,
                              "jurisdiction_id": o["jurisdiction_id"], "duty": duty, "degree": degree,
                              "rules": rules, "escalated": escalated, "path": path + [post],
                              "holders": self.holders(post, on)}
                return
            old["rules"] += [r for r in rules if r not in old["rules"]]
            if WEIGHT[degree] > WEIGHT[old["degree"]]:
                old["degree"], old["organization_id"], old["path"] = degree, org, path + [post]

        # the hazard's own state: deadline (latest extension), escalation, overdue days
        deadline, escalated_on = hazard["deadline"], None
        for e in sorted(events, key=lambda e: e["on"]):
            if e["on"] > on:
                break
            if e["kind"] == "deadline_extended" and e.get("deadline"):
                deadline = e["deadline"]
            elif e["kind"] == "escalated" and escalated_on is None:
                escalated_on = e["on"]
        overdue = (dt.date.fromisoformat(on) - dt.date.fromisoformat(deadline)).days \
            if deadline and on > deadline else 0

        # rule 1: the enterprise
        if oid:
            principals = self.posts(oid, "enterprise_principal")
            if not principals:
                gaps.append({"kind": "no_principal", "organization_id": oid})
            for p in principals:
                add(p, oid, "enterprise_main", "principal_leadership", "R1", [oid])
            for p in self.posts(oid, "safety_manager"):
                add(p, oid, "enterprise_main", "direct", "R1", [oid])

        # rule 2: walk up from J to the first jurisdiction with a department regulating I
        walk, regulator, departments = [], None, []
        j = jid
        while j:
            walk.append(j)
            departments = self.departments(j, industry)
            if departments:
                regulator = j
                break
            j = self.parent(j)
        if regulator is None:  # R: the nearest county or higher at or above J
            walk, j = [], jid
            while j:
                walk.append(j)
                if g.nodes["J:" + j]["rank"] <= RANK["county"]:
                    break
                j = self.parent(j)
            regulator = walk[-1]

        def at_level(r: str, deps: list[str], path: list[str], escalated: bool, via: str | None) -> bool:
            """Rules 2–5 at ``r``; whether a portfolio other than overall safety covered the hazard."""
            heads = [(d, p) for d in deps for p in self.posts(d, "department_head")]
            if not heads and not escalated:
                gaps.append({"kind": "no_regulator", "industry": industry, "jurisdiction_id": jid,
                             "regulator_jurisdiction_id": r})
            for d, p in heads:
                add(p, d, "sector_supervision", "principal_leadership", "R2", path + [d], escalated, via)
            for d in self.departments(r, supervision="comprehensive"):
                for p in self.posts(d, "department_head"):
                    add(p, d, "comprehensive_supervision", "important_leadership", "R3", path + [d], escalated, via)
            covered = False
            leaders = [(o, p) for kind in ("government", "party_committee") for o in self.orgs_in(r, kind)
                       for p in self.posts(o)]
            for o, p in leaders:
                scope = self.covers(p, on)
                if any(s == "I:" + industry or (s.startswith("O:") and s[2:] in deps) for s in scope):
                    covered = True
                    add(p, o, "territorial_leadership", "important_leadership", "R4", path + [o], escalated, via)
            for o, p in leaders:
                if "I:*" in self.covers(p, on):
                    add(p, o, "territorial_leadership", "important_leadership", "R4", path + [o], escalated, via)
            for o in self.orgs_in(r, "party_committee"):
                for p in self.posts(o, "party_secretary"):
                    add(p, o, "territorial_leadership", "principal_leadership", "R5", path + [o], escalated, via)
            for o in self.orgs_in(r, "government"):
                for p in self.posts(o, "government_head"):
                    add(p, o, "territorial_leadership", "principal_leadership", "R5", path + [o], escalated, via)
            return covered

        if not at_level(regulator, departments, walk, False, None):
            gaps.append({"kind": "no_portfolio", "industry": industry, "jurisdiction_id": regulator})

        # rule 6: the township J lies in when it is below R; the park E belongs to
        j = jid
        while j and j != regulator and g.nodes["J:" + j]["rank"] >= RANK["township"]:
            if g.nodes["J:" + j]["rank"] == RANK["township"]:
                path = walk[: walk.index(j) + 1]
                for o in self.orgs_in(j, "party_committee"):
                    for p in self.posts(o, "party_secretary"):
                        add(p, o, "territorial_leadership", "principal_leadership", "R6", path + [o])
                for o in self.orgs_in(j, "government"):
                    for p in self.posts(o, "government_head"):
                        add(p, o, "territorial_leadership", "principal_leadership", "R6", path + [o])
                break
            j = self.parent(j)
        if oid:
            for _, park, a in g.out_edges("O:" + oid, data=True):
                if a["rel"] == "under" and g.nodes[park]["kind"] == "park_committee":
                    pid = g.nodes[park]["id"]
                    for p in self.posts(pid, "park_director"):
                        add(p, pid, "territorial_leadership", "principal_leadership", "R6", [oid, pid])

        # rule 7: a major or long-overdue hazard also reaches the parent of R (its own departments, no gaps)
        if hazard["level"] == "major" or overdue > ESCALATE_AFTER_DAYS:
            up = self.parent(regulator)
            if up:
                at_level(up, self.departments(up, industry), walk + [up], True, "R7")

        for link in links.values():
            if not link["holders"] and not link["escalated"]:
                o = g.nodes["O:" + link["organization_id"]]
                gaps.append({"kind": "vacant_post", "post_id": link["post_id"], "post_title": link["post_title"],
                             "organization_id": link["organization_id"], "jurisdiction_id": o["jurisdiction_id"]})
        if overdue > 0:
            gaps.append({"kind": "overdue", "hazard_id": hazard["id"], "deadline": deadline, "days": overdue})
        if hazard["level"] == "major" and not escalated_on:
            gaps.append({"kind": "unescalated_major", "hazard_id": hazard["id"]})
        return {"hazard_id": hazard["id"], "as_of": on, "links": list(links.values()), "gaps": gaps}


def comparable(chain: dict) -> tuple:
    """What both implementations must agree on: links (post, duty, degree, escalated, rules, holders, path;
    v2's evidence and assessments) and gaps, order aside."""
    links = sorted(
        (link["post_id"], link["duty"], link["degree"], link["escalated"], tuple(sorted(link["rules"])),
         tuple((h["person_id"], h["start"], h["end"], h["acting"], orjson.dumps(h.get("assessment"))) for h in
               link["holders"]),
         tuple(link["path"]), orjson.dumps(link.get("evidence", []), option=orjson.OPT_SORT_KEYS))
        for link in chain["links"]
    )
    gaps = sorted({orjson.dumps(g, option=orjson.OPT_SORT_KEYS) for g in chain["gaps"]})
    return tuple(links), tuple(gaps)


class PerHazardRecords(Records):
    """Records read for one hazard at a time, never all at once: what the naive v2 baseline gives a fresh
    engine per hazard (the engine reads everything at once whenever the whole graph is loaded)."""

    complete = True  # what the engine sees: no batch read; the reads themselves stay lazy


def naive_v2_chain(graph, ruleset, store, hazard: dict, on: str):
    """One hazard's chain by a fresh v2 engine over the loaded graph, its records read for it alone."""
    from accountability.trace_v2 import EngineV2

    return EngineV2(graph, ruleset, records=PerHazardRecords(store)).chain(hazard, None, _window(on))


# -- lower bound ------------------------------------------------------------------------------------------------


class LowerBound:
    """Chains precomputed per shared key by the engine (untimed); ``read`` + ``join`` (+ ``write_jsonl``)
    are the timed least work.

    The keys: the government side depends on (jurisdiction, industry, escalated), the enterprise side on
    the enterprise; for JSON output, the spliced links and fixed gaps depend on the pair of the two.
    """

    def __init__(self, session, on: str, lang: str = "zh"):
        self.session, self.on, self.lang = session, on, lang
        session.graph.load_all()
        keys = session.store.db.execute(
            "SELECT DISTINCT jurisdiction_id, industry, coalesce(organization_id, '') FROM hazards "
            "WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?)", (on, on)).fetchall()
        gov: dict[tuple[str, str], int] = {}
        ent: dict[str, int] = {}
        for jid, industry, oid in keys:
            gov.setdefault((jid, industry), len(gov))
            ent.setdefault(oid, len(ent))
        self.gov_keys = {g: k for k, g in gov.items()}
        self.ent_keys = {e: k for k, e in ent.items()}
        self.gov_frame = pd.DataFrame([(j, i, g) for (j, i), g in gov.items()],
                                      columns=["jurisdiction_id", "industry", "gov"])
        self.ent_frame = pd.DataFrame(list(ent.items()), columns=["organization_id", "ent"])
        self.pairs: dict[tuple[int, int, int], bytes] = {}

    def precompute(self, joined: pd.DataFrame) -> int:
        """The JSON of every (government chain, escalated, enterprise chain) the join needs, by the engine:
        links spliced and the fixed gaps, the gaps list left open for the hazard's own. Untimed."""
        # an engine of its own (v1's or v2's), dropped afterwards: its caches are no part of the timed work
        ruleset = self.session.ruleset
        engine = type(self.session.engine)(self.session.graph, ruleset)
        window = _window(self.on)
        needed = joined[["gov", "escalated", "ent"]].drop_duplicates().itertuples(index=False, name=None)
        for gid, escalated, eid in needed:
            key = (int(gid), int(escalated), int(eid))
            if key in self.pairs:
                continue
            jid, industry = self.gov_keys[key[0]]
            oid = self.ent_keys[key[2]]
            # a major probe with an escalation event escalates without raising gaps of its own
            probe = {"id": "", "description": "", "industry": industry, "jurisdiction_id": jid,
                     "organization_id": oid or None, "level": "major" if escalated else "general",
                     "found_on": self.on, "deadline": None, "status": "open", "closed_on": None}
            chain = engine.chain(probe, [{"kind": "escalated", "on": self.on, "deadline": None}], window)
            body = chain.json(ruleset, self.lang)
            self.pairs[key] = body[body.index(b',"links":'):-2]  # ,"links":[…],"gaps":[…  (open)
        return len(self.pairs)

    # timed ----------------------------------------------------------------------------------------------------

    def read(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        db = self.session.store.db
        hazards = pd.read_sql_query(
            "SELECT id, industry, level, jurisdiction_id, coalesce(organization_id, '') AS organization_id, "
            "deadline FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) ORDER BY id",
            db, params=(self.on, self.on))
        events = pd.read_sql_query(
            'SELECT hazard_id, "on", kind, deadline FROM events WHERE kind IN (\'escalated\', \'deadline_extended\') '
            'AND "on" <= ? ORDER BY hazard_id, "on"', db, params=(self.on,))
        return hazards, events

    def read_records(self) -> int:
        """What a v2 chain may cite besides the state events: every event, inspection and designation."""
        db, n = self.session.store.db, 0
        for query in ('SELECT hazard_id, "on", kind, post_id, deadline, outcome FROM events WHERE "on" <= ?',
                      'SELECT id, organization_id, "on", post_id, hazard_ids, outcome FROM inspections WHERE "on" <= ?',
                      "SELECT post_id, kind, target_id, start, \"end\" FROM designations WHERE start <= ?"):
            n += len(pd.read_sql_query(query, db, params=(self.on,)))
        return n

    def join(self, hazards: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
        """Per hazard: its government chain, its enterprise chain, and its own gaps (vectorized)."""
        on = np.datetime64(self.on)
        ext = events[events["kind"] == "deadline_extended"].dropna(subset=["deadline"])
        latest = ext.groupby("hazard_id", sort=False)["deadline"].last()
        escalated = set(events.loc[events["kind"] == "escalated", "hazard_id"])
        h = hazards.merge(self.gov_frame, on=["jurisdiction_id", "industry"], how="left", sort=False)
        h = h.merge(self.ent_frame, on="organization_id", how="left", sort=False)
        extended = h["id"].map(latest)
        deadline = np.where(extended.notna(), extended.astype(object), h["deadline"].astype(object))
        due = pd.to_datetime(deadline, errors="coerce").to_numpy(dtype="datetime64[D]")
        days = np.where(np.isnat(due), 0, (on - due).astype("timedelta64[D]").astype(np.int64))
        days = np.maximum(days, 0)
        major = (h["level"] == "major").to_numpy()
        return pd.DataFrame({
            "id": h["id"].to_numpy(), "gov": h["gov"].to_numpy(), "ent": h["ent"].to_numpy(),
            "escalated": (major | (days > ESCALATE_AFTER_DAYS)).astype(np.int8),
            "overdue_days": days, "deadline": deadline,
            "unescalated_major": major & ~h["id"].isin(escalated).to_numpy(),
        })

    def write_jsonl(self, joined: pd.DataFrame, out: Path) -> int:
        """One line per hazard: its head, the precomputed links and fixed gaps, its own gaps; written in
        blocks as ``trace --all`` writes them."""
        from accountability.output import write_blocks

        head = orjson.dumps({"as_of": self.on})[1:-1]
        pairs = self.pairs

        def lines():
            for hid, gid, esc, eid, days, deadline, unescalated in zip(
                    joined["id"].tolist(), joined["gov"].tolist(), joined["escalated"].tolist(),
                    joined["ent"].tolist(), joined["overdue_days"].tolist(), joined["deadline"].tolist(),
                    joined["unescalated_major"].tolist()):
                middle = pairs[(gid, esc, eid)]
                own = []
                if days > 0:
                    own.append({"kind": "overdue", "hazard_id": hid, "deadline": deadline, "days": days})
                if unescalated:
                    own.append({"kind": "unescalated_major", "hazard_id": hid})
                tail = orjson.dumps(own)[1:] if own else b"]"
                if own and middle[-1:] != b"[":
                    tail = b"," + tail
                yield b'{"hazard_id":' + orjson.dumps(hid) + b"," + head + middle + tail + b"}\n"

        with out.open("wb") as f:
            return write_blocks(lines(), f)


def _window(on: str):
    from accountability.dates import Window

    return Window.on(on)


def unresolved_ids(store, on: str) -> list[str]:
    return [r[0] for r in store.db.execute(
        "SELECT id FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) ORDER BY id", (on, on))]


def records(store, ids: Iterable[str]) -> list[tuple[dict, list[dict]]]:
    return list(store.hazard_records(ids=list(ids)))


def agree(naive: dict, ours: dict) -> bool:
    return comparable(naive) == comparable(ours)
