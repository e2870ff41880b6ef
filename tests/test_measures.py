"""Measures (issue #16; DESIGN.md "Measures"): the built-in fifteen, status and days overdue per assignment (the
deadline day against the day after), rule M1's links, bad input, and the import on both stores."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import scenario
from accountability import measures
from accountability.access import User
from accountability.cli import main
from accountability.dataset import from_store, load
from accountability.session import Session
from graph_schema.measures import BUILTIN_MEASURES


def data() -> dict:
    d = scenario.base()
    d["measures"] = [
        {"id": "PM-01", "title": "开展城镇燃气安全专项整治", "source": "江南省六十五条", "parent_id": "SC15-06",
         "industries": "urban_gas", "deadline": "2026-06-30"},
        {"id": "PM-02", "title": "危化品企业全覆盖执法检查", "source": "江南省六十五条", "parent_id": "PM-01",
         "industries": "", "deadline": "2026-05-31"},
    ]
    d["measure_assignments"] = [
        {"measure_id": "PM-01", "organization_id": "K-HOUSING", "role": "lead", "deadline": ""},
        {"measure_id": "PM-01", "organization_id": "K-EM", "role": "support", "deadline": ""},
        {"measure_id": "PM-02", "organization_id": "K-EM", "role": "lead", "deadline": ""},
        {"measure_id": "SC15-03", "organization_id": "C-HOUSING", "role": "lead", "deadline": "2026-07-15"},
    ]
    d["measure_reports"] = [
        {"measure_id": "PM-01", "organization_id": "K-HOUSING", "on": "2026-05-01", "status": "in_progress", "note": ""},
        {"measure_id": "PM-02", "organization_id": "K-EM", "on": "2026-05-20", "status": "done", "note": ""},
        {"measure_id": "SC15-03", "organization_id": "C-HOUSING", "on": "2026-07-20", "status": "done", "note": ""},
    ]
    return d


def status(session, on: str, **kw) -> dict:
    return {(r["measure_id"], r["organization_id"]): (r["status"], r["deadline"], r["days_overdue"])
            for r in measures.status_rows(session, on, **kw)}


def test_the_fifteen_state_council_measures_are_built_in_with_both_titles():
    assert [m["id"] for m in BUILTIN_MEASURES] == [f"SC15-{i:02d}" for i in range(1, 16)]
    assert BUILTIN_MEASURES[5]["title"] == "立即深入扎实开展全国安全生产大检查"
    assert all(m["title"] and m["title_en"] and m["source"] == "state_council_15" for m in BUILTIN_MEASURES)


def test_a_measure_is_overdue_the_day_after_its_deadline_not_on_it(make_session):
    s = make_session(data())
    assert status(s, "2026-06-30") == {
        ("PM-01", "K-HOUSING"): ("in_progress", "2026-06-30", 0),
        ("PM-01", "K-EM"): ("not_started", "2026-06-30", 0),
        ("PM-02", "K-EM"): ("done", "2026-05-31", 0),
        ("SC15-03", "C-HOUSING"): ("not_started", "2026-07-15", 0),
    }
    later = status(s, "2026-07-16")
    assert later[("PM-01", "K-HOUSING")] == ("in_progress", "2026-06-30", 16)
    assert later[("SC15-03", "C-HOUSING")] == ("not_started", "2026-07-15", 1)  # the assignment's deadline
    assert status(s, "2026-07-20")[("SC15-03", "C-HOUSING")] == ("done", "2026-07-15", 0)
    assert [r["measure_id"] for r in measures.status_rows(s, "2026-07-16")][:2] == ["PM-01", "PM-01"]  # most overdue


def test_an_overdue_lead_assignment_links_its_head_and_the_leaders_in_charge(make_session):
    s = make_session(data())
    assert measures.links(s, "2026-06-30") == []
    found = [(link["measure_id"], link["post_id"], link["degree"], [h["person_id"] for h in link["holders"]])
             for link in measures.links(s, "2026-07-01")]
    assert found == [  # K-EM only supports PM-01: no link for it
        ("PM-01", "K-HOUSING-HEAD", "principal_leadership", ["PE-K-HOUSING-HEAD"]),
        ("PM-01", "K-DEP", "important_leadership", ["PE-K-DEP"]),  # portfolio: urban gas
        ("PM-01", "K-EXEC", "important_leadership", ["PE-K-EXEC"]),  # portfolio: *
    ]
    link = measures.links(s, "2026-07-01", lang="en")[0]
    assert link["rules"] == ["M1"] and link["duty"] == "measure_implementation"
    assert link["evidence"] == [{"kind": "measure", "measure_id": "PM-01", "organization_id": "K-HOUSING",
                                 "deadline": "2026-06-30", "status": "in_progress", "days_overdue": 1}]
    assert "1 day(s) overdue" in link["explanation"]
    city = [link["post_id"] for link in measures.links(s, "2026-07-16") if link["measure_id"] == "SC15-03"]
    assert city == ["C-HOUSING-HEAD", "C-DEP", "C-EXEC"]  # C-DEP's portfolio names C-HOUSING itself


def test_every_holder_of_an_m1_link_is_assessed_a_brief_tenure_had_no_conditions_none_under_v1(make_session):
    d = data()
    for t in d["tenures"]:
        if t["post_id"] == "K-EXEC":
            t["end"] = "2026-06-20"
    d["people"].append({"id": "PE-NEW-EXEC", "name": "新县长"})
    d["tenures"].append({"person_id": "PE-NEW-EXEC", "post_id": "K-EXEC", "start": "2026-06-21", "end": "",
                         "acting": "false"})
    found = {link["post_id"]: link["holders"] for link in measures.links(make_session(d), "2026-07-01")}
    assert [h["assessment"] for h in found["K-HOUSING-HEAD"]] == [{"status": "accountable", "reasons": []}]
    assert found["K-EXEC"] == [{"person_id": "PE-NEW-EXEC", "name": "新县长", "start": "2026-06-21", "end": None,
                                "acting": False, "assessment": {"status": "no_conditions", "reasons": [
                                    {"kind": "tenure", "start": "2026-06-21", "days": 10, "min_days": 30}]}}]
    # thirty days in the post: the boundary of min_days, accountable
    later = {link["post_id"]: link["holders"] for link in measures.links(make_session(d), "2026-07-21")}
    assert later["K-EXEC"][0]["assessment"]["status"] == "accountable"
    v1 = make_session(d, rules="reference-v1")  # M1 comes with version 2's rules: the status rows only
    assert measures.links(v1, "2026-07-01") == [] and measures.status_rows(v1, "2026-07-01")


def test_jurisdiction_and_scope_narrow_the_assignments(make_session):
    s = make_session(data())
    assert set(status(s, "2026-07-16", jurisdiction="K")) == {("PM-01", "K-HOUSING"), ("PM-01", "K-EM"),
                                                             ("PM-02", "K-EM")}
    assert status(s, "2026-07-16", jurisdiction="K2") == {}
    county = s.as_user(User("k", "auditor", "K"))
    assert ("SC15-03", "C-HOUSING") not in status(county, "2026-07-16")


def test_the_measures_command_gives_rows_and_links(tmp_path, monkeypatch):
    from accountability.stores.sqlite import SQLiteStore

    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(data(), tmp_path)))
    result = CliRunner().invoke(main, ["measures", "--as-of", "2026-07-01", "--store", str(path), "--format", "json",
                                       "--lang", "en"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["as_of"] == "2026-07-01" and len(out["links"]) == 3
    assert out["rows"][0] == {"measure_id": "PM-01", "title": "开展城镇燃气安全专项整治", "source": "江南省六十五条",
                              "organization_id": "K-EM", "role": "support", "deadline": "2026-06-30",
                              "status": "not_started", "days_overdue": 1}
    sc = next(r for r in out["rows"] if r["measure_id"] == "SC15-03")
    assert sc["title"].startswith("Strictly implement departments'")
    table = CliRunner().invoke(main, ["measures", "--as-of", "2026-07-01", "--store", str(path)])
    assert "links (rule M1)" in table.output
    bad = CliRunner().invoke(main, ["measures", "--as-of", "July", "--store", str(path)])
    assert bad.exit_code == 2 and "not a date" in bad.output


@pytest.mark.parametrize("change, message", [
    (lambda d: d["measure_reports"].append({"measure_id": "PM-02", "organization_id": "K-HOUSING", "on": "2026-05-02",
                                            "status": "done"}),
     "measure_reports:4: organization_id: measure 'PM-02' is not assigned to 'K-HOUSING'"),
    (lambda d: d["measure_assignments"][0].update(measure_id="PM-99"),
     "measure_assignments:1: measure_id: unknown measure 'PM-99'"),
    (lambda d: d["measures"][0].update(parent_id="SC15-16"), "measures:1: parent_id: unknown measure 'SC15-16'"),
    (lambda d: d["measures"][1].update(id="SC15-02", parent_id=""),
     "measures:2: id: 'SC15-02' is a built-in State Council measure"),
    (lambda d: d["measure_reports"][0].update(status="half_done"),
     "measure_reports:1: status: unknown measure status 'half_done'"),
    (lambda d: d["measure_assignments"][0].update(role="boss"), "measure_assignments:1: role: unknown measure role 'boss'"),
    (lambda d: d["measure_assignments"][0].update(organization_id="NOPE"),
     "measure_assignments:1: organization_id: unknown organization 'NOPE'"),
])
def test_bad_measure_input_is_named_and_nothing_is_stored(tmp_path, change, message):
    bad = data()
    change(bad)
    scenario.assert_refused(tmp_path, data(), bad, message)


def test_measures_import_and_read_back_on_both_stores(any_store, tmp_path):
    dataset = load(scenario.write(data(), tmp_path))
    any_store.write(dataset)
    back = from_store(any_store)
    for table in ("measures", "measure_assignments", "measure_reports"):
        assert sorted(back.tables[table], key=repr) == sorted(dataset.tables[table], key=repr), table
    session = Session(any_store)
    assert status(session, "2026-07-16")[("SC15-03", "C-HOUSING")] == ("not_started", "2026-07-15", 1)
    assert len(measures.links(session, "2026-07-01")) == 3


# -- where people are judged: the official, the ranking, the report; and the workbook ----------------------------


def test_a_person_s_overdue_measures_and_the_counts_per_person(make_session):
    s = make_session(data())
    assert measures.of_person(s, "PE-K-HOUSING-HEAD", "2026-06-30") == []
    rows = measures.of_person(s, "PE-K-HOUSING-HEAD", "2026-07-16", lang="en")
    assert rows == [{"measure_id": "PM-01", "title": "开展城镇燃气安全专项整治", "organization_id": "K-HOUSING",
                     "deadline": "2026-06-30", "status": "in_progress", "days_overdue": 16,
                     "post_id": "K-HOUSING-HEAD", "degree": "principal_leadership"}]
    assert measures.overdue_counts(s, "2026-07-16") == {"PE-K-HOUSING-HEAD": 1, "PE-K-DEP": 1, "PE-K-EXEC": 1,
                                                        "PE-C-HOUSING-HEAD": 1, "PE-C-DEP": 1, "PE-C-EXEC": 1}
    county = s.as_user(User("k", "auditor", "K"))
    assert set(measures.overdue_counts(county, "2026-07-16")) == {"PE-K-HOUSING-HEAD", "PE-K-DEP", "PE-K-EXEC"}


def test_the_exposure_ranking_carries_the_overdue_measures_under_v2_only(make_session):
    from accountability import queries

    d = data()
    d["hazards"][0]["deadline"] = "2026-12-31"
    v2 = queries.exposure_ranking(make_session(d, rules="reference-v2"), "2026-07-16")["officials"]
    counts = {r["person_id"]: r["measures_overdue"] for r in v2}
    assert counts["PE-K-HOUSING-HEAD"] == 1 and counts["PE-E1-GM"] == 0
    v1 = queries.exposure_ranking(make_session(d, rules="reference-v1"), "2026-07-16")["officials"]
    assert [r["person_id"] for r in v1] == [r["person_id"] for r in v2] and "measures_overdue" not in v1[0]


def incident_data() -> dict:
    """An urban-gas explosion at E1 on 2026-08-01: K-HOUSING regulates it, and its PM-01 is 32 days overdue."""
    d = data()
    d["incidents"] = [{"id": "A1", "title": "青石燃气爆炸事故", "occurred_on": "2026-08-01", "jurisdiction_id": "T",
                       "organization_id": "E1", "industry": "urban_gas", "deaths": 1, "serious_injuries": 0,
                       "direct_loss_yuan": 100000, "hazard_ids": "H1"}]
    return d


@pytest.mark.parametrize("lang, words", [
    ("zh", ("### （五）措施落实", "| PM-01 开展城镇燃气安全专项整治 | 东湖区住房和城乡建设局 | 牵头单位 | 2026-06-30 | 推进中 | 32天 | "
            "东湖区住房和城乡建设局局长 人员26（主要领导责任）；东湖区人民政府 副区长 人员12（重要领导责任）；"
            "东湖区人民政府 常务副区长 人员11（重要领导责任） |",
            "| PM-01 开展城镇燃气安全专项整治 | 东湖区应急管理局 | 配合单位 | 2026-06-30 | 未启动 | 32天 |  |")),
    ("en", ("### 3.5 Measures overdue", "| Lead | 2026-06-30 | In progress | 32 days | 东湖区住房和城乡建设局局长 人员26 "
            "(Principal leadership responsibility)", "| Support | 2026-06-30 | Not started | 32 days |  |")),
])
def test_the_report_of_an_incident_lists_the_overdue_measures_of_its_units(make_session, lang, words):
    from accountability.reports import build_report, render

    s = make_session(incident_data(), rules="reference-v2")
    report = build_report(s, "A1", lang)
    assert [(m.id, m.organization.id, m.days_overdue) for m in report.measures] == [
        ("PM-01", "K-HOUSING", 32), ("PM-01", "K-EM", 32)]  # the lead first; PM-02 is done, SC15-03 not yet due
    text = render(report, "md")
    text = text.decode() if isinstance(text, bytes) else text
    for word in words:
        assert word in text, word
    html = render(report, "html").decode()
    assert 'class="measures-overdue"' in html and "PM-01 开展城镇燃气安全专项整治" in html
    assert render(report, "docx")[:2] == b"PK"


def test_no_measures_section_without_overdue_measures_or_under_reference_v1(make_session):
    from accountability.reports import build_report, render

    early = incident_data()
    early["incidents"][0]["occurred_on"] = "2026-06-30"  # the deadline day: not overdue yet
    report = build_report(make_session(early, rules="reference-v2"), "A1", "zh")
    assert report.measures == [] and "措施落实" not in render(report, "md").decode()
    v1 = build_report(make_session(incident_data(), rules="reference-v1"), "A1", "zh")
    assert v1.measures == [] and "措施落实" not in render(v1, "md").decode()


def test_the_measures_command_writes_a_workbook(tmp_path, monkeypatch):
    import openpyxl

    from accountability.stores.sqlite import SQLiteStore

    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(data(), tmp_path)))
    out = tmp_path / "measures.xlsx"
    result = CliRunner().invoke(main, ["measures", "--as-of", "2026-07-01", "--store", str(path), "--format", "xlsx",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["measures", "links"]
    rows = list(book["measures"].values)
    assert rows[0] == tuple(measures.COLUMNS)
    assert rows[1] == ("PM-01", "开展城镇燃气安全专项整治", "江南省六十五条", "K-EM", "support", "2026-06-30", "not_started", 1)
    assert list(book["links"].values)[1] == ("PM-01", "K-HOUSING-HEAD", "principal_leadership", "PE-K-HOUSING-HEAD")
    assert (tmp_path / "measures.xlsx.provenance.json").exists()
    stdout = CliRunner().invoke(main, ["measures", "--store", str(path), "--format", "xlsx"])
    assert stdout.exit_code == 2 and "give -o FILE.xlsx" in stdout.output
