"""Commands for datasets: validate, import, demo."""

from __future__ import annotations

import time

import click
import orjson

from accountability.cli import authorize, common, format_option, main, store_option


@main.command()
@click.argument("dataset", type=click.Path())
@format_option("table", "json", default="table")
@common
def validate(dataset: str, fmt: str) -> None:
    """Check DATASET (CSV folder, .xlsx or .json) against the contract; list every error."""
    from accountability.dataset import load

    data = load(dataset)
    counts = data.counts()
    if fmt == "json":
        click.echo(orjson.dumps({"valid": True, "counts": counts, "dataset_hash": data.content_hash()}).decode())
    else:
        click.echo(f"valid: {sum(counts.values())} rows ({', '.join(f'{k} {v}' for k, v in counts.items() if v)})")


@main.command("import")
@click.argument("dataset", type=click.Path())
@store_option
@format_option("table", "json", default="table")
@common
def import_(dataset: str, store: str, fmt: str) -> None:
    """Import DATASET into the store: all of it or, when anything is wrong, nothing."""
    from accountability.dataset import load
    from accountability.stores import open_store

    authorize("import")
    started = time.perf_counter()
    data = load(dataset)
    with open_store(store) as target:
        result = target.write(data)
    elapsed = time.perf_counter() - started
    if fmt == "json":
        click.echo(orjson.dumps({**result.as_dict(), "seconds": round(elapsed, 3)}).decode())
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
        click.echo(f"imported into {store} in {elapsed:.1f} s: {changes or 'no rows'}{recorded}")


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the CSV files.")
@click.option("--scale", type=click.Choice(["small", "county", "province"]), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@common
def demo(out: str, scale: str, seed: int) -> None:
    """Write a realistic, deterministic demo province as a CSV dataset."""
    from accountability.demo import generate

    started = time.perf_counter()
    counts = generate(out, scale=scale, seed=seed)
    click.echo(f"wrote {out} in {time.perf_counter() - started:.1f} s: "
               + ", ".join(f"{k} {v}" for k, v in counts.items()))


