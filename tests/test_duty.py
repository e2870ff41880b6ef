"""24-hour duty (DESIGN.md, "Duty and reporting"): shifts imported on both stores, who is on duty at a moment,
every stretch nobody was, and the shifts refused at import.

The roster on the hand-built scenario (tests/scenario.py), 1–2 March 2026:
- K (county): leaders by person, 08:00 to 08:00; officers by post, midnight to midnight (a hand-over at 00:00);
- C (city): a leader 08:00–20:00 on the 1st, then 08:00 to 08:00 from the 2nd (one uncovered night); an
  officer given in UTC;
- P and K2: no shifts at all; T (a township) none either, and not listed (below county level).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import scenario
from accountability import duty, queries
from accountability.access import User
from accountability.cli import main
from accountability.dataset import load
from accountability.errors import InvalidDataset, UsageError
from accountability.session import Session


def shift(jid: str, role: str, start: str, end: str, post: str = "", person: str = "") -> dict:
    return {"jurisdiction_id": jid, "role": role, "start": start, "end": end, "post_id": post, "person_id": person}


SHIFTS = [
    shift("K", "leader_on_duty", "2026-03-01T08:00", "2026-03-02T08:00", person="PE-K-HEAD"),
    shift("K", "leader_on_duty", "2026-03-02T08:00", "2026-03-03T08:00", person="PE-K-EXEC"),
    shift("K", "duty_officer", "2026-03-01T00:00", "2026-03-02T00:00", post="K-EM-HEAD"),
    shift("K", "duty_officer", "2026-03-02T00:00", "2026-03-03T00:00", post="K-HOUSING-HEAD"),
    shift("C", "leader_on_duty", "2026-03-01T08:00", "2026-03-01T20:00", person="PE-C-HEAD"),
    shift("C", "leader_on_duty", "2026-03-02T08:00", "2026-03-03T08:00", person="PE-C-EXEC"),
    shift("C", "duty_officer", "2026-02-28T16:00:00Z", "2026-03-02T16:00:00Z", post="C-EM-HEAD"),  # 00:00–00:00 local
]


def data(shifts: list[dict] | None = None) -> dict:
    d = scenario.base()
    d["duty_shifts"] = SHIFTS if shifts is None else shifts
    return d


@pytest.fixture
def session(make_session):
    return make_session(data())


def who(result: dict) -> dict:
    return {(r["jurisdiction_id"], r["role"]): r["person_id"] for r in result["rows"]}


# -- who is on duty ---------------------------------------------------------------------------------------


def test_on_duty_lists_every_county_and_above_with_an_empty_person_when_nobody(session):
    result = duty.on_duty(session, "2026-03-01T22:00")
    assert result["at"] == "2026-03-01T22:00:00+08:00"
    assert [(r["jurisdiction_id"], r["role"]) for r in result["rows"]] == [
        (j, role) for j in ("P", "C", "K", "K2") for role in ("leader_on_duty", "duty_officer")]
    assert who(result) == {("P", "leader_on_duty"): None, ("P", "duty_officer"): None,
                           ("C", "leader_on_duty"): None, ("C", "duty_officer"): "PE-C-EM-HEAD",
                           ("K", "leader_on_duty"): "PE-K-HEAD", ("K", "duty_officer"): "PE-K-EM-HEAD",
                           ("K2", "leader_on_duty"): None, ("K2", "duty_officer"): None}
    officer = next(r for r in result["rows"] if r["jurisdiction_id"] == "C" and r["role"] == "duty_officer")
    assert officer == {"jurisdiction_id": "C", "role": "duty_officer", "post_id": "C-EM-HEAD",
                       "person_id": "PE-C-EM-HEAD", "name": officer["name"], "start": "2026-03-01T00:00:00+08:00",
                       "end": "2026-03-03T00:00:00+08:00"}  # shown in local time, whatever the data's offset


def test_a_hand_over_at_midnight(session):
    before = who(duty.on_duty(session, "2026-03-01T23:59:59", "K"))
    at = who(duty.on_duty(session, "2026-03-02T00:00", "K"))
    assert before == {("K", "leader_on_duty"): "PE-K-HEAD", ("K", "duty_officer"): "PE-K-EM-HEAD"}
    assert at == {("K", "leader_on_duty"): "PE-K-HEAD", ("K", "duty_officer"): "PE-K-HOUSING-HEAD"}
    gaps = duty.gaps(session, "2026-03-01", "2026-03-03", "K")["gaps"]
    assert [(g["role"], g["start"], g["end"], g["hours"]) for g in gaps] == [
        ("leader_on_duty", "2026-03-01T00:00:00+08:00", "2026-03-01T08:00:00+08:00", 8.0)]  # no gap at midnight


def test_gaps_are_maximal_stretches_with_hours(session):
    result = duty.gaps(session, "2026-03-01", "2026-03-02T12:00")
    assert (result["from"], result["to"]) == ("2026-03-01T00:00:00+08:00", "2026-03-02T12:00:00+08:00")
    got = [(g["kind"], g["jurisdiction_id"], g["role"], g["start"][11:16], g["end"][5:16], g["hours"])
           for g in result["gaps"]]
    assert got == [
        ("unstaffed_duty", "P", "leader_on_duty", "00:00", "03-02T12:00", 36.0),
        ("unstaffed_duty", "P", "duty_officer", "00:00", "03-02T12:00", 36.0),
        ("unstaffed_duty", "C", "leader_on_duty", "00:00", "03-01T08:00", 8.0),
        ("unstaffed_duty", "C", "leader_on_duty", "20:00", "03-02T08:00", 12.0),  # the uncovered night
        ("unstaffed_duty", "K", "leader_on_duty", "00:00", "03-01T08:00", 8.0),
        ("unstaffed_duty", "K2", "leader_on_duty", "00:00", "03-02T12:00", 36.0),
        ("unstaffed_duty", "K2", "duty_officer", "00:00", "03-02T12:00", 36.0),
    ]


def test_a_township_with_shifts_is_listed_too(make_session):
    s = make_session(data(SHIFTS + [shift("T", "duty_officer", "2026-03-01T00:00", "2026-03-01T12:30",
                                          person="PE-T-DEP")]))
    gaps = duty.gaps(s, "2026-03-01", "2026-03-02", "T")["gaps"]
    assert [(g["role"], g["hours"]) for g in gaps] == [("leader_on_duty", 24.0), ("duty_officer", 11.5)]


def test_scoped_users_see_their_subtree_only(session):
    county = session.as_user(User("k", "viewer", "K"))
    assert {r["jurisdiction_id"] for r in duty.on_duty(county, "2026-03-01T22:00")["rows"]} == {"K"}
    assert {g["jurisdiction_id"] for g in duty.gaps(county, "2026-03-01", "2026-03-02")["gaps"]} == {"K"}
    from accountability.errors import AccessDenied

    with pytest.raises(AccessDenied):
        duty.on_duty(county, "2026-03-01T22:00", "C")


def test_bad_moments_are_usage_errors(session):
    with pytest.raises(UsageError, match="at: '2026-13-01T00:00' is not a valid date and time"):
        duty.on_duty(session, "2026-13-01")
    with pytest.raises(UsageError, match="to: .* is not after from"):
        duty.gaps(session, "2026-03-02", "2026-03-01")


# -- the command line and the named queries ---------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    path = scenario.write(data(), tmp_path)
    out = str(tmp_path / "store.db")
    assert CliRunner().invoke(main, ["import", str(path), "--store", out]).exit_code == 0
    return out


def test_cli_duty_and_gaps(db):
    result = CliRunner().invoke(main, ["duty", "--at", "2026-03-01T22:00", "--jurisdiction", "K", "--store", db,
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["at"] == "2026-03-01T22:00:00+08:00" and len(out["rows"]) == 2
    assert set(out["rows"][0]) == {"jurisdiction_id", "role", "post_id", "person_id", "name", "start", "end"}
    result = CliRunner().invoke(main, ["duty", "gaps", "--from", "2026-03-01", "--to", "2026-03-02",
                                       "--jurisdiction", "C", "--store", db, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [  # C and its subtree (K, K2)
        "kind,jurisdiction_id,role,start,end,hours",
        "unstaffed_duty,C,leader_on_duty,2026-03-01T00:00:00+08:00,2026-03-01T08:00:00+08:00,8.0",
        "unstaffed_duty,C,leader_on_duty,2026-03-01T20:00:00+08:00,2026-03-02T00:00:00+08:00,4.0",
        "unstaffed_duty,K,leader_on_duty,2026-03-01T00:00:00+08:00,2026-03-01T08:00:00+08:00,8.0",
        "unstaffed_duty,K2,leader_on_duty,2026-03-01T00:00:00+08:00,2026-03-02T00:00:00+08:00,24.0",
        "unstaffed_duty,K2,duty_officer,2026-03-01T00:00:00+08:00,2026-03-02T00:00:00+08:00,24.0",
    ]
    table = CliRunner().invoke(main, ["duty", "--at", "2026-03-01T22:00", "--store", db])
    assert table.exit_code == 0 and "leader_on_duty" in table.output
    bad = CliRunner().invoke(main, ["duty", "--at", "tomorrow", "--store", db])
    assert bad.exit_code == 2 and "at: 'tomorrow' is not a date and time" in bad.output


def test_named_queries(session):
    rows = list(queries.run("duty-on", session, at="2026-03-02T00:00", jurisdiction="K"))
    assert [(r["role"], r["person_id"]) for r in rows] == [("leader_on_duty", "PE-K-HEAD"),
                                                         ("duty_officer", "PE-K-HOUSING-HEAD")]
    rows = list(queries.run("duty-gaps", session, **{"from": "2026-03-01", "to": "2026-03-02", "jurisdiction": "K"}))
    assert [(r["role"], r["start"][11:16], r["hours"]) for r in rows] == [("leader_on_duty", "00:00", 8.0)]
    rows = list(queries.run("duty-gaps", session, start="2026-03-01T12:00", end="2026-03-02", jurisdiction="C"))
    assert [(r["jurisdiction_id"], r["start"][11:16], r["person_ids"]) for r in rows][:1] == [
        ("C", "20:00", ["PE-C-HEAD"])]  # who handed over to nobody
    with pytest.raises(UsageError, match="missing parameter 'end'"):
        queries.run("duty-gaps", session, start="2026-03-01")


# -- both stores --------------------------------------------------------------------------------------------


def test_both_stores_import_and_answer_alike(any_store, tmp_path):
    dataset = load(scenario.write(data(), tmp_path))
    any_store.write(dataset)
    rows = list(any_store.rows("duty_shifts"))
    assert len(rows) == len(SHIFTS)
    assert {r["start"] for r in rows if r["jurisdiction_id"] == "C" and r["role"] == "duty_officer"} == \
        {"2026-02-28T16:00:00+00:00"}  # stored as given, with its offset
    assert any_store.write(dataset).unchanged
    with Session(any_store) as s:
        assert who(duty.on_duty(s, "2026-03-02T00:00", "K")) == {("K", "leader_on_duty"): "PE-K-HEAD",
                                                                   ("K", "duty_officer"): "PE-K-HOUSING-HEAD"}
        gaps = list(queries.run("duty-gaps", s, start="2026-03-01", end="2026-03-02", jurisdiction="C"))
        assert [(g["jurisdiction_id"], g["role"], g["hours"]) for g in gaps] == [
            ("C", "leader_on_duty", 8.0), ("C", "leader_on_duty", 4.0), ("K", "leader_on_duty", 8.0),
            ("K2", "leader_on_duty", 24.0), ("K2", "duty_officer", 24.0)]


# -- bad shifts -------------------------------------------------------------------------------------------


def refused(tmp_path, shifts: list[dict]) -> list[str]:
    with pytest.raises(InvalidDataset) as info:
        load(scenario.write(data(shifts), tmp_path))
    return info.value.errors


def test_a_leader_on_duty_in_two_jurisdictions_at_once_is_refused(tmp_path):
    errors = refused(tmp_path, [shift("K", "leader_on_duty", "2026-03-01T08:00", "2026-03-02T08:00", person="PE-K-HEAD"),
                                shift("C", "leader_on_duty", "2026-03-02T07:00", "2026-03-02T20:00", person="PE-K-HEAD")])
    assert errors == ["duty_shifts:2: start: person 'PE-K-HEAD' as leader_on_duty: on duty in two jurisdictions at "
                      "once ('K' and 'C') (row 1 ends 2026-03-02T08:00:00+08:00)"]


def test_bad_shifts_are_refused_with_every_reason(tmp_path):
    errors = refused(tmp_path, [
        shift("K", "duty_officer", "2026-03-01T08:00", "2026-03-01T07:00", person="PE-K-DEP"),
        shift("K", "duty_officer", "2026-03-01T09:00", "2026-03-01T09:00", person="PE-K-DEP"),
        shift("K", "duty_officer", "2026-03-02T00:00", "2026-03-03T00:00", post="K-DEP"),
        shift("K", "duty_officer", "2026-03-02T23:00", "2026-03-03T02:00", post="K-DEP"),
        shift("K", "duty_officer", "2026-03-05T00:00", "2026-03-06T00:00", post="K-DEP", person="PE-K-DEP"),
        shift("K", "duty_officer", "2026-03-05T00:00", "2026-03-06T00:00"),
        shift("K", "on_call", "2026-03-07T00:00", "2026-03-08T00:00", person="PE-K-DEP"),
        shift("K", "duty_officer", "2026-03-07", "2026-03-08T00:00", person="PE-NOBODY"),
    ])
    assert errors == [
        "duty_shifts:7: role: unknown duty role 'on_call'",
        "duty_shifts:8: start: '2026-03-07' is not a date and time (YYYY-MM-DDTHH:MM, ISO 8601)",
        "duty_shifts:1: end: 2026-03-01T07:00:00+08:00 is not after start 2026-03-01T08:00:00+08:00",
        "duty_shifts:2: end: 2026-03-01T09:00:00+08:00 is not after start 2026-03-01T09:00:00+08:00",
        "duty_shifts:5: post_id: give exactly one of post_id and person_id",
        "duty_shifts:6: post_id: give exactly one of post_id and person_id",
        "duty_shifts:4: start: post 'K-DEP' as duty_officer: overlaps the shift at row 3 "
        "(row 3 ends 2026-03-03T00:00:00+08:00)",
    ]


def test_a_refused_import_leaves_the_store_as_it_was(tmp_path):
    good = scenario.write(data(), tmp_path / "good") if (tmp_path / "good").mkdir() is None else None
    (tmp_path / "bad").mkdir()
    bad = scenario.write(data(SHIFTS + [shift("C", "leader_on_duty", "2026-03-01T09:00", "2026-03-01T10:00",
                                              person="PE-K-HEAD")]), tmp_path / "bad")
    db = str(tmp_path / "s.db")
    assert CliRunner().invoke(main, ["import", str(good), "--store", db]).exit_code == 0
    result = CliRunner().invoke(main, ["import", str(bad), "--store", db])
    assert result.exit_code == 1 and "on duty in two jurisdictions at once ('K' and 'C')" in result.output
    with Session(db) as s:
        assert s.store.count("duty_shifts") == len(SHIFTS)


def test_a_post_shift_and_a_shift_of_its_holder_overlapping_in_one_role_are_refused(tmp_path):
    """K-DEP is held by PE-K-DEP from the scenario's start; PE-K-HOUSING-HEAD holds K-HOUSING-HEAD."""
    errors = refused(tmp_path, [
        shift("K", "duty_officer", "2026-03-01T00:00", "2026-03-02T00:00", post="K-DEP"),
        shift("K", "duty_officer", "2026-03-01T12:00", "2026-03-01T20:00", person="PE-K-DEP"),
        shift("C", "leader_on_duty", "2026-03-02T08:00", "2026-03-03T08:00", person="PE-K-HOUSING-HEAD"),
        shift("K", "leader_on_duty", "2026-03-03T07:00", "2026-03-03T09:00", post="K-HOUSING-HEAD"),
    ])
    assert errors == [
        "duty_shifts:2: start: person 'PE-K-DEP' as duty_officer: overlaps the shift at row 1 — row 1 names "
        "post 'K-DEP', held by 'PE-K-DEP' that day (ends 2026-03-02T00:00:00+08:00)",
        "duty_shifts:4: start: post 'K-HOUSING-HEAD', held by 'PE-K-HOUSING-HEAD' that day as leader_on_duty: "
        "on duty in two jurisdictions at once ('C' and 'K') — row 3 names person 'PE-K-HOUSING-HEAD' "
        "(ends 2026-03-03T08:00:00+08:00)",
    ]


