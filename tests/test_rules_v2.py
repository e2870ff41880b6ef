"""Reference rules v2 on the hand-built scenario (tests/scenario.py): one test per rule, tier and boundary,
with the exact links expected (DESIGN.md, "Reference rules v2" and its "resolved readings")."""

from __future__ import annotations

import json

import pytest

import scenario
from test_trace import COMP, ENT, H1_BASE, SEC, TERR, D, I, P, _incident, links, own, refused_ruleset

V2 = "reference-v2"


def v2(make_session, data: dict | None = None):
    return make_session(data or scenario.base(), rules=V2)


def by_post(chain, escalated: bool | None = None) -> dict:
    return {link.post_id: link for link in chain.links
            if link.act is None and (escalated is None or link.escalated == escalated)}


def acts(chain) -> set:
    return {(link.post_id, link.act, link.duty, link.degree) for link in chain.links if link.act is not None}


def status(link) -> dict:
    return {h.person_id: h.assessment[0] for h in link.holders}


def person(data: dict, pid: str, post: str, start: str, end: str = "", acting: str = "false") -> None:
    data["people"].append({"id": pid, "name": f"新人{pid}"})
    data["tenures"].append({"person_id": pid, "post_id": post, "start": start, "end": end, "acting": acting})


def end_tenure(data: dict, post: str, end: str) -> None:
    for t in data["tenures"]:
        if t["post_id"] == post and not t["end"]:
            t["end"] = end


# -- the chain of a plain hazard --------------------------------------------------------------------------------


def test_a_plain_hazard_keeps_v1_s_links_each_with_evidence_and_an_assessment(make_session):
    s = v2(make_session)
    chain = s.trace("H1", as_of="2026-02-01")
    assert links(chain) == H1_BASE and chain.gaps == []
    for link in chain.links:
        assert link.evidence == ()
        assert [h.assessment for h in link.holders] == [("accountable", ())]
    out = chain.as_dict(s.ruleset)
    assert out["links"][0]["evidence"] == []
    assert out["links"][0]["holders"][0]["assessment"] == {"status": "accountable", "reasons": []}


def test_reference_v1_output_has_no_v2_keys(make_session):
    s = make_session(rules="reference-v1")
    text = json.dumps(s.trace("H1", as_of="2026-02-01").as_dict(s.ruleset))
    assert '"evidence"' not in text and '"assessment"' not in text


def test_a_dataset_s_own_industry_is_named_in_the_sentences(make_session):
    """The dataset's ``industries`` table extends the vocabulary: a hazard of its industry "ports" reads 港口
    / ports in the explanation, not the code. reference-v1 keeps its answers (the code), byte for byte."""
    data = scenario.base()
    data["industries"] = [{"code": "ports", "name_zh": "港口", "name_en": "Ports"}]
    next(o for o in data["organizations"] if o["id"] == "K-HOUSING")["industries"] += ";ports"
    data["hazards"].append(scenario.hazard("H8", "ports", "K", found_on="2026-01-01", deadline="2026-02-01"))
    v2_chain = v2(make_session, data).trace("H8", as_of="2026-03-01")
    sector = by_post(v2_chain)["K-HOUSING-HEAD"]
    assert "监管东湖区港口行业" in sector.explanation["zh"] and "regulates ports in" in sector.explanation["en"]
    # named mid-sentence in lower case, as English does (v1 keeps its capitals)
    assert sector.explanation["en"].endswith("bears principal leadership responsibility under sector supervision "
                                             "responsibility.")
    v1_chain = make_session(data, rules="reference-v1").trace("H8", as_of="2026-03-01")
    assert "监管东湖区ports行业" in next(l for l in v1_chain.links if l.post_id == "K-HOUSING-HEAD").explanation["zh"]


def test_an_unknown_ruleset_name_lists_the_known_ones(make_session):
    from graph_schema import InvalidSchema

    with pytest.raises(InvalidSchema, match="known: reference-v1, reference-v2"):
        make_session(rules="reference-v9")


