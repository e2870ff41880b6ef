"""Calibration (``accountability calibrate``) on the hand-built scenario: exact recall and precision under
reference-v2 and reference-v1, the misses and extras, the groupings, the JSON shape, and the command line.

The scenario (tests/scenario.py) with two incidents that have outcomes and one that has none:

- I1, a gas explosion at E1 in T (county K, city C; its hazard H1 was long overdue, so rule 7 reaches the
  city). K's housing head ordered H1 fixed (exempt under v2); K's head left on 2026-05-19 and the executive
  deputy acted from 05-20 (no conditions on that post, accountable on their own); a new mayor took office on
  05-25 (no conditions). Sanctioned: E1's principal, K's housing head, K's deputy in charge of gas and E3's
  safety manager (outside the chain); C's party secretary was only interviewed.
- I3, an incident in K2 without a unit: v2's rule 6 names K2's leaders, v1 does not. Sanctioned: K2's head;
  C's housing head only interviewed.
- I2 has no outcomes and is not compared.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import scenario
from accountability.access import User
from accountability.calibrate import calibrate
from accountability.cli import main
from test_trace import _incident


def dataset() -> dict:
    data = scenario.base()
    data["incidents"] = [_incident(hazard_ids="H1"), _incident(id="I2", title="未作结论"),
                         _incident(id="I3", jurisdiction_id="K2", organization_id="", title="西山县燃气事故")]
    data["inspections"] = [{"id": "X1", "organization_id": "E1", "on": "2026-01-10", "post_id": "K-HOUSING-HEAD",
                            "outcome": "order_issued", "hazard_ids": "H1"}]
    for t in data["tenures"]:
        t["end"] = {"K-HEAD": "2026-05-19", "C-HEAD": "2026-05-24"}.get(t["post_id"], t["end"])
    data["tenures"].append({"person_id": "PE-K-EXEC", "post_id": "K-HEAD", "start": "2026-05-20", "end": "",
                            "acting": "true"})
    data["people"].append({"id": "PE-MAYOR", "name": "新市长"})
    data["tenures"].append({"person_id": "PE-MAYOR", "post_id": "C-HEAD", "start": "2026-05-25", "end": "",
                            "acting": "false"})
    data["outcomes"] = [
        {"person_id": "PE-E1-GM", "incident_id": "I1", "form": "criminal", "decided_on": "2026-09-01"},
        {"person_id": "PE-K-HOUSING-HEAD", "incident_id": "I1", "form": "demerit"},
        {"person_id": "PE-K-DEP", "incident_id": "I1", "form": "major_demerit"},
        {"person_id": "PE-E3-SM", "incident_id": "I1", "form": "removal"},
        {"person_id": "PE-C-SEC", "incident_id": "I1", "form": "interview"},
        {"person_id": "PE-K2-HEAD", "incident_id": "I3", "form": "admonishment"},
        {"person_id": "PE-C-HOUSING-HEAD", "incident_id": "I3", "form": "interview"},
    ]
    return data


CITY = ["PE-C-DEP", "PE-C-EM-HEAD", "PE-C-EXEC", "PE-C-HEAD", "PE-C-HOUSING-HEAD"]
COUNTY = ["PE-K-EM-HEAD", "PE-K-EXEC", "PE-K-HEAD", "PE-K-SEC"]


def by_key(rows: list[dict]) -> dict:
    return {r["key"]: (r["named"], r["sanctioned"], r["hits"], r["recall"], r["precision"]) for r in rows}


@pytest.fixture
def v2_result(make_session):
    return calibrate(make_session(dataset(), rules="reference-v2"))


def test_reference_v2_recall_precision_misses_and_extras(v2_result):
    got = v2_result
    assert got["rules"] == "reference-v2"
    assert [i["incident_id"] for i in got["incidents"]] == ["I1", "I3"]  # I2 has no outcomes: skipped
    i1, i3 = got["incidents"]
    # I1: named 14 (the exempt housing head, the brief mayor and the city's party secretary are not), sanctioned 4
    assert i1 == {"incident_id": "I1", "recall": 2 / 4, "precision": 2 / 14,
                  "missed": ["PE-E3-SM", "PE-K-HOUSING-HEAD"],
                  "extra": sorted(CITY + COUNTY + ["PE-E1-SM", "PE-T-HEAD", "PE-T-SEC"])}
    # I3: rule 6 names K2's leaders; the interviewed housing head stays an extra
    assert i3 == {"incident_id": "I3", "recall": 1.0, "precision": 1 / 8, "missed": [],
                  "extra": sorted(CITY + ["PE-C-SEC", "PE-K2-SEC"])}
    # persons pooled (micro-average): 3 hits of 5 sanctioned and 22 named — not the mean of 1/7 and 1/8
    assert got["overall"] == {"recall": 3 / 5, "precision": 3 / 22}


def test_reference_v1_names_every_holder(make_session):
    got = calibrate(make_session(dataset(), rules="reference-v1"))
    assert got["rules"] == "reference-v1"
    i1, i3 = got["incidents"]
    assert (i1["recall"], i1["precision"], i1["missed"]) == (3 / 4, 3 / 17, ["PE-E3-SM"])
    assert {"PE-C-SEC", "PE-MAYOR"} <= set(i1["extra"]) and "PE-K-HOUSING-HEAD" not in i1["extra"]
    assert (i3["recall"], i3["precision"], i3["missed"]) == (0.0, 0.0, ["PE-K2-HEAD"])
    assert got["overall"] == {"recall": 3 / 5, "precision": 3 / 24}


def test_an_interview_is_not_a_sanction(make_session):
    data = dataset()
    data["outcomes"] = [o for o in data["outcomes"] if o["incident_id"] == "I3"]
    data["outcomes"].append({"person_id": "PE-K2-SEC", "incident_id": "I3", "form": "interview"})
    got = calibrate(make_session(data, rules="reference-v2"))
    (i3,) = got["incidents"]
    assert "PE-K2-SEC" in i3["extra"] and "PE-C-HOUSING-HEAD" in i3["extra"]
    assert (i3["recall"], i3["precision"]) == (1.0, 1 / 8)


def test_an_incident_with_interviews_only_is_compared_with_no_recall(make_session):
    data = dataset()
    data["outcomes"] = [o for o in data["outcomes"] if o["form"] == "interview"]
    got = calibrate(make_session(data, rules="reference-v2"))
    assert [(i["incident_id"], i["recall"], i["missed"]) for i in got["incidents"]] == [("I1", None, []),
                                                                                        ("I3", None, [])]
    assert got["overall"] == {"recall": None, "precision": 0.0}


def test_without_outcomes_nothing_is_compared(make_session):
    data = dataset()
    data["outcomes"] = []
    got = calibrate(make_session(data, rules="reference-v2"))
    assert got == {"rules": "reference-v2", "incidents": [], "overall": {"recall": None, "precision": None},
                   "by_tier": [], "by_role": [], "by_rule": []}


def test_groups_by_tier_role_and_rule(v2_result):
    tiers = by_key(v2_result["by_tier"])
    assert list(tiers) == ["city", "county", "township", "enterprise"]  # the vocabulary's order, then units
    # county: K's five and K2's two named; sanctioned K's deputy, K's housing head (missed: by the post held that
    # day) and K2's head
    assert tiers["county"] == (7, 3, 2, 2 / 3, 2 / 7)
    assert tiers["enterprise"] == (2, 2, 1, 1 / 2, 1 / 2)  # E3's safety manager is missed
    roles = by_key(v2_result["by_role"])
    # the acting executive deputy counts as executive deputy only: on the head's post they had no conditions
    assert roles["government_head"] == (5, 1, 1, 1.0, 1 / 5)
    assert roles["executive_deputy_head"] == (3, 0, 0, None, 0.0)
    assert roles["department_head"] == (5, 1, 0, 0.0, 0.0)
    rules = by_key(v2_result["by_rule"])
    assert list(rules) == ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "—"]
    assert rules["R6"] == (4, 1, 1, 1.0, 1 / 4)
    assert rules["—"] == (0, 2, 0, 0.0, None)  # the sanctioned persons the ruleset did not name


def test_the_json_shape(v2_result):
    assert list(v2_result) == ["rules", "incidents", "overall", "by_tier", "by_role", "by_rule"]
    assert set(v2_result["incidents"][0]) == {"incident_id", "recall", "precision", "missed", "extra"}
    assert set(v2_result["overall"]) == {"recall", "precision"}
    for group in ("by_tier", "by_role", "by_rule"):
        for row in v2_result[group]:
            assert list(row) == ["key", "named", "sanctioned", "hits", "recall", "precision"]


def test_a_scoped_user_sees_the_incidents_in_scope_only(make_session):
    session = make_session(dataset(), rules="reference-v2")
    got = calibrate(session.as_user(User("k2", "auditor", "K2")))
    assert [i["incident_id"] for i in got["incidents"]] == ["I3"]
    assert got["overall"] == {"recall": 1.0, "precision": 1 / 8}


def test_the_same_on_every_store(any_store, tmp_path, v2_result):
    from accountability.dataset import load
    from accountability.session import Session

    any_store.write(load(scenario.write(dataset(), tmp_path)))
    assert calibrate(Session(any_store, rules="reference-v2")) == v2_result


# -- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    path = scenario.write(dataset(), tmp_path)
    db = tmp_path / "store.db"
    result = CliRunner().invoke(main, ["import", str(path), "--store", str(db)])
    assert result.exit_code == 0, result.output
    return str(db)


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_json_is_the_library_result(store, make_session):
    result = run("calibrate", "--store", store, "--rules", "reference-v2", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == calibrate(make_session(dataset(), rules="reference-v2"))


def test_cli_csv_has_a_row_per_incident_overall_and_group(store):
    result = run("calibrate", "--store", store, "--rules", "reference-v2", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == ["section", "key", "named", "sanctioned", "hits", "recall", "precision", "missed",
                             "extra"]
    assert [r["section"] for r in rows[:3]] == ["incident", "incident", "overall"]
    assert rows[0]["key"] == "I1" and rows[0]["missed"] == "PE-E3-SM;PE-K-HOUSING-HEAD"
    assert float(rows[0]["recall"]) == 0.5
    assert float(rows[2]["precision"]) == pytest.approx(3 / 22)
    county = next(r for r in rows if r["section"] == "tier" and r["key"] == "county")
    assert (county["named"], county["sanctioned"], county["hits"]) == ("7", "3", "2")
    assert {r["section"] for r in rows} == {"incident", "overall", "tier", "role", "rule"}


def test_cli_table(store):
    result = run("calibrate", "--store", store, "--rules", "reference-v1")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("rules reference-v1: 2 incident(s) with outcomes")
    assert "I1           0.750   0.176      PE-E3-SM" in text
    assert "overall (persons pooled): recall 0.600, precision 0.125" in text
    assert "by tier:" in text and "by role:" in text and "by rule:" in text
    assert " … +" in text  # a long extra list is cut in the view
    assert "—" in text  # the rule of a missed person, and an undefined ratio


def test_cli_unknown_ruleset_is_a_clear_error(store):
    result = run("calibrate", "--store", store, "--rules", "reference-v9")
    assert result.exit_code == 1
    assert "reference-v9: no such ruleset (known: reference-v1, reference-v2" in result.output
