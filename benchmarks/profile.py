"""Profile one benchmark step with pyinstrument, on a dataset the benchmark has already prepared.

    python -m benchmarks.profile trace_all --scale province [--data DIR] [--as-of D] [--html FILE]
    python -m benchmarks.profile import --scale county
    python -m benchmarks.profile jsonl|csv|latency|naive --scale province

Prints pyinstrument's call tree (time per call site, ``[self]`` for time in the function itself). Import
profiles write a scratch store next to the cached one, never the benchmark's store.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from benchmarks.__main__ import DEFAULT_DATA, demo_as_of
from benchmarks.data import remove_store


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["import", "trace_all", "jsonl", "csv", "latency", "naive"])
    p.add_argument("--scale", default="county")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--as-of")
    p.add_argument("--html", type=Path, help="also save pyinstrument's HTML report here")
    p.add_argument("--interval", type=float, default=0.001, help="sampling interval, seconds")
    args = p.parse_args(argv)
    from pyinstrument import Profiler

    home = args.data / f"{args.scale}-seed{args.seed}"
    store = home / "store.db"
    if not (home / "demo").is_dir() or (args.what != "import" and not store.exists()):
        p.error(f"run `python -m benchmarks --scale {args.scale}` first: nothing prepared in {home}")
    on = args.as_of or demo_as_of()
    profiler = Profiler(interval=args.interval)
    if args.what == "import":
        from accountability.dataset import load
        from accountability.stores import open_store

        scratch = home / "profile-import.db"
        remove_store(scratch)
        with profiler:
            data = load(home / "demo")
            with open_store(str(scratch)) as target:
                target.write(data)
        remove_store(scratch)
    else:
        from accountability.session import Session

        with Session(str(store), readonly=True) as s:
            if args.what == "trace_all":
                s.graph.load_all()
                s.engine  # noqa: B018
                with profiler:
                    for _ in s.trace_all(on):
                        pass
            elif args.what in ("jsonl", "csv"):
                from accountability.cli import main as cli

                out = home / "out" / f"profile.{args.what}"
                with profiler:
                    cli(["trace", "--all", "--as-of", on, "--format", args.what, "-o", str(out), "--store", str(store)],
                        standalone_mode=False)
            elif args.what == "latency":
                from benchmarks.baselines import unresolved_ids

                ids = random.Random(0).sample(unresolved_ids(s.store, on), 1000)
                s.graph.load_all()
                with profiler:
                    for hid in ids:
                        s.trace(hid, as_of=on)
            else:
                from benchmarks.baselines import (
                    Naive,
                    build_graph,
                    records,
                    unresolved_ids,
                )

                recs = records(s.store, random.Random(0).sample(unresolved_ids(s.store, on), 500))
                with profiler:
                    naive = Naive(build_graph(s.store))
                    for h, ev in recs:
                        naive.chain(h, ev, on)
    print(profiler.output_text(unicode=True, color=False))
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
