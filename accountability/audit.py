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
``action``                 ``import``, ``append`` (rows added to a table, ``Store.append``: the dataset hash is
                           then chained, :func:`appended_hash`), ``write-back`` (Neo4j's traced chains)
``source``                 the dataset as it was given (a path, an upload's name)
``dataset_hash``           the content hash of the dataset the store holds after this entry
``previous_dataset_hash``  … and before it (None for the first import)
``unchanged``              true when the import changed nothing
``inserted`` …             rows inserted, updated and deleted per table, as canonical JSON text
``digests``                (entry format 2) per table, the digest of its rows as stored after this entry, as
                           canonical JSON text ``{table: sha256 hex}`` (see "What an entry vouches for")
``prev_hash``              the previous entry's ``hash`` (:data:`GENESIS` for the first)
``hash``                   SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field
=========================  ===============================================================================

The store also records its head (``seq:hash``) in its ``meta`` in the same transaction, so that deleting
the newest entries is detected as well; :func:`position` reads it, and a report or an export records it
as the audit position it was generated from. A hash chain without a secret cannot stop someone who
rewrites the whole log after the point they changed; a position recorded elsewhere (in a report) can:
``accountability audit verify --anchor SEQ:HASH``.

What an entry vouches for
-------------------------
A chain of entries alone says nothing about the rows: an ``UPDATE`` through ``sqlite3`` or a Cypher ``SET``
leaves it intact. So every entry of format 2 carries, per table, the digest of the table's **manifest**:
each row's key and the first 16 bytes of the SHA-256 of the row (canonical JSON of its filled cells by
column name, ``extra`` included, read back as the stores return it: an optional column the contract gains
later, empty in every stored row, changes no hash), length-prefixed, in key order. It is
computed from the dataset at import and from ``Store.rows`` at verification, the same way for every store.
The store keeps the manifests themselves beside the log (``Store.audit_manifests``): not trusted, but
checked against the entry's digest, they let :func:`verify` name the rows that differ. An entry of format
1 (written before digests existed) still verifies; the data it left is reported as not vouched for, and
digests found on such an entry (its hash does not cover them) break the chain.

An import diffs the stored rows even when it brings the dataset already held, so it puts back rows altered
since (recorded as a change, shown as ``restored``) and the kept manifests with them. An export checks
the rows before it stamps them with the dataset hash (:func:`data_check`), reading them all only when the
store cannot say that nothing was written outside an import.

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

import contextlib
import contextvars
import datetime as dt
import getpass
import hashlib
import os
import socket
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any, Callable, Iterable, Iterator, Mapping

import orjson

from accountability import settings
from accountability.dates import SHANGHAI
from accountability.errors import AccountabilityError, UsageError
from accountability.memory import gc_paused

GENESIS = "0" * 64
FORMAT = 2
FIELDS_V1 = ("seq", "v", "at", "user", "host", "action", "source", "dataset_hash", "previous_dataset_hash",
             "unchanged", "inserted", "updated", "deleted", "prev_hash", "hash")
FIELDS = FIELDS_V1[:-2] + ("digests",) + FIELDS_V1[-2:]
COUNTS = ("inserted", "updated", "deleted")
INTEGERS = ("seq", "v")


class AuditBroken(AccountabilityError):
    """The audit log fails verification; ``seq`` is the first bad position and ``reason`` says why."""

    def __init__(self, store: str, seq: int, reason: str):
        super().__init__(f"the audit log of {store} is broken at entry #{seq}: {reason}")
        self.seq = seq
        self.reason = reason


class DataAltered(AccountabilityError):
    """The rows of a store are not what its audit log vouches for; ``differences`` name them."""

    def __init__(self, store: str, differences: Iterable[str], hint: str = ""):
        self.differences = tuple(differences)
        shown = "; ".join(self.differences[:MAX_NAMED])
        more = f"; and {len(self.differences) - MAX_NAMED} more" if len(self.differences) > MAX_NAMED else ""
        super().__init__(f"the data in {store} is not what its audit log vouches for: {shown}{more}"
                         f"{hint or ' (importing the dataset again restores it, recorded in the log)'}")


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


# The app's signed-in user, for the writes made in their name (a re-inspection entered on the Campaigns page):
# per thread, so that the users of one server are never mixed up.
_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_acting_user", default=None)


@contextlib.contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Record the writes made inside the block for ``name`` (None: as :func:`current_user` would)."""
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


def current_user() -> str:
    """Who an import is recorded for: the user of :func:`acting_as`, else ``ACCOUNTABILITY_USER``, else the
    OS user."""
    named = _acting.get() or settings.get("user")
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
    """The bytes an entry's hash is taken over: every field of its format but ``hash``, as canonical JSON
    (a format-1 entry has no ``digests``: its hash stays what it was when it was written)."""
    fields = FIELDS_V1 if (entry.get("v") or 1) < 2 else FIELDS
    return orjson.dumps({k: entry.get(k) for k in fields if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(normalize(entry))).hexdigest()


def next_entry(last: Mapping[str, Any] | None, result: Any, source: str, previous_dataset_hash: str | None,
               action: str = "import", user: str | None = None, host: str | None = None,
               at: str | None = None, digests: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The entry that follows ``last`` (None for the first) and records ``result`` (a WriteResult).

    ``digests`` (``{table: hex}``, see :func:`digests_of`) are those of the rows as stored after the
    write; a write that leaves the rows alone (``write-back``) passes none and the entry carries the
    previous entry's forward."""
    last = normalize(last) if last else None
    if digests is not None:
        digests_json = orjson.dumps(dict(digests), option=orjson.OPT_SORT_KEYS).decode()
    else:
        digests_json = last["digests"] if last else None
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
        "digests": digests_json,
        "prev_hash": last["hash"] if last else GENESIS,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def head_of(entry: Mapping[str, Any]) -> str:
    """The value a store keeps as its head (``meta`` key ``audit_head``) after appending ``entry``."""
    return str(Position(int(entry["seq"]), entry["hash"]))


# -- what an entry vouches for: manifests of the rows -----------------------------------------------------

ROW_HASH_BYTES = 16  # 128 bits: a row changed to one with the same hash cannot be found by trial
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def row_key(table: Any) -> Callable[[tuple], str]:
    """A row's key as both stores write ``_key``: the id, or the key columns joined by U+001F."""
    if table.key == ("id",):
        return itemgetter(table.names.index("id"))
    idx = [table.names.index(k) for k in table.key]
    return lambda row: "\x1f".join("" if row[i] is None else str(row[i]) for i in idx)


def row_label(table_name: str, key: str) -> str:
    """``hazards:H0000001``; a composite key's parts joined by ``/``."""
    return f"{table_name}:{key.replace(chr(0x1f), '/')}"


def _read_back_form(table: Any) -> Callable[[tuple], tuple] | None:
    """Rows as the stores return them: an empty boolean cell reads back as false, an empty list as ()."""
    bools = [i for i, c in enumerate(table.columns) if c.base == "bool"]
    lists = [i for i, c in enumerate(table.columns) if c.is_list]
    if not bools and not lists:
        return None

    def form(row: tuple) -> tuple:
        out = list(row)
        for i in bools:
            out[i] = bool(out[i])
        for i in lists:
            out[i] = tuple(out[i]) if out[i] else ()
        return tuple(out)

    return form


def manifest(table: Any, rows: Iterable[tuple]) -> bytes:
    """The manifest of ``rows`` (dataset tuples: contract columns in schema order, then ``extra``) of
    ``table`` (a schema table): per row, in key order, the key's length (4 bytes), the key (UTF-8) and
    the row's hash (of its filled cells by column name, so that new optional columns change no hash). Rows stream through: only keys and hashes are held, so that a province's rows read
    from a store are never all in memory at once."""
    form = _read_back_form(table)
    key = row_key(table)
    names = tuple(table.names) + ("extra",)
    dumps, sha, n = orjson.dumps, hashlib.sha256, ROW_HASH_BYTES

    def filled(row: tuple) -> dict:
        # the row's filled cells by name: a column the contract gains later (empty in every stored row)
        # leaves the hashes of the rows as they were
        return {c: v for c, v in zip(names, row) if not (v is None or v is False or v == "" or v == ())}

    with gc_paused(freeze=False):  # millions of small objects and no reference cycles
        entries = [(key(r).encode(), sha(dumps(filled(r), option=orjson.OPT_SORT_KEYS)).digest()[:n])
                   for r in (rows if form is None else map(form, rows))]
        entries.sort()  # by key: the order of UTF-8 bytes is the order of the keys
        return b"".join([len(k).to_bytes(4, "big") + k + h for k, h in entries])


def manifest_rows(blob: bytes) -> list[tuple[str, bytes]]:
    """A manifest's (key, row hash) pairs, in its order."""
    out, i, size = [], 0, len(blob)
    while i < size:
        n = int.from_bytes(blob[i:i + 4], "big")
        out.append((blob[i + 4:i + 4 + n].decode(), blob[i + 4 + n:i + 4 + n + ROW_HASH_BYTES]))
        i += 4 + n + ROW_HASH_BYTES
    return out


def digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def dataset_manifests(dataset: Any) -> dict[str, bytes]:
    """The manifest of every table of the schema, for the rows of ``dataset`` (a Dataset): those its source
    store vouches for (``Dataset.vouched``, :func:`vouched`) when it has them."""
    if dataset.vouched is not None:
        return dict(dataset.vouched[1])
    return {name: manifest(t, dataset.tables.get(name, ())) for name, t in dataset.schema.tables.items()}


def stored_manifests(store: Any, schema: Any, tables: Iterable[str] | None = None) -> dict[str, bytes]:
    """The manifests of the rows ``store`` holds now, read through ``Store.scan`` as every reader sees
    them (call it inside ``store.snapshot()``)."""
    return {name: manifest(schema.tables[name], store.scan(name))
            for name in (tables if tables is not None else schema.tables)}


def digests_of(manifests: Mapping[str, bytes]) -> dict[str, str]:
    return {name: digest(blob) for name, blob in manifests.items()}


def vouch(last: Mapping[str, Any] | None, dataset: Any, dataset_hash: str, kept: Mapping[str, bytes],
          changed: bool) -> tuple[dict[str, str], dict[str, bytes]]:
    """For an import of ``dataset`` after the entry ``last``: the digests its entry records, and the
    manifests the store must keep where those it keeps (``kept``) are not these — so that an import
    restores the kept manifests as it restores the rows.

    A manifest depends on the dataset alone, so nothing is hashed row by row when ``last`` vouched for
    this very dataset, the import ``changed`` no row and the kept manifests are intact. An import that
    put back rows altered since computes them again rather than trust an entry that was (it may be)
    rewritten along with the rows."""
    last = normalize(last) if last else None
    before = _digests(last) or {}
    kept_digests = digests_of(kept)
    if (not changed and last and last["dataset_hash"] == dataset_hash and set(before) == set(dataset.schema.tables)
            and all(kept_digests.get(name) == d for name, d in before.items())):
        return before, {}
    manifests = dataset_manifests(dataset)
    digests = digests_of(manifests)
    return digests, {name: blob for name, blob in manifests.items() if kept_digests.get(name) != digests[name]}


def appended_hash(previous: str | None, table: str, rows: list[tuple]) -> str:
    """The dataset hash after ``rows`` (dataset tuples) were appended to ``table`` of the dataset hashed
    ``previous``: chained from it, so that an append names the new content without reading it all. A later
    import of the same content hashes it the import's way (``Dataset.content_hash``) and records that."""
    head = f"append\n{previous or ''}\n{table}\n".encode()
    return hashlib.sha256(head + orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)).hexdigest()


