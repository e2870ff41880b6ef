r"""What every raw query shares, whatever its language: the result, its limits and deadline, and the
statement check that cuts the text into tokens and refuses what could write before anything runs.

Resources are bounded the same way in every language, so that a query cannot take the machine with it:

- time: ``timeout`` seconds (default the ``query_timeout`` setting) of wall time from the call to the
  last row, whatever it is spent on: turning rows into values and what the caller does between two rows
  (writing them out) count too — the result raises :class:`QueryTimeout` at the first row past the
  limit (a :class:`Deadline`). :func:`alarm` adds the same limit as a signal for a process that owns its
  main thread (the command line);
- size: a row cap (default ``query_row_cap``) and a byte cap (default ``query_byte_cap``, bytes of
  values) keep a view small — the result says ``truncated`` (and by which cap) once its rows are read,
  it never cuts silently (:func:`capped`).

The statement check is one for all languages (:func:`check`), told by a :class:`Grammar` how the
language writes its strings, quoted names, comments and parameters, which words a statement may start
with and which words write. A word inside a string, a quoted name or a comment is never a clause:

    >>> toy = Grammar("Toy", tokenizer(comment=r"--[^\n]*", string=doubled("'"), quoted=doubled('"'),
    ...                                parameter=r":\w+", word=r"[A-Za-z_]\w*"),
    ...               ("LOOK",), "refused: a toy query starts with LOOK, not {first}", frozenset(["BREAK"]))
    >>> check(toy, "LOOK 'BREAK' \"break\" :break -- break")
    'LOOK \'BREAK\' "break" :break -- break'
    >>> check(toy, "LOOK; BREAK")
    Traceback (most recent call last):
    ...
    accountability.rawquery.base.QueryRefused: refused: only one statement may run, found 2
    >>> check(toy, "look at it, then break it")
    Traceback (most recent call last):
    ...
    accountability.rawquery.base.QueryRefused: refused: raw queries are read-only; BREAK is not allowed
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from accountability import settings
from accountability.errors import AccountabilityError, UsageError
from accountability.output import RowStream

PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
BLOCK_COMMENT = r"/\*.*?(?:\*/|\Z)"  # /* … */, in SQL and in Cypher; unclosed: to the end
MIN_VALUE_CAP = 1_000_000  # below this SQLite cannot even read its schema (SQLITE_LIMIT_LENGTH counts that too)
MEMORY_PER_VALUE = 4  # a query's process may take four of the longest values it may build …
MEMORY_BASE = 64_000_000  # … plus what an ordinary query needs: page cache, sorter, schema, rows in flight

Tokens = list[tuple[str, str]]  # one statement: (kind, text) without spaces and comments


class QueryRefused(UsageError):
    """A raw query that could write, or is not a single read-only statement: refused before it runs."""


class QueryTimeout(AccountabilityError):
    """A raw query ran past its time limit and was stopped."""


class QueryTooLarge(AccountabilityError):
    """A raw query built a value longer than its byte cap allows, or needed more memory than it may use."""


def timeout_error(limit: float | None) -> QueryTimeout:
    return QueryTimeout(f"query stopped after {limit:g} s, its time limit "
                        "(raise it with --timeout or ACCOUNTABILITY_QUERY_TIMEOUT)")


def in_bytes(n: int) -> str:
    """
    >>> in_bytes(50_000_000), in_bytes(264_000_000), in_bytes(1234)
    ('50 MB', '264 MB', '1,234 bytes')
    """
    return f"{n / 1e6:g} MB" if n >= 1_000_000 else f"{n:,} bytes"


# -- the statement check -----------------------------------------------------------------------------------

def doubled(quote: str) -> str:
    """Text between two ``quote`` characters, a doubled one standing for itself (``'it''s'``); unclosed: to
    the end."""
    q = re.escape(quote)
    return f"{q}(?:[^{q}]|{q}{q})*(?:{q}|\\Z)"


def escaped(quote: str) -> str:
    """Text between two ``quote`` characters, a backslash escaping the next one (``'it\\'s'``); unclosed: to
    the end."""
    q = re.escape(quote)
    return f"{q}(?:[^{q}\\\\]|\\\\.)*(?:{q}|\\Z)"


def tokenizer(*, comment: str, string: str, quoted: str, parameter: str, word: str,
              number: str | None = None) -> re.Pattern[str]:
    """The pattern that cuts a language's text into tokens, from its own forms of a line comment, a string,
    a quoted name, a parameter, a word and (where it has them as tokens of their own) a number. Block
    comments, spaces and semicolons are the same everywhere; any other character is a token by itself."""
    kinds = [("space", r"\s+"), ("comment", f"{comment}|{BLOCK_COMMENT}"), ("string", string), ("quoted", quoted),
             ("parameter", parameter), ("number", number), ("word", word), ("semicolon", ";"), ("other", ".")]
    return re.compile("|".join(f"(?P<{kind}>{form})" for kind, form in kinds if form is not None), re.DOTALL)


class Grammar(NamedTuple):
    """What the statement check needs to know of a query language."""

    language: str  # its name in messages: SQL, Cypher
    tokens: re.Pattern[str]  # see tokenizer()
    first_words: tuple[str, ...]  # the words a read-only statement may start with
    wrong_start: str  # the refusal of any other start; {first}: the first token
    forbidden: frozenset[str]  # words that write, refused outside strings, quoted names and comments
    # (word, before, after) -> True for a word that is no clause where it stands (a function, a property)
    exempt: Callable[[str, str, str], bool] = lambda word, before, after: False


def statements(grammar: Grammar, text: str) -> list[Tokens]:
    """The statements of ``text`` as lists of (kind, text) tokens, without spaces and comments."""
    found: list[Tokens] = [[]]
    for match in grammar.tokens.finditer(text):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        if kind == "semicolon":
            found.append([])
        else:
            found[-1].append((kind, match.group()))
    return [s for s in found if s]


def check(grammar: Grammar, text: str,
          clause: Callable[[Tokens, int, str, str, str], None] | None = None) -> str:
    """``text`` when it is one statement, starting with one of the grammar's first words and holding none
    of its forbidden words; otherwise :class:`QueryRefused` (a :class:`UsageError` when there is none).

    ``clause(tokens, i, word, before, after)`` looks further at each other word, in order, and raises
    when it refuses one."""
    found = statements(grammar, text)
    if not found:
        raise UsageError(f"no {grammar.language} statement given")
    if len(found) > 1:
        raise QueryRefused(f"refused: only one statement may run, found {len(found)}")
    tokens = found[0]
    first = tokens[0][1].upper() if tokens[0][0] == "word" else tokens[0][1]
    if first not in grammar.first_words:
        raise QueryRefused(grammar.wrong_start.format(first=first))
    for i, (kind, token) in enumerate(tokens):
        if kind != "word":
            continue
        before = tokens[i - 1][1] if i else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        word = token.upper()
        if grammar.exempt(word, before, after):
            continue
        if word in grammar.forbidden:
            raise QueryRefused(f"refused: raw queries are read-only; {word} is not allowed")
        if clause is not None:
            clause(tokens, i, word, before, after)
    return text


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    params = dict(params or {})
    for name in params:
        if not PARAMETER_NAME.match(str(name)):
            raise UsageError(f"parameter name '{name}' is not a name (letters, digits, _)")
    return params


# -- the result and its limits ----------------------------------------------------------------------------

@dataclass
class RawResult(RowStream):
    """``columns``, the ``rows`` (dicts, streamed once) and, once they are read, ``truncated``: whether a
    cap stopped them, and ``truncated_by`` which one (``"rows"``: ``max_rows``, ``"bytes"``:
    ``max_bytes``). ``row_count`` counts the rows handed out, ``byte_count`` their values' bytes (counted
    only under a byte cap). Past ``deadline``, the next row raises :class:`QueryTimeout`."""

    language: str
    columns: list[str]
    rows: Iterator[dict]
    max_rows: int | None
    truncated: bool = False
    row_count: int = 0
    max_bytes: int | None = None
    byte_count: int = 0
    truncated_by: str | None = None
    deadline: Deadline | None = field(default=None, repr=False)
    _close: Callable[[], None] | None = field(default=None, repr=False)



class Limits(NamedTuple):
    """What one raw query may use; None: no limit."""

    timeout: float | None  # seconds of wall time, from the call to the last row
    max_rows: int | None  # rows in the result
    max_bytes: int | None  # bytes of values in the result
    value_cap: int | None  # the longest value SQLite may build (SQLITE_LIMIT_LENGTH)

    @property
    def memory(self) -> int | None:
        """The memory a raw SQL query's process may take beyond what it starts with."""
        return None if self.value_cap is None else MEMORY_PER_VALUE * self.value_cap + MEMORY_BASE


