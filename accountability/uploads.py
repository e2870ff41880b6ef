"""Uploaded datasets: a file from the app's Data page checked and written where the dataset reader can load it.

An upload is a dataset like any other: the reader's limits (``accountability.dataset.LIMITS``) hold for it
too. :func:`extract_zip` refuses paths outside its folder, links, too many files and archives that inflate
beyond a limit, counting the bytes it actually writes; :func:`save_upload` never uses the user's file name
as a path. :func:`split_error` lays a validation error out as table columns.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import IO

from accountability.dataset import LIMITS, check_limits, check_workbook, inflation_errors, too_large
from accountability.errors import InvalidDataset, translate
from graph_schema import SCHEMA

MAX_UNCOMPRESSED = LIMITS.bytes
MAX_FILES = 200
MAX_RATIO = LIMITS.ratio  # a member inflating more than this is treated as a zip bomb
DATASET_SUFFIXES = (".csv", ".json", ".xlsx")


def check_archive(archive: zipfile.ZipFile, max_bytes: int = MAX_UNCOMPRESSED, max_files: int = MAX_FILES) -> None:
    """Refuse an archive by its directory alone: too many members, declared sizes too large, members that
    inflate suspiciously, links, or names that leave the folder. Raises InvalidDataset."""
    check_limits()
    members = archive.infolist()
    errors = []
    if len(members) > max_files:
        errors.append(f"archive: {len(members)} members, at most {max_files} allowed")
    for m in members:
        name = m.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
            errors.append(f"archive: {name}: a path outside the folder")
        if stat.S_ISLNK(m.external_attr >> 16):
            errors.append(f"archive: {name}: a symbolic link")
    errors += inflation_errors(archive, "archive", replace(LIMITS, bytes=max_bytes))
    if errors:
        raise InvalidDataset(errors)


def extract_zip(source: str | Path | IO[bytes], dest: str | Path, max_bytes: int = MAX_UNCOMPRESSED,
                max_files: int = MAX_FILES) -> Path:
    """Extract the dataset files of a zip into ``dest`` safely and return the dataset path to load: the
    folder holding the CSV files (the archive may wrap them in one folder), or its one .json / .xlsx.

    Only .csv, .json and .xlsx members are written, under their base names; bytes are counted as they are
    written, so an archive that lies about its sizes stops at ``max_bytes``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidDataset([f"archive: not a readable zip file ({exc})"]) from None
    with archive:
        check_archive(archive, max_bytes, max_files)
        written = 0
        folders: dict[str, list[str]] = defaultdict(list)
        for m in archive.infolist():
            path = PurePosixPath(m.filename.replace("\\", "/"))
            if m.is_dir() or path.suffix.lower() not in DATASET_SUFFIXES:
                continue
            if any(p.startswith(".") or p == "__MACOSX" for p in path.parts):
                continue
            parent = str(path.parent)
            if path.name in folders[parent]:
                continue
            folders[parent].append(path.name)
            target_dir = dest / f"part{len(folders) - 1}"
            target_dir.mkdir(exist_ok=True)
            target = target_dir / path.name
            with archive.open(m) as src, open(target, "wb") as out:
                while True:
                    chunk = src.read(1 << 16)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > max_bytes:
                        raise InvalidDataset([f"archive: inflates beyond {max_bytes} bytes"])
                    out.write(chunk)
    found = [(parent, names) for parent, names in folders.items() if names]
    if len(found) != 1:
        raise InvalidDataset(["archive: expected one folder of CSV files (or one .json or .xlsx), found "
                              + (", ".join(p or "." for p, _ in found) or "no dataset files")])
    parent, names = found[0]
    folder = dest / f"part{list(folders).index(parent)}"
    csvs = [n for n in names if n.lower().endswith(".csv")]
    if csvs:
        return folder
    if len(names) != 1:
        raise InvalidDataset([f"archive: expected one .json or .xlsx dataset, found {', '.join(names)}"])
    return folder / names[0]


def save_upload(name: str, data: bytes, dest: str | Path) -> Path:
    """Write an uploaded dataset into ``dest`` and return the path to load. The user's file name only
    chooses the form (by its suffix); it never becomes a path."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        return extract_zip(io.BytesIO(data), dest / "unzipped")
    if suffix == ".xlsx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:  # refused before it is written, as the CLI refuses it
                check_workbook(book, name)
        except zipfile.BadZipFile:
            raise InvalidDataset([f"{name}: not a readable .xlsx workbook"]) from None
    elif suffix == ".json":
        too_large(name, len(data))
    else:
        raise InvalidDataset([wrong_upload(name)])
    target = dest / f"dataset{suffix}"
    target.write_bytes(data)
    return target


def wrong_upload(name: str) -> str:
    """What to upload instead of ``name``: a dataset is several tables, so one CSV file cannot hold it.
    The message names the forms and the contract's tables, so that the user knows what to put together.

    >>> wrong_upload("hazards.csv").split(":")[0]
    'hazards.csv'
    """
    tables = SCHEMA.tables.values()
    required = ", ".join(f"{t.name}.csv" for t in tables if not t.optional)
    optional = ", ".join(f"{t.name}.csv" for t in tables if t.optional)
    start = (f"{name}: one CSV file is one table, and a dataset has several" if name.lower().endswith(".csv")
             else f"{name}: not a dataset file")
    return (f"{start}. Upload a .zip of the folder of CSV files ({required}; optional: {optional}), "
            f"an .xlsx workbook with one sheet per table, or a .json file {{table: [rows]}}")


def split_error(line: str) -> dict:
    """A validation error ``table:row: column: reason`` (or ``table: reason``, about a whole table) as
    columns; the parts a line does not have are empty, not None: a table shows them blank.

    >>> split_error("tenures:4: end: before start (2024-01-01)")
    {'table': 'tenures', 'row': 4, 'column': 'end', 'reason': 'before start (2024-01-01)'}
    >>> split_error("events: missing table")
    {'table': 'events', 'row': '', 'column': '', 'reason': 'missing table'}
    >>> split_error("garbage: expected a list of rows")["reason"]
    'expected a list of rows'
    >>> split_error("archive: not a readable zip file")
    {'table': '', 'row': '', 'column': '', 'reason': 'archive: not a readable zip file'}
    """
    m = re.match(r"^([a-z_]+):(\d+): ([^:]+): (.*)$", line, re.DOTALL)
    if m:
        return {"table": m[1], "row": int(m[2]), "column": m[3], "reason": m[4]}
    m = re.match(r"^([a-z_]+): (.*)$", line, re.DOTALL)
    if m and (m[1] in SCHEMA.tables or translate(m[2])[0]):  # a table of the file the contract does not know
        return {"table": m[1], "row": "", "column": "", "reason": m[2]}
    return {"table": "", "row": "", "column": "", "reason": line}