def vouch_append(last: Mapping[str, Any] | None, table: Any, rows: list[tuple],
                 kept: bytes | None) -> tuple[dict[str, str] | None, bytes | None]:
    """For an append of ``rows`` to ``table`` (a schema table) after the entry ``last``: the digests its entry
    records and the table's manifest to keep — ``kept``, the one kept now, with the new rows in their place
    (the other tables' stay as they are). ``(None, None)`` when ``last`` vouches for no rows (format 1, or
    no entry): the append then vouches for none either.

    Raises StoreError when ``kept`` is not the manifest ``last`` vouches for: an append never vouches for
    rows that nothing vouched for before (``audit verify`` says what differs; an import restores both)."""
    from accountability.errors import StoreError

    digests = _digests(normalize(last)) if last else None
    if digests is None:
        return None, None
    blob = kept or b""
    if digest(blob) != digests.get(table.name, EMPTY_DIGEST):
        raise StoreError(f"nothing appended: the row hashes of '{table.name}' kept beside the audit log are not those "
                         f"its entry #{last['seq']} vouches for (run `accountability audit verify`; importing the "
                         "dataset again restores them)")
    blob = _insert(blob, manifest(table, rows))
    return {**digests, table.name: digest(blob)}, blob


def _insert(blob: bytes, added: bytes) -> bytes:
    """The manifest ``blob`` with the (few) entries of the manifest ``added`` in their places, in one pass
    that hashes nothing: a province's table holds millions."""
    parts, i, size = [], 0, len(blob)
    view = memoryview(blob)
    for key, row_hash in manifest_rows(added):
        k = key.encode()
        start = i
        while i < size:
            n = int.from_bytes(blob[i:i + 4], "big")
            if blob[i + 4:i + 4 + n] > k:
                break
            i += 4 + n + ROW_HASH_BYTES
        parts += [view[start:i], len(k).to_bytes(4, "big") + k + row_hash]
    parts.append(view[i:])
    return b"".join(parts)


