"""``trace --all`` in parts, each in a process of its own, merged into one output.

The hazards are partitioned by where they lie: one part per province (root jurisdiction) when the store holds
several, else one per city (the province's own hazards going with the first). Each part runs in a worker
process that opens the store itself (a SQLite file, a Neo4j URI) and writes its chains, in hazard id order, to
a file of its own as frames (``hazard id, size, bytes``). The parent merges the frames by hazard id and writes
the header, the chains and the footer once: the output is byte for byte the single-process one.

Two ways to run the parts:

- ``workers=N``: a local pool of N processes (``concurrent.futures.ProcessPoolExecutor``, a fresh process per
  part so that no part holds another's memory, forked from a server process that imported the engine once). A process that dies (killed, out of memory)
  fails the run: :class:`~accountability.errors.BatchError`, nothing written.
- ``scheduler=ADDRESS``: the parts go to a Dask distributed cluster (``dask.distributed.Client``); a part
  whose worker fails is retried (:data:`RETRIES` times, and by the scheduler when a worker dies). The
  workers must reach the store and the output's folder (a shared filesystem, or a Neo4j store).

Each part reads only itself (:class:`PartStore`): its jurisdictions and those above, their organizations,
posts and people, its hazards and their records — one province's memory, however many the store holds. A
part whose data refers outside it (an enterprise controlled from another province) is read whole instead.

The output goes to a file beside the target, renamed over it at the end; on any failure the part files and
that file are removed, so no partial output is ever left. (A program calling :func:`trace_all` with
``workers`` starts a fork server: its main module needs the ``if __name__ == "__main__":`` guard.)
"""

from __future__ import annotations

import heapq
import io
import os
import pickle
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Any

from accountability.access import NOBODY_CONFIGURED, User
from accountability.errors import AccountabilityError, BatchError, UsageError
from accountability.output import chain_columns, chain_csv, chain_rows, csv_fields, write_blocks, write_rows
from accountability.progress import Progress

RETRIES = 2  # with a scheduler: how many times a failed part is run again
CONNECT_TIMEOUT = 5  # seconds to reach the scheduler
# tests only: "K" makes the process tracing part K end abruptly (os._exit) after its first chain; "K:FILE" does
# so only while FILE does not exist (creating it first), so that a retry of the part succeeds
FAULT = "ACCOUNTABILITY_BATCH_FAULT"


@dataclass(frozen=True)
class Job:
    """What every part of one run shares (sent to each worker process)."""

    store: str
    rules: str | None
    user: User
    as_of: str
    lang: str
    fmt: str


# -- the output, one piece per chain ------------------------------------------------------------------------------


def pieces(chains: Iterable[Any], ruleset: Any, lang: str, fmt: str) -> Iterator[Any]:
    """Each chain in ``fmt``: its bytes (jsonl, json, csv), or its rows (table)."""
    for chain in chains:
        yield piece(chain, ruleset, lang, fmt)


def piece(chain: Any, ruleset: Any, lang: str, fmt: str) -> Any:
    if fmt == "jsonl":
        return chain.json(ruleset, lang) + b"\n"
    if fmt == "json":
        return chain.json(ruleset, lang)
    if fmt == "csv":
        return chain_csv(chain, ruleset.generation >= 2)
    return list(chain_rows(chain.as_dict(ruleset, lang)))


def write_output(chain_pieces: Iterable[Any], fmt: str, ruleset: Any, sink: IO[bytes]) -> None:
    """The whole ``trace --all`` output from the chains' ``pieces``: header and footer once, in between the
    pieces in their order (the table's columns measured over every row first)."""
    v2 = ruleset.generation >= 2
    if fmt == "table":
        text = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
        write_rows((row for rows in chain_pieces for row in rows), chain_columns(v2), "table", text)
        text.detach()
    else:
        write_blocks(_assembled(chain_pieces, fmt, v2), sink)


def _assembled(chain_pieces: Iterable[bytes], fmt: str, v2: bool) -> Iterator[bytes]:
    if fmt == "jsonl":
        yield from chain_pieces
    elif fmt == "json":
        yield b"["
        separator = b"\n"
        for piece in chain_pieces:
            yield separator + piece
            separator = b",\n"
        yield b"\n]\n"
    else:
        yield csv_fields(chain_columns(v2)).encode() + b"\n"
        yield from chain_pieces


# -- partition ---------------------------------------------------------------------------------------------------