@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["assessment_basis"].update(blamed=["dzts_23"]), "assessment_basis: unknown assessment status 'blamed'"),
    (lambda r: r["assessment_basis"].update(exempt=["dzts_99"]), "assessment_basis.exempt: unknown citation 'dzts_99'"),
    (lambda r: r["assessment_basis"].update(exempt="dzts_23"), "assessment_basis.exempt: expected a list"),
    (lambda r: r["assessment_basis"].update(exempt=[["dzts_23"]]), "assessment_basis.exempt: expected a list"),
    (lambda r: r.update(assessment_basis=["dzts_23"]), "assessment_basis: expected a mapping"),
    (lambda r: r.update(generation=1, conduct=[]), "assessment_basis: assessments need generation 2"),
    # a variant's own sentence is checked as a rule's
    (lambda r: next(c for c in r["conduct"] if c["id"] == "R12")["variants"]["duty_officer"]["explain"].update(
        zh="{salary}"), r"conduct\[3\].variants.duty_officer.explain.zh: unknown template field '\{salary\}'"),
    (lambda r: next(c for c in r["conduct"] if c["id"] == "R12")["variants"]["duty_officer"].update(explain="值班"),
     r"conduct\[3\].variants.duty_officer.explain: expected zh and en templates"),
])
def test_a_broken_assessment_basis_fails_loudly_with_file_and_key(make_session, tmp_path, mutate, message):
    refused_ruleset(make_session, tmp_path, "reference-v2", mutate, message)


def test_reference_v2_rests_exemption_on_art_23_and_conditions_on_art_25(make_session):
    """The report's sections shown apart cite these (tests/test_reports.py: the citations of incident A1)."""
    s = make_session()
    assert s.ruleset.assessment_basis == {"exempt": ("dzts_23",), "no_conditions": ("dzts_25",)}
    assert "第二十三条" in s.ruleset.citation("dzts_23") and "第二十五条" in s.ruleset.citation("dzts_25")


# -- rules 1a, 1b, 1c --------------------------------------------------------------------------------------------


def test_actual_controller_other_units_and_the_controlling_enterprise(make_session):
    data = scenario.base()
    data["posts"].append({"id": "E1-AC", "title": "实际控制人", "organization_id": "E1", "role": "actual_controller"})
    person(data, "PE-AC", "E1-AC", "2020-01-01")
    data["organizations"].append({"id": "E4", "name": "青石控股集团", "kind": "enterprise", "jurisdiction_id": "K"})
    data["posts"].append({"id": "E4-GM", "title": "董事长", "organization_id": "E4", "role": "enterprise_principal"})
    person(data, "PE-E4", "E4-GM", "2020-01-01")
    next(o for o in data["organizations"] if o["id"] == "E1")["controlled_by"] = "E4"
    data["hazards"][0]["other_organization_ids"] = "E3"
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    got = by_post(chain)
    assert (got["E1-AC"].rules, got["E1-AC"].duty, got["E1-AC"].degree) == (("R1a",), ENT, P)
    assert (got["E4-GM"].rules, got["E4-GM"].duty, got["E4-GM"].degree) == (("R1c",), ENT, I)
    assert (got["E3-SM"].rules, got["E3-SM"].degree) == (("R1b",), D)
    assert {"kind": "no_principal", "organization_id": "E3"} in chain.gaps  # the other unit has no principal


# -- rule 2b and several industries ------------------------------------------------------------------------------


def test_a_department_deputy_in_charge_of_the_industry_the_unit_or_everything(make_session):
    data = scenario.base()
    for pid, portfolio in (("K-HOUSING-D1", {"industry": "urban_gas"}), ("K-HOUSING-D2", {"organization_id": "E1"}),
                           ("K-HOUSING-D3", {"industry": "*"}), ("K-HOUSING-D4", {"organization_id": "K-HOUSING"}),
                           ("K-HOUSING-D5", {"industry": "construction"})):
        data["posts"].append({"id": pid, "title": "副局长", "organization_id": "K-HOUSING",
                              "role": "deputy_department_head"})
        person(data, f"PE-{pid}", pid, "2020-01-01")
        data["portfolios"].append({"post_id": pid, "start": "2020-01-01", **portfolio})
    got = by_post(v2(make_session, data).trace("H1", as_of="2026-02-01"))
    deputies = {p: (l.rules, l.duty, l.degree) for p, l in got.items() if p.startswith("K-HOUSING-D")}
    assert deputies == {p: (("R2b",), SEC, I) for p in ("K-HOUSING-D1", "K-HOUSING-D2", "K-HOUSING-D3")}


