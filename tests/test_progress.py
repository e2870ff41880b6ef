"""Progress of long work: the library's callback (import, trace --all, demo) and the bar the command line
draws on a terminal — on stderr, and only there: nothing when stderr is a pipe or with ``--quiet``, and
the output itself unchanged. The program runs for real, once on a pseudo-terminal (``pty``)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from accountability import demo, progress
from accountability.dataset import load
from accountability.session import Session
from accountability.stores.sqlite import SQLiteStore

PROGRAM = [sys.executable, "-c", "from accountability.cli import run; run()"]
AS_OF = "2026-11-28"


def recorder() -> tuple[list[tuple[int, int, str]], progress.Progress]:
    calls: list[tuple[int, int, str]] = []
    return calls, lambda done, total, phase: calls.append((done, total, phase))


def test_import_reports_each_phase_up_to_its_total(small_demo, tmp_path):
    calls, cb = recorder()
    data = load(small_demo, progress=cb)
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write(data, progress=cb)
    phases = [c[2] for c in calls]
    assert phases == sorted(phases, key=["read", "links", "write"].index)  # in order, each once
    for phase in ("read", "links", "write"):
        mine = [c for c in calls if c[2] == phase]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1] > 0
        assert [c[0] for c in mine] == sorted(c[0] for c in mine)
    assert calls[-1][1] == sum(data.counts().values())  # rows written, out of every row


@pytest.mark.parametrize("rules", ["reference-v1", "reference-v2"])
def test_trace_all_counts_the_hazards_it_checks_and_yields_the_same_chains(small_demo_store, rules):
    calls, cb = recorder()
    with Session(str(small_demo_store), rules=rules, readonly=True) as s:
        plain = [c.json(s.ruleset, "en") for c in s.trace_all(AS_OF)]
        counted = [c.json(s.ruleset, "en") for c in s.trace_all(AS_OF, progress=cb)]
    assert counted == plain and plain
    assert {c[2] for c in calls} == {"trace"}
    total = calls[0][1]
    assert calls[0][0] == 0 and calls[-1] == (total, total, "trace")
    assert total >= len(plain)
    # a few calls, not one per hazard
    assert len(calls) <= total // progress.EVERY + 2


def test_demo_reports_its_steps_and_writes_the_same_files(tmp_path):
    calls, cb = recorder()
    demo.generate(tmp_path / "a", scale="small", seed=3, progress=cb)
    demo.generate(tmp_path / "b", scale="small", seed=3)
    assert [c[0] for c in calls] == list(range(demo.STEPS + 1))
    assert {c[1] for c in calls} == {demo.STEPS}
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


# -- the command line -------------------------------------------------------------------------------------------


def on_terminal(*args: str, cwd: Path) -> str:
    """What the program shows on a terminal (stdout and stderr both on a pseudo-terminal, 120 columns)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of a known size, then the program
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.chdir(cwd)
            os.execv(sys.executable, PROGRAM + list(args))
        finally:
            os._exit(127)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child is gone
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out.decode("utf-8", "replace")


def piped(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(PROGRAM + list(args), capture_output=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def test_import_shows_progress_on_a_terminal_only(small_demo, tmp_path):
    shown = on_terminal("import", str(small_demo), "--store", "tty.db", cwd=tmp_path)
    assert "reading and checking" in shown and "writing" in shown and "rows" in shown and "%|" in shown
    assert "imported into tty.db" in shown
    quiet = on_terminal("import", str(small_demo), "--store", "quiet.db", "--quiet", cwd=tmp_path)
    assert "%|" not in quiet and "writing" not in quiet
    assert quiet.startswith("imported into quiet.db")
    done = piped("import", str(small_demo), "--store", "pipe.db", cwd=tmp_path)
    assert done.stderr == b""
    assert done.stdout.startswith(b"imported into pipe.db")


def test_trace_all_shows_progress_and_writes_the_same_file(small_demo_store, tmp_path):
    every = ("trace", "--all", "--as-of", AS_OF, "--format", "jsonl", "--store", str(small_demo_store))
    shown = on_terminal(*every, "-o", "tty.jsonl", cwd=tmp_path)
    assert "tracing" in shown and "hazards" in shown and "%|" in shown
    quiet = on_terminal(*every, "-o", "quiet.jsonl", "-q", cwd=tmp_path)
    assert quiet.strip() == ""
    done = piped(*every, "-o", "pipe.jsonl", cwd=tmp_path)
    assert done.stderr == b"" and done.stdout == b""
    stdout = piped(*every, cwd=tmp_path)
    assert stdout.stderr == b""
    expected = (tmp_path / "pipe.jsonl").read_bytes()
    assert expected and stdout.stdout == expected
    assert (tmp_path / "tty.jsonl").read_bytes() == expected == (tmp_path / "quiet.jsonl").read_bytes()
    # to a terminal, the chains themselves are the progress: no bar among them
    among = on_terminal(*every, cwd=tmp_path)
    assert "%|" not in among and among.replace("\r\n", "\n").encode() == expected


def test_demo_shows_progress_unless_quiet(tmp_path):
    shown = on_terminal("demo", "--out", "a", "--scale", "small", "--seed", "2", cwd=tmp_path)
    assert "generating" in shown and "%|" in shown and "wrote a in" in shown
    quiet = on_terminal("demo", "--out", "b", "--scale", "small", "--seed", "2", "--quiet", cwd=tmp_path)
    assert "%|" not in quiet and quiet.startswith("wrote b in")
    done = piped("demo", "--out", "c", "--scale", "small", "--seed", "2", cwd=tmp_path)
    assert done.stderr == b"" and done.stdout.startswith(b"wrote c in")
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "c" / f.name).read_bytes(), f.name


# -- the app ------------------------------------------------------------------------------------------------------


@pytest.fixture
def app_on(monkeypatch):
    from streamlit.testing.v1 import AppTest

    def at(store: Path, page: str, **params: str):
        monkeypatch.setenv("ACCOUNTABILITY_STORE", str(store))
        app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"), default_timeout=120)
        app.session_state["global_as_of"] = __import__("datetime").date.fromisoformat(AS_OF)
        app.run()
        for key, value in params.items():
            app.query_params[key] = value
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, [e.message for e in app.exception]
        return app

    return at


def bars(app) -> list[tuple[int, str]]:
    return [(el.proto.value, el.proto.text) for el in app.get("progress")]


def test_the_data_page_shows_the_upload_checked_then_imported(app_on, small_demo, tmp_path):
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(small_demo.iterdir()):
            z.write(f, f.name)
    app = app_on(tmp_path / "new.db", "data")
    app.file_uploader(key="dt_file").set_value(("demo.zip", archive.getvalue(), "application/zip")).run()
    assert not app.exception and app.success
    assert bars(app) == [(100, "正在核对引用关系")]  # the last phase of the check, done
    app.button(key="dt_import").click().run()
    assert not app.exception
    assert bars(app) == [(100, "正在写入数据")]
    with SQLiteStore(tmp_path / "new.db", readonly=True) as store:
        assert store.count("hazards") == 2000


def test_the_report_page_shows_the_report_s_making(app_on, small_demo_store):
    with Session(str(small_demo_store), readonly=True) as s:
        incident = next(iter(s.store.rows("incidents")))["id"]
    app = app_on(small_demo_store, "report", incident=incident)
    (status,) = app.status
    assert status.label == "报告已生成" and status.icon == ":material/check:"
    assert app.get("iframe")
