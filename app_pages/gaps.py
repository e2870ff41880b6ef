"""Gaps: the structural gaps in the chains of the unresolved hazards (no regulator, no leader's portfolio,
vacant posts, enterprises without a principal), counted and listed with the hazards they touch — the
``regulatory-gaps`` query with a chart."""

import altair as alt
import pandas as pd
import streamlit as st

from accountability import queries
from accountability.access import EXPORT
from app_pages import common
from app_pages.common import frame, page_link, plain, t

st.title(t("gaps.title"))
on = common.as_of()
query = queries.get("regulatory-gaps")
st.caption(common.md(query.description[common.lang()]))


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=common.BY_VIEW)
def _gaps(uri: str, digest: str, jurisdiction: str | None, kind: str | None, on: str, user) -> list[dict]:
    with common.live(uri).batch(on, user) as s, \
            queries.run("regulatory-gaps", s, jurisdiction=jurisdiction, kind=kind, as_of=on) as result:
        return list(result)


with common.session() as s:
    L = common.labels(s)
    a, b = st.columns(2)
    with a:
        jid = common.jurisdiction_select("gaps.jurisdiction", "gp_jurisdiction")
    with b:
        kinds = [None] + list(query.parameters["kind"].values)
        kind = common.selectbox(plain("gaps.kind"), kinds, key="gp_kind",
                                format_func=lambda k: plain("common.all") if k is None else L.term("gap_kinds", k))
    big = common.big_scope(s, s.graph.subtree(jid) if jid else None)
    if big:
        common.confirm_once(f"gp_run_{jid}_{kind}_{on}", plain("gaps.run"), t("gaps.big", n=common.BIG_SCOPE))
with st.spinner(plain("gaps.computing")), common.errors():
    rows = _gaps(common.store_uri(), common.dataset_hash(), jid, kind, on, common.user())
with common.session() as s:
    L = common.labels(s)
    st.caption(t("gaps.found", n=len(rows), as_of=on))
    if rows:
        counts = pd.DataFrame([{plain("gaps.kind"): L.term("gap_kinds", r["kind"]), plain("cols.hazards"): r["hazards"]}
                               for r in rows])
        summary = counts.groupby(plain("gaps.kind"), as_index=False).agg(
            **{plain("gaps.gaps"): (plain("cols.hazards"), "size"), plain("cols.hazards"): (plain("cols.hazards"), "sum")})
        chart = alt.Chart(summary).mark_bar().encode(
            y=alt.Y(f"{plain('gaps.kind')}:N", title=None), x=alt.X(f"{plain('gaps.gaps')}:Q", title=None),
            color=alt.value("#c0392b"), tooltip=list(summary.columns)).properties(height=40 * len(summary) + 30)
        st.altair_chart(chart, width="stretch")
        shown = [{**r, "kind_label": L.term("gap_kinds", r["kind"]), "place": L.place(r["jurisdiction_id"]),
                  "industry_label": L.industry(r["industry"]), "organization": L.organization(r["organization_id"]),
                  "post": L.post_in_org(r["post_id"]) if r["post_id"] else ""} for r in rows]
        picked = st.dataframe(
            frame(shown, {"kind_label": "cols.gap", "place": "cols.place", "industry_label": "cols.industry",
                          "organization": "cols.organization", "post": "cols.post", "hazards": "cols.hazards",
                          "hazard_ids": "cols.hazard_ids"}),
            hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="gp_table")
        if common.user().may(EXPORT):
            labelled = {"kind": lambda k: L.term("gap_kinds", k), "industry": L.industry,
                        "jurisdiction_id": L.place, "organization_id": L.organization, "post_id": L.post_in_org}
            headers = [c.label[common.lang()] for c in query.outputs[queries.DEFAULT_OUTPUT].columns]
            st.download_button(plain("common.download_csv"),
                               common.labelled_csv(rows, query.columns, headers, labelled),
                               file_name=f"regulatory-gaps-{on}.csv", mime="text/csv", key="gp_csv")
        if picked and picked.selection.rows:
            row = rows[picked.selection.rows[0]]
            st.markdown(t("gaps.hazards_of", gap=L.gap({**row, "kind": row["kind"]})))
            cols = st.columns(6)
            for i, hid in enumerate(row["hazard_ids"][:36]):
                with cols[i % 6]:
                    page_link("hazard", hid, hazard=hid)