def test_a_hazard_of_two_industries_is_traced_for_each(make_session):
    data = scenario.base()
    data["hazards"][0]["also_industries"] = "hazardous_chemicals"
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    em = {(l.duty, l.degree, l.rules) for l in chain.links if l.post_id == "K-EM-HEAD"}
    assert em == {(SEC, P, ("R2",)), (COMP, I, ("R3",))}  # the chemicals regulator, and comprehensive as before
    assert links(chain) >= H1_BASE


# -- rule 6: every level below R ---------------------------------------------------------------------------------


def test_every_level_between_a_village_and_a_city_regulator_answers(make_session):
    data = scenario.base()
    data["hazards"].append(scenario.hazard("H2", "forest_fire", "V", found_on="2026-01-01"))
    chain = v2(make_session, data).trace("H2", as_of="2026-02-01")
    got = by_post(chain)
    assert {p for p, l in got.items() if "R6" in l.rules} == {"T-SEC", "T-HEAD", "K-SEC", "K-HEAD"}
    assert got["K-HEAD"].path == ("V", "T", "K", "K-GOV", "K-HEAD")
    assert got["C-FOREST-HEAD"].rules == ("R2",)
    v1 = make_session(data, rules="reference-v1").trace("H2", as_of="2026-02-01")
    assert "K-HEAD" not in {l.post_id for l in v1.links}


# -- rule 7: the calibrated reach -------------------------------------------------------------------------------


def test_a_major_hazard_reaches_the_city_without_its_party_secretary(make_session):
    data = scenario.base()
    data["hazards"][0]["level"] = "major"
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    up = by_post(chain, escalated=True)
    assert set(up) == {"C-HOUSING-HEAD", "C-EM-HEAD", "C-DEP", "C-EXEC", "C-HEAD"}
    assert all(set(l.rules) >= {"R7"} for l in up.values())
    assert {"kind": "unescalated_major", "hazard_id": "H1"} in chain.gaps


def test_escalation_never_reaches_the_provincial_leaders(make_session):
    data = scenario.base()
    data["hazards"].append(scenario.hazard("H2", "forest_fire", "K2", level="major", found_on="2026-01-01"))
    up = by_post(v2(make_session, data).trace("H2", as_of="2026-02-01"), escalated=True)
    assert set(up) == {"P-EM-HEAD", "P-EXEC"}  # R3 and R4 at the province; its governor and secretary spared
    v1 = by_post(make_session(data, rules="reference-v1").trace("H2", as_of="2026-02-01"), escalated=True)
    assert {"P-HEAD", "P-SEC"} <= set(v1)


def test_an_escalated_tier_reports_its_vacant_posts(make_session):
    data = scenario.base()
    data["hazards"][0]["level"] = "major"
    data["tenures"] = [t for t in data["tenures"] if t["post_id"] != "C-HEAD"]
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    assert by_post(chain, escalated=True)["C-HEAD"].holders == ()
    assert any(g["kind"] == "vacant_post" and g["post_id"] == "C-HEAD" for g in chain.gaps)


