"""Calibration (``calibrate``): a ruleset's proposed lists against what real investigations decided.

    accountability calibrate --rules reference-v2
    accountability calibrate --rules my-province.yaml --format json
"""

from __future__ import annotations

import sys
from typing import IO

import click
import orjson

from accountability.cli import common, format_option, main, open_session, rules_option, store_option
from accountability.output import write_rows

SHOWN_IDS = 6  # person ids a table cell lists before it says how many more there are


@main.command()
@store_option
@rules_option
@format_option("table", "json", "csv", default="table")
@common
def calibrate(store: str, rules: str | None, fmt: str) -> None:
    """Recall and precision of the accountable holders against the recorded outcomes.

    For every incident with outcomes: the persons the ruleset names (accountable on any link) against the
    persons sanctioned (every outcome form but interview); per incident, overall (persons pooled), and
    grouped by tier, role and rule. Tune a ruleset on past cases by comparing --rules.
    """
    from accountability import calibrate as calibration

    with open_session(store, rules, readonly=True, action="query") as session:
        result = calibration.calibrate(session)
    out = sys.stdout
    if fmt == "json":
        out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "csv":
        write_rows(calibration.rows(result), calibration.CSV_COLUMNS, "csv", out)
    else:
        _table(result, out)


def _table(result: dict, out: IO[str]) -> None:
    """The result as aligned sections: the incidents, the overall figures, then each grouping."""
    if not result["incidents"]:
        out.write(f"rules {result['rules']}: no incident has outcomes to compare with\n")
        return
    out.write(f"rules {result['rules']}: {len(result['incidents'])} incident(s) with outcomes\n\n")
    rows = [{"incident_id": i["incident_id"], "recall": _ratio(i["recall"]), "precision": _ratio(i["precision"]),
             "missed": _ids(i["missed"]), "extra": _ids(i["extra"])} for i in result["incidents"]]
    write_rows(rows, ["incident_id", "recall", "precision", "missed", "extra"], "table", out, max_table_width=100)
    overall = result["overall"]
    out.write(f"\noverall (persons pooled): recall {_ratio(overall['recall'])}, "
              f"precision {_ratio(overall['precision'])}\n")
    for group in ("tier", "role", "rule"):
        out.write(f"\nby {group}:\n")
        rows = [{**row, "recall": _ratio(row["recall"]), "precision": _ratio(row["precision"])}
                for row in result[f"by_{group}"]]
        write_rows(rows, ["key", "named", "sanctioned", "hits", "recall", "precision"], "table", out)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _ids(ids: list[str]) -> str:
    """A few ids and how many more: a table is a view (the JSON and CSV list every one)."""
    if len(ids) <= SHOWN_IDS:
        return ";".join(ids)
    return ";".join(ids[:SHOWN_IDS]) + f" … +{len(ids) - SHOWN_IDS}"
