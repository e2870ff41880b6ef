"""Campaigns, look-backs and measures (issue #16): a few library calls each.

    accountability campaign list
    accountability campaign show CAMP-2026 --format json
    accountability lookback plan LB-2026 --sample 50 --seed 7 --format csv -o plan.csv
    accountability lookback report LB-2026
    accountability measures --jurisdiction C01 --as-of 2026-06-30
    accountability measures --format xlsx -o measures.xlsx

``--format xlsx`` writes a workbook (``-o FILE``), one sheet per table of the result.
"""

from __future__ import annotations

import contextlib
import sys
from typing import IO, Iterator

import click
import orjson

from accountability.cli import (common, format_option, lang_option, main, open_session, output_path, recorded,
                                store_option)
from accountability.errors import UsageError
from accountability.output import write_rows, write_xlsx
from accountability.session import parse_date
from accountability.dates import today

CAMPAIGN_COLUMNS = ["id", "title", "kind", "jurisdiction_id", "start", "end", "industries"]
COVERAGE_COLUMNS = ["jurisdiction_id", "in_scope", "inspected", "coverage_pct", "hazards_found", "orders"]
DEPARTMENT_COLUMNS = ["organization_id", "inspected", "hazards_found", "orders"]
LOOKBACK_COLUMNS = ["reinspected", "held", "relapsed"]


@contextlib.contextmanager
def _sink(output: str | None, append: bool = False) -> Iterator[IO[str]]:
    if output in (None, "-"):
        yield sys.stdout
        return
    with open(output, "a" if append else "w", encoding="utf-8", newline="") as fh:
        yield fh


@contextlib.contextmanager
def _exporting(store: str, output: str | None, fmt: str, command: str, **facts) -> Iterator:
    """A read-only session for a command; writing to a file is an export (the role must allow it), stamped
    with ``FILE.provenance.json`` (see ``recorded``). A workbook needs a file: said before any work."""
    to_file = output if output not in (None, "-") else None
    if fmt == "xlsx" and not to_file:
        raise UsageError("--format xlsx writes a workbook: give -o FILE.xlsx")
    with open_session(store, readonly=True, action="export" if to_file else "view") as session:
        with recorded(session, to_file, command=command, **facts):
            yield session


def _json(result: dict, out: IO[str]) -> None:
    out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")


Sections = list[tuple[str, list[dict], list[str]]]  # (name, rows, columns) of each table of a result

output_option = click.option("-o", "--output", callback=output_path, type=click.Path(dir_okay=False),
                             help="Write to this file instead of stdout (required by --format xlsx).")


def _emit(result: dict, sections: Sections, fmt: str, output: str | None) -> None:
    """A result as JSON, as its tables (a single table as it is; several by :func:`_sections`) or as a
    workbook with a sheet per table; to ``output`` or stdout."""
    if fmt == "xlsx":
        write_xlsx(sections, output)
        return
    with _sink(output) as out:
        if fmt == "json":
            _json(result, out)
        elif len(sections) == 1:
            write_rows(sections[0][1], sections[0][2], fmt, out)
        else:
            _sections(sections, fmt, out)


def _sections(sections: Sections, fmt: str, out: IO[str]) -> None:
    """Several tables one after another; in CSV, one table whose first column names the section."""
    if fmt == "csv":
        names = list(dict.fromkeys(c for _, _, cols in sections for c in cols))
        keys = [c for c in names if c == "kind" or c.endswith("_id")]  # what a row is about, then its counts
        columns = ["section"] + keys + [c for c in names if c not in keys]
        write_rows(({"section": name, **row} for name, rows, _ in sections for row in rows), columns, "csv", out)
        return
    for i, (name, rows, columns) in enumerate(sections):
        out.write(("\n" if i else "") + f"{name}:\n")
        if rows:
            write_rows(rows, columns, "table", out)
        else:
            out.write("  (none)\n")


@main.group()
def campaign() -> None:
    """Campaigns: comprehensive inspections (大检查), special rectifications and look-backs (回头看)."""


@campaign.command("list")
@store_option
@format_option("table", "json", "csv")
@common
def campaign_list(store: str, fmt: str) -> None:
    """Every campaign you may see, by start."""
    from accountability import campaigns

    with open_session(store, readonly=True) as session:
        rows = campaigns.campaigns(session)
    if fmt == "json":
        _json({"campaigns": rows}, sys.stdout)
    else:
        write_rows(rows, CAMPAIGN_COLUMNS, fmt, sys.stdout)


