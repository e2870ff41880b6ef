"""Read and validate a dataset (contract v1): a folder of CSV files, one .xlsx workbook, or one JSON object.

``load(path)`` returns a :class:`Dataset` or raises :class:`InvalidDataset` listing *every* problem as
``table:row: column: reason``. Rows are numbered as a spreadsheet shows them (the header is row 1) for
CSV and xlsx, and from 1 for the items of a JSON array.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson

from accountability.errors import ExportError, InvalidDataset, one_line
from accountability.memory import gc_paused
from graph_schema import SCHEMA, Schema
from graph_schema.loader import Column, Table

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BAD_ID = re.compile(r"[\x00-\x1f\x7f;]")
MAX_ID = 200
MAX_TEXT = 100_000
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
        digest = hashlib.sha256()
        for name in sorted(self.tables):
            digest.update(name.encode())
            rows = self.tables[name]
            for i in range(0, len(rows), 50_000):
                digest.update(orjson.dumps(rows[i:i + 50_000], option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()


# -- reading the three forms -------------------------------------------------------------------------
#
# Each reader returns {table: (header, rows)} where rows yields (row number, [values in header order]) or
# (row number, "an error message"). CSV rows are read lazily, one table at a time, so that a province's
# millions of rows are never all held twice.


def read_raw(path: str | Path) -> dict[str, tuple[list[str], Iterable[RawRow]]]:
    """Return ``{table: (header, rows)}`` from any of the three forms, with the rows not yet checked."""
    path = Path(path)
    if path.is_dir():
        return _read_csv_folder(path)
    if not path.exists():
        raise InvalidDataset([f"{path}: no such file or folder"])
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".json":
        return _read_json(path)
    if suffix == ".csv":
        raise InvalidDataset([f"{path}: a CSV dataset is a folder of tables, not one file"])
    raise InvalidDataset([f"{path}: unknown dataset form (expected a folder of CSV files, .xlsx or .json)"])


def _read_csv_folder(folder: Path) -> dict:
    tables = {}
    for file in sorted(folder.glob("*.csv")):
        header = _csv_rows(file, header_only=True)
        tables[file.stem] = (header, _csv_rows(file))
    if not tables:
        raise InvalidDataset([f"{folder}: no .csv files"])
    return tables


def _csv_rows(file: Path, header_only: bool = False) -> Any:
    table = file.stem

    def rows() -> Iterator[RawRow]:
        # rows are numbered by record, as a spreadsheet shows them (header = 1), not by line: a quoted cell
        # may hold line breaks
        number = 1
        try:
            with file.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                width = len(next(reader, []))
                for number, values in enumerate(reader, start=2):  # noqa: B007 - read in the except
                    if len(values) != width:
                        if not any(v.strip() for v in values):
                            continue
                        yield number, f"{table}:{number}: row has {len(values)} fields, the header has {width}"
                        continue
                    yield number, values
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
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read_xlsx(path: Path) -> dict:
    import openpyxl

    book = None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        return _xlsx_tables(book)  # sheets are parsed while read: damage may show only here
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails in openpyxl, zipfile or XML in many ways
        raise InvalidDataset([f"{path.name}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"]) from None
    finally:
        if book is not None:
            with contextlib.suppress(Exception):
                book.close()


def _xlsx_tables(book: Any) -> dict:
    tables = {}
    for sheet in book.worksheets:
        rows = sheet.iter_rows(values_only=True)
        header = [str(_cell(h)).strip() if h is not None else "" for h in next(rows, ())]
        while header and header[-1] == "":
            header.pop()
        body = []
        for number, values in enumerate(rows, start=2):
            values = [_cell(v) for v in values[: len(header)]]
            if all(v is None or v == "" for v in values):
                continue
            body.append((number, values + [None] * (len(header) - len(values))))
        tables[sheet.title] = (header, body)
    return tables


def _read_json(path: Path) -> dict:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidDataset([f"{path.name}: not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise InvalidDataset([f"{path.name}: expected one object {{table: [rows]}}"])
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


def singular(name: str) -> str:
    """``industries`` → ``industry``, ``hazard_statuses`` → ``hazard status``: for messages."""
    name = name.replace("_", " ")
    if name.endswith("people"):
        return name[:-6] + "person"
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("uses"):
        return name[:-2]
    return name[:-1] if name.endswith("s") else name


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
            dates[raw] = raw
            return raw
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
                number = int(float(raw)) if re.fullmatch(r"\d+(\.0+)?", raw) else int(raw)
            except ValueError:
                raise ValueError(f"'{raw[:40]}' is not a whole number") from None
            if number < 0:
                raise ValueError("must not be negative")
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


def validate(raw: dict[str, tuple[list[str], Iterable[RawRow]]], schema: Schema = SCHEMA, source: str = "") -> Dataset:
    """Check raw tables against the contract; return a Dataset or raise InvalidDataset with every error."""
    errors: list[str] = []
    vocab = {name: dict(terms) for name, terms in schema.vocabularies.items()}
    for name in raw:
        if name not in schema.tables:
            errors.append(f"{name}: unknown table (expected one of {', '.join(schema.tables)})")
    for name, table in schema.tables.items():
        if name not in raw and not table.optional:
            errors.append(f"{name}: missing table")

    tables: dict[str, list[tuple]] = {}
    numbers: dict[str, list[int]] = {}
    dates: dict[str, str] = {}
    # industries first: they extend the vocabulary the other tables are checked against
    order = sorted(schema.tables, key=lambda n: n != "industries")
    for name in order:
        if name not in raw:
            tables[name], numbers[name] = [], []
            continue
        header, rows = raw[name]
        tables[name], numbers[name] = _check_table(schema.tables[name], header, rows, vocab, dates, errors)
        if name == "industries":
            for row, number in zip(tables[name], numbers[name]):
                if row[0] in vocab["industries"]:
                    errors.append(f"industries:{number}: code: '{row[0]}' is already defined")
                vocab["industries"][row[0]] = row
    _check_links(tables, numbers, schema, errors)
    if errors:
        raise InvalidDataset(errors)
    return Dataset({name: tables[name] for name in schema.tables}, source, schema)


def _check_table(table: Table, header: list[str], rows: Iterable[RawRow], vocab, dates, errors) -> tuple[list, list]:
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
                continue
            if required and (value is None or value == ()):
                errors.append(f"{name}:{number}: {col}: required")
                ok = False
            row.append(value)
        if not ok:
            continue
        extra = None
        if extras:
            extra = {c: _cell(values[i]) for c, i in extras if values[i] not in (None, "")} or None
        row.append(extra)
        out.append(tuple(row))
        numbers.append(number)
    return out, numbers


def _check_links(tables: dict[str, list[tuple]], numbers: dict[str, list[int]], schema: Schema, errors: list[str]) -> None:
    """Checks across rows and tables: keys, references, dates, tenures, trees."""
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
            if not col.base.startswith("ref:"):
                continue
            target = ids.get(col.base[4:], set())
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


def load(path: str | Path, schema: Schema = SCHEMA) -> Dataset:
    """Read and validate a dataset in any of its three forms."""
    with gc_paused(freeze=False):  # millions of new rows and no reference cycles
        return validate(read_raw(path), schema, str(path))


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
    tables = {}
    for name, table in schema.tables.items():
        names = table.names
        tables[name] = [tuple(r[c] if not isinstance(r[c], list) else tuple(r[c]) for c in names) + (r.get(EXTRA),)
                        for r in store.rows(name)]
    return Dataset(tables, getattr(store, "uri", ""), schema)
