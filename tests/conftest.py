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

STORE_BACKENDS = ["sqlite"]


@pytest.fixture(params=STORE_BACKENDS)
def any_store(request, tmp_path):
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path / "store.db")
    else:
        store = request.getfixturevalue(f"{request.param}_store")
    yield store
    store.close()