def test_a_post_shift_beside_its_holder_in_another_role_or_after_a_hand_over_is_accepted(tmp_path):
    d = data([
        shift("K", "duty_officer", "2026-03-01T00:00", "2026-03-02T00:00", post="K-DEP"),
        shift("K", "leader_on_duty", "2026-03-01T08:00", "2026-03-02T08:00", person="PE-K-DEP"),  # another role
        shift("C", "duty_officer", "2026-03-01T00:00", "2026-03-02T00:00", post="C-EM-HEAD"),  # another person
        shift("C", "duty_officer", "2026-03-01T00:00", "2026-03-02T00:00", person="PE-NEW"),
    ])
    d["people"].append({"id": "PE-NEW", "name": "新人"})
    d["tenures"] = [t for t in d["tenures"] if t["post_id"] != "C-EM-HEAD"] + [
        {"person_id": "PE-C-EM-HEAD", "post_id": "C-EM-HEAD", "start": "2020-01-01", "end": "2026-02-28",
         "acting": "false"},
        {"person_id": "PE-NEW", "post_id": "C-EM-HEAD", "start": "2026-03-02", "end": "", "acting": "false"}]
    # C-EM-HEAD is vacant on 1 March: its shift puts nobody on duty, so PE-NEW's shift that day is no double
    assert load(scenario.write(d, tmp_path)).tables["duty_shifts"]
    d["tenures"][-1]["start"] = "2026-03-01"
    with pytest.raises(InvalidDataset) as info:
        load(scenario.write(d, tmp_path))
    assert info.value.errors == [
        "duty_shifts:4: start: person 'PE-NEW' as duty_officer: overlaps the shift at row 3 — row 3 names post "
        "'C-EM-HEAD', held by 'PE-NEW' that day (ends 2026-03-02T00:00:00+08:00)"]


