"""Shared fixtures: stores built for real (SQLite files in tmp dirs) from hand-built scenarios or the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import scenario  # noqa: E402

from accountability.dataset import load  # noqa: E402
from accountability.session import Session  # noqa: E402
from accountability.stores.sqlite import SQLiteStore  # noqa: E402


def build_session(folder: Path, data: dict, rules: str | None = None) -> Session:
    """Write ``data`` as a JSON dataset, import it into a fresh SQLite file, open a session on it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = scenario.write(data, folder)
    store = SQLiteStore(folder / "store.db")
    store.write(load(path))
    return Session(store, rules=rules)


@pytest.fixture
def make_session(tmp_path):
    sessions = []

    def make(data: dict | None = None, rules: str | None = None) -> Session:
        s = build_session(tmp_path / f"s{len(sessions)}", data or scenario.base(), rules)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """The small demo province as CSV, generated once per test session."""
    from accountability.demo import generate

    out = tmp_path_factory.mktemp("demo-small")
    generate(out, scale="small", seed=7)
    return out


@pytest.fixture(scope="session")
def small_demo_store(small_demo, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo-store") / "demo.db"
    with SQLiteStore(path) as store:
        store.write(load(small_demo))
    return path


# -- stores: every store-level test runs against each backend ---------------------------------------------

def neo4j_available() -> bool:
    import os
    import shutil

    try:
        import neo4j  # noqa: F401
    except ModuleNotFoundError:
        return False
    return bool(os.environ.get("NEO4J_URI")) or (shutil.which("java") is not None and shutil.which("mvn") is not None)


STORE_BACKENDS = ["sqlite"] + ([pytest.param("neo4j", marks=pytest.mark.neo4j)] if neo4j_available() else [])


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request, tmp_path):
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "store.db")
    else:
        store = request.getfixturevalue(f"{request.param}_store")
    yield store
    store.close()


# -- Neo4j: a real server, started once per session (or the one at NEO4J_URI) -----------------------------

@pytest.fixture(scope="session")
def neo4j_server():
    """The Bolt URI of a real Neo4j 5: ``$NEO4J_URI`` when set (its database is wiped by the tests: never
    point it at data you keep), otherwise the project's launcher, started once per test session and
    stopped at its end."""
    import os

    if not neo4j_available():
        pytest.skip("Neo4j needs java and mvn on PATH (or NEO4J_URI)")
    if os.environ.get("NEO4J_URI"):
        yield os.environ["NEO4J_URI"]
        return
    from accountability.stores.neo4j_server import Neo4jServer

    with Neo4jServer() as server:
        yield server.uri


def wipe_neo4j(store) -> None:
    """Delete every node and relationship (in batches); constraints and indexes stay."""
    with store.driver.session(database=store.database) as session:
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture
def neo4j_store(neo4j_server):
    """A Neo4j store on a clean database."""
    from accountability.stores.neo4j import Neo4jStore

    store = Neo4jStore(neo4j_server)
    wipe_neo4j(store)
    yield store
    store.close()
