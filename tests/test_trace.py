"""The rules engine on hand-built scenarios under reference-v1: one test per rule and per gap kind, exact
expected links (tests/test_rules_v2.py does the same for reference-v2)."""

from __future__ import annotations

import copy
import random

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenario
from accountability.errors import UsageError
from graph_schema import InvalidSchema

P, I, D = "principal_leadership", "important_leadership", "direct"


@pytest.fixture
def make_session(make_session):
    """The scenario under reference-v1: these tests pin v1's answers (tests/test_rules_v2.py: v2's)."""
    def make(data: dict | None = None, rules: str | None = None):
        return make_session(data, rules or "reference-v1")

    return make
ENT, SEC, COMP, TERR = "enterprise_main", "sector_supervision", "comprehensive_supervision", "territorial_leadership"


def links(chain, with_holders: bool = True) -> set:
    out = set()
    for link in chain.links:
        item = (link.post_id, link.duty, link.degree, link.escalated)
        if with_holders:
            item += (tuple(h.person_id for h in link.holders),)
        out.add(item)
    return out


def own(post: str, duty: str, degree: str, escalated: bool = False) -> tuple:
    """A link whose post is held by its own person of the scenario (PE-<post>)."""
    return (post, duty, degree, escalated, (f"PE-{post}",))


H1_BASE = {
    own("E1-GM", ENT, P), own("E1-SM", ENT, D),
    own("K-HOUSING-HEAD", SEC, P), own("K-EM-HEAD", COMP, I),
    own("K-DEP", TERR, I), own("K-EXEC", TERR, I),
    own("K-SEC", TERR, P), own("K-HEAD", TERR, P),
    own("T-SEC", TERR, P), own("T-HEAD", TERR, P),
}


def test_every_rule_for_a_township_hazard_under_a_county_regulator(make_session):
    chain = make_session().trace("H1", as_of="2026-02-01")
    assert links(chain) == H1_BASE
    assert chain.gaps == []
    by_post = {link.post_id: link for link in chain.links}
    assert by_post["E1-GM"].rules == ("R1",)
    assert by_post["T-SEC"].rules == ("R6",)
    assert by_post["K-HOUSING-HEAD"].path == ("T", "K", "K-HOUSING", "K-HOUSING-HEAD")
    assert by_post["K-SEC"].basis == ("dzts_4",)
    assert "东湖区住房和城乡建设局" in by_post["K-HOUSING-HEAD"].explanation["zh"]
    assert by_post["K-HOUSING-HEAD"].explanation["en"].startswith("东湖区住房和城乡建设局 regulates Urban gas")


def test_overdue_by_more_than_90_days_escalates_to_the_city(make_session):
    chain = make_session().trace("H1", as_of="2026-06-01")
    escalated = {
        own("C-HOUSING-HEAD", SEC, P, True), own("C-EM-HEAD", COMP, I, True),
        own("C-DEP", TERR, I, True), own("C-EXEC", TERR, I, True),
        own("C-SEC", TERR, P, True), own("C-HEAD", TERR, P, True),
    }
    assert links(chain) == H1_BASE | escalated
    assert chain.gaps == [{"kind": "overdue", "hazard_id": "H1", "deadline": "2026-03-01", "days": 92}]
    c_head = next(link for link in chain.links if link.post_id == "C-HOUSING-HEAD")
    assert c_head.rules == ("R2", "R7") and "aqf_41" in c_head.basis
    assert c_head.path == ("T", "K", "C", "C-HOUSING", "C-HOUSING-HEAD")


def test_overdue_90_days_exactly_does_not_escalate(make_session):
    chain = make_session().trace("H1", as_of="2026-05-30")  # 90 days after 2026-03-01
    assert links(chain) == H1_BASE
    assert chain.gaps == [{"kind": "overdue", "hazard_id": "H1", "deadline": "2026-03-01", "days": 90}]


def test_extended_deadline_replaces_the_original(make_session):
    data = scenario.base()
    data["events"] = [{"hazard_id": "H1", "on": "2026-02-20", "kind": "deadline_extended", "deadline": "2026-05-01"}]
    chain = make_session(data).trace("H1", as_of="2026-06-01")
    assert links(chain) == H1_BASE  # 31 days overdue: no escalation
    assert chain.gaps == [{"kind": "overdue", "hazard_id": "H1", "deadline": "2026-05-01", "days": 31}]
    # an extension recorded after the date asked does not count yet
    assert make_session(data).trace("H1", as_of="2026-02-10").gaps == []