def limits(timeout: float | None, max_rows: int | None, max_bytes: int | None = None) -> Limits:
    """The limits from the arguments or the settings: ``None`` takes the setting (``query_timeout``,
    ``query_row_cap``, ``query_byte_cap``), ``0`` means none.

    The longest value is the byte cap setting, or ``max_bytes`` when that is larger, and at least 1 MB: a
    small cap on a view does not make the values inside the query small, and ``max_bytes=0`` (an export
    of everything) does not lift it.

    >>> limits(2, 0, 0)
    Limits(timeout=2.0, max_rows=None, max_bytes=None, value_cap=50000000)
    >>> limits(2, 10, 10**9).value_cap, limits(2, 10, 100).value_cap
    (1000000000, 50000000)
    """
    given = (timeout, max_rows, max_bytes)
    timeout = settings.get("query_timeout") if timeout is None else timeout
    max_rows = settings.get("query_row_cap") if max_rows is None else max_rows
    setting = settings.get("query_byte_cap")
    max_bytes = setting if max_bytes is None else max_bytes
    try:
        timeout, max_rows, max_bytes, setting = float(timeout), int(max_rows), int(max_bytes), int(setting)
    except (TypeError, ValueError):
        raise UsageError("a time limit is seconds, a row cap and a byte cap whole numbers, got "
                         + ", ".join(map(repr, given))) from None
    if timeout < 0 or max_rows < 0 or max_bytes < 0 or setting < 0:
        raise UsageError("a time limit, a row cap or a byte cap cannot be negative (0 means none)")
    largest = max(max_bytes, setting) if setting else max_bytes  # a setting of 0: no cap but the one given
    value_cap = max(largest, MIN_VALUE_CAP) if largest else None
    return Limits(timeout or None, max_rows or None, max_bytes or None, value_cap)