# -- rule 8: tier by tier ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("deaths, investigating, expected", [
    (1, None, set()),
    (3, None, {"C-HOUSING-HEAD"}),  # the city investigates: its sector department only
    (10, None, {"C-HOUSING-HEAD", "C-EM-HEAD", "C-DEP", "C-EXEC", "C-HEAD"}),  # second tier; P investigates
    (30, None, {"C-HOUSING-HEAD", "C-EM-HEAD", "C-DEP", "C-EXEC", "C-HEAD", "P-EM-HEAD", "P-EXEC"}),
    (3, "province", {"C-HOUSING-HEAD", "C-EM-HEAD", "C-DEP", "C-EXEC", "C-HEAD"}),  # raised investigation
])
def test_an_incident_reaches_tier_by_tier(make_session, deaths, investigating, expected):
    data = scenario.base()
    data["incidents"] = [_incident(deaths=deaths, investigating_level=investigating or "")]
    result = v2(make_session, data).incident("I1")
    assert set(by_post(result, escalated=True)) == expected
    assert all("R8" in l.rules for l in result.links if l.escalated)
    assert not any(l.post_id in ("P-SEC", "P-HEAD", "C-SEC") for l in result.links)


def test_in_an_incident_a_township_regulator_lifts_the_county_to_the_first_tier(make_session):
    data = scenario.base()
    data["organizations"].append({"id": "T-SAFE", "name": "青石镇安监办", "kind": "department", "jurisdiction_id": "T",
                                  "industries": "urban_gas", "supervision": "sector"})
    data["posts"].append({"id": "T-SAFE-HEAD", "title": "主任", "organization_id": "T-SAFE", "role": "department_head"})
    person(data, "PE-TS", "T-SAFE-HEAD", "2020-01-01")
    data["incidents"] = [_incident(deaths=3)]
    result = v2(make_session, data).incident("I1")
    assert by_post(result)["T-SAFE-HEAD"].rules == ("R2",)
    up = by_post(result, escalated=True)
    # K is T: rules 2, 2b, 3, 4, 5 in full; C investigates above T: rules 2 and 2b only
    assert {"K-HOUSING-HEAD", "K-EM-HEAD", "K-DEP", "K-EXEC", "K-SEC", "K-HEAD", "C-HOUSING-HEAD"} == set(up)


def test_a_hazard_found_on_the_day_of_the_incident_was_unregistered(make_session):
    data = scenario.base()
    data["hazards"].append(scenario.hazard("H2", "urban_gas", "T", "E1", found_on="2026-06-01"))
    data["incidents"] = [_incident(hazard_ids="H1;H2")]
    gaps = v2(make_session, data).incident("I1").gaps
    assert {"kind": "unregistered_hazard", "hazard_id": "H2", "found_on": "2026-06-01"} in gaps
    assert not any(g.get("hazard_id") == "H1" and g["kind"] == "unregistered_hazard" for g in gaps)


def test_an_incident_window_starts_when_its_hazard_began(make_session):
    data = scenario.base()
    data["hazards"][0]["existed_since"] = "2025-09-01"
    data["incidents"] = [_incident(hazard_ids="H1")]
    assert v2(make_session, data).incident("I1").window.start == "2025-09-01"


# -- rule 9: designations --------------------------------------------------------------------------------------


def test_designated_posts_answer_with_their_designation_as_evidence(make_session):
    data = scenario.base()
    data["designations"] = [
        {"post_id": "C-DEP", "kind": "supervising_leader", "target_id": "H1", "start": "2026-01-15", "end": ""},
        {"post_id": "C-FOREST-HEAD", "kind": "grid_inspector", "target_id": "T", "start": "2025-01-01",
         "end": "2025-12-31"},
        {"post_id": "K2-DEP", "kind": "grid_inspector", "target_id": "E1", "start": "2026-01-01", "end": ""},
    ]
    s = v2(make_session, data)
    got = by_post(s.trace("H1", as_of="2026-02-01"))
    assert (got["C-DEP"].duty, got["C-DEP"].degree, got["C-DEP"].rules) == (TERR, I, ("R9",))
    assert got["C-DEP"].evidence == ({"kind": "designation", "post_id": "C-DEP", "designation": "supervising_leader",
                                      "target_id": "H1", "date": "2026-01-15"},)
    assert (got["K2-DEP"].duty, got["K2-DEP"].degree) == (SEC, D)
    assert "C-FOREST-HEAD" not in got  # designated for a period that had ended
    assert "C-DEP" not in by_post(s.trace("H1", as_of="2026-01-14"))