def test_major_hazard_escalates_and_flags_missing_escalation(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H1", "urban_gas", "T", "E1", level="major", deadline="2026-12-31")]
    chain = make_session(data).trace("H1", as_of="2026-02-01")
    assert {link.post_id for link in chain.links if link.escalated} == {
        "C-HOUSING-HEAD", "C-EM-HEAD", "C-DEP", "C-EXEC", "C-SEC", "C-HEAD"}
    assert chain.gaps == [{"kind": "unescalated_major", "hazard_id": "H1"}]
    data["events"] = [{"hazard_id": "H1", "on": "2026-01-15", "kind": "escalated", "post_id": "C-HOUSING-HEAD"}]
    assert make_session(data).trace("H1", as_of="2026-02-01").gaps == []
    assert make_session(data).trace("H1", as_of="2026-01-10").gaps == [{"kind": "unescalated_major", "hazard_id": "H1"}]


def _rotate(data: dict, post: str, first_end: str, second_start: str, acting: bool = False) -> dict:
    for t in data["tenures"]:
        if t["post_id"] == post:
            t["end"] = first_end
    data["people"].append({"id": "PE-NEW", "name": "新任者"})
    data["tenures"].append({"person_id": "PE-NEW", "post_id": post, "start": second_start, "end": "",
                            "acting": "true" if acting else "false"})
    return data


def test_rotation_moves_the_chain_on_the_boundary_day(make_session):
    session = make_session(_rotate(scenario.base(), "K-HEAD", "2026-03-31", "2026-04-01"))
    before = {l.post_id: l for l in session.trace("H1", as_of="2026-03-31").links}["K-HEAD"]
    after = {l.post_id: l for l in session.trace("H1", as_of="2026-04-01").links}["K-HEAD"]
    assert [h.person_id for h in before.holders] == ["PE-K-HEAD"]
    assert [h.person_id for h in after.holders] == ["PE-NEW"]
    assert after.holders[0].start == "2026-04-01" and after.holders[0].end is None


def test_acting_holder_is_flagged_and_fills_the_post(make_session):
    session = make_session(_rotate(scenario.base(), "K-SEC", "2025-12-31", "2026-01-05", acting=True))
    chain = session.trace("H1", as_of="2026-02-01")
    link = {l.post_id: l for l in chain.links}["K-SEC"]
    assert [(h.person_id, h.acting) for h in link.holders] == [("PE-NEW", True)]
    assert chain.gaps == []


def test_vacant_post_keeps_its_link_and_raises_a_gap(make_session):
    data = scenario.base()
    for t in data["tenures"]:
        if t["post_id"] == "K-HOUSING-HEAD":
            t["end"] = "2025-12-31"
    chain = make_session(data).trace("H1", as_of="2026-02-01")
    assert ("K-HOUSING-HEAD", SEC, P, False, ()) in links(chain)
    assert chain.gaps == [{"kind": "vacant_post", "post_id": "K-HOUSING-HEAD", "post_title": "东湖区住房和城乡建设局局长",
                           "organization_id": "K-HOUSING", "jurisdiction_id": "K"}]


def test_window_lists_every_holder_with_overlap_and_uncovered_stretches(make_session):
    data = scenario.base()
    for t in data["tenures"]:
        if t["post_id"] == "K-HOUSING-HEAD":
            t["end"] = "2026-02-28"
    data["people"].append({"id": "PE-NEW", "name": "新任者"})
    data["tenures"].append({"person_id": "PE-NEW", "post_id": "K-HOUSING-HEAD", "start": "2026-04-01", "end": ""})
    chain = make_session(data).trace("H1", start="2026-01-01", end="2026-06-30")
    link = {l.post_id: l for l in chain.links}["K-HOUSING-HEAD"]
    assert [(h.person_id, h.overlap) for h in link.holders] == [
        ("PE-K-HOUSING-HEAD", ("2026-01-01", "2026-02-28")), ("PE-NEW", ("2026-04-01", "2026-06-30"))]
    vacancies = [g for g in chain.gaps if g["kind"] == "vacant_post"]
    assert [(g["post_id"], g["from"], g["to"]) for g in vacancies] == [("K-HOUSING-HEAD", "2026-03-01", "2026-03-31")]


def test_portfolio_handed_over_mid_window(make_session):
    data = scenario.base()
    data["posts"].append({"id": "K-DEP2", "title": "副区长（二）", "organization_id": "K-GOV", "role": "deputy_head"})
    data["people"].append({"id": "PE-K-DEP2", "name": "接任者"})
    data["tenures"].append({"person_id": "PE-K-DEP2", "post_id": "K-DEP2", "start": "2020-01-01"})
    for p in data["portfolios"]:
        if p["post_id"] == "K-DEP" and p.get("industry") == "urban_gas":
            p["end"] = "2026-03-31"
    data["portfolios"].append({"post_id": "K-DEP2", "industry": "urban_gas", "start": "2026-04-01"})
    session = make_session(data)
    assert own("K-DEP", TERR, I) in links(session.trace("H1", as_of="2026-03-31"))
    on_april = links(session.trace("H1", as_of="2026-04-01"))
    assert own("K-DEP2", TERR, I) in on_april and not any(x[0] == "K-DEP" for x in on_april)
    window = {l.post_id: l for l in session.trace("H1", start="2026-01-01", end="2026-06-30").links}
    assert [h.overlap for h in window["K-DEP"].holders] == [("2026-01-01", "2026-03-31")]
    assert [h.overlap for h in window["K-DEP2"].holders] == [("2026-04-01", "2026-06-30")]


def test_village_hazard_enterprise_without_principal(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H3", "construction", "V", "E3")]
    chain = make_session(data).trace("H3", as_of="2026-02-01")
    assert links(chain) == {
        own("E3-SM", ENT, D),
        own("K-HOUSING-HEAD", SEC, P), own("K-EM-HEAD", COMP, I),
        own("K-EXEC", TERR, I),
        own("K-SEC", TERR, P), own("K-HEAD", TERR, P),
        own("T-SEC", TERR, P), own("T-HEAD", TERR, P),
    }
    assert {"kind": "no_principal", "organization_id": "E3"} in chain.gaps
    # K-DEP's portfolios (urban gas, K-EM) do not cover construction or K-HOUSING
    assert {"kind": "no_portfolio", "industry": "construction", "jurisdiction_id": "K"} in chain.gaps
    assert next(l for l in chain.links if l.post_id == "T-SEC").path == ("V", "T", "T-PC", "T-SEC")


def test_park_enterprise_and_a_department_with_two_duties(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H2", "hazardous_chemicals", "T", "E2")]
    chain = make_session(data).trace("H2", as_of="2026-02-01")
    assert links(chain) == {
        own("E2-GM", ENT, P), own("PARK-DIR", TERR, P),
        own("K-EM-HEAD", SEC, P), own("K-EM-HEAD", COMP, I),  # regulates chemicals and supervises overall
        own("K-DEP", TERR, I),  # portfolio: the K-EM department, a rule-2 department here
        own("K-EXEC", TERR, I), own("K-SEC", TERR, P), own("K-HEAD", TERR, P),
        own("T-SEC", TERR, P), own("T-HEAD", TERR, P),
    }
    assert chain.gaps == []


def test_industry_no_department_covers(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H4", "tourism", "K2")]
    chain = make_session(data).trace("H4", as_of="2026-02-01")
    assert links(chain) == {own("K2-EXEC", TERR, I), own("K2-SEC", TERR, P), own("K2-HEAD", TERR, P)}
    assert chain.gaps == [
        {"kind": "no_regulator", "industry": "tourism", "jurisdiction_id": "K2", "regulator_jurisdiction_id": "K2"},
        {"kind": "no_portfolio", "industry": "tourism", "jurisdiction_id": "K2"},
    ]


def test_regulator_found_higher_up(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H5", "forest_fire", "K2")]
    chain = make_session(data).trace("H5", as_of="2026-02-01")
    assert {l.post_id for l in chain.links} == {"C-FOREST-HEAD", "C-EM-HEAD", "C-EXEC", "C-SEC", "C-HEAD"}
    assert next(l for l in chain.links if l.post_id == "C-FOREST-HEAD").path == ("K2", "C", "C-FOREST", "C-FOREST-HEAD")


def test_hazard_without_organization_gets_no_enterprise_links(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H6", "urban_gas", "T")]
    chain = make_session(data).trace("H6", as_of="2026-02-01")
    assert links(chain) == {x for x in H1_BASE if not x[0].startswith("E1")}


def test_same_post_reached_twice_keeps_the_heaviest_degree(make_session):
    data = scenario.base()
    data["portfolios"].append({"post_id": "K-HEAD", "industry": "urban_gas", "start": "2020-01-01"})
    link = {l.post_id: l for l in make_session(data).trace("H1", as_of="2026-02-01").links}["K-HEAD"]
    assert link.degree == P and link.rules == ("R4", "R5")


def test_closed_hazard_defaults_to_its_last_unresolved_day(make_session):
    data = scenario.base()
    data["hazards"] = [scenario.hazard("H1", "urban_gas", "T", "E1", deadline="2026-03-01", status="closed",
                                       closed_on="2026-02-15")]
    chain = make_session(data).trace("H1")
    assert chain.window.end == "2026-02-14"


def test_unknown_hazard_and_bad_dates(make_session):
    session = make_session()
    from accountability.errors import NotFound

    with pytest.raises(NotFound, match="unknown hazard 'NOPE'"):
        session.trace("NOPE")
    with pytest.raises(UsageError, match="not a date"):
        session.trace("H1", as_of="2026-13-01")
    with pytest.raises(UsageError, match="ends"):
        session.trace("H1", start="2026-05-01", end="2026-04-01")


# -- incidents ---------------------------------------------------------------------------------------------

def _incident(**kw) -> dict:
    row = {"id": "I1", "title": "燃气爆炸事故", "occurred_on": "2026-06-01", "jurisdiction_id": "T",
           "organization_id": "E1", "industry": "urban_gas", "deaths": 0, "serious_injuries": 0,
           "direct_loss_yuan": 0, "hazard_ids": ""}
    row.update(kw)
    return row


@pytest.mark.parametrize("measure,value,level", [
    ("deaths", 2, "general"), ("deaths", 3, "large"), ("deaths", 9, "large"), ("deaths", 10, "major"),
    ("deaths", 29, "major"), ("deaths", 30, "especially_major"),
    ("serious_injuries", 9, "general"), ("serious_injuries", 10, "large"), ("serious_injuries", 49, "large"),
    ("serious_injuries", 50, "major"), ("serious_injuries", 99, "major"), ("serious_injuries", 100, "especially_major"),
    ("direct_loss_yuan", 9_999_999, "general"), ("direct_loss_yuan", 10_000_000, "large"),
    ("direct_loss_yuan", 49_999_999, "large"), ("direct_loss_yuan", 50_000_000, "major"),
    ("direct_loss_yuan", 99_999_999, "major"), ("direct_loss_yuan", 100_000_000, "especially_major"),
])
def test_accident_level_thresholds(make_session, measure, value, level):
    session = make_session()
    got, decided = session.engine.accident_level(_incident(**{measure: value}))
    assert got == level
    if level != "general":
        assert decided == [{"measure": measure, "value": value, "threshold": decided[0]["threshold"]}]
        assert value >= decided[0]["threshold"]


def test_any_one_measure_decides_the_level(make_session):
    level, decided = make_session().engine.accident_level(_incident(deaths=1, serious_injuries=12, direct_loss_yuan=60_000_000))
    assert level == "major" and [d["measure"] for d in decided] == ["direct_loss_yuan"]


@pytest.mark.parametrize("deaths,level,gov,reach", [
    (1, "general", "K-GOV", set()),
    (3, "large", "C-GOV", {"C"}),
    (10, "major", "P-GOV", {"C", "P"}),
    (30, "especially_major", None, {"C", "P"}),
])
def test_incident_investigator_and_reach(make_session, deaths, level, gov, reach):
    data = scenario.base()
    data["incidents"] = [_incident(deaths=deaths)]
    result = make_session(data).incident("I1")
    assert result.level == level
    assert (result.investigated_by or {}).get("organization_id") == gov
    assert {l.jurisdiction_id for l in result.links if l.escalated} == reach
    assert all("R8" in l.rules for l in result.links if l.escalated)
    assert result.window.start == "2025-06-01" and result.window.end == "2026-06-01"


def test_incident_window_starts_at_the_earliest_linked_hazard(make_session):
    data = scenario.base()
    data["hazards"].append(scenario.hazard("H0", "urban_gas", "T", "E1", found_on="2025-10-01", deadline="2025-11-01",
                                           status="closed", closed_on="2026-05-30"))
    data["incidents"] = [_incident(hazard_ids="H1;H0", deaths=3)]
    for t in data["tenures"]:
        if t["post_id"] == "K-HEAD":
            t["end"] = "2026-01-31"
    data["people"].append({"id": "PE-NEW", "name": "新任者"})
    data["tenures"].append({"person_id": "PE-NEW", "post_id": "K-HEAD", "start": "2026-02-01"})
    result = make_session(data).incident("I1")
    assert (result.window.start, result.window.end) == ("2025-10-01", "2026-06-01")
    k_head = {l.post_id: l for l in result.links if not l.escalated}["K-HEAD"]
    # the one who moved on is still accountable for his part of the window (Provisions Art. 24)
    assert [(h.person_id, h.overlap) for h in k_head.holders] == [
        ("PE-K-HEAD", ("2025-10-01", "2026-01-31")), ("PE-NEW", ("2026-02-01", "2026-06-01"))]
    # H1 is overdue > 90 days at the window's end: its R7 escalation reaches the city too
    assert any(l.rules == ("R2", "R7", "R8") or set(l.rules) >= {"R7", "R8"} for l in result.links if l.escalated)
    assert {"kind": "overdue", "hazard_id": "H1", "deadline": "2026-03-01", "days": 92} in result.gaps


# -- the ruleset is data -----------------------------------------------------------------------------------

def test_a_replacement_ruleset_changes_the_chain(make_session, tmp_path):
    from graph_schema.loader import RULESETS

    rules = yaml.safe_load((RULESETS / "reference-v1.yaml").read_text(encoding="utf-8"))
    r3 = next(r for r in rules["rules"] if r["id"] == "R3")
    r3["selectors"][0]["degree"] = "principal_leadership"
    path = tmp_path / "province-rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    chain = make_session(rules=str(path)).trace("H1", as_of="2026-02-01")
    assert own("K-EM-HEAD", COMP, P) in links(chain)


@pytest.mark.parametrize("mutate,message", [
    (lambda r: r["rules"][0]["selectors"][0].update(duty="nonsense"), "unknown duty 'nonsense'"),
    (lambda r: r["rules"][1]["selectors"][0].update(organization="moon"), "unknown anchor 'moon'"),
    (lambda r: r["rules"][0]["selectors"][0].update(basis=["nope"]), "unknown citation 'nope'"),
    (lambda r: r["rules"][0]["selectors"][0]["explain"].update(zh="{salary}"), "unknown template field"),
    (lambda r: r["escalations"][0].update(reapply=["R99"]), "unknown rule 'R99'"),
    # YAML's {zh: 一岗双责, en: One post, two responsibilities} is {…, en: One post, two responsibilities: null}
    (lambda r: r["rules"][3]["title"].update({"two responsibilities": None}), "rules.R4.title: expected zh and en"),
])
def test_a_broken_ruleset_fails_loudly_with_file_and_key(make_session, tmp_path, mutate, message):
    refused_ruleset(make_session, tmp_path, "reference-v1", mutate, message)


def refused_ruleset(make_session, tmp_path, name: str, mutate, message: str) -> None:
    """A copy of the ruleset ``name`` changed by ``mutate`` is refused with ``message``, naming its file."""
    from graph_schema.loader import RULESETS

    rules = yaml.safe_load((RULESETS / f"{name}.yaml").read_text(encoding="utf-8"))
    mutate(rules)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidSchema, match=message) as err:
        make_session(rules=str(path))
    assert str(err.value).startswith("bad.yaml: ")


# -- properties --------------------------------------------------------------------------------------------

def _fingerprint(chain) -> tuple:
    return tuple((l.post_id, l.duty, l.degree, l.escalated, l.rules, l.holders, l.path) for l in chain.links), \
        tuple(sorted(str(g) for g in chain.gaps))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), as_of=st.sampled_from(["2026-02-01", "2026-04-01", "2026-06-01"]))
def test_reordering_rows_or_tracing_twice_gives_the_same_chain(make_session, seed, as_of):
    data = scenario.base()
    data["hazards"] += [scenario.hazard("H2", "hazardous_chemicals", "T", "E2"), scenario.hazard("H3", "construction", "V", "E3")]
    shuffled = copy.deepcopy(data)
    rng = random.Random(seed)
    for rows in shuffled.values():
        rng.shuffle(rows)
    a, b = make_session(data), make_session(shuffled)
    for hid in ("H1", "H2", "H3"):
        first = a.trace(hid, as_of=as_of)
        assert _fingerprint(first) == _fingerprint(a.trace(hid, as_of=as_of)) == _fingerprint(b.trace(hid, as_of=as_of))


def test_lazy_then_full_loading_does_not_double_holders(make_session):
    session = make_session()
    session.trace("H1", as_of="2026-05-01")
    session.graph.load_all()
    chain = session.trace("H1", as_of="2026-04-01")
    assert all(len(link.holders) == 1 for link in chain.links)
    assert [p.id for p in session.graph.posts_in("E1")] == ["E1-GM", "E1-SM"]
