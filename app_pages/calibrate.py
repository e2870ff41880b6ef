"""Calibration (for auditors): how well a ruleset's proposed lists match what real investigations decided —
recall and precision per incident and overall, and where it reaches too far or not far enough (by tier,
role and rule). ``accountability calibrate`` on the command line."""

import orjson
import streamlit as st

from accountability.access import QUERY
from accountability.calibrate import ENTERPRISE, calibrate
from accountability.session import Session
from app_pages import common
from app_pages.common import frame, plain, t
from graph_schema import SCHEMA
from graph_schema.loader import RULESETS

st.title(t("calibrate.title"))
st.caption(t("calibrate.intro"))
common.require(QUERY)


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=common.BY_VIEW)
def _result(uri: str, digest: str, rules: str, user) -> dict:
    with Session(uri, rules=rules, readonly=True, user=user) as s:
        return calibrate(s)


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


names = sorted(p.stem for p in RULESETS.glob("*.yaml"))
with common.session() as s:
    current = s.ruleset.name if s.ruleset.name in names else names[-1]
rules = common.selectbox(plain("calibrate.rules"), names, key="cb_rules", index=names.index(current))
with st.spinner(plain("calibrate.computing")), common.errors():
    result = _result(common.store_uri(), common.dataset_hash(), rules, common.user())

if not result["incidents"]:
    st.info(t("calibrate.none"))
    st.stop()
m = st.columns(3)
m[0].metric(plain("calibrate.incidents"), len(result["incidents"]))
m[1].metric(plain("calibrate.recall"), _pct(result["overall"]["recall"]))
m[2].metric(plain("calibrate.precision"), _pct(result["overall"]["precision"]))
st.subheader(t("calibrate.by_incident"))
with common.session() as s:  # the persons missed and extra by name, their id after it
    L = common.labels(s)
    def named(pid: str) -> str:
        name = L.person(pid)
        return f"{name} ({pid})" if name else pid

    rows = [{**r, "recall": _pct(r["recall"]), "precision": _pct(r["precision"]),
             "missed": [named(p) for p in r["missed"]], "extra": [named(p) for p in r["extra"]]}
            for r in result["incidents"]]
st.dataframe(frame(rows, {"incident_id": "calibrate.incident", "recall": "calibrate.recall",
                          "precision": "calibrate.precision", "missed": "calibrate.missed",
                          "extra": "calibrate.extra"}), hide_index=True, width="stretch")
# a group's key is a code: a jurisdiction level or "enterprise" (tier), a role, a rule's id
KEY_WORDS = {"tier": "jurisdiction_levels", "role": "roles"}


def _key(group: str, key: str) -> str:
    if group == "tier" and key == ENTERPRISE:
        return plain("calibrate.enterprise")
    if group in KEY_WORDS and key in SCHEMA.vocab(KEY_WORDS[group]):
        return SCHEMA.label(KEY_WORDS[group], key, common.lang())
    return key


for group in ("tier", "role", "rule"):
    st.subheader(t(f"calibrate.by_{group}"))
    rows = [{**r, "key": _key(group, r["key"]), "recall": _pct(r["recall"]), "precision": _pct(r["precision"])}
            for r in result[f"by_{group}"]]
    st.dataframe(frame(rows, {"key": f"calibrate.{group}", "named": "calibrate.named",
                              "sanctioned": "calibrate.sanctioned", "hits": "calibrate.hits",
                              "recall": "calibrate.recall", "precision": "calibrate.precision"}),
                 hide_index=True, width="stretch")
st.download_button(plain("calibrate.download"), orjson.dumps(result, option=orjson.OPT_INDENT_2),
                   file_name=f"calibration-{rules}.json", mime="application/json")
