"""The audit trail: every import, in an append-only log chained by hashes.

Each store keeps its log beside its data and appends one entry **in the same transaction as the import**:
an import that never committed (killed, disk full, invalid) leaves no entry, and no committed import
lacks one. Imports that change nothing are recorded too, as ``unchanged``: the trail then shows every time
someone checked the store against a source, and a store imported before the trail existed starts one by
re-importing its dataset.

An entry is a flat record (scalars only, so that SQLite columns and Neo4j properties hold it as it is):

=========================  ===============================================================================
``seq``                    1, 2, 3 … without gaps
``v``                      the entry format (1)
``at``                     when, UTC, ISO 8601
``user``, ``host``         who: ``ACCOUNTABILITY_USER`` or the OS user, and the machine
``action``                 ``import`` (stores that change in other ways add their own action names)
``source``                 the dataset as it was given (a path, an upload's name)
``dataset_hash``           the content hash of the dataset the store holds after this entry
``previous_dataset_hash``  … and before it (None for the first import)
``unchanged``              true when the import changed nothing
``inserted`` …             rows inserted, updated and deleted per table, as canonical JSON text
``prev_hash``              the previous entry's ``hash`` (:data:`GENESIS` for the first)
``hash``                   SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field
=========================  ===============================================================================

The store also records its head (``seq:hash``) in its ``meta`` in the same transaction, so that deleting
the newest entries is detected as well; :func:`position` reads it, and a report or an export records it
as the audit position it was generated from. A hash chain without a secret cannot stop someone who
rewrites the whole log after the point they changed; a position recorded elsewhere (in a report) can:
``accountability audit verify --anchor SEQ:HASH``.

    >>> from accountability.stores.base import WriteResult
    >>> first = next_entry(None, WriteResult("d1", False, inserted={"hazards": 2}), "a.json", None,
    ...                    user="auditor", at="2026-01-01T00:00:00.000+00:00", host="h")
    >>> first["seq"], first["prev_hash"] == GENESIS, first["inserted"]
    (1, True, '{"hazards":2}')
    >>> second = next_entry(first, WriteResult("d1", True), "a.json", "d1", user="auditor", host="h")
    >>> second["seq"], second["prev_hash"] == first["hash"], second["unchanged"]
    (2, True, True)
    >>> check([first, second]).ok
    True
    >>> check([first, {**second, "user": "someone else"}]).problem
    Problem(seq=2, reason='its content does not match its hash: the entry was edited')
    >>> check([second]).problem.seq
    1
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import socket
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

import orjson

from accountability import settings
from accountability.errors import AccountabilityError, UsageError

GENESIS = "0" * 64
FORMAT = 1
FIELDS = ("seq", "v", "at", "user", "host", "action", "source", "dataset_hash", "previous_dataset_hash",
          "unchanged", "inserted", "updated", "deleted", "prev_hash", "hash")
COUNTS = ("inserted", "updated", "deleted")
INTEGERS = ("seq", "v")


class AuditBroken(AccountabilityError):
    """The audit log fails verification; ``seq`` is the first bad position and ``reason`` says why."""

    def __init__(self, store: str, seq: int, reason: str):
        super().__init__(f"the audit log of {store} is broken at entry #{seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class Position:
    """A point in the audit log: the entry a report or an export was generated after."""

    seq: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> "Position":
        """``"7:ab12…"`` (a full hash, or a prefix of at least 8 hex digits) as a Position."""
        seq, sep, digest = str(text).strip().partition(":")
        if not sep or not seq.isdigit() or len(digest) < 8 or any(c not in "0123456789abcdef" for c in digest):
            raise UsageError(f"'{text}' is not an audit position (SEQ:HASH, e.g. 3:9f86d081…)")
        return cls(int(seq), digest)


START = Position(0, GENESIS)


# -- building entries (the stores call this inside their import transaction) -------------------------------


def current_user() -> str:
    """Who an import is recorded for: ``ACCOUNTABILITY_USER``, else the OS user."""
    named = settings.get("user")
    if named:
        return str(named)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def counts_text(counts: Mapping[str, int]) -> str:
    return orjson.dumps({k: int(v) for k, v in counts.items() if v}, option=orjson.OPT_SORT_KEYS).decode()


def normalize(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record (SQLite row, Neo4j properties) as an entry: every field, with its type."""
    entry = {name: record.get(name) for name in FIELDS}
    for name in INTEGERS:
        if entry[name] is not None:
            entry[name] = int(entry[name])
    entry["unchanged"] = bool(entry["unchanged"])
    return entry


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash is taken over: every field but ``hash``, as canonical JSON."""
    return orjson.dumps({k: entry.get(k) for k in FIELDS if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(normalize(entry))).hexdigest()


def next_entry(last: Mapping[str, Any] | None, result: Any, source: str, previous_dataset_hash: str | None,
               action: str = "import", user: str | None = None, host: str | None = None,
               at: str | None = None) -> dict[str, Any]:
    """The entry that follows ``last`` (None for the first) and records ``result`` (a WriteResult)."""
    last = normalize(last) if last else None
    entry = {
        "seq": (last["seq"] if last else 0) + 1,
        "v": FORMAT,
        "at": at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        "user": user or current_user(),
        "host": host if host is not None else socket.gethostname(),
        "action": action,
        "source": str(source or ""),
        "dataset_hash": result.dataset_hash,
        "previous_dataset_hash": previous_dataset_hash,
        "unchanged": bool(result.unchanged),
        "inserted": counts_text(result.inserted),
        "updated": counts_text(result.updated),
        "deleted": counts_text(result.deleted),
        "prev_hash": last["hash"] if last else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def head_of(entry: Mapping[str, Any]) -> str:
    """The value a store keeps as its head (``meta`` key ``audit_head``) after appending ``entry``."""
    return str(Position(int(entry["seq"]), entry["hash"]))


# -- reading --------------------------------------------------------------------------------------------


def entries(store: Any) -> Iterator[dict[str, Any]]:
    """The store's log, oldest first."""
    for record in store.audit_entries():
        yield normalize(record)


