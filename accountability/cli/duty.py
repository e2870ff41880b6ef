"""24-hour duty (``duty``, ``duty gaps``): who is on duty, and when nobody was.

    accountability duty --at 2026-03-01T22:00 --jurisdiction C01
    accountability duty gaps --from 2026-03-01 --to 2026-03-08 --format csv
"""

from __future__ import annotations

import sys

import click
import orjson

from accountability.cli import CONTEXT, common, format_option, main, open_session, store_option
from accountability.output import write_rows


def _write(result: dict, key: str, columns: list[str], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        write_rows(result[key], columns, fmt, sys.stdout)


@main.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--at", default=None, metavar="DATETIME", help="The moment (ISO 8601, Beijing time without an "
                                                            "offset; default now).")
@click.option("--jurisdiction", default=None, help="A jurisdiction and everything below it.")
@store_option
@format_option("table", "json", "csv", default="table")
@click.pass_context
@common
def duty(ctx: click.Context, at: str | None, jurisdiction: str | None, store: str, fmt: str) -> None:
    """The leader on duty and the duty officer of each jurisdiction at a moment (带班领导、值班员).

    Every jurisdiction of county level or higher is listed, and any with shifts; a role nobody holds at
    that moment has a row with an empty person. Times are shown in Beijing time (+08:00).
    """
    if ctx.invoked_subcommand is not None:
        return
    from accountability import duty as roster

    with open_session(store, readonly=True, action="query") as session:
        result = roster.on_duty(session, at, jurisdiction)
    _write(result, "rows", roster.ROW_COLUMNS, fmt)


@duty.command()
@click.option("--from", "start", required=True, metavar="DATETIME", help="Start (a bare date means 00:00).")
@click.option("--to", "end", required=True, metavar="DATETIME", help="End, excluded.")
@click.option("--jurisdiction", default=None, help="A jurisdiction and everything below it.")
@store_option
@format_option("table", "json", "csv", default="table")
@common
def gaps(start: str, end: str, jurisdiction: str | None, store: str, fmt: str) -> None:
    """Every stretch of [--from, --to) without a leader on duty or a duty officer (unstaffed_duty), per
    jurisdiction, with its hours."""
    from accountability import duty as roster

    with open_session(store, readonly=True, action="query") as session:
        result = roster.gaps(session, start, end, jurisdiction)
    _write(result, "gaps", roster.GAP_COLUMNS, fmt)
