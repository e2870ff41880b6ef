"""Start a real Neo4j 5 Community server for tests and local trials (stdlib only).

The server is the project's launcher in ``tools/neo4j-server`` (the official ``neo4j-harness`` from
Maven Central, run in its own JVM) with only the Bolt connector, bound to 127.0.0.1, auth disabled:
any ``NEO4J_USER``/``NEO4J_PASSWORD`` is accepted. Needs ``java`` (17+) and ``mvn`` on PATH; the
first :func:`build` fetches the artifacts into ``~/.m2``, later builds work offline.

    with Neo4jServer() as server:
        open_store(server.uri)

``python -m accountability.stores.neo4j_server`` runs one until Ctrl-C.

Two profiles of JVM options. ``test`` (the default, :data:`DEFAULT_JAVA_OPTS`) is tuned for the tests'
tiny datasets: a 1 GB heap, the serial collector, the C1 compiler only (fast start), a 256 MB page cache.
A deployment holding a province (millions of nodes) must not run like that — C1-only code and a small
serial-collected heap make an import several times slower. ``deploy`` (:data:`DEPLOY_JAVA_OPTS`,
:data:`DEPLOY_HEAP`, :data:`DEPLOY_PAGECACHE_MB`) is sized for one: the full (C2) JIT, the parallel
(throughput) collector on a heap fixed at start (``-Xms`` = ``-Xmx``, 6 GB) and a 4 GB page cache (a
province's store is about 4 GB); ``--heap`` and ``--pagecache-mb`` size either profile::

    python -m accountability.stores.neo4j_server --profile deploy --data /srv/neo4j --heap 8g

The launcher directory is ``tools/neo4j-server`` beside the ``accountability`` package, or
``$ACCOUNTABILITY_NEO4J_LAUNCHER_DIR``. Extra JVM options may be given in
``$ACCOUNTABILITY_NEO4J_JAVA_OPTS`` (appended, so ``-Xmx2g`` there wins over the default).
"""

from __future__ import annotations

import argparse
import atexit
import collections
import fcntl
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

LAUNCHER_DIR_ENV = "ACCOUNTABILITY_NEO4J_LAUNCHER_DIR"
JAVA_OPTS_ENV = "ACCOUNTABILITY_NEO4J_JAVA_OPTS"
MAIN_CLASS = "org.accountability.neo4j.Launcher"
DEFAULT_JAVA_OPTS = (
    "-Xmx1g",
    "-XX:+UseSerialGC",  # small footprint; the machine has 2 cores
    "-XX:TieredStopAtLevel=1",  # C1 only: faster start and short test runs, fine for small data
    "-XX:+ExitOnOutOfMemoryError",
    # What Neo4j's own start script passes; avoids reflective-access fallbacks in Netty and the page cache.
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dlog4j2.disable.jmx=true",
)
# A province-sized deployment (see the module docstring): C2 on, a throughput collector, the heap fixed.
DEPLOY_HEAP = "6g"
DEPLOY_PAGECACHE_MB = 4096
DEPLOY_JAVA_OPTS = (
    "-XX:+UseParallelGC",  # throughput: an import allocates fast and keeps little; pauses are short on 6 GB
    "-XX:+AlwaysPreTouch",  # with -Xms = -Xmx: the heap is committed once, at start
    "-XX:+DisableExplicitGC",
    "-XX:-OmitStackTraceInFastThrow",
    *(o for o in DEFAULT_JAVA_OPTS if o.startswith(("--add-opens", "-D", "-XX:+ExitOn"))),
)
PROFILES = ("test", "deploy")
BOLT_PREFIX = "BOLT "
_CLASS_FILE = Path("target/classes") / (MAIN_CLASS.replace(".", "/") + ".class")
_CLASSPATH_FILE = Path("target/classpath.txt")
_STAMP_FILE = Path("target/.build-stamp")


