"""``trace --all`` in parts (accountability.batch): the same bytes as one process, on local worker processes
and on a real Dask cluster of two worker processes; a killed worker fails the run and leaves no output."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from accountability import batch
from accountability.cli import main
from accountability.dataset import load
from accountability.demo import generate
from accountability.session import Session
from accountability.stores.sqlite import SQLiteStore

AS_OF = "2026-11-28"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory) -> Path:
    """The small demo, two provinces side by side, in a SQLite file."""
    folder = tmp_path_factory.mktemp("two-provinces")
    generate(folder / "csv", scale="small", seed=7, provinces=2)
    with SQLiteStore(folder / "two.db") as store:
        store.write(load(folder / "csv"))
    return folder / "two.db"


@pytest.fixture(scope="module")
def stores(two_provinces, small_demo_store) -> dict[str, Path]:
    return {"two": two_provinces, "one": small_demo_store}


def trace_all(store: Path, out: Path, *more: str, env: dict | None = None):
    return run("trace", "--all", "--as-of", AS_OF, "--store", str(store), "-o", str(out), "-q", *more, env=env)


@pytest.fixture(scope="module")
def one_process(stores, tmp_path_factory):
    """The single-process output of a case, made once."""
    made: dict[tuple, Path] = {}

    def output(which: str, rules: str, fmt: str) -> Path:
        if (which, rules, fmt) not in made:
            out = tmp_path_factory.mktemp("single") / f"{which}-{rules}.{fmt}"
            result = trace_all(stores[which], out, "--rules", rules, "--format", fmt)
            assert result.exit_code == 0, result.output
            made[which, rules, fmt] = out
        return made[which, rules, fmt]

    return output


# -- the parts ----------------------------------------------------------------------------------------------------


def test_two_provinces_are_two_parts_and_one_province_is_cut_by_city(stores):
    with Session(str(stores["two"]), readonly=True) as s:
        parts = batch.partition(s)
        assert len(parts) == 2 and "JB-P" in parts[0] and "JN-P" in parts[1]
        assert all(j.startswith("JB-") for j in parts[0]) and all(j.startswith("JN-") for j in parts[1])
        assert sum(len(p) for p in parts) == len(s.graph.jurisdictions)
    with Session(str(stores["one"]), readonly=True) as s:
        parts = batch.partition(s)
        cities = sorted(s.graph.tree.successors("P"))
        assert len(parts) == len(cities) >= 2
        assert parts[0][0] == "P" and not any("P" in p for p in parts[1:])  # the province's own hazards go with the first city
        assert set().union(*parts) == set(s.graph.jurisdictions)


@pytest.mark.parametrize("which,rules,fmt", [
    ("two", "reference-v2", "jsonl"), ("two", "reference-v2", "csv"), ("two", "reference-v1", "jsonl"),
    ("two", "reference-v1", "csv"), ("one", "reference-v2", "jsonl"), ("one", "reference-v1", "csv"),
    ("two", "reference-v2", "json"), ("one", "reference-v2", "table"),
])
def test_workers_write_the_single_process_bytes(stores, one_process, tmp_path, which, rules, fmt):
    out = tmp_path / f"many.{fmt}"
    result = trace_all(stores[which], out, "--rules", rules, "--format", fmt, "--workers", "2")
    assert result.exit_code == 0, result.output
    expected = one_process(which, rules, fmt)
    assert out.stat().st_size > 10_000
    assert md5(out) == md5(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, out.name + ".provenance.json"]


def test_progress_hears_of_the_parts(stores, tmp_path):
    heard = []
    with Session(str(stores["two"]), readonly=True) as s:
        job = batch.Job(str(stores["two"]), None, s.user, AS_OF, "zh", "jsonl")
        done = batch.trace_all(s, job, str(tmp_path / "out.jsonl"), workers=2,
                               progress=lambda *a: heard.append(a))
    assert heard[0] == (0, 2, "parts") and heard[-1] == (2, 2, "parts")
    assert [d["part"] for d in done] == [0, 1]
    assert all(d["chains"] > 100 and d["maxrss_kb"] > 0 and d["pid"] != os.getpid() for d in done)
    assert all(d["scoped"] for d in done)  # each province read only itself
    assert sum(d["chains"] for d in done) == len((tmp_path / "out.jsonl").read_bytes().splitlines())


def test_a_part_that_refers_outside_itself_is_traced_over_the_whole_store(tmp_path):
    """An enterprise of one province controlled by a group of the other: its province's part cannot be read
    alone (rule 1c names the group's principal), so that part reads everything — and the output is the same."""
    folder = tmp_path / "csv"
    generate(folder, scale="small", seed=7, provinces=2)
    table = folder / "organizations.csv"
    rows = list(csv.reader(table.open(encoding="utf-8", newline="")))
    header = rows[0]
    kind, controller = header.index("kind"), header.index("controlled_by")
    group = next(r[0] for r in rows[1:] if r[0].startswith("JB-G"))
    crossed = next(r for r in rows[1:] if r[0].startswith("JN-E") and r[kind] == "enterprise" and not r[controller])
    crossed[controller] = group
    with table.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    db = tmp_path / "crossed.db"
    with SQLiteStore(db) as store:
        store.write(load(folder))
    one, many = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
    assert trace_all(db, one, "--format", "jsonl").exit_code == 0
    with Session(str(db), readonly=True) as s:
        job = batch.Job(str(db), None, s.user, AS_OF, "zh", "jsonl")
        done = batch.trace_all(s, job, str(many), workers=2)
    assert [d["scoped"] for d in done] == [True, False]  # JB alone; JN over the whole store
    assert md5(many) == md5(one)


def test_a_contract_v1_store_is_cut_the_same_way(tmp_path):
    """A store without v2's tables and columns (no inspections, no controlled_by): the parts read what it has."""
    from v1data import strip_to_v1

    generate(tmp_path / "v2", scale="small", seed=7, provinces=2)
    db = tmp_path / "v1.db"
    with SQLiteStore(db) as store:
        store.write(load(strip_to_v1(tmp_path / "v2", tmp_path / "v1")))
    for rules in ("reference-v1", "reference-v2"):
        one, many = tmp_path / f"one-{rules}.jsonl", tmp_path / f"many-{rules}.jsonl"
        assert trace_all(db, one, "--rules", rules, "--format", "jsonl").exit_code == 0
        result = trace_all(db, many, "--rules", rules, "--format", "jsonl", "--workers", "2")
        assert result.exit_code == 0, result.output
        assert md5(many) == md5(one) and one.stat().st_size > 10_000


# -- faults and bad input -------------------------------------------------------------------------------------------


def test_a_killed_worker_fails_the_run_and_leaves_no_output(stores, tmp_path):
    out = tmp_path / "out.jsonl"
    result = trace_all(stores["two"], out, "--format", "jsonl", "--workers", "2", env={batch.FAULT: "1"})
    assert result.exit_code == 1
    assert "worker process stopped abruptly" in result.output and "nothing written" in result.output
    assert list(tmp_path.iterdir()) == []  # neither the output, its provenance, nor the parts


def test_a_killed_worker_to_stdout_writes_nothing(stores):
    result = run("trace", "--all", "--as-of", AS_OF, "--store", str(stores["two"]), "--format", "csv",
                 "--workers", "2", env={batch.FAULT: "0"})
    assert result.exit_code == 1
    assert result.stdout == "" and "worker process stopped abruptly" in result.stderr


@pytest.mark.parametrize("args,message", [
    (("--all", "--workers", "0"), "0 is not in the range x>=1"),
    (("JN-H0000001", "--workers", "2"), "one hazard is traced in one process"),
    (("JN-H0000001", "--scheduler", "tcp://127.0.0.1:1"), "one hazard is traced in one process"),
    (("--all", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"), "not both"),
])
def test_bad_options_are_usage_errors(stores, tmp_path, args, message):
    out = tmp_path / "out.jsonl"
    result = run("trace", *args, "--store", str(stores["two"]), "-o", str(out))
    assert result.exit_code == 2 and message in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_scheduler_is_a_usage_error(stores, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", 1)
    out = tmp_path / "out.jsonl"
    result = trace_all(stores["two"], out, "--format", "jsonl", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "cannot reach a Dask scheduler at 'tcp://127.0.0.1:1'" in result.output
    assert list(tmp_path.iterdir()) == []


# -- a real Dask cluster --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Dask cluster of two worker processes, started with the fault hook armed once for part 1: the
    first run on it loses that part's worker mid-part, and the part runs again."""
    distributed = pytest.importorskip("dask.distributed")
    marker = tmp_path_factory.mktemp("fault") / "part-1-killed"
    os.environ[batch.FAULT] = f"1:{marker}"
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=50) as local:
            os.environ.pop(batch.FAULT)
            yield local.scheduler_address, marker
    finally:
        os.environ.pop(batch.FAULT, None)


def test_the_cluster_retries_a_killed_part_and_writes_the_same_bytes(stores, one_process, cluster, tmp_path):
    address, marker = cluster
    out = tmp_path / "cluster.jsonl"
    result = trace_all(stores["two"], out, "--format", "jsonl", "--scheduler", address)
    assert result.exit_code == 0, result.output
    assert marker.exists()  # part 1's first worker did die
    assert md5(out) == md5(one_process("two", "reference-v2", "jsonl"))


@pytest.mark.parametrize("which,rules,fmt", [("two", "reference-v1", "csv"), ("one", "reference-v2", "csv")])
def test_the_cluster_writes_the_single_process_bytes(stores, one_process, cluster, tmp_path, which, rules, fmt):
    out = tmp_path / f"cluster.{fmt}"
    result = trace_all(stores[which], out, "--rules", rules, "--format", fmt, "--scheduler", cluster[0])
    assert result.exit_code == 0, result.output
    assert md5(out) == md5(one_process(which, rules, fmt))
