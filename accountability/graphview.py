"""The graph explorer: an entity's neighbourhood, a chain's paths as a graph, and both drawn as HTML (pyvis).

:func:`neighbourhood` reads the neighbours of an entity through the store interface, within the user's
scope, and groups a unit's many hazards or enterprises; :func:`chain_graph` draws the justification of a
chain; :func:`focus` keeps the paths between two nodes; :func:`graph_html` draws any of these.

Data drawn is text, never markup: node data reaches the page as JSON inside a ``<script>`` (pyvis'
template escapes ``<``, ``>`` and ``&``), labels are drawn on a canvas, and tooltips are set as text —
vis-network 9 does so for strings, and :func:`graph_html` rewrites the one place where pyvis' template
would set ``innerHTML`` instead. Nothing is fetched from the network: vis-network is inlined and pyvis'
Bootstrap links are removed.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import orjson

from accountability.errors import NotFound, UsageError, singular
from accountability.graph import FOREVER
from accountability.names import Labels
from accountability.trace import Chain, unresolved_on
from graph_schema import SCHEMA


def shorten(text: str, limit: int = 16) -> str:
    """A graph label: long names end with an ellipsis (the tooltip has the full name).

    >>> shorten("临江市住房和城乡建设局局长", 8)
    '临江市住房和城…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _in_force(row: dict, on: str) -> bool:
    """Whether a tenure or a portfolio (``start``, ``end`` inclusive or empty) holds on ``on``."""
    return row["start"] <= on <= (row["end"] or FOREVER)


# -- graphs --------------------------------------------------------------------------------------------------

# Node styles by kind: organizations by their kind, everything else by table.
STYLE = {
    "jurisdictions": {"color": "#5d6d7e", "shape": "box", "font": "#ffffff"},
    "party_committee": {"color": "#c0392b", "shape": "box", "font": "#ffffff"},
    "government": {"color": "#2471a3", "shape": "box", "font": "#ffffff"},
    "department": {"color": "#1e8449", "shape": "box", "font": "#ffffff"},
    "safety_committee": {"color": "#117a65", "shape": "box", "font": "#ffffff"},
    "park_committee": {"color": "#7d3c98", "shape": "box", "font": "#ffffff"},
    "enterprise": {"color": "#d68910", "shape": "box", "font": "#ffffff"},
    "other": {"color": "#839192", "shape": "box", "font": "#ffffff"},
    "posts": {"color": "#aed6f1", "shape": "ellipse", "font": "#1b2631"},
    "people": {"color": "#1b4f72", "shape": "dot", "font": "#1b2631"},
    "hazards": {"color": "#e74c3c", "shape": "triangle", "font": "#1b2631"},
    "incidents": {"color": "#17202a", "shape": "star", "font": "#1b2631"},
    # many enterprises or hazards of one unit, drawn as one node (``neighbourhood(group=True)``), in their colour
    "group": {"color": "#839192", "shape": "box", "font": "#ffffff"},
}
# Which kinds to keep first when a neighbourhood is larger than the cap: the structure, then the people,
# then the many enterprises and hazards.
PRIORITY = {k: i for i, k in enumerate(
    ("jurisdictions", "party_committee", "government", "safety_committee", "department", "park_committee",
     "posts", "people", "group", "hazards", "incidents", "enterprise", "other"))}
GROUPED = ("hazards", "enterprise")  # kinds a unit's many neighbours of are drawn as one node when grouping
GROUP_MIN = 5  # fewer than this are drawn one by one
TABLE_NODE = {t["table"]: name for name, t in SCHEMA.nodes.items()}  # jurisdictions → Jurisdiction


def node_key(table: str, rid: str) -> str:
    """The key of an entity in a drawn graph (ids are unique within a table only).

    >>> node_key("people", "PE-1"), parse_key("people:PE-1")
    ('people:PE-1', ('people', 'PE-1'))
    """
    return f"{table}:{rid}"


