"""Official: one person's posts over time, the portfolios of those posts, and every hazard in whose chain
they stand on the "as of" date, by duty and degree."""

import altair as alt
import pandas as pd
import streamlit as st

from accountability import measures
from accountability.dates import day, iso
from accountability.ui import (
    conduct_of_person,
    exposure_scope,
    person_exposure,
    portfolios_of_posts,
    posts_held,
    tenures_of_person,
)
from app_pages import common
from app_pages.common import frame, md, page_link, plain, t


def _picked() -> None:
    if st.session_state.get("of_pick"):
        st.query_params["person"] = st.session_state["of_pick"]


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=common.BY_VIEW)
def _exposure(uri: str, digest: str, person: str, on: str, user) -> list[dict]:
    with common.live(uri).batch(on, user) as s:
        return person_exposure(s, person, on)


st.title(t("official.title"))
on = common.as_of()
with common.session() as s:
    L = common.labels(s)
    with st.expander(plain("official.choose"), expanded="person" not in st.query_params):
        text = st.text_input(plain("official.search"), key="of_q", placeholder=plain("common.search_hint"))
        if text.strip():
            found = s.search(text, "people")
            names = {r["id"]: r["name"] for r in found}
            common.found_pick(list(names), "of_pick", lambda p: f"{names.get(p)} ({p})", on_change=_picked)
    pid = st.query_params.get("person")
    if not pid:
        st.info(t("official.pick_one"))
        st.stop()
    with common.errors():
        person = s.person(pid)

    st.header(f"{md(person['name'])} ({md(pid)})")
    tenures = tenures_of_person(s, pid)
    current = [x for x in tenures if x["start"] <= on <= (x["end"] or "9999-12-31")]
    if current:
        st.markdown(t("official.holds", as_of=on, posts=plain("hazard.list_sep").join(L.post_in_org(x["post_id"]) for x in current)))
    else:
        st.markdown(t("official.holds_nothing", as_of=on))

    st.subheader(t("official.posts"))
    if tenures:
        rows = []
        for x in tenures:
            label = L.post_in_org(x["post_id"])
            rows.append({plain("cols.post"): label,
                         plain("cols.from"): x["start"], plain("cols.to"): x["end"] or plain("official.now"),
                         "start": x["start"], "end": iso(day(x["end"] or max(on, x["start"])) + 1),
                         plain("cols.acting"): common.yes(x["acting"])})
        df = pd.DataFrame(rows)
        post_col = plain("cols.post")
        chart = alt.Chart(df).mark_bar(cornerRadius=2).encode(
            x=alt.X("start:T", title=None, axis=alt.Axis(format="%Y-%m")), x2="end:T",
            y=alt.Y(f"{post_col}:N", title=None, sort=None, axis=alt.Axis(labelLimit=280)),
            color=alt.Color(f"{post_col}:N", legend=None),
            tooltip=[post_col, plain("cols.from"), plain("cols.to"), plain("cols.acting")],
        ).properties(height={"step": 34})
        rule = alt.Chart(pd.DataFrame({"on": [on]})).mark_rule(color="#c0392b", strokeDash=[4, 3]).encode(x="on:T")
        st.altair_chart(chart + rule, width="stretch")
        table = [{**x, "post": L.post_in_org(x["post_id"]), "role": L.term("roles", x["role"]),
                  "place": L.place(x["jurisdiction_id"]), "end": x["end"] or plain("official.now")} for x in tenures]
        st.dataframe(frame(table, {"post": "cols.post", "role": "cols.role", "place": "cols.place",
                                   "start": "cols.from", "end": "cols.to", "acting": "cols.acting"}),
                     hide_index=True, width="stretch")
    else:
        st.caption(t("official.no_posts"))

    st.subheader(t("official.portfolios"))
    portfolios = portfolios_of_posts(s, sorted({x["post_id"] for x in tenures}))
    if portfolios:
        table = [{**p, "post": L.post_in_org(p["post_id"]),
                  "scope": L.industry(p["industry"]) if p["industry"] else L.organization(p["organization_id"]),
                  "current": p["start"] <= on <= (p["end"] or "9999-12-31"),
                  "end": p["end"] or plain("official.now")} for p in portfolios]
        st.dataframe(frame(table, {"post": "cols.post", "scope": "cols.scope", "start": "cols.from",
                                   "end": "cols.to", "current": "cols.current"}), hide_index=True, width="stretch")
    else:
        st.caption(t("official.no_portfolios"))

    st.subheader(t("official.conduct"))
    records = conduct_of_person(s, tenures)
    if records:
        table = [{"date": r["date"], "post": L.post_in_org(r["post_id"]), "record": L.evidence(r["record"]),
                  "hazards": r["hazard_ids"]} for r in records]
        st.dataframe(frame(table, {"date": "cols.date", "post": "cols.post", "record": "cols.record",
                                   "hazards": "cols.hazard_ids"}), hide_index=True, width="stretch")
    else:
        st.caption(t("official.no_conduct"))

    if s.ruleset.generation >= 2:  # rule M1: the overdue measures their posts answer for
        st.subheader(t("measures.official", as_of=on))
        owed = measures.of_person(s, pid, on, common.lang())
        if owed:
            table = [{**r, "organization": L.organization(r["organization_id"]), "post": L.post_in_org(r["post_id"]),
                      "status_label": L.term("measure_statuses", r["status"]),
                      "degree_label": L.term("degrees", r["degree"])} for r in owed]
            st.dataframe(frame(table, {"measure_id": "measures.col_measure", "title": "measures.col_title",
                                       "organization": "measures.col_organization", "deadline": "measures.col_deadline",
                                       "status_label": "measures.col_status", "days_overdue": "measures.col_days",
                                       "post": "measures.col_post", "degree_label": "measures.col_degree"}),
                         hide_index=True, width="stretch")
        else:
            st.caption(t("measures.official_none"))

    st.subheader(t("official.hazards", as_of=on))
    big = common.big_scope(s, exposure_scope(s, posts_held(s, pid, on))[0])
    if big:
        common.confirm_once(f"of_trace_{pid}_{on}", plain("official.trace"), t("official.big", n=common.BIG_SCOPE))
