"""Campaigns and look-backs (issue #16; DESIGN.md "Campaigns and look-back") on the hand-built scenario
(tests/scenario.py): exact coverage counts, a deterministic look-back plan, the look-back report, bad input,
and the import on both stores."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import scenario
from accountability import campaigns
from accountability.access import User
from accountability.cli import main
from accountability.cli.campaigns import COVERAGE_COLUMNS
from accountability.dataset import from_store, load
from accountability.errors import InvalidDataset, NotFound, UsageError
from accountability.session import Session


def _inspection(iid: str, org: str, on: str, post: str, outcome: str, hazards: str = "",
                campaign: str = "CAMP") -> dict:
    return {"id": iid, "organization_id": org, "on": on, "post_id": post, "campaign_id": campaign,
            "hazard_ids": hazards, "outcome": outcome}


def _closed(hid: str, industry: str, jid: str, org: str, closed_on: str, level: str = "general",
            deadline: str = "2026-06-30") -> dict:
    return scenario.hazard(hid, industry, jid, org, level=level, found_on="2026-01-05", deadline=deadline,
                           status="closed", closed_on=closed_on)


def _event(hid: str, on: str, kind: str, post: str = "", outcome: str = "") -> dict:
    return {"hazard_id": hid, "on": on, "kind": kind, "post_id": post, "deadline": "", "note": "", "outcome": outcome}


def data() -> dict:
    """Campaign CAMP (大检查 in county K, all industries) and look-back LB (回头看 in K), with the records they
    count. K's enterprises: E1 and E2 in T, E3 in V; E5 lies in K2, outside both campaigns."""
    d = scenario.base()
    d["organizations"].append({"id": "E5", "name": "西山燃气有限公司", "kind": "enterprise", "jurisdiction_id": "K2",
                               "industries": "urban_gas"})
    d["campaigns"] = [
        {"id": "CAMP", "title": "安全生产大检查", "kind": "comprehensive_inspection", "jurisdiction_id": "K",
         "start": "2026-04-01", "end": "2026-06-30", "industries": ""},
        {"id": "GAS", "title": "燃气专项整治", "kind": "special_rectification", "jurisdiction_id": "K",
         "start": "2026-04-01", "end": "2026-06-30", "industries": "urban_gas"},
        {"id": "LB", "title": "隐患整改回头看", "kind": "look_back", "jurisdiction_id": "K",
         "start": "2026-09-01", "end": "2026-10-31", "industries": ""},
    ]
    d["inspections"] = [
        _inspection("INS1", "E1", "2026-04-10", "K-HOUSING-HEAD", "hazards_found", "H1"),
        _inspection("INS2", "E1", "2026-05-01", "K-HOUSING-HEAD", "order_issued", "H1"),
        _inspection("INS3", "E2", "2026-04-20", "K-EM-HEAD", "no_findings"),
        _inspection("INS4", "E5", "2026-04-21", "K-HOUSING-HEAD", "penalty"),  # outside the campaign's K
        _inspection("INS5", "E3", "2026-04-22", "K-HOUSING-HEAD", "penalty", campaign=""),  # not in a campaign
        _inspection("INS6", "E1", "2026-04-23", "K-HOUSING-HEAD", "no_findings", campaign="GAS"),
    ]
    d["hazards"] += [
        _closed("H10", "urban_gas", "T", "E1", "2026-01-20", level="major"),
        _closed("H11", "hazardous_chemicals", "T", "E2", "2026-03-01", deadline="2026-02-15"),  # closed late
        _closed("H12", "construction", "V", "E3", "2026-02-01"),
        _closed("H13", "urban_gas", "T", "E1", "2026-09-05"),  # closed after the look-back began
        _closed("H14", "urban_gas", "K2", "E5", "2026-02-01"),  # outside K
        _closed("H15", "hazardous_chemicals", "T", "E2", "2026-02-10"),  # no sign-off on record
        _closed("H16", "urban_gas", "T", "E1", "2026-03-10", level="major"),  # reopened before the look-back
        _closed("H17", "construction", "V", "E3", "2026-02-02"),
    ]
    d["events"] = [
        _event("H10", "2026-01-20", "closed", "K-HOUSING-HEAD"),
        _event("H10", "2026-09-10", "reinspected", "K-HOUSING-HEAD", "relapsed"),
        _event("H11", "2026-03-01", "closed", "K-EM-HEAD"),
        _event("H11", "2026-09-15", "reinspected", "K-EM-HEAD", "held"),
        _event("H12", "2026-02-01", "closed", "K-HOUSING-HEAD"),
        _event("H12", "2026-09-20", "reinspected", "K-EM-HEAD", "relapsed"),
        _event("H12", "2026-09-25", "reinspected", "K-EM-HEAD", "held"),
        _event("H16", "2026-03-10", "closed", "K-HOUSING-HEAD"),
        _event("H16", "2026-05-01", "reopened", "K-HOUSING-HEAD"),
        _event("H17", "2026-02-02", "closed", "K-HOUSING-HEAD"),
        _event("H17", "2026-11-15", "reinspected", "K-HOUSING-HEAD", "held"),  # after the look-back ended
    ]
    return d


