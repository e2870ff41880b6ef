"""The benchmarks, small enough for CI: the one command at small scale (``--smoke``) must print every row
of the table, and the two baselines must stay honest — the naive one gives the engine's chains, the lower
bound's JSONL is byte for byte what ``trace --all`` writes."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest
import scenario

from accountability.dates import Window

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `benchmarks` is not an installed package: it lives beside `tests`
    sys.path.insert(0, str(ROOT))

import benchmarks.report
import benchmarks.steps
from benchmarks.baselines import LowerBound, Naive, build_graph, comparable
from benchmarks.report import ROWS, TARGETS


@pytest.fixture(autouse=True, scope="module")
def reference_v1():
    """The baselines implement reference-v1 (the benchmarks run under it; see benchmarks/__init__.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCOUNTABILITY_RULES", "reference-v1")
        yield


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[str, Path]:
    data = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--data", str(data)], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, data


def test_smoke_prints_every_row_and_saves_the_table(smoke):
    out, data = smoke
    app = (ROOT / "app_pages" / "hazard.py").exists()
    for key, label in ROWS:
        if key == "## " or (key.startswith("app.") and not app):
            continue
        assert f"| {label} |" in out, f"missing row: {label}"
    for label, *_ in TARGETS:
        assert f"| {label} |" in out, f"missing target: {label}"
    assert "- machine: " in out and " cores, " in out and "- command: `python -m benchmarks --smoke" in out
    assert (data / "results-smoke.md").read_text(encoding="utf-8") == out.rstrip("\n") + "\n"
    assert not (ROOT / "benchmarks" / "results.md").exists() or "--smoke" not in (
        ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8")  # a smoke run never overwrites it


def test_smoke_baselines_agree_with_the_engine(smoke):
    out, _ = smoke
    row = next(line for line in out.splitlines() if line.startswith("| naive: chains equal"))
    agreed, checked = row.split("|")[2].strip().split(" of ")
    assert agreed == checked and int(checked) > 0
    assert "| lower bound's JSONL byte-identical to `trace --all`'s | yes |" in out


def test_smoke_reuses_the_generated_demo(smoke):
    _, data = smoke
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--no-app", "--data", str(data)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "generating" not in done.stderr
    assert "(cached)" in done.stdout


# -- the baselines on the hand-made scenario, every hazard on several dates ---------------------------------


def app_data() -> dict:
    """The scenario with hazards of every kind: overdue past 90 days (escalates), major unescalated, in the
    park, in a village, without a regulator, closed, with a deadline extension; a vacancy and an acting
    holder."""
    data = scenario.base()
    h = scenario.hazard
    data["hazards"] += [
        h("H2", "hazardous_chemicals", "T", "E2", level="major", found_on="2026-02-01", deadline="2026-08-01"),
        h("H3", "construction", "V", "E3", found_on="2025-12-01", deadline="2026-07-01"),
        h("H4", "tourism", "K2", found_on="2026-03-01", deadline="2026-04-01"),
        h("H5", "urban_gas", "T", "E1", found_on="2026-01-01", status="closed", closed_on="2026-04-01"),
    ]
    data["events"] = [
        {"hazard_id": "H3", "on": "2026-06-15", "kind": "deadline_extended", "deadline": "2026-08-31"},
        {"hazard_id": "H2", "on": "2026-07-01", "kind": "escalated"},
    ]
    data["people"].append({"id": "PX-KHEAD", "name": "代理区长"})
    for tenure in data["tenures"]:
        if tenure["post_id"] == "K-HEAD":
            tenure["end"] = "2026-02-28"
        if tenure["post_id"] == "T-HEAD":
            tenure["end"] = "2026-04-30"
    data["tenures"].append({"person_id": "PX-KHEAD", "post_id": "K-HEAD", "start": "2026-03-01", "end": "",
                            "acting": "true"})
    return data



@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from conftest import build_session

    s = build_session(tmp_path_factory.mktemp("baselines"), app_data())
    yield s
    s.close()


@pytest.mark.parametrize("on", ["2026-02-15", "2026-06-01", "2026-07-15", "2026-09-01"])
def test_naive_gives_the_engines_chains(session, on):
    naive = Naive(build_graph(session.store))
    records = list(session.store.hazard_records(ids=[h["id"] for h in app_data()["hazards"]]))
    assert len(records) == 5
    for hazard, events in records:
        ours = session.engine.chain(hazard, events, Window.on(on)).as_dict(session.ruleset)
        assert comparable(naive.chain(hazard, events, on)) == comparable(ours), hazard["id"]


def test_naive_sees_a_missing_principal(session):
    """The comparison can fail: drop E1's principal and the naive chain differs from the engine's."""
    naive = Naive(build_graph(session.store))
    hazard, events = session.hazard("H1")
    ours = session.trace("H1", as_of="2026-06-01").as_dict(session.ruleset)
    naive.g.remove_node("P:E1-GM")
    mine = naive.chain(hazard, events, "2026-06-01")
    assert {"kind": "no_principal", "organization_id": "E1"} in mine["gaps"]
    assert comparable(mine) != comparable(ours)


@pytest.mark.parametrize("on", ["2026-06-01", "2026-09-01"])
def test_lower_bound_writes_what_trace_all_writes(make_session, tmp_path, on):
    session = make_session(app_data())  # fresh: the graph is loaded whole, as in the benchmark's step
    lb = LowerBound(session, on)
    hazards, events = lb.read()
    joined = lb.join(hazards, events)
    assert lb.precompute(joined) > 0
    lb.write_jsonl(joined, tmp_path / "lb.jsonl")
    expected = b"".join(c.json(session.ruleset) + b"\n" for c in session.trace_all(on))
    assert (tmp_path / "lb.jsonl").read_bytes() == expected
    if on == "2026-06-01":
        assert list(joined["overdue_days"]) == [92, 0, 0, 61]  # H1, H2, H3, H4 (H5 closed)
    else:  # H2 past its deadline by 31 days, H3's extended deadline by 1
        assert list(joined["overdue_days"]) == [184, 31, 1, 153]


@pytest.mark.parametrize("module", [benchmarks.report, benchmarks.steps])
def test_docstrings_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_smoke_under_reference_v2_compares_with_the_v2_baselines(tmp_path):
    """The product's default ruleset: the naive baseline (the engine with nothing shared) gives the same chains,
    evidence and assessments included; the lower bound reads every record and is not compared byte for byte."""
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--no-app", "--rules", "reference-v2",
                           "--data", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rules reference-v2" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| naive: chains equal"))
    agreed, checked = row.split("|")[2].strip().split(" of ")
    assert agreed == checked and int(checked) > 0
    assert "| lower bound's JSONL byte-identical to `trace --all`'s | not compared |" in done.stdout
