"""Writing rows as table, CSV, JSON or JSON Lines — streamed, so large results never sit in memory — or as
an .xlsx workbook of one or more sheets.

CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are prefixed with
``'`` so that an exported hazard description cannot become ``=HYPERLINK(…)``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import IO, Any, Callable, Iterable, Iterator, Self

import orjson


class RowStream:
    """Rows streamed once (``rows``) and what to close after them (``_close``: the session or connection
    the answer opened): iterate it for row dicts; use it as a context manager, or exhaust it, so that what it
    opened is closed. The named queries' :class:`~accountability.queries.Result` and the raw console's
    :class:`~accountability.rawquery.RawResult` are both one."""

    rows: Iterator[dict]
    _close: Callable[[], None] | None

    def __iter__(self) -> Iterator[dict]:
        return self.rows

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

FORMATS = ("table", "json", "csv", "jsonl")
FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and FORMULA.match(value) and not NUMBER.match(value):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)


def width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def write_rows(rows: Iterable[dict], columns: list[str], fmt: str, out: IO[str], max_table_width: int = 60) -> int:
    """Write ``rows`` (dicts) in ``fmt``; return how many were written."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(orjson.dumps(row, default=str).decode() + "\n")
            count += 1
    elif fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n" + orjson.dumps(row, default=str).decode())
            count += 1
        out.write("\n]\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_safe(_cell(row.get(c))) for c in columns])
            count += 1
    else:
        table = [[_printable(_cell(row.get(c)))[:max_table_width] for c in columns] for row in rows]
        count = len(table)
        widths = [max([width(c)] + [width(r[i]) for r in table]) for i, c in enumerate(columns)]

        def line(cells: list[str]) -> str:
            return "  ".join(c + " " * (w - width(c)) for c, w in zip(cells, widths)).rstrip()

        out.write(line(columns) + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in table:
            out.write(line(r) + "\n")
    return count


def write_blocks(pieces: Iterable[bytes], sink: IO[bytes], size: int = 1 << 20) -> int:
    """Write ``pieces`` in blocks of about ``size`` bytes; return how many bytes. A traced chain is a few
    kB, and a write call for each costs more than copying its bytes (province JSONL: 3.4 GB in 3,300
    writes instead of 512,726)."""
    block: list[bytes] = []
    held = total = 0
    for piece in pieces:
        block.append(piece)
        held += len(piece)
        if held >= size:
            sink.write(b"".join(block))
            block.clear()
            total += held
            held = 0
    sink.write(b"".join(block))
    return total + held


def write_xlsx(sheets: Iterable[tuple[str, Iterable[dict], list[str]]], path: str) -> int:
    """Write ``(name, rows, columns)`` sheets to an .xlsx workbook at ``path``: a header row, then one row per
    dict; numbers stay numbers, lists are joined with ';' as in CSV, and a text starting with '=' stays text
    (it would otherwise be a formula, run by Excel). A control character cannot be written in a workbook's
    XML: it is refused, naming where it is, before anything is written. Returns the rows written."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    from accountability.dataset import XLSX_ILLEGAL
    from accountability.errors import ExportError

    def cell(value: Any) -> Any:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _cell(value)

    tables = []
    for name, rows, columns in sheets:
        body = [[cell(row.get(c)) for c in columns] for row in rows]
        for number, values in enumerate(body, start=2):
            for column, value in zip(columns, values):
                if value.__class__ is str and XLSX_ILLEGAL.search(value):
                    raise ExportError(f"{name}:{number}: {column}: a control character cannot be written to a "
                                      ".xlsx workbook; use CSV or JSON")
        tables.append((name, columns, body))
    book = openpyxl.Workbook(write_only=True)
    for name, columns, body in tables:
        sheet = book.create_sheet(name[:31])  # Excel's limit on a sheet's name
        sheet.append(columns)
        for values in body:
            for i, value in enumerate(values):
                if value.__class__ is str and value.startswith("="):
                    values[i] = WriteOnlyCell(sheet, value=value)
                    values[i].data_type = "s"
            sheet.append(values)
    book.save(path)
    return sum(len(body) for _, _, body in tables)


def chain_table(chain: dict, out: IO[str], v2: bool, posts: dict[str, str], gaps: list[str],
                escalation: str | None = None) -> None:
    """A chain (its ``as_dict``) as the human table: each post with its organization (``posts``: post id →
    "组织 · 职务"), why the escalated links reach the level above (``escalation``, a sentence), then the gaps
    as sentences (``gaps``, in the chain's order). Only the table format reads this way; CSV, JSON and JSON
    Lines keep the codes and the gaps' fields."""
    rows = [{**r, "post": posts.get(r["post_id"]) or r["post_title"]} for r in chain_rows(chain) if "gap" not in r]
    columns = ["duty", "degree", "post", "name", "start", "end", "acting", "rules", "escalated"]
    write_rows(rows, columns + (["assessment"] if v2 else []), "table", out)
    if escalation:
        out.write("\nescalated: " + _printable(escalation) + "\n")
    if gaps:
        out.write("\ngaps:\n")
        for gap in gaps:
            out.write("  " + _printable(gap) + "\n")


def to_string(rows: Iterable[dict], columns: list[str], fmt: str) -> str:
    buf = io.StringIO()
    write_rows(rows, columns, fmt, buf)
    return buf.getvalue()


CHAIN_COLUMNS = [
    "hazard_id", "as_of", "duty", "degree", "post_id", "post_title", "organization_id", "jurisdiction_id",
    "rules", "escalated", "person_id", "name", "start", "end", "acting", "overlap_start", "overlap_end", "gap",
]

# v2 rulesets add, per row, the holder's assessment (exempt, no_conditions, accountable), its reasons and the
# link's evidence, the last two as JSON arrays (DESIGN.md, "Version 2: precise semantics")
V2_COLUMNS = ["assessment", "assessment_reasons", "evidence"]


def chain_columns(v2: bool) -> list[str]:
    """The columns of chain rows: v1's, and v2's after them for a generation-2 ruleset."""
    return CHAIN_COLUMNS + V2_COLUMNS if v2 else CHAIN_COLUMNS


# a cell that CSV writes as it is and that no spreadsheet would run: most cells, joined without more ado
_AS_IS = re.compile(r'(?![=+\-@\t\r])[^,"\r\n\x00]*')


def csv_fields(values: Iterable[Any]) -> str:
    """Cells as the fields of one CSV line, without its end — exactly as ``write_rows`` writes them."""
    cells = [v if v.__class__ is str else _cell(v) for v in values]
    if (len(cells) > 1 or cells and cells[0]) and all(map(_AS_IS.fullmatch, cells)):
        return ",".join(cells)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([csv_safe(c) for c in cells])  # "\n" decides quoting
    return buf.getvalue()[:-1]


LINK_COLUMNS = CHAIN_COLUMNS[2:10]  # what a link puts in its rows (then its holder's columns, then the gap)
_NO_HOLDER = ("",) * (len(CHAIN_COLUMNS) - 10)


def _link_csv(link: Any) -> tuple[bytes, ...]:
    """A link's rows without their first two fields (hazard, date): one per holder, or one without any."""
    fields = csv_fields((link.duty, link.degree, link.post_id, link.post_title, link.organization_id,
                         link.jurisdiction_id, link.rules, link.escalated))
    if not link.holders:
        return ((fields + "," + ",".join(_NO_HOLDER) + "\n").encode(),)
    return tuple((fields + "," + csv_fields((h.person_id, h.name, h.start, h.end, h.acting,
                                             h.overlap[0] if h.overlap else None,
                                             h.overlap[1] if h.overlap else None, None)) + "\n").encode()
                 for h in link.holders)


def _link_csv_v2(link: Any) -> tuple[bytes, ...]:
    """A v2 link's rows: v1's fields, then the holder's assessment and the link's evidence."""
    fields = csv_fields((link.duty, link.degree, link.post_id, link.post_title, link.organization_id,
                         link.jurisdiction_id, link.rules, link.escalated))
    evidence = orjson.dumps(list(link.evidence)).decode()
    if not link.holders:
        return ((fields + "," + ",".join(_NO_HOLDER) + "," + csv_fields(("", "", evidence)) + "\n").encode(),)
    return tuple((fields + "," + csv_fields((h.person_id, h.name, h.start, h.end, h.acting,
                                             h.overlap[0] if h.overlap else None,
                                             h.overlap[1] if h.overlap else None, None,
                                             h.assessment[0], orjson.dumps(list(h.assessment[1])).decode(),
                                             evidence)) + "\n").encode()
                 for h in link.holders)


def _part_csv(part: Any) -> list[bytes]:
    return [row for link in part.links for row in link.shared("csv", _link_csv)]


def _part_csv_v2(part: Any) -> list[bytes]:
    return [row for link in part.links for row in link.shared("csv2", _link_csv_v2)]


_GAP_ROW = ",".join(("",) * (len(CHAIN_COLUMNS) - 3)) + ","


def _gap_csv(gap: dict) -> bytes:
    # the JSON of a gap always holds quotes (and never a line break), so CSV always quotes it
    return (_GAP_ROW + '"' + orjson.dumps(gap).decode().replace('"', '""') + '"\n').encode()


def _gap_csv_v2(gap: dict) -> bytes:
    return _gap_csv(gap)[:-1] + b",,,\n"


# per generation of ruleset: the rows of a link, of a part, of a gap, and the key they are kept under
_CSV = {False: (_link_csv, _part_csv, _gap_csv, "csv"), True: (_link_csv_v2, _part_csv_v2, _gap_csv_v2, "csv2")}


def chain_csv(chain: Any, v2: bool = False) -> bytes:
    """The CSV lines of a traced chain (a ``trace.Chain``) as UTF-8, the same as writing its ``chain_rows``
    with ``chain_columns(v2)`` — built from pieces rendered once per part or link, however many hazards
    share it (``trace --all``). A link's holders, assessments included, and evidence are fixed when it is
    made: a link judged otherwise for a chain is another link (``EngineV2._assess``)."""
    link_rows, part_rows, gap_row, key = _CSV[v2]
    head = (csv_fields((chain.hazard_id, chain.window.end)) + ",").encode()
    rows: list[bytes] = []
    if chain.parts:
        for part in chain.parts:
            rows += part.shared(key, part_rows)
    else:
        for link in chain.links:
            rows += link.shared(key, link_rows)
    rows += [gap_row(gap) for gap in chain.gaps]
    return head + head.join(rows) if rows else b""


# -- traced chains as JSON, spliced from pieces rendered once ---------------------------------------------------
# A link's JSON is the same for every chain that holds it but for its path: its facts before the path and its
# explanation after it are serialized once per language (``Link.shared``) and the path spliced between; a
# part's links once for every chain that joins it. The bytes are those of ``orjson.dumps(chain.as_dict())``.


def link_json(link: Any, ruleset: Any, lang: str = "zh", keep: bool = True) -> bytes:
    """A ``trace.Link`` as JSON, the same as its ``as_dict``; its pieces kept for every copy of it, unless not
    ``keep`` (and none kept yet)."""
    pieces = link.shared(lang, lambda link: _pieces(link, ruleset, lang, link.sentence(lang))) \
        if keep or link.keeps else _pieces(link, ruleset, lang, link.sentence(lang, keep=False))
    return pieces[0] + orjson.dumps(link.path) + pieces[1]


def _pieces(link: Any, ruleset: Any, lang: str, sentence: str) -> tuple[bytes, bytes]:
    """A link's JSON before its path, and after it."""
    return (orjson.dumps(link.facts(ruleset, lang))[:-1] + b',"path":',
            b',"explanation":' + orjson.dumps(sentence) + b"}")


def part_json(part: Any, ruleset: Any, lang: str = "zh") -> bytes:
    """A ``trace.Part``'s links as the items of a JSON array, kept. A link of which nothing is kept yet (no
    copy of it shares pieces: an enterprise's own) is rendered without keeping its pieces, which the part's
    bytes hold already (a gigabyte at province scale)."""
    return part.shared(lang, lambda part: b",".join([link_json(link, ruleset, lang, keep=False)
                                                     for link in part.links]))


def chain_json(chain: Any, ruleset: Any, lang: str = "zh") -> bytes:
    """A ``trace.Chain`` as JSON, the same as its ``as_dict``: by part when it joins parts, else by link —
    keeping the pieces of the links that copies share (seen from further down: the government side's), not
    of the chain's own (an enterprise's, a judged link): at province scale those would hold 0.7 GB for
    little reuse."""
    head = orjson.dumps({"hazard_id": chain.hazard_id, "as_of": chain.window.end})[:-1]
    if not chain.window.is_day:
        head += b',"window":' + orjson.dumps({"start": chain.window.start, "end": chain.window.end})
    if chain.parts:
        links = b",".join([part_json(p, ruleset, lang) for p in chain.parts if p.links])
    else:
        links = b",".join([link_json(link, ruleset, lang, keep=False) for link in chain.links])
    tail = b',"escalation":' + orjson.dumps(chain.escalation) if chain.escalation is not None else b""
    return head + b',"links":[' + links + b'],"gaps":' + orjson.dumps(chain.gaps) + tail + b"}"


def chain_rows(chain: dict) -> Iterator[dict]:
    """Flatten a chain (its ``as_dict``) to one row per link and holder, then one per gap."""
    base = {"hazard_id": chain.get("hazard_id") or chain.get("incident_id"), "as_of": chain.get("as_of") or chain["window"]["end"]}
    for link in chain["links"]:
        common = {**base, **{k: link[k] for k in ("duty", "degree", "post_id", "post_title", "organization_id",
                                                  "jurisdiction_id", "rules", "escalated")}}
        if "evidence" in link:
            common["evidence"] = orjson.dumps(link["evidence"]).decode()
        if not link["holders"]:
            yield common
        for h in link["holders"]:
            row = {**common, "person_id": h["person_id"], "name": h["name"], "start": h["start"], "end": h["end"],
                   "acting": h["acting"]}
            if "overlap" in h:
                row.update({"overlap_start": h["overlap"]["start"], "overlap_end": h["overlap"]["end"]})
            if "assessment" in h:
                row.update({"assessment": h["assessment"]["status"],
                            "assessment_reasons": orjson.dumps(h["assessment"]["reasons"]).decode()})
            yield row
    for gap in chain["gaps"]:
        yield {**base, "gap": gap}
