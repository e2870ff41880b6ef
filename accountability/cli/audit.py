"""Commands for the audit trail: who imported what, when — and whether the log is intact.

    accountability audit log --store accountability.db --format csv
    accountability audit verify --store accountability.db --anchor 12:9f86d081884c7d65
"""

from __future__ import annotations

import sys

import click
import orjson

from accountability.cli import authorize, common, format_option, main, store_option
from accountability.output import write_rows

LOG_COLUMNS = ["seq", "at", "user", "host", "action", "source", "dataset_hash", "previous_dataset_hash", "unchanged",
               "inserted", "updated", "deleted", "changes", "prev_hash", "hash"]
TABLE_COLUMNS = ["seq", "at", "user", "action", "source", "dataset", "changes", "hash"]


@main.group()
def audit() -> None:
    """The audit trail: every import, chained by hashes (see ``accountability.audit``)."""


@audit.command("log")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N entries.")
@store_option
@format_option("table", "json", "csv", "jsonl", default="table")
@common
def log(last: int | None, store: str, fmt: str) -> None:
    """List the audit log, oldest first."""
    from accountability import audit as trail
    from accountability.stores import open_store

    authorize("raw")  # the log spans the whole store
    with open_store(store, readonly=True) as target:
        rows = [trail.readable(e) for e in trail.entries(target)]
    if last:
        rows = rows[-last:]
    if fmt == "table":
        for row in rows:
            row["dataset"] = (row["dataset_hash"] or "")[:12]
            row["hash"] = row["hash"][:12]
        write_rows(rows, TABLE_COLUMNS, "table", sys.stdout, max_table_width=100)
    else:
        write_rows(rows, LOG_COLUMNS, fmt, sys.stdout)


@audit.command("verify")
@click.option("--anchor", metavar="SEQ:HASH",
              help="A position recorded elsewhere (a report, an export): it must still be in the log.")
@store_option
@format_option("table", "json", default="table")
@common
def verify(anchor: str | None, store: str, fmt: str) -> None:
    """Check the hash chain, then the rows against what the newest entry vouches for; exit 1 naming the
    first bad entry and why, or every row that differs."""
    from accountability import audit as trail
    from accountability.stores import open_store

    authorize("raw")
    at = trail.Position.parse(anchor) if anchor else None
    with open_store(store, readonly=True) as target:
        verdict = trail.verify(target, at)
    if fmt == "json":
        click.echo(orjson.dumps(verdict.as_dict()).decode())
    if verdict.problem is not None:
        raise trail.AuditBroken(store, verdict.problem.seq, verdict.problem.reason)
    if verdict.differences:
        raise trail.DataAltered(store, verdict.differences)
    if fmt == "table":
        if verdict.vouched_by is not None:
            data = f"every row as entry #{verdict.vouched_by} vouches"
        elif verdict.entries:
            data = (f"rows not vouched for: entry #{verdict.head.seq} carries no row digests (the log predates "
                    "them; importing the dataset again vouches for them)")
        else:
            data = "no rows vouched for"
        click.echo(f"ok: {verdict.entries} entries, every hash chained; head {verdict.head}; {data}")
