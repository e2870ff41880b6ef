"""The explorer's view through Streamlit's AppTest, on the small demo province: grouping a unit's many
hazards and enterprises (and expanding a group), the filter by kind, the focus on paths, the legend, the
columns drawn around one entity, and the view kept in the URL's query parameters (a saved view)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import networkx as nx
import pytest
from streamlit.testing.v1 import AppTest

from accountability import graphview, names
from accountability.demo import TODAY
from accountability.session import Session

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
COUNTY = "jurisdictions:C01-K02"  # in the small demo: 150 nodes drawn and 129 more hidden at depth 2, ungrouped


@pytest.fixture
def explore(small_demo_store, monkeypatch):
    """The explorer opened at a URL with these query parameters, in a session of its own (as a bookmark
    opens it: the widgets of an earlier view would otherwise keep their state)."""
    monkeypatch.setenv("ACCOUNTABILITY_STORE", str(small_demo_store))

    def open_at(lang: str = "zh", **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["global_as_of"] = dt.date.fromisoformat(TODAY)
        at.session_state["global_lang"] = lang
        at.run()
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page("app_pages/explore.py").run()
        assert not at.exception, [e.message for e in at.exception]
        return at

    return open_at


def nodes(at: AppTest) -> list[str]:
    return list(at.selectbox(key="ex_node").options)


def graph(at: AppTest) -> str:
    (page,) = [el.proto.srcdoc for el in at.get("iframe")]
    return page


def drawn_ids(page: str) -> set[str]:
    """The nodes the vis-network page draws."""
    data = re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1)
    return set(re.findall(r'"id": "([^"]+)"', data))


def url(at: AppTest) -> dict[str, str]:
    return {k: at.query_params[k] if isinstance(at.query_params[k], str) else at.query_params[k][0]
            for k in at.query_params}


# -- grouping ----------------------------------------------------------------------------------------------------


def test_grouping_draws_a_county_without_hiding_anything(explore):
    app = explore(entity=COUNTY, depth="2", group="0")
    ungrouped = nodes(app)
    assert len(ungrouped) == 150 and app.warning  # the cap: the rest hidden, said in a warning
    app = explore(entity=COUNTY, depth="2")
    grouped = nodes(app)
    assert len(grouped) < 100 and not app.warning
    groups = [n for n in grouped if "×" in n]
    assert len(groups) >= 4
    assert any(n.startswith("事故隐患 ×") for n in groups) and any(n.startswith("生产经营单位 ×") for n in groups)
    alone = sum(n.startswith("事故隐患 · ") for n in grouped)  # those of units with fewer than GROUP_MIN
    assert alone < sum(n.startswith("事故隐患 · ") for n in ungrouped) / 4


def test_a_group_counts_its_members_and_expands_on_demand(explore, small_demo_store):
    app = explore(entity=COUNTY)
    before = nodes(app)
    group = f"group:hazards@{COUNTY}"
    count = int(re.search(r"×(\d+)", next(n for n in before if n.startswith("事故隐患 ×"))).group(1))
    with Session(str(small_demo_store), readonly=True) as s:
        flat = graphview.neighbourhood(s, COUNTY, names.Labels(s, "zh"), TODAY, depth=1, cap=10_000)
    assert count == sum(a["kind"] == "hazards" for _, a in flat.graph.nodes(data=True))
    app.selectbox(key="ex_node").set_value(group).run()
    assert app.button(key="ex_expand_one").label == f"展开（{count} 个）"
    app.button(key="ex_expand_one").click().run()
    after = nodes(app)
    assert len(after) == len(before) - 1 + count
    assert sum(n.startswith("事故隐患 · ") for n in after) == count
    assert url(app)["expand"] == group
    assert app.multiselect(key="ex_expand").value == [group]
    app.multiselect(key="ex_expand").set_value([]).run()  # folded again
    assert nodes(app) == before and "expand" not in url(app)


def test_grouping_leaves_a_few_hazards_alone(small_demo_store):
    with Session(str(small_demo_store), readonly=True) as s:
        L = names.Labels(s, "zh")
        for _, a in graphview.neighbourhood(s, COUNTY, L, TODAY, depth=2, group=True).graph.nodes(data=True):
            if a["kind"] == "group":
                assert a["count"] >= graphview.GROUP_MIN == len(a["members"]) or a["count"] == len(a["members"])
                assert a["of"] in graphview.GROUPED


# -- filter and focus ------------------------------------------------------------------------------------------


def test_the_type_filter_draws_only_the_kinds_chosen(explore):
    app = explore(entity=COUNTY, depth="2")
    app.multiselect(key="ex_types").set_value(["jurisdictions", "government"]).run()
    kinds = {n.split(" · ")[0] for n in nodes(app)}
    assert kinds == {"行政区域", "人民政府"}
    assert url(app)["types"] == "jurisdictions,government"
    ids = drawn_ids(graph(app))
    assert ids and all(i.startswith(("jurisdictions:", "organizations:")) for i in ids)


def test_focus_draws_only_the_paths_to_the_target(explore):
    app = explore(entity=COUNTY, depth="2")
    everything = drawn_ids(graph(app))
    app.selectbox(key="ex_focus").set_value("type:posts").run()
    focused = drawn_ids(graph(app))
    posts = {i for i in everything if i.startswith("posts:")}
    assert posts and posts <= focused < everything
    assert COUNTY in focused and not any(i.startswith("group:") for i in focused)
    assert re.search(rf"{len(focused)} 个节点（共 {len(everything)} 个）", "\n".join(c.value for c in app.caption))
    target = sorted(posts)[0]
    app.selectbox(key="ex_focus").set_value(target).run()
    one = drawn_ids(graph(app))
    assert target in one and COUNTY in one and 3 <= len(one) < len(focused)  # county → organization → post
    assert url(app)["focus"] == target


def test_focus_keeps_every_shortest_path():
    g = nx.DiGraph([("c", "a"), ("c", "b"), ("a", "t"), ("b", "t"), ("c", "x"), ("x", "y")])
    for n in g:
        g.nodes[n]["kind"] = "k"
    assert set(graphview.focus(g, "c", "t")) == {"c", "a", "b", "t"}
    assert set(graphview.focus(g, "c", "nowhere")) == {"c"}


# -- legend and layout -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, words", [
    ("zh", ["多个同类对象", "关系：箭头指向", "粗黑边框：中心对象", "事故隐患", "生产经营单位"]),
    ("en", ["Many of one kind", "A relation: the arrow points", "Thick black border", "Hazard", "Enterprise"]),
])
def test_the_legend_explains_colours_shapes_and_lines(explore, lang, words):
    app = explore(lang, entity=COUNTY)
    page = graph(app)
    legend = re.search(r'<div id="legend".*?</div>', page, re.DOTALL).group(0)
    for word in words:
        assert word in legend, word
    for node in nodes(app):  # every kind drawn, a group's members' too
        assert (node.split(" ×")[0] if "×" in node else node.split(" · ")[0]) in legend, node


def test_one_entity_s_neighbours_are_drawn_in_columns(explore):
    page = graph(explore(entity=COUNTY))
    assert '"hierarchical": {"enabled": true' in page.replace("\n", "")
    levels = dict(re.findall(r'"id": "([^"]+)"[^}]*?"level": (-?\d+)', page))
    assert levels[COUNTY] == "0" and {"-1", "1"} <= set(levels.values())  # columns either side of the centre
    per_column = [list(levels.values()).count(c) for c in set(levels.values()) - {"0"}]
    assert max(per_column) - min(per_column) <= 1 + max(per_column) // 2  # filled evenly, about
    assert '"level"' not in graph(explore(entity=COUNTY, depth="2"))  # deeper: the force layout


# -- saved views -----------------------------------------------------------------------------------------------


def test_the_view_round_trips_through_the_url(explore):
    app = explore(entity=COUNTY)
    app.slider(key="ex_depth").set_value(2).run()
    app.multiselect(key="ex_types").set_value(["jurisdictions", "department", "posts"]).run()
    app.toggle(key="ex_group").set_value(False).run()
    app.selectbox(key="ex_focus").set_value("organizations:C01-K02-EM").run()  # the emergency management bureau
    saved = url(app)
    assert saved == {"entity": COUNTY, "depth": "2", "group": "0", "types": "jurisdictions,department,posts",
                     "focus": "organizations:C01-K02-EM"}
    drawn, page = nodes(app), graph(app)

    other = explore(**saved)  # the link opened afresh, in another session
    assert other.slider(key="ex_depth").value == 2
    assert other.multiselect(key="ex_types").value == ["jurisdictions", "department", "posts"]
    assert other.toggle(key="ex_group").value is False
    assert other.selectbox(key="ex_focus").value == saved["focus"]
    assert nodes(other) == drawn and drawn_ids(graph(other)) == drawn_ids(page)
    assert url(other) == saved


def test_a_bad_view_in_the_url_is_ignored(explore):
    app = explore(entity=COUNTY, depth="9", types="nothing,posts", group="maybe", expand="junk", focus="posts:NOPE")
    assert app.slider(key="ex_depth").value == 1
    assert app.multiselect(key="ex_types").value == ["posts"]
    assert app.selectbox(key="ex_focus").value is None
    assert not app.exception


@pytest.mark.parametrize("lang, said", [("zh", "未找到人员“PE999999”"), ("en", "unknown person 'PE999999'")])
def test_an_unknown_entity_in_the_address_is_said_in_the_ui_s_language(explore, lang, said):
    at = explore(lang, entity="people:PE999999")
    assert [e.value for e in at.error] and said in at.error[0].value
