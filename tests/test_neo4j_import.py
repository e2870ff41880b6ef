"""An import into Neo4j in many transactions (issue #18, item 1), against a real server: a reader running
meanwhile sees the old dataset or the new one, never a mix; an import killed with ``kill -9`` leaves the
old dataset whole and readable, and the next import sweeps what it left.

The import spans many transactions here because the batches are small (``Neo4jStore(batch_size=…)``);
the generations that make it atomic are described in ``accountability.stores.neo4j``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import scenario
from click.testing import CliRunner
from conftest import wipe_neo4j

from accountability.cli import main
from accountability.dataset import from_store, load
from accountability.stores.neo4j import Neo4jStore

neo4j = pytest.importorskip("neo4j")
pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def old_and_new(small_demo, tmp_path_factory):
    """The scenario (a handful of rows) and the small demo (thousands): different counts and hashes."""
    folder = tmp_path_factory.mktemp("neo4j-import")
    return load(scenario.write(scenario.base(), folder)), load(small_demo)


@pytest.fixture
def holding_old(neo4j_server, old_and_new):
    store = Neo4jStore(neo4j_server)
    wipe_neo4j(store)
    store.write(old_and_new[0])
    yield store
    store.close()


def pending(store: Neo4jStore) -> int:
    """Nodes of a generation newer than the current one: what an import has written so far."""
    with store.driver.session(database=store.database) as session:
        return session.run("MATCH (m:Meta {_key: 'store'}) MATCH (n) WHERE n._gen > m._gen "
                           "RETURN count(n)").single()[0]


def test_a_reader_during_an_import_sees_the_old_dataset_or_the_new_one(holding_old, old_and_new, neo4j_server):
    old, new = old_and_new
    expected = {(len(old.tables["hazards"]), len(old.tables["events"]), old.content_hash()),
                (len(new.tables["hazards"]), len(new.tables["events"]), new.content_hash())}
    seen: list[tuple] = []
    during: list[tuple] = []
    importing, stop, errors = threading.Event(), threading.Event(), []

    def read() -> None:
        with Neo4jStore(neo4j_server) as reader:
            try:
                while not stop.is_set():
                    with reader.snapshot():
                        got = (reader.count("hazards"), sum(1 for _ in reader.rows("events")),
                               reader.meta()["dataset_hash"])
                    seen.append(got)
                    if importing.is_set():
                        during.append(got)
                    # outside a snapshot, one read is one generation too
                    assert reader.count("hazards") in {n for n, _, _ in expected}
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    writer = Neo4jStore(neo4j_server, batch_size=200)
    try:
        importing.set()
        started = time.monotonic()
        result = writer.write(new)
        importing.clear()
        took = time.monotonic() - started
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(60)
        writer.close()
    assert errors == []
    assert not result.unchanged and result.inserted["hazards"] == len(new.tables["hazards"])
    assert set(seen) <= expected, set(seen) - expected
    assert len(during) >= 5, f"the reader read {len(during)} times during a {took:.1f} s import"
    assert seen[0][2] == old.content_hash() and seen[-1][2] == new.content_hash()
    assert from_store(holding_old).content_hash() == new.content_hash()


IMPORT = """
import sys
from accountability.dataset import load
from accountability.stores.neo4j import Neo4jStore
Neo4jStore(sys.argv[1], batch_size=50).write(load(sys.argv[2]))
"""


def test_an_import_killed_mid_way_leaves_the_old_dataset_and_the_next_one_sweeps(holding_old, old_and_new,
                                                                                  neo4j_server, small_demo):
    old, new = old_and_new
    child = subprocess.Popen([sys.executable, "-c", IMPORT, neo4j_server, str(small_demo)])
    try:
        deadline = time.monotonic() + 120
        while pending(holding_old) < 2000:  # some batches are committed
            assert child.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import wrote nothing in two minutes"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    left = pending(holding_old)
    assert left >= 2000
    # the old dataset reads whole, and its audit trail vouches for it
    assert from_store(holding_old).content_hash() == old.content_hash()
    assert holding_old.meta()["dataset_hash"] == old.content_hash()
    verified = CliRunner().invoke(main, ["audit", "verify", "--store", neo4j_server])
    assert verified.exit_code == 0, verified.output
    # the guard transaction died with the client: the next import is not blocked, and sweeps what was left
    result = holding_old.write(new)
    assert not result.unchanged and result.inserted["hazards"] == len(new.tables["hazards"])
    assert pending(holding_old) == 0
    with holding_old.driver.session() as session:
        generations = session.run("MATCH (n) WHERE n._gen IS NOT NULL RETURN collect(DISTINCT n._gen) AS g").single()
    assert generations["g"] == [holding_old.generation()]
    assert from_store(holding_old).content_hash() == new.content_hash()
    assert CliRunner().invoke(main, ["audit", "verify", "--store", neo4j_server]).exit_code == 0


def test_a_database_written_before_generations_reads_and_takes_the_next_import(neo4j_server, old_and_new):
    old, new = old_and_new
    with Neo4jStore(neo4j_server) as store:
        wipe_neo4j(store)
        store.write(old)
        # as the version before generations left it: no _gen anywhere, each key unique on its own
        with store.driver.session() as session:
            session.run("MATCH (n) WHERE n._gen IS NOT NULL REMOVE n._gen").consume()
            for r in list(session.run("SHOW CONSTRAINTS YIELD name, labelsOrTypes AS l, properties AS p "
                                      "WHERE p = ['_key', '_gen'] RETURN name, l")):
                session.run(f"DROP CONSTRAINT {r['name']}").consume()
                session.run(f"CREATE CONSTRAINT {r['name']} FOR (n:{r['l'][0]}) REQUIRE n._key IS UNIQUE").consume()
    with Neo4jStore(neo4j_server) as store:
        assert [r["id"] for r in store.rows("hazards", id="H1")] == ["H1"]
        assert from_store(store).content_hash() == old.content_hash()
        result = store.write(new)
        assert not result.unchanged and result.deleted["hazards"] == len(old.tables["hazards"]) - len(
            {h[0] for h in old.tables["hazards"]} & {h[0] for h in new.tables["hazards"]})
        assert store.generation() == 1 and pending(store) == 0
        with store.driver.session() as session:
            assert session.run("MATCH (n:Hazard) WHERE n._gen IS NULL RETURN count(n)").single()[0] == 0
            assert {tuple(r["p"]) for r in session.run(
                "SHOW CONSTRAINTS YIELD labelsOrTypes AS l, properties AS p WHERE l = ['Hazard'] RETURN p")} \
                == {("_key", "_gen")}
        assert [r["id"] for r in store.rows("hazards", id="H0000001")] == ["H0000001"]
        assert from_store(store).content_hash() == new.content_hash()
    assert CliRunner().invoke(main, ["audit", "verify", "--store", neo4j_server]).exit_code == 0


def test_an_import_tells_its_progress_batch_by_batch(holding_old, old_and_new, neo4j_server):
    """What `push` and `import --store bolt://…` draw on a terminal: the rows sent, up to every row."""
    _, new = old_and_new
    calls: list[tuple[int, int, str]] = []
    store = Neo4jStore(neo4j_server, batch_size=500)
    try:
        store.write(new, progress=lambda done, total, phase: calls.append((done, total, phase)))
    finally:
        store.close()
    rows = sum(len(r) for r in new.tables.values())
    assert calls[0] == (0, rows, "write") and calls[-1] == (rows, rows, "write")
    done = [c[0] for c in calls]
    assert done == sorted(done) and len(calls) > rows // 500
