"""The Campaigns and Measures pages (issue #16) through Streamlit's AppTest, under reference-v2, on the hand-built
campaign scenario (tests/test_campaigns.py) with the measures of tests/test_measures.py, on 2026-10-01 — inside
the look-back LB (2026-09-01 … 10-31). What the pages must show was worked out by hand:

- comprehensive inspection CAMP in K: 3 enterprises in scope, 2 inspected (66.7 %), 1 hazard found, 1 order;
  E3 (in V) never inspected;
- look-back LB: H10 relapsed, H11 held, H12 relapsed (then held: a relapse counts) — 3 re-inspected, 1 held,
  2 relapsed; the plan with ``--sample 0`` is H10 alone (the one closed major hazard);
- measures: PM-01 (lead K-HOUSING, support K-EM) 93 days overdue, PM-02 and SC15-03 done: 4 assignments, 2 done,
  2 overdue, 1 measure overdue; its M1 links: K-HOUSING's head, K's deputy (urban gas) and executive deputy.

Users (access control on): ``a1`` auditor scoped to county K, ``t1`` auditor scoped to township T, ``w1`` viewer
scoped to K, ``x2`` auditor scoped to county K2, ``root`` auditor of everything.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import test_campaigns
import test_measures
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from test_access import HASH, PASSWORD
from test_app import APP, build_store, open_page, texts, ui_word

from accountability.dataset import from_store
from accountability.stores.sqlite import SQLiteStore
from graph_schema import SCHEMA

ON = "2026-10-01"
USERS = {
    "a1": {"password": HASH, "role": "auditor", "scope": "K"},
    "t1": {"password": HASH, "role": "auditor", "scope": "T"},
    "w1": {"password": HASH, "role": "viewer", "scope": "K"},
    "x2": {"password": HASH, "role": "auditor", "scope": "K2"},
    "root": {"password": HASH, "role": "auditor"},
}


def data() -> dict:
    d = test_campaigns.data()
    m = test_measures.data()
    for table in ("measures", "measure_assignments", "measure_reports"):
        d[table] = m[table]
    return d


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("app-campaigns"), data())


@pytest.fixture
def fresh_store(store_path, tmp_path):
    """A copy of the store that a test may write to."""
    path = tmp_path / "app.db"
    shutil.copyfile(store_path, path)
    return path


def app_on(path, monkeypatch, users: bool = False, lang: str = "zh") -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(path))
    monkeypatch.setenv("ACCOUNTABILITY_RULES", "reference-v2")
    monkeypatch.delenv("ACCOUNTABILITY_USERS", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    if users:
        at.secrets["users"] = USERS
    at.session_state["global_as_of"] = dt.date.fromisoformat(ON)
    at.session_state["global_lang"] = lang
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["global_user"].name == name
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def pick_campaign(at: AppTest, campaign_id: str) -> AppTest:
    at.selectbox(key="cp_campaign").set_value(campaign_id).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def cells(at: AppTest) -> str:
    return " ".join(" ".join(map(str, df.value.astype(str).values.ravel())) for df in at.dataframe)


# -- both pages, both languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, words", [
    ("zh", {"已复查隐患": "3", "整改有效": "1", "问题反弹": "2", "反弹率": "66.7%"}),
    ("en", {"Re-inspected": "3", "Held": "1", "Relapsed": "2", "Relapse rate": "66.7%"}),
])
def test_the_campaigns_page_shows_a_look_back_s_results(store_path, monkeypatch, lang, words):
    at = open_page(app_on(store_path, monkeypatch, lang=lang), "campaigns")
    assert at.title[0].value == ui_word("campaigns.title", lang)
    assert at.selectbox(key="cp_campaign").value == "LB"  # the latest campaign first
    assert metrics(at) == words
    assert not at.error
    signers = at.dataframe[2].value  # by jurisdiction, by department, by signer, then the plan
    assert list(signers.iloc[0])[:3] == ["东湖区住房和城乡建设局局长", "人员26", 2]  # two relapses: first
    repeated = ui_word("campaigns.col_repeated", lang)
    assert list(signers[repeated]) == ["✓", ""]
    plan = at.dataframe[3].value
    assert sorted(plan[ui_word("campaigns.col_hazard", lang)]) == ["H10", "H11", "H12", "H15", "H17"]
    assert ui_word("campaigns.entry", lang) in texts(at)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_campaigns_page_shows_coverage_by_jurisdiction_and_department(store_path, monkeypatch, lang):
    at = pick_campaign(open_page(app_on(store_path, monkeypatch, lang=lang), "campaigns"), "CAMP")
    m = {k: v for k, v in metrics(at).items()}
    assert m[ui_word("campaigns.m_in_scope", lang)] == "3" and m[ui_word("campaigns.m_inspected", lang)] == "2"
    assert m[ui_word("campaigns.m_coverage", lang)] == "66.7%" and m[ui_word("campaigns.m_orders", lang)] == "1"
    assert at.get("vega_lite_chart")  # the coverage chart
    by_place = at.dataframe[0].value  # the township level below the county: T only (V has no enterprise of its own
    assert list(by_place.iloc[0])[:2] == ["江南省 临江市 东湖区 青石镇", 66.7]  # … but counts in T's subtree)
    departments = at.dataframe[1].value
    assert list(departments[ui_word("campaigns.col_department", lang)]) == ["东湖区应急管理局", "东湖区住房和城乡建设局"]
    assert "石桥建筑工程有限公司" in cells(at)  # E3, never inspected
    at.selectbox(key="cp_level").set_value("village").run()
    assert list(at.dataframe[0].value.iloc[0])[:2] == ["江南省 临江市 东湖区 青石镇 石桥村", 0.0]


@pytest.mark.parametrize("lang, words", [
    ("zh", {"任务分解": "4", "已完成": "2", "逾期未完成": "2", "逾期措施": "1"}),
    ("en", {"Assignments": "4", "Done": "2", "Overdue": "2", "Measures overdue": "1"}),
])
def test_the_measures_page_shows_the_heatmap_overdue_first_and_who_answers(store_path, monkeypatch, lang, words):
    at = open_page(app_on(store_path, monkeypatch, lang=lang), "measures")
    assert at.title[0].value == ui_word("measures.title", lang)
    assert metrics(at) == words and not at.error
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["color"]["scale"]["domain"][0] == ui_word("measures.state_overdue", lang)
    table = at.dataframe[0].value
    days = ui_word("measures.col_days", lang)
    assert list(table[days]) == [93, 93, 0, 0]  # overdue first
    assert list(table[ui_word("measures.col_measure", lang)])[:2] == ["PM-01", "PM-01"]
    answering = at.dataframe[1].value
    assert sorted(answering[ui_word("measures.col_post", lang)]) == [
        "东湖区人民政府 副区长", "东湖区人民政府 常务副区长", "东湖区住房和城乡建设局局长"]


def test_the_official_page_and_the_ranking_show_the_overdue_measures_they_answer_for(store_path, monkeypatch):
    at = open_page(app_on(store_path, monkeypatch), "official", person="PE-K-HOUSING-HEAD")
    assert "2026-10-01 其应负责的逾期措施" in texts(at)
    table = next(df.value for df in at.dataframe if "措施编号" in df.value.columns)
    assert list(table.iloc[0][["措施编号", "逾期天数", "责任程度"]]) == ["PM-01", 93, "主要领导责任"]
    at = open_page(at, "overview")
    ranking = next(df.value for df in at.dataframe if "逾期措施" in df.value.columns)
    counts = dict(zip(ranking["人员编号"], ranking["逾期措施"]))
    assert counts["PE-K-HOUSING-HEAD"] == 1 and counts.get("PE-E1-GM", 0) == 0


# -- scope ------------------------------------------------------------------------------------------------------


def test_a_scoped_user_sees_their_jurisdiction_only(store_path, monkeypatch):
    at = sign_in(app_on(store_path, monkeypatch, users=True), "t1")  # township T
    at = pick_campaign(open_page(at, "campaigns"), "CAMP")
    assert set(at.selectbox(key="cp_campaign").options) == {"安全生产大检查 (CAMP)", "燃气专项整治 (GAS)",
                                                           "隐患整改回头看 (LB)"}
    assert metrics(at)["应检企业"] == "3"  # T's subtree holds all three
    assert at.selectbox(key="cp_level").options == ["乡镇（街道）", "村（社区）"]  # no county row: K is above T
    at = open_page(at, "measures")
    assert "范围内没有分解到单位的措施。" in texts(at)  # the assignments are the county's and the city's

    at = sign_in(app_on(store_path, monkeypatch, users=True), "a1")  # county K
    at = open_page(at, "measures")
    assert metrics(at)["任务分解"] == "3"  # not C-HOUSING's SC15-03
    assert "临江市住房和城乡建设局" not in cells(at)

    at = sign_in(app_on(store_path, monkeypatch, users=True), "x2")  # county K2: no campaign reaches it
    at = open_page(at, "campaigns")
    assert "数据库中没有您可查看的检查行动" in texts(at) and not at.dataframe


# -- entering a re-inspection -----------------------------------------------------------------------------------


def enter(at: AppTest, hazard: str, outcome: str = "relapsed", post: str = "", note: str = "", on: str = ON) -> AppTest:
    at.text_input(key="cp_hazard").input(hazard)
    at.date_input(key="cp_date").set_value(dt.date.fromisoformat(on))
    at.radio(key="cp_outcome").set_value(outcome)
    at.text_input(key="cp_post").input(post)
    at.text_input(key="cp_note").input(note)
    next(b for b in at.button if b.label == ui_word("campaigns.entry_submit", "zh")).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def held(path) -> tuple[str, int, list[dict]]:
    with SQLiteStore(path) as store:
        return from_store(store).content_hash(), len(list(store.audit_entries())), list(store.audit_entries())


def test_an_auditor_enters_a_reinspection_recorded_in_their_name(fresh_store, monkeypatch):
    before, entries, _ = held(fresh_store)
    at = open_page(sign_in(app_on(fresh_store, monkeypatch, users=True), "a1"), "campaigns")
    at = enter(at, "H11", "relapsed", "K-EM-HEAD", "整改后复发")
    assert "已保存：隐患 H11 于 2026-10-01 复查，结论“问题反弹”" in texts(at) and "录入人 a1" in texts(at)
    assert metrics(at)["问题反弹"] == "3" and metrics(at)["整改有效"] == "0"  # H11 relapsed now
    after, n, log = held(fresh_store)
    assert after != before and n == entries + 1
    assert log[-1]["user"] == "a1" and log[-1]["inserted"] == '{"events":1}'
    assert log[-1]["source"] == "reinspection H11 2026-10-01 relapsed entered by a1 (app)"
    with SQLiteStore(fresh_store) as store:
        (event,) = [e for e in store.rows("events", hazard_id="H11") if e["on"] == ON]
    assert (event["kind"], event["outcome"], event["post_id"], event["note"]) == \
        ("reinspected", "relapsed", "K-EM-HEAD", "整改后复发")


@pytest.mark.parametrize("hazard, post, message", [
    ("H1", "", "复查的隐患“H1”在 2026-10-01 及之前从未销号"),  # by the form's words, not the table's row
    ("NOPE", "", "隐患编号：未找到隐患“NOPE”"),
    ("H11", "NO-SUCH-POST", "复查岗位编号（可选）：未找到岗位“NO-SUCH-POST”"),
    ("H14", "", "access denied: hazard"),  # in K2, outside a1's county
])
def test_a_bad_reinspection_shows_why_and_stores_nothing(fresh_store, monkeypatch, hazard, post, message):
    before, entries, _ = held(fresh_store)
    at = open_page(sign_in(app_on(fresh_store, monkeypatch, users=True), "a1"), "campaigns")
    at = enter(at, hazard, post=post)
    shown = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes
    assert message in shown, shown
    assert "已保存" not in texts(at)
    assert held(fresh_store)[:2] == (before, entries)


def test_a_viewer_sees_the_results_but_cannot_enter_or_download(store_path, monkeypatch):
    at = open_page(sign_in(app_on(store_path, monkeypatch, users=True), "w1"), "campaigns")
    assert metrics(at)["已复查隐患"] == "3"
    assert "只有审计员（可运行查询的角色）可以录入复查结果。" in texts(at)
    assert not [w for w in at.text_input if w.key == "cp_hazard"]
    assert not at.get("download_button")


# -- the plan as a download ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, header", [
    ("zh", "隐患编号,单位编号,隐患单位,地区,行业领域,隐患等级,销号日期,签批岗位编号,销号签批岗位,复查岗位编号,应由谁复查,抽样权重"),
    ("en", "Hazard id,Unit id,Unit,Jurisdiction,Industry,Level,Closed on,Signer post id,Closure signed by,"
           "Re-inspecting post id,To be re-inspected by,Weight"),
])
def test_the_plan_downloads_as_csv_with_headers_in_the_page_s_language(store_path, monkeypatch, lang, header):
    at = open_page(app_on(store_path, monkeypatch, lang=lang), "campaigns")
    at.number_input(key="cp_sample").set_value(0).run()  # besides the major hazards, none: H10 alone
    gas, major = SCHEMA.label("industries", "urban_gas", lang), SCHEMA.label("hazard_levels", "major", lang)
    row = (f"H10,E1,青石燃气有限公司,江南省 临江市 东湖区 青石镇,{gas},{major},2026-01-20,K-HOUSING-HEAD,"
           "东湖区住房和城乡建设局局长,K-HOUSING-HEAD,东湖区住房和城乡建设局局长,3.0")
    expected = ("\ufeff" + header + "\n" + row + "\n").encode("utf-8")
    (button,) = at.get("download_button")
    assert button.proto.url.endswith(_calculate_file_id(expected, "text/csv", "lookback-plan-LB.csv") + ".csv")