def value_size(value: Any) -> int:
    """The bytes a value takes, about as written out: text in UTF-8, a number 8, lists and maps summed.

    >>> value_size({"a": "东湖", "b": [1, None, b"xy"]})
    18
    """
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, dict):
        return sum(value_size(k) + value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(map(value_size, value))
    return 8


def capped(rows: Iterator[dict], result: RawResult) -> Iterator[dict]:
    """``rows`` up to ``result.max_rows`` rows and ``result.max_bytes`` bytes of values, and none past
    ``result.deadline``; sets ``result.truncated`` (and ``truncated_by``) when more were there.

    The deadline is looked at before each row is handed out, so the time the caller took with the rows
    before counts: a slow consumer is stopped like a slow query."""
    deadline = result.deadline
    try:
        for row in rows:
            if deadline is not None:
                deadline.check()
            if result.max_rows is not None and result.row_count >= result.max_rows:
                result.truncated, result.truncated_by = True, "rows"
                return
            if result.max_bytes is not None:
                size = sum(map(value_size, row.values()))
                if result.byte_count + size > result.max_bytes:
                    result.truncated, result.truncated_by = True, "bytes"
                    return
                result.byte_count += size
            result.row_count += 1
            yield row
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # a generator holding a connection or a driver session releases it now


def unique_columns(names: list[str]) -> list[str]:
    """Column names made unique (``a``, ``a_2`` …) so that every value has a key in a row dict.

    >>> unique_columns(["id", "name", "id", "id_2"])
    ['id', 'name', 'id_3', 'id_2']
    """
    everything, taken, out = set(names), set(), []
    for name in names:
        candidate, n = name, 2
        while candidate in taken or (candidate != name and candidate in everything):
            candidate, n = f"{name}_{n}", n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


class Deadline:
    """The moment a raw query must be over: ``limit`` seconds (None: never) after it was created.

    Wall time, not time inside the database: converting rows and writing them out count too."""

    def __init__(self, limit: float | None):
        self.limit = limit
        self.at = None if limit is None else time.monotonic() + limit

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self) -> None:
        if self.passed():
            raise timeout_error(self.limit)


@contextlib.contextmanager
def alarm(limit: float | None) -> Iterator[None]:
    """Raise :class:`QueryTimeout` wherever the block is after ``limit`` seconds (None: no alarm).

    A backstop for what the checks between rows cannot reach — one row so large that building, decoding
    or printing it alone outlasts the limit (a Cypher list of millions of items takes the driver
    minutes). It is SIGALRM, so it works in the main thread only and is for a process that owns its
    signals, the command line; elsewhere, or while another timer is set, it does nothing."""
    usable = (limit is not None and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def ring(signum: int, frame: object) -> None:
        raise timeout_error(limit)

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
