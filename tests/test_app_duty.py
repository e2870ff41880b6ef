"""The Duty page and the incident view's reporting timeline (issue #17) through Streamlit's AppTest, under
reference-v2, on the app's scenario (tests/test_app.py) with a week of duty and A1's reports:

- 东湖区 (K): leaders by person from 08:00 to 08:00 — the head and the executive deputy head in turn — except
  that the shift of 29 April ends at 20:00 (one uncovered night, 12 hours); officers by post, midnight to
  midnight; 临江市 (C): a leader on 1 May only, no officer; 江南省 (P) and 西山县 (K2): nobody.
- A1 (large, in 青石镇 under K) occurred on 1 May at 09:30: E1 → 东湖区应急管理局 10:00 (on time),
  E1 → 东湖区住建局 10:45 (15 minutes late), 东湖区应急管理局 → 临江市应急管理局 11:00, 东湖区住建局 →
  临江市住建局 never (missed), 临江市应急管理局 → 江南省应急管理厅 12:30.
"""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, ON, app_data, build_store, open_page, texts

from accountability.access import hash_password

PASSWORD = "值班-pw"
WEEK = [dt.date(2026, 4, 26) + dt.timedelta(days=i) for i in range(8)]  # 26 April … 3 May


def duty_data() -> dict:
    data = app_data()
    a1 = data["incidents"][0]
    a1["occurred_at"] = "2026-05-01T09:30"
    made = [("E1", "K-EM", "10:00"), ("E1", "K-HOUSING", "10:45"), ("K-EM", "C-EM", "11:00"), ("C-EM", "P-EM", "12:30")]
    data["incident_reports"] = [{"incident_id": "A1", "from_organization_id": a, "to_organization_id": b,
                                 "at": f"2026-05-01T{at}", "kind": "initial"} for a, b, at in made]
    shifts = []
    for i, day in enumerate(WEEK):
        end = "T20:00" if day == dt.date(2026, 4, 29) else "T08:00"
        shifts.append({"jurisdiction_id": "K", "person_id": ("PE-K-HEAD", "PE-K-EXEC")[i % 2], "role": "leader_on_duty",
                       "start": f"{day}T08:00", "end": f"{day if end == 'T20:00' else day + dt.timedelta(days=1)}{end}"})
        shifts.append({"jurisdiction_id": "K", "post_id": ("K-EM-HEAD", "K-HOUSING-HEAD")[i % 2],
                       "role": "duty_officer", "start": f"{day}T00:00", "end": f"{day + dt.timedelta(days=1)}T00:00"})
    shifts.append({"jurisdiction_id": "C", "post_id": "C-EXEC", "role": "leader_on_duty", "start": "2026-05-01T08:00",
                   "end": "2026-05-02T08:00"})
    data["duty_shifts"] = shifts
    return data


@pytest.fixture(scope="module")
def duty_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("app-duty"), duty_data())


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    return {p["id"]: p["name"] for p in duty_data()["people"]}


@pytest.fixture
def app(duty_store, monkeypatch) -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(duty_store))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    assert not at.exception, at.exception
    return at


def at_moment(at: AppTest, when: dt.datetime) -> AppTest:
    open_page(at, "duty")
    at.toggle(key="du_now").set_value(False).run()
    at.date_input(key="du_date").set_value(when.date()).run()
    at.time_input(key="du_time").set_value(when.time()).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


