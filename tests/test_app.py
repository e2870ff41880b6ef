"""The Streamlit explorer through Streamlit's AppTest (every page, its main widgets) and the helpers it
uses (``accountability.ui``), on a real SQLite store built from the hand-made scenario.

The scenario is ``scenario.base()`` on 2026-06-01 with:

- H1 urban gas at E1 in T, overdue 92 days (escalated to C); H2 major chemicals at E2 (in the park), not
  escalated; H3 construction at E3 in V; H4 tourism in K2 (no regulator anywhere), overdue; H5 closed;
- T-HEAD vacant from 2026-05-01; K-HEAD held by an acting head from 2026-03-01;
- incident A1 at E1 (3 deaths: a large accident) linked to H1;
- the township party secretary's name is markup, so that every page must show it as text.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import scenario
from streamlit.testing.v1 import AppTest

from accountability import graphview, queries, ui, uploads
from accountability.dataset import load
from accountability.errors import InvalidDataset, NotFound, UsageError
from accountability.session import Session
from accountability.stores.sqlite import SQLiteStore
from accountability.names import Labels

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
ON = "2026-06-01"
HOSTILE = '<img src=x onerror="window.top.__xss=1">[点我](http://evil.example) :red[假]'
PAGES = {
    "overview": {},
    "explore": {"entity": "organizations:E1"},
    "hazard": {"hazard": "H1"},
    "official": {"person": "PE-K-HEAD"},
    "gaps": {},
    "queries": {},
    "report": {"incident": "A1"},
    "data": {},
}


def app_data() -> dict:
    data = scenario.base()
    h = scenario.hazard
    data["hazards"] += [
        h("H2", "hazardous_chemicals", "T", "E2", level="major", found_on="2026-02-01", deadline="2026-08-01"),
        h("H3", "construction", "V", "E3", found_on="2025-12-01", deadline="2026-07-01"),
        h("H4", "tourism", "K2", found_on="2026-03-01", deadline="2026-04-01"),
        h("H5", "urban_gas", "T", "E1", found_on="2026-01-01", status="closed", closed_on="2026-04-01"),
    ]
    data["hazards"][0]["deadline"] = "2026-03-01"
    data["people"] += [{"id": "PX-KHEAD", "name": "代理区长"}]
    for tenure in data["tenures"]:
        if tenure["post_id"] == "K-HEAD":
            tenure["end"] = "2026-02-28"
        if tenure["post_id"] == "T-HEAD":
            tenure["end"] = "2026-04-30"
    data["tenures"].append({"person_id": "PX-KHEAD", "post_id": "K-HEAD", "start": "2026-03-01", "end": "",
                            "acting": "true"})
    for person in data["people"]:
        if person["id"] == "PE-T-SEC":
            person["name"] = HOSTILE
    data["incidents"] = [{"id": "A1", "title": "青石燃气爆炸事故", "occurred_on": "2026-05-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 2,
                          "direct_loss_yuan": 5_000_000, "hazard_ids": "H1"}]
    return data


def build_store(folder: Path, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "app.db"
    with SQLiteStore(path) as store:
        store.write(load(scenario.write(data, folder)))
    return path


@pytest.fixture(autouse=True, scope="module")
def reference_v1():
    """This module's expectations were worked out under reference-v1 (the default is v2; the app under v2:
    tests/test_app_v2.py): the app and the sessions here use v1."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
        yield


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("app"), app_data())


@pytest.fixture
def session(store_path):
    with Session(str(store_path), readonly=True) as s:
        yield s


@pytest.fixture
def app(store_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = __import__("datetime").date.fromisoformat(ON)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(at: AppTest, page: str, **params: str) -> AppTest:
    for key in list(at.query_params):
        del at.query_params[key]
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def iframes(at: AppTest) -> list[str]:
    return [el.proto.srcdoc for el in at.get("iframe")]


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "warning", "info", "error", "success"):
        parts += [str(el.value) for el in getattr(at, kind)]
    return "\n".join(parts)


