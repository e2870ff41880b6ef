"""Duty (值班值守): who is on duty now — or at a chosen moment — in each jurisdiction the user sees, the leader
(带班领导) and the officer (值班员) with their posts, and the week's roster as a timeline with the stretches
nobody kept in red (``accountability.duty``: the answers of ``accountability duty`` and ``duty gaps``)."""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from accountability import duty
from accountability.dates import moment
from app_pages import common
from app_pages.common import frame, plain, t

LANES = 40  # jurisdictions drawn in the week's chart at most (a province has a hundred counties)
COLORS = {"leader_on_duty": "#2471a3", "duty_officer": "#17a589", "gap": "#c0392b"}


def _clock(value: str | None) -> str:
    """An ISO datetime (Asia/Shanghai, as the library writes it) as the page shows it: 12-02 08:00."""
    return value[5:16].replace("T", " ") if value else ""


def _who(L, rows: list[dict], phones: bool) -> tuple[str, str, str, str]:
    """The names, posts, phones (when the people table has them) and shifts of one role's rows, each joined;
    nobody: a warning word."""
    held = [r for r in rows if r["start"]]
    if not held:
        return plain("duty.nobody"), "", "", ""
    sep = "；" if common.lang() == "zh" else "; "
    names = sep.join(r["name"] or plain("duty.vacant") for r in held)
    posts = sep.join(L.post_in_org(r["post_id"]) if r["post_id"] else "" for r in held)
    phone = sep.join(str((L.row("people", r["person_id"]) or {}).get("phone") or "")
                     for r in held if phones and r["person_id"])
    shifts = sep.join(f"{_clock(r['start'])}–{_clock(r['end'])}" for r in held)
    return names, posts, phone.strip(sep), shifts