def _digests(entry: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The digests ``entry`` vouches for, or None when it carries none (format 1) or none readable."""
    if not entry or not entry.get("digests") or (entry.get("v") or 1) < 2:
        return None
    try:
        digests = orjson.loads(entry["digests"])
    except orjson.JSONDecodeError:
        return None
    ok = isinstance(digests, dict) and all(isinstance(v, str) for v in digests.values())
    return digests if ok else None


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
    audit trail names people) — read in the caller's snapshot of ``store``; ``facts`` describe the export.

    Raises :class:`DataAltered` rather than stamp a dataset hash the rows no longer match (see
    :func:`data_check`)."""
    import datetime as dt

    altered = data_check(store)
    if altered:
        raise DataAltered(store.uri, altered, " — nothing exported: an export is never stamped with a dataset "
                          "hash its rows do not match (`audit verify` names them all; importing the dataset "
                          "again restores them, recorded in the log)")
    meta = store.meta() or {}
    return {**facts, "dataset_hash": meta.get("dataset_hash"), "audit": position(store).as_dict(),
            "generated_at": dt.datetime.now(SHANGHAI).isoformat(timespec="seconds"),
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
    restored = entry.get("action") == "import" and entry.get("dataset_hash") == entry.get("previous_dataset_hash")
    changes = ", ".join(parts) or "no rows"
    out["changes"] = "unchanged" if entry.get("unchanged") else f"restored: {changes}" if restored else changes
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
    vouched_by: int | None = None  # the entry whose digests the rows were checked against (None: none has)
    differences: tuple[str, ...] = ()  # rows that are not what that entry vouches for

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head.as_dict(),
                "problem": None if self.problem is None else {"seq": self.problem.seq,
                                                              "reason": self.problem.reason},
                "data": {"vouched_by": self.vouched_by, "differences": list(self.differences)}}


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
        if (entry["v"] or 1) < 2 and entry["digests"] is not None:
            return verdict(Problem(expected, "it is of format 1, whose hash does not cover row digests, yet carries "
                                             "some: they were added later"))
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
    """Check the store's audit log and then its rows against the newest entry's digests; the verdict names
    the first bad position or the rows that differ, if any (it does not raise)."""
    with store.snapshot():  # the log, the head, the dataset hash and the rows as one import left them
        records, verdict = _checked_log(store, anchor)
        if not verdict.ok or not records or not records[-1]["digests"]:
            return verdict  # a broken log vouches for nothing; a format-1 entry never did
        return replace(verdict, vouched_by=records[-1]["seq"], differences=check_data(store, records[-1]))


def _checked_log(store: Any, anchor: Position | None = None) -> tuple[list[dict[str, Any]], Verdict]:
    """The store's log (normalized entries) and its verdict against the recorded head and dataset hash."""
    meta = store.meta() or {}
    records = [normalize(r) for r in store.audit_entries()]
    return records, check(records, head=meta.get("audit_head"), dataset_hash=meta.get("dataset_hash"), anchor=anchor)


MAX_NAMED = 20  # rows named per table; more are counted


def check_data(store: Any, entry: Mapping[str, Any]) -> tuple[str, ...]:
    """How the rows ``store`` holds now differ from what ``entry`` (format 2) vouches for, one line per row
    (``hazards:H1 changed since import #3``) or per table when its kept manifest cannot name them."""
    since = f"{entry['action']} #{entry['seq']}"
    vouched = _digests(entry)
    if vouched is None:
        return (f"entry #{entry['seq']}: its row digests cannot be read, so it vouches for no row",)
    now = stored_manifests(store, store.schema)
    kept: Mapping[str, bytes] | None = None
    out: list[str] = []
    for name, blob in now.items():
        expected = vouched.get(name, EMPTY_DIGEST)  # a table the schema gained later held no rows then
        if digest(blob) == expected:
            continue
        if kept is None:
            kept = store.audit_manifests()
        before = kept.get(name)
        if before is None or digest(before) != expected:
            out.append(f"{name}: its rows are not those {since} recorded (the row hashes kept beside the log are "
                       "missing or altered too, so the rows cannot be named)")
            continue
        out += _row_differences(name, manifest_rows(before), manifest_rows(blob), since)
    return tuple(out)


def _row_differences(name: str, before: list[tuple[str, bytes]], now: list[tuple[str, bytes]],
                     since: str) -> list[str]:
    old = dict(before)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, h in now:
        if key in seen:
            found.append((key, "is stored more than once"))
            continue
        seen.add(key)
        was = old.get(key)
        if was is None:
            found.append((key, f"added since {since}"))
        elif was != h:
            found.append((key, f"changed since {since}"))
    found += [(key, f"deleted since {since}") for key, _ in before if key not in seen]
    found.sort(key=lambda f: f[0])
    out = [f"{row_label(name, key)} {what}" for key, what in found[:MAX_NAMED]]
    if len(found) > MAX_NAMED:
        out.append(f"{name}: {len(found) - MAX_NAMED} more rows differ from {since}")
    return out


def vouched(store: Any) -> tuple[str, dict[str, bytes]] | None:
    """The dataset hash and the manifests of every table that ``store`` holds, taken from its audit log
    without reading a row — when it can say so: its record of writes outside imports is empty
    (``Store.writes_outside_imports``), the log verifies against the recorded head and dataset hash, and
    the manifests kept beside it are those the newest entry (format 2) vouches for. None otherwise (the
    rows must then be read and hashed). Call it inside ``store.snapshot()``."""
    if store.writes_outside_imports() != []:
        return None
    records, verdict = _checked_log(store)
    if not records or not verdict.ok:
        return None
    digests = _digests(records[-1])
    if digests is None or set(digests) != set(store.schema.tables):
        return None
    kept = store.audit_manifests()
    manifests = {name: kept.get(name, b"") for name in digests}
    if digests_of(manifests) != digests:
        return None
    return records[-1]["dataset_hash"], manifests


def data_check(store: Any) -> tuple[str, ...]:
    """Rows the store holds that the newest audit entry does not vouch for, as cheaply as the store can
    tell: nothing to read when its record of writes made outside imports (``Store.writes_outside_imports``)
    is empty; else every row, by :func:`check_data` — so that a write undone since, which the record
    still names, refuses nothing that ``verify`` passes. Without digests to check against (format-1
    entries only) the record is all there is."""
    recorded = store.writes_outside_imports()
    if recorded == []:
        return ()
    records = list(store.audit_entries())
    last = normalize(records[-1]) if records else None
    if last and last["digests"] and (last["v"] or 1) >= 2:
        return check_data(store, last)
    return tuple(recorded or ())