def parse_key(key: str) -> tuple[str, str]:
    table, _, rid = key.partition(":")
    if table not in TABLE_NODE or not rid:
        raise NotFound(f"not an entity key: '{key}'")
    return table, rid


def kind_label(kind: str, lang: str) -> str:
    """The legend's word for a node kind."""
    if kind == "group":
        return {"zh": "分组", "en": "Group"}[lang]
    if kind in SCHEMA.vocab("organization_kinds"):
        return SCHEMA.label("organization_kinds", kind, lang)
    return SCHEMA.nodes[TABLE_NODE[kind]][lang]


def relation_label(rel: str, lang: str) -> str:
    return SCHEMA.relationships[rel][lang]


@dataclass
class Neighbourhood:
    """The part of the graph drawn around ``center``: at most ``cap`` nodes, and how many more there were."""

    graph: nx.DiGraph
    center: str
    depth: int
    cap: int
    hidden: int = 0
    hidden_by_kind: dict[str, int] = field(default_factory=dict)


class _Explorer:
    """Neighbours of an entity, read through the store interface (indexed lookups; only the small
    portfolios table is scanned), as (node key, node attributes, edge) triples."""

    def __init__(self, session, labels: Labels, as_of: str):
        self.s = session
        self.store = session.store
        self.labels = labels
        self.lang = labels.lang
        self.as_of = as_of

    # node attributes --------------------------------------------------------------------------------------

    def node(self, table: str, row: dict) -> tuple[str, dict]:
        L = self.labels
        rid = row["id"]
        if table == "jurisdictions":
            name, kind = row["name"], table
            facts = [L.term("jurisdiction_levels", row["level"])]
        elif table == "organizations":
            name, kind = row["name"], row["kind"]
            facts = [L.term("organization_kinds", row["kind"]), L.jurisdiction(row["jurisdiction_id"])]
            facts += [L.industry(i) for i in row.get("industries") or ()]
        elif table == "posts":
            # titles are often bare ("书记", "局长"): name the organization too
            name, kind = L.post_in_org(rid), table
            facts = [L.term("roles", row["role"]), L.organization(row["organization_id"])]
        elif table == "people":
            name, kind = row["name"], table
            facts = []
        elif table == "hazards":
            name, kind = row["description"] or rid, table
            facts = [L.term("hazard_levels", row["level"]), L.industry(row["industry"]),
                     L.term("hazard_statuses", row["status"]), f"{row['found_on']} → {row['deadline'] or '—'}"]
        else:
            name, kind = row["title"] or rid, table
            facts = [row["occurred_on"], L.industry(row["industry"])]
        title = "\n".join([f"{name}", f"{kind_label(kind, self.lang)} · {rid}"] + [f for f in facts if f])
        size = 30 if table == "hazards" and row.get("level") == "major" else 18
        return node_key(table, rid), {"table": table, "id": rid, "kind": kind, "name": name, "title": title,
                                      "size": size, "row": row}

    # neighbours -------------------------------------------------------------------------------------------

    def _one(self, table: str, rid: str | None) -> Iterator[tuple[str, dict]]:
        if rid:
            for row in self.store.rows(table, id=rid):
                yield self.node(table, row)

    def _many(self, table: str, **where) -> Iterator[tuple[str, dict]]:
        for row in self.store.rows(table, **where):
            yield self.node(table, row)

    def neighbours(self, key: str) -> Iterator[tuple[str, dict, tuple[str, str, dict]]]:
        table, rid = parse_key(key)
        row = next(iter(self.store.rows(table, id=rid)), None)
        if row is None:
            return
        edge = self._edge
        if table == "jurisdictions":
            for k, a in self._one("jurisdictions", row["parent_id"]):
                yield k, a, edge(key, k, "PART_OF")
            for k, a in self._many("jurisdictions", parent_id=rid):
                yield k, a, edge(k, key, "PART_OF")
            for k, a in self._many("organizations", jurisdiction_id=rid):
                yield k, a, edge(k, key, "IN_JURISDICTION")
            for k, a in self._many("hazards", jurisdiction_id=rid):
                if unresolved_on(a["row"], self.as_of):
                    yield k, a, edge(k, key, "IN_JURISDICTION")
            for k, a in self._many("incidents", jurisdiction_id=rid):
                if a["row"]["occurred_on"] <= self.as_of:
                    yield k, a, edge(k, key, "IN_JURISDICTION")
        elif table == "organizations":
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            for k, a in self._one("organizations", row["parent_id"]):
                yield k, a, edge(key, k, "UNDER")
            for k, a in self._many("organizations", parent_id=rid):
                yield k, a, edge(k, key, "UNDER")
            for k, a in self._many("posts", organization_id=rid):
                yield k, a, edge(k, key, "POST_OF")
            for p in self.store.rows("portfolios", organization_id=rid):
                if _in_force(p, self.as_of):
                    for k, a in self._one("posts", p["post_id"]):
                        yield k, a, edge(k, key, "IN_CHARGE_OF")
            for k, a in self._many("hazards", organization_id=rid):
                if unresolved_on(a["row"], self.as_of):
                    yield k, a, edge(k, key, "AT")
        elif table == "posts":
            for k, a in self._one("organizations", row["organization_id"]):
                yield k, a, edge(key, k, "POST_OF")
            tenures = list(self.store.rows("tenures", post_id=rid))
            people = {p["id"]: p for p in self.store.rows("people", id=sorted({t["person_id"] for t in tenures}))}
            for t in tenures:
                if t["person_id"] in people:
                    k, a = self.node("people", people[t["person_id"]])
                    yield k, a, self._tenure_edge(k, key, t)
            for p in self.store.rows("portfolios", post_id=rid):
                if p["organization_id"] and _in_force(p, self.as_of):
                    for k, a in self._one("organizations", p["organization_id"]):
                        yield k, a, edge(key, k, "IN_CHARGE_OF")
        elif table == "people":
            tenures = list(self.store.rows("tenures", person_id=rid))
            posts = {p["id"]: p for p in self.store.rows("posts", id=sorted({t["post_id"] for t in tenures}))}
            for t in tenures:
                if t["post_id"] in posts:
                    k, a = self.node("posts", posts[t["post_id"]])
                    yield k, a, self._tenure_edge(key, k, t)
        elif table == "hazards":
            for k, a in self._one("organizations", row["organization_id"]):
                yield k, a, edge(key, k, "AT")
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            if row["found_on"] <= self.as_of:
                on = self.as_of if unresolved_on(row, self.as_of) else self.s.default_as_of(row)
                chain = self.s.trace(rid, as_of=on)
                posts = {p["id"]: p for p in self.store.rows("posts", id=sorted({x.post_id for x in chain.links}))}
                for link in chain.links:
                    if link.post_id in posts:
                        k, a = self.node("posts", posts[link.post_id])
                        e = edge(k, key, "ACCOUNTABLE_FOR")
                        e[2]["label"] = f"{e[2]['label']} · {self.labels.term('degrees', link.degree)}"
                        e[2]["dashes"] = link.escalated
                        yield k, a, e
        elif table == "incidents":
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            for k, a in self._one("organizations", row.get("organization_id")):
                yield k, a, edge(key, k, "AT")
            ids = list(row["hazard_ids"] or ())
            if ids:
                for k, a in self._many("hazards", id=ids):
                    yield k, a, edge(key, k, "LINKED_HAZARD")

    def _edge(self, u: str, v: str, rel: str) -> tuple[str, str, dict]:
        return u, v, {"rel": rel, "label": relation_label(rel, self.lang), "dashes": False}

    def _tenure_edge(self, person: str, post: str, t: dict) -> tuple[str, str, dict]:
        current = _in_force(t, self.as_of)
        zh = self.lang == "zh"
        when = f"{t['start']} – {t['end'] or ('至今' if zh else 'now')}"
        acting = ("（代理）" if zh else " (acting)") if t["acting"] else ""
        return person, post, {"rel": "HOLDS", "label": f"{relation_label('HOLDS', self.lang)} {when}{acting}",
                              "dashes": not current, "past": not current}


