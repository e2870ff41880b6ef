"""A contract-v1 dataset made from a v2 one: the v2 tables left out, the v2 columns dropped, and the rows only
v2 knows (events of the v2 kinds, actual-controller posts and their tenures) removed — what a province that
never adopted contract v2 would import. Used to check that ``--rules reference-v1`` answers as version 1 did.
"""

from __future__ import annotations

import csv
from pathlib import Path

V2_TABLES = ("inspections", "designations", "outcomes", "campaigns", "measures", "measure_assignments",
             "measure_reports", "duty_shifts", "incident_reports")
V2_COLUMNS = {
    "organizations": ("controlled_by",),
    "hazards": ("also_industries", "existed_since", "other_organization_ids"),
    "incidents": ("also_industries", "occurred_at", "investigating_level"),
    "events": ("outcome",),
}
V2_EVENT_KINDS = ("order_issued", "reinspected")
V2_POST_ROLES = ("actual_controller",)


def strip_to_v1(source: Path, target: Path) -> Path:
    """Write the v1 form of the CSV dataset in ``source`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    rows = {p.stem: list(csv.DictReader(p.open(encoding="utf-8", newline=""))) for p in source.glob("*.csv")}
    for table in V2_TABLES:
        rows.pop(table, None)
    rows["events"] = [r for r in rows["events"] if r["kind"] not in V2_EVENT_KINDS]
    dropped = {r["id"] for r in rows["posts"] if r["role"] in V2_POST_ROLES}
    rows["posts"] = [r for r in rows["posts"] if r["id"] not in dropped]
    rows["tenures"] = [r for r in rows["tenures"] if r["post_id"] not in dropped]
    for table, table_rows in rows.items():
        columns = [c for c in next(csv.reader((source / f"{table}.csv").open(encoding="utf-8", newline="")))
                   if c not in V2_COLUMNS.get(table, ())]
        with (target / f"{table}.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(table_rows)
    return target