def cov(jid: str, in_scope: int, inspected: int, hazards: int, orders: int, pct: float | None) -> dict:
    return {"jurisdiction_id": jid, "in_scope": in_scope, "inspected": inspected, "hazards_found": hazards,
            "orders": orders, "coverage_pct": pct}


# -- coverage ----------------------------------------------------------------------------------------------------


def test_coverage_counts_each_jurisdiction_s_subtree_and_names_the_uninspected(make_session):
    s = make_session(data())
    result = campaigns.coverage(s, "CAMP")
    assert result["campaign_id"] == "CAMP"
    assert result["coverage"] == [cov("K", 3, 2, 1, 1, 66.7), cov("T", 3, 2, 1, 1, 66.7), cov("V", 1, 0, 0, 0, 0.0)]
    assert result["by_department"] == [
        {"organization_id": "K-EM", "inspected": 1, "hazards_found": 0, "orders": 0},
        {"organization_id": "K-HOUSING", "inspected": 1, "hazards_found": 1, "orders": 1},
    ]
    assert result["gaps"] == [{"kind": "uninspected_enterprise", "organization_id": "E3", "jurisdiction_id": "V"}]


def test_a_campaign_of_one_industry_counts_only_its_enterprises(make_session):
    s = make_session(data())
    result = campaigns.coverage(s, "GAS")
    assert result["coverage"][0] == cov("K", 1, 1, 0, 0, 100.0)
    assert result["gaps"] == []


def test_a_scoped_user_sees_the_campaigns_reaching_them_and_only_their_subtree(make_session):
    s = make_session(data())
    township = s.as_user(User("t", "auditor", "T"))
    assert [c["id"] for c in campaigns.campaigns(township)] == ["CAMP", "GAS", "LB"]
    rows = campaigns.coverage(township, "CAMP")["coverage"]
    assert [r["jurisdiction_id"] for r in rows] == ["T", "V"]
    other = s.as_user(User("w", "auditor", "K2"))
    assert campaigns.campaigns(other) == []
    with pytest.raises(NotFound, match="unknown campaign 'CAMP'"):
        campaigns.coverage(other, "CAMP")


def test_an_unknown_campaign_is_not_found(make_session):
    s = make_session(data())
    with pytest.raises(NotFound, match="unknown campaign 'NOPE'"):
        campaigns.coverage(s, "NOPE")


# -- look-back ---------------------------------------------------------------------------------------------------


def test_the_look_back_scope_is_what_was_closed_before_it_and_still_closed(make_session):
    s = make_session(data())
    row = campaigns.campaign(s, "LB")
    assert [h["id"] for h, _ in campaigns.scope(s, row)] == ["H10", "H11", "H12", "H15", "H17"]


def test_the_plan_puts_every_closed_major_hazard_first_with_signer_and_regulator(make_session):
    s = make_session(data())
    rows = campaigns.plan(s, "LB")["rows"]
    assert [r["hazard_id"] for r in rows][0] == "H10"
    assert sorted(r["hazard_id"] for r in rows) == ["H10", "H11", "H12", "H15", "H17"]
    first = rows[0]
    assert {k: first[k] for k in ("organization_id", "level", "closed_on", "signer_post_id", "regulator_post_id")} == {
        "organization_id": "E1", "level": "major", "closed_on": "2026-01-20", "signer_post_id": "K-HOUSING-HEAD",
        "regulator_post_id": "K-HOUSING-HEAD"}
    by_id = {r["hazard_id"]: r for r in rows}
    assert by_id["H11"]["regulator_post_id"] == "K-EM-HEAD" and by_id["H11"]["weight"] == 6.0  # chemicals, late
    assert by_id["H15"]["signer_post_id"] is None