def group_key(kind: str, unit: str) -> str:
    """The key of the node standing for ``unit``'s many neighbours of ``kind`` (see :func:`neighbourhood`).

    >>> group_key("hazards", "jurisdictions:T"), unit_of_group("group:hazards@jurisdictions:T")
    ('group:hazards@jurisdictions:T', ('hazards', 'jurisdictions:T'))
    """
    return f"group:{kind}@{unit}"


def unit_of_group(key: str) -> tuple[str, str] | None:
    """(kind, unit key) of a group node's key; None for an entity's key."""
    if not key.startswith("group:"):
        return None
    kind, _, unit = key[len("group:"):].partition("@")
    return kind, unit


def neighbourhood(session, key: str, labels: Labels, as_of: str, depth: int = 1, cap: int = 150,
                  kinds: Iterable[str] | None = None, group: bool = False, expand: Iterable[str] = ()) -> Neighbourhood:
    """The entities within ``depth`` steps of ``key`` (``table:id``), at most ``cap`` of them.

    Each step expands the drawn nodes only; when a step finds more neighbours than fit, the structure is
    kept first (jurisdictions, government bodies, posts, people), then hazards and enterprises, and the
    rest is counted in ``hidden``. Hazards are those unresolved on ``as_of``; tenures ended or not yet
    begun on ``as_of`` are drawn dashed.

    ``kinds``: only entities of these kinds are drawn (and walked through); the others are neither drawn nor
    counted. ``group``: a unit's hazards and enterprises, when there are ``GROUP_MIN`` or more, are one node
    (:func:`group_key`, with ``count`` and ``members``), not walked through, except for the groups in
    ``expand`` (group keys), whose members are drawn one by one.
    """
    if not 1 <= depth <= 3:
        raise UsageError(f"depth must be 1, 2 or 3, not {depth}")
    wanted = None if kinds is None else set(kinds)
    expand = set(expand)
    explorer = _Explorer(session, labels, as_of)
    table, rid = parse_key(key)
    row = next(iter(session.store.rows(table, id=rid)), None)
    if row is None:
        raise NotFound(f"unknown {singular(table)} '{rid}'")  # "unknown person 'P1'", as elsewhere
    session.check(table, row)
    g = nx.DiGraph()
    ck, ca = explorer.node(table, row)
    g.add_node(ck, **ca, depth=0)
    frontier = [ck]
    hidden: dict[str, str] = {}
    for level in range(1, depth + 1):
        candidates: dict[str, dict] = {}
        edges: list[tuple[str, str, dict]] = []
        for k in frontier:
            found = [(nk, attrs, e) for nk, attrs, e in explorer.neighbours(k)
                     if wanted is None or attrs["kind"] in wanted or nk == ck]
            grouped = _groups(k, found, g, expand) if group else {}
            for nk, attrs, e in found:
                if nk not in g and nk not in candidates:
                    if not session.visible(attrs["table"], attrs["row"]):
                        continue  # outside the user's jurisdiction: neither drawn nor counted
                    if nk in grouped:
                        grouped[nk]["members"].append((nk, attrs["name"]))
                        continue
                    candidates[nk] = attrs
                edges.append(e)
            for gk, one in {a["key"]: a for a in grouped.values()}.items():
                if one["members"]:
                    candidates[gk] = _group_node(one, g.nodes[k]["name"], labels.lang)
                    label = f"{relation_label(one['rel'], labels.lang)} ×{len(one['members'])}"
                    edges.append((gk, k, {"rel": one["rel"], "label": label, "dashes": False}))
        ordered = sorted(candidates, key=lambda k: (PRIORITY.get(candidates[k]["kind"], 99), k))
        frontier = []
        for nk in ordered:
            if g.number_of_nodes() < cap:
                g.add_node(nk, **candidates[nk], depth=level)
                if candidates[nk]["kind"] != "group":  # a group is not walked through
                    frontier.append(nk)
                hidden.pop(nk, None)
            else:
                hidden[nk] = candidates[nk]["kind"]
        for u, v, attrs in edges:
            if u in g and v in g and u != v and not g.has_edge(u, v):
                g.add_edge(u, v, **attrs)
    return Neighbourhood(g, ck, depth, cap, len(hidden), dict(Counter(hidden.values())))