@campaign.command("show")
@click.argument("campaign_id")
@output_option
@store_option
@format_option("table", "json", "csv", "xlsx")
@common
def campaign_show(campaign_id: str, output: str | None, store: str, fmt: str) -> None:
    """Coverage of CAMPAIGN_ID per jurisdiction and inspecting department, and the enterprises never
    inspected (gap uninspected_enterprise)."""
    from accountability import campaigns

    with _exporting(store, output, fmt, "campaign show", campaign_id=campaign_id) as session:
        result = campaigns.coverage(session, campaign_id)
        _emit(result, [("coverage", result["coverage"], COVERAGE_COLUMNS),
                       ("by_department", result["by_department"], DEPARTMENT_COLUMNS),
                       ("gaps", result["gaps"], ["kind", "organization_id", "jurisdiction_id"])], fmt, output)


@main.group()
def lookback() -> None:
    """Look-backs (回头看): which closures to re-inspect, and what the re-inspections found."""


@lookback.command("plan")
@click.argument("campaign_id")
@click.option("--sample", type=click.IntRange(min=0), default=None,
              help="Besides every closed major hazard, this many others (risk-weighted); default: all.")
@click.option("--seed", type=int, default=1, show_default=True, help="The sample's seed: same seed, same plan.")
@output_option
@store_option
@format_option("table", "json", "csv", "xlsx")
@common
def lookback_plan(campaign_id: str, sample: int | None, seed: int, output: str | None, store: str, fmt: str) -> None:
    """The closed hazards of look-back CAMPAIGN_ID to re-inspect: every closed major hazard first, then a
    deterministic risk-weighted sample; each with its unit, the closure's signer and the regulator."""
    from accountability import campaigns

    with _exporting(store, output, fmt, "lookback plan", campaign_id=campaign_id, sample=sample, seed=seed) as session:
        result = campaigns.plan(session, campaign_id, sample=sample, seed=seed)
        _emit(result, [("plan", result["rows"], campaigns.PLAN_COLUMNS)], fmt, output)


@lookback.command("report")
@click.argument("campaign_id")
@output_option
@store_option
@format_option("table", "json", "csv", "xlsx")
@common
def lookback_report(campaign_id: str, output: str | None, store: str, fmt: str) -> None:
    """Re-inspections of look-back CAMPAIGN_ID: held and relapsed per jurisdiction, department and signer
    (signers with the most relapses first)."""
    from accountability import campaigns

    with _exporting(store, output, fmt, "lookback report", campaign_id=campaign_id) as session:
        result = campaigns.report(session, campaign_id)
        _emit(result, [("by_jurisdiction", result["by_jurisdiction"], ["jurisdiction_id"] + LOOKBACK_COLUMNS),
                       ("by_department", result["by_department"], ["organization_id"] + LOOKBACK_COLUMNS),
                       ("by_signer", result["by_signer"], ["post_id", "person_id"] + LOOKBACK_COLUMNS)], fmt, output)


@main.command("measures")
@click.option("--jurisdiction", default=None, help="Only the organizations of this jurisdiction's subtree.")
@click.option("--as-of", "as_of", default=None, help="The date (YYYY-MM-DD); default today.")
@output_option
@store_option
@lang_option
@format_option("table", "json", "csv", "xlsx")
@common
def measures_command(jurisdiction: str | None, as_of: str | None, output: str | None, store: str, lang: str,
                     fmt: str) -> None:
    """Each measure and assigned organization: status from the latest report, deadline, days overdue (most
    overdue first); with --format json also the accountability links of overdue lead assignments (rule M1),
    and with --format xlsx a second sheet of them."""
    from accountability import measures

    on = parse_date(as_of, "as_of") or today()
    with _exporting(store, output, fmt, "measures", jurisdiction=jurisdiction, as_of=on) as session:
        result = measures.overview(session, on, jurisdiction, lang)
        links = [{"measure_id": link["measure_id"], "post_id": link["post_id"], "degree": link["degree"],
                  "holders": [h["person_id"] for h in link["holders"]]} for link in result["links"]]
        if fmt == "xlsx":
            _emit(result, [("measures", result["rows"], measures.COLUMNS),
                           ("links", links, ["measure_id", "post_id", "degree", "holders"])], fmt, output)
            return
        _emit(result, [("measures", result["rows"], measures.COLUMNS)], fmt, output)
        if fmt == "table" and links:
            with _sink(output, append=True) as out:
                out.write("\nlinks (rule M1):\n")
                write_rows(links, ["measure_id", "post_id", "degree", "holders"], "table", out)
