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
    result = run("trace", "H1", "--as-of", "2026-02-01", "--store", store, "--format", "json", "--rules",
                 "reference-v2")
    assert result.exit_code == 0, result.output
    chain = json.loads(result.output)
    assert set(chain) == {"hazard_id", "as_of", "links", "gaps"}
    assert chain["hazard_id"] == "H1" and chain["as_of"] == "2026-02-01"
    link = chain["links"][0]
    v1 = {"post_id", "post_title", "organization_id", "jurisdiction_id", "duty", "degree", "rules", "basis",
          "escalated", "holders", "path", "explanation"}
    assert set(link) == v1 | {"evidence"}
    assert set(link["holders"][0]) == {"person_id", "name", "start", "end", "acting", "assessment"}
    assert link["basis"][0].startswith("《中华人民共和国安全生产法》")
    old = json.loads(run("trace", "H1", "--as-of", "2026-02-01", "--store", store, "--format", "json",
                         "--rules", "reference-v1").output)
    assert set(old["links"][0]) == v1 and set(old["links"][0]["holders"][0]) == {"person_id", "name", "start", "end",
                                                                                   "acting"}


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


@pytest.mark.parametrize("variable,value,command,message", [
    ("ACCOUNTABILITY_DATASET_MAX_ROWS", "abc", ["import", "."], b"ACCOUNTABILITY_DATASET_MAX_ROWS: 'abc' is not a whole number"),
    ("ACCOUNTABILITY_DATASET_MAX_CELLS", "1e9", ["import", "."], b"ACCOUNTABILITY_DATASET_MAX_CELLS: '1e9' is not a whole number"),
    ("ACCOUNTABILITY_DATASET_MAX_BYTES", "-1", ["import", "."], b"ACCOUNTABILITY_DATASET_MAX_BYTES: '-1' must not be negative"),
    ("ACCOUNTABILITY_QUERY_TIMEOUT", "soon", ["sql", "select 1"], b"ACCOUNTABILITY_QUERY_TIMEOUT: 'soon' is not a number"),
    ("ACCOUNTABILITY_QUERY_ROW_CAP", "-5", ["sql", "select 1"], b"ACCOUNTABILITY_QUERY_ROW_CAP: '-5' must not be negative"),
    ("ACCOUNTABILITY_QUERY_TIMEOUT", "inf", ["sql", "select 1"], b"ACCOUNTABILITY_QUERY_TIMEOUT: 'inf' is not a finite number"),
])
def test_a_setting_that_is_not_a_number_is_named_and_nothing_else_breaks(store, variable, value, command, message):
    """A bad value names its variable, with no traceback, where it is used; every other command (and
    ``--help``) runs as before."""
    env = {**BUFFERED, variable: value}
    done = subprocess.run(PROGRAM + command + ["--store", store], capture_output=True, timeout=120, env=env)
    assert done.returncode == 2 and done.stderr.startswith(b"error: " + message)
    assert b"Traceback" not in done.stderr
    assert subprocess.run(PROGRAM + ["--help"], capture_output=True, timeout=120, env=env).returncode == 0
    other = subprocess.run(PROGRAM + ["trace", "H1", "--as-of", "2026-02-01", "--format", "json", "--store", store],
                           capture_output=True, timeout=120, env=env)
    assert other.returncode == 0 and json.loads(other.stdout)["hazard_id"] == "H1"


def test_the_program_stops_quietly_when_its_reader_goes(store):
    """``accountability trace --all | head -1``: the reader closes the pipe; no traceback, exit 0."""
    proc = subprocess.Popen(PROGRAM + ["trace", "--all", "--as-of", "2026-02-01", "--store", store],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BUFFERED)
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert b"Traceback" not in proc.stderr.read()


# -- hostile datasets: refused in seconds and small memory, messages bounded (#19 item 7) ---------------------


# The program, telling as it ends its CPU seconds and its peak resident memory: the kernel's high-water mark
# of this process image (getrusage would count the test process it was forked from as well).
MEASURED = [sys.executable, "-c", "import atexit, os\n"
            "def report():\n"
            "    peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "    t = os.times()\n"
            "    open(os.environ['MEASURED_TO'], 'w').write(f'{t.user + t.system} {int(peak) * 1024}')\n"
            "atexit.register(report)\n"
            "from accountability.cli import run; run()"]


