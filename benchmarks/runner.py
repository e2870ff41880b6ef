"""Running a step in a fresh process and reading its own peak memory.

``os.wait4`` returns the resource usage of exactly the child waited for, so each step's RSS high-water
mark (``ru_maxrss``, KiB on Linux) is its own and never the maximum of earlier steps, as
``getrusage(RUSAGE_CHILDREN)`` would give.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.steps import MARK, ROOT


class StepFailed(RuntimeError):
    pass


@dataclass
class Measured:
    result: dict[str, Any]
    wall: float  # the process, start-up included
    peak_mb: float  # RSS high-water mark of the process
    cpu: float = 0.0  # user + system seconds of the process
    others: float = 0.0  # CPU seconds other processes of the machine used meanwhile
    stdout: str = field(default="", repr=False)

    @property
    def contention(self) -> float:
        """Cores other processes kept busy, on average, while the step ran."""
        return self.others / self.wall if self.wall else 0.0


def run(argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` to completion; its wall time, peak RSS and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = _machine_busy()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise StepFailed(f"{' '.join(argv[:4])}… exited {proc.returncode}:\n{stderr[-4000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, _machine_busy() - busy_before - cpu) if busy_before is not None else 0.0
    return Measured({}, wall, usage.ru_maxrss / 1024, cpu, others, stdout)


def _machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy (not idle, not waiting for I/O) since boot."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def step(name: str, **params: Any) -> Measured:
    """Run ``benchmarks.steps`` step ``name`` in a fresh interpreter."""
    m = run([sys.executable, "-m", "benchmarks.steps", name, json.dumps(params)])
    for line in reversed(m.stdout.splitlines()):
        if line.startswith(MARK):
            m.result = json.loads(line[len(MARK):])
            return m
    raise StepFailed(f"step {name} printed no result:\n{m.stdout[-2000:]}")


def cli() -> list[str]:
    """The ``accountability`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("accountability")
    return [str(script)] if script.exists() else [sys.executable, "-m", "accountability.cli"]
