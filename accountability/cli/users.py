"""``users``: access control's accounts (see ``accountability.access``)."""

from __future__ import annotations

import sys

import click

from accountability.cli import common, format_option, main
from accountability.output import write_rows


@main.group()
def users() -> None:
    """Accounts, roles and jurisdiction scopes (ACCOUNTABILITY_USERS or the app's secrets)."""


@users.command("hash-password")
@common
def hash_password() -> None:
    """Print the hash of a password for a users file (asked twice, not echoed; or one line on stdin)."""
    from accountability.access import hash_password as hashed

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    click.echo(hashed(password))


@users.command("list")
@format_option("table", "json", "csv", default="table")
@common
def list_(fmt: str) -> None:
    """Check the users file named by ACCOUNTABILITY_USERS and list its accounts (never their hashes)."""
    from accountability.access import configured_users
    from accountability.errors import UsageError

    accounts = configured_users()
    if accounts is None:
        raise UsageError("access control is off: ACCOUNTABILITY_USERS names no users file")
    rows = [{"user": a.user.name, "role": a.user.role, "scope": a.user.scope or "*"} for a in accounts.values()]
    write_rows(rows, ["user", "role", "scope"], fmt, sys.stdout)
