"""Several app processes behind nginx, started and stopped together: the explorer for many users at once.

    python -m deploy.launch --store STORE [--processes 2] [--port 8500] [--affinity cookie|ip]

Starts ``--processes`` Streamlit processes of ``streamlit_app.py`` on ``STORE``, each on a free loopback port,
writes ``deploy/nginx.conf`` filled in for them into a run folder and starts nginx (Debian's ``nginx``
package: ``apt-get install nginx``) on ``--listen`` in front of them; prints the address once it answers and
runs until interrupted (Ctrl-C or SIGTERM), then stops nginx and every app process. Each process keeps its own
graph and caches in memory (a province's: about 1 GB each): run one per core, not more.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
AFFINITY = {"cookie": "hash $app_affinity consistent;", "ip": "hash $remote_addr consistent;"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Return once ``url``/_stcore/health answers 200; RuntimeError (with the log's end) when ``proc`` stops
    or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[0]} did not start ({url}): {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def streamlit_server(store: str | Path, log_dir: Path, timeout: float = 90, **env: str) -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on ``store`` (with ``env`` added) on a free loopback port; yields its
    URL once it answers, stops it at the end."""
    port = free_port()
    log_path = Path(log_dir) / f"streamlit-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, "ACCOUNTABILITY_STORE": str(store), **env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout, log_path)
            yield url
        finally:
            stop(proc)


def nginx_config(listen: str, backends: list[str], run_dir: Path, affinity: str = "cookie") -> str:
    """deploy/nginx.conf with its placeholders filled in (comment lines are left as they are).

    >>> text = nginx_config("127.0.0.1:8500", ["http://127.0.0.1:9001", "http://127.0.0.1:9002"], Path("/run/x"))
    >>> "listen 127.0.0.1:8500;" in text and "server 127.0.0.1:9002;" in text and "pid /run/x/nginx.pid;" in text
    True
    """
    if affinity not in AFFINITY:
        raise ValueError(f"unknown affinity '{affinity}' (cookie or ip)")
    if not backends:
        raise ValueError("no app process to put behind nginx")
    servers = "\n        ".join(f"server {b.split('://', 1)[-1].rstrip('/')};" for b in backends)
    values = {"{{RUN}}": str(run_dir), "{{LISTEN}}": listen, "{{SERVERS}}": servers, "{{AFFINITY}}": AFFINITY[affinity]}
    lines = []
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        if not line.lstrip().startswith("#"):
            for key, value in values.items():
                line = line.replace(key, value)
        lines.append(line)
    return "\n".join(lines) + "\n"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        raise RuntimeError("nginx is not installed: apt-get install nginx")
    return found


@contextlib.contextmanager
def deployment(store: str | Path, processes: int = 2, listen: str | None = None, affinity: str = "cookie",
               run_dir: str | Path | None = None, timeout: float = 120, **env: str) -> Iterator[dict]:
    """``processes`` app processes on ``store`` and nginx on ``listen`` (default: a free loopback port) in front;
    yields ``{"url", "backends", "run_dir"}`` once nginx answers, stops everything at the end."""
    if not 1 <= processes <= 64:
        raise ValueError(f"between 1 and 64 app processes, not {processes}")
    binary = nginx_binary()
    listen = listen or f"127.0.0.1:{free_port()}"
    with contextlib.ExitStack() as stack:
        run = Path(run_dir) if run_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="app-nginx-")))
        run.mkdir(parents=True, exist_ok=True)
        # one cookie secret for every process: what one signs (the upload form's XSRF token) another accepts
        env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET")
                       or secrets.token_hex(32))
        backends = [stack.enter_context(streamlit_server(store, run, timeout, **env)) for _ in range(processes)]
        conf = run / "nginx.conf"
        conf.write_text(nginx_config(listen, backends, run, affinity), encoding="utf-8")
        log_path = run / "nginx.out"
        log = stack.enter_context(log_path.open("w"))
        proc = subprocess.Popen([binary, "-p", str(run), "-c", str(conf), "-e", str(run / "error.log"),
                                 "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(stop, proc)
        host, _, port = listen.rpartition(":")
        url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0', '*') else host}:{port}"
        wait_healthy(url, proc, timeout, log_path)
        yield {"url": url, "backends": backends, "run_dir": run}


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.launch", description=__doc__.split("\n\n")[0])
    p.add_argument("--store", default=os.environ.get("ACCOUNTABILITY_STORE"),
                   help="the store every process serves (default: ACCOUNTABILITY_STORE)")
    p.add_argument("--processes", type=int, default=2, help="app processes (one per core)")
    p.add_argument("--listen", default="127.0.0.1:8500", help="where nginx listens, HOST:PORT")
    p.add_argument("--affinity", choices=sorted(AFFINITY), default="cookie",
                   help="keep a browser on one process by a cookie (default) or by its address")
    p.add_argument("--run-dir", help="nginx's folder (config, pid, logs); default: a temporary one")
    args = p.parse_args(argv)
    if not args.store:
        p.error("--store is required (or ACCOUNTABILITY_STORE)")
    if not 1 <= args.processes <= 64:
        p.error("--processes must be 1–64")
    if ":" not in args.listen:
        p.error("--listen must be HOST:PORT")
    signal.signal(signal.SIGTERM, _interrupted)  # `kill` stops everything as Ctrl-C does
    try:
        with deployment(args.store, args.processes, args.listen, args.affinity, args.run_dir) as d:
            print(f"serving {args.store} at {d['url']} ({len(d['backends'])} app processes: "
                  f"{', '.join(d['backends'])}; nginx folder {d['run_dir']})", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
