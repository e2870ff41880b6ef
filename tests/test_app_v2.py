"""The explorer under reference-v2 (AppTest): the hazard page shows each holder's assessment and the records
behind each link, the official's page the records of their conduct — in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from test_app import APP, ON, app_data, build_store, open_page, texts


@pytest.fixture(scope="module")
def v2_store(tmp_path_factory):
    data = app_data()
    data["inspections"] = [
        {"id": "X1", "organization_id": "E1", "on": "2026-01-10", "post_id": "K-HOUSING-HEAD",
         "outcome": "order_issued", "hazard_ids": "H1"},
        {"id": "X2", "organization_id": "E1", "on": "2026-02-10", "post_id": "K-EM-HEAD", "outcome": "no_findings",
         "hazard_ids": ""},
        # found H5, missed H1: cited about H1, its outcome says the hazards it found were others
        {"id": "X3", "organization_id": "E1", "on": "2026-02-20", "post_id": "K-EM-HEAD", "outcome": "hazards_found",
         "hazard_ids": "H5"},
    ]
    data["designations"] = [{"post_id": "C-DEP", "kind": "supervising_leader", "target_id": "H1",
                             "start": "2026-01-15", "end": ""}]
    return build_store(tmp_path_factory.mktemp("app-v2"), data)


@pytest.fixture
def app(v2_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(v2_store))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang, words", [
    ("zh", ("追责评估", "依据记录", "尽职免责", "检查 X1（2026-01-10，责令整改）", "检查 X2（2026-02-10，未发现问题）",
            "检查 X3（2026-02-20，发现其他隐患）")),
    ("en", ("Assessment", "Evidence", "Duty performed", "inspection X1 (2026-01-10, Order issued)",
            "inspection X2 (2026-02-10, No findings)", "inspection X3 (2026-02-20, Other hazards found)")),
])
def test_the_hazard_page_shows_assessments_and_evidence(app, lang, words):
    app.session_state["global_lang"] = lang
    at = open_page(app, "hazard", hazard="H1")
    table = at.dataframe[0].value
    assessment, evidence = words[0], words[1]
    assert assessment in table.columns and evidence in table.columns
    cells = " ".join(str(v) for v in table[assessment]) + " ".join(str(v) for v in table[evidence])
    assert words[2] in cells and words[3] in cells and words[4] in cells and words[5] in cells
    assert words[3] in texts(at).replace("\\", "")  # the why tab cites the record (markdown-escaped)


@pytest.mark.parametrize("lang, title, record", [
    ("zh", "履职记录", "检查 X1（2026-01-10，责令整改）"),
    ("en", "Records of conduct", "inspection X1 (2026-01-10, Order issued)"),
    # the official's own records are about no one hazard: X3's outcome is as recorded
    ("zh", "履职记录", "检查 X3（2026-02-20，发现隐患）"),
])
def test_the_official_page_lists_the_records_of_their_conduct(app, lang, title, record):
    app.session_state["global_lang"] = lang
    at = open_page(app, "official", person="PE-K-HOUSING-HEAD" if "X1" in record else "PE-K-EM-HEAD")
    assert title in texts(at)
    assert any(record in " ".join(map(str, df.value.astype(str).values.ravel())) for df in at.dataframe)


def test_under_reference_v1_the_hazard_page_has_no_v2_columns(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(build_store(tmp_path, app_data())))  # a session per store
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    at = open_page(at, "hazard", hazard="H1")
    assert "追责评估" not in at.dataframe[0].value.columns


@pytest.fixture(scope="module")
def calibrated_store(tmp_path_factory):
    data = app_data()
    data["outcomes"] = [{"person_id": "PE-E1-GM", "incident_id": "A1", "form": "criminal"},
                        {"person_id": "PE-K-HOUSING-HEAD", "incident_id": "A1", "form": "demerit"},
                        {"person_id": "PE-K-SEC", "incident_id": "A1", "form": "interview"}]
    return build_store(tmp_path_factory.mktemp("app-calibrate"), data)


@pytest.mark.parametrize("lang, words", [("zh", ("规则校准", "召回率", "按规则")),
                                         ("en", ("Calibration", "Recall", "By rule"))])
def test_the_calibration_page_compares_with_the_outcomes(calibrated_store, monkeypatch, lang, words):
    from accountability.calibrate import calibrate
    from accountability.session import Session

    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(calibrated_store))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.session_state["global_lang"] = lang
    at.run()
    at = open_page(at, "calibrate")
    assert words[0] in texts(at) and words[2] in texts(at)
    with Session(str(calibrated_store), rules="reference-v2", readonly=True) as s:
        expected = calibrate(s)["overall"]["recall"]
    metric = next(m for m in at.metric if m.label == words[1])
    assert metric.value == f"{expected:.0%}" and expected == 1.0  # both sanctioned persons are proposed
    with Session(str(calibrated_store), rules="reference-v2", readonly=True) as s:
        extra = [f"{s.graph.people[p]} ({p})" for p in calibrate(s)["incidents"][0]["extra"]]
    table = at.dataframe[0].value
    assert extra and all(person in table.iloc[0, -1] for person in extra)  # by name, the id after it


def test_a_vacancy_at_the_level_above_is_flagged_with_its_date(monkeypatch, tmp_path):
    """#20 item 2: H1 reaches the city (92 days overdue); the city's mayor left on 2026-04-15, nobody since."""
    data = app_data()
    for tenure in data["tenures"]:
        if tenure["post_id"] == "C-HEAD":
            tenure["end"] = "2026-04-15"
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(build_store(tmp_path, data)))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    at = open_page(at, "hazard", hazard="H1")
    assert any("临江市人民政府 市长" in w.value and w.value.endswith("自 2026-04-16") for w in at.warning), \
        [w.value for w in at.warning]
    chain = at.dataframe[0].value
    city = chain[chain["岗位"] == "临江市人民政府 市长"]
    assert list(city["在任人员"]) == ["（空缺）"] and list(city["上溯"]) == ["上溯：逾期 92 天；未挂牌督办"]
    holders = at.dataframe[-1].value  # the holders over time: the vacant stretch, from the day after
    vacant = holders[(holders["岗位"] == "临江市人民政府 市长") & (holders["在任人员"] == "（空缺）")]
    assert list(vacant["起"]) == ["2026-04-16"]


def test_the_hazard_page_s_export_says_what_else_an_inspection_found(v2_store):
    """The chain export (the hazard page's CSV/XLSX/DOCX) cites X3 about H1, which it missed: "other hazards"."""
    import csv
    import io

    from accountability import ui
    from accountability.names import Labels
    from accountability.session import Session

    with Session(str(v2_store), rules="reference-v2", readonly=True) as s:
        chain = s.trace("H1", as_of=ON)
        headers = {k: k for k in ("n", "post", "holder", "since", "duty", "degree", "basis", "place", "rules",
                                  "escalated", "assessment", "evidence", *ui.EXPORT_HEADERS)}
        sheets = ui.chain_export(chain, Labels(s, "zh"), headers, "", [], ("链条", "缺口"))
    rows = list(csv.DictReader(io.StringIO(ui.export_bytes(sheets, "csv", "t").decode("utf-8-sig"))))
    assert any("检查 X3（2026-02-20，发现其他隐患）" in r["evidence"] for r in rows)
