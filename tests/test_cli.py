"""The command line through its real entry point: exit codes, formats, messages."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import scenario
from accountability.cli import main


@pytest.fixture
def store(tmp_path):
    data = scenario.base()
    data["hazards"] += [scenario.hazard("H2", "hazardous_chemicals", "T", "E2", found_on="2026-01-10"),
                        scenario.hazard("H3", "construction", "V", "E3", status="closed", closed_on="2026-01-20")]
    data["incidents"] = [{"id": "I1", "title": "燃气爆炸", "occurred_on": "2026-06-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 0,
                          "direct_loss_yuan": 0, "hazard_ids": "H1"}]
    path = scenario.write(data, tmp_path)
    db = tmp_path / "store.db"
    result = CliRunner().invoke(main, ["import", str(path), "--store", str(db)])
    assert result.exit_code == 0, result.output
    return str(db)


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env)


def test_trace_json_has_the_design_shape(store):
    result = run("trace", "H1", "--as-of", "2026-02-01", "--store", store, "--format", "json")
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert set(chain) == {"hazard_id", "as_of", "links", "gaps"}
    assert chain["hazard_id"] == "H1" and chain["as_of"] == "2026-02-01"
    link = chain["links"][0]
    assert set(link) == {"post_id", "post_title", "organization_id", "jurisdiction_id", "duty", "degree", "rules",
                         "basis", "escalated", "holders", "path", "explanation"}
    assert set(link["holders"][0]) == {"person_id", "name", "start", "end", "acting"}
    assert link["basis"][0].startswith("《中华人民共和国安全生产法》")


def test_trace_in_english(store):
    result = run("trace", "H1", "--as-of", "2026-02-01", "--store", store, "--format", "json", "--lang", "en")
    chain = json.loads(result.output)
    assert chain["links"][0]["basis"][0].startswith("Work Safety Law")
    assert "bears" in chain["links"][0]["explanation"]


def test_trace_window_mode_reports_overlaps(store):
    result = run("trace", "H1", "--from", "2026-01-01", "--to", "2026-03-31", "--store", store, "--format", "json")
    chain = json.loads(result.output)
    assert chain["window"] == {"start": "2026-01-01", "end": "2026-03-31"}
    assert chain["links"][0]["holders"][0]["overlap"] == {"start": "2026-01-01", "end": "2026-03-31"}


def test_trace_all_streams_every_unresolved_hazard(store, tmp_path):
    result = run("trace", "--all", "--as-of", "2026-02-01", "--store", store, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert [c["hazard_id"] for c in lines] == ["H1", "H2"]  # H3 closed on 2026-01-20
    single = json.loads(run("trace", "H1", "--as-of", "2026-02-01", "--store", store, "--format", "json").output)
    assert lines[0] == single
    out = tmp_path / "all.csv"
    result = run("trace", "--all", "--as-of", "2026-02-01", "--store", store, "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {r["hazard_id"] for r in rows} == {"H1", "H2"}
    assert {r["post_id"] for r in rows if r["hazard_id"] == "H2"} >= {"E2-GM", "PARK-DIR", "K-EM-HEAD"}
    everything = json.loads(run("trace", "--all", "--as-of", "2026-02-01", "--store", store, "--format", "json").output)
    assert [c["hazard_id"] for c in everything] == ["H1", "H2"]


def test_trace_all_writes_in_blocks_that_lose_nothing():
    from accountability.output import write_blocks

    class Counting(io.BytesIO):
        calls = 0

        def write(self, data):
            Counting.calls += 1
            return super().write(data)

    pieces = [f"{i}:".encode() * (i % 7) + b"\n" for i in range(1000)]
    sink = Counting()
    assert write_blocks(iter(pieces), sink, size=512) == len(b"".join(pieces))
    assert sink.getvalue() == b"".join(pieces)
    assert 10 < Counting.calls < 30  # about len / 512 blocks, not a write per piece
    empty = io.BytesIO()
    assert write_blocks(iter([]), empty) == 0
    assert empty.getvalue() == b""


def test_incident_json(store):
    result = run("incident", "I1", "--store", store, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["level"] == "large"
    assert data["investigated_by"] == {"jurisdiction_id": "C", "organization_id": "C-GOV"}
    assert data["window"] == {"start": "2026-01-01", "end": "2026-06-01"}
    assert any(link["escalated"] for link in data["links"])


@pytest.mark.parametrize("args,code,message", [
    (["trace", "NOPE"], 1, "unknown hazard 'NOPE'"),
    (["trace", "H1", "--as-of", "yesterday"], 2, "not a date"),
    (["trace", "H1", "--as-of", "2026-02-30"], 2, "not a date"),
    (["trace"], 2, "give a HAZARD_ID or --all"),
    (["trace", "H1", "--format", "xml"], 2, "Invalid value for '--format'"),
    (["trace", "--all", "--from", "2026-01-01"], 2, "not a window"),
    (["incident", "NOPE"], 1, "unknown incident 'NOPE'"),
])
def test_errors_are_one_clear_message(store, args, code, message):
    result = run(*args, "--store", store)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_store_from_environment(store):
    result = run("trace", "H1", "--as-of", "2026-02-01", "--format", "json", env={"ACCOUNTABILITY_STORE": store})
    assert result.exit_code == 0 and json.loads(result.output)["hazard_id"] == "H1"


def test_missing_store_is_a_data_error(tmp_path):
    result = run("trace", "H1", "--store", str(tmp_path / "none.db"))
    assert result.exit_code == 1 and "store not found" in result.output


def test_debug_shows_the_traceback(store):
    result = run("trace", "NOPE", "--store", store, "--debug")
    assert result.exit_code == 1


def test_every_command_has_help():
    for command in main.commands:
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_rules_option(store, tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text("citations: {}\nrules: [{id: R1}]\n", encoding="utf-8")
    result = run("trace", "H1", "--store", store, "--rules", str(bad))
    assert result.exit_code == 1 and "rules.yaml: rules.R1: missing 'selectors'" in result.output


def test_a_file_export_records_where_it_came_from(store, tmp_path):
    """``FILE.provenance.json`` next to an export: the dataset and the audit position it was read at (which
    ``audit verify --anchor`` checks later), when, who and the command; nothing when the export fails."""
    from accountability import audit
    from accountability.stores.sqlite import SQLiteStore

    out = tmp_path / "chains.jsonl"
    result = run("trace", "--all", "--as-of", "2026-02-01", "--store", store, "--format", "jsonl", "-o", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "chains.jsonl.provenance.json").read_text())
    with SQLiteStore(store, readonly=True) as s:
        head, digest = audit.position(s), s.meta()["dataset_hash"]
    assert record["audit"] == head.as_dict() and record["dataset_hash"] == digest
    assert record["command"] == "trace --all" and record["as_of"] == "2026-02-01" and record["user"]
    anchor = f"{record['audit']['seq']}:{record['audit']['hash']}"
    assert run("audit", "verify", "--anchor", anchor, "--store", store).exit_code == 0
    query = tmp_path / "q.csv"
    assert run("query", "overdue-hazards", "--store", store, "--format", "csv", "-o", str(query)).exit_code == 0
    assert json.loads((tmp_path / "q.csv.provenance.json").read_text())["command"] == "query overdue-hazards"
    failed = tmp_path / "failed.jsonl"
    assert run("trace", "--all", "--as-of", "2026-13-01", "--store", store, "-o", str(failed)).exit_code == 2
    assert not (tmp_path / "failed.jsonl.provenance.json").exists()


# -- the program itself (``run``: it ends without freeing its heap) ---------------------------------------

PROGRAM = [sys.executable, "-c", "from accountability.cli import run; run()"]
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as most users run it


def program(*args):
    return subprocess.run(PROGRAM + list(args), capture_output=True, timeout=120, env=BUFFERED)


def test_the_program_writes_everything_and_keeps_its_exit_codes(store, tmp_path):
    """The fast exit loses no output (stdout and a file, flushed) and keeps each exit code."""
    every = ("trace", "--all", "--as-of", "2026-02-01", "--format", "jsonl", "--store", store)
    expected = run(*every).output.encode()
    piped = program(*every)
    assert piped.returncode == 0 and piped.stdout == expected and len(expected.splitlines()) == 2
    out = tmp_path / "all.jsonl"
    filed = program(*every, "-o", str(out))
    assert filed.returncode == 0 and out.read_bytes() == expected
    assert json.loads((tmp_path / "all.jsonl.provenance.json").read_text())["command"] == "trace --all"
    one = ("trace", "H1", "--as-of", "2026-02-01", "--format", "json", "--store", store)
    assert program(*one).stdout == run(*one).output.encode()
    missing = program("trace", "H404", "--store", store)
    assert (missing.returncode, missing.stderr) == (1, b"error: unknown hazard 'H404'\n")
    usage = program("trace", "--format", "yaml", "H1", "--store", store)
    assert usage.returncode == 2 and b"Invalid value for '--format'" in usage.stderr


def test_the_program_stops_quietly_when_its_reader_goes(store):
    """``accountability trace --all | head -1``: the reader closes the pipe; no traceback, exit 0."""
    proc = subprocess.Popen(PROGRAM + ["trace", "--all", "--as-of", "2026-02-01", "--store", store],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BUFFERED)
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert b"Traceback" not in proc.stderr.read()
