"""Named auditor queries on a hand-built scenario: exact expected rows, through the API and the CLI.

The scenario is ``scenario.base()`` (see its docstring) on 2026-06-01 with handovers, a vacancy and six
more hazards, each chosen for one query:

- K-HOUSING-HEAD passes from PE-K-HOUSING-HEAD to PX-KHOUSING on 2026-04-01; K-HEAD from PE-K-HEAD to
  PX-KHEAD (acting) on 2026-03-01; T-HEAD is vacant from 2026-05-01.
- H1 urban gas at E1 in T, overdue 92 days (> 90: escalated to C);
  H2 major chemicals at E2 (in the park) in T, not escalated, deadline ahead;
  H3 construction at E3 in V, deadline extended to 2026-07-01 (not overdue), E3 has no principal and no
  leader of K covers construction;
  H4 tourism in K2: no regulator anywhere, overdue 61 days;
  H5 major urban gas in K, escalated on 2026-01-20, overdue 120 days;
  H6 closed on 2026-04-01 (never listed); H7 major forest fire in K2 (regulated by C), overdue 12 days.
"""

from __future__ import annotations

import copy
import re

import orjson
import pytest
import scenario
import yaml
from click.testing import CliRunner

from accountability import queries
from accountability.cli import main
from accountability.dataset import load
from accountability.errors import NotFound, UsageError
from accountability.output import CHAIN_COLUMNS
from accountability.session import Session
from accountability.stores.sqlite import SQLiteStore
from graph_schema import InvalidSchema

ON = "2026-06-01"
P, I, D = "principal_leadership", "important_leadership", "direct"
SEC, COMP, TERR = "sector_supervision", "comprehensive_supervision", "territorial_leadership"
H5_PRINCIPALS = ["东湖区住房和城乡建设局局长: 接任局长", "区长: 代理区长", "东湖区委书记: 人员09"]
H7_PRINCIPALS = ["临江市林业局局长: 人员24", "市长: 人员06", "临江市委书记: 人员05"]


def audit_data() -> dict:
    data = scenario.base()
    data["people"] += [{"id": "PX-KHOUSING", "name": "接任局长"}, {"id": "PX-KHEAD", "name": "代理区长"}]
    ends = {"K-HOUSING-HEAD": "2026-03-31", "K-HEAD": "2026-02-28", "T-HEAD": "2026-04-30"}
    for tenure in data["tenures"]:
        if tenure["post_id"] in ends:
            tenure["end"] = ends[tenure["post_id"]]
    data["tenures"] += [
        {"person_id": "PX-KHOUSING", "post_id": "K-HOUSING-HEAD", "start": "2026-04-01", "end": "", "acting": "false"},
        {"person_id": "PX-KHEAD", "post_id": "K-HEAD", "start": "2026-03-01", "end": "", "acting": "true"},
    ]
    h = scenario.hazard
    data["hazards"] += [
        h("H2", "hazardous_chemicals", "T", "E2", level="major", found_on="2026-02-01", deadline="2026-08-01"),
        h("H3", "construction", "V", "E3", found_on="2025-12-01", deadline="2026-05-01"),
        h("H4", "tourism", "K2", found_on="2026-03-01", deadline="2026-04-01"),
        h("H5", "urban_gas", "K", level="major", found_on="2026-01-15", deadline="2026-02-01", status="rectifying"),
        h("H6", "urban_gas", "T", "E1", found_on="2026-01-01", deadline="2026-02-01", status="closed",
          closed_on="2026-04-01"),
        h("H7", "forest_fire", "K2", level="major", found_on="2026-05-01", deadline="2026-05-20"),
    ]
    data["events"] = [
        {"hazard_id": "H3", "on": "2026-04-20", "kind": "deadline_extended", "deadline": "2026-07-01"},
        {"hazard_id": "H5", "on": "2026-01-20", "kind": "escalated"},
    ]
    return data