# -- every page -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_runs_in_both_languages(app, page, lang):
    app.sidebar.radio(key="global_lang").set_value(lang).run()
    open_page(app, page, **PAGES[page])
    assert app.title[0].value == ui_word(f"{page}.title", lang)
    assert not app.error, [e.value for e in app.error]


def ui_word(key: str, lang: str) -> str:
    import yaml

    section, name = key.split(".")
    return yaml.safe_load((ROOT / "app_pages" / "words.yaml").read_text(encoding="utf-8"))[section][name][lang]


def test_every_word_has_both_languages():
    import yaml

    words = yaml.safe_load((ROOT / "app_pages" / "words.yaml").read_text(encoding="utf-8"))
    for section, entries in words.items():
        for name, word in entries.items():
            assert set(word) == {"zh", "en"}, f"{section}.{name}"
            assert all(isinstance(v, str) and v.strip() for v in word.values()), f"{section}.{name}"


def test_missing_store_points_to_the_data_page(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "absent.db"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "absent.db" in at.info[0].value
    assert at.get("page_link")
    assert not (tmp_path / "absent.db").exists()  # looking does not create it


# -- overview -------------------------------------------------------------------------------------------------


def test_overview_counts_and_links(app, session):
    open_page(app, "overview")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["未整改隐患"] == "4"  # H1-H4; H5 closed
    assert metrics["逾期未整改"] == "2"  # H1 (92 days), H4 (61 days)
    assert metrics["重大隐患"] == "1"
    assert metrics["重大隐患未挂牌督办"] == "1"
    assert metrics["近一年事故"] == "1"
    overdue = app.dataframe[0].value
    assert list(overdue["隐患编号"]) == ["H1", "H4"]
    assert list(overdue["逾期天数"]) == [92, 61]
    links = {(link.proto.page, link.proto.query_string) for link in app.get("page_link")}
    assert ("hazard", "hazard=H1") in links and ("report", "incident=A1") in links
    assert ("official", "person=PE-K-SEC") in links  # the county's secretary answers for H1-H3
    officials = app.dataframe[2].value
    assert list(officials["涉及隐患数"])[:5] == [3, 3, 3, 3, 3]
    assert "4 个未整改隐患，其中 4 个" in texts(app)
    app.selectbox(key="ov_scope").set_value("C").run()
    assert list(app.dataframe[2].value["人员编号"]) == list(officials["人员编号"])


def test_overview_agrees_with_the_engine_and_the_named_queries(session):
    data = ui.hazard_summary(session, ON)
    chains = list(session.trace_all(ON))
    assert data["totals"]["unresolved"] == len(chains)
    gaps = [{g["kind"] for g in c.gaps} for c in chains]
    assert data["totals"]["overdue"] == sum("overdue" in k for k in gaps)
    assert data["totals"]["unescalated_major"] == sum("unescalated_major" in k for k in gaps)
    with queries.run("overdue-hazards", session, as_of=ON) as overdue:
        assert [r["hazard_id"] for r in data["overdue"]] == [r["hazard_id"] for r in overdue]
    assert sum(r["unresolved"] for r in data["by_city"]) == data["totals"]["unresolved"]
    assert {r["jurisdiction_id"] for r in data["by_city"]} == {"C"}
    for scope in (None, "K", "T"):
        ranking = queries.exposure_ranking(session, ON, scope)
        with queries.run("official-exposure", session, as_of=ON, jurisdiction=scope) as rows:
            expected = [(r["person_id"], r["hazards"], r["principal_leadership"]) for r in rows]
        assert [(r["person_id"], r["hazards"], r["principal_leadership"]) for r in ranking["officials"]] \
            == expected[:50]
    assert queries.exposure_ranking(session, ON, "K2")["with_gaps"] == 1  # H4: no regulator


# -- explore --------------------------------------------------------------------------------------------------


def test_explore_draws_the_neighbourhood_offline(app):
    open_page(app, "explore", entity="organizations:E1")
    (page,) = iframes(app)
    assert "<canvas" not in page  # drawn by vis-network in the browser, from inlined code:
    assert "new vis.Network" in page
    assert not _external_refs(page)
    nodes = app.selectbox(key="ex_node").options
    assert any("总经理" in n for n in nodes) and any("青石镇" in n for n in nodes)


def _external_refs(page: str) -> list[str]:
    import re

    return re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+""", page)


def test_explore_depth_search_and_recenter(app):
    open_page(app, "explore", entity="organizations:E1")
    one = len(app.selectbox(key="ex_node").options)
    app.slider(key="ex_depth").set_value(2).run()
    two = len(app.selectbox(key="ex_node").options)
    assert two > one
    app.text_input(key="ex_q").set_value("青石燃气").run()
    results = app.selectbox(key="ex_result")
    assert "organizations:E1" in results.options[0] or any("E1" in o for o in results.options)
    app.selectbox(key="ex_node").set_value("posts:E1-GM").run()
    app.button(key="ex_recenter").click().run()
    assert app.query_params["entity"] == ["posts:E1-GM"] or app.query_params["entity"] == "posts:E1-GM"
    assert "总经理" in app.subheader[0].value


def test_explore_caps_the_drawing(tmp_path, monkeypatch):
    data = app_data()
    data["organizations"] += [{"id": f"EX{i:03d}", "name": f"企业{i:03d}", "kind": "enterprise",
                               "jurisdiction_id": "T", "industries": "construction"} for i in range(180)]
    path = build_store(tmp_path, data)
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(path))
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "explore", entity="jurisdictions:T", group="0")  # grouped, they would be one node
    assert len(at.selectbox(key="ex_node").options) == 150
    (warning,) = at.warning
    assert "另有" in warning.value and "生产经营单位" in warning.value


def test_neighbourhood_keeps_structure_first_and_counts_the_rest(session):
    labels = Labels(session, "zh")
    full = graphview.neighbourhood(session, "jurisdictions:T", labels, ON, depth=1, cap=150)
    capped = graphview.neighbourhood(session, "jurisdictions:T", labels, ON, depth=1, cap=4)
    assert capped.graph.number_of_nodes() == 4
    assert capped.hidden == full.graph.number_of_nodes() - 4
    kinds = [capped.graph.nodes[n]["kind"] for n in capped.graph if n != capped.center]
    assert kinds[0] == "jurisdictions"
    assert "enterprise" not in kinds and "hazards" not in kinds
    with pytest.raises(UsageError):
        graphview.neighbourhood(session, "jurisdictions:T", labels, ON, depth=4)
    with pytest.raises(NotFound):
        graphview.neighbourhood(session, "jurisdictions:NOPE", labels, ON)
    with pytest.raises(NotFound):
        graphview.neighbourhood(session, "tables:T", labels, ON)


def test_hazard_neighbours_include_its_chain(session):
    hood = graphview.neighbourhood(session, "hazards:H1", Labels(session, "en"), ON, depth=1)
    accountable = [u for u, v, a in hood.graph.edges(data=True) if a["rel"] == "ACCOUNTABLE_FOR"]
    assert {node.split(":")[1] for node in accountable} == {link.post_id for link in session.trace("H1", ON).links}


# -- pyvis output is offline and inert ------------------------------------------------------------------------


def test_graph_html_shows_names_as_text(session):
    import networkx as nx

    g = nx.DiGraph()
    # "href" in a tooltip makes pyvis switch to its own popup, which would set innerHTML
    g.add_node("people:X", kind="people", name=HOSTILE, title=HOSTILE + " href")
    g.add_node("posts:Y", kind="posts", name="岗位</script><script>alert(1)</script>", title="岗位")
    g.add_edge("people:X", "posts:Y", label="任职")
    page = graphview.graph_html(g, "zh")
    assert "<img src=x" not in page and "</script><script>alert" not in page
    assert "popup.innerHTML" not in page and "popup.innerText = nodeData[0].title;" in page
    assert not _external_refs(page)
    assert "行政区域" not in page and "人员" in page and "岗位" in page  # the legend lists the kinds drawn


def test_chain_graph_follows_every_path(session):
    hazard, _ = session.hazard("H1")
    chain = session.trace("H1", ON)
    g = graphview.chain_graph(session, chain, hazard, Labels(session, "zh"))
    for i, link in enumerate(chain.links):
        assert any(i in a["links"] for _, _, a in g.edges(data=True))
        assert f"posts:{link.post_id}" in g
        for h in link.holders:
            assert g.has_edge(f"posts:{link.post_id}", f"people:{h.person_id}")
    assert g.has_edge("jurisdictions:K", "jurisdictions:C")  # the escalation of H1 to the city


# -- hazard ---------------------------------------------------------------------------------------------------


def test_hazard_page_chain_explanations_graph_and_timeline(app, session):
    open_page(app, "hazard", hazard="H1")
    chain = session.trace("H1", ON)
    table = app.dataframe[0].value
    assert len(table) == sum(max(1, len(link.holders)) for link in chain.links)
    assert set(table["责任程度"]) == {"主要领导责任", "重要领导责任", "直接责任"}
    assert "逾期未整改" in texts(app) and "92" in texts(app)
    assert "《中华人民共和国安全生产法》第五条" in texts(app)
    graph, = iframes(app)
    assert "new vis.Network" in graph
    app.selectbox(key="hz_highlight").set_value(0).run()
    assert not app.exception
    timeline = app.dataframe[1].value
    assert "代理区长（代理）" not in set(timeline["在任人员"])  # names are names; acting is its own column
    assert {"人员10", "代理区长"} <= set(timeline["在任人员"])  # K-HEAD changed hands while H1 was open


def test_hazard_page_picks_and_reports_unknown_ids(app):
    open_page(app, "hazard")
    assert app.info  # asks for a hazard
    app.selectbox(key="hz_list").set_value("H2").run()
    assert app.query_params["hazard"] in ("H2", ["H2"])
    open_page(app, "hazard", hazard="NOPE")
    assert "NOPE" in app.error[0].value


@pytest.mark.parametrize("page, box, found", [("hazard", "hz_q", "hz_found"), ("official", "of_q", "of_pick")])
def test_a_search_that_finds_nothing_says_so(app, page, box, found):
    open_page(app, page)
    app.text_input(key=box).input("zzzz' OR '1'='1").run()
    assert not app.exception and "未找到。" in texts(app)
    assert not [b for b in app.selectbox if b.key == found]  # no empty list to open
    app.text_input(key=box).input("H1" if page == "hazard" else "人员").run()
    assert [b for b in app.selectbox if b.key == found]


def test_closed_hazard_shows_its_last_open_day(app):
    open_page(app, "hazard", hazard="H5")
    assert "2026-03-31" in texts(app)


# -- official -------------------------------------------------------------------------------------------------


def test_official_page_lists_posts_and_hazards(app, session):
    open_page(app, "official", person="PE-K-EXEC")
    posts, portfolios, hazards = (d.value for d in app.dataframe)
    assert list(posts["岗位"]) == ["东湖区人民政府 常务副区长"]
    assert "安全生产（全面）" in set(portfolios["分管范围"])
    with queries.run("official-exposure", session, person="PE-K-EXEC", as_of=ON) as rows:
        expected = sorted(r["hazard_id"] for r in rows)
    assert sorted(hazards["隐患编号"]) == expected


@pytest.mark.parametrize("person", ["PE-K-HEAD", "PX-KHEAD", "PE-E1-GM", "PE-PARK-DIR", "PE-C-SEC", "PE-T-SEC"])
def test_person_exposure_equals_the_query(session, person):
    fields = ("hazard_id", "post_id", "duty", "degree", "escalated")
    with queries.run("official-exposure", session, person=person, as_of=ON) as rows:
        expected = sorted(tuple(r[f] for f in fields) for r in rows)
    got = sorted(tuple(r[f] for f in fields) for r in ui.person_exposure(session, person, ON))
    assert got == expected


def test_names_are_shown_as_text(app):
    open_page(app, "official", person="PE-T-SEC")
    header = app.header[0].value
    assert "\\[点我\\]\\(http" in header and ":red\\[" in header
    assert "[点我](http" not in header


# -- gaps and queries -------------------------------------------------------------------------------------------


def test_gaps_page(app):
    open_page(app, "gaps")
    table = app.dataframe[0].value
    assert {"无行业监管部门", "岗位空缺"} <= set(table["缺口类型"])
    assert app.get("download_button")
    app.selectbox(key="gp_kind").set_value("vacant_post").run()
    assert set(app.dataframe[0].value["缺口类型"]) == {"岗位空缺"}


@pytest.mark.parametrize("name", [q.name for q in queries.catalog()])
def test_every_named_query_runs_from_its_form(app, name):
    open_page(app, "queries")
    app.selectbox(key="qr_name").set_value(name).run()
    required = {"hazard": "H1", "person": "PE-K-HEAD", "post": "K-HEAD"}
    query = queries.get(name)
    for param in query.parameters.values():
        if param.required:
            value = required.get(param.type) or {"start": "2026-04-28", "end": "2026-05-05"}[param.name]
            app.text_input(key=f"qr_{name}_{param.name}").set_value(value)
    if name == "who-held":
        app.selectbox(key=f"qr_{name}_role").set_value("government_head")
    app.button[0].click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.dataframe, name
    csv = app.get("download_button")
    assert csv


def test_query_errors_are_messages(app):
    open_page(app, "queries")
    app.selectbox(key="qr_name").set_value("chain").run()
    app.button[0].click().run()  # the required hazard left empty: said by the form's words, nothing asked
    assert [e.value for e in app.error] == ["请填写必填项（*）：隐患编号"] and not app.dataframe
    app.text_input(key="qr_chain_hazard").set_value("NOPE")
    app.button[0].click().run()
    assert "NOPE" in app.error[0].value
    app.selectbox(key="qr_name").set_value("duty-on").run()
    app.text_input(key="qr_duty-on_at").set_value("not a time")
    app.button[0].click().run()
    assert [e.value.replace("\\", "") for e in app.error] == [  # markdown escapes; the field by its words
        "查询时刻（如 2026-03-01T08:30）；默认当前：“not a time”不是日期时间（应为 YYYY-MM-DDTHH:MM，ISO 8601）"]
    app.selectbox(key="qr_name").set_value("official-exposure").run()
    app.text_input(key="qr_official-exposure_person").set_value("NOBODY")
    app.button[0].click().run()
    assert app.error[0].value.replace("\\", "").endswith("：未找到人员“NOBODY”")
    assert "official-exposure" not in app.error[0].value


# -- report ---------------------------------------------------------------------------------------------------


def test_report_page_previews_and_offers_downloads(app):
    open_page(app, "report", incident="A1")
    (preview,) = iframes(app)
    assert "青石燃气爆炸事故" in preview
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["下载 MD", "下载 DOCX", "下载 PDF"]
    app.radio(key="rp_lang").set_value("en").run()
    (preview,) = iframes(app)
    assert "Large accident" in preview or "large" in preview.lower()


# -- data -----------------------------------------------------------------------------------------------------


def test_data_page_validates_then_imports(tmp_path, monkeypatch):
    target = tmp_path / "new.db"
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(target))
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "data")
    bad = app_data()
    bad["tenures"][0]["post_id"] = "NO-SUCH-POST"
    at.file_uploader(key="dt_file").set_value(("bad.json", json.dumps(bad).encode(), "application/json")).run()
    assert at.error and not at.get("button")
    errors = at.dataframe[-1].value
    assert "NO-SUCH-POST" in " ".join(map(str, errors.iloc[:, -1]))
    assert not target.exists()

    data = json.dumps(app_data(), ensure_ascii=False).encode()
    at.file_uploader(key="dt_file").set_value(("good.json", data, "application/json")).run()
    assert at.success
    at.button(key="dt_import").click().run()
    assert not at.exception
    assert target.exists()
    with SQLiteStore(target, readonly=True) as store:
        assert store.count("hazards") == 5
    open_page(at, "overview")
    assert {m.label: m.value for m in at.metric}["未整改隐患"]


def test_data_page_refuses_unsafe_archives(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "x.db"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "data")
    at.file_uploader(key="dt_file").set_value(("evil.zip", _zip({"../jurisdictions.csv": "id,name\n"}),
                                                "application/zip")).run()
    assert "outside the folder" in " ".join(map(str, at.dataframe[-1].value.iloc[:, -1]))


# -- uploads --------------------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return buf.getvalue()


def test_a_zipped_csv_folder_loads(tmp_path):
    from accountability.dataset import export

    folder = export(load(scenario.write(app_data(), tmp_path)), tmp_path / "csv")
    members = {f"dataset/{p.name}": p.read_bytes() for p in folder.glob("*.csv")}
    members["__MACOSX/._jurisdictions.csv"] = b"junk"
    path = uploads.save_upload("dataset.zip", _zip(members), tmp_path / "up")
    assert load(path).counts()["hazards"] == 5


@pytest.mark.parametrize("members, message", [
    ({"../x.csv": "a"}, "outside the folder"),
    ({"/etc/x.csv": "a"}, "outside the folder"),
    ({f"t{i}.csv": "a" for i in range(uploads.MAX_FILES + 1)}, "members"),
    ({"bomb.csv": b"0" * (5 * 1024 * 1024)}, "zip bomb"),
    ({"a/x.csv": "a", "b/y.csv": "b"}, "one folder"),
    ({"readme.txt": "a"}, "no dataset files"),
])
def test_unsafe_or_odd_archives_are_refused(tmp_path, members, message):
    with pytest.raises(InvalidDataset) as err:
        uploads.save_upload("x.zip", _zip(members), tmp_path)
    assert any(message in e for e in err.value.errors), err.value.errors
    assert not any(p.name == "x.csv" for p in tmp_path.parent.rglob("x.csv") if "etc" in str(p))


def test_symbolic_links_and_large_archives_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("link.csv")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    with pytest.raises(InvalidDataset, match="symbolic link"):
        uploads.save_upload("x.zip", buf.getvalue(), tmp_path)
    with pytest.raises(InvalidDataset, match="uncompressed"):
        uploads.extract_zip(io.BytesIO(_zip({"a.csv": "x" * 5000})), tmp_path / "small", max_bytes=1000)


def test_an_uploaded_workbook_loads(tmp_path):
    from accountability.dataset import export

    book = export(load(scenario.write(app_data(), tmp_path)), tmp_path / "data.xlsx")
    path = uploads.save_upload("名单.xlsx", book.read_bytes(), tmp_path / "up")
    assert path.name == "dataset.xlsx" and load(path).counts()["incidents"] == 1


def test_language_default_from_the_environment(store_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store_path))
    monkeypatch.setenv("ACCOUNTABILITY_LANG", "en")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.title[0].value == "Overview"


def test_uploads_of_other_kinds(tmp_path):
    with pytest.raises(InvalidDataset, match=r"x.exe: not a dataset file. Upload a .zip"):
        uploads.save_upload("x.exe", b"MZ", tmp_path)
    with pytest.raises(InvalidDataset, match=r"one CSV file is one table.*\(jurisdictions.csv, .*hazards.csv"):
        uploads.save_upload("hazards.csv", b"id\nH1\n", tmp_path)
    with pytest.raises(InvalidDataset, match="xlsx"):
        uploads.save_upload("x.xlsx", b"not a zip", tmp_path)
    assert uploads.save_upload("../../a.json", b"{}", tmp_path) == tmp_path / "dataset.json"


def test_column_words_are_distinct():
    import yaml

    columns = yaml.safe_load((ROOT / "app_pages" / "words.yaml").read_text(encoding="utf-8"))["cols"]
    for lang in ("zh", "en"):
        # a table may show any of them side by side, and pyarrow refuses duplicate headers
        words = [w[lang] for name, w in columns.items() if name != "posts"]
        assert len(words) == len(set(words)), lang


def test_big_scopes_wait_for_a_click(app, monkeypatch):
    from app_pages import common

    monkeypatch.setattr(common, "BIG_SCOPE", 3)  # the scenario's six jurisdictions count as a province
    open_page(app, "gaps")
    assert not app.dataframe and app.button(key=f"gp_run_None_None_{ON}")
    app.button(key=f"gp_run_None_None_{ON}").click().run()
    assert app.dataframe
    app.selectbox(key="gp_kind").set_value("vacant_post").run()  # another scope: asks again
    assert not app.dataframe
    app.selectbox(key="gp_kind").set_value(None).run()  # the confirmed one: remembered
    assert app.dataframe
    open_page(app, "official", person="PE-C-SEC")
    key = f"of_trace_PE-C-SEC_{ON}"
    assert len(app.dataframe) == 1 and app.button(key=key)  # posts only: the hazards wait
    app.button(key=key).click().run()
    assert len(app.dataframe) == 2 and len(app.dataframe[1].value) == 2  # H1 (escalated to C), H4


# -- rough edges (#19 items 6 and 9) ----------------------------------------------------------------------------


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("lang, word", [("zh", "请选择"), ("en", "Choose an option")])
def test_select_boxes_speak_the_pages_language(store_path, monkeypatch, page, lang, word):
    """Streamlit's own placeholder is English ("Choose an option"); every select box gives its own."""
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store_path))
    monkeypatch.setenv("ACCOUNTABILITY_LANG", lang)
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = __import__("datetime").date.fromisoformat(ON)
    open_page(at.run(), page, **PAGES[page])
    boxes = list(at.selectbox) + list(at.multiselect)
    assert boxes or page in ("data", "official"), page
    assert {b.proto.placeholder for b in boxes} <= {word}


