"""Read and validate a dataset (contract v1): a folder of CSV files, one .xlsx workbook, or one JSON object.

``load(path)`` returns a :class:`Dataset` or raises :class:`InvalidDataset` listing *every* problem as
``table:row: column: reason``. Rows are numbered as a spreadsheet shows them (the header is row 1) for
CSV and xlsx, and from 1 for the items of a JSON array.

Whatever the form, and whoever reads it (the command line, the app's upload), one reader applies one set of
:data:`LIMITS` before or while it reads, so that a hostile file — a workbook that inflates a
hundredfold, a sheet of millions of broken rows — is refused in seconds, naming the file and the limit.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import itertools
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from accountability import settings
from accountability.dates import local_date, parse_datetime
from accountability.errors import ExportError, InvalidDataset, one_line, singular
from accountability.memory import gc_paused
from accountability.progress import Progress
from graph_schema import SCHEMA, Schema
from graph_schema.loader import Column, Table

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BAD_ID = re.compile(r"[\x00-\x1f\x7f;]")
MAX_ID = 200
MAX_TEXT = 100_000
# Whole numbers a store can hold: SQLite and Neo4j integers are signed 64-bit (and orjson, which hashes the
# dataset, stops there too).
MAX_INT = 2 ** 63 - 1
# Dates outside these years are typing mistakes (9999 for "never", 0001 for "unknown"), and date arithmetic on
# them (a day after, a year before) leaves what Python's dates can hold.
FIRST_DAY, LAST_DAY = "1900-01-01", "2200-12-31"
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}
EXTRA = "extra"  # name of the trailing field holding columns the contract does not define

RawRow = tuple[int, dict[str, Any]]


@dataclass
class Dataset:
    """A valid dataset: per table, rows as tuples in the schema's column order plus a trailing ``extra``
    dict (or None) of the columns the contract does not define."""

    tables: dict[str, list[tuple]]
    source: str = ""
    schema: Schema = field(default=SCHEMA, repr=False)
    # What is valid but probably not meant, as ``table:row: column: reason`` (shown, never refused: a v1
    # dataset that imported before still imports)
    warnings: list[str] = field(default_factory=list, repr=False, compare=False)
    # The content hash and the manifests (``audit.dataset_manifests``) the source store's audit log vouches
    # for, when the dataset is read from a store that can vouch for them (:func:`streamed`)
    vouched: tuple[str, dict[str, bytes]] | None = field(default=None, repr=False, compare=False)

    def columns(self, table: str) -> tuple[str, ...]:
        return self.schema.tables[table].names + (EXTRA,)

    def rows(self, table: str) -> Iterator[dict]:
        names = self.columns(table)
        for row in self.tables.get(table, ()):
            yield dict(zip(names, row))

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.tables.items()}

    def content_hash(self) -> str:
        """A digest of the normalized content, in row order: the same for the CSV, xlsx and JSON forms
        of one dataset (a reordered dataset hashes differently but imports as "no rows changed")."""
        if self.vouched is not None:
            return self.vouched[0]
        digest = hashlib.sha256()
        for name in sorted(self.tables):
            digest.update(name.encode())
            rows = iter(self.tables[name])
            while chunk := list(itertools.islice(rows, 50_000)):
                digest.update(orjson.dumps(chunk, option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()


# -- limits: what one dataset may hold --------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """How much one dataset may hold. Without them a 2.7 MB workbook of two million rows took 68 s and
    1.5 GB to end in two million errors (#19); one of 170 kB and 100,000 rows, 21 s of CPU and 210 MB.

    Sizes are checked before a byte is parsed (file sizes; a workbook's directory, whose declared sizes
    zipfile enforces as it inflates), counts while rows are read. The defaults hold a province with room to
    spare: the province demo is 401 MB of CSV, 2,000,000 hazards in its largest table, 39 million cells.
    A store for several provinces raises them (settings ``dataset_max_bytes``, ``_rows``, ``_cells``: read
    once, when this module is imported).
    """

    bytes: int = 1 << 30  # the dataset's text: its CSV files together, its JSON file, its workbook inflated
    ratio: int = 100  # how much one member of a workbook (or of an uploaded archive) may inflate; our exports: 5–14×
    rows: int = 5_000_000  # rows of one table; of all a workbook's sheets together
    cells: int = 100_000_000  # cells of the whole dataset, as read


def _limits_from_settings() -> tuple[Limits, str | None]:
    """The limits the settings declare; a value that makes no sense is kept as its message, raised when a
    dataset is read (``read_raw``, uploads): every other command, ``--help`` too, still runs."""
    try:
        return Limits(bytes=settings.get("dataset_max_bytes"), rows=settings.get("dataset_max_rows"),
                      cells=settings.get("dataset_max_cells")), None
    except settings.SettingError as exc:
        return Limits(), str(exc)


LIMITS, LIMITS_ERROR = _limits_from_settings()


def check_limits() -> None:
    """Refuse to read a dataset under limits other than those the settings meant (see above)."""
    if LIMITS_ERROR is not None:
        raise settings.SettingError(LIMITS_ERROR)
# The most rows a sheet holds in Excel and LibreOffice: a sheet with more was not made by a spreadsheet
SHEET_ROWS = 1_048_576
# A member smaller than this may inflate as it likes: it cannot hold a bomb (a workbook's theme inflates 7×)
SMALL_MEMBER = 1 << 20


def too_large(where: str, size: int, limits: Limits = LIMITS) -> None:
    """Refuse a file (or a folder's files together) of more than ``limits.bytes`` bytes."""
    if size > limits.bytes:
        raise InvalidDataset([f"{where}: {size:,} bytes (the limit is {limits.bytes:,})"])


def inflation_errors(archive: zipfile.ZipFile, where: str, limits: Limits = LIMITS,
                     label: Callable[[str], str] = str) -> list[str]:
    """What is wrong with a zip archive's sizes, from its directory alone: members over 1 MB that inflate
    more than ``limits.ratio`` times (a zip bomb), more than ``limits.bytes`` bytes in all. ``label`` names
    a member in messages. The declared sizes cannot understate: zipfile stops a member at its declared size
    (and its checksum then fails)."""
    errors = []
    total = 0
    for member in archive.infolist():
        total += member.file_size
        packed = max(member.compress_size, 1)
        if member.file_size > SMALL_MEMBER and member.file_size > limits.ratio * packed:
            errors.append(f"{where}: {label(member.filename)} inflates {member.file_size // packed:,}× "
                          f"(the limit is {limits.ratio}×; a zip bomb?)")
    if total > limits.bytes:
        errors.append(f"{where}: {total:,} bytes uncompressed (the limit is {limits.bytes:,})")
    return errors


def check_workbook(archive: zipfile.ZipFile, name: str, limits: Limits = LIMITS) -> None:
    """Refuse a workbook by its directory alone, before openpyxl inflates anything (it reads the shared
    strings whole as it opens a workbook). ``name`` names the workbook in messages; a worksheet is named by
    its sheet's title where the workbook says so."""
    sheets = _sheet_titles(archive)
    errors = inflation_errors(archive, name, limits,
                              lambda member: f"sheet '{sheets[member]}' ({member})" if member in sheets else member)
    if errors:
        raise InvalidDataset(errors)


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """``{member: sheet title}`` from the workbook's own small parts, for messages; empty when they are odd."""
    from xml.etree import ElementTree

    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        parts = {"xl/workbook.xml": None, "xl/_rels/workbook.xml.rels": None}
        for part in parts:
            if archive.getinfo(part).file_size > SMALL_MEMBER:
                return {}
            parts[part] = ElementTree.fromstring(archive.read(part))
        targets = {r.get("Id"): r.get("Target", "") for r in parts["xl/_rels/workbook.xml.rels"]}
        titles = {}
        for sheet in parts["xl/workbook.xml"].findall("{*}sheets/{*}sheet"):
            target = targets.get(sheet.get(rel), "")
            titles[target.lstrip("/") if target.startswith("/") else "xl/" + target] = sheet.get("name", "")
        return titles
    except Exception:  # noqa: BLE001 - names for messages only: a damaged workbook is refused when it is read
        return {}


class _Cells:
    """The cells a dataset may still hold, spent by its tables as they are read, one after another."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.left = limits.cells

    def rows(self, width: int) -> int:
        """How many more rows of ``width`` cells fit."""
        return self.left // max(width, 1)

    def spend(self, where: str, cells: int) -> None:
        self.left -= cells
        if self.left < 0:
            raise InvalidDataset([f"{where}: more than {self.limits.cells:,} cells in the dataset "
                                  f"(the limit)"])


def _too_many_rows(where: str, limit: int, per: str) -> InvalidDataset:
    return InvalidDataset([f"{where}: more than {limit:,} rows (the limit per {per})"])


# -- reading the three forms -------------------------------------------------------------------------
#
# Each reader returns {table: (header, rows)} where rows yields (row number, [values in header order]) or
# (row number, "an error message"). CSV rows are read lazily, one table at a time, so that a province's
# millions of rows are never all held twice.


def read_raw(path: str | Path, limits: Limits = LIMITS) -> dict[str, tuple[list[str], Iterable[RawRow]]]:
    """Return ``{table: (header, rows)}`` from any of the three forms, with the rows not yet checked;
    refuse a dataset beyond ``limits``."""
    if limits is LIMITS:  # the settings' limits: only if they make sense
        check_limits()
    path = Path(path)
    if path.is_dir():
        return _read_csv_folder(path, limits)
    if not path.exists():
        raise InvalidDataset([f"{path}: no such file or folder"])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path, limits)
    if suffix == ".json":
        return _read_json(path, limits)
    if suffix == ".csv":
        raise InvalidDataset([f"{path}: a CSV dataset is a folder of tables, not one file"])
    raise InvalidDataset([f"{path}: unknown dataset form (expected a folder of CSV files, .xlsx or .json)"])


def _read_csv_folder(folder: Path, limits: Limits = LIMITS) -> dict:
    files = sorted(folder.glob("*.csv"))
    too_large(f"{folder}: its CSV files", sum(f.stat().st_size for f in files), limits)
    cells = _Cells(limits)
    tables = {}
    for file in files:
        header = _csv_rows(file, header_only=True)
        tables[file.stem] = (header, _csv_rows(file, cells=cells))
    if not tables:
        raise InvalidDataset([f"{folder}: no .csv files"])
    return tables


def _csv_rows(file: Path, header_only: bool = False, cells: _Cells | None = None) -> Any:
    table = file.stem
    cells = cells or _Cells(LIMITS)

    def rows() -> Iterator[RawRow]:
        # rows are numbered by record, as a spreadsheet shows them (header = 1), not by line: a quoted cell
        # may hold line breaks
        number = 1
        try:
            with file.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                width = len(next(reader, []))
                # one comparison a row; a row counts as wide as the header (a row of another width is an error)
                last = 1 + min(cells.limits.rows, cells.rows(width))
                for number, values in enumerate(reader, start=2):  # noqa: B007 - read in the except
                    if number > last:
                        if last - 1 == cells.limits.rows:
                            raise _too_many_rows(file.name, cells.limits.rows, "table")
                        cells.spend(file.name, (number - 1) * max(width, 1))
                    if len(values) != width:
                        if not any(v.strip() for v in values):
                            continue
                        yield number, f"{table}:{number}: row has {len(values)} fields, the header has {width}"
                        continue
                    yield number, values
                cells.spend(file.name, (number - 1) * max(width, 1))
        except UnicodeDecodeError as exc:
            raise InvalidDataset([f"{table}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
        except csv.Error as exc:
            raise InvalidDataset([f"{table}:{number + 1}: unreadable CSV: {exc}"]) from None

    if header_only:
        try:
            with file.open(encoding="utf-8-sig", newline="") as fh:
                return [h.strip() for h in next(csv.reader(fh), [])]
        except UnicodeDecodeError as exc:
            raise InvalidDataset([f"{table}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
        except csv.Error as exc:
            raise InvalidDataset([f"{table}:1: unreadable CSV: {exc}"]) from None
    return rows()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # a date cell, or a date-and-time cell of a datetime column
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read_xlsx(path: Path, limits: Limits = LIMITS) -> dict:
    book = None
    try:
        with zipfile.ZipFile(path) as archive:
            check_workbook(archive, path.name, limits)
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        return _xlsx_tables(book, path.name, limits)  # sheets are parsed while read: damage may show only here
    except InvalidDataset:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in openpyxl, zipfile or XML in many ways
        raise InvalidDataset([f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"]) from None
    finally:
        if book is not None:
            with contextlib.suppress(Exception):
                book.close()


def _xlsx_tables(book: Any, name: str = "workbook", limits: Limits = LIMITS) -> dict:
    """Every sheet's header and rows. Rows and cells are counted over the whole workbook as openpyxl makes
    them (gaps in row numbers come as empty rows; several sheets may name one part): that, not the parts'
    sizes, bounds the work."""
    tables = {}
    rows_left = limits.rows
    cells = _Cells(limits)
    for sheet in book.worksheets:
        where = f"{name}: sheet '{sheet.title}'"
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, ())
        cells.spend(where, len(first))
        header = [str(_cell(h)).strip() if h is not None else "" for h in first]
        while header and header[-1] == "":
            header.pop()
        body = []
        for number, values in enumerate(rows, start=2):
            rows_left -= 1
            if number > SHEET_ROWS:
                raise _too_many_rows(where, SHEET_ROWS, "sheet, as in Excel")
            if rows_left < 0:
                raise _too_many_rows(name, limits.rows, "workbook, all sheets together")
            cells.spend(where, len(values) or 1)
            values = [_cell(v) for v in values[: len(header)]]
            if all(v is None or v == "" for v in values):
                continue
            body.append((number, values + [None] * (len(header) - len(values))))
        tables[sheet.title] = (header, body)
    return tables


def _read_json(path: Path, limits: Limits = LIMITS) -> dict:
    too_large(path.name, path.stat().st_size, limits)
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidDataset([f"{path.name}: not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise InvalidDataset([f"{path.name}: expected one object {{table: [rows]}}"])
    cells = _Cells(limits)
    for name, rows in data.items():  # counted before anything is built from them
        if isinstance(rows, list):
            if len(rows) > limits.rows:
                raise _too_many_rows(f"{path.name}: {name}", limits.rows, "table")
            cells.spend(f"{path.name}: {name}", sum(len(r) if isinstance(r, dict) else 1 for r in rows))
    tables = {}
    for name, rows in data.items():
        if not isinstance(rows, list):
            raise InvalidDataset([f"{name}: expected a list of rows"])
        header: dict[str, None] = {}
        for row in rows:
            if isinstance(row, dict):
                header.update(dict.fromkeys(row))
        columns = list(header)
        body = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                body.append((number, f"{name}:{number}: expected an object"))
                continue
            body.append((number, [row.get(c) for c in columns]))
        tables[name] = (columns, body)
    return tables


# -- checking ------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_text(v) for v in value)
    return str(value).strip()


def _checker(column: Column, vocab: dict[str, dict], dates: dict[str, str]) -> Callable[[Any], Any]:
    """A function that normalizes one cell of ``column`` or raises ValueError with the reason.

    Valid dates and vocabulary codes are shared strings (``dates``, the vocabulary's own keys), which
    keeps a province's millions of rows small in memory.
    """
    base = column.base

    if base == "id" or base.startswith("ref:"):
        known: dict[str, str] = {} if base.startswith("ref:") else None  # references repeat: check once

        def one(raw: str) -> Any:
            if known is not None:
                found = known.get(raw)
                if found is not None:
                    return found
            if len(raw) > MAX_ID:
                raise ValueError(f"identifier longer than {MAX_ID} characters")
            if BAD_ID.search(raw):
                raise ValueError("identifier contains a control character or ';'")
            if known is not None:
                known[raw] = raw
            return raw
    elif base == "date":
        def one(raw: str) -> Any:
            found = dates.get(raw)
            if found is not None:
                return found
            if not DATE.match(raw):
                raise ValueError(f"'{raw[:40]}' is not a date (YYYY-MM-DD)")
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                raise ValueError(f"'{raw}' is not a valid date") from None
            if not FIRST_DAY <= raw <= LAST_DAY:
                raise ValueError(f"'{raw}' is outside the years {FIRST_DAY[:4]}–{LAST_DAY[:4]}")
            dates[raw] = raw
            return raw
    elif base == "datetime":
        def one(raw: str) -> Any:
            return parse_datetime(raw)
    elif base == "bool":
        def one(raw: str) -> Any:
            low = raw.lower()
            if low in TRUE:
                return True
            if low in FALSE:
                return False
            raise ValueError(f"'{raw[:40]}' is not true or false")
    elif base == "int":
        def one(raw: str) -> Any:
            try:
                # "12.0" is how spreadsheets write 12; its integer part is read exactly, never through a float
                number = int(raw.partition(".")[0]) if re.fullmatch(r"\d+(\.0+)?", raw) else int(raw)
            except ValueError:
                raise ValueError(f"'{raw[:40]}' is not a whole number") from None
            if number < 0:
                raise ValueError("must not be negative")
            if number > MAX_INT:
                raise ValueError(f"'{raw[:40]}' is too large (at most {MAX_INT})")
            return number
    elif base.startswith("vocab:"):
        terms = {code: code for code in vocab[base[6:]]}
        what = singular(base[6:])

        def one(raw: str) -> Any:
            found = terms.get(raw)
            if found is None:
                raise ValueError(f"unknown {what} '{raw[:40]}'")
            return found
    else:
        def one(raw: str) -> Any:
            if len(raw) > MAX_TEXT:
                raise ValueError(f"text longer than {MAX_TEXT} characters")
            return raw

    if column.is_list:
        def many(value: Any) -> Any:
            items = value if isinstance(value, list) else _text(value).split(";")
            items = [_text(v) for v in items]
            return tuple(one(v) for v in items if v)
        return many

    if base == "text":
        def text(value: Any) -> Any:
            if value is None or value == "":
                return None
            return one(value if value.__class__ is str else str(value))
        return text

    def single(value: Any) -> Any:
        raw = value.strip() if value.__class__ is str else _text(value)
        return one(raw) if raw else None

    return single


def validate(raw: dict[str, tuple[list[str], Iterable[RawRow]]], schema: Schema = SCHEMA, source: str = "",
             progress: Progress | None = None) -> Dataset:
    """Check raw tables against the contract; return a Dataset or raise InvalidDataset with every error.
    ``progress`` (``accountability.progress``) hears of each table read, then of the references checked."""
    errors: list[str] = []
    vocab = {name: dict(terms) for name, terms in schema.vocabularies.items()}
    for name in raw:
        if name not in schema.tables:
            errors.append(f"{name}: unknown table (expected one of {', '.join(schema.tables)})")
    # a required table missing (or refused at its header) is one error: the rows that refer to it are not
    # reported again as unknown
    missing = {name for name, table in schema.tables.items() if name not in raw and not table.optional}
    for name in schema.tables:
        if name in missing:
            errors.append(f"{name}: missing table")

    tables: dict[str, list[tuple]] = {}
    numbers: dict[str, list[int]] = {}
    rejected: dict[str, set] = {}
    dates: dict[str, str] = {}
    # industries first: they extend the vocabulary the other tables are checked against
    order = sorted(schema.tables, key=lambda n: n != "industries")
    for done, name in enumerate(order):
        if progress:
            progress(done, len(order), "read")
        if name not in raw:
            tables[name], numbers[name] = [], []
            continue
        header, rows = raw[name]
        before = len(errors)
        tables[name], numbers[name] = _check_table(schema.tables[name], header, rows, vocab, dates, errors,
                                                   rejected.setdefault(name, set()))
        if any(e.endswith(": missing required column") for e in errors[before:]):
            missing.add(name)  # refused whole at its header
        if name == "industries":
            for row, number in zip(tables[name], numbers[name]):
                if row[0] in vocab["industries"]:
                    errors.append(f"industries:{number}: code: '{row[0]}' is already defined")
                vocab["industries"][row[0]] = row
    if progress:
        progress(len(order), len(order), "read")
        progress(0, 1, "links")
    _check_links(tables, numbers, schema, errors, rejected, missing)
    if progress:
        progress(1, 1, "links")
    if errors:
        raise InvalidDataset(errors)
    warnings = _cross_jurisdiction_links(tables, numbers, schema)
    return Dataset({name: tables[name] for name in schema.tables}, source, schema, [one_line(w) for w in warnings])


def _check_table(table: Table, header: list[str], rows: Iterable[RawRow], vocab, dates, errors,
                 rejected: set | None = None) -> tuple[list, list]:
    """The rows of one table that pass their columns' checks, with their numbers. The ids of rows refused
    go into ``rejected``: references to them are not reported again (one bad row, one error)."""
    name = table.name
    position: dict[str, int] = {}
    for i, col in enumerate(header):
        if col in position:
            errors.append(f"{name}:1: {col}: duplicate column")
        else:
            position[col] = i
    if not header:  # an empty table (a JSON list without rows, an empty sheet)
        return [], []
    missing = [c.name for c in table.columns if c.required and c.name not in position]
    for col in missing:
        errors.append(f"{name}:1: {col}: missing required column")
    if missing:
        return [], []
    known = set(table.names)
    extras = [(c, i) for c, i in position.items() if c and c not in known]
    checkers = [(c.name, c.required, position.get(c.name), _checker(c, vocab, dates)) for c in table.columns]
    out, numbers = [], []
    for number, values in rows:
        if values.__class__ is str:
            errors.append(values)
            continue
        row = []
        ok = True
        for col, required, pos, check in checkers:
            try:
                value = check(values[pos] if pos is not None else None)
            except ValueError as exc:
                errors.append(f"{name}:{number}: {col}: {exc}")
                ok = False
                row.append(None)  # keeps the row's values in column order (see ``rejected`` below)
                continue
            if required and (value is None or value == ()):
                errors.append(f"{name}:{number}: {col}: required")
                ok = False
            row.append(value)
        if not ok:
            if rejected is not None and table.key == ("id",) and table.names[0] == "id" and row[0] is not None:
                rejected.add(row[0])  # the id column comes first and passed its check
            continue
        extra = None
        if extras:
            extra = {c: _cell(values[i]) for c, i in extras if values[i] not in (None, "")} or None
        row.append(extra)
        out.append(tuple(row))
        numbers.append(number)
    return out, numbers


def _check_links(tables: dict[str, list[tuple]], numbers: dict[str, list[int]], schema: Schema, errors: list[str],
                 rejected: dict[str, set] | None = None, missing: set[str] = frozenset()) -> None:
    """Checks across rows and tables: keys, references, dates, tenures, trees. A reference to a row that
    was refused for its own values (``rejected``), or into a required table that is ``missing``, is not
    an error of its own."""
    rejected = rejected or {}
    ids: dict[str, set] = {}
    for name, table in schema.tables.items():
        key_idx = [table.names.index(k) for k in table.key]
        seen: dict[Any, int] = {}
        single = len(key_idx) == 1
        k0 = key_idx[0]
        for row, number in zip(tables[name], numbers[name]):
            key = row[k0] if single else tuple(row[i] for i in key_idx)
            first = seen.setdefault(key, number)
            if first != number:
                parts = (key,) if single else key
                label = "/".join(str(k) for k in parts if k is not None)
                errors.append(f"{name}:{number}: {'/'.join(table.key)}: duplicate '{label}' (first at row {first})")
        if table.key == ("id",):
            ids[name] = set(seen)
    for name, table in schema.tables.items():
        for i, col in enumerate(table.columns):
            if not col.base.startswith("ref:") or col.base[4:] in missing:
                continue
            target = ids.get(col.base[4:], set())
            if rejected.get(col.base[4:]):
                target = target | rejected[col.base[4:]]
            what = singular(col.base[4:])
            for row, number in zip(tables[name], numbers[name]):
                value = row[i]
                if col.is_list:
                    for item in value or ():
                        if item not in target:
                            errors.append(f"{name}:{number}: {col.name}: unknown {what} '{item}'")
                elif value is not None and value not in target:
                    errors.append(f"{name}:{number}: {col.name}: unknown {what} '{value}'")

    def col(name: str, column: str) -> int:
        return schema.tables[name].names.index(column)

    def ordered(name: str, row: tuple, number: int, first: str, later: str) -> None:
        a, b = row[col(name, first)], row[col(name, later)]
        if a and b and b < a:
            errors.append(f"{name}:{number}: {later}: {b} is before {first} {a}")

    # jurisdictions: levels and the tree
    ranks = {code: term.extra["rank"] for code, term in schema.vocab("jurisdiction_levels").items()}
    j_id, j_level, j_parent = col("jurisdictions", "id"), col("jurisdictions", "level"), col("jurisdictions", "parent_id")
    jur = {r[j_id]: (r, n) for r, n in zip(tables["jurisdictions"], numbers["jurisdictions"])}
    for r, n in jur.values():
        parent = jur.get(r[j_parent])
        if parent and ranks[parent[0][j_level]] >= ranks[r[j_level]]:
            errors.append(
                f"jurisdictions:{n}: level: a {r[j_level]} cannot lie under the {parent[0][j_level]} '{r[j_parent]}'"
            )
    _check_tree("jurisdictions", {j: (r[j_parent], n) for j, (r, n) in jur.items()}, errors)

    o_id, o_parent = col("organizations", "id"), col("organizations", "parent_id")
    o_kind, o_sup = col("organizations", "kind"), col("organizations", "supervision")
    orgs = {r[o_id]: (r[o_parent], n) for r, n in zip(tables["organizations"], numbers["organizations"])}
    _check_tree("organizations", orgs, errors)
    for r, n in zip(tables["organizations"], numbers["organizations"]):
        if r[o_sup] and r[o_kind] != "department":
            errors.append(f"organizations:{n}: supervision: only departments have a supervision kind")

    # tenures: dates, and no two non-acting holders of one post at once
    t_post, t_start, t_end, t_acting = (col("tenures", c) for c in ("post_id", "start", "end", "acting"))
    by_post = defaultdict(list)
    for r, n in zip(tables["tenures"], numbers["tenures"]):
        ordered("tenures", r, n, "start", "end")
        if not r[t_acting]:
            by_post[r[t_post]].append((r[t_start], r[t_end] or "9999-12-31", n))
    for post, spans in by_post.items():
        if len(spans) < 2:
            continue
        spans.sort()
        for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:]):
            if s2 <= e1:
                errors.append(
                    f"tenures:{n2}: start: overlaps the non-acting tenure at row {n1} of post '{post}' "
                    f"({s1}..{'' if e1 == '9999-12-31' else e1})"
                )

    p_ind, p_org = col("portfolios", "industry"), col("portfolios", "organization_id")
    for r, n in zip(tables["portfolios"], numbers["portfolios"]):
        ordered("portfolios", r, n, "start", "end")
        if (r[p_ind] is None) == (r[p_org] is None):
            errors.append(f"portfolios:{n}: industry: give exactly one of industry and organization_id")

    h_found, h_deadline, h_status, h_closed = (col("hazards", c) for c in ("found_on", "deadline", "status", "closed_on"))
    for r, n in zip(tables["hazards"], numbers["hazards"]):
        found, deadline, closed = r[h_found], r[h_deadline], r[h_closed]
        if deadline and deadline < found:
            errors.append(f"hazards:{n}: deadline: {deadline} is before found_on {found}")
        if closed and closed < found:
            errors.append(f"hazards:{n}: closed_on: {closed} is before found_on {found}")
        if r[h_status] == "closed":
            if not closed:
                errors.append(f"hazards:{n}: closed_on: a closed hazard needs closed_on")
        elif closed:
            errors.append(f"hazards:{n}: closed_on: set, but status is '{r[h_status]}'")

    e_kind, e_deadline = col("events", "kind"), col("events", "deadline")
    for r, n in zip(tables["events"], numbers["events"]):
        if r[e_kind] == "deadline_extended" and not r[e_deadline]:
            errors.append(f"events:{n}: deadline: a deadline_extended event needs the new deadline")
    _check_conduct(tables, numbers, col, ordered, ids, errors)
    _check_campaigns(tables, numbers, col, ordered, ids, errors)
    _check_duty(tables, numbers, col, errors)


def _check_conduct(tables, numbers, col, ordered, ids, errors) -> None:
    """Checks of contract v2's conduct records (DESIGN.md, "Dataset contract v2")."""
    o_id, o_kind, o_ctrl = (col("organizations", c) for c in ("id", "kind", "controlled_by"))
    kinds = {r[o_id]: r[o_kind] for r in tables["organizations"]}
    for r, n in zip(tables["organizations"], numbers["organizations"]):
        controller = r[o_ctrl]
        if controller is None:
            continue
        if controller == r[o_id]:
            errors.append(f"organizations:{n}: controlled_by: an enterprise cannot control itself")
        elif r[o_kind] != "enterprise" or kinds.get(controller, "enterprise") != "enterprise":
            errors.append(f"organizations:{n}: controlled_by: control links two enterprises "
                          f"('{r[o_id]}' is a {r[o_kind]}, '{controller}' a {kinds.get(controller)})")

    h_since, h_found = col("hazards", "existed_since"), col("hazards", "found_on")
    for r, n in zip(tables["hazards"], numbers["hazards"]):
        if r[h_since] and r[h_since] > r[h_found]:
            errors.append(f"hazards:{n}: existed_since: {r[h_since]} is after found_on {r[h_found]}")

    i_date, i_at = col("incidents", "occurred_on"), col("incidents", "occurred_at")
    for r, n in zip(tables["incidents"], numbers["incidents"]):
        if r[i_at] and local_date(r[i_at]) != r[i_date]:
            errors.append(f"incidents:{n}: occurred_at: {r[i_at]} is not on occurred_on {r[i_date]} "
                          "(Asia/Shanghai time)")

    e_kind, e_outcome = col("events", "kind"), col("events", "outcome")
    for r, n in zip(tables["events"], numbers["events"]):
        if r[e_kind] == "reinspected" and not r[e_outcome]:
            errors.append(f"events:{n}: outcome: a reinspected event needs its outcome (held or relapsed)")
        elif r[e_outcome] and r[e_kind] != "reinspected":
            errors.append(f"events:{n}: outcome: only a reinspected event has an outcome")

    targets = ids.get("hazards", set()) | ids.get("organizations", set()) | ids.get("jurisdictions", set())
    d_target = col("designations", "target_id")
    for r, n in zip(tables["designations"], numbers["designations"]):
        ordered("designations", r, n, "start", "end")
        if r[d_target] not in targets:
            errors.append(f"designations:{n}: target_id: unknown hazard, organization or jurisdiction "
                          f"'{r[d_target]}'")


def _check_duty(tables, numbers, col, errors) -> None:
    """Checks of 24-hour duty and incident reports (DESIGN.md, "Duty and reporting"): a shift names a post or
    a person and ends after it starts; one post or person holds one role at a time — so a leader cannot be
    on duty in two jurisdictions at once; a report is made after the incident."""
    from accountability.dates import moment

    names = ("jurisdiction_id", "post_id", "person_id", "role", "start", "end")
    s_jur, s_post, s_person, s_role, s_start, s_end = (col("duty_shifts", c) for c in names)
    by_holder = defaultdict(list)
    valid = []  # (row, number, start, end) of the shifts that name one post or person and end after they start
    for r, n in zip(tables["duty_shifts"], numbers["duty_shifts"]):
        if (r[s_post] is None) == (r[s_person] is None):
            errors.append(f"duty_shifts:{n}: post_id: give exactly one of post_id and person_id")
            continue
        start, end = moment(r[s_start]), moment(r[s_end])
        if end <= start:
            errors.append(f"duty_shifts:{n}: end: {r[s_end]} is not after start {r[s_start]}")
            continue
        holder = ("post", r[s_post]) if r[s_post] else ("person", r[s_person])
        by_holder[(holder, r[s_role])].append((start, end, n, r[s_jur]))
        valid.append((r, n, start, end))
    for ((kind, who), role), shifts in by_holder.items():
        for latest, shift in _overlapping(shifts):
            errors.append(f"duty_shifts:{shift[2]}: start: {kind} '{who}' as {role}: {_where(latest, shift)} "
                          f"(row {latest[2]} ends {latest[1].isoformat()})")
    _check_duty_holders(tables, col, valid, errors)

    i_id, i_on, i_at = col("incidents", "id"), col("incidents", "occurred_on"), col("incidents", "occurred_at")
    happened = {r[i_id]: (r[i_at] or f"{r[i_on]}T00:00:00+08:00") for r in tables["incidents"]}
    names = ("incident_id", "from_organization_id", "to_organization_id", "at")
    r_inc, r_from, r_to, r_at = (col("incident_reports", c) for c in names)
    for r, n in zip(tables["incident_reports"], numbers["incident_reports"]):
        if r[r_from] == r[r_to]:
            errors.append(f"incident_reports:{n}: to_organization_id: a unit does not report to itself")
        when = happened.get(r[r_inc])
        if when and moment(r[r_at]) < moment(when):
            errors.append(f"incident_reports:{n}: at: {r[r_at]} is before the incident happened ({when})")


def _check_duty_holders(tables, col, valid: list[tuple], errors) -> None:
    """One person holds one role at a time, however the shifts name them: a shift naming a post puts on duty
    whoever held it on the shift's first (local) day, as ``duty.holder`` reads it — so a shift naming that
    person, or another post they held, overlapping it in the same role is refused. Shifts naming the same
    post or the same person are checked before (``_check_duty``), which gives the ``valid`` shifts."""
    from accountability.dates import local_date

    t_person, t_post, t_start, t_end, t_acting = (col("tenures", c) for c in ("person_id", "post_id", "start", "end",
                                                                               "acting"))
    s_jur, s_post, s_person, s_role, s_start = (col("duty_shifts", c) for c in ("jurisdiction_id", "post_id",
                                                                               "person_id", "role", "start"))
    named_posts = {r[s_post] for r, *_ in valid if r[s_post]}
    tenures = defaultdict(list)  # of the posts shifts name only: a province holds a million tenures
    for r in tables["tenures"]:
        if r[t_post] in named_posts:
            tenures[r[t_post]].append((bool(r[t_acting]), r[t_start], r[t_end] or "9999-12-31", r[t_person]))
    by_person = defaultdict(list)
    for r, n, start, end in valid:
        if r[s_person]:
            person, named = r[s_person], f"person '{r[s_person]}'"
        else:
            on = local_date(r[s_start])
            held = [(acting, a, p) for acting, a, b, p in tenures.get(r[s_post], ()) if a <= on <= b]
            if not held:
                continue  # nobody held the post that day: nobody is on duty twice
            person = min(held)[2]  # a substantive holder before an acting one, the earliest first
            named = f"post '{r[s_post]}', held by '{person}' that day"
        by_person[(person, r[s_role])].append((start, end, n, r[s_jur], (r[s_post], r[s_person]), named))
    for (_, role), shifts in by_person.items():
        for latest, shift in _overlapping(shifts):
            if shift[4] != latest[4]:  # the same post or person: reported by _check_duty
                errors.append(f"duty_shifts:{shift[2]}: start: {shift[5]} as {role}: {_where(latest, shift)} — "
                              f"row {latest[2]} names {latest[5]} (ends {latest[1].isoformat()})")


def _overlapping(shifts: list[tuple]) -> Iterator[tuple[tuple, tuple]]:
    """Each shift ``(start, end, row, jurisdiction, …)`` that starts before an earlier one ends, with the
    earlier one reaching furthest (a long shift may overlap several after it)."""
    shifts.sort(key=lambda s: s[:3])
    latest = shifts[0] if shifts else None
    for shift in shifts[1:]:
        if shift[0] < latest[1]:
            yield latest, shift
        if shift[1] > latest[1]:
            latest = shift


def _where(latest: tuple, shift: tuple) -> str:
    return (f"on duty in two jurisdictions at once ('{latest[3]}' and '{shift[3]}')" if shift[3] != latest[3]
            else f"overlaps the shift at row {latest[2]}")


def _check_campaigns(tables, numbers, col, ordered, ids, errors) -> None:
    """Checks of campaigns, measures and look-backs (issue #16; DESIGN.md "Campaigns and look-back",
    "Measures"). A campaign's unknown jurisdiction and an unknown outcome are caught with every reference and
    vocabulary; here: dates, measure ids (the dataset's and the built-in ones), reports of measures never
    assigned to their organization, and re-inspections of hazards that were never closed."""
    from graph_schema.measures import BUILTIN_IDS

    for r, n in zip(tables["campaigns"], numbers["campaigns"]):
        ordered("campaigns", r, n, "start", "end")

    m_id, m_parent = col("measures", "id"), col("measures", "parent_id")
    known = BUILTIN_IDS | {r[m_id] for r in tables["measures"]}
    for r, n in zip(tables["measures"], numbers["measures"]):
        if r[m_id] in BUILTIN_IDS:
            errors.append(f"measures:{n}: id: '{r[m_id]}' is a built-in State Council measure")
        if r[m_parent] is not None and r[m_parent] not in known:
            errors.append(f"measures:{n}: parent_id: unknown measure '{r[m_parent]}'")
        elif r[m_parent] == r[m_id]:
            errors.append(f"measures:{n}: parent_id: a measure cannot be its own parent")
    a_measure, a_org = col("measure_assignments", "measure_id"), col("measure_assignments", "organization_id")
    for r, n in zip(tables["measure_assignments"], numbers["measure_assignments"]):
        if r[a_measure] not in known:
            errors.append(f"measure_assignments:{n}: measure_id: unknown measure '{r[a_measure]}'")
    assigned = {(r[a_measure], r[a_org]) for r in tables["measure_assignments"]}
    p_measure, p_org = col("measure_reports", "measure_id"), col("measure_reports", "organization_id")
    for r, n in zip(tables["measure_reports"], numbers["measure_reports"]):
        if r[p_measure] not in known:
            errors.append(f"measure_reports:{n}: measure_id: unknown measure '{r[p_measure]}'")
        elif (r[p_measure], r[p_org]) not in assigned:
            errors.append(f"measure_reports:{n}: organization_id: measure '{r[p_measure]}' is not assigned to "
                          f"'{r[p_org]}' (no measure_assignments row)")

    _check_reinspections(tables, numbers, col, errors)


def _check_reinspections(tables, numbers, col, errors) -> None:
    """A re-inspection (回头看) tests a closure: the hazard must have been closed on or before its day — by
    its ``closed_on`` or by a ``closed`` event."""
    h_id, h_closed = col("hazards", "id"), col("hazards", "closed_on")
    e_hazard, e_on, e_kind = col("events", "hazard_id"), col("events", "on"), col("events", "kind")
    first_closed = {r[h_id]: r[h_closed] for r in tables["hazards"] if r[h_closed]}
    for r in tables["events"]:
        if r[e_kind] == "closed":
            hid, on = r[e_hazard], r[e_on]
            if first_closed.get(hid) is None or on < first_closed[hid]:
                first_closed[hid] = on
    for r, n in zip(tables["events"], numbers["events"]):
        if r[e_kind] != "reinspected":
            continue
        closed = first_closed.get(r[e_hazard])
        if closed is None or closed > r[e_on]:
            errors.append(f"events:{n}: kind: a re-inspection of hazard '{r[e_hazard]}', which was never closed "
                          f"on or before {r[e_on]}")
def _cross_jurisdiction_links(tables: dict[str, list[tuple]], numbers: dict[str, list[int]],
                              schema: Schema) -> list[str]:
    """Warnings for incidents linked to a hazard outside the incident's county (the nearest jurisdiction of
    level county or higher at or above the incident's own): legal, but usually a mistyped id, and a county
    user who may see the incident is not shown that hazard (``Session.incident`` withholds it)."""
    names = {t: schema.tables[t].names for t in ("jurisdictions", "hazards", "incidents")}
    i_jur, i_links = names["incidents"].index("jurisdiction_id"), names["incidents"].index("hazard_ids")
    linked = {h for r in tables["incidents"] for h in r[i_links] or ()}
    if not linked:
        return []
    j_id, j_level, j_parent = (names["jurisdictions"].index(c) for c in ("id", "level", "parent_id"))
    parent = {r[j_id]: r[j_parent] for r in tables["jurisdictions"]}
    level = {r[j_id]: r[j_level] for r in tables["jurisdictions"]}
    ranks = {code: term.extra["rank"] for code, term in schema.vocab("jurisdiction_levels").items()}
    county = ranks["county"]
    h_id, h_jur = names["hazards"].index("id"), names["hazards"].index("jurisdiction_id")
    where = {r[h_id]: r[h_jur] for r in tables["hazards"] if r[h_id] in linked}

    def ancestors(jid: str) -> Iterator[str]:
        seen = set()
        while jid is not None and jid not in seen:  # the tree is checked before: no cycles, but stay safe
            seen.add(jid)
            yield jid
            jid = parent.get(jid)

    warnings = []
    for r, n in zip(tables["incidents"], numbers["incidents"]):
        chain = list(ancestors(r[i_jur]))
        anchor = next((j for j in chain if ranks[level[j]] <= county), chain[-1])
        for hid in r[i_links] or ():
            if anchor not in ancestors(where[hid]):
                warnings.append(f"incidents:{n}: hazard_ids: hazard '{hid}' lies in '{where[hid]}', outside the "
                                f"incident's {level[anchor]} '{anchor}'")
    return warnings


def _check_tree(table: str, parents: dict[str, tuple[str | None, int]], errors: list[str]) -> None:
    """Report every node on a cycle of ``parent`` links."""
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known to reach a root
    for start in parents:
        walk = []
        node = start
        while node in parents and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = parents[node][0]
        if node in parents and state.get(node) == 1:
            cycle = walk[walk.index(node):]
            for member in cycle:
                errors.append(f"{table}:{parents[member][1]}: parent_id: cycle ({' → '.join(cycle + [node])})")
        for member in walk:
            state[member] = 2


def load(path: str | Path, schema: Schema = SCHEMA, limits: Limits = LIMITS,
         progress: Progress | None = None) -> Dataset:
    """Read and validate a dataset in any of its three forms; refuse one beyond ``limits``."""
    with gc_paused(freeze=False):  # millions of new rows and no reference cycles
        return validate(read_raw(path, limits), schema, str(path), progress)


# -- writing the three forms -----------------------------------------------------------------------------


def _out_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def table_rows(dataset: Dataset, table: str) -> tuple[list[str], list[list[Any]]]:
    """The header (contract columns, then extra ones) and the rows of ``table``, as cells to write out."""
    names = list(dataset.schema.tables[table].names)
    extras = sorted({k for row in dataset.tables.get(table, ()) if row[-1] for k in row[-1]})
    rows = []
    for row in dataset.tables.get(table, ()):
        cells = [_out_cell(v) for v in row[:-1]]
        cells += [_out_cell((row[-1] or {}).get(k)) for k in extras]
        rows.append(cells)
    return names + extras, rows


def export(dataset: Dataset, path: str | Path) -> Path:
    """Write ``dataset`` as a CSV folder, an .xlsx workbook or a .json file (by the path's suffix)."""
    path = Path(path)
    tables = [t for t in dataset.schema.tables if dataset.tables.get(t) or not dataset.schema.tables[t].optional]
    suffix = path.suffix.lower()
    if suffix == ".json":
        out = {}
        for t in tables:
            header, rows = table_rows(dataset, t)
            out[t] = [dict(zip(header, r)) for r in rows]
        path.write_bytes(orjson.dumps(out))
    elif suffix == ".xlsx":
        _write_xlsx(dataset, tables, path)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for t in tables:
            header, rows = table_rows(dataset, t)
            with (path / f"{t}.csv").open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                writer.writerows(rows)
    return path


# What XML 1.0 cannot hold: control characters (but tab and line breaks), U+FFFE/U+FFFF, lone surrogates
XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _write_xlsx(dataset: Dataset, tables: list[str], path: Path) -> None:
    """A workbook where every text is a text cell: one starting with '=' stays text (it would otherwise be
    written as a formula — read back empty, and run by Excel). Control characters cannot be written in a
    workbook's XML at all: they are refused, naming where they are."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    contents = {t: table_rows(dataset, t) for t in tables}
    for t, (header, rows) in contents.items():  # refuse before anything is written
        for number, r in enumerate(rows, start=2):
            for i, value in enumerate(r):
                if value.__class__ is str and XLSX_ILLEGAL.search(value):
                    raise ExportError(one_line(f"{t}:{number}: {header[i]}: a control character cannot be written "
                                               "to a .xlsx workbook; export as CSV or JSON"))
    book = openpyxl.Workbook(write_only=True)
    for t, (header, rows) in contents.items():
        sheet = book.create_sheet(t)
        sheet.append(header)
        for r in rows:
            for i, value in enumerate(r):
                if value.__class__ is str and value.startswith("="):
                    cell = r[i] = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
            sheet.append(r)
    book.save(path)


def from_store(store: Any, schema: Schema = SCHEMA) -> Dataset:
    """Read a store back into a Dataset (for export, pull and round-trip checks)."""
    tables = {name: list(StoredRows(store, name, schema)) for name in schema.tables}
    return Dataset(tables, getattr(store, "uri", ""), schema)


def streamed(store: Any, schema: Schema = SCHEMA) -> Dataset:
    """The dataset ``store`` holds, each table read from the store whenever it is iterated (:class:`StoredRows`),
    so that a copy into another store streams it rather than holding it: a province is 4.9 GB as a Dataset.
    Use it inside ``store.snapshot()``, so that every reading sees one version. Its hash and manifests are
    those the store's audit log vouches for when the store can tell that nothing was written since
    (``audit.vouched``); else they are computed from the rows, as for any dataset."""
    from accountability import audit

    tables: dict[str, Any] = {name: StoredRows(store, name, schema) for name in schema.tables}
    return Dataset(tables, getattr(store, "uri", ""), schema, vouched=audit.vouched(store))


class StoredRows:
    """The rows of one table of a store as a dataset holds them (tuples in the schema's column order plus
    ``extra``), read anew each time they are iterated; ``len`` counts them in the store."""

    __slots__ = ("store", "name", "names", "_len")

    def __init__(self, store: Any, name: str, schema: Schema = SCHEMA):
        self.store, self.name, self.names, self._len = store, name, schema.tables[name].names, None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self.store.count(self.name)
        return self._len

    def __iter__(self) -> Iterator[tuple]:
        from accountability.stores.base import dataset_row

        names = self.names
        for r in self.store.rows(self.name):
            yield dataset_row(names, r)


# -- appending rows to a stored dataset ------------------------------------------------------------------

# Tables rows can be appended to (``Store.append``; the others go through an import), each with the column
# whose value picks the stored rows its checks compare a new row with, besides those it references: a
# hazard's events (their keys, and the closures a re-inspection tests).
APPENDABLE = {"events": "hazard_id"}


def validate_append(store: Any, table: str, rows: list[dict], source: str = "") -> list[tuple]:
    """Check ``rows`` (cells by column name, as a form or a file gives them) for appending to ``table`` of
    ``store``, as an import of the stored dataset with them added at the end of that table checks them: the
    same ``table:row: column: reason`` errors, the new rows numbered after the stored ones. Only the stored
    rows those checks compare them with are read: the rows they reference and, in turn, the rows those
    reference (up the trees), the rows of ``table`` sharing their :data:`APPENDABLE` column, and the
    industries. A new row with the key of a stored one is a duplicate ``(already stored)``.

    Returns the rows as the dataset holds them; raises :class:`InvalidDataset` with every error."""
    from accountability.errors import UsageError

    schema = store.schema
    if table not in APPENDABLE:
        raise UsageError(f"rows are appended to {', '.join(APPENDABLE)} only, not to '{table}': import the dataset")
    first = store.count(table) + 1
    held: dict[str, dict[Any, tuple]] = defaultdict(dict)  # table → key → stored row, as a dataset holds it
    wanted: dict[str, set] = defaultdict(set)  # table → ids referenced and not read yet

    def keep(name: str, found: Iterable[dict]) -> None:
        spec = schema.tables[name]
        key = [spec.names.index(k) for k in spec.key]
        for r in found:
            row = tuple(tuple(r[c]) if isinstance(r[c], list) else r[c] for c in spec.names) + (r.get(EXTRA),)
            held[name][tuple(row[i] for i in key)] = row
            _references(spec, row, wanted)

    spec = schema.tables[table]
    for r in rows:
        _references(spec, tuple(r.get(c) for c in spec.names), wanted, raw=True)
    column = APPENDABLE[table]
    keep(table, store.rows(table, **{column: sorted({_text(r.get(column)) for r in rows} - {""})}))
    if "industries" in schema.tables:
        keep("industries", store.rows("industries"))
    asked: dict[str, set] = defaultdict(set)
    while wanted:
        name, ids = wanted.popitem()
        ids -= asked[name]
        if ids:
            asked[name] |= ids
            keep(name, store.rows(name, id=sorted(ids)))
    context = Dataset({name: list(held[name].values()) for name in schema.tables}, schema=schema)
    raw = {}
    for name in schema.tables:
        header, cells = table_rows(context, name)
        body = [(n, values) for n, values in enumerate(cells, start=1)]
        if name == table:
            header = header + [c for r in rows for c in r if c not in header]
            body = [(n, values + [""] * (len(header) - len(values))) for n, values in body]
            body += [(first + i, [r.get(c) for c in header]) for i, r in enumerate(rows)]
        raw[name] = (header, body)
    try:
        checked = validate(raw, schema, source)
    except InvalidDataset as exc:
        raise InvalidDataset([_stored_first(e, table, first) for e in exc.errors]) from None
    return checked.tables[table][len(checked.tables[table]) - len(rows):]


def _references(spec: Table, row: tuple, wanted: dict[str, set], raw: bool = False) -> None:
    """Add the ids ``row`` (of the table ``spec``, cells in column order; ``raw``: as given, lists as text)
    references to ``wanted``."""
    for column, value in zip(spec.columns, row):
        if not column.base.startswith("ref:") or value in (None, "", ()):
            continue
        items = value if isinstance(value, (list, tuple)) else _text(value).split(";") if raw else (value,)
        wanted[column.base[4:]].update(v for v in (_text(i) for i in items) if v)


def _stored_first(error: str, table: str, first: int) -> str:
    """A duplicate of a stored row, named as such rather than by its place in the rows read for the check."""
    found = re.fullmatch(rf"({re.escape(table)}:\d+: .*) \(first at row (\d+)\)", error)
    return f"{found.group(1)} (already stored)" if found and int(found.group(2)) < first else error