def test_a_sampled_plan_is_deterministic_per_seed(make_session):
    s = make_session(data())
    plans = {seed: [r["hazard_id"] for r in campaigns.plan(s, "LB", sample=2, seed=seed)["rows"]] for seed in range(8)}
    for seed, ids in plans.items():
        assert ids == [r["hazard_id"] for r in campaigns.plan(s, "LB", sample=2, seed=seed)["rows"]]
        assert ids[0] == "H10" and len(ids) == 3 and len(set(ids)) == 3
    assert len({tuple(ids) for ids in plans.values()}) > 1  # the seed matters
    assert [r["hazard_id"] for r in campaigns.plan(s, "LB", sample=0)["rows"]] == ["H10"]
    assert len(campaigns.plan(s, "LB", sample=99)["rows"]) == 5


def test_a_plan_needs_a_look_back_campaign_and_a_sample_of_zero_or_more(make_session):
    s = make_session(data())
    with pytest.raises(UsageError, match="'CAMP' is a comprehensive_inspection, not a look-back"):
        campaigns.plan(s, "CAMP")
    with pytest.raises(UsageError, match="negative"):
        campaigns.plan(s, "LB", sample=-1)


def test_the_look_back_report_counts_held_and_relapsed_and_puts_repeat_signers_first(make_session):
    s = make_session(data())
    result = campaigns.report(s, "LB")
    assert result["by_jurisdiction"] == [
        {"jurisdiction_id": "K", "reinspected": 3, "held": 1, "relapsed": 2},
        {"jurisdiction_id": "T", "reinspected": 3, "held": 1, "relapsed": 2},
        {"jurisdiction_id": "V", "reinspected": 1, "held": 0, "relapsed": 1},
    ]
    assert result["by_department"] == [
        {"organization_id": "K-EM", "reinspected": 2, "held": 1, "relapsed": 1},
        {"organization_id": "K-HOUSING", "reinspected": 1, "held": 0, "relapsed": 1},
    ]
    assert result["by_signer"] == [
        {"post_id": "K-HOUSING-HEAD", "person_id": "PE-K-HOUSING-HEAD", "reinspected": 2, "held": 0, "relapsed": 2},
        {"post_id": "K-EM-HEAD", "person_id": "PE-K-EM-HEAD", "reinspected": 1, "held": 1, "relapsed": 0},
    ]


# -- the command line ---------------------------------------------------------------------------------------------


def _store(tmp_path, d: dict) -> str:
    from accountability.stores.sqlite import SQLiteStore

    path = tmp_path / "store.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(d, tmp_path)))
    return str(path)


