"""Settings in one declared table: (name, environment variable, default, help).

Secrets (``NEO4J_USER``, ``NEO4J_PASSWORD``) are read from the environment only, where they are used.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from accountability.errors import UsageError


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: Any
    help: str


SETTINGS = (
    Setting("store", "ACCOUNTABILITY_STORE", "accountability.db", "a SQLite file path or a bolt:// / neo4j:// URI"),
    Setting("rules", "ACCOUNTABILITY_RULES", None, "a ruleset: a name (reference-v1, reference-v2) or a YAML file"),
    Setting("lang", "ACCOUNTABILITY_LANG", "zh", "language of labels and reports: zh or en"),
    Setting("query_timeout", "ACCOUNTABILITY_QUERY_TIMEOUT", 5.0, "seconds before a raw query is stopped"),
    Setting("query_row_cap", "ACCOUNTABILITY_QUERY_ROW_CAP", 10_000, "rows a raw query returns at most"),
    Setting("query_byte_cap", "ACCOUNTABILITY_QUERY_BYTE_CAP", 50_000_000,
            "bytes of values a raw query returns at most; no value inside a raw SQL query may be longer"),
    Setting("dataset_max_bytes", "ACCOUNTABILITY_DATASET_MAX_BYTES", 1 << 30,
            "bytes of text one dataset may hold (its CSV files together, its JSON file, its workbook inflated)"),
    Setting("dataset_max_rows", "ACCOUNTABILITY_DATASET_MAX_ROWS", 5_000_000, "rows one table of a dataset may hold"),
    Setting("dataset_max_cells", "ACCOUNTABILITY_DATASET_MAX_CELLS", 100_000_000, "cells one dataset may hold"),
    Setting("neo4j_database", "NEO4J_DATABASE", None, "the Neo4j database (default: the server's default)"),
    Setting("user", "ACCOUNTABILITY_USER", None,
            "who uses the command line: the audit trail names them; with access control, their account"),
    Setting("users", "ACCOUNTABILITY_USERS", None, "a TOML file of users, roles and scopes: turns access control on"),
    Setting("login_failures", "ACCOUNTABILITY_LOGIN_FAILURES", 5,
            "failed sign-ins of one user name within the window that lock the name"),
    Setting("login_window", "ACCOUNTABILITY_LOGIN_WINDOW", 900, "seconds over which failed sign-ins are counted"),
    Setting("login_lockout", "ACCOUNTABILITY_LOGIN_LOCKOUT", 900, "seconds a locked name or address stays locked"),
    Setting("login_address_failures", "ACCOUNTABILITY_LOGIN_ADDRESS_FAILURES", 20,
            "failed sign-ins from one client address (app) that lock the address; 0: not counted"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def env_name(name: str) -> str:
    """The environment variable of a setting (for messages about its value)."""
    return _BY_NAME[name].env


def get(name: str) -> Any:
    """The setting's value: its environment variable's, else its default. A number that is not one, or
    is negative, is refused (``SettingError``, naming the variable), never read as something else."""
    setting = _BY_NAME[name]
    raw = os.environ.get(setting.env)
    if raw is None or raw == "":
        return setting.default
    if isinstance(setting.default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(setting.default, (int, float)):
        kind = type(setting.default)
        try:
            value = kind(raw.strip())
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise SettingError(f"{setting.env}: '{raw[:40]}' is not {what} ({setting.help})") from None
        if not math.isfinite(value):
            raise SettingError(f"{setting.env}: '{raw[:40]}' is not a finite number ({setting.help})")
        if value < 0:
            raise SettingError(f"{setting.env}: '{raw[:40]}' must not be negative ({setting.help})")
        return value
    return raw


class SettingError(UsageError, ValueError):
    """A setting's value that makes no sense (a ``UsageError``: the CLI and the app print its message)."""
