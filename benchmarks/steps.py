"""The measured steps. Each runs in a fresh interpreter (``python -m benchmarks.steps NAME PARAMS_JSON``)
so that its peak memory is its own; it prints one ``BENCH-RESULT {json}`` line with what it timed.

Times are taken inside the step around the work itself (interpreter start-up and imports excluded); the
parent adds the process's wall time and its RSS high-water mark (``wait4``).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the app's pages import ``app_pages`` from the repository root
    sys.path.insert(0, str(ROOT))

MARK = "BENCH-RESULT "
STEPS: dict[str, Callable[..., dict]] = {}


def step(func: Callable[..., dict]) -> Callable[..., dict]:
    STEPS[func.__name__] = func
    return func


def clock() -> float:
    return time.perf_counter()


class Laps:
    """Wall and CPU time of consecutive sections: ``laps.lap("load")`` ends the section started by the
    previous lap (or the creation). CPU time is robust to other processes sharing the machine; wall time is
    what a user waits.

    >>> laps = Laps(); laps.lap("a"); sorted(laps.result())
    ['a', 'cpu_a']
    """

    def __init__(self) -> None:
        self.marks = [(time.perf_counter(), time.process_time())]
        self.sections: dict[str, tuple[float, float]] = {}

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        then = self.marks[-1]
        self.sections[name] = (now[0] - then[0], now[1] - then[1])
        self.marks.append(now)

    def skip(self) -> None:
        """Start the next section now (what came since the last lap is not timed)."""
        self.marks.append((time.perf_counter(), time.process_time()))

    def result(self, **sums: tuple[str, ...]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, (wall, cpu) in self.sections.items():
            out[name], out["cpu_" + name] = wall, cpu
        for name, parts in sums.items():
            out[name] = sum(self.sections[p][0] for p in parts)
            out["cpu_" + name] = sum(self.sections[p][1] for p in parts)
        return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list.

    >>> percentile([1, 2, 3, 4], 50), percentile(list(range(1, 101)), 99)
    (2, 99)
    """
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def _session(store: str):
    from accountability.session import Session

    return Session(store, readonly=True)


def _sample(store: str, on: str, n: int, seed: int) -> list[str]:
    from benchmarks.baselines import unresolved_ids

    with _session(store) as s:
        ids = unresolved_ids(s.store, on)
    return random.Random(seed).sample(ids, min(n, len(ids)))


# -- data ----------------------------------------------------------------------------------------------------


@step
def generate(out: str, scale: str, seed: int) -> dict:
    from accountability.demo import generate as make

    laps = Laps()
    counts = make(out, scale=scale, seed=seed)
    laps.lap("seconds")
    return {**laps.result(), "counts": dict(counts or {})}


@step
def import_(dataset: str, store: str) -> dict:
    """What ``accountability import`` does: load (read + validate) then write, timed apart."""
    from accountability.dataset import load
    from accountability.stores import open_store

    laps = Laps()
    data = load(dataset)
    laps.lap("validate")
    with open_store(store) as target:
        result = target.write(data)
    laps.lap("write")
    return {**laps.result(seconds=("validate", "write")), "unchanged": result.unchanged,
            "rows": sum(data.counts().values()), "counts": data.counts()}


# -- trace ---------------------------------------------------------------------------------------------------


@step
def trace_all(store: str, on: str) -> dict:
    """``Session.trace_all``, every chain consumed; the graph load timed apart."""
    with _session(store) as s:
        laps = Laps()
        s.graph.load_all()
        s.engine  # noqa: B018 - built here, not inside the loop's first iteration
        laps.lap("load")
        n = links = 0
        for chain in s.trace_all(on):
            n += 1
            links += len(chain.links)
        laps.lap("chains")
        # again in the same session: every shared part is cached, what is left is the work per hazard
        for _ in s.trace_all(on):
            pass
        laps.lap("again")
    return {**laps.result(seconds=("load", "chains")), "hazards": n, "links": links}


@step
def trace_file(store: str, on: str, fmt: str, out: str) -> dict:
    """``accountability trace --all --format FMT -o OUT``: the CLI's own code, in this process — which, as
    the program does, leaves its heap to the process's end rather than freeing it object by object."""
    from accountability.cli import leave_heap_to_exit, main

    leave_heap_to_exit()
    _fresh(out)
    laps = Laps()
    try:
        main(["trace", "--all", "--as-of", on, "--format", fmt, "-o", out, "--store", store], standalone_mode=False)
    except SystemExit as exc:  # the error edge exits; standalone_mode=False lets success return
        if exc.code:
            raise
    laps.lap("seconds")
    return {**laps.result(), "bytes": Path(out).stat().st_size}