def test_the_cli_shows_coverage_plan_and_report(tmp_path, monkeypatch):
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    store = _store(tmp_path, data())
    runner = CliRunner()
    listed = runner.invoke(main, ["campaign", "list", "--store", store, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [c["id"] for c in json.loads(listed.output)["campaigns"]] == ["CAMP", "GAS", "LB"]
    shown = runner.invoke(main, ["campaign", "show", "CAMP", "--store", store, "--format", "json"])
    assert json.loads(shown.output)["coverage"][0] == cov("K", 3, 2, 1, 1, 66.7)
    table = runner.invoke(main, ["campaign", "show", "CAMP", "--store", store])
    assert "uninspected_enterprise  E3" in table.output
    out = tmp_path / "plan.csv"
    planned = runner.invoke(main, ["lookback", "plan", "LB", "--sample", "1", "--seed", "3", "--store", store,
                                   "--format", "csv", "-o", str(out)])
    assert planned.exit_code == 0, planned.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("hazard_id,organization_id") and lines[1].startswith("H10,E1,") and len(lines) == 3
    assert (tmp_path / "plan.csv.provenance.json").exists()
    reported = runner.invoke(main, ["lookback", "report", "LB", "--store", store, "--format", "csv"])
    assert "by_signer,,,K-HOUSING-HEAD,PE-K-HOUSING-HEAD,2,0,2" in reported.output
    wrong = runner.invoke(main, ["lookback", "plan", "CAMP", "--store", store])
    assert wrong.exit_code == 2 and "not a look-back" in wrong.output


# -- bad input, and both stores -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change, message", [
    (lambda d: d["campaigns"][0].update(jurisdiction_id="ZZ"), "campaigns:1: jurisdiction_id: unknown jurisdiction 'ZZ'"),
    (lambda d: d["campaigns"][0].update(end="2026-03-01"), "campaigns:1: end: 2026-03-01 is before start 2026-04-01"),
    (lambda d: d["campaigns"][0].update(kind="blitz"), "campaigns:1: kind: unknown campaign kind 'blitz'"),
    (lambda d: d["inspections"][0].update(campaign_id="NOPE"), "inspections:1: campaign_id: unknown campaign 'NOPE'"),
    (lambda d: d["events"].append(_event("H1", "2026-09-01", "reinspected", "K-EM-HEAD", "held")),
     "events:12: kind: a re-inspection of hazard 'H1', which was never closed on or before 2026-09-01"),
    (lambda d: d["events"].append(_event("H13", "2026-09-01", "reinspected", "K-EM-HEAD", "held")),
     "events:12: kind: a re-inspection of hazard 'H13', which was never closed on or before 2026-09-01"),
    (lambda d: d["events"][1].update(outcome="bogus"), "events:2: outcome: unknown reinspection outcome 'bogus'"),
    (lambda d: d["inspections"][0].update(outcome="bogus"), "inspections:1: outcome: unknown inspection outcome 'bogus'"),
])
def test_bad_campaign_input_is_named_and_nothing_is_stored(tmp_path, change, message):
    bad = data()
    change(bad)
    scenario.assert_refused(tmp_path, data(), bad, message)


def test_campaigns_import_and_read_back_on_both_stores(any_store, tmp_path):
    dataset = load(scenario.write(data(), tmp_path))
    any_store.write(dataset)
    back = from_store(any_store)
    for table in ("campaigns", "inspections", "events"):
        assert sorted(back.tables[table], key=repr) == sorted(dataset.tables[table], key=repr), table
    session = Session(any_store)
    assert campaigns.coverage(session, "CAMP")["coverage"][0] == cov("K", 3, 2, 1, 1, 66.7)
    assert campaigns.report(session, "LB")["by_jurisdiction"][0] == \
        {"jurisdiction_id": "K", "reinspected": 3, "held": 1, "relapsed": 2}


# -- workbooks, and re-inspections entered by hand ------------------------------------------------------------------


def test_campaign_show_lookback_plan_and_report_write_workbooks(tmp_path, monkeypatch):
    import openpyxl

    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    store = _store(tmp_path, data())
    runner = CliRunner()
    for args, sheets in ((["campaign", "show", "CAMP"], ["coverage", "by_department", "gaps"]),
                         (["lookback", "plan", "LB", "--sample", "1", "--seed", "3"], ["plan"]),
                         (["lookback", "report", "LB"], ["by_jurisdiction", "by_department", "by_signer"])):
        out = tmp_path / f"{args[0]}-{args[1]}.xlsx"
        result = runner.invoke(main, args + ["--store", store, "--format", "xlsx", "-o", str(out)])
        assert result.exit_code == 0, result.output
        book = openpyxl.load_workbook(out)
        assert book.sheetnames == sheets, args
        assert (tmp_path / f"{out.name}.provenance.json").exists()
    shown = openpyxl.load_workbook(tmp_path / "campaign-show.xlsx")
    assert list(shown["coverage"].values)[:2] == [tuple(COVERAGE_COLUMNS), ("K", 3, 2, 66.7, 1, 1)]
    assert list(shown["gaps"].values)[1] == ("uninspected_enterprise", "E3", "V")
    plan = list(openpyxl.load_workbook(tmp_path / "lookback-plan.xlsx")["plan"].values)
    assert plan[0] == tuple(campaigns.PLAN_COLUMNS) and plan[1][:2] == ("H10", "E1") and len(plan) == 3
    assert plan[1][campaigns.PLAN_COLUMNS.index("major")] == "true"
    signers = list(openpyxl.load_workbook(tmp_path / "lookback-report.xlsx")["by_signer"].values)
    assert signers[1] == ("K-HOUSING-HEAD", "PE-K-HOUSING-HEAD", 2, 0, 2)
    refused = runner.invoke(main, ["lookback", "report", "LB", "--store", store, "--format", "xlsx"])
    assert refused.exit_code == 2 and "give -o FILE.xlsx" in refused.output


