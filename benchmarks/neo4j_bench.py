"""The Neo4j store beside the embedded one: import, re-import, ``trace --all``, single traces, write-back.

    python -m benchmarks.neo4j_bench [--scale small|county|province] [--heap 3g] [--profile deploy]
                                     [--uri bolt://…]

Generates the demo (seed 7, its "today" fixed), imports it into a SQLite file and into Neo4j — a server
started by the project's launcher with the JVM options of ``--profile`` (``deploy``: C2, parallel GC, a
4 GB page cache; ``test``: the tests' small ones) and ``--heap``, or the one at ``--uri`` (it is wiped
first!) — then times each step once and prints a Markdown table to stdout (progress to stderr). It also
checks that both stores give byte-identical chains.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

TODAY = "2026-06-30"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def step(self, label: str, sqlite: float | None, neo4j: float | None, note: str = "") -> None:
        def fmt(v: float | None) -> str:
            return "—" if v is None else f"{v:.2f} s"

        self.rows.append((label, fmt(sqlite), fmt(neo4j) + (f" ({note})" if note else "")))
        log(f"{label}: sqlite {fmt(sqlite)}, neo4j {fmt(neo4j)} {note}")


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def peak_rss_mb(pid: int | None) -> str:
    """The high-water mark of a process's resident memory (Linux), e.g. the Neo4j JVM."""
    if pid is None:
        return "—"
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return "—"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.neo4j_bench", description=__doc__.split("\n\n")[1])
    p.add_argument("--scale", choices=["small", "county", "province"], default="county")
    p.add_argument("--heap", default="3g", help="the Neo4j JVM's -Xms and -Xmx (default 3g)")
    p.add_argument("--profile", choices=["deploy", "test"], default="deploy",
                   help="the launcher's JVM options (accountability.stores.neo4j_server; default deploy)")
    p.add_argument("--uri", help="use this Neo4j instead of starting one (its database is wiped!)")
    p.add_argument("--data", type=Path, help="keep the demo and the SQLite file here (default: a temp dir)")
    p.add_argument("--latency-sample", type=int, default=200, help="hazards traced one by one (default 200)")
    args = p.parse_args(argv)

    from accountability.dataset import load
    from accountability.demo import generate
    from accountability.session import Session
    from accountability.stores.neo4j import Neo4jStore
    from accountability.stores.neo4j_server import Neo4jServer
    from accountability.stores.sqlite import SQLiteStore

    folder = args.data or Path(tempfile.mkdtemp(prefix="neo4j-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    demo = folder / f"demo-{args.scale}"
    if not (demo / "hazards.csv").exists():
        log(f"generating the {args.scale} demo in {demo} …")
        generate(demo, scale=args.scale, seed=7, today=TODAY)
    t = Timer()
    data, seconds = timed(lambda: load(demo))
    rows = sum(data.counts().values())
    log(f"dataset: {rows:,} rows, validated in {seconds:.1f} s")

    db = folder / f"{args.scale}.db"
    db.unlink(missing_ok=True)
    lite = SQLiteStore(db)
    server = None
    if args.uri:
        uri = args.uri
    else:
        log(f"starting Neo4j ({args.profile} profile) with -Xmx{args.heap} …")
        server, started = timed(lambda: Neo4jServer(profile=args.profile, heap=args.heap).start())
        uri = server.uri
        log(f"Neo4j ready in {started:.1f} s at {uri}")
    try:
        neo = Neo4jStore(uri)
        with neo.driver.session(database=neo.database) as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        _, schema = timed(neo.ensure_schema)

        _, a = timed(lambda: lite.write(data))
        _, b = timed(lambda: neo.write(data))
        t.step(f"import {rows:,} rows (fresh store)", a, b, f"+ {schema:.1f} s constraints and indexes, once")
        _, a = timed(lambda: lite.write(data))
        _, b = timed(lambda: neo.write(data))
        t.step("import the same dataset again (no-op)", a, b)

        sl, sn = Session(lite), Session(neo)
        _, a = timed(lambda: sl.graph.load_all())
        _, b = timed(lambda: sn.graph.load_all())
        t.step("load the whole graph into memory", a, b)

        def trace_all(session):
            return [c.json(session.ruleset) for c in session.trace_all(TODAY)]

        chains_a, a = timed(lambda: trace_all(sl))
        chains_b, b = timed(lambda: trace_all(sn))
        same = "identical" if chains_a == chains_b else "DIFFERENT"
        t.step(f"trace --all ({len(chains_a):,} chains as JSON)", a, b, f"chains {same}")

        ids = [r["id"] for r in lite.rows("hazards")][:: max(1, lite.count("hazards") // args.latency_sample)]
        ids = ids[: args.latency_sample]

        def latencies(store):
            session, out = Session(store), []
            for hid in ids:
                started = time.perf_counter()
                session.trace(hid, as_of=TODAY)
                out.append(time.perf_counter() - started)
            return statistics.median(out)

        a, b = latencies(lite), latencies(neo)
        t.rows.append((f"one trace, fresh session (median of {len(ids)})", f"{a * 1000:.1f} ms",
                       f"{b * 1000:.1f} ms"))
        log(f"single trace: sqlite {a * 1000:.1f} ms, neo4j {b * 1000:.1f} ms")

        counts, b = timed(lambda: neo.write_back(Session(neo).trace_all(TODAY), TODAY))
        t.step(f"write-back ({counts['post_links'] + counts['person_links']:,} ACCOUNTABLE_FOR)", None, b)
        t.rows.append(("Neo4j JVM peak resident memory", "—", peak_rss_mb(server.pid if server else None)))
        neo.close()
    finally:
        lite.close()
        if server is not None:
            server.stop()

    print(f"\n### Neo4j vs embedded store — {args.scale} demo ({rows:,} rows), Neo4j heap -Xmx{args.heap}, {args.profile} profile\n")
    print("| step | SQLite | Neo4j |")
    print("|---|---|---|")
    for label, a, b in t.rows:
        print(f"| {label} | {a} | {b} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