# -- rule 10: inspected and missed ------------------------------------------------------------------------------


def _inspection(iid: str, on: str, post: str = "K-HOUSING-HEAD", outcome: str = "no_findings", hazards: str = "",
                org: str = "E1") -> dict:
    return {"id": iid, "organization_id": org, "on": on, "post_id": post, "outcome": outcome, "hazard_ids": hazards}


def test_an_inspection_that_did_not_record_the_hazard_is_its_own_link(make_session):
    data = scenario.base()
    data["hazards"][0]["existed_since"] = "2025-12-01"
    data["inspections"] = [_inspection("X0", "2025-11-30"), _inspection("X1", "2025-12-15"),
                           _inspection("X2", "2026-01-10", post="K-EM-HEAD"), _inspection("X3", "2026-03-01")]
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    assert acts(chain) == {("K-HOUSING-HEAD", ("R10", "2025-12-15"), SEC, D),
                           ("K-EM-HEAD", ("R10", "2026-01-10"), COMP, D)}
    act = next(l for l in chain.links if l.act == ("R10", "2025-12-15"))
    assert act.evidence == ({"kind": "inspection", "id": "X1", "date": "2025-12-15", "outcome": "no_findings"},)
    assert by_post(chain)["K-HOUSING-HEAD"].rules == ("R2",)  # the position link stays apart
    assert "2025-12-15" in act.explanation["zh"] and "did not record the hazard" in act.explanation["en"]


def test_a_major_hazard_found_and_not_handled(make_session):
    data = scenario.base()
    data["hazards"][0]["level"] = "major"
    data["inspections"] = [_inspection("X1", "2026-01-10", outcome="hazards_found", hazards="H1")]
    s = v2(make_session, data)
    assert acts(s.trace("H1", as_of="2026-02-01")) == {("K-HOUSING-HEAD", ("R10", "2026-01-10"), SEC, D)}
    data["events"] = [{"hazard_id": "H1", "on": "2026-01-20", "kind": "order_issued", "post_id": "K-HOUSING-HEAD"}]
    assert acts(v2(make_session, data).trace("H1", as_of="2026-02-01")) == set()


def test_an_act_is_held_by_whoever_held_the_post_that_day(make_session):
    data = scenario.base()
    end_tenure(data, "K-HOUSING-HEAD", "2026-01-15")
    person(data, "PE-NEW", "K-HOUSING-HEAD", "2026-01-16")
    data["inspections"] = [_inspection("X1", "2026-01-10")]
    chain = v2(make_session, data).trace("H1", as_of="2026-06-01")
    act = next(l for l in chain.links if l.act)
    assert [h.person_id for h in act.holders] == ["PE-K-HOUSING-HEAD"]
    assert [h.person_id for h in by_post(chain)["K-HOUSING-HEAD"].holders] == ["PE-NEW"]


# -- rule 11: false closure --------------------------------------------------------------------------------------