WORDS = {
    "zh": {"title": "值班值守", "place": "地区", "leader": "带班领导", "officer": "值班员", "post": "带班领导岗位",
           "nobody": "无人值守", "at": "2026-05-01 10:00 在岗值班人员", "week": "一周排班（2026-04-27 至 2026-05-03）",
           "gaps": "本周无人值守时段", "hours": "小时", "role": "类别"},
    "en": {"title": "Duty", "place": "Jurisdiction", "leader": "Leader on duty", "officer": "Duty officer",
           "post": "Leader's post", "nobody": "Nobody on duty", "at": "On duty at 2026-05-01 10:00",
           "week": "The week's roster (2026-04-27 to 2026-05-03)", "gaps": "Stretches nobody kept this week",
           "hours": "Hours", "role": "Kind"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_duty_page_shows_who_is_on_duty_and_the_weeks_gaps(app, names, lang):
    app.session_state["global_lang"] = lang
    at = at_moment(app, dt.datetime(2026, 5, 1, 10, 0))
    w = WORDS[lang]
    shown = texts(at).replace("\\", "")
    assert at.title[0].value == w["title"] and w["at"] in shown and w["week"] in shown
    table = at.dataframe[0].value
    rows = {r[w["place"]].split(" ")[-1]: r for _, r in table.iterrows()}
    assert list(rows) == ["江南省", "临江市", "东湖区", "西山县"]  # county and above, the highest first
    assert rows["东湖区"][w["leader"]] == names["PE-K-EXEC"]  # 1 May is the sixth day: the executive deputy
    assert rows["东湖区"][w["officer"]] == names["PE-K-HOUSING-HEAD"]
    assert rows["东湖区"][w["post"]] == ""  # a leader named by person: no post
    assert rows["临江市"][w["leader"]] == names["PE-C-EXEC"] and rows["临江市"][w["officer"]] == w["nobody"]
    assert rows["江南省"][w["leader"]] == rows["西山县"][w["officer"]] == w["nobody"]
    assert at.warning and "3" in at.warning[0].value  # P, C and K2 lack someone now
    assert at.get("vega_lite_chart")  # the week as a timeline
    gaps = at.dataframe[1].value
    k = gaps[gaps[w["place"]].str.endswith("东湖区")]
    assert list(k[w["hours"]]) == [12.0] and list(k[w["role"]]) == [w["leader"]]  # the night of 29 April
    assert w["gaps"] in shown


def chart(at: AppTest) -> tuple[dict, "pd.DataFrame"]:
    """The week chart's Vega-Lite spec and the rows it draws."""
    import json

    import pyarrow as pa

    proto = at.get("vega_lite_chart")[0].proto
    return json.loads(proto.spec), pa.ipc.open_stream(proto.datasets[0].data.data).read_pandas()


def test_the_week_chart_marks_each_uncovered_stretch(app):
    spec, rows = chart(at_moment(app, dt.datetime(2026, 5, 1, 10, 0)))
    assert spec["encoding"]["y"]["sort"] == [f"{j} · {r}" for j in ("江南省", "临江市", "东湖区", "西山县")
                                             for r in ("带班领导", "值班员")]
    assert spec["encoding"]["color"]["scale"] == {"domain": ["带班领导班次", "值班员班次", "无人值守"],
                                                  "range": ["#2471a3", "#17a589", "#c0392b"]}
    gaps = rows[rows["类别"] == "无人值守"]
    k = gaps[gaps["地区 · 职责"] == "东湖区 · 带班领导"]
    assert [(r.x, r.x2, r.小时) for r in k.itertuples()] == [("2026-04-29T20:00:00", "2026-04-30T08:00:00", 12.0)]
    whole = gaps[gaps["地区 · 职责"] == "西山县 · 值班员"]
    assert [(r.x, r.x2, r.小时) for r in whole.itertuples()] == [("2026-04-27T00:00:00", "2026-05-04T00:00:00", 168.0)]
    shifts = rows[rows["类别"] == "值班员班次"]
    assert len(shifts[shifts["地区 · 职责"] == "东湖区 · 值班员"]) == 7  # one a day, cut to the week


def test_a_county_user_sees_their_county_only(duty_store, monkeypatch, names):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(duty_store))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["users"] = {"k": {"password": hash_password(PASSWORD), "role": "viewer", "scope": "K"}}
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    at.text_input[0].input("k")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.session_state["global_user"].scope == "K"
    at_moment(at, dt.datetime(2026, 5, 1, 10, 0))
    table = at.dataframe[0].value
    assert [p.split(" ")[-1] for p in table["地区"]] == ["东湖区"]
    assert at.selectbox(key="du_jurisdiction").options == ["全部", "江南省 临江市 东湖区"]
    gaps = at.dataframe[1].value
    assert {p.split(" ")[-1] for p in gaps["地区"]} == {"东湖区"}
    spec, rows = chart(at)
    assert spec["encoding"]["y"]["sort"] == ["东湖区 · 带班领导", "东湖区 · 值班员"]
    assert set(rows["地区 · 职责"]) == {"东湖区 · 带班领导", "东湖区 · 值班员"}
    assert names["PE-C-EXEC"] not in texts(at) + table.to_string()


@pytest.mark.parametrize("lang, words", [
    ("zh", ("事故信息报告情况", "迟报15分钟", "漏报", "值班带班情况", "事故发生时", "无人值守")),
    ("en", ("Reporting of the incident", "15 min late", "Missed report", "On duty", "When the incident occurred",
            "nobody on duty")),
])
def test_the_incident_view_shows_the_reporting_timeline_and_who_was_on_duty(app, names, lang, words):
    app.session_state["global_lang"] = lang
    at = open_page(app, "report", incident="A1")
    assert words[0] in [s.value for s in at.subheader]
    assert at.get("image")  # the timeline figure
    steps, on_duty = at.dataframe[0].value, at.dataframe[1].value
    statuses = list(steps.iloc[:, -1])
    assert statuses[1] == words[1] and statuses[3] == words[2] and len(statuses) == 5
    assert list(steps.iloc[:, 1])[:2] == ["青石燃气有限公司"] * 2
    assert words[3] in texts(at)
    first = on_duty.iloc[0]
    assert first.iloc[1] == words[4] and first.iloc[2] == "东湖区" and first.iloc[3].startswith(names["PE-K-EXEC"])
    assert words[5] in on_duty.to_string()  # 临江市 keeps no officer's watch


def test_under_v1_the_incident_view_says_reporting_is_not_judged(duty_store, monkeypatch, tmp_path):
    import shutil

    store = tmp_path / "v1.db"  # a store of its own: the app keeps one session per store, with its rules
    shutil.copyfile(duty_store, store)
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.run()
    at = open_page(at, "report", incident="A1")
    assert not at.get("image") and "事故信息报告情况" not in [s.value for s in at.subheader]
    assert "该事故未记录发生时刻，或当前规则集不核查事故报告。" in texts(at)