@pytest.mark.parametrize("raw", ["1800-01-01", "3000-01-01", "2026-02-30", "not-a-date"])
def test_an_as_of_date_in_the_address_that_cannot_be_used_is_said_and_today_is_used(store_path, monkeypatch, raw):
    """The date widget refuses dates outside its years with a traceback of its own: checked first."""
    from accountability.dates import today

    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store_path))
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["hazard"] = "H1"
    at.query_params["as_of"] = raw
    at.switch_page("app_pages/hazard.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "无法使用" in texts(at) and raw in texts(at)
    assert at.session_state["global_as_of"].isoformat() == today()


def test_a_dataset_limit_setting_that_makes_no_sense_is_said_on_upload(tmp_path, monkeypatch):
    from accountability import dataset

    monkeypatch.setattr(dataset, "LIMITS_ERROR", "ACCOUNTABILITY_DATASET_MAX_ROWS: 'abc' is not a whole number")
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "new.db"))
    at = open_page(AppTest.from_file(APP, default_timeout=30).run(), "data")
    at.file_uploader(key="dt_file").set_value(("d.json", json.dumps(app_data()).encode(), "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "ACCOUNTABILITY_DATASET_MAX_ROWS" in at.error[0].value.replace("\\", "") and not at.get("button")


def test_the_data_page_shows_warnings_and_refuses_numbers_beyond_64_bits(tmp_path, monkeypatch):
    target = tmp_path / "new.db"
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(target))
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "data")
    huge = app_data()
    huge["incidents"][0]["direct_loss_yuan"] = str(2 ** 64)
    at.file_uploader(key="dt_file").set_value(("huge.json", json.dumps(huge).encode(), "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.error and not at.get("button")
    assert "too large" in " ".join(map(str, at.dataframe[-1].value.iloc[:, -1]))

    linked = app_data()
    linked["incidents"][0]["hazard_ids"] = "H1;H4"  # H4 lies in county K2, the incident in K
    at.file_uploader(key="dt_file").set_value(("linked.json", json.dumps(linked).encode(), "application/json")).run()
    assert at.success and at.warning and "1" in at.warning[0].value
    assert "hazard 'H4' lies in 'K2', outside the incident's county 'K'" in " ".join(
        map(str, at.dataframe[-1].value.iloc[:, -1]))
    at.button(key="dt_import").click().run()  # a warning does not stop the import
    assert not at.exception and target.exists()


def test_the_hazard_page_survives_dates_stored_before_they_were_bounded(tmp_path, monkeypatch):
    """A store imported before validation bounded dates to 1900–2200 may hold 9999-12-31: the page shows it."""
    data = load(scenario.write(app_data(), tmp_path))
    names = data.schema.tables["hazards"].names
    found, deadline = names.index("found_on"), names.index("deadline")
    data.tables["hazards"] = [r[:found] + ("9999-12-31", "9999-12-31") + r[deadline + 1:] if r[0] == "H2" else r
                              for r in data.tables["hazards"]]
    assert deadline == found + 1
    with SQLiteStore(tmp_path / "old.db") as store:
        store.write(data)
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "old.db"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["global_as_of"] = __import__("datetime").date.fromisoformat(ON)
    at.run()
    open_page(at, "hazard", hazard="H2")
    assert "9999-12-31" in texts(at) and at.dataframe


# -- issue #20, item 5: uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, words", [("zh", ["zip", "xlsx", "JSON", "hazards.csv", "events.csv"]),
                                         ("en", ["a zip of the folder", "xlsx", "JSON", "hazards.csv"])])