st.title(t("duty.title"))
st.caption(t("duty.intro"))
with common.session() as s:
    L = common.labels(s)
    a, b, c, d = st.columns([3, 1, 2, 2])
    with a:
        jid = common.jurisdiction_select("duty.jurisdiction", "du_jurisdiction", deepest="county")
    started = st.session_state.setdefault("du_started", moment(duty.now()))  # "now" when the page first ran
    with b:
        st.write("")
        now = st.toggle(plain("duty.now"), value=True, key="du_now")
    with c:
        day = st.date_input(plain("duty.date"), value=started.date(), key="du_date", disabled=now,
                            min_value=common.FIRST_DAY, max_value=common.LAST_DAY)
    with d:
        clock = st.time_input(plain("duty.time"), value=started.time().replace(second=0, microsecond=0),
                              key="du_time", disabled=now, step=dt.timedelta(minutes=30))
    with common.errors():
        result = duty.on_duty(s, None if now else f"{day.isoformat()}T{clock:%H:%M}", jid)
        shown = moment(result["at"]).date()
        week = duty.week(s, (shown - dt.timedelta(days=shown.weekday())).isoformat(), 7, jid)  # Monday to Sunday

    # -- who is on duty ---------------------------------------------------------------------------------------
    st.subheader(t("duty.at", at=result["at"][:16].replace("T", " ")))
    if not week["places"]:
        st.info(t("duty.none"))
        st.stop()
    by_place: dict[str, dict[str, list[dict]]] = {}
    for r in result["rows"]:
        by_place.setdefault(r["jurisdiction_id"], {}).setdefault(r["role"], []).append(r)
    table, uncovered = [], 0
    phones = s.has_column("people", "phone")  # a dataset that records them
    for place, roles in by_place.items():
        leader, leader_post, leader_phone, leader_shift = _who(L, roles.get("leader_on_duty", []), phones)
        officer, officer_post, officer_phone, officer_shift = _who(L, roles.get("duty_officer", []), phones)
        uncovered += plain("duty.nobody") in (leader, officer)
        table.append({"place": L.place(place), "leader": leader, "leader_post": leader_post, "leader_phone": leader_phone,
                      "leader_shift": leader_shift, "officer": officer, "officer_post": officer_post,
                      "officer_phone": officer_phone, "officer_shift": officer_shift})
    columns = {"place": "duty.jurisdiction", "leader": "duty.leader", "leader_post": "duty.leader_post",
               "leader_phone": "duty.leader_phone", "leader_shift": "duty.leader_shift", "officer": "duty.officer",
               "officer_post": "duty.officer_post", "officer_phone": "duty.officer_phone",
               "officer_shift": "duty.officer_shift"}
    if not any(r["leader_phone"] or r["officer_phone"] for r in table):
        columns = {k: v for k, v in columns.items() if not k.endswith("_phone")}
    nobody = plain("duty.nobody")
    st.dataframe(frame(table, columns).style.map(lambda v: "color: #c0392b; font-weight: bold" if v == nobody else ""),
                 hide_index=True, width="stretch", key="du_table")
    if uncovered:
        st.warning(t("duty.uncovered_now", n=uncovered))

    # -- the week ---------------------------------------------------------------------------------------------
    st.subheader(t("duty.week", start=week["from"][:10],
                   end=(moment(week["to"]) - dt.timedelta(days=1)).date().isoformat()))
    st.caption(t("duty.week_help"))
    lanes = week["places"][:LANES]
    if len(week["places"]) > LANES:
        st.caption(t("duty.cut", n=LANES))
    role_words = {"leader_on_duty": plain("duty.leader"), "duty_officer": plain("duty.officer")}
    kinds = {"leader_on_duty": plain("duty.kind_leader"), "duty_officer": plain("duty.kind_officer"),
             "gap": plain("duty.kind_gap")}
    lane, kind, who = plain("duty.lane"), plain("duty.kind"), plain("duty.who")
    start, end, hours = plain("duty.start"), plain("duty.end"), plain("duty.hours")
    bars = []
    for r in week["shifts"] + week["gaps"]:
        if r["jurisdiction_id"] not in lanes:
            continue
        gap = r.get("kind") == duty.GAP
        bars.append({
            lane: f"{L.jurisdiction(r['jurisdiction_id'])} · {role_words[r['role']]}",
            kind: kinds["gap" if gap else r["role"]],
            who: "" if gap else (r["name"] or plain("duty.vacant"))
            + (plain("duty.post_of", post=L.post_in_org(r["post_id"])) if r["post_id"] else ""),
            # wall-clock times without an offset: the browser draws them as they read, whatever its zone
            "x": r["start"][:19], "x2": r["end"][:19], start: _clock(r["start"]), end: _clock(r["end"]),
            hours: r["hours"] if gap else duty.hours(moment(r["start"]), moment(r["end"])),
        })
    order = [f"{L.jurisdiction(j)} · {role_words[role]}" for j in lanes for role in duty.ROLES]
    if bars:
        chart = alt.Chart(pd.DataFrame(bars)).mark_bar(stroke="white", strokeWidth=1).encode(
            y=alt.Y(f"{lane}:N", title=None, sort=order, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            x=alt.X("x:T", title=None, axis=alt.Axis(format="%m-%d %H:%M", tickCount="day")), x2="x2:T",
            color=alt.Color(f"{kind}:N", scale=alt.Scale(domain=list(kinds.values()), range=list(COLORS.values())),
                            legend=alt.Legend(orient="top", title=None)),
            tooltip=[lane, kind, who, start, end, hours],
        ).properties(height=24 * len(order) + 40)
        st.altair_chart(chart, width="stretch", key="du_week")
    gaps = week["gaps"]
    if gaps:
        st.markdown(t("duty.gaps", n=len(gaps), hours=f"{sum(g['hours'] for g in gaps):g}"))
        st.dataframe(frame([{"place": L.place(g["jurisdiction_id"]), "role": role_words[g["role"]],
                             "start": _clock(g["start"]), "end": _clock(g["end"]), "hours": g["hours"]}
                            for g in gaps],
                           {"place": "duty.jurisdiction", "role": "duty.kind", "start": "duty.start",
                            "end": "duty.end", "hours": "duty.hours"}),
                     hide_index=True, width="stretch", key="du_gaps")
    else:
        st.success(t("duty.no_gaps"))
