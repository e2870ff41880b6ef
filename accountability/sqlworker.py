"""The process a raw SQL query runs in, and the read-only connection it runs on.

Why a process: SQLite does some work in a single step that nothing inside the caller's process can cut
short — its progress handler runs between steps, a signal handler only once the step returns.
``printf('%.*c', 3e8, 'x')`` loops 300 million times in one step (8 s), ``instr()`` of a long text in
a longer one is quadratic (2 million characters: 17 s, both measured with a 1 s progress handler and
SIGALRM). A child process can be killed at the deadline, whatever it is doing, and it runs under a
memory limit (``RLIMIT_AS``), so that what it would build beyond it fails there (``MemoryError``), and a
CPU limit, so that it stops even if its parent is gone. It imports nothing but the standard library and
this module, skipping ``site``: a query costs about 50 ms more (idle machine), most of it Python's start.

The protocol: the parent writes one pickled job to the child's stdin; the child answers on its stdout
in frames — an 8-byte length, then a pickle of plain values: ``("columns", names)``, then
``("rows", [tuple, …])`` as often as needed, then ``("end",)``; or ``("error", kind, message)`` at any
point. The parent unpickles with no globals allowed (:class:`PlainUnpickler`), so a frame can hold
numbers, text, bytes, tuples and lists and nothing that runs.
"""

from __future__ import annotations

import io
import os
import pickle
import resource
import select
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accountability.errors import StoreError

# Pragmas that only describe the schema: allowed as table-valued functions (``pragma_table_info('x')``).
INTROSPECTION_PRAGMAS = frozenset(
    ["table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list", "function_list", "collation_list"]
)
# Functions a read-only console does not need and must not have: loading code, and registering or revealing
# native pointers (the two-argument fts3_tokenizer installs a tokenizer from an address).
DENIED_FUNCTIONS = frozenset(["load_extension", "fts3_tokenizer", "fts5"])
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, getattr(sqlite3, "SQLITE_RECURSIVE", 33)})
FRAME_BYTES = 1 << 18  # rows go out in frames of about this many bytes (one row may be more) …
FRAME_ROWS = 2000  # … and at most this many rows
_LENGTH = 8  # bytes of a frame's length


def authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, source: str | None) -> int:
    """sqlite3's authorizer: reading, selecting, recursive CTEs and functions other than the denied ones."""
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 and arg1.lower() in INTROSPECTION_PRAGMAS:
        return sqlite3.SQLITE_OK
    # eponymous virtual tables (json_each, pragma_table_info) declare their schema through an internal
    # statement that SQLite reports as an update of sqlite_master; nothing is written (read-only file)
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def open_readonly(path: Path | str, value_cap: int | None = None) -> sqlite3.Connection:
    """A connection of its own to the SQLite file at ``path`` behind guards 2–4 (see ``rawquery``); with
    ``value_cap``, no string or blob longer than that many bytes can be built (``SQLITE_LIMIT_LENGTH``)."""
    try:
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                             check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from None
    try:
        db.execute("PRAGMA query_only=ON")
        db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)  # ATTACH would create a file, even read-only
        if value_cap is not None:
            db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, min(value_cap, db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)))
        if hasattr(db, "enable_load_extension"):  # only where Python was built to load extensions
            db.enable_load_extension(False)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # a file that is no database fails here
    except sqlite3.Error as exc:
        db.close()
        raise StoreError(f"cannot open store {path}: {exc}") from None
    db.set_authorizer(authorize)
    return db


# -- the parent's side -------------------------------------------------------------------------------------


class PlainUnpickler(pickle.Unpickler):
    """Unpickles plain values only: any class or function in the stream is an error."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a frame may hold plain values only, not {module}.{name}")


class Worker:
    """A child process running one job (see the module's docstring); :meth:`receive` reads its next frame
    before a deadline, :meth:`close` kills it, whatever it is doing."""

    def __init__(self, job: dict[str, Any]):
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)  # before there is a child to leave waiting
        root = str(Path(__file__).resolve().parents[1])
        command = [sys.executable, "-I", "-S", "-c",
                   f"import sys; sys.path.insert(0, {root!r}); from accountability.sqlworker import main; main()"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        try:
            self.process.stdin.write(data)
            self.process.stdin.close()
        except OSError:  # the child is gone already; receive() says why
            pass
        self.fd = self.process.stdout.fileno()

    def _read(self, n: int, remaining: Callable[[], float | None]) -> bytes:
        chunks = []
        while n:
            left = remaining()
            if left is not None and left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.fd, min(n, 1 << 20))
            if not chunk:
                raise EOFError(self._ended())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def receive(self, remaining: Callable[[], float | None]) -> tuple:
        """The next frame; ``TimeoutError`` once ``remaining()`` (seconds left, None: no limit) runs out,
        ``EOFError`` (saying how the child ended) if it ended without answering."""
        size = int.from_bytes(self._read(_LENGTH, remaining), "big")
        return PlainUnpickler(io.BytesIO(self._read(size, remaining))).load()

    def _ended(self) -> str:
        last = self.process.stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]  # to its end
        code = self.process.wait()
        return f"exit code {code}" + (f": {last[0]}" if last else "")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            pipe.close()


# -- the child's side --------------------------------------------------------------------------------------


def _limit(memory: int | None, cpu_seconds: float | None) -> None:
    """At most ``memory`` bytes more than this process holds now, and ``cpu_seconds`` of CPU time."""
    if memory:
        try:
            with open("/proc/self/statm") as statm:
                size = int(statm.read().split()[0]) * resource.getpagesize()
        except OSError:  # not Linux: no limit on memory, the caller's deadline still holds
            size = None
        if size is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            wanted = size + memory
            resource.setrlimit(resource.RLIMIT_AS, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    if cpu_seconds:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        wanted = int(cpu_seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def _send(out: Any, frame: tuple) -> None:
    data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(_LENGTH, "big"))
    out.write(data)
    out.flush()


def _plain(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _stream(db: sqlite3.Connection, job: dict[str, Any], out: Any) -> None:
    cursor = db.execute(job["sql"], job["params"])
    if cursor.description is None:  # not a query after all: nothing ran that could write (guards)
        _send(out, ("error", "no rows", "only a statement that returns rows may run"))
        return
    _send(out, ("columns", [d[0] for d in cursor.description]))
    n = 1  # rows in the next frame: grown or shrunk so that a frame is about FRAME_BYTES, from one row up
    while rows := cursor.fetchmany(n):
        rows = [tuple(map(_plain, row)) if bytes in map(type, row) else row for row in rows]
        data = pickle.dumps(("rows", rows), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(_LENGTH, "big"))
        out.write(data)
        n = max(1, min(FRAME_ROWS, n * FRAME_BYTES // len(data)))
    _send(out, ("end",))


def main() -> None:
    """The child: read the job, run it, answer in frames, and end."""
    job = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    _limit(job["memory"], job["timeout"])
    try:
        db = open_readonly(job["path"], job["value_cap"])
    except StoreError as exc:
        _send(out, ("error", "open", str(exc)))
        return
    try:
        _stream(db, job, out)
    except BrokenPipeError:  # the parent stopped reading
        pass
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        _send(out, ("error", "Warning", str(exc)))
    except sqlite3.Error as exc:
        _send(out, ("error", type(exc).__name__, str(exc)))
    except MemoryError:
        _send(out, ("error", "MemoryError", "out of memory"))
    finally:
        db.close()