@step
def latency(store: str, on: str, sample: int, seed: int, loaded: bool) -> dict:
    """``session.trace(hid)`` on random unresolved hazards, one after another in a live session."""
    ids = _sample(store, on, sample, seed)
    with _session(store) as s:
        t0 = clock()
        if loaded:
            s.graph.load_all()
        s.engine  # noqa: B018
        setup = clock() - t0
        times = []
        for hid in ids:
            t = clock()
            s.trace(hid, as_of=on)
            times.append(clock() - t)
    return {"setup": setup, "n": len(times), "p50": percentile(times, 50), "p99": percentile(times, 99),
            "max": max(times), "mean": statistics.fmean(times)}


# -- baselines -----------------------------------------------------------------------------------------------


@step
def naive(store: str, on: str, sample: int, seed: int) -> dict:
    """The naive baseline on a random sample, each chain checked against the engine's (untimed)."""
    from accountability.dates import Window
    from benchmarks.baselines import Naive, build_graph, comparable, naive_v2_chain, records, unresolved_ids

    with _session(store) as s:
        ids = unresolved_ids(s.store, on)
        picked = random.Random(seed).sample(ids, min(sample, len(ids)))
        recs = records(s.store, picked)
        ruleset = s.ruleset
        laps = Laps()
        if ruleset.generation >= 2:  # the engine with nothing shared: the structure once, records per hazard
            s.graph.load_all()
            g = s.graph
            size = {"nodes": len(g.jurisdictions) + len(g.orgs) + len(g.posts) + len(g.people), "edges": 0}
            laps.lap("build")
            chains = [naive_v2_chain(s.graph, ruleset, s.store, h, on).as_dict(ruleset) for h, _ in recs]
        else:
            g = build_graph(s.store)
            size = {"nodes": g.number_of_nodes(), "edges": g.number_of_edges()}
            laps.lap("build")
            naive = Naive(g)
            chains = [naive.chain(h, ev, on) for h, ev in recs]
        laps.lap("sample")
        # the same hazards by the engine (every shared part, the batch read), to show both give the same answer
        s.graph.load_all()
        disagree = []
        for (h, ev), mine in zip(recs, chains):
            ours = s.engine.chain(h, ev, Window.on(on)).as_dict(ruleset)
            if comparable(mine) != comparable(ours):
                disagree.append(h["id"])
    t = laps.result()
    k = len(ids) / max(1, len(recs))
    return {**t, "per_hazard": t["sample"] / max(1, len(recs)), "cpu_per_hazard": t["cpu_sample"] / max(1, len(recs)),
            "extrapolated": t["build"] + t["sample"] * k, "cpu_extrapolated": t["cpu_build"] + t["cpu_sample"] * k,
            "n": len(recs), "unresolved": len(ids), "agree": len(recs) - len(disagree), "disagree": disagree[:5],
            **size}


@step
def lower_bound(store: str, on: str, out: str, compare: str | None = None) -> dict:
    """The least work: read + join (and splice JSON + write), chains precomputed untimed."""
    from accountability.memory import gc_paused
    from benchmarks.baselines import LowerBound

    with _session(store) as s:
        laps = Laps()
        lb = LowerBound(s, on)
        v2 = s.ruleset.generation >= 2
        hazards, events = lb.read()
        lb.precompute(lb.join(hazards, events))
        laps.lap("prepare")
        del hazards, events
        _fresh(out)
        laps.skip()
        with gc_paused(freeze=False):  # as the engine's batch work: no cyclic collector walking the heap
            hazards, events = lb.read()
            cited = lb.read_records() if v2 else 0
            laps.lap("read")
            joined = lb.join(hazards, events)
            laps.lap("join")
            size = lb.write_jsonl(joined, Path(out))
            laps.lap("write")
    same = None
    if compare and Path(compare).exists() and not v2:  # v2: no assessment, no evidence: not the same file
        same = _same_file(Path(out), Path(compare))
    return {**laps.result(compute=("read", "join"), jsonl=("read", "join", "write")), "hazards": len(joined),
            "keys": len(lb.pairs), "bytes": size, "identical_to_ours": same, "records": cited}


def _fresh(out: str) -> None:
    """No file at ``out``: a timed run writes a new file, as an export does. Rewriting the last run's file
    would add the file system's flush of a truncated file on close (ext4), seconds that vary run to run."""
    Path(out).unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    import hashlib

    def digest(p: Path) -> str:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()

    return a.stat().st_size == b.stat().st_size and digest(a) == digest(b)