def _groups(unit: str, found: list[tuple[str, dict, tuple]], g: nx.DiGraph,
            expand: set[str]) -> dict[str, dict]:
    """Which of ``unit``'s neighbours (``found``) are drawn as one node: member key → its group (one dict
    per kind, shared by its members). Only a place's or an organization's many hazards or enterprises
    that point to it are grouped, unless the group's key is in ``expand``."""
    if not unit.startswith(("jurisdictions:", "organizations:")):
        return {}
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for nk, attrs, (_, v, e) in found:
        if attrs["kind"] in GROUPED and v == unit and nk not in g:
            by_kind[attrs["kind"]].append((nk, e["rel"]))
    out = {}
    for kind, items in by_kind.items():
        if len(items) >= GROUP_MIN and group_key(kind, unit) not in expand:
            one = {"key": group_key(kind, unit), "of": kind, "unit": unit, "rel": items[0][1], "members": []}
            out.update((nk, one) for nk, _ in items)
    return out


def _group_node(one: dict, unit_name: str, lang: str) -> dict:
    members = sorted(one["members"])
    name = f"{kind_label(one['of'], lang)} ×{len(members)}"
    shown = [f"· {n}" for _, n in members[:12]] + (["· …"] if len(members) > 12 else [])
    return {"table": "group", "id": one["key"], "kind": "group", "of": one["of"], "unit": one["unit"],
            "count": len(members), "members": [k for k, _ in members], "name": name,
            "title": "\n".join([name, unit_name] + shown), "size": 24, "row": {}}