def position(store: Any) -> Position:
    """The current head of the store's audit log (``Position(0, GENESIS)`` when it is empty): record it in
    every report and export, read in the same snapshot as the data they show."""
    head = (store.meta() or {}).get("audit_head")
    return Position.parse(head) if head else START


def provenance(store: Any, user: str | None = None, scope: str | None = None, **facts: Any) -> dict[str, Any]:
    """Where an export comes from — the dataset, the audit position, when and who (``user``, else as the
    audit trail names people) — read in the caller's snapshot of ``store``; ``facts`` describe the export."""
    import datetime as dt

    meta = store.meta() or {}
    return {**facts, "dataset_hash": meta.get("dataset_hash"), "audit": position(store).as_dict(),
            "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "user": user or current_user(), "scope": scope}


def readable(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry for people and JSON: the counts as objects, plus a one-line summary of the changes."""
    out = dict(entry)
    parts = []
    for name in COUNTS:
        out[name] = orjson.loads(entry[name]) if entry.get(name) else {}
    tables = sorted(set(out["inserted"]) | set(out["updated"]) | set(out["deleted"]))
    for t in tables:
        parts.append(f"{t} +{out['inserted'].get(t, 0)} ~{out['updated'].get(t, 0)} -{out['deleted'].get(t, 0)}")
    out["changes"] = "unchanged" if entry.get("unchanged") else (", ".join(parts) or "no rows")
    return out


# -- verifying ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    entries: int
    head: Position
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head.as_dict(),
                "problem": None if self.ok else {"seq": self.problem.seq, "reason": self.problem.reason}}


def check(records: Iterable[Mapping[str, Any]], head: str | None = None, dataset_hash: str | None = None,
          anchor: Position | None = None) -> Verdict:
    """Verify a log (oldest first) against itself and, when given, the store's recorded ``head``, the
    ``dataset_hash`` the store holds, and an ``anchor`` position recorded elsewhere (a report).

    Stops at the first bad position: later entries cannot be trusted once the chain is broken.
    """
    count, prev, seq_before = 0, GENESIS, 0
    last: dict[str, Any] | None = None

    def verdict(problem: Problem | None) -> Verdict:
        return Verdict(count, Position(seq_before, prev), problem)

    for record in records:
        entry = normalize(record)
        expected = seq_before + 1
        if entry["seq"] != expected:
            if entry["seq"] > expected:
                missing = f"#{expected}" if entry["seq"] == expected + 1 else f"#{expected}..#{entry['seq'] - 1}"
                return verdict(Problem(expected, f"missing: the log goes from #{seq_before} to #{entry['seq']} "
                                                 f"({missing} deleted)"))
            return verdict(Problem(expected, f"found #{entry['seq']} where #{expected} belongs "
                                             "(entries duplicated or reordered)"))
        if entry["prev_hash"] != prev:
            before = f"entry #{seq_before}" if seq_before else "the start of the log"
            return verdict(Problem(expected, f"its prev_hash {str(entry['prev_hash'])[:12]}… does not match "
                                             f"{before} ({prev[:12]}…): the entry before it was changed, "
                                             "replaced or deleted"))
        if entry_hash(entry) != entry["hash"]:
            return verdict(Problem(expected, "its content does not match its hash: the entry was edited"))
        if anchor and anchor.seq == expected and not entry["hash"].startswith(anchor.hash):
            return verdict(Problem(expected, f"its hash {entry['hash'][:12]}… is not the anchor's "
                                             f"{anchor.hash[:12]}…: the log was rewritten from here or earlier"))
        count, prev, seq_before, last = count + 1, entry["hash"], expected, entry
    if head:
        recorded = Position.parse(head)
        if recorded.seq > seq_before:
            return verdict(Problem(seq_before + 1, f"missing: the store's head is #{recorded.seq} but the log "
                                                   f"ends at #{seq_before} (newest entries deleted)"))
        if recorded.seq < seq_before or recorded.hash != prev:
            return verdict(Problem(seq_before, f"the store's recorded head {recorded.seq}:{recorded.hash[:12]}… "
                                               "is not the last entry: entries were added outside an import"))
    if anchor and anchor.seq > seq_before:
        return verdict(Problem(seq_before + 1, f"missing: the anchor names #{anchor.seq} but the log ends at "
                                               f"#{seq_before}"))
    if dataset_hash:
        if last is None:
            return verdict(Problem(1, f"missing: the store holds dataset {dataset_hash[:12]}… but its audit log "
                                      "is empty (deleted, or imported before the audit trail existed: "
                                      "import the dataset again to start one)"))
        if last["dataset_hash"] != dataset_hash:
            return verdict(Problem(seq_before, f"records dataset {str(last['dataset_hash'])[:12]}… but the store "
                                               f"holds {dataset_hash[:12]}…: the data was replaced outside an "
                                               "import"))
    return verdict(None)


def verify(store: Any, anchor: Position | None = None) -> Verdict:
    """Check the store's audit log; the verdict names the first bad position, if any (it does not raise)."""
    with store.snapshot():  # the log, the head and the dataset hash as one import left them
        meta = store.meta() or {}
        return check(store.audit_entries(), head=meta.get("audit_head"), dataset_hash=meta.get("dataset_hash"),
                     anchor=anchor)
