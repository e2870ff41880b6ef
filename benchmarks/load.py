"""Load: many people using the explorer at once, each a real Streamlit session driven over the app's own
WebSocket protocol (the messages a browser exchanges with the server, without drawing anything).

    python -m benchmarks.load --store benchmarks/.data/province-seed1/store.db [--users 20] [--pages 8]
    python -m benchmarks.load --url http://127.0.0.1:8501 --store STORE     # a server already running
    python -m benchmarks.load --store STORE --processes 2 [--affinity ip --clients 20]  # 2 behind nginx
    python -m benchmarks.load --url http://127.0.0.1:8500 --store STORE --clients 20   # behind a proxy

``--clients N`` spreads the users over N client addresses (127.0.0.1 … 127.0.0.N, every one of them loopback
on Linux): a proxy that keeps each client on one app process by its address (nginx ``ip_hash``) then sees N
clients, as it would N people, instead of one.

Each virtual user opens one session and walks the app as an inspector would — overview, a hazard, one of its
accountable officials, the graph around the hazard's enterprise, the gaps, an incident report, another
hazard, the queries — sending the page's ``rerun_script`` and timing it until the server says the run
finished. A run that raises (an exception element), shows an error box, or does not finish before the
deadline is an error. Ids are sampled from the store with a fixed seed. Prints latency percentiles per page
and overall; exits 1 on any error.

Bounded in count and time: ``--users`` sessions on loopback, ``--pages`` each, everything cancelled at
``--deadline`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

# one app process on a free loopback port (the tests' browser walks use it too), several behind nginx
from deploy.launch import deployment, streamlit_server  # noqa: F401  (streamlit_server: for the tests)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = "overview"


# -- one session ---------------------------------------------------------------------------------------------


@dataclass
class Visit:
    page: str
    params: dict[str, str]
    seconds: float = 0.0
    error: str | None = None
    texts: list[str] = field(default_factory=list)  # headings, markdown, captions and alerts shown


class Session:
    """One browser tab's conversation with the server: ``open``, then ``visit`` pages, then ``close``."""

    def __init__(self, url: str, timeout: float, source: str | None = None):
        self.ws_url = url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/_stcore/stream"
        self.timeout = timeout
        self.source = source  # the client address to connect from (None: the system's choice)
        self.ws = None

    async def open(self) -> None:
        import websockets

        where = {"local_addr": (self.source, 0)} if self.source else {}
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=self.timeout, **where)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def visit(self, page: str, **params: str) -> Visit:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        visit = Visit(page, params)
        msg = BackMsg()
        msg.rerun_script.query_string = urlencode(params)
        msg.rerun_script.page_name = "" if page == DEFAULT_PAGE else page  # the default page lives at "/"
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    fwd = ForwardMsg.FromString(await self.ws.recv())
                    kind = fwd.WhichOneof("type")
                    if kind == "delta":
                        self._read(fwd.delta, visit)
                    elif kind == "page_not_found":
                        visit.error = f"page not found: {fwd.page_not_found.page_name}"
                    elif kind == "script_finished":
                        if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                            continue  # the page reran itself (st.rerun): wait for that run
                        if fwd.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                            visit.error = visit.error or f"script finished with status {fwd.script_finished}"
                        break
        except TimeoutError:
            visit.error = f"no answer within {self.timeout:.0f} s"
        visit.seconds = time.perf_counter() - started
        return visit

    @staticmethod
    def _read(delta, visit: Visit) -> None:
        from streamlit.proto.Alert_pb2 import Alert

        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            visit.error = visit.error or f"exception: {element.exception.type}: {element.exception.message}"
        elif kind == "alert":
            visit.texts.append(element.alert.body)
            if element.alert.format == Alert.ERROR:
                visit.error = visit.error or f"error shown: {element.alert.body[:200]}"
        elif kind == "heading":
            visit.texts.append(element.heading.body)
        elif kind == "markdown":
            visit.texts.append(element.markdown.body)


# -- the walk --------------------------------------------------------------------------------------------------


