"""Typed errors. Everything a user can cause derives from :class:`AccountabilityError`; the CLI and the
app turn them into one clear message each (see ``cli.py``), so no traceback reaches a user."""

from __future__ import annotations


class AccountabilityError(Exception):
    """Base of every error a user can cause; the message is meant for them."""

    exit_code = 1


class UsageError(AccountabilityError):
    """The request itself is malformed (unknown option value, missing parameter)."""

    exit_code = 2


class NotFound(AccountabilityError):
    """An id that the store does not hold."""


class StoreError(AccountabilityError):
    """The store cannot be opened, read or written."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable

    def is_retryable(self) -> bool:
        return self.retryable


def one_line(text: str, limit: int = 500) -> str:
    """``text`` quoting user input as one safe line: line breaks and other control characters escaped
    (``\\n``, ``\\x07``) so that input cannot forge lines of a list of errors, cut to ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InvalidDataset(AccountabilityError):
    """A dataset breaks the contract. ``errors`` lists every problem as ``table:row: column: reason``, one
    line each whatever the input quoted in it. The message, which the CLI prints, shows the count and the
    first ``SHOWN`` of them, then how many more there are: a broken file of a million rows must not print a
    million lines (``errors`` keeps them all, for the app's table and for callers)."""

    SHOWN = 200

    def __init__(self, errors: list[str]):
        self.errors = [one_line(e) for e in errors]
        shown = "\n".join(self.errors[: self.SHOWN])
        rest = len(self.errors) - self.SHOWN
        more = f"\n… and {rest} more error{'s' if rest > 1 else ''}" if rest > 0 else ""
        super().__init__(f"invalid dataset: {len(self.errors)} error(s)\n{shown}{more}")


class ExportError(AccountabilityError):
    """Data that the chosen output form cannot hold (e.g. control characters in a workbook)."""


class AccessDenied(AccountabilityError):
    """The user may not see or do this (their role, or their jurisdiction scope, does not reach it)."""

    exit_code = 3