@pytest.fixture(autouse=True, scope="module")
def reference_v1():
    """The expected rows of this module's scenario were worked out under reference-v1 (the default is v2):
    sessions and commands here use v1 unless a test names its ruleset (the conduct queries: v2)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
        yield


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    path = folder / "audit.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(audit_data(), folder)))
    return path


@pytest.fixture
def session(store_path):
    with Session(str(store_path), readonly=True) as s:
        yield s


def rows(session, name: str, **params) -> list[dict]:
    with queries.run(name, session, **params) as result:
        return list(result)


def cli(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


# -- overdue-hazards -------------------------------------------------------------------------------------------


def overdue_row(hid, industry, level, jid, org, found, deadline, days, escalated_on, principals, people):
    return {"hazard_id": hid, "description": f"隐患{hid}", "industry": industry, "level": level,
            "jurisdiction_id": jid, "organization_id": org, "found_on": found, "deadline": deadline,
            "days_overdue": days, "escalated_on": escalated_on, "principals": principals, "person_ids": people}


H5_OVERDUE = overdue_row("H5", "urban_gas", "major", "K", None, "2026-01-15", "2026-02-01", 120, "2026-01-20",
                         H5_PRINCIPALS, ["PX-KHOUSING", "PX-KHEAD", "PE-K-SEC"])
H1_OVERDUE = overdue_row("H1", "urban_gas", "general", "T", "E1", "2026-01-01", "2026-03-01", 92, None,
                         ["总经理: 人员28", "东湖区住房和城乡建设局局长: 接任局长", "区长: 代理区长",
                          "东湖区委书记: 人员09", "镇长: —", "青石镇委书记: 人员13"],
                         ["PE-E1-GM", "PX-KHOUSING", "PX-KHEAD", "PE-K-SEC", "PE-T-SEC"])
H4_OVERDUE = overdue_row("H4", "tourism", "general", "K2", None, "2026-03-01", "2026-04-01", 61, None,
                         ["县长: 人员18", "西山县委书记: 人员17"], ["PE-K2-HEAD", "PE-K2-SEC"])
H7_OVERDUE = overdue_row("H7", "forest_fire", "major", "K2", None, "2026-05-01", "2026-05-20", 12, None,
                         H7_PRINCIPALS, ["PE-C-FOREST-HEAD", "PE-C-HEAD", "PE-C-SEC"])


def test_overdue_hazards_most_overdue_first_with_their_principal_leaders(session):
    # H3's deadline was extended past the date; H2's lies ahead; H6 is closed; escalated links are left out
    assert rows(session, "overdue-hazards", as_of=ON) == [H5_OVERDUE, H1_OVERDUE, H4_OVERDUE, H7_OVERDUE]


def test_overdue_hazards_in_a_subtree_and_an_industry(session):
    assert rows(session, "overdue-hazards", as_of=ON, jurisdiction="K") == [H5_OVERDUE, H1_OVERDUE]
    assert rows(session, "overdue-hazards", as_of=ON, jurisdiction="K2", industry="tourism") == [H4_OVERDUE]
    assert rows(session, "overdue-hazards", as_of=ON, jurisdiction="V") == []


def test_overdue_hazards_use_the_extended_deadline(session):
    # on 2026-05-10 H3 is past its first deadline (05-01) but not past the extended one (07-01)
    assert [r["hazard_id"] for r in rows(session, "overdue-hazards", as_of="2026-05-10")] == ["H5", "H1", "H4"]
    h3 = [r for r in rows(session, "overdue-hazards", as_of="2026-07-05") if r["hazard_id"] == "H3"]
    assert [(r["deadline"], r["days_overdue"]) for r in h3] == [("2026-07-01", 4)]


# -- official-exposure ------------------------------------------------------------------------------------------


def exposure(person, hid, industry, level, jid, org, post, title, duty, degree, escalated, rules):
    return {"person_id": person, "hazard_id": hid, "industry": industry, "level": level, "jurisdiction_id": jid,
            "organization_id": org, "post_id": post, "post_title": title, "duty": duty, "degree": degree,
            "escalated": escalated, "rules": rules}


def test_official_exposure_of_one_person_lists_every_link(session):
    em = ("PE-C-EM-HEAD",)
    post = ("C-EM-HEAD", "临江市应急管理局局长")
    assert rows(session, "official-exposure", person="PE-C-EM-HEAD", as_of=ON) == [
        exposure(*em, "H1", "urban_gas", "general", "T", "E1", *post, COMP, I, True, ["R3", "R7"]),
        exposure(*em, "H2", "hazardous_chemicals", "major", "T", "E2", *post, SEC, P, True, ["R2", "R7"]),
        exposure(*em, "H2", "hazardous_chemicals", "major", "T", "E2", *post, COMP, I, True, ["R3", "R7"]),
        exposure(*em, "H5", "urban_gas", "major", "K", None, *post, COMP, I, True, ["R3", "R7"]),
        exposure(*em, "H7", "forest_fire", "major", "K2", None, *post, COMP, I, False, ["R3"]),
    ]


def test_official_exposure_follows_the_holder_on_the_date(session):
    acting = rows(session, "official-exposure", person="PX-KHEAD", as_of=ON)
    assert [(r["hazard_id"], r["post_id"], r["degree"]) for r in acting] == [
        ("H1", "K-HEAD", P), ("H2", "K-HEAD", P), ("H3", "K-HEAD", P), ("H5", "K-HEAD", P)]
    # before the handover the predecessor answered, and only for the hazards already found
    before = rows(session, "official-exposure", person="PE-K-HEAD", as_of="2026-02-15")
    assert [r["hazard_id"] for r in before] == ["H1", "H2", "H3", "H5", "H6"]
    assert rows(session, "official-exposure", person="PE-K-HEAD", as_of=ON) == []


def ranked(person, name, hazards, p, i, d, posts):
    return {"person_id": person, "name": name, "hazards": hazards, P: p, I: i, D: d, "post_ids": posts}


def test_official_exposure_ranking_in_a_jurisdiction(session):
    with queries.run("official-exposure", session, jurisdiction="K2", as_of=ON) as result:
        assert result.columns == ["person_id", "name", "hazards", P, I, D, "post_ids"]
        assert result.labels("en")[2] == "Hazards"
        got = list(result)
    assert got == [
        ranked("PE-C-FOREST-HEAD", "人员24", 1, 1, 0, 0, ["C-FOREST-HEAD"]),
        ranked("PE-C-HEAD", "人员06", 1, 1, 0, 0, ["C-HEAD"]),
        ranked("PE-C-SEC", "人员05", 1, 1, 0, 0, ["C-SEC"]),
        ranked("PE-K2-HEAD", "人员18", 1, 1, 0, 0, ["K2-HEAD"]),
        ranked("PE-K2-SEC", "人员17", 1, 1, 0, 0, ["K2-SEC"]),
        ranked("PE-P-HEAD", "人员02", 1, 1, 0, 0, ["P-HEAD"]),
        ranked("PE-P-SEC", "人员01", 1, 1, 0, 0, ["P-SEC"]),
        ranked("PE-C-EM-HEAD", "人员22", 1, 0, 1, 0, ["C-EM-HEAD"]),
        ranked("PE-C-EXEC", "人员07", 1, 0, 1, 0, ["C-EXEC"]),
        ranked("PE-K2-EXEC", "人员19", 1, 0, 1, 0, ["K2-EXEC"]),
        ranked("PE-P-EM-HEAD", "人员21", 1, 0, 1, 0, ["P-EM-HEAD"]),
        ranked("PE-P-EXEC", "人员03", 1, 0, 1, 0, ["P-EXEC"]),
    ]


def test_official_exposure_ranking_counts_a_person_once_per_hazard_at_the_heaviest_degree(session):
    # C-EM-HEAD bears two links on H2 (sector, principal; comprehensive, important): one hazard, principal
    assert rows(session, "official-exposure", as_of=ON, limit=5) == [
        ranked("PE-C-HEAD", "人员06", 4, 4, 0, 0, ["C-HEAD"]),
        ranked("PE-C-SEC", "人员05", 4, 4, 0, 0, ["C-SEC"]),
        ranked("PE-K-SEC", "人员09", 4, 4, 0, 0, ["K-SEC"]),
        ranked("PX-KHEAD", "代理区长", 4, 4, 0, 0, ["K-HEAD"]),
        ranked("PE-C-EM-HEAD", "人员22", 4, 1, 3, 0, ["C-EM-HEAD"]),
    ]


# -- who-held -----------------------------------------------------------------------------------------------


def held(post, title, org, jid, role, person, name, start, end, acting):
    return {"post_id": post, "post_title": title, "organization_id": org, "jurisdiction_id": jid, "role": role,
            "person_id": person, "name": name, "start": start, "end": end, "acting": acting}


K_HEAD = ("K-HEAD", "区长", "K-GOV", "K", "government_head")
T_HEAD = ("T-HEAD", "镇长", "T-GOV", "T", "government_head")


def test_who_held_a_post_over_a_period_including_an_acting_holder(session):
    assert rows(session, "who-held", post="K-HEAD", start="2026-01-01", end="2026-06-30") == [
        held(*K_HEAD, "PE-K-HEAD", "人员10", "2020-01-01", "2026-02-28", False),
        held(*K_HEAD, "PX-KHEAD", "代理区长", "2026-03-01", None, True),
    ]


def test_who_held_says_when_nobody_did(session):
    assert rows(session, "who-held", post="T-HEAD", **{"from": "2026-04-01", "to": "2026-06-30"}) == [
        held(*T_HEAD, "PE-T-HEAD", "人员14", "2020-01-01", "2026-04-30", False),
        held(*T_HEAD, None, None, "2026-05-01", "2026-06-30", None),
    ]
    assert rows(session, "who-held", post="T-HEAD", as_of=ON) == [held(*T_HEAD, None, None, ON, ON, None)]


def test_who_held_a_role_in_a_subtree_or_in_the_jurisdiction_itself(session):
    subtree = rows(session, "who-held", role="government_head", jurisdiction="K", as_of=ON)
    assert subtree == [held(*K_HEAD, "PX-KHEAD", "代理区长", "2026-03-01", None, True),
                       held(*T_HEAD, None, None, ON, ON, None)]
    assert rows(session, "who-held", role="government_head", jurisdiction="K", scope="own", as_of=ON) == subtree[:1]
    everywhere = rows(session, "who-held", role="party_secretary", as_of=ON)
    assert [(r["post_id"], r["person_id"]) for r in everywhere] == [
        ("C-SEC", "PE-C-SEC"), ("K-SEC", "PE-K-SEC"), ("K2-SEC", "PE-K2-SEC"), ("P-SEC", "PE-P-SEC"),
        ("T-SEC", "PE-T-SEC")]


@pytest.mark.parametrize("params, message", [
    ({}, "give post or role"),
    ({"post": "K-HEAD", "role": "party_secretary"}, "give post or role"),
    ({"post": "K-HEAD", "jurisdiction": "K"}, "jurisdiction goes with role"),
    ({"role": "party_secretary", "scope": "own"}, "scope own needs a jurisdiction"),
    ({"post": "K-HEAD", "as_of": ON, "start": "2026-01-01"}, "either as_of or start/end"),
    ({"post": "K-HEAD", "end": "2026-01-01"}, "needs its start"),
    ({"post": "K-HEAD", "start": "2026-02-01", "end": "2026-01-01"}, "ends (2026-01-01) before it starts"),
    ({"role": "mayor"}, "unknown role 'mayor'; expected one of party_secretary"),
    ({"role": "party_secretary", "scope": "everywhere"}, "'everywhere' is not one of subtree, own"),
    ({"post": "K-HEAD", "start": "2026-1-1"}, "start: '2026-1-1' is not a date (YYYY-MM-DD)"),
    ({"post": "K-HEAD", "start": "2026-01-01", "from": "2026-01-02"}, "start given twice"),
])
def test_who_held_usage_errors(session, params, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rows(session, "who-held", **params)


# -- regulatory-gaps -------------------------------------------------------------------------------------------


def gap(kind, jid, industry, org, post, title, hazards):
    return {"kind": kind, "jurisdiction_id": jid, "industry": industry, "organization_id": org, "post_id": post,
            "post_title": title, "hazards": len(hazards), "hazard_ids": hazards}


VACANT_T_HEAD = gap("vacant_post", "T", None, "T-GOV", "T-HEAD", "镇长", ["H1", "H2", "H3"])
NO_REGULATOR = gap("no_regulator", "K2", "tourism", None, None, None, ["H4"])
NO_PORTFOLIO_C = gap("no_portfolio", "C", "forest_fire", None, None, None, ["H7"])
NO_PORTFOLIO_K = gap("no_portfolio", "K", "construction", None, None, None, ["H3"])
NO_PORTFOLIO_K2 = gap("no_portfolio", "K2", "tourism", None, None, None, ["H4"])
NO_PRINCIPAL = gap("no_principal", "V", None, "E3", None, None, ["H3"])


def test_regulatory_gaps_aggregated_from_the_chains(session):
    assert rows(session, "regulatory-gaps", as_of=ON) == [
        VACANT_T_HEAD, NO_REGULATOR, NO_PORTFOLIO_C, NO_PORTFOLIO_K, NO_PORTFOLIO_K2, NO_PRINCIPAL]


def test_regulatory_gaps_by_kind_jurisdiction_and_industry(session):
    assert rows(session, "regulatory-gaps", as_of=ON, kind="vacant_post") == [VACANT_T_HEAD]
    # a hazard in K2 brings the gap of its regulator C (forest fire) with it
    assert rows(session, "regulatory-gaps", as_of=ON, jurisdiction="K2") == [NO_REGULATOR, NO_PORTFOLIO_C,
                                                                             NO_PORTFOLIO_K2]
    assert rows(session, "regulatory-gaps", as_of=ON, industry="construction") == [
        gap("vacant_post", "T", None, "T-GOV", "T-HEAD", "镇长", ["H3"]), NO_PORTFOLIO_K, NO_PRINCIPAL]
    # before T-HEAD fell vacant
    assert VACANT_T_HEAD not in rows(session, "regulatory-gaps", as_of="2026-04-30", kind="vacant_post")
    with pytest.raises(UsageError, match="'overdue' is not one of no_regulator, no_portfolio"):
        rows(session, "regulatory-gaps", kind="overdue")


# -- handover-risk ------------------------------------------------------------------------------------------------


def handover(hid, industry, level, jid, found, post):
    if post == "K-HEAD":
        link = ("K-HEAD", "区长", TERR, P, False, 2, ["PE-K-HEAD", "PX-KHEAD"], ["人员10", "代理区长"], ["2026-03-01"])
    else:
        link = ("K-HOUSING-HEAD", "东湖区住房和城乡建设局局长", SEC, P, False, 2, ["PE-K-HOUSING-HEAD", "PX-KHOUSING"],
                ["人员26", "接任局长"], ["2026-04-01"])
    keys = ("post_id", "post_title", "duty", "degree", "escalated", "holders", "person_ids", "names", "changed_on")
    return {"hazard_id": hid, "industry": industry, "level": level, "jurisdiction_id": jid, "found_on": found,
            **dict(zip(keys, link))}


def test_handover_risk_lists_links_that_changed_hands_while_the_hazard_was_open(session):
    # T-HEAD only fell vacant (one holder); H4 and H7 never changed hands; H6 is closed
    assert rows(session, "handover-risk", as_of=ON) == [
        handover("H1", "urban_gas", "general", "T", "2026-01-01", "K-HOUSING-HEAD"),
        handover("H1", "urban_gas", "general", "T", "2026-01-01", "K-HEAD"),
        handover("H2", "hazardous_chemicals", "major", "T", "2026-02-01", "K-HEAD"),
        handover("H3", "construction", "general", "V", "2025-12-01", "K-HOUSING-HEAD"),
        handover("H3", "construction", "general", "V", "2025-12-01", "K-HEAD"),
        handover("H5", "urban_gas", "major", "K", "2026-01-15", "K-HOUSING-HEAD"),
        handover("H5", "urban_gas", "major", "K", "2026-01-15", "K-HEAD"),
    ]
    # before the first handover nothing had changed
    assert rows(session, "handover-risk", as_of="2026-02-28") == []
    assert [r["hazard_id"] for r in rows(session, "handover-risk", as_of=ON, jurisdiction="V")] == ["H3", "H3"]


# -- unescalated-major -----------------------------------------------------------------------------------------


def test_unescalated_major_lists_major_hazards_not_escalated_or_overdue(session):
    def row(hid, industry, jid, org, found, deadline, escalated_on, unescalated, days, principals, people):
        return {"hazard_id": hid, "description": f"隐患{hid}", "industry": industry, "jurisdiction_id": jid,
                "organization_id": org, "found_on": found, "deadline": deadline, "escalated_on": escalated_on,
                "unescalated": unescalated, "days_overdue": days, "principals": principals, "person_ids": people}

    assert rows(session, "unescalated-major", as_of=ON) == [
        row("H5", "urban_gas", "K", None, "2026-01-15", "2026-02-01", "2026-01-20", False, 120, H5_PRINCIPALS,
            ["PX-KHOUSING", "PX-KHEAD", "PE-K-SEC"]),
        row("H7", "forest_fire", "K2", None, "2026-05-01", "2026-05-20", None, True, 12, H7_PRINCIPALS,
            ["PE-C-FOREST-HEAD", "PE-C-HEAD", "PE-C-SEC"]),
        row("H2", "hazardous_chemicals", "T", "E2", "2026-02-01", "2026-08-01", None, True, 0,
            ["董事长: 人员30", "东湖区应急管理局局长: 人员25", "区长: 代理区长", "东湖区委书记: 人员09",
             "管委会主任: 人员27", "镇长: —", "青石镇委书记: 人员13"],
            ["PE-E2-GM", "PE-K-EM-HEAD", "PX-KHEAD", "PE-K-SEC", "PE-PARK-DIR", "PE-T-SEC"]),
    ]
    # H5 was escalated and is not yet overdue on 2026-01-25
    assert [r["hazard_id"] for r in rows(session, "unescalated-major", as_of="2026-01-25")] == []
    assert [r["hazard_id"] for r in rows(session, "unescalated-major", as_of=ON, jurisdiction="T")] == ["H2"]


# -- chain ---------------------------------------------------------------------------------------------------------


def test_chain_rows_of_one_hazard(session):
    def link(post, title, org, degree, rules, person, name):
        return {"hazard_id": "H4", "as_of": ON, "duty": TERR, "degree": degree, "post_id": post, "post_title": title,
                "organization_id": org, "jurisdiction_id": "K2", "rules": rules, "escalated": False,
                "person_id": person, "name": name, "start": "2020-01-01", "end": None, "acting": False}

    with queries.run("chain", session, hazard="H4", as_of=ON) as result:
        assert result.columns == CHAIN_COLUMNS
        got = list(result)
    assert got == [
        link("K2-EXEC", "常务副县长", "K2-GOV", I, ["R4"], "PE-K2-EXEC", "人员19"),
        link("K2-HEAD", "县长", "K2-GOV", P, ["R5"], "PE-K2-HEAD", "人员18"),
        link("K2-SEC", "西山县委书记", "K2-PC", P, ["R5"], "PE-K2-SEC", "人员17"),
        {"hazard_id": "H4", "as_of": ON, "gap": {"kind": "no_regulator", "industry": "tourism", "jurisdiction_id": "K2",
                                                 "regulator_jurisdiction_id": "K2"}},
        {"hazard_id": "H4", "as_of": ON, "gap": {"kind": "no_portfolio", "industry": "tourism", "jurisdiction_id": "K2"}},
        {"hazard_id": "H4", "as_of": ON, "gap": {"kind": "overdue", "hazard_id": "H4", "deadline": "2026-04-01",
                                                 "days": 61}},
    ]


@pytest.mark.parametrize("rules", ["reference-v1", "reference-v2"])
def test_chain_query_answers_exactly_as_trace(store_path, rules):
    """Under either ruleset: v2's CSV has the assessment and evidence columns, the query's too."""
    for args in (["-p", "as_of=" + ON], ["-p", "from=2026-01-01", "-p", "to=" + ON]):
        query = cli("query", "chain", "-p", "hazard=H1", *args, "--store", str(store_path), "--format", "csv",
                    "--rules", rules)
        trace_args = ["--as-of", ON] if "as_of" in args[1] else ["--from", "2026-01-01", "--to", ON]
        trace = cli("trace", "H1", *trace_args, "--store", str(store_path), "--format", "csv", "--rules", rules)
        assert query.exit_code == 0 and trace.exit_code == 0, query.output + trace.output
        assert query.output == trace.output
        assert "PX-KHEAD" in query.output
        assert (",assessment,assessment_reasons,evidence" in query.output.splitlines()[0]) == (rules == "reference-v2")


# -- the API -----------------------------------------------------------------------------------------------------


def test_every_row_has_exactly_the_declared_columns(session):
    runs = [("overdue-hazards", {}), ("official-exposure", {"person": "PX-KHEAD"}), ("official-exposure", {}),
            ("who-held", {"role": "government_head"}), ("regulatory-gaps", {}), ("handover-risk", {}),
            ("unescalated-major", {})]
    for name, params in runs:
        with queries.run(name, session, as_of=ON, **params) as result:
            got = list(result)
        assert got, name
        assert all(list(r) == result.columns for r in got), name
    for r in rows(session, "chain", hazard="H1", as_of=ON):
        assert set(r) <= set(CHAIN_COLUMNS)


def test_rows_carry_hazard_and_person_ids():
    for q in queries.catalog():
        for output in q.outputs.values():
            names = output.names
            assert {"hazard_id", "hazard_ids", "person_id", "person_ids", "post_ids"} & set(names), q.name


def test_unknown_names_and_parameters_are_usage_errors_listing_what_is_expected(session):
    with pytest.raises(UsageError, match="unknown query 'nope'; the queries are: overdue-hazards, official-exposure"):
        queries.run("nope", session)
    with pytest.raises(UsageError, match=r"unknown parameter 'date'; overdue-hazards expects:\n  jurisdiction "
                                         r"\(jurisdiction\)"):
        queries.run("overdue-hazards", session, date=ON)
    with pytest.raises(UsageError, match=r"chain: missing parameter 'hazard'; chain expects:\n  hazard \(hazard, "
                                         r"required\)"):
        queries.run("chain", session)
    with pytest.raises(UsageError, match="official-exposure: limit: 'many' is not an integer"):
        queries.run("official-exposure", session, limit="many")
    with pytest.raises(UsageError, match="limit: 0 is below the minimum 1"):
        queries.run("official-exposure", session, limit=0)
    with pytest.raises(UsageError, match="as_of: '2026-13-01' is not a date"):
        queries.run("overdue-hazards", session, as_of="2026-13-01")
    with pytest.raises(UsageError, match="unknown industry 'coal'; expected one of"):
        queries.run("overdue-hazards", session, industry="coal")
    with pytest.raises(UsageError, match="limit applies to the ranking"):
        queries.run("official-exposure", session, person="PX-KHEAD", limit=3)


def test_unknown_ids_are_not_found(session):
    for name, params, message in [
        ("overdue-hazards", {"jurisdiction": "XX"}, "unknown jurisdiction 'XX'"),
        ("official-exposure", {"person": "nobody"}, "unknown person 'nobody'"),
        ("who-held", {"post": "NO-POST"}, "unknown post 'NO-POST'"),
        ("chain", {"hazard": "H99"}, "unknown hazard 'H99'"),
    ]:
        with pytest.raises(NotFound, match=message):
            queries.run(name, session, **params)


def test_python_values_are_accepted_and_dates_default_to_today(session):
    import datetime as dt

    from accountability.dates import today

    assert rows(session, "overdue-hazards", as_of=dt.date(2026, 6, 1), jurisdiction="K") == [H5_OVERDUE, H1_OVERDUE]
    with queries.run("overdue-hazards", session) as result:
        assert result.params == {"jurisdiction": None, "industry": None, "as_of": today()}


def test_industries_added_by_the_dataset_are_accepted(tmp_path):
    data = audit_data()
    data["industries"] = [{"code": "ports", "name_zh": "港口", "name_en": "Ports"}]
    data["hazards"].append(scenario.hazard("H8", "ports", "K", found_on="2026-01-01", deadline="2026-02-01"))
    with SQLiteStore(tmp_path / "x.db") as store:
        store.write(load(scenario.write(data, tmp_path)))
        with Session(store) as s:
            assert [r["hazard_id"] for r in rows(s, "overdue-hazards", as_of=ON, industry="ports")] == ["H8"]


def test_run_without_a_session_opens_the_default_store_and_closes_it(store_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store_path))
    result = queries.run("overdue-hazards", as_of=ON, jurisdiction="K")
    assert [r["hazard_id"] for r in result] == ["H5", "H1"]
    assert result._close is None  # closed once the rows ran out
    with queries.run("overdue-hazards", as_of=ON) as result:
        next(iter(result))
    assert result._close is None  # closed by the context manager, rows left unread


def test_catalog_lists_every_query_with_labels():
    names = [q.name for q in queries.catalog()]
    assert names == ["overdue-hazards", "official-exposure", "who-held", "regulatory-gaps", "handover-risk",
                     "unescalated-major", "chain", "missed-inspections", "false-closures", "exemptions",
                     "duty-on", "duty-gaps"]
    d = queries.get("who-held").as_dict("en")
    assert d["title"] == "Who held the post"
    assert [p["name"] for p in d["parameters"]] == ["post", "role", "jurisdiction", "scope", "as_of", "start", "end"]
    assert d["outputs"]["default"]["columns"][0] == {"name": "post_id", "label": "Post"}


# -- the catalog file ------------------------------------------------------------------------------------------


def broken_catalog(tmp_path, change) -> str:
    data = yaml.safe_load(queries.CATALOG_PATH.read_text(encoding="utf-8"))
    change(data["queries"])
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("change, key, reason", [
    (lambda q: q["chain"]["parameters"]["hazard"].update(type="incident"),
     "queries.chain.parameters.hazard.type", "expected one of jurisdiction, date"),
    (lambda q: q["who-held"]["title"].pop("en"), "queries.who-held.title.en", "expected a non-empty text"),
    (lambda q: q["who-held"]["parameters"]["scope"].update(default="all"),
     "queries.who-held.parameters.scope.default", "'all' is not one of subtree, own"),
    (lambda q: q["regulatory-gaps"]["parameters"]["kind"].update(vocabulary="gaps"),
     "queries.regulatory-gaps.parameters.kind.vocabulary", "unknown vocabulary 'gaps'"),
    (lambda q: q["regulatory-gaps"]["parameters"]["kind"].update(values=["no_regulator", "leak"]),
     "queries.regulatory-gaps.parameters.kind.values", "'leak' is not a code of vocabulary gap_kinds"),
    (lambda q: q["chain"]["parameters"]["hazard"].update(default="H1"),
     "queries.chain.parameters.hazard.default", "a required parameter has no default"),
    (lambda q: q["chain"]["parameters"]["end"].update(aliases=["start"]),
     "queries.chain.parameters.end", "the name 'start' is used twice"),
    (lambda q: q["overdue-hazards"]["parameters"]["as_of"].update(default="yesterday"),
     "queries.overdue-hazards.parameters.as_of.default", "not a date"),
    (lambda q: q["official-exposure"]["parameters"]["limit"].update(min="one"),
     "queries.official-exposure.parameters.limit.min", "only an int parameter takes an integer min"),
    (lambda q: q["chain"]["columns"]["gap"].update(en="Hazard"), "queries.chain.columns", "the en label 'Hazard'"),
    (lambda q: q["chain"].update(colums={}), "queries.chain.colums", "unknown field"),
    (lambda q: q.update({"Bad Name": q["chain"]}), "queries.Bad Name", "kebab-case"),
    (lambda q: q["official-exposure"].pop("outputs"), "queries.official-exposure.outputs",
     "the implementation produces output 'ranking'"),
    (lambda q: q.pop("chain"), "queries", "missing query 'chain'"),
    (lambda q: q.update({"extra-query": copy.deepcopy(q["chain"])}), "queries.extra-query", "no implementation"),
])
def test_a_broken_catalog_names_the_file_and_the_key(tmp_path, change, key, reason):
    path = broken_catalog(tmp_path, change)
    with pytest.raises(InvalidSchema) as err:
        queries._check_implementations(queries.load_catalog(path), queries.Path(path))
    assert str(err.value).startswith(f"queries.yaml: {key}: "), str(err.value)
    assert reason in str(err.value)


def test_the_catalog_file_that_ships_is_valid():
    catalog = queries.load_catalog()
    queries._check_implementations(catalog, queries.CATALOG_PATH)
    assert list(catalog) == [q.name for q in queries.catalog()]


# -- the CLI --------------------------------------------------------------------------------------------------------


def test_cli_lists_the_queries_in_both_languages():
    zh = cli("query", "--list")
    assert zh.exit_code == 0, zh.output
    assert zh.output.splitlines()[0].split() == ["名称", "标题", "参数"]
    assert re.search(r"^overdue-hazards +逾期未整改隐患 ", zh.output, re.M)
    assert re.search(r"^missed-inspections +检查失察 ", zh.output, re.M)
    en = cli("query", "--list", "--lang", "en", "--format", "json")
    assert en.exit_code == 0
    assert [q["title"] for q in orjson.loads(en.output)][:2] == ["Overdue hazards", "Officials' exposure"]


def test_cli_describes_a_query():
    result = cli("query", "who-held", "--describe", "--lang", "en")
    assert result.exit_code == 0
    assert "start|from (date): first day of the period" in result.output
    assert "  person_id: Person" in result.output


def test_cli_runs_a_query_in_every_format(store_path):
    base = ["query", "overdue-hazards", "--param", "jurisdiction=K", "-p", "as_of=" + ON, "--store", str(store_path)]
    as_json = cli(*base, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert orjson.loads(as_json.output) == [H5_OVERDUE, H1_OVERDUE]
    jsonl = cli(*base, "--format", "jsonl")
    assert [orjson.loads(line) for line in jsonl.output.splitlines()] == [H5_OVERDUE, H1_OVERDUE]
    csv = cli(*base, "--format", "csv")
    assert csv.output.splitlines() == [
        ("hazard_id,description,industry,level,jurisdiction_id,organization_id,found_on,deadline,days_overdue,"
         "escalated_on,principals,person_ids"),
        ("H5,隐患H5,urban_gas,major,K,,2026-01-15,2026-02-01,120,2026-01-20,"
         "东湖区住房和城乡建设局局长: 接任局长;区长: 代理区长;东湖区委书记: 人员09,PX-KHOUSING;PX-KHEAD;PE-K-SEC"),
        ("H1,隐患H1,urban_gas,general,T,E1,2026-01-01,2026-03-01,92,,总经理: 人员28;东湖区住房和城乡建设局局长: 接任局长;"
         "区长: 代理区长;东湖区委书记: 人员09;镇长: —;青石镇委书记: 人员13,PE-E1-GM;PX-KHOUSING;PX-KHEAD;PE-K-SEC;PE-T-SEC"),
    ]
    table = cli(*base, "--lang", "en")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert re.split(r"\s{2,}", lines[0])[:5] == ["Hazard", "Description", "Industry", "Level", "Jurisdiction"]
    assert re.split(r"\s{2,}", lines[2])[:5] == ["H5", "隐患H5", "urban_gas", "major", "K"]
    zh = cli(*base)
    assert zh.output.splitlines()[0].startswith("隐患编号  隐患描述  行业领域")


def test_cli_writes_a_file(store_path, tmp_path):
    out = tmp_path / "gaps.csv"
    result = cli("query", "regulatory-gaps", "-p", "as_of=" + ON, "--store", str(store_path), "--format", "csv",
                 "-o", str(out))
    assert result.exit_code == 0 and result.output == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "kind,jurisdiction_id,industry,organization_id,post_id,post_title,hazards,hazard_ids"
    assert lines[1] == "vacant_post,T,,T-GOV,T-HEAD,镇长,3,H1;H2;H3"
    assert len(lines) == 7


@pytest.mark.parametrize("args, code, message", [
    (["query", "nope"], 2, "error: unknown query 'nope'; the queries are: overdue-hazards"),
    (["query"], 2, "error: give a query NAME or --list"),
    (["query", "chain"], 2, "error: chain: missing parameter 'hazard'"),
    (["query", "chain", "-p", "hazard"], 2, "error: --param 'hazard': expected NAME=VALUE"),
    (["query", "chain", "-p", "hazard=H1", "-p", "hazard=H2"], 2, "error: --param hazard given twice"),
    (["query", "overdue-hazards", "-p", "as_of=June"], 2, "error: overdue-hazards: as_of: 'June' is not a date"),
    (["query", "overdue-hazards", "-p", "colour=red"], 2, "error: overdue-hazards: unknown parameter 'colour'"),
    (["query", "--list", "chain"], 2, "error: --list takes no query name"),
    (["query", "chain", "-p", "hazard=H99"], 1, "error: unknown hazard 'H99'"),
    (["query", "who-held", "-p", "post=K-HEAD", "-p", "role=party_secretary"], 2, "error: who-held: give post or role"),
])
def test_cli_errors_and_exit_codes(store_path, args, code, message):
    result = cli(*args, "--store", str(store_path))
    assert result.exit_code == code, result.output
    assert message in result.output


def test_cli_usage_errors_come_before_the_store_is_opened(tmp_path):
    missing = tmp_path / "missing.db"
    result = cli("query", "chain", "--store", str(missing))
    assert result.exit_code == 2 and "missing parameter 'hazard'" in result.output
    result = cli("query", "chain", "-p", "hazard=H1", "--store", str(missing))
    assert result.exit_code == 1 and "store not found" in result.output
    assert not missing.exists()


# -- the conduct queries (reference-v2) ----------------------------------------------------------------------------
#
# The audit scenario on 2026-06-01 with conduct records, traced under reference-v2:
# - inspections: X1 of E1 on 2026-02-10 by K-HOUSING-HEAD, no findings (misses H1 and H6, found 2026-01-01);
#   X2 of E2 on 2026-03-05 by K-EM-HEAD lists the major H2 without an order (found and not handled); X3 of E2
#   on 2026-03-10 by C-EM-HEAD orders H2's rectification (exempts PE-C-EM-HEAD); X4 of E3 on 2026-05-20 by
#   K-HOUSING-HEAD (held by PX-KHOUSING since 04-01) misses H3; X5 of E1 on 2025-12-01, before its hazards;
# - H1: an order by K-HOUSING-HEAD on 2026-04-15 (exempts PX-KHOUSING, whose tenure has no act against it);
# - H6: signed off by K-HOUSING-HEAD on 2026-04-01 (PX-KHOUSING's first day), reopened on 2026-05-10, so
#   unresolved again although its row says closed; H8 (new, at E1): signed off on 2026-02-01 (PE-K-HOUSING-HEAD),
#   relapsed on re-inspection on 2026-03-01, closed again on 2026-05-25;
# - H3 is also a special-equipment hazard; T-HEAD, vacant since 05-01, is held by PX-THEAD from 2026-05-20
#   (12 days before the date: no conditions to perform).

from accountability.access import User  # noqa: E402
from accountability.errors import AccessDenied  # noqa: E402

V2 = "reference-v2"
KH = ("K-HOUSING-HEAD", "东湖区住房和城乡建设局局长")


def conduct_data() -> dict:
    data = audit_data()
    data["hazards"].append(scenario.hazard("H8", "urban_gas", "T", "E1", found_on="2026-01-05", deadline="2026-03-01",
                                           status="closed", closed_on="2026-05-25"))
    next(h for h in data["hazards"] if h["id"] == "H3")["also_industries"] = "special_equipment"
    data["people"].append({"id": "PX-THEAD", "name": "新任镇长"})
    data["tenures"].append({"person_id": "PX-THEAD", "post_id": "T-HEAD", "start": "2026-05-20", "end": "",
                            "acting": "false"})

    def inspection(iid, org, on, post, outcome, hazards=""):
        return {"id": iid, "organization_id": org, "on": on, "post_id": post, "outcome": outcome, "hazard_ids": hazards}

    data["inspections"] = [
        inspection("X1", "E1", "2026-02-10", "K-HOUSING-HEAD", "no_findings"),
        inspection("X2", "E2", "2026-03-05", "K-EM-HEAD", "hazards_found", "H2"),
        inspection("X3", "E2", "2026-03-10", "C-EM-HEAD", "order_issued", "H2"),
        inspection("X4", "E3", "2026-05-20", "K-HOUSING-HEAD", "no_findings"),
        inspection("X5", "E1", "2025-12-01", "K-HOUSING-HEAD", "no_findings"),
    ]
    data["events"] += [
        {"hazard_id": "H1", "on": "2026-04-15", "kind": "order_issued", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H6", "on": "2026-04-01", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H6", "on": "2026-05-10", "kind": "reopened", "post_id": "K-EM-HEAD"},
        {"hazard_id": "H8", "on": "2026-02-01", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H8", "on": "2026-03-01", "kind": "reinspected", "post_id": "C-HOUSING-HEAD", "outcome": "relapsed"},
        {"hazard_id": "H8", "on": "2026-05-25", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
    ]
    return data


@pytest.fixture(scope="module")
def conduct_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conduct")
    path = folder / "conduct.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(conduct_data(), folder)))
    return path


@pytest.fixture
def v2_session(conduct_path):
    with Session(str(conduct_path), rules=V2, readonly=True) as s:
        yield s


def missed(hid, industry, level, jid, org, iid, on, outcome, failure, post, title, by, duty, people, names):
    return {"hazard_id": hid, "industry": industry, "level": level, "jurisdiction_id": jid, "organization_id": org,
            "inspection_id": iid, "inspected_on": on, "outcome": outcome, "failure": failure, "post_id": post,
            "post_title": title, "inspecting_organization_id": by, "duty": duty, "person_ids": people, "names": names}


MISSED_H1 = missed("H1", "urban_gas", "general", "T", "E1", "X1", "2026-02-10", "no_findings", "missed", *KH,
                   "K-HOUSING", SEC, ["PE-K-HOUSING-HEAD"], ["人员26"])
MISSED_H2 = missed("H2", "hazardous_chemicals", "major", "T", "E2", "X2", "2026-03-05", "hazards_found", "not_handled",
                   "K-EM-HEAD", "东湖区应急管理局局长", "K-EM", COMP, ["PE-K-EM-HEAD"], ["人员25"])
MISSED_H3 = missed("H3", "construction", "general", "V", "E3", "X4", "2026-05-20", "no_findings", "missed", *KH,
                   "K-HOUSING", SEC, ["PX-KHOUSING"], ["接任局长"])
MISSED_H6 = dict(MISSED_H1, hazard_id="H6")


def test_missed_inspections_one_row_per_inspection_held_by_whoever_held_the_post_that_day(v2_session):
    # X5 came before the hazards began; X3 ordered the rectification; H8 was closed on X1's day and is now
    with queries.run("missed-inspections", v2_session, as_of=ON) as result:
        got = list(result)
        assert all(list(r) == result.columns for r in got)
    assert got == [MISSED_H1, MISSED_H2, MISSED_H3, MISSED_H6]


def test_missed_inspections_by_jurisdiction_industry_and_date(v2_session):
    assert rows(v2_session, "missed-inspections", as_of=ON, jurisdiction="V") == [MISSED_H3]
    assert rows(v2_session, "missed-inspections", as_of=ON, industry="hazardous_chemicals") == [MISSED_H2]
    # a hazard's further industries count
    assert rows(v2_session, "missed-inspections", as_of=ON, industry="special_equipment") == [MISSED_H3]
    # on 2026-03-01 H8 had relapsed but was closed when X1 came; X2 and X4 were still to come
    assert rows(v2_session, "missed-inspections", as_of="2026-03-01") == [MISSED_H1, MISSED_H6]


def closure(hid, signed, people, names, reopened, how, unresolved):
    return {"hazard_id": hid, "industry": "urban_gas", "level": "general", "jurisdiction_id": "T",
            "organization_id": "E1", "signed_on": signed, "post_id": KH[0], "post_title": KH[1],
            "signing_organization_id": "K-HOUSING", "duty": SEC, "person_ids": people, "names": names,
            "reopened_on": reopened, "reopening": how, "unresolved": unresolved}


CLOSURE_H6 = closure("H6", "2026-04-01", ["PX-KHOUSING"], ["接任局长"], "2026-05-10", "reopened", True)
CLOSURE_H8 = closure("H8", "2026-02-01", ["PE-K-HOUSING-HEAD"], ["人员26"], "2026-03-01", "relapsed", False)


def test_false_closures_list_every_sign_off_later_reopened_even_when_closed_again(v2_session):
    with queries.run("false-closures", v2_session, as_of=ON) as result:
        got = list(result)
        assert all(list(r) == result.columns for r in got)
    # H8's second sign-off (05-25) held; it is listed for the first, and is no longer unresolved
    assert got == [CLOSURE_H6, CLOSURE_H8]
    assert rows(v2_session, "false-closures", as_of="2026-04-15") == [dict(CLOSURE_H8, unresolved=True)]
    assert rows(v2_session, "false-closures", as_of="2026-02-28") == []  # nothing against the sign-off yet
    assert rows(v2_session, "false-closures", as_of=ON, jurisdiction="K2") == []


def exemption(jid, org, post, title, person, name, status, reasons, hid, duty, degree, rules_):
    return {"jurisdiction_id": jid, "organization_id": org, "post_id": post, "post_title": title, "person_id": person,
            "name": name, "status": status, "reasons": reasons, "hazard_id": hid, "duty": duty, "degree": degree,
            "rules": rules_}


C_EM = ("C", "C-EM", "C-EM-HEAD", "临江市应急管理局局长", "PE-C-EM-HEAD", "人员22", "exempt",
        ["inspection X3 2026-03-10 order_issued"], "H2")
EXEMPT_C = [exemption(*C_EM, COMP, I, ["R3", "R7"]), exemption(*C_EM, SEC, P, ["R2", "R7"])]
EXEMPT_K = [exemption("K", "K-HOUSING", *KH, "PX-KHOUSING", "接任局长", "exempt", ["event order_issued H1 2026-04-15"],
                      "H1", SEC, P, ["R2"])]
NO_CONDITIONS_T = [exemption("T", "T-GOV", "T-HEAD", "镇长", "PX-THEAD", "新任镇长", "no_conditions",
                             ["tenure since 2026-05-20: 12 < 30 days"], hid, TERR, P, ["R6"])
                   for hid in ("H1", "H2", "H3", "H6")]


def test_exemptions_by_the_jurisdiction_of_the_post_with_the_records_cited(v2_session):
    # PE-K-HOUSING-HEAD missed H1 (X1) and signed off H8 falsely: never exempt; PX-KHOUSING's order exempts him
    # on H1 only, and his missed X4 and H6's sign-off fall in his own tenure, on other hazards
    with queries.run("exemptions", v2_session, as_of=ON) as result:
        got = list(result)
        assert all(list(r) == result.columns for r in got)
    assert got == EXEMPT_C + EXEMPT_K + NO_CONDITIONS_T
    assert rows(v2_session, "exemptions", as_of=ON, jurisdiction="K") == EXEMPT_K + NO_CONDITIONS_T
    assert rows(v2_session, "exemptions", as_of=ON, status="exempt") == EXEMPT_C + EXEMPT_K
    # on the day of the order PX-KHOUSING had held the post for 14 days: exempt on H1 (exempt comes first), no
    # conditions to perform on the other hazards of his post unresolved that day (H6 was closed, H8 relapsed)
    brief = ["tenure since 2026-04-01: 14 < 30 days"]
    assert rows(v2_session, "exemptions", as_of="2026-04-15", jurisdiction="K") == EXEMPT_K + [
        exemption("K", "K-HOUSING", *KH, "PX-KHOUSING", "接任局长", "no_conditions", brief, hid, SEC, P, ["R2"])
        for hid in ("H3", "H5", "H8")]
    with pytest.raises(UsageError, match="'accountable' is not one of exempt, no_conditions"):
        rows(v2_session, "exemptions", status="accountable")


def test_a_scoped_user_sees_only_the_conduct_in_their_scope(conduct_path):
    with Session(str(conduct_path), rules=V2, readonly=True, user=User("v1", "auditor", "V")) as s:
        assert rows(s, "missed-inspections", as_of=ON) == [MISSED_H3]
        assert rows(s, "false-closures", as_of=ON) == []
        assert rows(s, "exemptions", as_of=ON) == []  # T-HEAD sits above the village
        with pytest.raises(AccessDenied):
            rows(s, "missed-inspections", as_of=ON, jurisdiction="T")
    with Session(str(conduct_path), rules=V2, readonly=True, user=User("k1", "auditor", "K")) as s:
        # the city's department answers for H2, but its exemption is the city's, not K's
        assert rows(s, "exemptions", as_of=ON) == EXEMPT_K + NO_CONDITIONS_T
        assert rows(s, "false-closures", as_of=ON) == [CLOSURE_H6, CLOSURE_H8]
        with pytest.raises(AccessDenied):
            rows(s, "exemptions", as_of=ON, jurisdiction="C")


def test_conduct_queries_return_no_rows_under_reference_v1(conduct_path):
    with Session(str(conduct_path), rules="reference-v1", readonly=True) as s:
        for name in ("missed-inspections", "false-closures", "exemptions"):
            assert rows(s, name, as_of=ON) == [], name
            assert "reference-v1" in queries.get(name).description["en"]
            assert "reference-v1" in queries.get(name).description["zh"]


def test_conduct_queries_answer_the_same_on_every_store(any_store, tmp_path):
    any_store.write(load(scenario.write(conduct_data(), tmp_path)))
    s = Session(any_store, rules=V2)
    assert rows(s, "missed-inspections", as_of=ON) == [MISSED_H1, MISSED_H2, MISSED_H3, MISSED_H6]
    assert rows(s, "false-closures", as_of=ON) == [CLOSURE_H6, CLOSURE_H8]
    assert rows(s, "exemptions", as_of=ON) == EXEMPT_C + EXEMPT_K + NO_CONDITIONS_T


def test_cli_runs_the_conduct_queries_under_the_ruleset_given(conduct_path):
    base = ["query", "false-closures", "-p", "as_of=" + ON, "--store", str(conduct_path), "--format", "csv"]
    v2 = cli(*base, "--rules", V2)
    assert v2.exit_code == 0, v2.output
    assert v2.output.splitlines() == [
        ("hazard_id,industry,level,jurisdiction_id,organization_id,signed_on,post_id,post_title,"
         "signing_organization_id,duty,person_ids,names,reopened_on,reopening,unresolved"),
        "H6,urban_gas,general,T,E1,2026-04-01,K-HOUSING-HEAD,东湖区住房和城乡建设局局长,K-HOUSING,sector_supervision,"
        "PX-KHOUSING,接任局长,2026-05-10,reopened,true",
        "H8,urban_gas,general,T,E1,2026-02-01,K-HOUSING-HEAD,东湖区住房和城乡建设局局长,K-HOUSING,sector_supervision,"
        "PE-K-HOUSING-HEAD,人员26,2026-03-01,relapsed,false",
    ]
    v1 = cli(*base, "--rules", "reference-v1")
    assert v1.exit_code == 0 and len(v1.output.splitlines()) == 1
    as_json = cli("query", "exemptions", "-p", "as_of=" + ON, "-p", "status=exempt", "--store", str(conduct_path),
                  "--rules", V2, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert orjson.loads(as_json.output) == EXEMPT_C + EXEMPT_K