def sample_ids(store: str | Path, on: str, users: int, seed: int) -> list[dict[str, str]]:
    """One set of ids per user, read straight from the SQLite store: two unresolved hazards, an official
    holding a post at the first one's enterprise, the enterprise and an incident."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        hazards = db.execute(
            "SELECT id, organization_id FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) "
            "AND organization_id IS NOT NULL ORDER BY id LIMIT 20000", (on, on)).fetchall()
        incidents = [r[0] for r in db.execute("SELECT id FROM incidents ORDER BY id")]
        rng = random.Random(seed)
        walks = []
        for _ in range(users):
            (h1, org), (h2, _) = rng.sample(hazards, 2)
            person = db.execute(
                "SELECT t.person_id FROM tenures t JOIN posts p ON p.id = t.post_id WHERE p.organization_id = ? "
                "ORDER BY t.start DESC LIMIT 1", (org,)).fetchone()
            walks.append({"hazard": h1, "hazard2": h2, "organization": org,
                          "person": person[0] if person else "", "incident": rng.choice(incidents) if incidents else ""})
        return walks
    finally:
        db.close()


def walk(ids: dict[str, str], pages: int, on: str) -> list[tuple[str, dict[str, str]]]:
    steps = [
        ("overview", {}),
        ("hazard", {"hazard": ids["hazard"]}),
        ("official", {"person": ids["person"]}),
        ("explore", {"entity": f"organizations:{ids['organization']}"}),
        ("gaps", {}),
        ("report", {"incident": ids["incident"]}),
        ("hazard", {"hazard": ids["hazard2"]}),
        ("queries", {}),
    ]
    return [(page, {**params, "as_of": on}) for page, params in (steps * (pages // len(steps) + 1))[:pages]]


async def user(url: str, steps: list[tuple[str, dict]], timeout: float, start_delay: float,
               source: str | None = None) -> list[Visit]:
    await asyncio.sleep(start_delay)
    session = Session(url, timeout, source)
    visits = []
    try:
        await session.open()
        for page, params in steps:
            visit = await session.visit(page, **params)
            visits.append(visit)
            if visit.error and visit.error.startswith("no answer"):
                break  # the session is stuck: stop this user, count what is left as not done
    except Exception as exc:  # noqa: BLE001 - a connection failure is one of the things measured
        visits.append(Visit("connect", {}, error=f"{type(exc).__name__}: {exc}"))
    finally:
        await session.close()
    return visits


def client_addresses(n: int) -> list[str]:
    """``n`` loopback addresses to connect from: 127.0.0.1 … 127.0.0.n.

    >>> client_addresses(3)
    ['127.0.0.1', '127.0.0.2', '127.0.0.3']
    """
    if not 1 <= n <= 254:
        raise ValueError(f"between 1 and 254 client addresses, not {n}")
    return [f"127.0.0.{i}" for i in range(1, n + 1)]


async def run_load(url: str, walks: list[list[tuple[str, dict]]], timeout: float, deadline: float,
                   ramp: float = 0.0, clients: int = 0) -> tuple[list[list[Visit]], float]:
    """Every user at once (started over ``ramp`` seconds; with ``clients``, the users take turns connecting from
    that many loopback addresses); returns their visits and the wall time."""
    sources = client_addresses(clients) if clients else [None]
    started = time.perf_counter()
    tasks = [asyncio.create_task(user(url, steps, timeout, ramp * i / max(1, len(walks)), sources[i % len(sources)]))
             for i, steps in enumerate(walks)]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    results = [t.result() if t in done else [Visit("deadline", {}, error=f"not done within {deadline:.0f} s")]
               for t in tasks]
    return results, time.perf_counter() - started


# -- the report ----------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(results: list[list[Visit]], wall: float) -> dict:
    visits = [v for user_visits in results for v in user_visits]
    by_page: dict[str, list[Visit]] = {}
    for v in visits:
        by_page.setdefault(v.page, []).append(v)
    rows = []
    for page, vs in sorted(by_page.items()) + [("all pages", visits)]:
        times = [v.seconds for v in vs if not v.error]
        rows.append({"page": page, "requests": len(vs), "errors": sum(1 for v in vs if v.error),
                     **{f"p{int(q * 100)}": percentile(times, q) for q in (0.5, 0.9, 0.99)},
                     "max": max(times) if times else float("nan")})
    return {"users": len(results), "requests": len(visits), "errors": [f"{v.page} {v.params}: {v.error}"
                                                                      for v in visits if v.error],
            "wall": wall, "throughput": len(visits) / wall if wall else 0.0, "pages": rows}


def render(result: dict) -> str:
    lines = [f"{result['users']} concurrent sessions, {result['requests']} page runs in {result['wall']:.1f} s "
             f"({result['throughput']:.2f} pages/s), {len(result['errors'])} errors", "",
             "| page | runs | errors | p50 | p90 | p99 | max |", "|---|---|---|---|---|---|---|"]
    for r in result["pages"]:
        lines.append(f"| {r['page']} | {r['requests']} | {r['errors']} | " +
                     " | ".join(f"{r[k]:.2f} s" for k in ("p50", "p90", "p99", "max")) + " |")
    lines += [f"- {e}" for e in result["errors"][:20]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="the SQLite store (ids are sampled from it)")
    p.add_argument("--url", help="a running server (default: start one on --store)")
    p.add_argument("--processes", type=int, default=0,
                   help="start this many app processes behind nginx (deploy/launch.py) instead of one alone")
    p.add_argument("--affinity", choices=("cookie", "ip"), default="cookie", help="nginx's (with --processes)")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--pages", type=int, default=8, help="pages each user visits")
    p.add_argument("--as-of", default="2026-11-28")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120, help="seconds one page run may take")
    p.add_argument("--deadline", type=float, default=600, help="seconds for the whole load")
    p.add_argument("--ramp", type=float, default=2.0, help="seconds over which the users arrive")
    p.add_argument("--warm", action="store_true", help="visit each page once before measuring (caches built)")
    p.add_argument("--clients", type=int, default=0,
                   help="connect from this many loopback addresses, 127.0.0.1 … 127.0.0.N (default: one)")
    args = p.parse_args(argv)
    if not 1 <= args.users <= 200 or not 1 <= args.pages <= 100:
        p.error("--users must be 1–200 and --pages 1–100: this is a bounded load")
    if not 0 <= args.processes <= 64:
        p.error("--processes must be 0–64")
    if not 0 <= args.clients <= 254:
        p.error("--clients must be 0–254: loopback addresses 127.0.0.1 … 127.0.0.254")
    walks = [walk(ids, args.pages, args.as_of) for ids in sample_ids(args.store, args.as_of, args.users, args.seed)]

    def go(url: str) -> dict:
        if args.warm:
            asyncio.run(run_load(url, [walks[0]], args.timeout, args.deadline))
        results, wall = asyncio.run(run_load(url, walks, args.timeout, args.deadline, args.ramp, args.clients))
        return summary(results, wall)

    if args.url:
        result = go(args.url)
    elif args.processes:
        with deployment(args.store, args.processes, affinity=args.affinity) as d:
            result = go(d["url"])
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as logs, streamlit_server(args.store, Path(logs)) as url:
            result = go(url)
    print(render(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
