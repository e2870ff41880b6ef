"""Measures: the State Council's fifteen and the province's own, as assigned to organizations — a heatmap of
their completion (organization × measure, overdue first), the table with deadlines and days overdue, and who
answers for the overdue ones (rule M1), as of the sidebar's date. Widget keys start with ``ms_``."""

import altair as alt
import pandas as pd
import streamlit as st

from accountability import measures
from accountability.access import EXPORT
from app_pages import common
from app_pages.common import frame, plain, t

OVERDUE = "overdue"  # the heatmap's fourth state, beside the reported statuses
COLOURS = {OVERDUE: "#c0392b", "not_started": "#b8b8b8", "in_progress": "#e6a23c", "done": "#4a8c5c"}


@st.cache_data(max_entries=32, show_spinner=False)
def _overview(uri: str, digest: str, on: str, jurisdiction: str | None, lang: str, user) -> dict:
    with common.live(uri).use(user) as s:
        return measures.overview(s, on, jurisdiction, lang)


def _heatmap(L, rows: list[dict]) -> None:
    """Organization × measure, a cell's colour its state; the most overdue measures and the organizations
    with the most overdue assignments first."""
    worst: dict[str, int] = {}
    late: dict[str, int] = {}
    for r in rows:
        worst[r["measure_id"]] = max(worst.get(r["measure_id"], 0), r["days_overdue"])
        late[r["organization_id"]] = late.get(r["organization_id"], 0) + (r["days_overdue"] > 0)
    names = {oid: L.organization(oid) for oid in late}
    measure_order = sorted(worst, key=lambda m: (-worst[m], m))
    org_order = [names[o] for o in sorted(late, key=lambda o: (-late[o], names[o]))]
    labels = {code: L.term("measure_statuses", code) for code in COLOURS if code != OVERDUE}
    labels[OVERDUE] = plain("measures.state_overdue")
    m, o, state = plain("measures.col_measure"), plain("measures.col_organization"), plain("measures.state")
    title, deadline, days = plain("measures.col_title"), plain("measures.col_deadline"), plain("measures.col_days")
    df = pd.DataFrame([{m: r["measure_id"], o: names[r["organization_id"]], title: r["title"] or "",
                        state: labels[OVERDUE if r["days_overdue"] else r["status"]], deadline: r["deadline"] or "",
                        days: r["days_overdue"]} for r in rows])
    chart = alt.Chart(df).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X(f"{m}:N", sort=measure_order, title=None, axis=alt.Axis(labelAngle=-60, orient="top")),
        y=alt.Y(f"{o}:N", sort=org_order, title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color(f"{state}:N", scale=alt.Scale(domain=[labels[c] for c in COLOURS], range=list(COLOURS.values())),
                        legend=alt.Legend(orient="bottom", title=None)),
        tooltip=[m, title, o, state, deadline, days]).properties(height={"step": 26})
    st.altair_chart(chart, width="stretch")
    st.caption(t("measures.heatmap_help"))


st.title(t("measures.title"))
on = common.as_of()
uri = common.store_uri()
st.caption(t("measures.caption", as_of=on))
with common.session() as s:
    jid = common.jurisdiction_select("measures.jurisdiction", "ms_jurisdiction")
with st.spinner(plain("measures.computing")), common.errors():
    data = _overview(uri, common.dataset_hash(), on, jid, common.lang(), common.user())
rows = data["rows"]
if not rows:
    st.info(t("measures.none"))
    st.stop()
with common.session() as s:
    L = common.labels(s)
    overdue = [r for r in rows if r["days_overdue"]]
    k = st.columns(4)
    k[0].metric(plain("measures.m_assignments"), f"{len(rows):,}")
    k[1].metric(plain("measures.m_done"), f"{sum(r['status'] == 'done' for r in rows):,}")
    k[2].metric(plain("measures.m_overdue"), f"{len(overdue):,}")
    k[3].metric(plain("measures.m_measures"), f"{len({r['measure_id'] for r in overdue}):,}")
    st.subheader(t("measures.heatmap"))
    _heatmap(L, rows)
    table = [{**r, "organization": L.organization(r["organization_id"]), "role_label": L.term("measure_roles", r["role"]),
              "status_label": L.term("measure_statuses", r["status"]),
              "source": plain("measures.state_council") if r["source"] == "state_council_15" else r["source"]}
             for r in rows]
    st.dataframe(frame(table, {"measure_id": "measures.col_measure", "title": "measures.col_title",
                               "source": "measures.col_source", "organization": "measures.col_organization",
                               "role_label": "measures.col_role", "deadline": "measures.col_deadline",
                               "status_label": "measures.col_status", "days_overdue": "measures.col_days"}),
                 hide_index=True, width="stretch")
    if common.user().may(EXPORT):
        words = {"measure_id": "measures.col_measure", "title": "measures.col_title", "source": "measures.col_source",
                 "organization_id": "measures.col_organization", "role": "measures.col_role",
                 "deadline": "measures.col_deadline", "status": "measures.col_status",
                 "days_overdue": "measures.col_days"}
        labelled = {"organization_id": L.organization, "role": lambda c: L.term("measure_roles", c),
                    "status": lambda c: L.term("measure_statuses", c)}
        st.download_button(plain("common.download_csv"),
                           common.labelled_csv(rows, measures.COLUMNS, [plain(words[c]) for c in measures.COLUMNS],
                                               labelled),
                           file_name=f"measures-{on}.csv", mime="text/csv", key="ms_csv")
    if data["links"]:
        st.subheader(t("measures.links"))
        st.caption(t("measures.links_help"))
        answering = [{**link, "post": L.post_in_org(link["post_id"]),
                      "holders_text": [h["name"] for h in link["holders"]] or [plain("hazard.s_vacant")],
                      "degree_label": L.term("degrees", link["degree"]),
                      "days": link["evidence"][0]["days_overdue"]} for link in data["links"]]
        answering.sort(key=lambda r: (-r["days"], r["measure_id"], r["post_id"]))
        st.dataframe(frame(answering, {"measure_id": "measures.col_measure", "days": "measures.col_days",
                                       "post": "measures.col_post", "holders_text": "measures.col_holders",
                                       "degree_label": "measures.col_degree"}), hide_index=True, width="stretch")