def partition(session: Any) -> list[tuple[str, ...]]:
    """The jurisdictions of each part, for the user of ``session``: one part per root jurisdiction they see
    (a province), or, with one root, one per child of it (a city), the root's own hazards in the first."""
    graph = session.graph
    roots = session.roots()
    if len(roots) > 1:
        return [tuple(sorted(graph.subtree(r))) for r in roots]
    root = roots[0]
    children = sorted(graph.tree.successors(root))
    if not children:
        return [(root,)]
    parts = [tuple(sorted(graph.subtree(c))) for c in children]
    parts[0] = (root, *parts[0])
    return parts


# -- a part's view of the store -----------------------------------------------------------------------------------


class Outside(Exception):
    """A part's data refers outside the part (an enterprise controlled from another province …): the part is
    traced again over the whole store."""


# per table read whole by batch work: the column that places a row in the part, the set it must be in, and the
# columns whose ids must lie in the part as well (else :class:`Outside`)
PLACED = {
    "organizations": ("jurisdiction_id", "reach", (("parent_id", "orgs"), ("controlled_by", "orgs"))),
    "posts": ("organization_id", "orgs", ()),
    "tenures": ("post_id", "posts", ()),
    "portfolios": ("post_id", "posts", (("organization_id", "orgs"),)),
    "people": ("id", "persons", ()),
    "events": ("hazard_id", "hazards", (("post_id", "posts"),)),
    "inspections": ("organization_id", "orgs", (("post_id", "posts"),)),
    "designations": ("target_id", "targets", (("post_id", "posts"),)),
}


class PartStore:
    """The store as a part sees it: the part's jurisdictions and those above them with their organizations,
    the posts, tenures, portfolios and people of those, the part's hazards with their events, the inspections
    of its organizations and the designations naming any of these — so that a worker holds one province, not
    all of them. Whatever a row read refers to must lie inside (an enterprise's parent and controller, a
    hazard's units, the post of an event, inspection or designation, a portfolio's organization): otherwise
    :class:`Outside` is raised, and the part is traced over the whole store instead. Everything else is the
    store's own."""

    def __init__(self, store: Any, part: Iterable[str]):
        self.store = store
        self.part = frozenset(part)
        parent = {r["id"]: r["parent_id"] for r in store.rows("jurisdictions")}
        reach = set()
        for jid in self.part:
            while jid and jid not in reach:
                reach.add(jid)
                jid = parent.get(jid)
        self.reach = frozenset(reach)
        self.orgs = self._ids("organizations", "id", jurisdiction_id=sorted(self.reach))
        self.posts = self._ids("posts", "id", organization_id=sorted(self.orgs))
        self.persons = self._ids("tenures", "person_id", post_id=sorted(self.posts))
        self.hazards = self._ids("hazards", "id", jurisdiction_id=sorted(self.part))
        self.targets = _Either(self.hazards, self.orgs, self.reach)  # what a designation may name
        tables = store.schema.tables  # a dataset without v2's columns has a store without them
        self.checked = {t: tuple((c, s) for c, s in checked if t in tables and c in tables[t].names)
                        for t, (_, _, checked) in PLACED.items()}

    def _ids(self, table: str, column: str, **where: Any) -> frozenset[str]:
        """The ``column`` values of ``table``'s rows where ``where`` holds."""
        return frozenset(row[0] for row in self.store.tuples(table, (column,), **where))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def rows(self, table: str, **where: Any) -> Iterator[dict]:
        if table not in PLACED:
            return self.store.rows(table, **where)
        column, inside, _ = PLACED[table]
        return self._kept(self.store.rows(table, **self._pushed(table, where)), table, column, inside,
                          self.checked[table])

    def tuples(self, table: str, columns: Any, **where: Any) -> Iterator[tuple]:
        if table not in PLACED:
            return self.store.tuples(table, columns, **where)
        column, inside, _ = PLACED[table]
        checked = self.checked[table]
        wanted = tuple(columns)
        read = wanted + tuple(c for c in (column, *(c for c, _ in checked)) if c not in wanted)
        at = {c: i for i, c in enumerate(read)}
        rows = self._kept(self.store.tuples(table, read, **self._pushed(table, where)), table, at[column], inside,
                          tuple((at[c], s) for c, s in checked), read)
        return rows if read == wanted else (row[:len(wanted)] for row in rows)

    def _pushed(self, table: str, where: dict) -> dict:
        """``where``, and the part's ids as a filter of the store's own: it reads the part only (but for the
        designations, few, which may name any of millions of hazards: those are kept as read)."""
        column, inside, _ = PLACED[table]
        if column in where or inside == "targets":
            return where
        return {**where, column: sorted(getattr(self, inside))}

    def _kept(self, rows: Iterable, table: str, column: Any, inside: str, checked: tuple,
              names: tuple = ()) -> Iterator:
        """The ``rows`` (dicts, or tuples of ``names``) whose ``column`` (a key, or a position) is ``inside``;
        :class:`Outside` when one of the ``checked`` columns of a kept row names something outside."""
        keep = getattr(self, inside)
        checks = [(c, getattr(self, s)) for c, s in checked]
        for row in rows:
            if row[column] not in keep:
                continue
            for c, ids in checks:
                value = row[c] if names else row.get(c)
                if value and value not in ids:
                    raise Outside(f"{table}: {names[c] if names else c} '{value}' lies outside the part")
            yield row

    def hazard_records(self, *args: Any, **kwargs: Any) -> Iterator[tuple[dict, list[dict]]]:
        orgs = self.orgs
        for hazard, events in self.store.hazard_records(*args, **kwargs):
            if hazard.get("jurisdiction_id") not in self.part:
                continue
            units = [hazard.get("organization_id"), *(hazard.get("other_organization_ids") or ())]
            outside = [u for u in units if u and u not in orgs]
            if outside:
                raise Outside(f"hazards: '{hazard['id']}' names '{outside[0]}', outside the part")
            yield hazard, events


