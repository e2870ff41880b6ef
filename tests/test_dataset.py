"""Dataset validation and import: every error reported, nothing half-loaded, three forms, one store."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import scenario
from accountability.cli import main
from accountability.dataset import Dataset, export, from_store, load
from accountability.errors import InvalidDataset
from accountability.stores.sqlite import SQLiteStore


def broken() -> tuple[dict, list[str]]:
    """The scenario with 20 kinds of mistakes, and the error each must produce."""
    d = scenario.base()
    d["jurisdictions"] += [
        {"id": "X1", "name": "环一", "level": "county", "parent_id": "X2"},
        {"id": "X2", "name": "环二", "level": "county", "parent_id": "X1"},
        {"id": "BADLVL", "name": "错级", "level": "city", "parent_id": "K"},
        {"id": "NOLVL", "name": "无级", "level": "galaxy", "parent_id": "P"},
    ]
    d["organizations"] += [
        {"id": "E1", "name": "重复", "kind": "enterprise", "jurisdiction_id": "T"},
        {"id": "BADKIND", "name": "怪", "kind": "spaceship", "jurisdiction_id": "T"},
        {"id": "NOJUR", "name": "无区", "kind": "enterprise", "jurisdiction_id": "NOWHERE"},
        {"id": "BADSUP", "name": "企", "kind": "enterprise", "jurisdiction_id": "T", "supervision": "sector"},
        {"id": "BADIND", "name": "部门", "kind": "department", "jurisdiction_id": "K", "industries": "urban_gas;lunar_mining"},
    ]
    d["posts"] += [
        {"id": "BADROLE", "title": "怪岗", "organization_id": "E1", "role": "emperor"},
        {"id": "NOORG", "title": "无单位", "organization_id": "GHOST", "role": "other"},
        {"id": "", "title": "无编号", "organization_id": "E1", "role": "other"},
    ]
    d["tenures"] += [
        {"person_id": "PE-K-HEAD", "post_id": "K-SEC", "start": "2025-01-01", "end": ""},
        {"person_id": "PE-K-SEC", "post_id": "K-EXEC", "start": "2026-05-01", "end": "2026-04-01"},
        {"person_id": "NOBODY", "post_id": "K-DEP", "start": "2026-01-01", "acting": "true"},
        {"person_id": "PE-K-SEC", "post_id": "K-DEP", "start": "2026-02-30", "acting": "maybe"},
    ]
    d["portfolios"] += [{"post_id": "K-DEP", "industry": "urban_gas", "organization_id": "K-EM", "start": "2026-01-01"}]
    d["hazards"] += [
        scenario.hazard("H9", "urban_gas", "T", "E1", level="catastrophic", found_on="2026-03-01", deadline="2026-02-01"),
        scenario.hazard("H10", "urban_gas", "T", "E1", status="closed"),
    ]
    d["incidents"] = [{"id": "I9", "occurred_on": "2026-06-01", "jurisdiction_id": "T", "industry": "urban_gas",
                       "deaths": "-1", "serious_injuries": "two", "direct_loss_yuan": "0", "hazard_ids": "H1"},
                      {"id": "I10", "occurred_on": "2026-06-01", "jurisdiction_id": "T", "industry": "urban_gas",
                       "deaths": "0", "serious_injuries": "0", "direct_loss_yuan": "0", "hazard_ids": "H1;H404"}]
    d["events"] = [{"hazard_id": "H1", "on": "2026-02-01", "kind": "deadline_extended"}]
    expected = [
        "jurisdictions:7: parent_id: cycle",
        "jurisdictions:8: parent_id: cycle",
        "jurisdictions:9: level: a city cannot lie under the county 'K'",
        "jurisdictions:10: level: unknown jurisdiction level 'galaxy'",
        "organizations:21: id: duplicate 'E1'",
        "organizations:22: kind: unknown organization kind 'spaceship'",
        "organizations:23: jurisdiction_id: unknown jurisdiction 'NOWHERE'",
        "organizations:24: supervision: only departments have a supervision kind",
        "organizations:25: industries: unknown industry 'lunar_mining'",
        "posts:32: role: unknown role 'emperor'",
        "posts:33: organization_id: unknown organization 'GHOST'",
        "posts:34: id: required",
        "tenures:32: start: overlaps the non-acting tenure",
        "tenures:33: end: 2026-04-01 is before start 2026-05-01",
        "tenures:34: person_id: unknown person 'NOBODY'",
        "tenures:35: start: '2026-02-30' is not a valid date",
        "tenures:35: acting: 'maybe' is not true or false",
        "portfolios:9: industry: give exactly one of industry and organization_id",
        "hazards:2: level: unknown hazard level 'catastrophic'",
        "hazards:3: closed_on: a closed hazard needs closed_on",
        "incidents:1: deaths: must not be negative",
        "incidents:1: serious_injuries: 'two' is not a whole number",
        "events:1: deadline: a deadline_extended event needs the new deadline",
    ]
    return d, expected


def test_validate_reports_every_mistake(tmp_path):
    data, expected = broken()
    with pytest.raises(InvalidDataset) as err:
        load(scenario.write(data, tmp_path))
    errors = err.value.errors
    for message in expected:
        assert any(e.startswith(message) for e in errors), f"missing: {message}\n" + "\n".join(errors)
    incident_refs = [e for e in errors if e.startswith("incidents:2: hazard_ids")]
    assert incident_refs == ["incidents:2: hazard_ids: unknown hazard 'H404'"]


def test_a_missing_table_is_one_error_not_one_per_row_that_refers_to_it(tmp_path):
    data = scenario.base()
    del data["people"]
    data["hazards"][0]["jurisdiction_id"] = "NOPE"
    with pytest.raises(InvalidDataset) as err:
        load(scenario.write(data, tmp_path))
    assert err.value.errors == ["people: missing table", "hazards:1: jurisdiction_id: unknown jurisdiction 'NOPE'"]
    data["people"] = [{"id": "P1"}]  # there, but refused at its header: one error as well
    (tmp_path / "header").mkdir()
    with pytest.raises(InvalidDataset) as err:
        load(scenario.write(data, tmp_path / "header"))
    assert err.value.errors == ["people:1: name: missing required column",
                                "hazards:1: jurisdiction_id: unknown jurisdiction 'NOPE'"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_invalid_import_leaves_the_store_untouched(tmp_path):
    good = scenario.write(scenario.base(), tmp_path)
    db = tmp_path / "store.db"
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(good), "--store", str(db)]).exit_code == 0
    before = {t: list(SQLiteStore(db).rows(t)) for t in ("hazards", "tenures", "posts")}
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    data, expected = broken()
    bad = scenario.write(data, bad_dir)
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "invalid dataset: " in result.output and "tenures:34: person_id: unknown person 'NOBODY'" in result.output
    as_json = runner.invoke(main, ["validate", str(bad), "--format", "json"])  # for scripts: JSON either way
    found = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and found["valid"] is False and found["error_count"] == len(found["errors"])
    assert "tenures:34: person_id: unknown person 'NOBODY'" in found["errors"]
    assert all(any(e.startswith(m) for e in found["errors"]) for m in expected)
    result = runner.invoke(main, ["import", str(bad), "--store", str(db)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    after = {t: list(SQLiteStore(db).rows(t)) for t in ("hazards", "tenures", "posts")}
    assert after == before


def test_three_forms_give_identical_stores(tmp_path):
    dataset = load(scenario.write(scenario.base(), tmp_path))
    hashes = set()
    dumps = []
    for form in ("csv", "tables.xlsx", "tables.json"):
        path = export(dataset, tmp_path / "forms" / form)
        with SQLiteStore(tmp_path / f"{form}.db") as store:
            result = store.write(load(path))
            hashes.add(result.dataset_hash)
            dumps.append({t: sorted(map(str, store.rows(t))) for t in dataset.schema.tables})
    assert len(hashes) == 1
    assert dumps[0] == dumps[1] == dumps[2]


def test_reimport_is_a_noop_and_changes_replace_what_changed(tmp_path):
    data = scenario.base()
    db = tmp_path / "store.db"
    with SQLiteStore(db) as store:
        first = store.write(load(scenario.write(data, tmp_path)))
        assert not first.unchanged and first.inserted["posts"] == len(data["posts"])
        assert store.write(load(scenario.write(data, tmp_path))).unchanged
        data["hazards"][0]["description"] = "已更新"
        data["people"] = data["people"][:-1]
        data["tenures"] = [t for t in data["tenures"] if t["person_id"] != "PE-E3-SM"]
        data["hazards"].append(scenario.hazard("H2", "urban_gas", "T", "E1"))
        result = store.write(load(scenario.write(data, tmp_path)))
        assert result.updated["hazards"] == 1 and result.inserted["hazards"] == 1
        assert result.deleted["people"] == 1 and result.deleted["tenures"] == 1
        assert sum(result.updated.values()) == 1
        assert next(store.rows("hazards", id="H1"))["description"] == "已更新"


def test_round_trip_store_to_dataset(tmp_path):
    dataset = load(scenario.write(scenario.base(), tmp_path))
    with SQLiteStore(tmp_path / "a.db") as store:
        store.write(dataset)
        again = from_store(store)
    assert again.content_hash() == dataset.content_hash()


def test_extra_columns_are_kept(tmp_path):
    data = scenario.base()
    data["hazards"][0]["inspector_note"] = "夜查发现"
    with SQLiteStore(tmp_path / "a.db") as store:
        store.write(load(scenario.write(data, tmp_path)))
        assert next(store.rows("hazards", id="H1"))["extra"] == {"inspector_note": "夜查发现"}


@pytest.mark.parametrize("content,message", [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'id,name,level,parent_id\nP,"unterminated\n', None),
])
def test_malformed_csv(tmp_path, content, message):
    folder = tmp_path / "csv"
    export(load(scenario.write(scenario.base(), tmp_path)), folder)
    (folder / "jurisdictions.csv").write_bytes(content)
    with pytest.raises(InvalidDataset) as err:
        load(folder)
    if message:
        assert message in str(err.value)


@pytest.mark.parametrize("name,content,message", [
    ("x.json", b"{not json", "not valid JSON"),
    ("x.json", b"[1, 2]", "expected one object"),
    ("x.json", json.dumps({"hazards": 5}).encode(), "hazards: expected a list of rows"),
    ("x.json", json.dumps({"planets": []}).encode(), "planets: unknown table"),
    ("x.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
    ("x.csv", b"id\n1\n", "a CSV dataset is a folder"),
    ("x.txt", b"hello", "unknown dataset form"),
])
def test_malformed_files_get_a_clear_message(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_hostile_strings_are_stored_verbatim(tmp_path):
    data = scenario.base()
    hostile = "<script>alert(1)</script>'; DROP TABLE hazards; -- \u202e\n" + "长" * 10_000
    data["people"][0]["name"] = hostile
    data["hazards"][0]["description"] = "=HYPERLINK(\"http://x\")"
    with SQLiteStore(tmp_path / "a.db") as store:
        store.write(load(scenario.write(data, tmp_path)))
        assert next(store.rows("people", id=data["people"][0]["id"]))["name"] == hostile
        assert store.count("hazards") == 1


def test_identifier_with_separator_is_rejected(tmp_path):
    data = scenario.base()
    data["people"].append({"id": "A;B", "name": "x"})
    with pytest.raises(InvalidDataset, match="identifier contains a control character or ';'"):
        load(scenario.write(data, tmp_path))


def test_missing_tables_and_columns(tmp_path):
    data = scenario.base()
    del data["posts"]
    for row in data["people"]:
        del row["name"]
    with pytest.raises(InvalidDataset) as err:
        load(scenario.write(data, tmp_path))
    assert "posts: missing table" in err.value.errors
    assert "people:1: name: missing required column" in err.value.errors


def test_dataset_class_counts(tmp_path):
    dataset = load(scenario.write(scenario.base(), tmp_path))
    assert isinstance(dataset, Dataset) and dataset.counts()["hazards"] == 1
    shutil.rmtree(tmp_path / "dataset.json", ignore_errors=True)


# -- bounds, and warnings that do not refuse (#19 items 4 and 6) ------------------------------------------------


def _write_csv(data: dict, folder: Path) -> Path:
    """``data`` as the CSV folder a user writes: every cell text, however large the number in it."""
    import csv

    folder.mkdir(parents=True)
    for table, rows in data.items():
        if not rows:
            continue
        header = list(dict.fromkeys(k for r in rows for k in r))
        with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, header)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def incident(**changes) -> dict:
    row = {"id": "A1", "title": "事故", "occurred_on": "2026-05-01", "jurisdiction_id": "T", "organization_id": "E1",
           "industry": "urban_gas", "deaths": 1, "serious_injuries": 0, "direct_loss_yuan": 100, "hazard_ids": "H1"}
    return {**row, **changes}


@pytest.mark.parametrize("loss", [2 ** 63, 2 ** 70, 10 ** 30])
def test_a_whole_number_beyond_64_bits_is_an_error_not_a_traceback(tmp_path, loss):
    data = scenario.base()
    data["incidents"] = [incident(direct_loss_yuan=str(loss))]
    folder = _write_csv(data, tmp_path / "csv")
    db = tmp_path / "store.db"
    for args in (["validate", str(folder), "--format", "json"], ["import", str(folder), "--store", str(db)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output, result.exception)
        assert f"incidents:2: direct_loss_yuan: '{str(loss)[:40]}' is too large (at most {2 ** 63 - 1})" \
            in result.stderr, result.output
    if db.exists():  # the import opened the store, and wrote nothing
        with SQLiteStore(db, readonly=True) as store:
            assert store.count("incidents") == 0


def test_the_largest_whole_number_is_read_exactly(tmp_path):
    data = scenario.base()
    data["incidents"] = [incident(direct_loss_yuan=str(2 ** 63 - 1)), incident(id="A2", direct_loss_yuan="9007199254740993.0")]
    folder = _write_csv(data, tmp_path / "csv")
    result = CliRunner().invoke(main, ["validate", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    loaded = {r["id"]: r["direct_loss_yuan"] for r in load(folder).rows("incidents")}
    assert loaded == {"A1": 2 ** 63 - 1, "A2": 9007199254740993}  # 2**53 + 1: no float on the way


@pytest.mark.parametrize("column, value", [("found_on", "9999-12-31"), ("found_on", "0001-01-01"),
                                           ("deadline", "2201-01-01"), ("found_on", "1899-12-31")])
def test_a_date_outside_1900_to_2200_is_an_error(tmp_path, column, value):
    data = scenario.base()
    data["hazards"][0][column] = value
    if column == "found_on" and value < "2000":
        data["hazards"][0]["deadline"] = ""
    result = CliRunner().invoke(main, ["validate", str(scenario.write(data, tmp_path))])
    assert result.exit_code == 1
    assert f"hazards:1: {column}: '{value}' is outside the years 1900–2200" in result.stderr, result.output


def test_the_first_and_last_days_of_the_range_are_valid(tmp_path):
    data = scenario.base()
    data["hazards"][0].update(found_on="1900-01-01", deadline="2200-12-31")
    assert load(scenario.write(data, tmp_path)).warnings == []


def test_an_incident_linked_to_a_hazard_of_another_county_is_a_warning(tmp_path):
    data = scenario.base()
    data["hazards"] += [scenario.hazard("H9", "tourism", "K2"), scenario.hazard("H8", "construction", "V", "E3")]
    data["incidents"] = [incident(hazard_ids="H1;H9;H8"), incident(id="A2", jurisdiction_id="C", hazard_ids="H9")]
    path = scenario.write(data, tmp_path)
    warning = "warning: incidents:1: hazard_ids: hazard 'H9' lies in 'K2', outside the incident's county 'K'\n"
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0
    assert result.stderr == warning  # H1 and H8 lie in K; A2 is the city's: K2 lies inside it
    assert result.stdout.startswith("valid: ")
    as_json = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert json.loads(as_json.stdout)["valid"] is True and as_json.stderr == warning
    imported = CliRunner().invoke(main, ["import", str(path), "--store", str(tmp_path / "s.db")])
    assert imported.exit_code == 0 and imported.stderr == warning
    with SQLiteStore(tmp_path / "s.db", readonly=True) as store:
        assert store.count("incidents") == 2

    data["incidents"] = [incident(hazard_ids="H1;H8")]
    clean = CliRunner().invoke(main, ["validate", str(scenario.write(data, tmp_path))])
    assert clean.exit_code == 0 and clean.stderr == ""


# -- limits: refused by size before a byte is parsed, by counts while read (#19 item 7) -------------------------


def zip_bomb(path: Path, rows: int = 100_000) -> Path:
    """A real workbook whose hazards sheet repeats one row ``rows`` times (no row numbers, no dimension):
    identical rows deflate about 230-fold. #19's 2.7 MB one took 68 s and 1.5 GB to end in two million errors."""
    import io
    import re
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "hazards"
    sheet.append(["id", "description", "industry", "jurisdiction_id", "organization_id", "level", "status", "found_on"])
    sheet.append(["H1", "管道腐蚀", "urban_gas", "NOWHERE", "E1", "general", "open", "2026-01-01"])
    packed = io.BytesIO()
    book.save(packed)
    with zipfile.ZipFile(packed) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in source.infolist():
            data = source.read(member)
            if member.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(member.filename, data)
                continue
            head, body, tail = re.match(r"(.*<sheetData>)(.*)(</sheetData>.*)", data.decode(), re.S).groups()
            header, row = re.findall(r"<row .*?</row>", body)
            row = re.sub(r' r="[A-Z]*2"', "", row)
            with bomb.open(member.filename, "w", force_zip64=True) as xml:
                xml.write(re.sub(r"<dimension [^>]*/>", "", head + header).encode())
                block = (row * 1000).encode()
                for _ in range(rows // 1000):
                    xml.write(block)
                xml.write(tail.encode())
    return path


BOMB = (r"bomb\.xlsx: sheet 'hazards' \(xl/worksheets/sheet1\.xml\) inflates \d{3}× "
        r"\(the limit is 100×; a zip bomb\?\)")


def test_a_workbook_that_inflates_a_hundredfold_is_refused_before_it_is_parsed(tmp_path):
    import re
    import time
    import tracemalloc

    bomb = zip_bomb(tmp_path / "bomb.xlsx")
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(InvalidDataset) as err:
            load(bomb)
    finally:
        seconds, peak = time.process_time() - started, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(err.value.errors) == 1 and re.fullmatch(BOMB, err.value.errors[0]), err.value.errors[:3]
    assert seconds < 1 and peak < 5 * 2 ** 20, (seconds, peak)


def test_the_app_upload_refuses_the_bomb_with_the_same_message_and_writes_nothing(tmp_path):
    """The app's upload and the command line share one check (``check_workbook``); the upload refuses the
    workbook before writing it anywhere."""
    from accountability import uploads

    bomb = zip_bomb(tmp_path / "bomb.xlsx")
    with pytest.raises(InvalidDataset) as read:
        load(bomb)
    with pytest.raises(InvalidDataset) as uploaded:
        uploads.save_upload("bomb.xlsx", bomb.read_bytes(), tmp_path / "up")
    assert uploaded.value.errors == read.value.errors
    assert list((tmp_path / "up").iterdir()) == []


@pytest.mark.parametrize("form, message", [
    ("csv", r".*/forms/csv: its CSV files: \d{1,3},\d{3} bytes \(the limit is 1,000\)"),
    ("tables.json", r"tables\.json: \d{1,3},\d{3} bytes \(the limit is 1,000\)"),
    ("tables.xlsx", r"tables\.xlsx: \d{1,3},\d{3} bytes uncompressed \(the limit is 1,000\)"),
], ids=["csv", "json", "xlsx"])
def test_a_dataset_larger_than_the_limit_is_refused_in_every_form(tmp_path, form, message):
    import re

    from accountability.dataset import Limits

    (tmp_path / "forms").mkdir()
    path = export(load(scenario.write(scenario.base(), tmp_path)), tmp_path / "forms" / form)
    with pytest.raises(InvalidDataset) as err:
        load(path, limits=Limits(bytes=1000))
    assert len(err.value.errors) == 1 and re.fullmatch(message, err.value.errors[0]), err.value.errors


@pytest.mark.parametrize("form, rows, cells", [
    ("csv", "jurisdictions.csv: more than 3 rows (the limit per table)",
     "jurisdictions.csv: more than 20 cells in the dataset (the limit)"),
    ("tables.json", "tables.json: jurisdictions: more than 3 rows (the limit per table)",
     "tables.json: jurisdictions: more than 20 cells in the dataset (the limit)"),
    ("tables.xlsx", "tables.xlsx: more than 3 rows (the limit per workbook, all sheets together)",
     "tables.xlsx: sheet 'jurisdictions': more than 20 cells in the dataset (the limit)"),
], ids=["csv", "json", "xlsx"])
def test_rows_and_cells_beyond_the_limits_are_refused_naming_the_table(tmp_path, form, rows, cells):
    from accountability.dataset import Limits

    (tmp_path / "forms").mkdir()
    path = export(load(scenario.write(scenario.base(), tmp_path)), tmp_path / "forms" / form)
    for limits, message in ((Limits(rows=3), rows), (Limits(cells=20), cells)):
        with pytest.raises(InvalidDataset) as err:
            load(path, limits=limits)
        assert err.value.errors == [message]
    assert load(path).counts() == load(scenario.write(scenario.base(), tmp_path)).counts()  # the defaults hold it


def _rewrite_workbook(source: Path, target: Path, change) -> Path:
    """``source`` with each of its XML parts passed through ``change(name, text)``."""
    import zipfile

    with zipfile.ZipFile(source) as book, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for member in book.infolist():
            out.writestr(member.filename, change(member.filename, book.read(member).decode()))
    return target


def test_a_sheet_is_counted_as_openpyxl_makes_it_gaps_and_shared_parts_included(tmp_path):
    """A row numbered 900,000,000 makes openpyxl yield every empty row before it, and several sheets may
    name one part: both cost work without bytes, and both are counted."""
    import re
    import time

    from accountability.dataset import Limits

    book = export(load(scenario.write(scenario.base(), tmp_path)), tmp_path / "tables.xlsx")

    def gap(name: str, text: str) -> str:
        if name != "xl/worksheets/sheet1.xml":
            return text
        last = re.findall(r'<row r="(\d+)"', text)[-1]
        return re.sub(rf'(<row r="|<c r="[A-Z]+){last}"', r'\g<1>900000000"', text)

    started = time.process_time()
    with pytest.raises(InvalidDataset) as err:
        load(_rewrite_workbook(book, tmp_path / "gap.xlsx", gap), limits=Limits(rows=100_000))
    assert err.value.errors == ["gap.xlsx: more than 100,000 rows (the limit per workbook, all sheets together)"]
    assert time.process_time() - started < 5

    def shared(name: str, text: str) -> str:  # the jurisdictions part again and again, as sheets copy1…copy500
        if name != "xl/workbook.xml":
            return text
        first = re.search(r"<sheet [^>]*/>", text)[0]
        copies = "".join(first.replace('name="jurisdictions"', f'name="copy{i}"')
                         .replace(re.search(r'sheetId="\d+"', first)[0], f'sheetId="{100 + i}"') for i in range(500))
        return text.replace("</sheets>", copies + "</sheets>")

    with pytest.raises(InvalidDataset) as err:
        load(_rewrite_workbook(book, tmp_path / "shared.xlsx", shared), limits=Limits(rows=1000))
    assert err.value.errors == ["shared.xlsx: more than 1,000 rows (the limit per workbook, all sheets together)"]


def test_the_limits_are_settings_so_a_store_of_several_provinces_can_raise_them(tmp_path):
    """``ACCOUNTABILITY_DATASET_MAX_*`` set the reader's limits (a national store holds more than one
    province's rows): lowered here, the same import is refused naming the limit, and no store is made."""
    import os
    import subprocess
    import sys

    folder = scenario.write(scenario.base(), tmp_path)
    program = [sys.executable, "-c", "from accountability.cli import run; run()", "import", str(folder)]
    env = {**os.environ, "ACCOUNTABILITY_DATASET_MAX_ROWS": "3"}
    refused = subprocess.run(program + ["--store", str(tmp_path / "low.db")], capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode != 0 and "more than 3 rows (the limit per table)" in refused.stderr + refused.stdout
    assert not (tmp_path / "low.db").exists()
    env["ACCOUNTABILITY_DATASET_MAX_ROWS"] = "5000000"
    done = subprocess.run(program + ["--store", str(tmp_path / "ok.db")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
