"""Settings in one declared table: (name, environment variable, default, help).

Secrets (``NEO4J_USER``, ``NEO4J_PASSWORD``) are read from the environment only, where they are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: Any
    help: str


SETTINGS = (
    Setting("store", "ACCOUNTABILITY_STORE", "accountability.db", "a SQLite file path or a bolt:// / neo4j:// URI"),
    Setting("rules", "ACCOUNTABILITY_RULES", None, "a ruleset YAML file replacing graph_schema/rules.yaml"),
    Setting("lang", "ACCOUNTABILITY_LANG", "zh", "language of labels and reports: zh or en"),
    Setting("query_timeout", "ACCOUNTABILITY_QUERY_TIMEOUT", 5.0, "seconds before a raw query is stopped"),
    Setting("query_row_cap", "ACCOUNTABILITY_QUERY_ROW_CAP", 10_000, "rows a raw query returns at most"),
    Setting("neo4j_database", "NEO4J_DATABASE", None, "the Neo4j database (default: the server's default)"),
    Setting("user", "ACCOUNTABILITY_USER", None,
            "who uses the command line: the audit trail names them; with access control, their account"),
    Setting("users", "ACCOUNTABILITY_USERS", None, "a TOML file of users, roles and scopes: turns access control on"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> Any:
    setting = _BY_NAME[name]
    raw = os.environ.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    if isinstance(setting.default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(setting.default, (int, float)):
        return type(setting.default)(raw)
    return raw
