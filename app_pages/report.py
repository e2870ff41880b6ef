"""Incident report: pick an incident, preview its accountability report, download it as Markdown, Word or
PDF (``accountability.reports``, the same report as ``accountability report``)."""

import streamlit as st

from accountability.access import EXPORT
from app_pages import common
from app_pages.common import frame, md, plain, t

LIST_CAP = 500
FILES = (("md", "text/markdown"),
         ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("pdf", "application/pdf"))


def _picked() -> None:
    if st.session_state.get("rp_pick"):
        st.query_params["incident"] = st.session_state["rp_pick"]


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=common.BY_VIEW)
def _reporting(uri: str, digest: str, incident: str, lang: str, user):
    """The incident's reporting part (``reports.timeliness``) and its timeline figure as PNG, once per
    (dataset, incident, language, view); (None, None) when its reporting is not judged."""
    from accountability.reports.figure import draw_reporting
    from accountability.reports.timeliness import build_reporting

    with common.live(uri).use(user) as s:
        section = build_reporting(s, s.incident(incident), lang)
    return section, (draw_reporting(section, ("png",)).png if section and section.steps else None)


def _timeline(iid: str) -> None:
    """How the incident was reported — the timeline, each step, who was on duty — as the report shows it."""
    try:
        import accountability.reports.timeliness  # noqa: F401  (the reports module may be absent)
    except ImportError:
        return
    with common.errors():
        section, png = _reporting(common.store_uri(), common.dataset_hash(), iid, common.lang(), common.user())
    if section is None:
        st.caption(t("duty.reporting_none"))
        return
    w = section.words
    st.subheader(md(section.title), help=plain("duty.reporting_help"))
    st.markdown(md(section.summary))
    if png:
        st.image(png, caption=section.caption, width="stretch")
    late = {step.status_text for step in section.steps if step.late}
    steps = [{"number": x.number, "sender": x.sender.name, "receiver": x.receiver.name, "due": x.due_text,
              "at": x.at_text, "status": x.status_text} for x in section.steps]
    if steps:
        st.dataframe(frame(steps, {k: "=" + w[k] for k in steps[0]}).style.map(
            lambda v: "color: #c0392b; font-weight: bold" if v in late else ""),
            hide_index=True, width="stretch", key="rp_steps")
    st.markdown(f"**{md(section.on_duty_title)}**")
    st.caption(md(section.on_duty_intro))
    watch = [{"time": x.at_text, "occasion": x.occasion, "jurisdiction": x.jurisdiction.name, "leader": x.leader,
              "officer": x.officer} for x in section.on_duty]
    st.dataframe(frame(watch, {k: "=" + w[k] for k in ("time", "occasion", "jurisdiction", "leader", "officer")}),
                 hide_index=True, width="stretch", key="rp_on_duty")


st.title(t("report.title"))
with common.session() as s:
    L = common.labels(s)
    incidents = sorted(s.incidents(), key=lambda r: (r["occurred_on"], r["id"]), reverse=True)[:LIST_CAP]
    if not incidents:
        st.info(t("report.no_incidents"))
        st.stop()
    titles = {r["id"]: f"{r['occurred_on']} · {r['title'] or r['id']} ({r['id']})" for r in incidents}
    iid = st.query_params.get("incident")
    options = list(titles)
    if iid and iid not in titles:
        options.insert(0, iid)
    common.selectbox(plain("report.incident"), options, index=options.index(iid) if iid in options else None,
                     key="rp_pick", on_change=_picked, format_func=lambda i: titles.get(i, i))
    if not iid:
        st.info(t("report.pick_one"))
        st.stop()
    with common.errors():
        incident = s.incident_row(iid)
        level, _ = s.engine.accident_level(incident)
    st.header(md(incident["title"] or iid))
    st.markdown(t("report.facts", date=incident["occurred_on"], place=L.place(incident["jurisdiction_id"]),
                  level=L.term("accident_levels", level), deaths=incident["deaths"],
                  injuries=incident["serious_injuries"], loss=f"{incident['direct_loss_yuan']:,}"))
_timeline(iid)

report_lang = st.radio(plain("report.language"), ["zh", "en"], horizontal=True, key="rp_lang",
                       index=0 if common.lang() == "zh" else 1,
                       format_func=lambda c: {"zh": "中文", "en": "English"}[c])
uri, digest = common.store_uri(), common.dataset_hash()
try:
    from accountability.reports import build_report  # noqa: F401  (the reports module may be absent)
except ImportError:
    st.warning(t("report.unavailable"))
    st.stop()

cols = st.columns(len(FILES)) if common.user().may(EXPORT) else []
for col, (fmt, mime) in zip(cols, FILES):
    with col:
        st.download_button(
            plain("report.download", fmt=fmt.upper()),
            # rendered when clicked (Word and PDF take a moment), then cached
            data=lambda fmt=fmt: common.report_bytes(uri, digest, iid, report_lang, fmt, common.user()),
            file_name=f"report-{iid}-{report_lang}.{fmt}", mime=mime, key=f"rp_dl_{fmt}", icon=":material/download:",
            on_click="ignore",
        )
with common.errors(), st.status(plain("report.rendering")) as status:
    preview = common.report_bytes(uri, digest, iid, report_lang, "html", common.user()).decode("utf-8")
    status.update(label=plain("progress.report_done"), state="complete")
# the report's HTML is rendered by accountability.reports with every value escaped (Jinja2 autoescape)
st.iframe(preview, height=900, alt=plain("report.preview_alt"))