def focus(g: nx.DiGraph, center: str, target: str) -> nx.DiGraph:
    """The part of ``g`` on the shortest paths, either way along its edges, between ``center`` and
    ``target``: a node's key, or ``type:KIND`` for one path to each node of that kind.

    >>> g = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "d")])
    >>> for n in g: g.nodes[n]["kind"] = "x" if n == "c" else "y"
    >>> sorted(focus(g, "a", "c")), sorted(focus(g, "a", "type:x")), sorted(focus(g, "a", "type:z"))
    (['a', 'b', 'c'], ['a', 'b', 'c'], ['a'])
    """
    both = g.to_undirected(as_view=True)
    keep = {center}
    if target.startswith("type:"):
        kind = target[len("type:"):]
        for end, path in nx.single_source_shortest_path(both, center).items():
            if g.nodes[end].get("kind") == kind:
                keep.update(path)
    elif target in g and nx.has_path(both, center, target):
        for path in nx.all_shortest_paths(both, center, target):
            keep.update(path)
    return g.subgraph(keep).copy()


def chain_graph(session, chain: Chain, hazard: dict, labels: Labels) -> nx.DiGraph:
    """The justification of a chain as a graph: hazard → jurisdictions walked → organization → post →
    holders. Each edge lists the links whose ``path`` runs along it (``links``: indexes into chain.links)."""
    explorer = _Explorer(session, labels, chain.window.end)
    g = nx.DiGraph()
    hk, ha = explorer.node("hazards", hazard)
    g.add_node(hk, **ha)

    def ensure(any_id: str) -> str:
        for table in ("jurisdictions", "organizations", "posts"):
            k = node_key(table, any_id)
            if k in g:
                return k
        graph = session.graph
        if any_id in graph.jurisdictions:
            table = "jurisdictions"
        elif any_id in graph.posts:
            table = "posts"
        else:
            table = "organizations"
        row = next(iter(session.store.rows(table, id=any_id)), None)
        if row is None:
            k = node_key(table, any_id)
            g.add_node(k, table=table, id=any_id, kind=table, name=any_id, title=any_id, size=18, row={})
            return k
        k, a = explorer.node(table, row)
        g.add_node(k, **a)
        return k

    def link_edge(u: str, v: str, i: int, rel: str | None = None) -> None:
        if u == v:
            return
        if not g.has_edge(u, v):
            g.add_edge(u, v, links=[], rel=rel, label=relation_label(rel, labels.lang) if rel else "", dashes=False)
        if i not in g.edges[u, v]["links"]:
            g.edges[u, v]["links"].append(i)

    for i, link in enumerate(chain.links):
        path = [ensure(x) for x in link.path]
        if not path:
            continue
        link_edge(hk, path[0], i, "AT" if path[0].startswith("organizations:") else "IN_JURISDICTION")
        for u, v in itertools.pairwise(path):
            rel = None
            if u.startswith("jurisdictions:") and v.startswith("jurisdictions:"):
                rel = "PART_OF"
            elif v.startswith("posts:"):
                rel = "POST_OF"
            elif u.startswith("organizations:") and v.startswith("organizations:"):
                rel = "UNDER"
            link_edge(u, v, i, rel)
        post = path[-1]
        g.edges[path[-2], post]["dashes"] = g.edges[path[-2], post]["dashes"] or link.escalated
        for h in link.holders:
            pk = node_key("people", h.person_id)
            if pk not in g:
                g.add_node(pk, table="people", id=h.person_id, kind="people", name=h.name,
                           title=f"{h.name}\n{kind_label('people', labels.lang)} · {h.person_id}", size=18,
                           row={"id": h.person_id, "name": h.name})
            link_edge(post, pk, i, "HOLDS")
    return g


