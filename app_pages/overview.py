"""Overview: unresolved, overdue and major hazards by city and by industry, the most overdue hazards, the
recent incidents and the most exposed officials, each a click away from its page.

The counts come from one pass over the unresolved hazards (seconds for a province); the ranking of
officials traces every hazard in its scope, so where there are many it is computed per city.
"""

import altair as alt
import pandas as pd
import streamlit as st

from app_pages import common
from app_pages.common import frame, page_link, plain, t

# Above this many unresolved hazards the ranking starts with the busiest city rather than everything:
# tracing half a million hazards takes minutes and gigabytes.
RANK_ALL_UP_TO = 60_000
MEASURES = ["unresolved", "overdue", "major"]


def bars(rows: list[dict], key: str, name_of, axis_word: str) -> None:
    if not rows:
        st.caption(t("overview.none"))
        return
    measure_word, count_word = plain("overview.measure"), plain("overview.count")
    long = pd.DataFrame([{axis_word: name_of(r[key]), measure_word: plain(f"overview.m_{m}"), count_word: r[m]}
                         for r in rows for m in MEASURES])
    chart = alt.Chart(long).mark_bar().encode(
        y=alt.Y(f"{axis_word}:N", sort=[name_of(r[key]) for r in rows], title=None, axis=alt.Axis(labelLimit=160)),
        x=alt.X(f"{count_word}:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1)),
        yOffset=alt.YOffset(f"{measure_word}:N"),
        color=alt.Color(f"{measure_word}:N", sort=[plain(f"overview.m_{m}") for m in MEASURES],
                        scale=alt.Scale(range=["#5d6d7e", "#e67e22", "#c0392b"]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=[f"{axis_word}:N", f"{measure_word}:N", f"{count_word}:Q"],
    ).properties(height={"step": 10 * len(MEASURES) + 8, "for": "position"})  # one band per row
    st.altair_chart(chart, width="stretch")


def clickable(table: pd.DataFrame, key: str, page: str, param: str, ids: list[str]) -> None:
    """A table whose selected row opens ``page`` for that row's id."""
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row", key=key)
    if picked and picked.selection.rows:
        st.switch_page(common.PAGES[page], query_params={param: ids[picked.selection.rows[0]]})


st.title(t("overview.title"))
on = common.as_of()
uri = common.store_uri()
common.require_store()
# computed outside the interactive session's lock: other users' pages go on meanwhile
with st.spinner(plain("overview.computing")):
    data = common.summary_data(uri, common.dataset_hash(), on, common.user())
totals = data["totals"]

with common.session() as s:
    L = common.labels(s)
    st.caption(t("overview.caption", as_of=on))
    cols = st.columns(5)
    for col, measure in zip(cols, ("unresolved", "overdue", "major", "unescalated_major", "incidents")):
        col.metric(plain(f"overview.m_{measure}"), f"{totals[measure]:,}")

    left, right = st.columns(2)
    with left:
        st.subheader(t("overview.by_city"))
        bars(data["by_city"][:25], "jurisdiction_id", L.jurisdiction, plain("overview.city"))
    with right:
        st.subheader(t("overview.by_industry"))
        bars(data["by_industry"][:25], "industry", L.industry, plain("overview.industry"))

    st.subheader(t("overview.overdue"))
    overdue = [{**r, "industry_label": L.industry(r["industry"]), "level_label": L.term("hazard_levels", r["level"]),
                "place": L.place(r["jurisdiction_id"]), "organization": L.organization(r["organization_id"])}
               for r in data["overdue"][:20]]
    if not overdue:
        st.caption(t("overview.none_overdue"))
    else:
        clickable(frame(overdue, {"hazard_id": "cols.hazard_id", "description": "cols.description",
                                  "industry_label": "cols.industry", "level_label": "cols.level", "place": "cols.place",
                                  "organization": "cols.organization", "deadline": "cols.deadline",
                                  "days_overdue": "cols.days_overdue"}),
                  "ov_overdue", "hazard", "hazard", [r["hazard_id"] for r in overdue])
        links = st.columns(5)
        for col, r in zip(links, overdue[:5]):
            with col:
                page_link("hazard", f"{r['hazard_id']} · {r['days_overdue']}{plain('overview.days')}",
                          hazard=r["hazard_id"])

    st.subheader(t("overview.incidents"))
    incidents = [{**r, "level_label": L.term("accident_levels", r["level"]), "place": L.place(r["jurisdiction_id"]),
                  "industry_label": L.industry(r["industry"])} for r in data["incidents"][:20]]
    if not incidents:
        st.caption(t("overview.no_incidents"))
    else:
        clickable(frame(incidents, {"incident_id": "cols.incident_id", "title": "cols.title",
                                    "occurred_on": "cols.occurred_on", "level_label": "cols.accident_level",
                                    "place": "cols.place", "industry_label": "cols.industry", "deaths": "cols.deaths",
                                    "serious_injuries": "cols.serious_injuries"}),
                  "ov_incidents", "report", "incident", [r["incident_id"] for r in incidents])
        links = st.columns(5)
        for col, r in zip(links, incidents[:5]):
            with col:
                page_link("report", f"{r['incident_id']} · {r['title'] or ''}", incident=r["incident_id"])

    st.subheader(t("overview.officials"))
    cities = [r["jurisdiction_id"] for r in data["by_city"]]
    big = totals["unresolved"] > RANK_ALL_UP_TO
    options = ([] if big else [None]) + cities
    scope = common.selectbox(plain("overview.scope"), options, key="ov_scope",
                             format_func=lambda j: plain("common.all") if j is None else L.place(j))
    st.caption(t("overview.officials_help") + (" " + t("overview.per_city", n=RANK_ALL_UP_TO) if big else ""))

with st.spinner(plain("overview.ranking")):
    ranking = common.ranking_data(uri, common.dataset_hash(), on, scope, common.user()) if options else None

with common.session() as s:
    L = common.labels(s)
    if not ranking or not ranking["officials"]:
        st.caption(t("overview.none"))
    else:
        st.caption(t("overview.gaps_in_scope", hazards=f"{ranking['hazards']:,}", gaps=f"{ranking['with_gaps']:,}"))
        officials = [{**r, "posts": [L.post_in_org(p) for p in r["post_ids"]]} for r in ranking["officials"][:20]]
        columns = {"name": "cols.name", "posts": "cols.posts", "hazards": "cols.hazards",
                   "principal_leadership": "cols.principal", "important_leadership": "cols.important",
                   "direct": "cols.direct", "person_id": "cols.person_id"}
        if "measures_overdue" in officials[0]:  # v2: overdue measures they answer for (rule M1)
            columns["measures_overdue"] = "measures.overdue_count"
        clickable(frame(officials, columns), "ov_officials", "official", "person", [r["person_id"] for r in officials])
        links = st.columns(5)
        for col, r in zip(links, officials[:5]):
            with col:
                page_link("official", f"{r['name']} ({r['hazards']})", person=r["person_id"])
