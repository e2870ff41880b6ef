"""Commands for datasets: validate, import, demo."""

from __future__ import annotations

import time

import click
import orjson

from accountability.cli import authorize, common, format_option, main, quiet_option, store_option


WARNINGS_SHOWN = 200
DEMO_PROVINCES = 8  # as many as accountability.demo.PROVINCES names (tests/test_demo.py checks)


def warn(warnings: list[str]) -> None:
    """A valid dataset's warnings, on stderr: the output and the exit code stay what they were."""
    for line in warnings[:WARNINGS_SHOWN]:
        click.echo(f"warning: {line}", err=True)
    if len(warnings) > WARNINGS_SHOWN:
        click.echo(f"warning: … and {len(warnings) - WARNINGS_SHOWN} more", err=True)


def load_any(dataset: str, progress=None):
    """Load DATASET in any form the app's upload takes, a .zip of the CSV folder included (extracted as
    safely as the app extracts it, into a folder that is gone once read)."""
    from accountability.dataset import load

    if not dataset.lower().endswith(".zip"):
        return load(dataset, progress=progress)
    import tempfile

    from accountability.uploads import extract_zip

    with tempfile.TemporaryDirectory() as tmp:
        data = load(extract_zip(dataset, tmp), progress=progress)
    data.source = dataset  # the archive, not the folder that no longer exists
    return data


@main.command()
@click.argument("dataset", type=click.Path())
@format_option("table", "json", default="table")
@common
def validate(dataset: str, fmt: str) -> None:
    """Check DATASET (CSV folder, .zip of it, .xlsx or .json) against the contract; list every error.
    With ``--format json`` an invalid dataset is JSON on stdout too (``{"valid": false, "error_count",
    "errors": [every error, "table:row: column: reason"]}``); stderr and the exit code are the table's."""
    from accountability.errors import InvalidDataset

    try:
        data = load_any(dataset)
    except InvalidDataset as exc:
        if fmt == "json":
            click.echo(orjson.dumps({"valid": False, "error_count": len(exc.errors), "errors": exc.errors}).decode())
        raise
    warn(data.warnings)
    counts = data.counts()
    if fmt == "json":
        click.echo(orjson.dumps({"valid": True, "counts": counts, "dataset_hash": data.content_hash()}).decode())
    else:
        click.echo(f"valid: {sum(counts.values())} rows ({', '.join(f'{k} {v}' for k, v in counts.items() if v)})")


@main.command("import")
@click.argument("dataset", type=click.Path())
@store_option
@format_option("table", "json", default="table")
@quiet_option
@common
def import_(dataset: str, store: str, fmt: str, quiet: bool) -> None:
    """Import DATASET (CSV folder, .zip of it, .xlsx or .json) into the store: all of it or, when anything
    is wrong, nothing."""
    from accountability.progress import terminal, write
    from accountability.stores import open_store

    authorize("import")
    started = time.perf_counter()
    with terminal(quiet) as progress:
        data = load_any(dataset, progress)
    warn(data.warnings)
    with open_store(store) as target, terminal(quiet) as progress:
        held = (target.meta() or {}).get("dataset_hash")
        result = write(target, data, progress)
    elapsed = time.perf_counter() - started
    # the store held this very dataset, yet rows changed: they had been altered outside an import
    restored = not result.unchanged and held == result.dataset_hash
    if fmt == "json":
        click.echo(orjson.dumps({**result.as_dict(), "restored": restored, "seconds": round(elapsed, 3)}).decode())
        return
    recorded = f" (audit entry #{result.audit.partition(':')[0]})" if result.audit else ""
    if result.unchanged:
        click.echo(f"unchanged: {store} already holds this dataset ({result.dataset_hash[:12]}){recorded}")
    else:
        changes = ", ".join(
            f"{t} +{result.inserted.get(t, 0)} ~{result.updated.get(t, 0)} -{result.deleted.get(t, 0)}"
            for t in result.inserted
            if result.inserted.get(t) or result.updated.get(t) or result.deleted.get(t)
        )
        if restored:
            click.echo(f"restored: {store} holds this dataset again, rows altered outside an import put back in "
                       f"{elapsed:.1f} s: {changes}{recorded}")
        else:
            click.echo(f"imported into {store} in {elapsed:.1f} s: {changes or 'no rows'}{recorded}")


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the CSV files.")
@click.option("--scale", type=click.Choice(["small", "county", "province"]), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--provinces", type=click.IntRange(1, DEMO_PROVINCES), default=1, show_default=True,
              help="Provinces side by side (each of --scale; ids prefixed JN-, JB-, … when more than one).")
@quiet_option
@common
def demo(out: str, scale: str, seed: int, provinces: int, quiet: bool) -> None:
    """Write a realistic, deterministic demo province (or several) as a CSV dataset."""
    from accountability.demo import generate
    from accountability.progress import terminal

    started = time.perf_counter()
    with terminal(quiet) as progress:
        counts = generate(out, scale=scale, seed=seed, progress=progress, provinces=provinces)
    click.echo(f"wrote {out} in {time.perf_counter() - started:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in counts.items()))


