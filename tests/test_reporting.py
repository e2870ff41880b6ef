"""Reporting timeliness (DESIGN.md, "Duty and reporting"; 493号 Art. 9–11) and rule 12 on the hand-built
scenario: an urban-gas incident at E1 in 青石镇 (T, under the county K).

The required chain: E1 → K-EM (comprehensive) and E1 → K-HOUSING (sector), due t + 1 h; K-EM → C-EM and
K-HOUSING → C-HOUSING, due 2 h after each received; for a large accident and above also C-EM → P-EM (the
province has no housing department: that chain stops at the city)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import scenario
from accountability.cli import main

V2 = "reference-v2"
T0 = "2026-03-01T10:00:00+08:00"


def incident(deaths: int = 0, occurred_at: str | None = "2026-03-01T10:00", **more) -> dict:
    row = {"id": "I1", "title": "燃气爆炸", "occurred_on": "2026-03-01", "jurisdiction_id": "T", "organization_id": "E1",
           "industry": "urban_gas", "deaths": deaths, "serious_injuries": 0, "direct_loss_yuan": 0, "hazard_ids": ""}
    if occurred_at:
        row["occurred_at"] = occurred_at
    row.update(more)
    return row


def report(sender: str, receiver: str, at: str, kind: str = "initial") -> dict:
    return {"incident_id": "I1", "from_organization_id": sender, "to_organization_id": receiver, "at": at, "kind": kind}


ON_TIME = [report("E1", "K-EM", "2026-03-01T10:40"), report("E1", "K-HOUSING", "2026-03-01T10:50"),
           report("K-EM", "C-EM", "2026-03-01T12:40"), report("K-HOUSING", "C-HOUSING", "2026-03-01T12:50"),
           report("C-EM", "P-EM", "2026-03-01T14:40")]


def data(reports: list[dict], deaths: int = 0, shifts: list[dict] | None = None, **more) -> dict:
    d = scenario.base()
    d["incidents"] = [incident(deaths, **more)]
    d["incident_reports"] = reports
    d["duty_shifts"] = shifts or []
    return d


def steps(session) -> list[tuple]:
    chain = session.incident("I1")
    return [(s["from"], s["to"], s["due"], s["at"], s["status"], s["late_minutes"]) for s in chain.reporting["steps"]]


def step(session, sender: str, receiver: str) -> dict:
    return next(s for s in session.incident("I1").reporting["steps"] if (s["from"], s["to"]) == (sender, receiver))


def r12(chain) -> dict:
    return {(link.post_id, link.degree): link for link in chain.links if link.act and link.act[0] == "R12"}


# -- the required chain, per grade ------------------------------------------------------------------------


def test_general_accident_reports_up_to_the_city(make_session):
    s = make_session(data(ON_TIME), rules=V2)
    assert steps(s) == [
        ("E1", "K-EM", "2026-03-01T11:00:00+08:00", "2026-03-01T10:40:00+08:00", "on_time", 0),
        ("E1", "K-HOUSING", "2026-03-01T11:00:00+08:00", "2026-03-01T10:50:00+08:00", "on_time", 0),
        ("K-EM", "C-EM", "2026-03-01T12:40:00+08:00", "2026-03-01T12:40:00+08:00", "on_time", 0),
        ("K-HOUSING", "C-HOUSING", "2026-03-01T12:50:00+08:00", "2026-03-01T12:50:00+08:00", "on_time", 0),
    ]


@pytest.mark.parametrize("deaths, level", [(3, "large"), (10, "major"), (30, "especially_major")])
def test_large_and_above_report_up_to_the_province(make_session, deaths, level):
    s = make_session(data(ON_TIME, deaths=deaths), rules=V2)
    chain = s.incident("I1")
    assert chain.level == level
    assert [(x[0], x[1]) for x in steps(s)] == [("E1", "K-EM"), ("E1", "K-HOUSING"), ("K-EM", "C-EM"),
                                               ("K-HOUSING", "C-HOUSING"), ("C-EM", "P-EM")]
    assert step(s, "C-EM", "P-EM")["due"] == "2026-03-01T14:40:00+08:00"  # C-EM received at 12:40
    assert not r12(chain)


def test_an_incident_in_a_county_without_departments_has_no_step_there(make_session):
    d = data([], **{"jurisdiction_id": "K2", "organization_id": ""})
    s = make_session(d, rules=V2)
    assert steps(s) == []  # K2 has no departments; its government would report to none of them


def test_an_incident_at_city_level_starts_at_the_city(make_session):
    d = data([report("C-GOV", "C-EM", "2026-03-01T10:30")], deaths=3, jurisdiction_id="C", organization_id="")
    s = make_session(d, rules=V2)
    assert [(x[0], x[1], x[4]) for x in steps(s)] == [
        ("C-GOV", "C-EM", "on_time"), ("C-GOV", "C-HOUSING", "missed_report"), ("C-EM", "P-EM", "missed_report")]


# -- the 1-hour and 2-hour limits, at their boundaries ----------------------------------------------------


@pytest.mark.parametrize("at, status, minutes", [
    ("2026-03-01T11:00", "on_time", 0),
    ("2026-03-01T11:00:01", "late_report", 1),  # rounded up to whole minutes
    ("2026-03-01T11:01", "late_report", 1),
    ("2026-03-01T03:01:00Z", "late_report", 1),  # the same moment in UTC
    ("2026-03-01T13:30", "late_report", 150),
])
def test_the_one_hour_limit(make_session, at, status, minutes):
    reports = [report("E1", "K-EM", at)] + ON_TIME[1:]
    s = make_session(data(reports), rules=V2)
    got = step(s, "E1", "K-EM")
    assert (got["due"], got["status"], got["late_minutes"]) == ("2026-03-01T11:00:00+08:00", status, minutes)


@pytest.mark.parametrize("at, status, minutes", [
    ("2026-03-01T12:40", "on_time", 0),
    ("2026-03-01T12:41", "late_report", 1),
])
def test_the_two_hour_limit_counts_from_the_senders_receipt(make_session, at, status, minutes):
    reports = [ON_TIME[0], ON_TIME[1], report("K-EM", "C-EM", at), ON_TIME[3],
               report("E1", "K-EM", "2026-03-01T10:55", "supplementary")]  # a later report does not move the receipt
    s = make_session(data(reports), rules=V2)
    got = step(s, "K-EM", "C-EM")
    assert (got["due"], got["status"], got["late_minutes"]) == ("2026-03-01T12:40:00+08:00", status, minutes)


def test_a_late_receipt_moves_the_due_time_of_the_next_step(make_session):
    reports = [report("E1", "K-EM", "2026-03-01T11:30")] + ON_TIME[1:]
    s = make_session(data(reports), rules=V2)
    assert step(s, "E1", "K-EM")["late_minutes"] == 30
    assert step(s, "K-EM", "C-EM")["due"] == "2026-03-01T13:30:00+08:00"
    assert step(s, "K-EM", "C-EM")["status"] == "on_time"


def test_a_missed_step_leaves_the_step_above_unreached(make_session):
    reports = [ON_TIME[0], ON_TIME[2]]
    s = make_session(data(reports), rules=V2)
    assert step(s, "E1", "K-HOUSING")["status"] == "missed_report"
    assert step(s, "E1", "K-HOUSING")["late_minutes"] is None
    up = step(s, "K-HOUSING", "C-HOUSING")
    assert (up["due"], up["at"], up["status"], up["late_minutes"]) == (None, None, "unreached", None)
    links = r12(s.incident("I1"))
    assert not any(link.post_id == "K-HOUSING-HEAD" for link in links.values())  # unreached: no link


# -- rule 12 ----------------------------------------------------------------------------------------------


SHIFTS = [
    {"jurisdiction_id": "K", "person_id": "PE-K-DEP", "role": "duty_officer", "start": "2026-03-01T08:00",
     "end": "2026-03-02T08:00"},
    {"jurisdiction_id": "K", "post_id": "K-EXEC", "role": "leader_on_duty", "start": "2026-03-01T08:00",
     "end": "2026-03-02T08:00"},
]


def test_rule_12_links_the_senders_head_and_the_duty_officer(make_session):
    reports = [report("E1", "K-EM", "2026-03-01T11:05")] + ON_TIME[1:3]  # K-HOUSING → C-HOUSING never made
    s = make_session(data(reports, shifts=SHIFTS), rules=V2)
    chain = s.incident("I1")
    links = r12(chain)
    assert set(links) == {("E1-GM", "principal_leadership"), ("K-HOUSING-HEAD", "principal_leadership"),
                          (None, "direct")}
    late = links[("E1-GM", "principal_leadership")]
    assert late.duty == "incident_reporting" and late.act == ("R12", "2026-03-01T11:00:00+08:00")
    assert late.evidence == ({"kind": "report", "incident_id": "I1", "from": "E1", "to": "K-EM",
                              "due": "2026-03-01T11:00:00+08:00", "at": "2026-03-01T11:05:00+08:00"},)
    assert [h.person_id for h in late.holders] == ["PE-E1-GM"]
    missed = links[("K-HOUSING-HEAD", "principal_leadership")]
    assert missed.evidence[0]["at"] is None and missed.evidence[0]["due"] == "2026-03-01T12:50:00+08:00"
    officer = links[(None, "direct")]  # a duty officer named without a post
    assert officer.jurisdiction_id == "K" and [h.person_id for h in officer.holders] == ["PE-K-DEP"]
    assert officer.act == ("R12", "2026-03-01T12:50:00+08:00")
    assert officer.key == (None, "R12", "2026-03-01T12:50:00+08:00", "PE-K-DEP")
    assert all(h.assessment == ("accountable", ()) for link in links.values() for h in link.holders)
    assert "值班员" in officer.sentence("zh") and "duty officer" in officer.sentence("en")
    # the officer was on duty when K-HOUSING's report fell due: the sentence says so, naming the sender
    # (the head's says that the head had to report it)
    sender = s.graph.org("K-HOUSING").name
    assert officer.sentence("zh") == (f"东湖区值班员于2026-03-01 12:50报告时限届满时在岗值班，{sender}漏报"
                                      f"（报{s.graph.org('C-HOUSING').name}），负事故报告责任中的直接责任。")
    assert officer.sentence("en").startswith("The duty officer of 东湖区 was on duty when a report fell due at "
                                             f"2026-03-01 12:50: {sender} never reported")
    assert "局长应于2026-03-01 12:50前报告事故，漏报（报" in missed.sentence("zh")
    assert chain.reporting["on_duty"] == [
        {"jurisdiction_id": "K", "role": "leader_on_duty", "person_id": "PE-K-EXEC", "at": "2026-03-01T12:50:00+08:00"},
        {"jurisdiction_id": "K", "role": "duty_officer", "person_id": "PE-K-DEP", "at": "2026-03-01T12:50:00+08:00"},
    ]  # E1 lies in T, where nobody keeps duty: only K's shifts at K-HOUSING's due time


def test_a_duty_officer_post_is_held_by_whoever_held_it_that_day(make_session):
    shifts = [{"jurisdiction_id": "K", "post_id": "K-DEP", "role": "duty_officer", "start": "2026-03-01T08:00",
               "end": "2026-03-02T08:00"}]
    s = make_session(data(ON_TIME[:2] + ON_TIME[3:4], shifts=shifts), rules=V2)
    links = r12(s.incident("I1"))
    officer = links[("K-DEP", "direct")]
    assert officer.act == ("R12", "2026-03-01T12:40:00+08:00") and officer.post_id == "K-DEP"
    assert "在岗值班" in officer.sentence("zh") and s.graph.org("K-EM").name + "漏报" in officer.sentence("zh")
    assert [h.person_id for h in officer.holders] == ["PE-K-DEP"]
    assert ("K-EM-HEAD", "principal_leadership") in links


def test_json_has_reporting_under_v2_only(make_session, tmp_path):
    d = data([report("E1", "K-EM", "2026-03-01T11:05")])
    v2 = make_session(d, rules=V2).incident("I1")
    out = v2.as_dict(make_session(d, rules=V2).ruleset, "en")
    assert list(out["reporting"]) == ["steps", "on_duty"]
    assert out["reporting"]["steps"][0] == {"from": "E1", "to": "K-EM", "due": "2026-03-01T11:00:00+08:00",
                                            "at": "2026-03-01T11:05:00+08:00", "status": "late_report",
                                            "late_minutes": 5}
    r12_json = [link for link in out["links"] if link["rules"] == ["R12"]]
    assert r12_json and all(link["evidence"][0]["kind"] == "report" for link in r12_json)
    v1 = make_session(d, rules="reference-v1")
    assert "reporting" not in v1.incident("I1").as_dict(v1.ruleset)
    assert not any(link.act for link in v1.incident("I1").links)
    without = make_session(data([], occurred_at=None), rules=V2)
    assert "reporting" not in without.incident("I1").as_dict(without.ruleset)


def test_cli_incident_json_carries_reporting(tmp_path):
    path = scenario.write(data([report("E1", "K-EM", "2026-03-01T11:05")]), tmp_path)
    db = tmp_path / "s.db"
    assert CliRunner().invoke(main, ["import", str(path), "--store", str(db)]).exit_code == 0
    result = CliRunner().invoke(main, ["incident", "I1", "--store", str(db), "--rules", V2, "--format", "json"])
    assert result.exit_code == 0, result.output
    reporting = json.loads(result.output)["reporting"]
    assert [s["status"] for s in reporting["steps"]] == ["late_report", "missed_report", "missed_report",
                                                         "unreached"]


# -- bad input --------------------------------------------------------------------------------------------


def test_bad_reports_are_refused_and_nothing_is_stored(tmp_path):
    from accountability.stores.sqlite import SQLiteStore

    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good = scenario.write(data(ON_TIME), tmp_path / "good")
    bad = data([report("E1", "K-EM", "2026-03-01T09:59"), report("E1", "NOWHERE", "2026-03-01T10:30"),
                report("K-EM", "K-EM", "2026-03-01T10:30"), report("E1", "C-EM", "yesterday")])
    db = str(tmp_path / "s.db")
    assert CliRunner().invoke(main, ["import", str(good), "--store", db]).exit_code == 0
    result = CliRunner().invoke(main, ["import", str(scenario.write(bad, tmp_path / "bad")),
                                                       "--store", db])
    assert result.exit_code == 1
    for line in ("incident_reports:4: at: 'yesterday' is not a date and time (YYYY-MM-DDTHH:MM, ISO 8601)",
                 "incident_reports:2: to_organization_id: unknown organization 'NOWHERE'",
                 "incident_reports:1: at: 2026-03-01T09:59:00+08:00 is before the incident happened "
                 "(2026-03-01T10:00:00+08:00)",
                 "incident_reports:3: to_organization_id: a unit does not report to itself"):
        assert line in result.stderr
    with SQLiteStore(db) as store:
        assert [r["at"] for r in store.rows("incident_reports")] == [r["at"] + ":00+08:00" for r in ON_TIME]


def test_a_duty_officer_without_a_post_has_a_title_in_each_language(make_session):
    """The engine names the post of a duty officer named without a post (rule 12): 值班员 in Chinese, "Duty
    officer" in English — in the JSON, the report and the CSV rows, and kept when the link is pickled."""
    import pickle

    from accountability.output import chain_rows
    from accountability.reports import build_report

    reports = [report("E1", "K-EM", "2026-03-01T11:05")] + ON_TIME[1:3]
    s = make_session(data(reports, shifts=SHIFTS), rules=V2)
    chain = s.incident("I1")
    officer = r12(chain)[(None, "direct")]
    for lang, title in (("zh", "值班员"), ("en", "Duty officer")):
        out = chain.as_dict(s.ruleset, lang)
        (link,) = [x for x in out["links"] if x["post_id"] is None]
        assert link["post_title"] == title
        assert {r["post_title"] for r in chain_rows(out) if r.get("post_id") is None and r.get("rules")} == {title}
        entry = next(e for e in build_report(s, "I1", lang).links if e.post.id is None)
        assert entry.post.name == title
    assert pickle.loads(pickle.dumps(officer)).as_dict(s.ruleset, "en")["post_title"] == "Duty officer"
