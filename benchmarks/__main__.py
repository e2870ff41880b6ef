"""``python -m benchmarks [--scale county|province|both] [--runs N] [--smoke] [--data DIR]``

Generates (or reuses) the demo at each scale, measures every step in a fresh process, prints the table
and saves it to ``benchmarks/results.md`` (``--smoke``: the small demo, one run, a few seconds, saved
under the data folder instead). Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

from benchmarks import data, runner
from benchmarks.report import Metric, render
from benchmarks.steps import ROOT
from graph_schema.loader import DEFAULT_RULESET

DEFAULT_DATA = ROOT / "benchmarks" / "data"
DEFAULT_OUT = ROOT / "benchmarks" / "results.md"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    p.add_argument("--scale", choices=["small", "county", "province", "both"], default="both",
                   help="demo scale; both = county and province side by side (default)")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    p.add_argument("--smoke", action="store_true", help="small scale, one run, small samples: seconds")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where demos and stores are kept")
    p.add_argument("--out", type=Path, help="the Markdown file (default benchmarks/results.md)")
    p.add_argument("--seed", type=int, default=1, help="demo seed (default 1)")
    p.add_argument("--as-of", help="the date to trace on (default: the demo's reference date, else today)")
    p.add_argument("--dataset", type=Path, help="benchmark this dataset instead of a generated demo")
    p.add_argument("--regenerate", action="store_true", help="generate the demo even when cached")
    p.add_argument("--naive-sample", type=int, default=2000, help="hazards the naive baseline runs on")
    p.add_argument("--latency-sample", type=int, default=1000, help="hazards timed one by one")
    p.add_argument("--no-app", action="store_true", help="skip the app's pages")
    p.add_argument("--reuse-store", action="store_true",
                   help="measure on the store already imported (no import steps: their figures are left out)")
    p.add_argument("--rules", default=os.environ.get("ACCOUNTABILITY_RULES") or DEFAULT_RULESET,
                   help=f"the ruleset every step runs under (default {DEFAULT_RULESET}, as the product's)")
    args = p.parse_args(argv)
    if args.smoke:
        args.scale, args.runs = "small", 1
        args.naive_sample, args.latency_sample = min(args.naive_sample, 50), min(args.latency_sample, 50)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def demo_as_of() -> str | None:
    """The demo's own "today", when the generator declares one (its dates are relative to it)."""
    try:
        from accountability import demo
    except ModuleNotFoundError:
        return None
    for name in ("AS_OF", "TODAY", "REFERENCE_DATE"):
        value = getattr(demo, name, None)
        if value:
            return value.isoformat() if isinstance(value, dt.date) else str(value)
    return None


def metric(measured: list, unit: str, value, peak: bool = True, cpu=None) -> Metric:
    """A figure over runs (``value`` a result key or a function of the run); with its CPU time when the step
    timed it, its processes' peak memory and how busy the rest of the machine was."""
    if isinstance(value, str):
        key = value
        value = lambda m: m.result[key]
        if cpu is None and "cpu_" + key in measured[0].result:
            cpu = lambda m: m.result["cpu_" + key]
    return Metric([value(m) for m in measured], unit, [m.peak_mb for m in measured] if peak else [],
                  others=[m.contention for m in measured], cpu=[cpu(m) for m in measured] if cpu else [])


def ratio(a: Metric, b: Metric) -> Metric:
    """a ÷ b on the medians, wall time and (when both have it) CPU time."""
    cpu = [statistics.median(a.cpu) / statistics.median(b.cpu)] if a.cpu and b.cpu else []
    return Metric([a.median / b.median], "×", cpu=cpu)