def test_a_plain_csv_upload_is_told_what_to_upload(tmp_path, monkeypatch, lang, words):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "x.db"))
    monkeypatch.setenv("ACCOUNTABILITY_LANG", lang)
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "data")
    at.file_uploader(key="dt_file").set_value(("hazards.csv", b"id,description\nH1,x\n", "text/csv")).run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "hazards.csv" in message and all(w in message for w in words), message
    assert not at.get("button")


def test_table_level_errors_show_no_none(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(tmp_path / "x.db"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    open_page(at, "data")
    bad = app_data()
    del bad["people"]
    bad["nonsense"] = [{"a": 1}]
    at.file_uploader(key="dt_file").set_value(("bad.json", json.dumps(bad).encode(), "application/json")).run()
    table = at.dataframe[-1].value
    cells = [str(v) for v in table.to_numpy().ravel()]
    # a table of the contract, in words with its file, in the table column; the reason in the UI's language
    assert "人员（people.csv）" in cells and "缺少此表" in cells
    assert any(c.startswith("nonsense: unknown table") for c in cells)
    assert not any(c in ("None", "nan", "<NA>") for c in cells), cells


# -- what the hazard page says about the level above, the gaps' dates, the exports (#20 items 2 and 4) ---------


def test_the_hazard_page_says_why_the_level_above_answers_and_since_when_gaps_are(app):
    at = open_page(app, "hazard", hazard="H1")  # general, 92 days overdue, never escalated: reaches C
    reasons = {v for v in at.dataframe[0].value["上溯"] if v}
    assert reasons == {"上溯：逾期 92 天；未挂牌督办"}
    assert "挂牌督办）" not in texts(at)  # no link claims a 挂牌督办 that never happened
    warnings = [w.value for w in at.warning]
    assert any("逾期未整改" in w and w.endswith("自 2026-03-02") for w in warnings), warnings
    assert any("岗位空缺" in w and w.endswith("自 2026-05-01") for w in warnings), warnings  # T-HEAD left 04-30
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载责任链条（CSV）", "下载责任链条（XLSX）", "下载责任链条（DOCX）"]


def test_the_chain_export_has_words_and_codes(session):
    hazard, events = session.hazard("H1")
    chain = session.trace("H1", as_of=ON)
    L = Labels(session, "zh")
    headers = {k: k for k in ("n", "post", "holder", "since", "duty", "degree", "basis", "place", "rules",
                              "escalated", *ui.EXPORT_HEADERS)}
    gaps = ui.gaps_since(session, chain, hazard, events)
    sheets = ui.chain_export(chain, L, headers, L.escalation(ui.escalation(session, hazard, events, ON)), gaps,
                             ("链条", "缺口"))
    text = ui.export_bytes(sheets, "csv", "t").decode("utf-8-sig")
    rows = list(__import__("csv").DictReader(io.StringIO(text)))
    assert {r["duty"] for r in rows} >= {"企业主体责任", "行业监管责任"}  # labels …
    assert {r["duty_code"] for r in rows} >= {"enterprise_main", "sector_supervision"}  # … and codes beside them
    assert any(r["escalated"] == "上溯：逾期 92 天；未挂牌督办" for r in rows)
    for fmt, magic in (("xlsx", b"PK"), ("docx", b"PK")):
        assert ui.export_bytes(sheets, fmt, "t").startswith(magic)
    with zipfile.ZipFile(io.BytesIO(ui.export_bytes(sheets, "docx", "标题"))) as doc:
        assert "企业主体责任" in doc.read("word/document.xml").decode()
