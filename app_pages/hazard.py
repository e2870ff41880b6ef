"""Hazard: who is accountable for one hazard on the "as of" date, why (rules, legal basis, the path in the
graph), what is missing (gaps), and who held the posts while the hazard was open."""

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from accountability.access import EXPORT
from accountability.session import Session
from accountability.dates import day, iso
from accountability.graphview import chain_graph, graph_html
from accountability.ui import EXPORT_HEADERS, chain_export, escalation, export_bytes, gaps_since, holder_spans
from app_pages import common
from app_pages.common import frame, md, page_link, plain, t

SUGGESTIONS = 200
LAST_DAY = dt.date.max.toordinal()
EXPORTS = (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
           ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))


def _open(hid: str | None) -> None:
    if hid:
        st.query_params["hazard"] = hid


def _picked(key: str) -> None:
    _open(st.session_state.get(key))


def _downloads(L, hid: str, when: str, chain, reason: str, gaps: list[dict], titles: dict[str, str]) -> None:
    """The chain as the table shows it (headers and labels in the UI's language, codes in columns of their
    own) as CSV, an .xlsx workbook or a Word document, for users who may export."""
    if not common.user().may(EXPORT):
        return
    headers = {k: plain(v) for k, v in titles.items()} | {k: plain(f"hazard.x_{k}") for k in EXPORT_HEADERS}
    sheets = chain_export(chain, L, headers, reason, gaps, (plain("hazard.tab_chain"), plain("hazard.tab_gaps")))
    title = plain("hazard.export_title", hazard=hid, when=when)
    for col, (fmt, mime) in zip(st.columns(len(EXPORTS)), EXPORTS):
        with col:
            st.download_button(plain("hazard.download", fmt=fmt.upper()),
                               data=lambda fmt=fmt: export_bytes(sheets, fmt, title),
                               file_name=f"chain-{hid}-{when}.{fmt}", mime=mime, key=f"hz_dl_{fmt}",
                               icon=":material/download:", on_click="ignore")