def bench(scale: str, args: argparse.Namespace, notes: list[str]) -> dict:
    runs, M = args.runs, {}
    log(f"[{scale}]")
    if args.dataset:
        home = args.data / f"dataset-{args.dataset.stem}"
        home.mkdir(parents=True, exist_ok=True)
        dataset, generated = args.dataset, "dataset given (not generated)"
    else:
        home, gen = data.prepare(args.data, scale, args.seed, args.regenerate, log, keep=args.reuse_store)
        if gen.get("stale"):
            notes.append(f"{scale}: the demo generator changed since the cached dataset was generated; it was kept "
                         "(`--reuse-store`).")
        dataset = home / "demo"
        generated = (f"demo seed {args.seed}, generated {gen['date']}" + (" (cached)" if gen.get("cached") else ""))
        M["generate"] = Metric([gen["seconds"]], "s", [gen["peak_mb"]], cpu=[gen["cpu"]] if "cpu" in gen else [],
                               others=[gen["others"]] if "others" in gen else [])
        if gen.get("cached"):
            notes.append(f"{scale}: the demo was cached; its generation time was measured when it was generated "
                         f"({gen['date']}). `--regenerate` measures it again.")
    on = args.as_of or demo_as_of() or dt.date.today().isoformat()
    store = home / "store.db"
    out = home / "out"
    out.mkdir(exist_ok=True)

    def each(name: str, label: str, **params) -> list:
        done = []
        for r in range(runs):
            log(f"  {label} ({r + 1}/{runs}) …")
            done.append(runner.step(name, **{k: (v(r) if callable(v) else v) for k, v in params.items()}))
        return done

    if args.reuse_store and store.exists():
        notes.append(f"{scale}: the store imported earlier was reused (`--reuse-store`): the import figures were not "
                     "measured in this run.")
    else:
        _imports(M, notes, scale, runs, dataset, store, each)
    counts = _later_steps(M, notes, scale, args, dataset, store, on, out, each)
    return {"metrics": M, "as_of": on, "runs": runs, "generated": generated, "counts": counts, "rules": args.rules}


def _imports(M: dict, notes: list[str], scale: str, runs: int, dataset: Path, store: Path, each) -> None:
    """1. import, a fresh file each run; then the no-op re-import."""
    imports = []
    for r in range(runs):
        data.remove_store(store)
        log(f"  import ({r + 1}/{runs}) …")
        imports.append(runner.step("import", dataset=str(dataset), store=str(store)))
    M["import.validate"] = metric(imports, "s", "validate", peak=False)
    M["import.write"] = metric(imports, "s", "write", peak=False)
    M["import.total"] = metric(imports, "s", "seconds")
    M["import.rate"] = metric(imports, "rows/s", lambda m: m.result["rows"] / m.result["seconds"], peak=False)
    again = each("import", "re-import", dataset=str(dataset), store=str(store))
    if not all(m.result["unchanged"] for m in again):
        notes.append(f"{scale}: **re-importing the same dataset was not a no-op**: the store was rewritten "
                     "(its dataset hash differed), so the re-import figure is a full write.")
    M["reimport"] = metric(again, "s", "seconds")


