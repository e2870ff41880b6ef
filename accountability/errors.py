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


class InvalidDataset(AccountabilityError):
    """A dataset breaks the contract. ``errors`` lists every problem as ``table:row: column: reason``."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        shown = "\n".join(self.errors[:200])
        more = f"\n… and {len(self.errors) - 200} more" if len(self.errors) > 200 else ""
        super().__init__(f"invalid dataset: {len(self.errors)} error(s)\n{shown}{more}")


class AccessDenied(AccountabilityError):
    """The user may not see or do this (their role, or their jurisdiction scope, does not reach it)."""

    exit_code = 3