def _measured(tmp_path, *args) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run the program; return what it did, its CPU seconds and its peak memory in bytes."""
    report = tmp_path / "measured.txt"
    done = subprocess.run(MEASURED + list(args), capture_output=True, timeout=600,
                          env={**BUFFERED, "MEASURED_TO": str(report)})
    seconds, peak = report.read_text().split()
    return done, float(seconds), int(peak)


def test_validate_refuses_a_zip_bomb_in_seconds_and_little_memory(tmp_path):
    """CPU time, not wall time: the machine may be busy. Before the limits this bomb took 21 s of CPU and
    210 MB to end in 300,006 errors; now 0.5 s and 44 MB, most of it starting Python."""
    import re

    from test_dataset import BOMB, zip_bomb

    done, seconds, peak = _measured(tmp_path, "validate", str(zip_bomb(tmp_path / "bomb.xlsx")))
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 1 and lines[0] == "error: invalid dataset: 1 error(s)", lines[:3]
    assert len(lines) == 2 and re.fullmatch(BOMB, lines[1]), lines
    assert seconds < 5 and peak < 150 * 2 ** 20, (seconds, peak)


def test_importing_a_zip_bomb_leaves_the_store_as_it_was(any_store, tmp_path):
    """Refused while the dataset is read, before the store is written: rows, meta and audit log as they were."""
    import re

    from test_dataset import BOMB, zip_bomb

    assert run("import", str(scenario.write(scenario.base(), tmp_path)), "--store", any_store.uri).exit_code == 0

    def state() -> tuple:
        tables = {t: sorted(map(str, any_store.rows(t))) for t in ("jurisdictions", "posts", "tenures", "hazards")}
        return tables, any_store.meta(), list(any_store.audit_entries())

    before = state()
    result = run("import", str(zip_bomb(tmp_path / "bomb.xlsx")), "--store", any_store.uri)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(BOMB, result.stderr), result.output
    assert state() == before


def test_a_hundred_thousand_errors_print_two_hundred_lines_and_the_count_of_the_rest(tmp_path):
    """``InvalidDataset`` keeps every error (the app lists them all); the message the program prints shows
    the count, the first 200 and how many more there are."""
    from accountability.dataset import load
    from accountability.errors import InvalidDataset

    data = scenario.base()
    data["hazards"] += [scenario.hazard(f"J{i}", "unicorns", "T", "E1") for i in range(100_000)]
    path = scenario.write(data, tmp_path)
    result = program("validate", str(path))
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1 and result.stdout == b""
    assert lines[0] == "error: invalid dataset: 100000 error(s)"
    assert lines[1] == "hazards:2: industry: unknown industry 'unicorns'"
    assert lines[-1] == "… and 99800 more errors" and len(lines) == 202
    with pytest.raises(InvalidDataset) as err:
        load(path)
    assert len(err.value.errors) == 100_000


# -- issue #20, item 5: uploads and paths ---------------------------------------------------------------------


def test_validate_and_import_take_the_zip_the_app_takes(tmp_path):
    import zipfile

    from accountability.dataset import export, load

    folder = export(load(scenario.write(scenario.base(), tmp_path)), tmp_path / "csv")
    archive = tmp_path / "dataset.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in folder.glob("*.csv"):
            z.write(p, f"dataset/{p.name}")
    result = run("validate", str(archive))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: ")
    result = run("import", str(archive), "--store", str(tmp_path / "z.db"))
    assert result.exit_code == 0, result.output
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../jurisdictions.csv", "id,name\n")
    result = run("validate", str(evil))
    assert result.exit_code == 1 and "outside the folder" in result.output


def test_one_bad_row_is_one_error_not_a_cascade(tmp_path):
    data = scenario.base()
    data["hazards"] += [scenario.hazard("H2", "hazardous_chemicals", "T", "E2", found_on="2026-02-30")]
    data["events"] = [{"hazard_id": "H2", "on": "2026-03-01", "kind": "inspected", "note": ""}]
    data["incidents"] = [{"id": "I1", "title": "燃气爆炸", "occurred_on": "2026-06-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 1, "serious_injuries": 0,
                          "direct_loss_yuan": 0, "hazard_ids": "H2"}]
    result = run("validate", str(scenario.write(data, tmp_path)))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith(("hazards", "events", "incidents"))]
    assert len(errors) == 1 and errors[0].startswith("hazards:") and "found_on" in errors[0], result.output
    data["events"][0]["hazard_id"] = "H9"  # a reference to a row that does not exist at all is still an error
    result = run("validate", str(scenario.write(data, tmp_path)))
    assert "unknown hazard 'H9'" in result.output


@pytest.mark.parametrize("args", [
    ("trace", "--all", "-o", "{missing}/chains.jsonl"),
    ("query", "overdue-hazards", "-o", "{missing}/q.csv"),
    ("sql", "SELECT 1", "-o", "{missing}/q.csv"),
    ("report", "I1", "--format", "md", "-o", "{missing}/r.md"),
])
def test_output_into_a_missing_folder_is_one_clear_message(store, tmp_path, args):
    missing = tmp_path / "no" / "such"
    result = run(*[a.format(missing=missing) for a in args], "--store", store)
    assert result.exit_code == 2, result.output
    assert f"the folder '{missing}' does not exist" in result.output
    assert "Traceback" not in result.output and not missing.exists()


def test_a_report_without_a_chinese_font_prints_one_warning(store, tmp_path):
    """The real program on a machine without a Chinese font (the font lookup says so): one warning, then
    "wrote …" — not one warning per missing glyph."""
    out = tmp_path / "r.docx"
    code = ("from accountability.reports import figure; figure.cjk_font = lambda: None; "
            "from accountability.cli import run; run()")
    done = subprocess.run([sys.executable, "-c", code, "report", "I1", "--store", store, "-o", str(out)],
                          capture_output=True, timeout=120, env=BUFFERED, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Glyph" not in done.stderr
    assert done.stderr.count("Warning") == 1 and "no Chinese font" in done.stderr, done.stderr[:2000]
    assert done.stderr.strip().splitlines()[-1].startswith("wrote ")


# -- issue #20, item 6: documentation that ships with the code -----------------------------------------------


def test_the_docs_are_self_contained_and_name_every_table_and_column():
    from pathlib import Path

    from graph_schema import SCHEMA

    root = Path(__file__).resolve().parent.parent
    docs = {p.name: p.read_text(encoding="utf-8") for p in [root / "README.md", *(root / "docs").glob("*.md")]}
    assert {"README.md", "dataset.md", "rules.md", "json.md"} <= set(docs)
    for name, text in docs.items():
        assert "DESIGN.md" not in text, f"{name} points at a file that is not in the repository"
        for target in __import__("re").findall(r"\]\((docs/[^)#]+|[a-z]+\.md)\)", text):
            folder = root if target.startswith("docs/") else root / "docs"
            assert (folder / target).exists(), f"{name}: broken link {target}"
    contract = docs["dataset.md"]
    for table in SCHEMA.tables.values():
        row = next((line for line in contract.splitlines() if line.startswith(f"| `{table.name}` |")), None)
        assert row, f"docs/dataset.md has no row for {table.name}"
        for column in table.columns:
            assert column.name in row, f"docs/dataset.md: {table.name}.{column.name}"


# -- the human table and far dates (#20 items 2 and 4) -------------------------------------------------------


def test_the_table_format_shows_posts_with_their_organization_and_gaps_in_words(store):
    result = run("trace", "H1", "--as-of", "2026-06-01", "--store", store, "--rules", "reference-v1")
    assert result.exit_code == 0, result.output
    table, _, gaps = result.output.partition("\ngaps:\n")
    assert "东湖区人民政府 · 区长" in table  # not a bare "区长"
    assert "临江市住房和城乡建设局局长" in table and "临江市住房和城乡建设局 · 临江市" not in table  # said once
    assert gaps.strip().startswith("逾期未整改：期限") and "{" not in gaps  # a sentence, not JSON
    # H1 reaches the city because it is 92 days overdue (not major), and no 挂牌督办 is on record
    assert "\nescalated: 上溯：逾期 92 天；未挂牌督办\n" in table
    english = run("trace", "H1", "--as-of", "2026-06-01", "--store", store, "--lang", "en")
    assert "\ngaps:\n  Overdue: deadline" in english.output


def test_the_table_says_which_day_or_window_it_shows_and_when_the_hazard_was_not_unresolved(store):
    def first_line(*args):
        result = run("trace", "H1", *args, "--store", store)
        assert result.exit_code == 0, result.output
        return result.output.splitlines()[0]

    assert first_line("--as-of", "2026-06-01") == "隐患 H1，2026-06-01 的责任链条"
    assert first_line("--as-of", "2025-12-01") == "隐患 H1，2025-12-01 的责任链条（该隐患 2026-01-01 才发现）"
    assert first_line("--from", "2026-01-01", "--to", "2026-06-01", "--lang", "en") == \
        "Hazard H1: the chain from 2026-01-01 to 2026-06-01"
    assert first_line("--as-of", "2025-12-01", "--lang", "en", "--rules", "reference-v1") == \
        "Hazard H1: the chain on 2025-12-01 (found only on 2026-01-01)"
    from accountability.names import Labels
    from accountability.session import Session

    closed = {"id": "H9", "found_on": "2026-01-01", "closed_on": "2026-02-01", "deadline": None, "level": "general"}
    with Session(store, readonly=True) as session:
        assert Labels(session, "zh").heading(closed, ("2026-03-01", "2026-03-01"), False) == \
            "隐患 H9，2026-03-01 的责任链条（该隐患当日并非未整改，已于 2026-02-01 销号）"
        assert session.unresolved(closed, "2026-01-31") and not session.unresolved(closed, "2026-02-01")


def test_the_machine_formats_keep_codes_and_gap_fields(store):
    result = run("trace", "H1", "--as-of", "2026-06-01", "--store", store, "--format", "csv", "--rules",
                 "reference-v1")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert any(r["post_title"] == "区长" for r in rows)
    assert any(json.loads(r["gap"])["kind"] == "overdue" for r in rows if r["gap"])


@pytest.mark.parametrize("as_of, warned", [("2036-06-01", "after today"), ("2001-01-01", "before today"),
                                           ("2026-06-01", None)])
def test_a_far_as_of_date_warns_on_stderr(store, as_of, warned):
    result = CliRunner().invoke(main, ["trace", "H1", "--as-of", as_of, "--store", store,
                                "--format", "json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the output itself is untouched
    if warned:
        assert result.stderr.startswith(f"warning: --as-of {as_of} lies") and warned in result.stderr
    else:
        assert "warning" not in result.stderr


def test_an_acting_holder_made_substantive_is_not_said_to_have_moved_on(tmp_path):
    """#20 item 2: K-HEAD's acting head became its head before the accident: no 【已调离】 for them (v2;
    reference-v1's reports are kept byte for byte, tests/test_reports.py)."""
    data = scenario.base()
    data["people"].append({"id": "PX", "name": "转正区长"})
    for tenure in data["tenures"]:
        if tenure["post_id"] == "K-HEAD":
            tenure["end"] = "2025-12-31"
    data["tenures"] += [{"person_id": "PX", "post_id": "K-HEAD", "start": "2026-01-01", "end": "2026-02-28",
                         "acting": "true"},
                        {"person_id": "PX", "post_id": "K-HEAD", "start": "2026-03-01", "end": ""}]
    data["incidents"] = [{"id": "I1", "title": "燃气爆炸", "occurred_on": "2026-06-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 0,
                          "direct_loss_yuan": 0, "hazard_ids": "H1"}]
    db = tmp_path / "store.db"
    assert run("import", str(scenario.write(data, tmp_path)), "--store", str(db)).exit_code == 0
    report = run("report", "I1", "--store", str(db), "--format", "md", "--rules", "reference-v2")  # v1's stay
    assert report.exit_code == 0, report.output
    lines = [line for line in report.output.splitlines() if "转正区长" in line]
    assert lines and not any("已调离" in line for line in lines), lines
    assert any("代理" in line for line in lines)  # the acting stretch is still said


def test_v2_says_why_the_level_above_answers_and_v1_is_unchanged(store):
    v2 = json.loads(run("trace", "H1", "--as-of", "2026-06-01", "--store", store, "--format", "json", "--rules",
                        "reference-v2").output)
    assert any(link["escalated"] for link in v2["links"])
    assert v2["escalation"] == {"major": False, "overdue_days": 92, "escalated_on": None}  # no 挂牌督办 on record
    v1 = json.loads(run("trace", "H1", "--as-of", "2026-06-01", "--store", store, "--format", "json", "--rules",
                        "reference-v1").output)
    assert "escalation" not in v1
    lines = run("trace", "--all", "--as-of", "2026-06-01", "--store", store, "--format", "jsonl", "--rules",
                "reference-v2").output.splitlines()
    chains = {c["hazard_id"]: c for c in map(json.loads, lines)}
    assert chains["H1"]["escalation"] == v2["escalation"] and "escalation" not in chains["H2"]
