"""Explore: find any entity by name or id and draw its neighbourhood (depth 1–3, at most CAP nodes)."""

import streamlit as st

from accountability.ui import (
    PRIORITY,
    graph_html,
    kind_label,
    neighbourhood,
    node_key,
    parse_key,
)
from app_pages import common
from app_pages.common import md, page_link, plain, t

CAP = 150
DETAIL_PAGES = {"people": ("official", "person"), "hazards": ("hazard", "hazard"), "incidents": ("report", "incident")}


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


def _pick_result() -> None:
    if st.session_state.get("ex_result"):
        _center(st.session_state["ex_result"])


@st.cache_data(max_entries=64, show_spinner=False)
def _drawn(uri: str, digest: str, key: str, depth: int, on: str, lang: str, user) -> dict:
    """The neighbourhood's HTML and its nodes, once per (dataset, entity, depth, date, language, user)."""
    with common.live(uri).use(user) as s:
        hood = neighbourhood(s, key, common.Labels(s, lang), on, depth=depth, cap=CAP)
        nodes = [{"key": n, "table": a["table"], "id": a["id"], "kind": a["kind"], "name": a["name"],
                  "depth": a["depth"], "row": {k: v for k, v in a["row"].items() if k != "extra"}}
                 for n, a in sorted(hood.graph.nodes(data=True), key=lambda x: (x[1]["depth"], x[0]))]
        return {"html": graph_html(hood.graph, lang, center=hood.center), "nodes": nodes, "hidden": hood.hidden,
                "hidden_by_kind": hood.hidden_by_kind, "edges": hood.graph.number_of_edges()}


st.title(t("explore.title"))


on = common.as_of()
with common.session() as s:
    L = common.labels(s)
    search, depth_col = st.columns([3, 1])
    with search:
        text = st.text_input(plain("explore.search"), key="ex_q", placeholder=plain("common.search_hint"))
    with depth_col:
        depth = st.slider(plain("explore.depth"), 1, 3, 1, key="ex_depth")
    if text.strip():
        found = s.search(text, limit=50)
        if found:
            common.selectbox(plain("explore.results", n=len(found)), [node_key(r["type"], r["id"]) for r in found],
                             index=None, key="ex_result", on_change=_pick_result,
                             format_func=lambda k: _result_label(k, found, L))
        else:
            st.caption(t("common.nothing_found"))

    key = st.query_params.get("entity")
    if not key:
        roots = s.roots()
        if not roots:
            st.info(t("explore.empty"))
            st.stop()
        key = node_key("jurisdictions", roots[0])
    with common.errors():
        parse_key(key)
        drawn = _drawn(common.store_uri(), common.dataset_hash(), key, depth, on, common.lang(), common.user())
    center = drawn["nodes"][0]
    st.subheader(f"{kind_label(center['kind'], common.lang())}：{md(center['name'])}")
    st.iframe(drawn["html"], height=640, alt=plain("explore.graph_alt"))
    caption = t("explore.drawn", nodes=len(drawn["nodes"]), edges=drawn["edges"], depth=depth)
    if drawn["hidden"]:
        kinds = "、".join(f"{kind_label(k, common.lang())} {n}"
                         for k, n in sorted(drawn["hidden_by_kind"].items(), key=lambda kv: PRIORITY.get(kv[0], 99)))
        caption += " " + t("explore.hidden", n=drawn["hidden"], cap=CAP, kinds=kinds)
        st.warning(caption)
    else:
        st.caption(caption)

    st.subheader(t("explore.selected"))
    by_key = {n["key"]: n for n in drawn["nodes"]}
    chosen = common.selectbox(plain("explore.node"), list(by_key), key="ex_node",
                              format_func=lambda k: f"{kind_label(by_key[k]['kind'], common.lang())} · "
                                                    f"{by_key[k]['name']} ({by_key[k]['id']})")
    node = by_key[chosen]
    props, actions = st.columns([2, 1])
    with props:
        st.dataframe([{plain("explore.property"): k, plain("explore.value"): _show(v)}
                      for k, v in node["row"].items()], hide_index=True, width="stretch")
    with actions:
        if node["key"] != center["key"]:
            st.button(plain("explore.recenter"), key="ex_recenter", on_click=_center, args=(node["key"],))
        if node["table"] in DETAIL_PAGES:
            page, param = DETAIL_PAGES[node["table"]]
            page_link(page, plain("explore.open", page=plain(f"{page}.title")), **{param: node["id"]})