class _Either:
    """Ids in any of a few sets, without copying them into one (a province's hazards are millions)."""

    def __init__(self, *sets: frozenset[str]):
        self.sets = sets

    def __contains__(self, value: object) -> bool:
        return any(value in s for s in self.sets)

    def __iter__(self) -> Iterator[str]:
        for s in self.sets:
            yield from s


# -- a part, in a worker process ----------------------------------------------------------------------------------


def run_part(job: Job, index: int, part: tuple[str, ...], path: str, fault: str | None = None) -> dict:
    """Trace the hazards of ``part`` into the frame file ``path``, reading only the part (:class:`PartStore`)
    unless it refers outside itself; return what the part did and cost (``scoped``: whether it read only
    itself; ``maxrss_kb``: the process's peak resident memory). ``fault``: the test hook :data:`FAULT`, as the
    caller's environment has it (a worker's own environment is read too)."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        count, scoped = _trace_part(job, index, part, path, True, fault), True
    except Outside:
        count, scoped = _trace_part(job, index, part, path, False, fault), False
    return {"part": index, "jurisdictions": len(part), "chains": count, "scoped": scoped,
            "seconds": round(time.perf_counter() - started, 3), "cpu_seconds": round(time.process_time() - cpu, 3),
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "pid": os.getpid()}


def _trace_part(job: Job, index: int, part: tuple[str, ...], path: str, scoped: bool, fault: str | None) -> int:
    from accountability.session import Session
    from accountability.stores import open_store

    user = NOBODY_CONFIGURED if job.user == NOBODY_CONFIGURED else job.user
    fault = _fault(index, fault or os.environ.get(FAULT))
    count = 0
    store = open_store(job.store, readonly=True)
    with store, store.snapshot(), open(path, "wb", buffering=1 << 20) as out:  # the part's ids and rows: one version
        session = Session(PartStore(store, part) if scoped else store, rules=job.rules, user=user)
        ruleset, table = session.ruleset, job.fmt == "table"
        for chain in session.trace_all(job.as_of, part=part):
            data = piece(chain, ruleset, job.lang, job.fmt)
            if table:
                data = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(b"%s\t%d\n" % (chain.hazard_id.encode(), len(data)))
            out.write(data)
            count += 1
            if fault:
                out.flush()
                os._exit(9)  # FAULT: as a killed process would, mid-run
    return count


def _fault(index: int, spec: str | None) -> bool:
    """Whether this process is to fail part ``index`` (the test hook :data:`FAULT`)."""
    if not spec:
        return False
    part, _, marker = spec.partition(":")
    if int(part) != index:
        return False
    if marker:
        if os.path.exists(marker):
            return False
        open(marker, "w").close()
    return True


def _frames(path: str) -> Iterator[tuple[str, bytes]]:
    """A part's frames, as (hazard id, bytes), in its order."""
    with open(path, "rb", buffering=1 << 20) as f:
        while line := f.readline():
            key, _, size = line.rstrip(b"\n").partition(b"\t")
            yield key.decode(), f.read(int(size))