def _later_steps(M: dict, notes: list[str], scale: str, args: argparse.Namespace, dataset: Path, store: Path, on: str,
                 out: Path, each) -> dict:
    """2. trace --all, 3. the baselines, 4. campaigns, 5. the app; the store's counts."""
    runs = args.runs
    counts = data.store_counts(store, on)
    lv = {k.split(":")[1]: v for k, v in counts.items() if k.startswith("level:")}
    M["data.jurisdictions"] = Metric([counts["jurisdictions"]], "n", text=(
        f"{counts['jurisdictions']:,} ({lv.get('city', 0):,} / {lv.get('county', 0):,} / {lv.get('township', 0):,}"
        f" / {lv.get('village', 0):,})"))
    M["data.organizations"] = Metric([counts["organizations"]], "n",
                                     text=f"{counts['organizations']:,} ({counts['enterprises']:,})")
    M["data.posts"] = Metric([counts["posts"]], "n",
                             text=f"{counts['posts']:,} · {counts['people']:,} · {counts['tenures']:,}")
    M["data.hazards"] = Metric([counts["hazards"]], "n", text=f"{counts['hazards']:,} · {counts['events']:,}")
    M["data.unresolved"] = Metric([counts["unresolved"]], "n")
    M["data.keys"] = Metric([counts["enterprises_unresolved"]], "n", text=(
        f"{counts['gov_keys']:,} · {counts['enterprises_unresolved']:,}"))
    M["data.csv_mb"] = Metric([data.folder_mb(Path(dataset))], "MB")
    M["data.store_mb"] = Metric([data.folder_mb(store)], "MB")
    n = counts["unresolved"]
    if n == 0:
        raise runner.StepFailed(f"no hazard is unresolved on {on}: give --as-of")

    # 2. trace --all: chains, then files
    traced = each("trace_all", "trace_all", store=str(store), on=on)
    chained = {m.result["hazards"] for m in traced}
    if chained != {n} and not (args.generation >= 2 and len(chained) == 1 and min(chained) >= n):
        raise runner.StepFailed(f"trace_all gave {traced[0].result['hazards']} chains for {n} unresolved hazards")
    if chained != {n}:  # v2 also traces the hazards reopened by an event whose rows say closed
        notes.append(f"{scale}: {args.rules} traces {min(chained) - n:,} hazards more than the rows hold unresolved "
                     "(reopened or relapsed by an event); the per-hazard figures divide by the chains traced.")
        n = min(chained)
    M["trace.load"] = metric(traced, "s", "load", peak=False)
    M["trace.chains"] = metric(traced, "s", "chains", peak=False)
    M["trace.total"] = metric(traced, "s", "seconds")
    M["trace.again"] = metric(traced, "s", "again", peak=False)
    M["trace.per_hazard"] = metric(traced, "µs", lambda m: m.result["chains"] / n * 1e6, peak=False,
                                   cpu=lambda m: m.result["cpu_chains"] / n * 1e6)
    for fmt in ("jsonl", "csv"):
        target = out / f"trace.{fmt}"
        files = each("trace_file", f"trace --all --format {fmt}", store=str(store), on=on, fmt=fmt, out=str(target))
        M[f"{fmt}.seconds"] = metric(files, "s", "seconds")
        M[f"{fmt}.mb"] = Metric([files[-1].result["bytes"] / 1e6], "MB")
        M[f"{fmt}.rate"] = metric(files, "MB/s", lambda m: m.result["bytes"] / 1e6 / m.result["seconds"], peak=False)
    for mode, loaded in (("loaded", True), ("lazy", False)):
        timed = each("latency", f"single trace, {mode} graph", store=str(store), on=on, sample=args.latency_sample,
                     seed=lambda r: r, loaded=loaded)
        M[f"latency.{mode}.p50"] = metric(timed, "ms", lambda m: m.result["p50"] * 1e3)
        M[f"latency.{mode}.p99"] = metric(timed, "ms", lambda m: m.result["p99"] * 1e3, peak=False)
    picks = data.pick(store, on)
    cold = []
    for r in range(runs):
        hid = picks["hazards"][r % len(picks["hazards"])]
        log(f"  cold CLI trace {hid} ({r + 1}/{runs}) …")
        cold.append(runner.run(runner.cli() + ["trace", hid, "--as-of", on, "--format", "json", "--store", str(store)]))
    M["cold_cli"] = metric(cold, "s", lambda m: m.wall)

    # 3. baselines
    naive = each("naive", "naive baseline", store=str(store), on=on, sample=args.naive_sample, seed=lambda r: r)
    sample = naive[0].result["n"]
    M["naive.build"] = metric(naive, "s", "build", peak=False)
    M["naive.per_hazard"] = metric(naive, "ms", lambda m: m.result["per_hazard"] * 1e3, peak=False,
                                   cpu=lambda m: m.result["cpu_per_hazard"] * 1e3)
    M["naive.extrapolated"] = metric(naive, "s", "extrapolated")
    agreed = sum(m.result["agree"] for m in naive)
    checked = sum(m.result["n"] for m in naive)
    M["naive.agree"] = Metric([agreed], "n", text=f"{agreed:,} of {checked:,}")
    if agreed != checked:
        notes.append(f"{scale}: the naive baseline disagreed with the engine on "
                     f"{', '.join(h for m in naive for h in m.result['disagree'])} …")
    lb = each("lower_bound", "lower bound", store=str(store), on=on, out=str(out / "lower-bound.jsonl"),
              compare=str(out / "trace.jsonl"))
    M["lb.read"] = metric(lb, "s", "read", peak=False)
    M["lb.join"] = metric(lb, "s", "join", peak=False)
    M["lb.compute"] = metric(lb, "s", "compute")
    M["lb.jsonl"] = metric(lb, "s", "jsonl", peak=False)
    same = {m.result["identical_to_ours"] for m in lb}
    M["lb.identical"] = Metric([], "", text="yes" if same == {True} else "NO" if False in same else "not compared")
    M["ratio.ours_lb"] = ratio(M["trace.chains"], M["lb.compute"])
    M["ratio.ours_lb_total"] = ratio(M["trace.total"], M["lb.compute"])
    M["ratio.jsonl_lb"] = ratio(M["jsonl.seconds"], M["lb.jsonl"])
    M["ratio.join_only"] = ratio(M["trace.chains"], M["lb.join"])
    M["ratio.again_lb"] = ratio(M["trace.again"], M["lb.compute"])
    M["ratio.naive_ours"] = ratio(M["naive.extrapolated"], M["trace.total"])
    notes.append(f"{scale}: the naive baseline ran on {sample:,} random unresolved hazards per run; its total is "
                 f"extrapolated to all {n:,} (graph build + per-hazard time × {n:,}).")

    # 4. the campaign work (#16)
    work = each("campaign_work", "campaigns, look-back, measures", store=str(store), on=on)
    if not work[0].result.get("skipped"):
        for name in ("coverage", "plan", "report", "measures"):
            M[f"campaign.{name}"] = metric(work, "s", name, peak=name == "measures")

    # 5. the app
    if args.no_app:
        notes.append(f"{scale}: the app's pages were skipped (--no-app).")
    elif not (ROOT / "app_pages" / "hazard.py").exists() or not (ROOT / "accountability" / "ui.py").exists():
        notes.append(f"{scale}: the app's pages are not there yet (app_pages/, accountability/ui.py): skipped.")
    else:
        hz, ent = picks["hazards"], picks["enterprises"]
        hazard_views = each("app_page", "Hazard page", store=str(store), on=on, page="hazard",
                            params=lambda r: [{"hazard": hz[(r * 3 + i) % len(hz)]} for i in range(3)])
        entities = (["organizations:" + ent[0]] if ent else []) + [
            "jurisdictions:" + j for j in (picks["counties"][:1] + picks["townships"][:1])]
        explore_views = each("app_page", "Explore page", store=str(store), on=on, page="explore",
                             params=[{"entity": e} for e in entities])
        for page, views in (("hazard", hazard_views), ("explore", explore_views)):
            M[f"app.{page}.first"] = metric(views, "s", lambda m: m.result["first"])
            if views[0].result["next"] is not None:
                M[f"app.{page}.next"] = metric(views, "s", lambda m: m.result["next"], peak=False)
            lib = views[-1].result["library"]
            M[f"app.{page}.lib"] = Metric([], "", text=" · ".join(f"{v * 1e3:,.0f} ms" for v in lib.values()))
    for written in out.iterdir():  # gigabytes at province; the demo and the store are what is reused
        written.unlink()
    ours_peaks = [p for k, m in M.items() for p in m.peak
                  if not k.startswith(("naive.", "lb.", "app.", "generate"))]
    M["peak.ours"] = Metric([max(ours_peaks)], "MB")
    if args.generation >= 2:
        notes.append(f"{scale}: under {args.rules} the naive baseline is the engine with nothing shared (the structure "
                     "loaded once, then per hazard a fresh engine reading that hazard's records), and the lower "
                     "bound adds reading every event, inspection and designation to v1's read + join; it attaches "
                     "no assessment or evidence, so its JSONL is not compared.")
    return counts


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from accountability.session import load_ruleset

    args.generation = load_ruleset(args.rules).generation
    os.environ["ACCOUNTABILITY_RULES"] = args.rules  # every step's process runs under it
    started = time.perf_counter()
    scales = ["county", "province"] if args.scale == "both" else [args.scale]
    command = ("python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])).strip()
    notes: list[str] = []
    results = {}
    for scale in scales:
        results[scale] = bench(scale, args, notes)
    notes += [
        ("Times are measured inside each step's process around the work (interpreter start-up excluded), "
        "except the cold CLI trace, which is the wall time of the whole `accountability` process."),
        ("Busy is how many cores other processes of the machine kept busy, on average, while the step ran "
        "(the largest over its runs): the machine's busy time from /proc/stat minus the step's own CPU time. "
        "Figures with a busy near the number of cores were measured on a shared machine and are slower than "
        "they would be alone."),
        ("Peak MB is the RSS high-water mark of the step's own process (`os.wait4` → `ru_maxrss`), the largest "
        "over the runs."),
        ("Lower bound: chains are precomputed by the engine per (jurisdiction, industry, escalated) and "
        "enterprise outside the timing; timed is what must remain per hazard — reading the unresolved hazards "
        "and their events, the vectorized join (deadline extensions, overdue days, escalation, own gaps), and "
        "for JSONL the splicing of precomputed JSON and the write."),
        f"Whole benchmark: {time.perf_counter() - started:,.0f} s.",
    ]
    text = render(results, data.machine(), command, notes)
    print(text)
    out = args.out or (args.data / "results-smoke.md" if args.smoke else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    log(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