# -- pyvis ---------------------------------------------------------------------------------------------------

_BOOTSTRAP = re.compile(r"<link[^>]*bootstrap[^>]*/?>|<script[^>]*bootstrap[^>]*>\s*</script>", re.DOTALL)
_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>", re.DOTALL)
_HTML_SINK = "popup.innerHTML = nodeData[0].title;"
GRAPH_OPTIONS = {
    "physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": 150},
                "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 110}},
    "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
    "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.5}}, "smooth": False,
              "font": {"size": 10, "color": "#566573", "strokeWidth": 2}},
    "nodes": {"font": {"size": 13, "face": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"}},
}


LEVEL_GAP, NODE_GAP = 260, 64  # the columns layout: between columns (past the widest label), between rows


def graph_html(g: nx.DiGraph, lang: str = "zh", highlight: set[tuple[str, str]] | None = None,
               height: int = 560, center: str | None = None, layout: str = "force") -> str:
    """A self-contained HTML page drawing ``g`` with pyvis (vis-network inlined, nothing fetched).

    Nodes need ``kind``, ``name`` and ``title`` (plain text, newlines allowed); edges may carry ``label``,
    ``dashes``. With ``highlight``, those edges (and their ends) are drawn strong and the rest faded.
    ``layout`` is ``force`` (a neighbourhood), ``columns`` (columns on either side of ``center``, a kind's
    nodes together, where no label covers another: for the neighbours of one entity) or ``chain`` (left to
    right, for a chain's paths). A legend of the kinds and lines present is added to the page.
    """
    from pyvis.network import Network

    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line", bgcolor="#ffffff")
    options = dict(GRAPH_OPTIONS)
    if layout == "chain":
        options["layout"] = {"hierarchical": {"enabled": True, "direction": "LR", "sortMethod": "directed",
                                              "levelSeparation": 210, "nodeSpacing": 64, "treeSpacing": 80}}
        options["physics"] = {"enabled": False}
    levels = _columns(g, center) if layout == "columns" else {}
    if levels:
        options["layout"] = {"hierarchical": {"enabled": True, "direction": "LR", "levelSeparation": LEVEL_GAP,
                                              "nodeSpacing": NODE_GAP, "treeSpacing": NODE_GAP, "blockShifting": True,
                                              "edgeMinimization": False, "parentCentralization": False}}
        options["physics"] = {"enabled": False}
        options["edges"] = {**options["edges"], "smooth": {"type": "cubicBezier", "forceDirection": "horizontal"}}
    net.set_options(_json(options))
    strong = {n for e in (highlight or ()) for n in e}
    for n, a in g.nodes(data=True):
        style = STYLE.get(a.get("kind"), STYLE["other"])
        faded = highlight is not None and n not in strong
        color = "#d5d8dc" if faded else STYLE.get(a.get("of"), style)["color"]
        inside = style["shape"] in ("box", "ellipse")
        options = {
            "label": shorten(str(a.get("name") or n)),
            # plain text: vis-network sets string tooltips with innerText; see the module docstring
            "title": str(a.get("title") or a.get("name") or n),
            "shape": style["shape"],
            "color": {"background": color, "border": "#17202a" if n == center else color,
                      "highlight": {"background": color, "border": "#17202a"}},
            "borderWidth": 3 if n == center else 1,
            "font": {"color": style["font"] if inside and not faded else ("#aab7b8" if faded else "#1b2631")},
        }
        if not inside:
            options["size"] = a.get("size", 18)
        if n in levels:
            options["level"] = levels[n]
        if a.get("kind") == "group":  # a stack of many: a dashed frame
            options.update(borderWidth=2, shapeProperties={"borderDashes": [5, 3]})
            options["color"]["border"] = "#17202a"
        net.add_node(n, **options)
    for u, v, a in g.edges(data=True):
        on = highlight is None or (u, v) in highlight
        net.add_edge(u, v, title=str(a.get("label") or ""), label=str(a.get("label") or "") if on and highlight else "",
                     color="#c0392b" if highlight is not None and on else ("#e5e8e8" if not on else "#85929e"),
                     width=3 if highlight is not None and on else 1, dashes=bool(a.get("dashes")))
    page = net.generate_html(notebook=False)
    page = _BOOTSTRAP.sub("", page)
    page = _HEADING.sub("", page)
    page = page.replace(_HTML_SINK, "popup.innerText = nodeData[0].title;")
    # a group is drawn in its members' colour: their kind is in the legend too
    kinds = {a.get("kind") for _, a in g.nodes(data=True)} | {a["of"] for _, a in g.nodes(data=True) if "of" in a}
    kinds = sorted(kinds, key=lambda k: PRIORITY.get(k, 99))
    lines = {"dashed" if a.get("dashes") else "solid" for _, _, a in g.edges(data=True)}
    if highlight:
        lines.add("strong")
    return page.replace("</body>", _legend(kinds, lang, lines, center is not None) + _FIT + "</body>", 1)


def _columns(g: nx.DiGraph, center: str | None, aspect: float = 1.8) -> dict[str, int]:
    """Columns (hierarchical levels) alternately right and left of ``center`` (level 0), as many as make
    the drawing about ``aspect`` times as wide as it is high, filled in :data:`PRIORITY` order (a kind's
    nodes together), each column's nodes one under another: no label can cover another.

    >>> g = nx.DiGraph([("c", f"n{i}") for i in range(8)])
    >>> for n in g: g.nodes[n]["kind"] = "posts"
    >>> sorted(_columns(g, "c").values())
    [-1, -1, -1, -1, 0, 1, 1, 1, 1]
    """
    if center not in g:
        return {}
    others = sorted((n for n in g if n != center), key=lambda n: (PRIORITY.get(g.nodes[n]["kind"], 99), n))
    # width ≈ columns × LEVEL_GAP, height ≈ rows × NODE_GAP
    count = max(2, round(math.sqrt(aspect * NODE_GAP * len(others) / LEVEL_GAP)))
    rows = math.ceil(len(others) / count)
    levels = {center: 0}
    for i, n in enumerate(others):
        c = i // rows
        levels[n] = (c // 2 + 1) * (1 if c % 2 == 0 else -1)
    return levels


# A graph drawn while its frame is hidden (a tab not yet opened) has no size; fit it once it has one.
_FIT = """<script>(function () {
  var box = document.getElementById('mynetwork');
  if (!box || typeof network === 'undefined') { return; }
  var fit = function () { if (box.clientWidth && box.clientHeight) { network.redraw(); network.fit({animation: false}); } };
  network.once('stabilizationIterationsDone', fit);
  if (window.ResizeObserver) { new ResizeObserver(fit).observe(box); }
})();</script>"""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# What the legend says of what is not a kind of entity (the kinds speak for themselves: kind_label)
LEGEND_WORDS = {
    "zh": {"group": "多个同类对象（标签为数量；在“节点详情”中展开）", "solid": "关系：箭头指向所属单位、所在区域或所负责的对象（悬停看关系名称）",
           "dashed": "虚线：已结束或尚未开始的任职；上溯的责任", "strong": "红色粗线：所选责任链条", "center": "粗黑边框：中心对象"},
    "en": {"group": "Many of one kind (the label gives how many; expand it under Node details)",
           "solid": "A relation: the arrow points to the unit, the place or what is answered for (hover for its name)",
           "dashed": "Dashed: a tenure ended or not yet begun; an escalated responsibility",
           "strong": "Thick red: the chosen links of the chain", "center": "Thick black border: the entity at the centre"},
}


def _legend(kinds: list[str], lang: str, lines: Iterable[str] = (), center: bool = False) -> str:
    """The graph's legend, in ``lang``: a swatch per kind present, then what the lines and marks mean."""
    shapes = {"box": "2px", "ellipse": "50%", "dot": "50%", "triangle": "0", "star": "0"}
    words = LEGEND_WORDS[lang]
    items = []
    for kind in kinds:
        style = STYLE.get(kind, STYLE["other"])
        swatch = (f'<span style="display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;'
                  f'background:{style["color"]};border-radius:{shapes[style["shape"]]}"></span>')
        if kind == "group":
            swatch = swatch.replace("border-radius", "border:1px dashed #17202a;box-sizing:border-box;border-radius")
        label = words["group"] if kind == "group" else kind_label(kind, lang)
        items.append(f'<span class="legend-kind" style="margin-right:12px;white-space:nowrap">{swatch}'
                     f'{html.escape(label)}</span>')
    strokes = {"solid": "2px solid #85929e", "dashed": "2px dashed #85929e", "strong": "4px solid #c0392b"}
    marks = [(f'<span style="display:inline-block;width:22px;margin-right:4px;vertical-align:middle;'
              f'border-top:{strokes[line]}"></span>', words[line]) for line in ("solid", "dashed", "strong")
             if line in lines]
    if center:
        marks.append(('<span style="display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;'
                      'border:3px solid #17202a;box-sizing:border-box"></span>', words["center"]))
    items += [f'<span class="legend-line" style="margin-right:12px;white-space:nowrap">{m}{html.escape(w)}</span>'
              for m, w in marks]
    return ('<div id="legend" style="clear:both;font:12px sans-serif;color:#333;padding:6px 2px;line-height:20px">'
            + "".join(items) + "</div>")
