"""Explore: find any entity by name or id and draw its neighbourhood (depth 1–3, at most CAP nodes): only
some kinds of node, a unit's many hazards or enterprises as one node (expanded on demand), only the paths to
a chosen node or kind. The view lives in the URL's query parameters, so that it can be bookmarked and shared."""

import streamlit as st

from accountability.graphview import (
    PRIORITY,
    focus,
    graph_html,
    kind_label,
    neighbourhood,
    node_key,
    parse_key,
    unit_of_group,
)
from app_pages import common
from app_pages.common import md, page_link, plain, t

CAP = 150
DETAIL_PAGES = {"people": ("official", "person"), "hazards": ("hazard", "hazard"), "incidents": ("report", "incident")}
KINDS = [k for k in PRIORITY if k != "group"]  # what the type filter offers
# the view in the URL: query parameter → (widget key, its value when the parameter is absent)
VIEW = {"depth": ("ex_depth", 1), "types": ("ex_types", []), "group": ("ex_group", True), "expand": ("ex_expand", []),
        "focus": ("ex_focus", None)}


def _view_from_url() -> None:
    """The widgets start from the URL's view (when the page opens; afterwards they hold their own)."""
    q = st.query_params
    given = {"depth": int(q["depth"]) if q.get("depth", "").isdigit() and 1 <= int(q["depth"]) <= 3 else None,
             "types": [k for k in q.get("types", "").split(",") if k in KINDS] if "types" in q else None,
             "group": q.get("group") != "0" if "group" in q else None,
             "expand": [k for k in q.get("expand", "").split(",") if unit_of_group(k)] if "expand" in q else None,
             "focus": q.get("focus") or None}
    for name, (key, default) in VIEW.items():
        if key not in st.session_state:
            st.session_state[key] = default if given[name] is None else given[name]


def _view_to_url() -> None:
    """The widgets' view into the URL, leaving out what is as it is by default."""
    for name, (key, default) in VIEW.items():
        value = st.session_state.get(key, default)
        if value == default:
            st.query_params.pop(name, None)
        elif isinstance(value, list):
            st.query_params[name] = ",".join(value)
        else:
            st.query_params[name] = "0" if value is False else str(value)


def _node_label(node: dict, lang: str) -> str:
    if node["kind"] == "group":
        return f"{node['name']} · {node['unit_name']}"
    return f"{kind_label(node['kind'], lang)} · {node['name']} ({node['id']})"


def _group_label(key: str, by_key: dict, lang: str) -> str:
    """A group, drawn or expanded: its kind and its unit."""
    kind, unit = unit_of_group(key)
    name = by_key[unit]["name"] if unit in by_key else unit
    return f"{kind_label(kind, lang)} · {name}"


def _expand(group: str) -> None:
    st.session_state["ex_expand"] = [*st.session_state.get("ex_expand", []), group]


def _result_label(key: str, found: list[dict], L) -> str:
    table, rid = parse_key(key)
    name = next((r["name"] for r in found if r["type"] == table and r["id"] == rid), rid)
    return f"{kind_label(table, L.lang)} · {name} ({rid})"


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return "" if value is None else str(value)


def _center(key: str) -> None:
    st.query_params["entity"] = key
    st.session_state["ex_expand"], st.session_state["ex_focus"] = [], None  # they were the old centre's


def _pick_result() -> None:
    if st.session_state.get("ex_result"):
        _center(st.session_state["ex_result"])


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=common.BY_VIEW)
def _drawn(uri: str, digest: str, key: str, depth: int, on: str, lang: str, user, kinds: tuple[str, ...] = (),
           group: bool = True, expand: tuple[str, ...] = (), target: str | None = None) -> dict:
    """The neighbourhood's HTML (only the paths to ``target`` when given) and its nodes (all of them), once
    per (dataset, entity, depth, date, language, user's view, drawing options)."""
    with common.live(uri).use(user) as s:
        hood = neighbourhood(s, key, common.Labels(s, lang), on, depth=depth, cap=CAP, kinds=kinds or None,
                             group=group, expand=expand)
        g = hood.graph
        nodes = [{"key": n, "table": a["table"], "id": a["id"], "kind": a["kind"], "name": a["name"],
                  "depth": a["depth"], "row": {k: v for k, v in a["row"].items() if k != "extra"},
                  **({"count": a["count"], "unit_name": g.nodes[a["unit"]]["name"]} if a["kind"] == "group" else {})}
                 for n, a in sorted(g.nodes(data=True), key=lambda x: (x[1]["depth"], x[0]))]
        shown = focus(g, hood.center, target) if target else g
        return {"html": graph_html(shown, lang, center=hood.center, layout="columns" if depth == 1 else "force"),
                "nodes": nodes, "hidden": hood.hidden, "hidden_by_kind": hood.hidden_by_kind,
                "edges": g.number_of_edges(), "shown": shown.number_of_nodes()}


st.title(t("explore.title"))