st.title(t("hazard.title"))
on = common.as_of()
with common.session() as s:
    L = common.labels(s)
    with st.expander(plain("hazard.choose"), expanded="hazard" not in st.query_params):
        a, b = st.columns(2)
        with a:
            text = st.text_input(plain("hazard.search"), key="hz_q", placeholder=plain("common.search_hint"))
            if text.strip():
                found = s.search(text, "hazards")
                names = {r["id"]: r["name"] for r in found}
                common.found_pick(list(names), "hz_found", lambda h: f"{h} · {names.get(h) or ''}",
                                  on_change=_picked, args=("hz_found",))
        with b:
            first = s.unresolved_hazards(on, SUGGESTIONS)
            described = {h["id"]: h["description"] for h in first}
            common.selectbox(plain("hazard.unresolved", n=len(first)), list(described), index=None, key="hz_list",
                             on_change=_picked, args=("hz_list",),
                             format_func=lambda h: f"{h} · {described.get(h) or ''}")
    hid = st.query_params.get("hazard")
    if not hid:
        st.info(t("hazard.pick_one"))
        st.stop()

    with common.errors():
        hazard, events = s.hazard(hid)
    unresolved = s.unresolved(hazard, on)  # as the ruleset reads closures (v2: the events' too)
    when = on if unresolved else Session.default_as_of(hazard) if hazard["found_on"] <= on else hazard["found_on"]
    with common.errors():
        chain = s.trace(hid, as_of=when)

    st.header(f"{md(hid)} · {md(hazard['description'] or '')}")
    overdue = next((g for g in chain.gaps if g["kind"] == "overdue"), None)
    # badges, not metrics: a metric's large type cuts words like "Under rectification" to "Under rectifi…"
    badges = [("red" if hazard["level"] == "major" else "gray", L.term("hazard_levels", hazard["level"])),
              ("green" if hazard["status"] == "closed" else "orange", L.term("hazard_statuses", hazard["status"])),
              ("blue", L.industry(hazard["industry"]))]
    if overdue:
        badges.append(("red", plain("hazard.overdue", days=overdue["days"])))
    st.markdown(" ".join(f":{color}-badge[{md(text)}]" for color, text in badges))
    st.markdown(t("hazard.facts", place=L.place(hazard["jurisdiction_id"]),
                  organization=L.organization(hazard["organization_id"]) or "—", found=hazard["found_on"],
                  deadline=hazard["deadline"] or "—", closed=hazard["closed_on"] or "—"))
    if not unresolved:
        st.warning(t("hazard.not_unresolved", as_of=on, when=when))
    st.caption(t("hazard.chain_on", when=when, links=len(chain.links), gaps=len(chain.gaps)))

    chain_tab, why_tab, gaps_tab, graph_tab, time_tab = st.tabs(
        [plain("hazard.tab_chain"), plain("hazard.tab_why"), plain("hazard.tab_gaps"), plain("hazard.tab_graph"),
         plain("hazard.tab_time")])

    reason = L.escalation(escalation(s, hazard, events, when))  # why the level above answers, when it does
    gaps = gaps_since(s, chain, hazard, events)
    with chain_tab:
        rows = []
        for i, link in enumerate(chain.links, start=1):
            holders = link.holders or (None,)
            for h in holders:
                rows.append({
                    "n": i, "duty": L.term("duties", link.duty), "degree": L.term("degrees", link.degree),
                    "post": L.post_in_org(link.post_id), "place": L.jurisdiction(link.jurisdiction_id),
                    "holder": (h.name + (plain("hazard.acting") if h.acting else "")) if h else plain("hazard.vacant"),
                    "since": h.start if h else "", "rules": [L.rule(r) for r in link.rules],
                    "basis": [L.citation(b) for b in link.basis], "escalated": reason if link.escalated else "",
                    "assessment": L.assessment(h), "evidence": [L.evidence(e, (hid,)) for e in link.evidence or ()],
                })
        titles = {"n": "cols.n", "post": "cols.post", "holder": "cols.holder", "since": "cols.since",
                  "duty": "cols.duty", "degree": "cols.degree", "basis": "cols.basis", "place": "cols.place",
                  "rules": "cols.rules", "escalated": "cols.escalated"}
        if s.ruleset.generation >= 2:  # v2 judges conduct: each holder's assessment and the records behind a link
            titles.update({"assessment": "cols.assessment", "evidence": "cols.evidence"})
        # widths that keep the legal basis in reach on a laptop's screen (post and holder stay when scrolling)
        widths = {"n": (40, True), "post": (230, True), "holder": (110, True), "since": (95, False),
                  "duty": (130, False), "degree": (120, False), "basis": (360, False), "place": (90, False),
                  "rules": (200, False), "escalated": (220, False)}
        st.dataframe(frame(rows, titles), hide_index=True, width="stretch", height=min(35 * (len(rows) + 1) + 3, 900),
                     column_config={plain(titles[k]): st.column_config.Column(width=w, pinned=pin)
                                    for k, (w, pin) in widths.items()})
        _downloads(L, hid, when, chain, reason, gaps, titles)
        people = {h.person_id: h.name for link in chain.links for h in link.holders}
        links = st.columns(min(len(people), 6) or 1)
        for i, (pid, name) in enumerate(list(people.items())[:12]):
            with links[i % len(links)]:
                page_link("official", name, person=pid)

    with why_tab:
        for i, link in enumerate(chain.links, start=1):
            holders = plain("hazard.list_sep").join(h.name for h in link.holders) or plain("hazard.vacant")
            st.markdown(plain("hazard.why_head", n=i, post=md(L.post_in_org(link.post_id)), holders=md(holders))
                        + (f" · {md(reason)}" if link.escalated else ""))
            st.markdown(md(link.explanation[common.lang()]))
            for e in link.evidence or ():
                st.caption("📄 " + md(L.evidence(e, (hid,))))
            for h in link.holders:
                if h.assessment is not None and h.assessment[0] != "accountable":
                    st.caption(f"⚖️ {md(h.name)}{plain('hazard.colon')}{md(L.assessment(h))}")
            for b in link.basis:
                text = L.citation_text(b)
                st.caption(f"{md(L.citation(b))}" + (f"{plain('hazard.colon')}{md(text)}" if text else ""))

    with gaps_tab:
        if not chain.gaps:
            st.success(t("hazard.no_gaps"))
        for gap in gaps:
            st.warning(md(L.gap(gap)) + (" · " + t("hazard.since", since=gap["since"]) if gap["since"] else ""))

    with graph_tab:
        g = chain_graph(s, chain, hazard, L)
        options = [-1] + list(range(len(chain.links)))
        pick = common.selectbox(plain("hazard.highlight"), options, key="hz_highlight",
                                format_func=lambda i: plain("hazard.all_links") if i < 0 else
                                f"{i + 1}. {L.post_in_org(chain.links[i].post_id)} · "
                                f"{L.term('degrees', chain.links[i].degree)}")
        highlight = {(u, v) for u, v, a in g.edges(data=True) if pick < 0 or pick in a["links"]}
        st.iframe(graph_html(g, common.lang(), highlight=highlight, height=640, center=f"hazards:{hid}",
                             layout="chain"), height=700, alt=plain("hazard.graph_alt"))
        st.caption(t("hazard.graph_help"))

    with time_tab:
        end = when
        start = hazard["found_on"]
        with common.errors():
            window = s.trace(hid, start=start, end=end)
        spans = holder_spans(window)
        st.caption(t("hazard.window", start=start, end=end))
        if spans:
            post_col, holder_col, kind_col = plain("cols.post"), plain("cols.holder"), plain("hazard.holding")
            kinds = [plain("hazard.s_holder"), plain("hazard.s_acting"), plain("hazard.s_vacant")]
            df = pd.DataFrame([{
                post_col: L.post_in_org(r["post_id"]),
                holder_col: r["name"] if not r["vacant"] else plain("hazard.vacant"),
                kind_col: kinds[2] if r["vacant"] else kinds[1] if r["acting"] else kinds[0],
                # bars end after the last day held (a store imported before dates were bounded may hold 9999-12-31)
                "start": r["start"], "end": iso(min(day(r["end"]) + 1, LAST_DAY)),
                plain("cols.from"): r["start"], plain("cols.to"): r["end"],
            } for r in spans])
            base = alt.Chart(df).encode(
                y=alt.Y(f"{post_col}:N", title=None, sort=None, axis=alt.Axis(labelLimit=280)))
            bars = base.mark_bar(stroke="white", strokeWidth=1.5).encode(
                x=alt.X("start:T", title=None, axis=alt.Axis(format="%Y-%m")), x2="end:T",
                color=alt.Color(f"{kind_col}:N", scale=alt.Scale(domain=kinds, range=["#2471a3", "#e67e22", "#cacfd2"]),
                                legend=alt.Legend(orient="top", title=None)),
                tooltip=[post_col, holder_col, kind_col, plain("cols.from"), plain("cols.to")])
            names = base.mark_text(align="left", dx=4, fontSize=11).encode(
                x="start:T", text=f"{holder_col}:N",
                color=alt.condition(alt.datum[kind_col] == kinds[2], alt.value("#566573"), alt.value("white")))
            st.altair_chart((bars + names).properties(height=30 * df[post_col].nunique() + 40), width="stretch")
        table = [{**r, "post": L.post_in_org(r["post_id"]), "duty": L.term("duties", r["duty"]),
                  "holder": r["name"] if not r["vacant"] else plain("hazard.vacant")} for r in spans]
        st.dataframe(frame(table, {"post": "cols.post", "duty": "cols.duty", "holder": "cols.holder",
                                   "start": "cols.from", "end": "cols.to", "acting": "cols.acting"}),
                     hide_index=True, width="stretch")
