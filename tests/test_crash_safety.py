"""Crash safety: an import killed at any moment, out of disk, or cut off by a power failure leaves the store
holding the old dataset or the new one — never a mix — and readers meanwhile see one or the other.

Every import here is the real command (``accountability import``) in a subprocess, replacing the small
demo province (~6,700 rows) with the county demo (~190,000 rows): about two seconds of work. A store's state
is judged by what it holds (every row, read back), by ``PRAGMA integrity_check`` and by its audit trail,
which commits with the data: one entry for the old dataset, two for the new.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from accountability import audit
from accountability.dataset import from_store, load
from accountability.errors import StoreError
from accountability.stores.sqlite import SQLiteStore
from graph_schema import SCHEMA

_SCRIPT = Path(sys.executable).parent / "accountability"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from accountability.cli import main; main()"]


@dataclass
class World:
    old: Path  # the small demo, CSV
    new: Path  # the county demo, CSV
    template: Path  # a store holding ``old``, imported before
    old_hash: str
    new_hash: str
    new_content: str  # content() of a store after a completed import of ``new``
    old_counts: dict
    new_counts: dict
    import_seconds: float


def spawn(world: World, db: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "ACCOUNTABILITY_USER": "crash-test"}
    return subprocess.Popen(CLI + ["import", str(world.new), "--store", str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, **kwargs)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from accountability.demo import generate

    root = tmp_path_factory.mktemp("crash")
    generate(root / "small", scale="small", seed=7)
    generate(root / "county", scale="county", seed=3)
    old = load(root / "small")
    template = root / "template.db"
    with SQLiteStore(template) as store:
        store.write(old)
    reference = root / "reference.db"
    shutil.copyfile(template, reference)
    w = World(root / "small", root / "county", template, old.content_hash(), "", "", old.counts(), {}, 0.0)
    started = time.perf_counter()
    done = spawn(w, reference)
    out, err = done.communicate(timeout=120)
    w.import_seconds = time.perf_counter() - started
    assert done.returncode == 0, err.decode()
    with SQLiteStore(reference, readonly=True) as store:
        w.new_hash = store.meta()["dataset_hash"]
        w.new_content = content(store)
        w.new_counts = {t: store.count(t) for t in w.old_counts}
    assert w.new_hash != w.old_hash and w.new_counts != w.old_counts
    return w


def content(store: SQLiteStore) -> str:
    """Every row of every table as stored, in storage order: equal for two stores only when the same
    writes reached both (cheaper than ``from_store``, which decodes every row)."""
    digest = hashlib.sha256()
    for table in SCHEMA.tables:
        digest.update(orjson.dumps(store.db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()))
    return digest.hexdigest()


def copy_of_old(world: World, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(world.template, path)
    return path


def state(world: World, db: Path) -> str:
    """"old" or "new" — after checking the file is sound and holds exactly one dataset and its trail."""
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()
    with SQLiteStore(db) as store:  # opened as the app opens it: recovers the WAL first
        digest = store.meta().get("dataset_hash")
        counts = {t: store.count(t) for t in world.old_counts}
        verdict = audit.verify(store)
        if counts == world.old_counts:
            held = from_store(store).content_hash()  # the old dataset was imported whole: rows in its order
        else:
            held = content(store) if counts == world.new_counts else None
    assert verdict.ok, verdict.problem
    if (digest, counts, held, verdict.entries) == (world.old_hash, world.old_counts, world.old_hash, 1):
        return "old"
    if (digest, counts, held, verdict.entries) == (world.new_hash, world.new_counts, world.new_content, 2):
        return "new"
    raise AssertionError(f"{db} holds a mix: dataset {digest}, {verdict.entries} audit entries, counts {counts}")


def wal_size(db: Path) -> int:
    try:
        return os.path.getsize(f"{db}-wal")
    except OSError:
        return 0


# -- SIGKILL ----------------------------------------------------------------------------------------------


def test_killed_at_fixed_moments(world, tmp_path):
    """Three imports at once, killed 0.2, 0.5 and 1.0 s after they started (reading, validating, writing)."""
    runs = []
    for delay in (0.2, 0.5, 1.0):
        db = copy_of_old(world, tmp_path / f"k{delay}" / "store.db")
        runs.append((delay, db, spawn(world, db), time.monotonic()))
    for delay, db, proc, started in runs:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        proc.send_signal(signal.SIGKILL)
    outcomes = []
    for delay, db, proc, _ in runs:
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        outcomes.append(state(world, db))
    # reading and checking the county take over half of a whole import: a kill before that is before the commit
    early = [outcome for (delay, *_), outcome in zip(runs, outcomes) if delay < world.import_seconds / 2]
    assert early and set(early) == {"old"}


def kill_inside_the_write_transaction(world: World, db: Path, after: float) -> tuple[subprocess.Popen, int]:
    """Kill the import ``after`` seconds into its write transaction, before its commit writes a frame.

    The write transaction is seen from outside: while it runs, another connection cannot take the write
    lock (``BEGIN IMMEDIATE`` fails at once); until its commit, nothing reaches the WAL (the import's page
    cache holds it all).
    """
    proc = spawn(world, db)
    probe = sqlite3.connect(db, timeout=0, isolation_level=None)
    locked_since, baseline = None, 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                locked_since = None
            except sqlite3.OperationalError:  # "database is locked": the import holds the write lock
                now = time.monotonic()
                if locked_since is None:
                    locked_since, baseline = now, wal_size(db)
                elif now - locked_since >= after and wal_size(db) == baseline:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=60)
                    return proc, baseline
            time.sleep(0.002)
    finally:
        probe.close()
    raise AssertionError(f"the import was never seen inside its write transaction: {proc.communicate()}")


def test_killed_inside_the_write_transaction(world, tmp_path):
    db = copy_of_old(world, tmp_path / "store.db")
    proc, _ = kill_inside_the_write_transaction(world, db, after=0.2)
    assert proc.returncode == -signal.SIGKILL
    assert state(world, db) == "old"


def test_killed_while_the_commit_is_being_written(world, tmp_path):
    """Kill as soon as the commit has appended 4 MB of its ~30 MB of pages to the WAL."""
    frames = 4 << 20
    db = copy_of_old(world, tmp_path / "store.db")
    proc = spawn(world, db)
    while proc.poll() is None:
        if wal_size(db) >= frames:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the import ended before its WAL grew"
    assert wal_size(db) >= frames  # the torn commit is still there, for the next opener to discard or apply
    # the commit frame comes last, after ~30 MB of pages: a WAL still far short of that is a torn commit
    torn = wal_size(db) < 16 << 20
    outcome = state(world, db)
    assert (outcome == "old") if torn else (outcome in ("old", "new"))


# -- out of disk ------------------------------------------------------------------------------------------


def test_disk_full_simulated_by_max_page_count(world, tmp_path):
    """SQLITE_FULL for real, from SQLite itself: the connection may not grow the file past a page limit."""
    db = copy_of_old(world, tmp_path / "store.db")
    new = load(world.new)
    with SQLiteStore(db) as store:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 100}")
        with pytest.raises(StoreError, match=r"import failed, store unchanged: no room to write .*database or disk "
                                             r"is full.*free some disk space"):
            store.write(new)
        assert not store.db.in_transaction
        assert store.meta()["dataset_hash"] == world.old_hash  # the same connection reads the old data
    assert state(world, db) == "old"
    with SQLiteStore(db) as store:  # with room again, the same import goes through
        assert not store.write(new).unchanged
    assert state(world, db) == "new"


def test_disk_full_simulated_by_a_file_size_limit_on_the_real_command(world, tmp_path):
    """The import process may not grow any file past the store's size plus 256 KiB (``RLIMIT_FSIZE``, set
    in the child only): the kernel refuses the writes as a full disk would."""
    db = copy_of_old(world, tmp_path / "store.db")
    limit = os.path.getsize(db) + 256 * 1024

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = spawn(world, db, preexec_fn=small_files)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    message = err.decode()
    assert message.startswith("error: import failed, store unchanged: no room to write") and "Traceback" not in message
    assert message.count("\n") == 1
    assert state(world, db) == "old"


# -- power cut --------------------------------------------------------------------------------------------


def test_power_cut_snapshots_hold_the_old_or_the_new_dataset(world, tmp_path):
    """Freeze the import (SIGSTOP) at random moments and every 30 ms while its WAL is in use (the commit,
    then the checkpoint), copy the store's files as they are on disk (the database and its WAL; the
    shared-memory index is rebuilt on opening, as after a power cut), let it go on (SIGCONT). Each copy is
    what a power cut at that instant would leave, had every write reached the disk."""
    db = copy_of_old(world, tmp_path / "store.db")
    rng = random.Random(20260601)
    proc = spawn(world, db)
    snapshots: list[tuple[Path, int]] = []
    started = time.monotonic()
    next_at, last_at, random_shots, commit_shots = rng.uniform(0.2, 0.6), 0.0, 0, 0
    while proc.poll() is None:
        now = time.monotonic() - started
        # random moments (reading, validating, writing), then every 30 ms while the commit and the
        # checkpoint after it have the WAL in use
        at_random = now >= next_at and random_shots < 6
        committing = wal_size(db) > 0 and now - last_at >= 0.03 and commit_shots < 4
        if at_random or committing:
            try:
                proc.send_signal(signal.SIGSTOP)
                copy = tmp_path / f"cut{len(snapshots):02d}" / "store.db"
                copy.parent.mkdir()
                shutil.copyfile(db, copy)
                if Path(f"{db}-wal").exists():
                    shutil.copyfile(f"{db}-wal", f"{copy}-wal")
                snapshots.append((copy, wal_size(copy)))
            finally:
                proc.send_signal(signal.SIGCONT)
            random_shots += at_random
            commit_shots += committing and not at_random
            last_at = now
            if at_random:
                next_at = now + rng.uniform(0.2, 0.6)
        time.sleep(0.0005)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    outcomes = [state(world, copy) for copy, _ in snapshots]
    assert "old" in outcomes and len(outcomes) >= 5
    assert any(size > 0 for _, size in snapshots), "no snapshot caught the commit"
    # once a copy holds the new dataset, every later one does
    assert outcomes == sorted(outcomes, key=lambda s: s == "new")
    assert state(world, db) == "new"


# -- readers during an import -------------------------------------------------------------------------------


def test_readers_see_the_old_or_the_new_dataset_never_a_mix(world, tmp_path):
    """A reader reads every table's row count, the dataset hash and the audit head in one snapshot, over
    and over, while the real import replaces the dataset."""
    db = copy_of_old(world, tmp_path / "store.db")
    with SQLiteStore(db, readonly=True) as store:
        old_head = audit.position(store)
    seen: list[tuple] = []
    stop = threading.Event()
    failure: list[BaseException] = []

    def reader() -> None:
        try:
            with SQLiteStore(db, readonly=True) as store:
                while not stop.is_set():
                    with store.snapshot():
                        counts = {t: store.count(t) for t in world.old_counts}
                        seen.append((store.meta()["dataset_hash"], counts, audit.position(store).seq,
                                     time.monotonic()))
                    time.sleep(0.001)  # leave the import a CPU
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failure.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while not seen and thread.is_alive():
            time.sleep(0.01)
        proc = spawn(world, db)
        out, err = proc.communicate(timeout=120)
        ended = time.monotonic()
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failure, failure
    assert proc.returncode == 0, err.decode()
    old = (world.old_hash, world.old_counts, old_head.seq)
    new = (world.new_hash, world.new_counts, old_head.seq + 1)
    kinds = []
    for digest, counts, seq, _ in seen:
        assert (digest, counts, seq) in (old, new), f"a mix: {digest} {counts} audit #{seq}"
        kinds.append("old" if (digest, counts, seq) == old else "new")
    assert kinds[0] == "old" and kinds[-1] == "new"
    assert kinds == sorted(kinds, key=lambda k: k == "new")  # never back to the old one
    during = sum(1 for *_, at in seen if at < ended)
    assert during >= 20, "the reader was blocked by the import"


def test_an_app_page_run_reads_one_version_while_an_import_commits(world, tmp_path):
    """Everything one page run reads (``LiveSession.use()``) comes from one version, even when a real import
    commits in the middle of it; the next run sees the new dataset."""
    from accountability.ui import LiveSession

    db = copy_of_old(world, tmp_path / "store.db")
    live = LiveSession(str(db))
    try:
        with live.use() as session:
            before = content(session.store), session.store.meta()["dataset_hash"]
            proc = spawn(world, db)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
            assert (content(session.store), session.store.meta()["dataset_hash"]) == before
        assert before[1] == world.old_hash
        with live.use() as session:
            assert session.store.meta()["dataset_hash"] == world.new_hash
    finally:
        live.reset()
