"""The demo datasets the benchmarks run on, generated once per (scale, seed, generator version) and
reused; and the description of the machine they ran on.

A cached dataset lives in ``<data>/<scale>-seed<seed>/``: the CSV folder ``demo/`` and ``generated.json``
(the generator's digest, the time and memory it took, its counts). When ``accountability/demo.py`` or the
vocabularies change, the digest changes and the dataset is generated again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from benchmarks import runner
from benchmarks.steps import ROOT

GENERATOR_SOURCES = ("accountability/demo.py", "graph_schema/vocabularies.yaml")


def generator_digest() -> str:
    h = hashlib.sha256()
    for name in GENERATOR_SOURCES:
        path = ROOT / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"")
    return h.hexdigest()[:16]


def prepare(data: Path, scale: str, seed: int, regenerate: bool = False, log=print,
            keep: bool = False) -> tuple[Path, dict]:
    """The dataset folder for (scale, seed) and how it was generated (measured now, or when cached). ``keep``:
    a cached dataset is used even when the generator changed since (its store is reused, never removed)."""
    home = data / f"{scale}-seed{seed}"
    info_path = home / "generated.json"
    digest = generator_digest()
    if not regenerate and info_path.exists():
        info = json.loads(info_path.read_text())
        if (info.get("digest") == digest or keep) and (home / "demo").is_dir():
            info["cached"] = True
            info["stale"] = info.get("digest") != digest
            return home, info
        log(f"  {scale}: the generator changed since the cached dataset; generating again")
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    log(f"  {scale}: generating the demo (seed {seed}) …")
    m = runner.step("generate", out=str(home / "demo"), scale=scale, seed=seed)
    info = {"digest": digest, "seconds": m.result["seconds"], "cpu": m.result["cpu_seconds"], "wall": m.wall,
            "peak_mb": m.peak_mb, "others": m.contention,
            "counts": m.result["counts"], "date": dt.datetime.now().isoformat(timespec="seconds")}
    info_path.write_text(json.dumps(info, indent=2))
    info["cached"] = False
    return home, info


def folder_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def remove_store(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def store_counts(store: Path, on: str) -> dict:
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("jurisdictions", "organizations", "posts", "people", "tenures", "portfolios", "hazards",
                            "events", "incidents")}
        counts["enterprises"] = db.execute("SELECT count(*) FROM organizations WHERE kind = 'enterprise'").fetchone()[0]
        counts["unresolved"] = db.execute(
            "SELECT count(*) FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?)",
            (on, on)).fetchone()[0]
        counts["gov_keys"], counts["enterprises_unresolved"] = db.execute(
            "SELECT count(DISTINCT jurisdiction_id || '|' || industry), count(DISTINCT organization_id) FROM hazards "
            "WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?)", (on, on)).fetchone()
        by_level = dict(db.execute("SELECT level, count(*) FROM jurisdictions GROUP BY level"))
        counts.update({f"level:{k}": v for k, v in by_level.items()})
    finally:
        db.close()
    return counts


def pick(store: Path, on: str) -> dict:
    """Entities for the app's pages: unresolved hazards (random but fixed), an enterprise with one, a
    county and a township."""
    import random

    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT id, organization_id FROM hazards WHERE found_on <= ? AND (closed_on IS NULL OR closed_on > ?) "
            "ORDER BY id", (on, on)).fetchall()
        rng = random.Random(7)
        hazards = rng.sample(rows, min(len(rows), 8))
        enterprises = [o for _, o in hazards if o]
        counties = [r[0] for r in db.execute("SELECT id FROM jurisdictions WHERE level = 'county' ORDER BY id")]
        townships = [r[0] for r in db.execute("SELECT id FROM jurisdictions WHERE level = 'township' ORDER BY id")]
    finally:
        db.close()
    return {"hazards": [h for h, _ in hazards], "enterprises": enterprises,
            "counties": rng.sample(counties, min(3, len(counties))),
            "townships": rng.sample(townships, min(3, len(townships)))}


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               check=False).stdout
        commit += " (+ uncommitted changes)" if dirty.strip() else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(ram, 1) if ram else None,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit,
        "executable": Path(sys.executable).name,
    }
