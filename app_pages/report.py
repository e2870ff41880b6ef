"""Incident report: pick an incident, preview its accountability report, download it as Markdown, Word or
PDF (``accountability.reports``, the same report as ``accountability report``)."""

import streamlit as st

from accountability.access import EXPORT
from app_pages import common
from app_pages.common import md, plain, t

LIST_CAP = 500
FILES = (("md", "text/markdown"),
         ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("pdf", "application/pdf"))


def _picked() -> None:
    if st.session_state.get("rp_pick"):
        st.query_params["incident"] = st.session_state["rp_pick"]


st.title(t("report.title"))
with common.session() as s:
    L = common.labels(s)
    incidents = sorted((r for r in s.store.rows("incidents") if s.visible("incidents", r)),
                       key=lambda r: (r["occurred_on"], r["id"]), reverse=True)[:LIST_CAP]
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
with st.spinner(plain("report.rendering")), common.errors():
    preview = common.report_bytes(uri, digest, iid, report_lang, "html", common.user()).decode("utf-8")
# the report's HTML is rendered by accountability.reports with every value escaped (Jinja2 autoescape)
st.iframe(preview, height=900, alt=plain("report.preview_alt"))