def test_a_sign_off_followed_by_a_relapse_is_a_false_closure(make_session):
    data = scenario.base()
    data["events"] = [
        {"hazard_id": "H1", "on": "2026-02-01", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H1", "on": "2026-04-01", "kind": "reinspected", "post_id": "K-EM-HEAD", "outcome": "relapsed"},
    ]
    s = v2(make_session, data)
    assert acts(s.trace("H1", as_of="2026-03-01")) == set()  # closed then: nothing known against it yet
    chain = s.trace("H1", as_of="2026-04-02")
    assert acts(chain) == {("K-HOUSING-HEAD", ("R11", "2026-02-01"), SEC, D)}
    act = next(l for l in chain.links if l.act)
    assert [e["event"] for e in act.evidence] == ["closed", "reinspected"]
    ids = [c.hazard_id for c in s.trace_all(as_of="2026-04-02")]
    assert "H1" in ids and "H1" not in [c.hazard_id for c in s.trace_all(as_of="2026-03-01")]


def test_whether_a_hazard_is_unresolved_reads_its_closures_and_relapses_as_the_ruleset_does(make_session):
    """``Session.unresolved`` (the trace table's heading, the hazard page): v2 reads the events, v1 the row."""
    from accountability.names import Labels

    data = scenario.base()
    data["events"] = [
        {"hazard_id": "H1", "on": "2026-02-01", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H1", "on": "2026-04-01", "kind": "reinspected", "post_id": "K-EM-HEAD", "outcome": "relapsed"},
    ]
    s2, s1 = v2(make_session, data), make_session(data, rules="reference-v1")
    hazard, _ = s2.hazard("H1")  # its row says open
    assert [s2.unresolved(hazard, d) for d in ("2026-01-31", "2026-03-01", "2026-04-01")] == [True, False, True]
    assert s1.unresolved(hazard, "2026-03-01")
    # closed by an event the row does not date: the heading says so without a date
    assert Labels(s2, "en").heading(hazard, ("2026-03-01", "2026-03-01"), False) == \
        "Hazard H1: the chain on 2026-03-01 (not unresolved that day)"


def test_a_reopening_on_the_day_of_the_sign_off_is_not_later(make_session):
    data = scenario.base()
    data["events"] = [
        {"hazard_id": "H1", "on": "2026-02-01", "kind": "closed", "post_id": "K-HOUSING-HEAD"},
        {"hazard_id": "H1", "on": "2026-02-01", "kind": "reopened", "post_id": "K-EM-HEAD"},
    ]
    assert acts(v2(make_session, data).trace("H1", as_of="2026-03-01")) == set()


# -- assessment ---------------------------------------------------------------------------------------------------


def test_a_holder_who_ordered_the_rectification_is_exempt_unless_an_act_stands_against_him(make_session):
    data = scenario.base()
    data["inspections"] = [_inspection("X1", "2026-01-10", outcome="order_issued", hazards="H1")]
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    head = by_post(chain)["K-HOUSING-HEAD"]
    assert head.holders[0].assessment == (
        "exempt", ({"kind": "inspection", "id": "X1", "date": "2026-01-10", "outcome": "order_issued"},))
    assert status(by_post(chain)["K-HEAD"]) == {"PE-K-HEAD": "accountable"}
    data["inspections"].append(_inspection("X2", "2026-01-20"))  # a later visit that missed it (rule 10)
    chain = v2(make_session, data).trace("H1", as_of="2026-02-01")
    assert status(by_post(chain)["K-HOUSING-HEAD"]) == {"PE-K-HOUSING-HEAD": "accountable"}


def test_records_of_a_predecessor_do_not_exempt_the_successor(make_session):
    data = scenario.base()
    end_tenure(data, "K-HOUSING-HEAD", "2026-01-15")
    person(data, "PE-NEW", "K-HOUSING-HEAD", "2026-01-16")
    data["inspections"] = [_inspection("X1", "2026-01-10", outcome="order_issued", hazards="H1")]
    chain = v2(make_session, data).trace("H1", start="2026-01-01", end="2026-06-01")
    assert status(by_post(chain)["K-HOUSING-HEAD"]) == {"PE-K-HOUSING-HEAD": "exempt", "PE-NEW": "accountable"}


@pytest.mark.parametrize("as_of, expected", [("2026-02-18", "no_conditions"), ("2026-02-19", "accountable")])
def test_a_holder_in_post_fewer_than_30_days_had_no_conditions_to_perform(make_session, as_of, expected):
    data = scenario.base()
    end_tenure(data, "K-HEAD", "2026-01-19")
    person(data, "PE-NEW", "K-HEAD", "2026-01-20")
    head = by_post(v2(make_session, data).trace("H1", as_of=as_of))["K-HEAD"]
    assert head.holders[0].assessment[0] == expected
    if expected == "no_conditions":
        assert head.holders[0].assessment[1] == ({"kind": "tenure", "start": "2026-01-20", "days": 29,
                                                  "min_days": 30},)


def test_an_acting_then_substantive_holding_counts_from_its_start(make_session):
    data = scenario.base()
    end_tenure(data, "K-HEAD", "2025-12-31")
    person(data, "PE-NEW", "K-HEAD", "2026-01-01", "2026-01-25", acting="true")
    data["tenures"].append({"person_id": "PE-NEW", "post_id": "K-HEAD", "start": "2026-01-26", "end": "",
                            "acting": "false"})
    head = by_post(v2(make_session, data).trace("H1", as_of="2026-02-05"))["K-HEAD"]
    assert [h.assessment[0] for h in head.holders] == ["accountable"]


def test_over_a_window_a_brief_holder_beside_a_longer_one_had_no_conditions(make_session):
    data = scenario.base()
    end_tenure(data, "K-HEAD", "2026-05-10")
    person(data, "PE-NEW", "K-HEAD", "2026-05-11")
    head = by_post(v2(make_session, data).trace("H1", start="2026-01-01", end="2026-06-01"))["K-HEAD"]
    assert status(head) == {"PE-K-HEAD": "accountable", "PE-NEW": "no_conditions"}


def test_the_demo_county_traces_under_both_rulesets(small_demo_store):
    from accountability.session import Session

    with Session(str(small_demo_store), rules=V2, readonly=True) as s:
        chains = list(s.trace_all(as_of="2026-11-28"))  # the demo's today
        assert chains and all(h.assessment for c in chains for l in c.links for h in l.holders)
        assert any(l.act and l.act[0] == "R11" for c in chains for l in c.links)  # the demo's reopened closures


# -- the anchors are one registry --------------------------------------------------------------------------------


def test_the_anchors_a_ruleset_may_name_are_the_registry_s_each_documented():
    from accountability.anchors import ANCHORS
    from graph_schema import loader

    assert set(loader.ANCHORS) == set(ANCHORS)
    for a in ANCHORS.values():
        assert a.find.__doc__ and a.rule and a.context in ("enterprise", "other", "regulator", "township", "below")


# -- batch work shares parts, never an answer ---------------------------------------------------------------------


def test_batch_work_shares_the_parts_of_a_village_its_township_and_a_unit_without_changing_an_answer(make_session):
    """``trace --all`` builds a village's government part from its township's and keeps a unit's designations
    apart from its jurisdiction's side: every chain is the one a trace of that hazard alone gives."""
    data = scenario.base()
    data["hazards"] += [
        scenario.hazard("H2", "forest_fire", "T"),
        scenario.hazard("H3", "forest_fire", "V"),
        scenario.hazard("H4", "tourism", "T"),  # no regulator anywhere: the gap names the hazard's own place
        scenario.hazard("H5", "tourism", "V"),
        scenario.hazard("H6", "construction", "V", "E3"),
        scenario.hazard("H7", "construction", "V", "E3", level="major"),
    ]
    data["designations"] = [
        {"post_id": "K2-DEP", "kind": "grid_inspector", "target_id": "E3", "start": "2026-01-01", "end": ""},
        {"post_id": "C-DEP", "kind": "supervising_leader", "target_id": "H7", "start": "2026-01-15", "end": ""},
    ]
    s = v2(make_session, data)
    batch = {c.hazard_id: c for c in s.trace_all("2026-02-01")}
    assert set(batch) == {"H1", "H2", "H3", "H4", "H5", "H6", "H7"}
    for hid, chain in batch.items():
        alone = v2(make_session, data).trace(hid, as_of="2026-02-01")
        assert chain.as_dict(s.ruleset) == alone.as_dict(s.ruleset), hid
    township, village = by_post(batch["H2"]), by_post(batch["H3"])
    assert set(village) == set(township) and {p: l.path for p, l in village.items()} == \
        {p: ("V",) + l.path for p, l in township.items()}
    assert [g for g in batch["H5"].gaps if g["kind"] == "no_regulator"][0]["jurisdiction_id"] == "V"
    assert [g for g in batch["H4"].gaps if g["kind"] == "no_regulator"][0]["jurisdiction_id"] == "T"
    assert "K2-DEP" in by_post(batch["H6"]) and "C-DEP" not in by_post(batch["H6"])
    assert {"K2-DEP", "C-DEP"} <= set(by_post(batch["H7"]))