def test_a_workbook_keeps_a_formula_as_text_and_refuses_control_characters(tmp_path):
    import openpyxl

    from accountability.errors import ExportError
    from accountability.output import write_xlsx

    out = tmp_path / "x.xlsx"
    write_xlsx([("s", [{"a": "=HYPERLINK(\"http://evil\")", "b": 1.5, "c": ["x", "y"], "d": None}],
                 ["a", "b", "c", "d"])], str(out))
    assert list(openpyxl.load_workbook(out)["s"].values)[1] == ("=HYPERLINK(\"http://evil\")", 1.5, "x;y", None)
    assert openpyxl.load_workbook(out)["s"]["A2"].data_type == "s"
    with pytest.raises(ExportError, match="s:2: a: a control character"):
        write_xlsx([("s", [{"a": "bell\x07"}], ["a"])], str(tmp_path / "y.xlsx"))
    assert not (tmp_path / "y.xlsx").exists()


def test_a_reinspection_entered_by_hand_is_imported_and_recorded_for_its_user(any_store, tmp_path):
    from accountability import audit

    any_store.write(load(scenario.write(data(), tmp_path)))
    before = from_store(any_store)
    session = Session(any_store)
    event = campaigns.reinspection(session, " H11 ", "2026-10-01", "relapsed", "K-EM-HEAD", "复发")
    with audit.acting_as("chen"):
        result = any_store.append("events", [event], "reinspection H11 by chen")
    assert {t: n for t, n in result.inserted.items() if n} == {"events": 1}
    assert not any(result.updated.values()) and not any(result.deleted.values())
    entry = list(any_store.audit_entries())[-1]
    assert (entry["user"], entry["source"]) == ("chen", "reinspection H11 by chen")
    after = from_store(any_store)
    for table in before.tables:
        if table != "events":
            assert sorted(after.tables[table], key=repr) == sorted(before.tables[table], key=repr), table
    assert campaigns.report(Session(any_store), "LB")["by_jurisdiction"][0] == \
        {"jurisdiction_id": "K", "reinspected": 3, "held": 0, "relapsed": 3}
    assert audit.current_user() != "chen"  # only inside the block


@pytest.mark.parametrize("hazard, on, outcome, message", [
    ("H1", "2026-10-01", "held", "events:12: kind: a re-inspection of hazard 'H1', which was never closed"),
    ("H11", "2026-10-01", "bogus", "events:12: outcome: unknown reinspection outcome 'bogus'"),
    ("H11", "2026-02-01", "held", "which was never closed on or before 2026-02-01"),  # before its closure
    ("ZZ", "2026-10-01", "held", "events:12: hazard_id: unknown hazard 'ZZ'"),
])
def test_a_bad_reinspection_is_refused_with_its_reason_and_nothing_is_stored(tmp_path, hazard, on, outcome, message):
    from accountability.stores.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "store.db") as store:
        store.write(load(scenario.write(data(), tmp_path)))
        before, log = from_store(store).content_hash(), len(list(store.audit_entries()))
        event = campaigns.reinspection(Session(store), hazard, on, outcome)
        with pytest.raises(InvalidDataset) as caught:
            store.append("events", [event], "test")
        assert message in str(caught.value)
        assert (from_store(store).content_hash(), len(list(store.audit_entries()))) == (before, log)


def test_a_scoped_user_may_not_enter_a_reinspection_outside_their_jurisdiction(make_session):
    from accountability.errors import AccessDenied

    county = make_session(data()).as_user(User("k", "auditor", "K"))
    assert campaigns.reinspection(county, "H11", "2026-10-01", "held")["hazard_id"] == "H11"
    with pytest.raises(AccessDenied, match="hazard 'H14' is outside the jurisdiction of user k"):
        campaigns.reinspection(county, "H14", "2026-10-01", "held")