def test_the_week_cuts_shifts_to_its_window_and_has_the_same_gaps(session):
    week = duty.week(session, "2026-03-01T12:00", days=1)
    assert (week["from"], week["to"]) == ("2026-03-01T12:00:00+08:00", "2026-03-02T12:00:00+08:00")
    assert week["places"] == ["P", "C", "K", "K2"]
    assert [(s["jurisdiction_id"], s["role"], s["person_id"], s["start"][5:16], s["end"][5:16])
            for s in week["shifts"]] == [
        ("C", "leader_on_duty", "PE-C-HEAD", "03-01T12:00", "03-01T20:00"),
        ("C", "leader_on_duty", "PE-C-EXEC", "03-02T08:00", "03-02T12:00"),
        ("C", "duty_officer", "PE-C-EM-HEAD", "03-01T12:00", "03-02T12:00"),
        ("K", "leader_on_duty", "PE-K-HEAD", "03-01T12:00", "03-02T08:00"),
        ("K", "leader_on_duty", "PE-K-EXEC", "03-02T08:00", "03-02T12:00"),
        ("K", "duty_officer", "PE-K-EM-HEAD", "03-01T12:00", "03-02T00:00"),
        ("K", "duty_officer", "PE-K-HOUSING-HEAD", "03-02T00:00", "03-02T12:00"),
    ]
    assert week["gaps"] == duty.gaps(session, week["from"], week["to"])["gaps"]
    county = session.as_user(User("k", "viewer", "K"))
    assert {s["jurisdiction_id"] for s in duty.week(county, "2026-03-01")["shifts"]} == {"K"}