def launcher_dir() -> Path:
    """``tools/neo4j-server`` of this repository, unless ``$ACCOUNTABILITY_NEO4J_LAUNCHER_DIR`` is set."""
    override = os.environ.get(LAUNCHER_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "tools" / "neo4j-server"


def maven_command(offline: bool = False) -> list[str]:
    """The one Maven invocation that compiles the launcher and writes its runtime classpath."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven ('mvn') is not on PATH; it is needed to build the Neo4j launcher")
    cmd = [mvn, "-q", "-B"]
    if offline:
        cmd.append("-o")
    return cmd + ["compile", "dependency:build-classpath", f"-Dmdep.outputFile={_CLASSPATH_FILE}"]


def _sources(directory: Path) -> list[Path]:
    return [directory / "pom.xml", *sorted((directory / "src").rglob("*.java"))]


def _is_fresh(directory: Path) -> bool:
    stamp = directory / _STAMP_FILE
    if not (stamp.exists() and (directory / _CLASS_FILE).exists() and (directory / _CLASSPATH_FILE).exists()):
        return False
    built = stamp.stat().st_mtime
    if any(src.stat().st_mtime > built for src in _sources(directory)):
        return False
    # A cleaned ~/.m2 leaves a stale classpath behind: rebuild (re-fetch) in that case.
    return all(Path(p).exists() for p in _read_classpath(directory))


def _read_classpath(directory: Path) -> list[str]:
    text = (directory / _CLASSPATH_FILE).read_text(encoding="utf-8").strip()
    return [p for p in text.split(os.pathsep) if p]


def build(directory: Path | None = None, *, offline: bool = False, force: bool = False) -> Path:
    """Compile the launcher with Maven unless it is already up to date; return its directory.

    Safe to call from several processes at once (a file lock serialises the builds).
    """
    directory = directory or launcher_dir()
    if not (directory / "pom.xml").exists():
        raise RuntimeError(f"no Neo4j launcher at {directory} (set {LAUNCHER_DIR_ENV} to override)")
    if not force and _is_fresh(directory):
        return directory
    (directory / "target").mkdir(exist_ok=True)
    with open(directory / "target" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and _is_fresh(directory):
            return directory
        result = subprocess.run(
            maven_command(offline),
            check=False,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0 or not (directory / _CLASS_FILE).exists():
            output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # Maven prints colour resets even with -B
            tail = "\n".join(output.splitlines()[-40:])
            raise RuntimeError(
                f"building the Neo4j launcher failed (mvn exit {result.returncode}) in {directory}:\n{tail}"
            )
        (directory / _STAMP_FILE).touch()
    return directory


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("'java' (17 or newer) is not on PATH; it is needed to run Neo4j")
    return java


class Neo4jServer:
    """A Neo4j server in a child JVM (own process group); stopped on :meth:`stop`, ``with`` exit or exit.

    ``data_dir`` keeps the store across runs; without it every start is an empty database.
    ``profile`` picks the JVM options (module docstring): ``"test"`` or ``"deploy"``; ``heap`` (``"6g"``)
    sets ``-Xms``/``-Xmx`` and ``pagecache_mb`` the page cache, else the profile's. ``java_opts`` replaces
    the profile's options altogether; ``$ACCOUNTABILITY_NEO4J_JAVA_OPTS`` comes last and wins.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        data_dir: str | os.PathLike[str] | None = None,
        pagecache_mb: int | None = None,
        java_opts: list[str] | tuple[str, ...] | None = None,
        directory: Path | None = None,
        profile: str = "test",
        heap: str | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown Neo4j server profile {profile!r} (one of {', '.join(PROFILES)})")
        deploy = profile == "deploy"
        self.host = host
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.pagecache_mb = pagecache_mb or (DEPLOY_PAGECACHE_MB if deploy else 256)
        if java_opts is None:
            java_opts = DEPLOY_JAVA_OPTS if deploy else DEFAULT_JAVA_OPTS
        self.java_opts = list(java_opts)
        heap = heap or (DEPLOY_HEAP if deploy else None)
        if heap:
            self.java_opts += [f"-Xms{heap}", f"-Xmx{heap}"]
        self.java_opts += shlex.split(os.environ.get(JAVA_OPTS_ENV, ""))
        self.directory = directory
        self._proc: subprocess.Popen[str] | None = None
        self._workdir: str | None = None
        self._uri: str | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._stderr_thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, port: int = 0, timeout: float = 180.0) -> Self:
        """Build if needed, launch, and wait until Bolt accepts connections (``port=0``: any free port)."""
        if self._proc is not None:
            raise RuntimeError("Neo4j server already started")
        directory = build(self.directory)
        classpath = os.pathsep.join([str(directory / "target" / "classes"), *_read_classpath(directory)])
        self._workdir = tempfile.mkdtemp(prefix="accountability-neo4j-")
        cmd = [_java(), *self.java_opts, MAIN_CLASS, "--host", self.host, "--port", str(port)]
        cmd += ["--workdir", self._workdir, "--pagecache-mb", str(self.pagecache_mb)]
        if self.data_dir is not None:
            cmd += ["--data", str(self.data_dir)]
        # The classpath (~240 jars) goes through the environment to keep `ps` readable.
        env = {**os.environ, "CLASSPATH": classpath}
        self._stderr.clear()
        try:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self._workdir,
                env=env,
                stdin=subprocess.PIPE,  # the launcher exits when this pipe closes, even if we are killed
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # own process group: a terminal's Ctrl-C reaches only us
            )
            atexit.register(self.stop)
            lines: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=self._pump, args=(self._proc.stdout, lines), daemon=True).start()
            self._stderr_thread = threading.Thread(target=self._pump, args=(self._proc.stderr, None), daemon=True)
            self._stderr_thread.start()
            self._uri = self._wait_ready(lines, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, lines: queue.Queue[str | None], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"Neo4j did not report ready within {timeout:.0f} s")
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                try:
                    code = self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    code = None
                self._fail(f"Neo4j launcher exited (code {code}) before it was ready")
            if line.startswith(BOLT_PREFIX):
                return line[len(BOLT_PREFIX) :].strip()

    def _pump(self, stream, lines: queue.Queue[str | None] | None) -> None:
        for line in stream:
            if lines is not None:
                lines.put(line)
            else:
                self._stderr.append(line.rstrip("\n"))
        if lines is not None:
            lines.put(None)

    def _fail(self, message: str) -> None:
        self.stop()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=5)
        log = "\n".join(self._stderr) or "(no output)"
        raise RuntimeError(f"{message}; launcher stderr:\n{log}")

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly (stdin EOF + SIGTERM to the group), SIGKILL after ``timeout`` s; idempotent."""
        with self._lock:
            proc, self._proc = self._proc, None
            self._uri = None
            atexit.unregister(self.stop)
            if proc is not None:
                try:
                    if proc.stdin:
                        proc.stdin.close()
                except OSError:
                    pass
                self._signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc, signal.SIGKILL)
                    proc.wait()
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    @staticmethod
    def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # start_new_session: pgid == pid
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> Self:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise RuntimeError("Neo4j server is not running")
        return self._uri

    @property
    def port(self) -> int:
        return int(self.uri.rsplit(":", 1)[1])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self) -> str:
        """Last lines the launcher wrote to stderr (warnings, errors)."""
        return "\n".join(self._stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m accountability.stores.neo4j_server",
        description="Run a local Neo4j 5 Community server (Bolt only, auth disabled) until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=7687, help="Bolt port, 0 for any free one (default 7687)")
    parser.add_argument("--data", help="keep the database in this folder (default: empty, thrown away)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for start-up")
    parser.add_argument("--profile", choices=PROFILES, default="test",
                        help="JVM options: 'test' (small, fast start; the default) or 'deploy' (a province: "
                             f"C2, parallel GC, -Xms=-Xmx={DEPLOY_HEAP}, {DEPLOY_PAGECACHE_MB} MB page cache)")
    parser.add_argument("--heap", help="the JVM heap, as -Xms and -Xmx (e.g. 6g; default: the profile's)")
    parser.add_argument("--pagecache-mb", type=int, help="the page cache in MB (default: the profile's)")
    args = parser.parse_args(argv)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (e.g. `cmd &`)

    server = Neo4jServer(data_dir=args.data, profile=args.profile, heap=args.heap, pagecache_mb=args.pagecache_mb)
    try:
        print("building and starting Neo4j ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        server.start(port=args.port, timeout=args.timeout)
        print(f"Neo4j ready in {time.monotonic() - started:.1f} s at {server.uri}", file=sys.stderr)
        print(server.uri)
        print(f"  export ACCOUNTABILITY_STORE={server.uri}", file=sys.stderr)
        print("  (auth is disabled: any NEO4J_USER / NEO4J_PASSWORD works)  Ctrl-C stops it.", file=sys.stderr)
        sys.stdout.flush()
        while server.running:
            time.sleep(0.5)
        print("Neo4j exited unexpectedly:\n" + server.log_tail(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping Neo4j ...", file=sys.stderr)
        return 0
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