# -- the app -------------------------------------------------------------------------------------------------


@step
def campaign_work(store: str, on: str) -> dict:
    """The province's campaign work (#16), each call in a fresh session as the CLI makes it: a campaign's
    coverage, the look-back plan (a sample of 200) and report, and the measures' status."""
    from accountability import campaigns, measures

    laps = Laps()
    with _session(store) as s:
        rows = campaigns.campaigns(s)
    kinds = {r["kind"]: r["id"] for r in rows}
    if "comprehensive_inspection" not in kinds or "look_back" not in kinds:
        return {"skipped": True}
    laps.skip()
    counts = {}
    for name, call in (("coverage", lambda s: campaigns.coverage(s, kinds["comprehensive_inspection"])["gaps"]),
                       ("plan", lambda s: campaigns.plan(s, kinds["look_back"], sample=200)["rows"]),
                       ("report", lambda s: campaigns.report(s, kinds["look_back"])["by_signer"]),
                       ("measures", lambda s: measures.overview(s, on)["rows"])):
        with _session(store) as s:
            counts[name] = len(call(s))
        laps.lap(name)
    return {**laps.result(), "counts": counts, "skipped": False}


@step
def app_page(store: str, on: str, page: str, params: list[dict], library: bool = True) -> dict:
    """Server time to build a page (Streamlit's AppTest runs the page script), first view in a fresh server
    process then the next views; and the time of the library calls the page makes."""
    import datetime as dt
    import os

    os.environ["ACCOUNTABILITY_STORE"] = store
    from streamlit.testing.v1 import AppTest

    runs = []
    at = None
    for query in params:
        if at is None:  # a fresh server: the app opened at this page's address (never the overview)
            at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=3600)
            at.session_state["global_as_of"] = dt.date.fromisoformat(on)
        for k in list(at.query_params):
            del at.query_params[k]
        for k, v in query.items():
            at.query_params[k] = v
        at.switch_page(f"app_pages/{page}.py")
        t = clock()
        at.run()
        runs.append(clock() - t)
        if at.title and at.title[0].value != _title(page):
            raise RuntimeError(f"AppTest ran the page titled {at.title[0].value!r}, not the {page} page")
        if at.exception:
            raise RuntimeError(f"{page} page failed: {[e.message for e in at.exception]}")
        if at.error:
            raise RuntimeError(f"{page} page shows an error: {[e.value for e in at.error]}")
    result: dict[str, Any] = {"first": runs[0], "next": statistics.median(runs[1:]) if len(runs) > 1 else None}
    if library:
        result["library"] = _library_calls(store, on, page, params[-1])
    return result


def _title(page: str) -> str:
    import yaml

    words = yaml.safe_load((ROOT / "app_pages" / "words.yaml").read_text(encoding="utf-8"))
    return words[page]["title"]["zh"]


def _library_calls(store: str, on: str, page: str, query: dict) -> dict:
    """The page's calls into ``accountability``, timed apart, in a new session (the hazard page's first
    200 suggestions, the hazard, its chain, the chain figure, the window chain; the explorer's neighbourhood
    and its figure)."""
    from accountability import graphview, names, ui

    out = {}
    with _session(store) as s:
        labels = names.Labels(s, "zh")
        if page == "hazard":
            hid = query["hazard"]
            t = clock()
            first = []
            for hazard, _ in s.store.hazard_records(unresolved_on=on):
                first.append(hazard)
                if len(first) >= 200:
                    break
            out["suggestions"] = clock() - t
            t = clock()
            hazard, _ = s.hazard(hid)
            chain = s.trace(hid, as_of=on)
            out["trace"] = clock() - t
            t = clock()
            g = graphview.chain_graph(s, chain, hazard, labels)
            graphview.graph_html(g, "zh", layout="chain")
            out["figure"] = clock() - t
            t = clock()
            ui.holder_spans(s.trace(hid, start=hazard["found_on"], end=on))
            out["window"] = clock() - t
        else:
            t = clock()
            hood = graphview.neighbourhood(s, query["entity"], labels, on, depth=1, cap=150)
            out["neighbourhood"] = clock() - t
            t = clock()
            graphview.graph_html(hood.graph, "zh", center=hood.center)
            out["figure"] = clock() - t
    return out


def main(argv: list[str]) -> None:
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    func = STEPS[name if name in STEPS else name + "_"]
    result = func(**params)
    print(MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
