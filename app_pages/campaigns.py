"""Campaigns: a comprehensive inspection's coverage (大检查) by jurisdiction and inspecting department, and a
look-back's (回头看) re-inspection plan, its results and relapse rates; an auditor enters re-inspection results
here. Widget keys start with ``cp_``.

Entering a result needs the QUERY permission (the auditor's: a viewer may not; a scoped auditor may, for the
hazards of their jurisdiction): the result is written as a ``reinspected`` event through the import path —
validated as a dataset is, recorded in the audit log under the signed-in user's name.
"""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from accountability import audit, campaigns
from accountability.access import EXPORT, NOBODY_CONFIGURED, QUERY
from accountability.errors import InvalidDataset, error_text, reason_text
from accountability.output import to_string
from accountability.stores import open_store
from accountability.uploads import split_error
from app_pages import common
from app_pages.common import frame, md, plain, t
from graph_schema import SCHEMA

PLAN_SHOWN = 200  # plan rows shown on the page; the download holds them all


@st.cache_data(max_entries=16, show_spinner=False)
def _coverage(uri: str, digest: str, campaign_id: str, user) -> dict:
    with common.live(uri).use(user) as s:
        return campaigns.coverage(s, campaign_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _report(uri: str, digest: str, campaign_id: str, user) -> dict:
    with common.live(uri).use(user) as s:
        return campaigns.report(s, campaign_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _plan(uri: str, digest: str, campaign_id: str, sample: int | None, seed: int, user) -> dict:
    with common.live(uri).use(user) as s:
        return campaigns.plan(s, campaign_id, sample=sample, seed=seed)


def _outcome(code: str) -> str:
    return SCHEMA.label("reinspection_outcomes", code, common.lang())


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _at_level(s, rows: list[dict], level: str) -> list[dict]:
    return [r for r in rows if s.graph.jurisdictions[r["jurisdiction_id"]].level == level]


def _level_select(s, rows: list[dict]) -> str | None:
    """The level the jurisdiction rows are shown at: by default the one below the top row's (None: no rows)."""
    graph = s.graph
    levels = list(dict.fromkeys(graph.jurisdictions[r["jurisdiction_id"]].level for r in rows))
    if not levels:
        return None
    index = 1 if len(levels) > 1 else 0
    L = common.labels(s)
    return common.selectbox(plain("campaigns.level"), levels, key="cp_level", index=index,
                            format_func=lambda code: L.term("jurisdiction_levels", code))


def _coverage_section(s, L, result: dict, level: str) -> None:
    rows = result["coverage"]
    if not rows:
        return
    top = rows[0]
    m = st.columns(5)
    m[0].metric(plain("campaigns.m_in_scope"), f"{top['in_scope']:,}")
    m[1].metric(plain("campaigns.m_inspected"), f"{top['inspected']:,}")
    m[2].metric(plain("campaigns.m_coverage"), "—" if top["coverage_pct"] is None else f"{top['coverage_pct']}%")
    m[3].metric(plain("campaigns.m_hazards"), f"{top['hazards_found']:,}")
    m[4].metric(plain("campaigns.m_orders"), f"{top['orders']:,}")
    shown = [{**r, "place": L.place(r["jurisdiction_id"])} for r in _at_level(s, rows, level) if r["in_scope"]]
    if shown:
        place, pct = plain("campaigns.col_place"), plain("campaigns.col_coverage")
        df = frame(shown, {"place": "campaigns.col_place", "coverage_pct": "campaigns.col_coverage",
                           "in_scope": "campaigns.col_in_scope", "inspected": "campaigns.col_inspected",
                           "hazards_found": "campaigns.col_hazards", "orders": "campaigns.col_orders"})
        chart = alt.Chart(df).mark_bar(color="#2e6b9e").encode(
            y=alt.Y(f"{place}:N", title=None, sort=alt.EncodingSortField(field=pct, order="ascending"),
                    axis=alt.Axis(labelLimit=320)),
            x=alt.X(f"{pct}:Q", title=pct, scale=alt.Scale(domain=[0, 100])),
            tooltip=list(df.columns)).properties(height={"step": 24})
        st.altair_chart(chart, width="stretch")
        st.caption(t("campaigns.chart_help"))
        st.dataframe(df, hide_index=True, width="stretch")
    st.subheader(t("campaigns.by_department"))
    departments = [{**r, "department": L.organization(r["organization_id"]),
                    "place": L.place(s.graph.orgs[r["organization_id"]].jurisdiction_id)
                    if r["organization_id"] in s.graph.orgs else ""} for r in result["by_department"]]
    st.dataframe(frame(departments, {"department": "campaigns.col_department", "place": "campaigns.col_place",
                                     "inspected": "campaigns.col_inspected", "hazards_found": "campaigns.col_hazards",
                                     "orders": "campaigns.col_orders"}), hide_index=True, width="stretch")
    gaps = result["gaps"]
    with st.expander(plain("campaigns.uninspected", n=len(gaps))):
        table = [{**g, "enterprise": L.organization(g["organization_id"]), "place": L.place(g["jurisdiction_id"])}
                 for g in gaps]
        st.dataframe(frame(table, {"enterprise": "campaigns.col_enterprise", "organization_id":
                                   "campaigns.col_enterprise_id", "place": "campaigns.col_place"}),
                     hide_index=True, width="stretch")


def _with_rate(row: dict) -> dict:
    return {**row, "rate": _rate(row["relapsed"], row["reinspected"])}


def _results_section(s, L, result: dict, level: str) -> None:
    top = result["by_jurisdiction"][0] if result["by_jurisdiction"] else None
    if not top or not top["reinspected"]:
        st.caption(t("campaigns.no_reinspections"))
        return
    m = st.columns(4)
    m[0].metric(plain("campaigns.m_reinspected"), f"{top['reinspected']:,}")
    m[1].metric(plain("campaigns.m_held"), f"{top['held']:,}")
    m[2].metric(plain("campaigns.m_relapsed"), f"{top['relapsed']:,}")
    m[3].metric(plain("campaigns.m_rate"), f"{_rate(top['relapsed'], top['reinspected'])}%")
    counts = {"reinspected": "campaigns.col_reinspected", "held": "campaigns.col_held",
              "relapsed": "campaigns.col_relapsed", "rate": "campaigns.col_rate"}
    st.markdown("**" + t("campaigns.by_jurisdiction") + "**")
    places = [_with_rate({**r, "place": L.place(r["jurisdiction_id"])})
              for r in _at_level(s, result["by_jurisdiction"], level) if r["reinspected"]]
    if places:
        held, relapsed = _outcome("held"), _outcome("relapsed")
        long = pd.DataFrame([{plain("campaigns.col_place"): r["place"], plain("campaigns.outcome"): word,
                              plain("campaigns.count"): r[key]}
                             for r in places for key, word in (("held", held), ("relapsed", relapsed))])
        chart = alt.Chart(long).mark_bar().encode(
            y=alt.Y(f"{plain('campaigns.col_place')}:N", title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(f"{plain('campaigns.count')}:Q", title=None, axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(f"{plain('campaigns.outcome')}:N", legend=alt.Legend(orient="top", title=None),
                            scale=alt.Scale(domain=[held, relapsed], range=["#4a8c5c", "#c0392b"])),
            tooltip=list(long.columns)).properties(height={"step": 24})
        st.altair_chart(chart, width="stretch")
        st.dataframe(frame(places, {"place": "campaigns.col_place", **counts}), hide_index=True, width="stretch")
    st.markdown("**" + t("campaigns.by_re_department") + "**")
    departments = [_with_rate({**r, "department": L.organization(r["organization_id"])})
                   for r in result["by_department"]]
    st.dataframe(frame(departments, {"department": "campaigns.col_department", **counts}), hide_index=True,
                 width="stretch")
    st.markdown("**" + t("campaigns.by_signer") + "**")
    signers = [_with_rate({**r, "post": L.post_in_org(r["post_id"]), "person": L.person(r["person_id"]),
                           "repeated": r["relapsed"] >= 2}) for r in result["by_signer"]]
    st.dataframe(frame(signers, {"post": "campaigns.col_signer_post", "person": "campaigns.col_signer", **counts,
                                 "repeated": "campaigns.col_repeated"}), hide_index=True, width="stretch")


PLAN_COLUMNS = {"hazard_id": "campaigns.col_hazard", "organization_id": "campaigns.col_unit_id",
                "unit": "campaigns.col_unit", "place": "campaigns.col_place", "industry_label": "campaigns.col_industry",
                "level_label": "campaigns.col_level", "closed_on": "campaigns.col_closed_on",
                "signer_post_id": "campaigns.col_signer_id", "signer": "campaigns.col_signer_label",
                "regulator_post_id": "campaigns.col_regulator_id", "regulator": "campaigns.col_regulator",
                "weight": "campaigns.col_weight"}


def _plan_rows(L, rows: list[dict]) -> list[dict]:
    return [{**r, "unit": L.organization(r["organization_id"]), "place": L.place(r["jurisdiction_id"]),
             "industry_label": L.industry(r["industry"]), "level_label": L.term("hazard_levels", r["level"]),
             "signer": L.post_in_org(r["signer_post_id"]) if r["signer_post_id"] else "",
             "regulator": L.post_in_org(r["regulator_post_id"]) if r["regulator_post_id"] else ""} for r in rows]


def plan_csv(rows: list[dict]) -> str:
    """The plan as CSV for a spreadsheet: headers in the page's language, a byte-order mark for Excel."""
    headers = {key: plain(word) for key, word in PLAN_COLUMNS.items()}
    return "\ufeff" + to_string(({headers[k]: r.get(k) for k in PLAN_COLUMNS} for r in rows),
                                list(headers.values()), "csv")


def _plan_inputs() -> tuple[int | None, int]:
    a, b = st.columns(2)
    sample = a.number_input(plain("campaigns.sample"), min_value=0, max_value=1_000_000, value=None, step=10,
                            key="cp_sample")
    seed = b.number_input(plain("campaigns.seed"), min_value=0, max_value=2 ** 31, value=1, step=1, key="cp_seed")
    return (None if sample is None else int(sample)), int(seed)


def _entry_form(row: dict) -> None:
    """The form an auditor enters a re-inspection result with; dates within the look-back."""
    st.subheader(t("campaigns.entry"))
    st.caption(t("campaigns.entry_help"))
    saved = st.session_state.pop("cp_saved", None)
    if saved:
        st.success(saved)
    if not common.user().may(QUERY):
        st.caption(t("campaigns.entry_role"))
        return
    start, end = dt.date.fromisoformat(row["start"]), dt.date.fromisoformat(row["end"])
    on = min(max(dt.date.fromisoformat(common.as_of()), start), end)
    with st.form("cp_entry", clear_on_submit=False):
        a, b, c = st.columns([2, 1, 1])
        hazard = a.text_input(plain("campaigns.entry_hazard"), key="cp_hazard", max_chars=200)
        when = b.date_input(plain("campaigns.entry_date"), value=on, min_value=start, max_value=end, key="cp_date")
        outcomes = {code: _outcome(code) for code in ("held", "relapsed")}
        outcome = c.radio(plain("campaigns.entry_outcome"), list(outcomes), key="cp_outcome", horizontal=True,
                          format_func=outcomes.get)
        post = st.text_input(plain("campaigns.entry_post"), key="cp_post", max_chars=200)
        note = st.text_input(plain("campaigns.entry_note"), key="cp_note", max_chars=2000)
        submitted = st.form_submit_button(plain("campaigns.entry_submit"), type="primary")
    if submitted:
        _save(hazard, when.isoformat(), outcome, post, note)


# the form's field for each column of the event it appends
ENTRY_FIELDS = {"hazard_id": "campaigns.entry_hazard", "on": "campaigns.entry_date", "outcome": "campaigns.entry_outcome",
                "post_id": "campaigns.entry_post", "note": "campaigns.entry_note"}


def _entry_error(line: str) -> str:
    """A refusal of the entry in the UI's language, by the form's field ("复查岗位编号：…"), not by the
    events table's row and column."""
    found, lang = split_error(line), common.lang()
    if found["table"] != "events":
        return error_text(line, lang)
    field = ENTRY_FIELDS.get(found["column"])
    reason = reason_text(found["reason"], lang)
    return plain(field) + ("：" if lang == "zh" else ": ") + reason if field else reason


def _save(hazard: str, on: str, outcome: str, post: str, note: str) -> None:
    """Append one re-inspection to the store (checked as an import would); a refusal is shown and nothing is
    stored."""
    who = common.user()
    name = None if who is NOBODY_CONFIGURED else who.name
    with common.session() as s:
        event = campaigns.reinspection(s, hazard, on, outcome, post, note)
    live = common.live(common.store_uri())
    source = campaigns.REINSPECTION_SOURCE.format(user=name or audit.current_user(), **event) + " (app)"
    with common.errors():  # anything but a validation error (a store that cannot be written): its message
        try:
            with st.spinner(plain("campaigns.entry_saving")), live.lock, open_store(common.store_uri()) as store, \
                    audit.acting_as(name):
                result = store.append("events", [event], source)
        except InvalidDataset as exc:
            st.error(t("campaigns.entry_invalid", n=len(exc.errors)) + "\n\n" +
                     "\n".join(f"- {md(_entry_error(line))}" for line in exc.errors[:20]))
            return
    live.reset()
    st.cache_data.clear()
    st.session_state["cp_saved"] = t("campaigns.entry_saved", hazard=event["hazard_id"], date=on,
                                     outcome=_outcome(outcome),
                                     seq=(result.audit or "?").partition(":")[0], user=name or audit.current_user())
    st.rerun()


def _part(title: str, compute, rows: str, show, campaign_id: str) -> None:
    """One part of the page: its result computed (cached), its title, the level its jurisdiction rows are
    shown at, and ``show(session, labels, result, level)``."""
    with st.spinner(plain("campaigns.computing")), common.errors():
        result = compute(common.store_uri(), common.dataset_hash(), campaign_id, common.user())
    with common.session() as s:
        st.header(t(title))
        show(s, common.labels(s), result, _level_select(s, result[rows]))


st.title(t("campaigns.title"))
uri = common.store_uri()
with common.session() as s:
    L = common.labels(s)
    listed = campaigns.campaigns(s)
    if not listed:
        st.info(t("campaigns.none"))
        st.stop()
    by_id = {r["id"]: r for r in listed}
    cid = common.selectbox(plain("campaigns.campaign"), list(by_id), key="cp_campaign", index=len(by_id) - 1,
                           format_func=lambda c: f"{by_id[c]['title']} ({c})")
    row = by_id[cid]
    industries = [L.industry(i) for i in row["industries"] or ()]
    st.markdown(t("campaigns.facts", kind=L.term("campaign_kinds", row["kind"]), place=L.place(row["jurisdiction_id"]),
                  start=row["start"], end=row["end"],
                  industries=("、" if common.lang() == "zh" else ", ").join(industries)
                  or plain("campaigns.all_industries")))
if row["kind"] != "look_back":
    _part("campaigns.coverage", _coverage, "coverage", _coverage_section, cid)
    st.stop()
# a look-back (回头看): its results, its plan, and the entry of results
_part("campaigns.lookback", _report, "by_jurisdiction", _results_section, cid)

st.subheader(t("campaigns.plan"))
st.caption(t("campaigns.plan_help"))
sample, seed = _plan_inputs()
with st.spinner(plain("campaigns.computing")), common.errors():
    planned = _plan(uri, common.dataset_hash(), cid, sample, seed, common.user())["rows"]
with common.session() as s:
    shown = _plan_rows(common.labels(s), planned)
st.caption(t("campaigns.plan_rows", n=len(shown), major=sum(r["major"] for r in shown)))
st.dataframe(frame(shown[:PLAN_SHOWN], PLAN_COLUMNS), hide_index=True, width="stretch")
if common.user().may(EXPORT):
    st.download_button(plain("campaigns.download_plan"), plan_csv(shown), file_name=f"lookback-plan-{cid}.csv",
                       mime="text/csv", key="cp_plan_csv")
_entry_form(row)