on = common.as_of()
with common.session() as s:
    L = common.labels(s)
    _view_from_url()
    search, depth_col = st.columns([3, 1])
    with search:
        text = st.text_input(plain("explore.search"), key="ex_q", placeholder=plain("common.search_hint"))
    with depth_col:
        depth = st.slider(plain("explore.depth"), 1, 3, key="ex_depth")
    if text.strip():
        found = s.search(text, limit=50)
        if found:
            common.selectbox(plain("explore.results", n=len(found)), [node_key(r["type"], r["id"]) for r in found],
                             index=None, key="ex_result", on_change=_pick_result,
                             format_func=lambda k: _result_label(k, found, L))
        else:
            st.caption(t("common.nothing_found"))
    types_col, group_col, focus_col = st.columns([3, 1, 3], vertical_alignment="bottom")
    with types_col:
        types = st.multiselect(plain("explore2.types"), KINDS, key="ex_types", placeholder=plain("common.choose"),
                               help=plain("explore2.types_help"), format_func=lambda k: kind_label(k, common.lang()))
    with group_col:
        group = st.toggle(plain("explore2.group"), key="ex_group", help=plain("explore2.group_help"))

    key = st.query_params.get("entity")
    if not key:
        roots = s.roots()
        if not roots:
            st.info(t("explore.empty"))
            st.stop()
        key = node_key("jurisdictions", roots[0])
    with common.errors():
        parse_key(key)
        view = (tuple(types), group, tuple(st.session_state["ex_expand"]))
        drawn = _drawn(common.store_uri(), common.dataset_hash(), key, depth, on, common.lang(), common.user(), *view,
                       st.session_state["ex_focus"])
        present = sorted({n["kind"] for n in drawn["nodes"][1:]}, key=lambda k: PRIORITY.get(k, 99))
        targets = [f"type:{k}" for k in present] + [n["key"] for n in drawn["nodes"][1:]]
        if st.session_state["ex_focus"] not in targets and st.session_state["ex_focus"] is not None:
            st.session_state["ex_focus"] = None  # a node of another view: draw everything
            drawn = _drawn(common.store_uri(), common.dataset_hash(), key, depth, on, common.lang(), common.user(),
                           *view)
    by_key = {n["key"]: n for n in drawn["nodes"]}
    with focus_col:
        common.selectbox(plain("explore2.focus"), targets, key="ex_focus", index=None,
                         format_func=lambda k: plain("explore2.every", kind=kind_label(k[5:], common.lang()))
                         if k.startswith("type:") else _node_label(by_key[k], common.lang()))
    center = drawn["nodes"][0]
    st.subheader(f"{kind_label(center['kind'], common.lang())}{plain('hazard.colon')}{md(center['name'])}")
    st.iframe(drawn["html"], height=640, alt=plain("explore.graph_alt"))
    caption = t("explore.drawn", nodes=len(drawn["nodes"]), edges=drawn["edges"], depth=depth)
    if drawn["hidden"]:
        kinds = "、".join(f"{kind_label(k, common.lang())} {n}"
                         for k, n in sorted(drawn["hidden_by_kind"].items(), key=lambda kv: PRIORITY.get(kv[0], 99)))
        caption += " " + t("explore.hidden", n=drawn["hidden"], cap=CAP, kinds=kinds)
        st.warning(caption)
    else:
        st.caption(caption)
    if st.session_state["ex_focus"]:
        st.caption(t("explore2.focused", shown=drawn["shown"], nodes=len(drawn["nodes"])))

    st.subheader(t("explore.selected"))
    groups = sorted({*st.session_state["ex_expand"], *(n["key"] for n in drawn["nodes"] if n["kind"] == "group")})
    if groups:
        st.multiselect(plain("explore2.expanded"), groups, key="ex_expand", placeholder=plain("common.choose"),
                       help=plain("explore2.expanded_help"), format_func=lambda k: _group_label(k, by_key, common.lang()))
    chosen = common.selectbox(plain("explore.node"), list(by_key), key="ex_node",
                              format_func=lambda k: _node_label(by_key[k], common.lang()))
    _view_to_url()
    node = by_key[chosen]
    props, actions = st.columns([2, 1])
    with props:
        st.dataframe([{plain("explore.property"): common.word(f"fields.{k}", k),
                       plain("explore.value"): L.value(node["table"], k, v)}
                      for k, v in node["row"].items()], hide_index=True, width="stretch")
    with actions:
        if node["kind"] == "group":
            st.button(plain("explore2.expand", n=node["count"]), key="ex_expand_one", on_click=_expand,
                      args=(node["key"],))
        elif node["key"] != center["key"]:
            st.button(plain("explore.recenter"), key="ex_recenter", on_click=_center, args=(node["key"],))
        if node["table"] in DETAIL_PAGES:
            page, param = DETAIL_PAGES[node["table"]]
            page_link(page, plain("explore.open", page=plain(f"{page}.title")), **{param: node["id"]})

