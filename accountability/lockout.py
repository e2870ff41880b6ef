"""Failed sign-ins, counted with the store, where every process that uses it sees them (issue #19).

A guess at a password costs one scrypt run: without a limit, some twenty guesses a second per core. So
failures are counted per user name — every name tried, known or not, so that a lock tells nothing about
which names exist — and per client address where the app knows one. The count is kept with the store
(``open_log``): every app server and command line that shares the store counts toward the same lock, and
neither a page reload nor a restart resets it. The policy is declared in ``settings``: by default 5
failures of one name within 15 minutes lock that name for 15 minutes, and 20 from one address lock the
address. While locked, every attempt is refused before any password is checked, the right one included;
a success clears the name's count.

An attempt is counted against its name *before* its password is checked, in the same transaction that
checks the lock, so that attempts sent in parallel cannot slip past the limit; a success then takes it
back. Attempts refused by a lock are not counted: they would only make the lock last longer. An address is
counted after its password fails: the limit behind the per-name one, it may let a few parallel attempts by.

Records are keyed by a SHA-256 digest of the name or address: the store never holds what someone typed as
a user name (often a password typed in the wrong field).

The policy, as a pure function of a record and the time:

    >>> policy = Policy(failures=2, window=60, lockout=300, address_failures=0)
    >>> first = after_failure(None, 1000.0, 2, policy)
    >>> first.failures, first.locked_until
    ((1000.0,), 0.0)
    >>> after_failure(first, 1070.0, 2, policy).failures  # the first one is out of the window
    (1070.0,)
    >>> second = after_failure(first, 1030.0, 2, policy)
    >>> second.failures, second.locked_until, second.expires
    ((), 1330.0, 1330.0)
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from accountability import settings
from accountability.errors import AccessDenied, UsageError


class TooManyAttempts(AccessDenied):
    """Sign-in is locked for this name (or address) for ``seconds`` more."""

    def __init__(self, seconds: float):
        self.seconds = max(0.0, seconds)
        self.minutes = max(1, math.ceil(self.seconds / 60))
        super().__init__(f"access denied: too many failed sign-ins; try again in {self.minutes} minute(s)")


# Policy field → (its setting, the least value that makes sense)
POLICY_SETTINGS = {"failures": ("login_failures", 1), "window": ("login_window", 1),
                   "lockout": ("login_lockout", 1), "address_failures": ("login_address_failures", 0)}


@dataclass(frozen=True)
class Policy:
    failures: int  # failures of one name within ``window`` that lock it
    window: int  # seconds
    lockout: int  # seconds a lock lasts
    address_failures: int  # failures from one client address that lock it; 0: addresses not counted

    @classmethod
    def from_settings(cls) -> "Policy":
        """The policy the ``login_*`` settings declare. A value that makes no sense is a usage error naming
        its variable, never a lock that is silently off."""
        values, problems = {}, []
        for field, (name, least) in POLICY_SETTINGS.items():
            env = settings.env_name(name)
            try:
                values[field] = settings.get(name)
            except settings.SettingError as exc:  # not a number, or negative
                problems.append(str(exc))
                continue
            if values[field] < least:
                problems.append(f"{env} must be at least {least}")
        if problems:
            raise UsageError("invalid sign-in lockout settings: " + "; ".join(problems))
        return cls(**values)


@dataclass(frozen=True)
class Record:
    """What a log keeps per key: the recent failures (epoch seconds, oldest first), when a lock ends (0:
    none) and when the whole record means nothing any more (the log may then forget it)."""

    failures: tuple[float, ...] = ()
    locked_until: float = 0.0
    expires: float = 0.0


def after_failure(record: Record | None, now: float, limit: int, policy: Policy) -> Record:
    """``record`` with one more failure at ``now``: a lock once ``limit`` failures fall in the window (the
    count then starts afresh, for when the lock ends)."""
    recent = tuple(t for t in (record.failures if record else ()) if now - t < policy.window) + (now,)
    if len(recent) >= limit:
        until = now + policy.lockout
        return Record((), until, until)
    return Record(recent, 0.0, now + policy.window)


class SignInLog(abc.ABC):
    """Where a store keeps the records: beside the data, never in it — an update changes no data table, no
    dataset hash and no audit entry, and works while the data is opened read-only."""

    @abc.abstractmethod
    def read(self, key: str) -> Record | None:
        """The record of ``key``, if it has one."""

    @abc.abstractmethod
    def update(self, key: str, change: Callable[[Record | None], Record | None], now: float) -> None:
        """Replace the record of ``key`` by ``change(current)`` (None: delete it) in one transaction, in
        which concurrent updates of the key — from any process — wait their turn; forget records that
        expired before ``now``. An exception from ``change`` leaves every record as it was."""

    def close(self) -> None:  # noqa: B027 - optional for logs without resources
        pass


def key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode("utf-8", "surrogatepass")).hexdigest()


class Lockout:
    """The policy applied to one store's log, around a password check (``attempt``)."""

    def __init__(self, log: SignInLog, policy: Policy, clock: Callable[[], float] = time.time):
        self.log = log
        self.policy = policy
        self.clock = clock

    @contextlib.contextmanager
    def attempt(self, name: str, address: str | None = None) -> Iterator[None]:
        """Check the password inside this block: refused while locked; an AccessDenied raised inside counts
        as a failure, leaving the block normally as a success."""
        self.admit(name, address)
        try:
            yield
        except AccessDenied:
            self.failed(address)
            raise
        self.succeeded(name)

    def admit(self, name: str, address: str | None = None) -> None:
        """Raise TooManyAttempts while the name or the address is locked; otherwise count this attempt
        against the name (``succeeded`` takes it back)."""
        now = self.clock()
        place = self._address(address)
        record = self.log.read(place) if place else None
        if record is not None and record.locked_until > now:
            raise TooManyAttempts(record.locked_until - now)

        def count(record: Record | None) -> Record:
            if record is not None and record.locked_until > now:
                raise TooManyAttempts(record.locked_until - now)
            return after_failure(record, now, self.policy.failures, self.policy)

        self.log.update(key("name", name), count, now)

    def failed(self, address: str | None = None) -> None:
        """The attempt ``admit`` let through failed: its name is counted already; count its address."""
        place = self._address(address)
        if place:
            now = self.clock()
            self.log.update(place, lambda r: after_failure(r, now, self.policy.address_failures, self.policy),
                            now)

    def succeeded(self, name: str) -> None:
        self.log.update(key("name", name), lambda record: None, self.clock())

    def _address(self, address: str | None) -> str | None:
        return key("address", address) if address and self.policy.address_failures else None

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> "Lockout":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_log(uri: str) -> SignInLog:
    """The sign-in log of the store at ``uri``, without opening its data: a SQLite store's log is a file
    beside it (``SQLiteSignIns``), made when the first attempt is counted; a Neo4j store's, nodes in its
    database."""
    from accountability.stores import is_neo4j

    if is_neo4j(uri):
        from accountability.stores.neo4j import Neo4jSignIns, Neo4jStore

        return Neo4jSignIns(Neo4jStore(uri), owns_store=True)
    from accountability.stores.sqlite import SQLiteSignIns

    return SQLiteSignIns(uri)


def open_lockout(uri: str) -> Lockout:
    """The lockout of the store at ``uri``, as the settings declare it (close it, or use it as a context
    manager). A bad setting is refused before the store is opened."""
    policy = Policy.from_settings()
    return Lockout(open_log(uri), policy)