with st.spinner(plain("official.tracing")):
    exposure = _exposure(common.store_uri(), common.dataset_hash(), pid, on, common.user())
with common.session() as s:
    L = common.labels(s)
    if not exposure:
        st.caption(t("official.no_hazards"))
    else:
        hazards = {r["hazard_id"] for r in exposure}
        m = st.columns(4)
        m[0].metric(plain("official.m_hazards"), len(hazards))
        # the columns' short words: a degree's full name does not fit a metric's label
        for col, (degree, word) in zip(m[1:], (("principal_leadership", "cols.principal"),
                                                ("important_leadership", "cols.important"), ("direct", "cols.direct"))):
            col.metric(plain(word), len({r["hazard_id"] for r in exposure if r["degree"] == degree}),
                       help=L.term("degrees", degree))
        counts = pd.DataFrame([{plain("cols.duty"): L.term("duties", r["duty"]),
                                plain("cols.degree"): L.term("degrees", r["degree"])} for r in exposure])
        counts = counts.value_counts().reset_index(name=plain("overview.count"))
        chart = alt.Chart(counts).mark_bar().encode(
            y=alt.Y(f"{plain('cols.duty')}:N", title=None),
            x=alt.X(f"{plain('overview.count')}:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(f"{plain('cols.degree')}:N", legend=alt.Legend(orient="top", title=None)),
            tooltip=list(counts.columns),
        ).properties(height={"step": 34})
        st.altair_chart(chart, width="stretch")
        table = [{**r, "industry_label": L.industry(r["industry"]), "level_label": L.term("hazard_levels", r["level"]),
                  "place": L.place(r["jurisdiction_id"]), "post": L.post_in_org(r["post_id"]),
                  "duty_label": L.term("duties", r["duty"]), "degree_label": L.term("degrees", r["degree"])}
                 for r in exposure]
        picked = st.dataframe(
            frame(table, {"hazard_id": "cols.hazard_id", "description": "cols.description",
                          "industry_label": "cols.industry", "level_label": "cols.level", "place": "cols.place",
                          "days_overdue": "cols.days_overdue", "post": "cols.post", "duty_label": "cols.duty",
                          "degree_label": "cols.degree", "escalated": "cols.escalated"}),
            hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="of_hazards")
        if picked and picked.selection.rows:
            st.switch_page(common.PAGES["hazard"], query_params={"hazard": table[picked.selection.rows[0]]["hazard_id"]})
        links = st.columns(5)
        for i, hid in enumerate(sorted(hazards)[:10]):
            with links[i % 5]:
                page_link("hazard", hid, hazard=hid)