# -- the run -------------------------------------------------------------------------------------------------------


def trace_all(session: Any, job: Job, output: str | None, workers: int | None = None,
              scheduler: str | None = None, progress: Progress | None = None) -> list[dict]:
    """``trace --all`` of ``job`` in parts (:func:`partition` of ``session``'s user), on ``workers`` local
    processes or on the Dask cluster at ``scheduler``, written to ``output`` (else stdout) as one run would
    write it. Returns each part's account (:func:`run_part`), in part order."""
    parts = partition(session)
    folder = (os.path.dirname(os.path.abspath(output)) if output else None)
    work = tempfile.mkdtemp(prefix=".trace-parts-", dir=folder)
    try:
        paths = [os.path.join(work, f"part-{i:04d}") for i in range(len(parts))]
        fault = os.environ.get(FAULT)
        tasks = [(i, part, path, fault) for i, (part, path) in enumerate(zip(parts, paths))]
        if scheduler:
            done = _on_cluster(job, tasks, scheduler, progress)
        else:
            done = _on_pool(job, tasks, workers or 1, progress)
        merged = heapq.merge(*(_frames(p) for p in paths), key=itemgetter(0))
        chain_pieces: Iterator[Any] = (data for _, data in merged)
        if job.fmt == "table":
            chain_pieces = (pickle.loads(data) for data in chain_pieces)
        ruleset = session.ruleset
        if output:
            whole = os.path.join(work, "output")
            with open(whole, "wb") as sink:
                write_output(chain_pieces, job.fmt, ruleset, sink)
            os.replace(whole, output)
        else:
            write_output(chain_pieces, job.fmt, ruleset, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return sorted(done, key=itemgetter("part"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _on_pool(job: Job, tasks: list[tuple], workers: int, progress: Progress | None) -> list[dict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    done: list[dict] = []
    # a fresh process per part, so that no part keeps another's heap; forked from a server that has imported the
    # engine once (a spawned process would import it again for every part)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["accountability.session", "accountability.trace_v2", "accountability.batch"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1)
    try:
        futures = {pool.submit(run_part, job, *task): task[0] for task in tasks}
        _told(progress, 0, len(tasks))
        for future in as_completed(futures):
            done.append(future.result())
            _told(progress, len(done), len(tasks))
    except BrokenProcessPool:
        left = sorted(futures[f] for f in futures if not f.done() or f.exception() is not None)
        raise BatchError(
            f"a worker process stopped abruptly (killed, or out of memory) while tracing; part(s) "
            f"{', '.join(str(i + 1) for i in left)} of {len(tasks)} not done: nothing written",
            code="worker_lost",
            zh=f"一个工作进程意外终止（被终止或内存不足）；共 {len(tasks)} 部分，其中第 "
               f"{'、'.join(str(i + 1) for i in left)} 部分未完成：未写出任何结果") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done


def _on_cluster(job: Job, tasks: list[tuple], address: str, progress: Progress | None) -> list[dict]:
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--scheduler: cannot reach a Dask scheduler at '{address}' ({exc})",
                         code="scheduler_unreachable",
                         zh=f"--scheduler：无法连接 Dask 调度器“{address}”（{exc}）") from None
    done: list[dict] = []
    with client:
        run = uuid.uuid4().hex  # the parts of this run, named apart from any other run's on the cluster
        futures = [client.submit(run_part, job, *task, key=f"trace-part-{task[0]}-{run}", retries=RETRIES, pure=False)
                   for task in tasks]
        _told(progress, 0, len(tasks))
        try:
            for future in as_completed(futures):
                done.append(future.result())
                _told(progress, len(done), len(tasks))
        except AccountabilityError:  # the data or the store, not the cluster: as one process would say it
            raise
        except Exception as exc:  # the part failed on every try, or its workers kept dying
            for future in futures:
                future.cancel()
            raise BatchError(f"a part of trace --all failed on the cluster at {address} after {RETRIES} retries "
                             f"({type(exc).__name__}: {exc}): nothing written", code="part_failed",
                             zh=f"集群 {address} 上的一部分计算在重试 {RETRIES} 次后仍失败"
                                f"（{type(exc).__name__}：{exc}）：未写出任何结果") from None
    return done


def _told(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress(done, total, "parts")
