"""Fuzzing and hostile input at the data layer.

* hypothesis builds datasets that keep the contract and round-trip them through every form (CSV, xlsx,
  JSON → load → store → read back: one content hash);
* it breaks them in one known way each and expects that exact ``table:row: column: reason``;
* it throws junk (any JSON, any bytes, broken workbooks) at ``load`` and ``validate``: the only way out is
  a dataset or ``InvalidDataset``;
* hostile strings (markup, query fragments, control characters, 10,000 characters, bidi marks, formulas)
  are stored and traced verbatim, CSV output neutralises formulas, and oversized input is refused whole.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import scenario
from accountability.cli import main
from accountability.dataset import MAX_TEXT, InvalidDataset, export, from_store, load
from accountability.errors import ExportError
from accountability.output import chain_columns, CHAIN_COLUMNS, chain_csv, chain_rows, csv_safe, to_string
from accountability.session import Session
from accountability.stores.sqlite import SQLiteStore
from graph_schema import SCHEMA

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# "table:row: column: reason", or "table:row: reason" / "table: reason" for a row or a table as a whole (the
# table named as the file names it, whatever that is); the exact prefix is checked where it is known
ERROR = re.compile(r"^[^\n]*: \S", re.S)
LEVELS = [code for code, _ in sorted(SCHEMA.vocab("jurisdiction_levels").items(), key=lambda kv: kv[1].extra["rank"])]
KINDS = list(SCHEMA.vocab("organization_kinds"))
ROLES = list(SCHEMA.vocab("roles"))
INDUSTRIES = [c for c in SCHEMA.vocab("industries") if c != "*"]
EVENT_KINDS = list(SCHEMA.vocab("event_kinds"))
# characters a workbook cannot hold (XML 1.0 forbids them); see test_xlsx_export_* below
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- valid datasets -----------------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
suffix = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters=";"), max_size=4)
dates = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))


def iso(d: dt.date) -> str:
    return d.isoformat()


@st.composite
def datasets(draw) -> dict[str, list[dict]]:
    """A raw dataset ({table: [rows]}) that keeps every rule of the contract."""
    def ident(prefix: str, i: int) -> str:
        return f"{prefix}{i}{draw(suffix)}".strip()

    jur = [{"id": ident("J", 0), "name": draw(names), "level": "province", "parent_id": ""}]
    for i in range(1, draw(st.integers(1, 5))):
        parent = draw(st.sampled_from([j for j in jur if j["level"] != "village"]))
        level = draw(st.sampled_from(LEVELS[LEVELS.index(parent["level"]) + 1:]))
        jur.append({"id": ident("J", i), "name": draw(names), "level": level, "parent_id": parent["id"]})
    orgs = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(KINDS))
        orgs.append({"id": ident("O", i), "name": draw(names), "kind": kind,
                     "jurisdiction_id": draw(st.sampled_from(jur))["id"],
                     "parent_id": draw(st.sampled_from([""] + [o["id"] for o in orgs])),
                     "industries": ";".join(draw(st.lists(st.sampled_from(INDUSTRIES), max_size=3, unique=True))),
                     "supervision": draw(st.sampled_from(["", "sector", "comprehensive"])) if kind == "department" else ""})
    posts = [{"id": ident("Q", i), "title": draw(names), "organization_id": draw(st.sampled_from(orgs))["id"],
              "role": draw(st.sampled_from(ROLES))} for i in range(draw(st.integers(1, 6)))]
    people = [{"id": ident("P", i), "name": draw(names)} for i in range(draw(st.integers(1, 6)))]
    tenures, keys = [], set()
    for post in posts:  # at most one substantive holder per post, acting ones beside
        for acting in draw(st.lists(st.booleans(), max_size=3)):
            if not acting and any(t["post_id"] == post["id"] and t["acting"] == "false" for t in tenures):
                continue
            person, start = draw(st.sampled_from(people))["id"], draw(dates)
            end = draw(st.one_of(st.just(""), st.dates(start, dt.date(2031, 12, 31)).map(iso)))
            if (person, post["id"], iso(start)) not in keys:
                keys.add((person, post["id"], iso(start)))
                tenures.append({"person_id": person, "post_id": post["id"], "start": iso(start), "end": end,
                                "acting": "true" if acting else "false"})
    portfolios, keys = [], set()
    for _ in range(draw(st.integers(0, 4))):
        by_industry = draw(st.booleans())
        row = {"post_id": draw(st.sampled_from(posts))["id"],
               "industry": draw(st.sampled_from(INDUSTRIES + ["*"])) if by_industry else "",
               "organization_id": "" if by_industry else draw(st.sampled_from(orgs))["id"],
               "start": iso(draw(dates)), "end": ""}
        key = (row["post_id"], row["industry"], row["organization_id"], row["start"])
        if key not in keys:
            keys.add(key)
            portfolios.append(row)
    hazards = []
    for i in range(draw(st.integers(1, 6))):
        found = draw(dates)
        status = draw(st.sampled_from(["open", "rectifying", "closed"]))
        hazards.append({
            "id": ident("H", i), "description": draw(text), "industry": draw(st.sampled_from(INDUSTRIES)),
            "level": draw(st.sampled_from(["general", "major"])), "jurisdiction_id": draw(st.sampled_from(jur))["id"],
            "organization_id": draw(st.sampled_from([""] + [o["id"] for o in orgs])), "found_on": iso(found),
            "deadline": draw(st.one_of(st.just(""), st.dates(found, dt.date(2031, 12, 31)).map(iso))),
            "status": status,
            "closed_on": iso(draw(st.dates(found, dt.date(2031, 12, 31)))) if status == "closed" else "",
        })
    incidents = [{"id": ident("I", i), "title": draw(text), "occurred_on": iso(draw(dates)),
                  "jurisdiction_id": draw(st.sampled_from(jur))["id"], "organization_id": "",
                  "industry": draw(st.sampled_from(INDUSTRIES)), "deaths": draw(st.integers(0, 40)),
                  "serious_injuries": draw(st.integers(0, 100)), "direct_loss_yuan": draw(st.integers(0, 10**12)),
                  "hazard_ids": ";".join(draw(st.lists(st.sampled_from([h["id"] for h in hazards]), max_size=2,
                                                       unique=True)))}
                 for i in range(draw(st.integers(1, 3)))]
    events, keys = [], set()
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from([k for k in EVENT_KINDS if k != "reinspected"]))  # needs a closed hazard
        row = {"hazard_id": draw(st.sampled_from(hazards))["id"], "on": iso(draw(dates)), "kind": kind,
               "post_id": draw(st.sampled_from([""] + [p["id"] for p in posts])),
               "deadline": iso(draw(dates)) if kind == "deadline_extended" else "", "note": draw(text),
               "outcome": draw(st.sampled_from(["held", "relapsed"])) if kind == "reinspected" else ""}
        key = (row["hazard_id"], row["on"], kind, row["post_id"], row["deadline"])
        if key not in keys:
            keys.add(key)
            events.append(row)
    data = {"jurisdictions": jur, "organizations": orgs, "posts": posts, "people": people, "tenures": tenures,
            "portfolios": portfolios, "hazards": hazards, "incidents": incidents, "events": events}
    if draw(st.booleans()):  # extra columns are kept as properties
        for row in hazards:
            row["x_inspector"] = draw(text)
    return data


def write_json(data: dict, folder: Path) -> Path:
    path = folder / "dataset.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(data: dict, folder: Path) -> Path:
    """The raw rows as a CSV folder, as a spreadsheet user would save them (no library code involved)."""
    out = folder / "csv"
    out.mkdir()
    for table, rows in data.items():
        header = list(dict.fromkeys(k for row in rows if isinstance(row, dict) for k in row))
        with (out / f"{table}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
    return out


def for_workbook(data: dict) -> dict:
    """``data`` without the characters XML forbids, which a workbook cannot hold (export refuses them: see
    ``test_xlsx_export_of_control_characters_is_refused_clearly``)."""
    def clean(value):
        if not isinstance(value, str):
            return value
        value = XML_ILLEGAL.sub("", value)
        return value or "x"
    return {t: [{k: clean(v) if v else v for k, v in row.items()} for row in rows] for t, rows in data.items()}


@FUZZ
@given(datasets())
def test_valid_datasets_round_trip_through_every_form_and_the_store(data):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        original = load(write_json(data, tmp))
        digest = original.content_hash()
        assert load(write_csv(data, tmp)).content_hash() == digest  # the CSV a user writes reads the same
        for form in ("csv-out", "out.json"):
            assert load(export(original, tmp / form)).content_hash() == digest, form
        (tmp / "wb").mkdir()
        plain = load(write_json(for_workbook(data), tmp / "wb"))
        assert load(export(plain, tmp / "out.xlsx")).content_hash() == plain.content_hash()
        with SQLiteStore(tmp / "store.db") as store:
            assert not store.write(load(tmp / "csv-out")).unchanged
            assert from_store(store).content_hash() == digest
            assert store.meta()["dataset_hash"] == digest


# -- invalid datasets: one known mistake each ------------------------------------------------------------


def _row(data, table, i):
    return data[table][i % len(data[table])], i % len(data[table])


def break_(kind: str, data: dict, i: int) -> tuple[str, int | None, str | None, str]:
    """Break ``data`` in one way; return (table, row index or None, column or None, reason fragment)."""
    if kind == "bad_date":
        row, n = _row(data, "hazards", i)
        row["found_on"] = ["2026-02-30", "26-01-01", "yesterday", "2026-13-01"][i % 4]
        return "hazards", n, "found_on", "date"
    if kind == "unknown_ref":
        row, n = _row(data, "organizations", i)
        row["jurisdiction_id"] = "NOWHERE"
        return "organizations", n, "jurisdiction_id", "unknown jurisdiction 'NOWHERE'"
    if kind == "unknown_vocab":
        row, n = _row(data, "hazards", i)
        row["industry"] = "unicorns"
        return "hazards", n, "industry", "unknown industry 'unicorns'"
    if kind == "duplicate_id":
        data["people"].append(dict(data["people"][i % len(data["people"])]))
        return "people", len(data["people"]) - 1, "id", "duplicate"
    if kind == "missing_value":
        row, n = _row(data, "posts", i)
        row["title"] = ""
        return "posts", n, "title", "required"
    if kind == "end_before_start":
        data["tenures"].append({"person_id": data["people"][0]["id"], "post_id": data["posts"][0]["id"],
                                "start": "2020-05-02", "end": "2020-05-01", "acting": "true"})
        return "tenures", len(data["tenures"]) - 1, "end", "is before start"
    if kind == "negative":
        row, n = _row(data, "incidents", i)
        row["deaths"] = -1 - i
        return "incidents", n, "deaths", "must not be negative"
    if kind == "bad_bool":
        data["tenures"].append({"person_id": data["people"][0]["id"], "post_id": data["posts"][0]["id"],
                                "start": "1999-01-01", "end": "", "acting": "maybe"})
        return "tenures", len(data["tenures"]) - 1, "acting", "not true or false"
    if kind == "long_id":
        row, n = _row(data, "people", i)
        row["id"] = "P" * 201
        return "people", n, "id", "longer than 200"
    if kind == "semicolon_id":
        row, n = _row(data, "hazards", i)
        row["id"] = "H;1"
        return "hazards", n, "id", "control character or ';'"
    if kind == "cycle":
        data["jurisdictions"][0]["parent_id"] = data["jurisdictions"][-1]["id"]
        return "jurisdictions", 0, "parent_id", "cycle"
    if kind == "closed_without_date":
        row, n = _row(data, "hazards", i)
        row["status"], row["closed_on"] = "closed", ""
        return "hazards", n, "closed_on", "a closed hazard needs closed_on"
    if kind == "long_text":
        row, n = _row(data, "hazards", i)
        row["description"] = "长" * (MAX_TEXT + 1)
        return "hazards", n, "description", f"text longer than {MAX_TEXT} characters"
    if kind == "missing_column":
        for row in data["hazards"]:
            del row["level"]
        return "hazards", None, "level", "missing required column"
    if kind == "extension_without_deadline":
        data["events"].append({"hazard_id": data["hazards"][0]["id"], "on": "2026-01-01", "kind": "deadline_extended"})
        return "events", len(data["events"]) - 1, "deadline", "needs the new deadline"
    if kind == "overlap":
        data["tenures"] += [{"person_id": data["people"][0]["id"], "post_id": data["posts"][0]["id"],
                             "start": "1990-01-01", "end": "", "acting": "false"}]
        # every post's substantive tenure is open-ended or later, so this one overlaps one if there is one
        assume(any(t["post_id"] == data["posts"][0]["id"] and t.get("acting") == "false" for t in data["tenures"][:-1]))
        return "tenures", None, "start", "overlaps the non-acting tenure"
    if kind == "unknown_table":
        data["planets"] = [{"id": "mars"}]
        return "planets", None, None, "unknown table"
    raise AssertionError(kind)


MISTAKES = ["bad_date", "unknown_ref", "unknown_vocab", "duplicate_id", "missing_value", "end_before_start",
            "negative", "bad_bool", "long_id", "semicolon_id", "cycle", "closed_without_date", "long_text",
            "missing_column", "extension_without_deadline", "overlap", "unknown_table"]


@FUZZ
@given(datasets(), st.sampled_from(MISTAKES), st.integers(0, 10))
def test_each_mistake_is_named_as_table_row_column_reason(data, kind, i):
    data = copy.deepcopy(data)
    table, index, column, reason = break_(kind, data, i)
    # a cell holding a line break shifts the CSV reader's row numbers (see test_csv_rows_are_numbered_…)
    multiline = any(isinstance(v, str) and ("\n" in v or "\r" in v) for rows in data.values() for row in rows
                    if isinstance(row, dict) for v in row.values())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        forms = [(write_json(data, tmp), 1)] + ([] if multiline else [(write_csv(data, tmp), 2)])
        for path, first_row in forms:
            with pytest.raises(InvalidDataset) as info:
                load(path)
            errors = info.value.errors
            assert errors and all(ERROR.match(e) for e in errors), errors
            if column is None:
                wanted = f"{table}: "
            elif index is None:
                wanted = f"{table}:"
            else:
                wanted = f"{table}:{index + first_row}: {column}: "
            found = [e for e in errors if e.startswith(wanted) and reason in e and (column is None or f": {column}: " in e)]
            assert found, (wanted, reason, errors)
        result = run("validate", path)  # the CLI says the same, on stderr, exit 1
        assert result.exit_code == 1 and found[0].splitlines()[0] in result.output


# -- junk -------------------------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False,
                         allow_infinity=False), st.text(max_size=12))
keys = st.text(max_size=5)  # line breaks and control characters too: they must not forge error lines
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(keys, inner, max_size=3), max_leaves=8)
COLUMNS = sorted({c for t in SCHEMA.tables.values() for c in t.names})
tables_ish = st.dictionaries(
    st.sampled_from(list(SCHEMA.tables) + ["junk", ""]),
    st.one_of(json_values, st.lists(st.one_of(json_values, st.dictionaries(st.sampled_from(COLUMNS + ["x"]), json_values,
                                                                           max_size=8)), max_size=4)),
    max_size=10)


def only_invalid_dataset(path: Path) -> None:
    """``load`` gives a Dataset or raises InvalidDataset with well-formed messages — nothing else."""
    try:
        load(path)
    except InvalidDataset as exc:
        assert exc.errors and all(isinstance(e, str) and ERROR.match(e) for e in exc.errors), exc.errors


@FUZZ
@given(st.one_of(tables_ish, json_values))
def test_any_json_is_a_dataset_or_a_list_of_errors(value):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.json"
        path.write_text(json.dumps(value), encoding="utf-8")
        only_invalid_dataset(path)


@FUZZ
@given(st.dictionaries(st.sampled_from(list(SCHEMA.tables) + ["junk"]), st.binary(max_size=200), min_size=1,
                       max_size=4))
def test_any_bytes_in_csv_files_are_a_dataset_or_a_list_of_errors(files):
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            (Path(tmp) / f"{name}.csv").write_bytes(content)
        only_invalid_dataset(Path(tmp))


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_a_workbook_are_a_dataset_or_a_list_of_errors(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.xlsx"
        path.write_bytes(content)
        only_invalid_dataset(path)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> dict[str, bytes]:
    """The members of a real workbook holding the scenario."""
    tmp = tmp_path_factory.mktemp("workbook")
    path = export(load(scenario.write(scenario.base(), tmp)), tmp / "good.xlsx")
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # a workbook's repr is large
@settings(FUZZ, report_multiple_bugs=False)
@given(data=st.data())
def test_a_damaged_workbook_is_a_list_of_errors(workbook, data):
    """A real workbook with one member cut short, overwritten in part or left out."""
    name = data.draw(st.sampled_from(sorted(workbook)))
    body = workbook[name]
    damage = data.draw(st.one_of(st.none(), st.integers(0, len(body)), st.binary(min_size=1, max_size=40)))
    if isinstance(damage, int):
        body = body[:damage]
    elif isinstance(damage, bytes):
        at = data.draw(st.integers(0, len(body)))
        body = body[:at] + damage + body[at + len(damage):]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.xlsx"
        with zipfile.ZipFile(path, "w") as z:
            for member, content in workbook.items():
                if member != name:
                    z.writestr(member, content)
                elif damage is not None:
                    z.writestr(member, body)
        only_invalid_dataset(path)


@FUZZ
@given(st.one_of(tables_ish, json_values))
def test_import_of_junk_exits_1_with_a_message_and_stores_nothing(value):
    with tempfile.TemporaryDirectory() as tmp:
        path, db = Path(tmp) / "d.json", Path(tmp) / "store.db"
        path.write_text(json.dumps(value), encoding="utf-8")
        result = run("import", path, "--store", db)
        assert result.exit_code in (0, 1), result.output
        assert isinstance(result.exception, (SystemExit, type(None))), result.exception
        if result.exit_code == 1:
            assert result.output.startswith("error: ") and not db.exists()


# -- defects the fuzzer found, fixed: each kept as a test -------------------------------------------------


def test_input_cannot_forge_error_lines(tmp_path):
    data = scenario.base()
    data["hazards"][0]["found_on"] = "soon\nhazards:99: id: forged"
    data["planets\npeople:99: name: forged"] = []
    with pytest.raises(InvalidDataset) as info:
        load(write_json(data, tmp_path))
    assert len(info.value.errors) == 2
    assert all("\n" not in e for e in info.value.errors), info.value.errors


def test_csv_rows_are_numbered_as_records_not_lines(tmp_path):
    data = scenario.base()
    data["people"][0]["name"] = "two\nlines"
    data["people"][1]["id"] = "bad;id"
    with pytest.raises(InvalidDataset) as info:
        load(write_csv(data, tmp_path))
    assert any(e.startswith("people:3: id: ") for e in info.value.errors), info.value.errors



def test_xlsx_export_keeps_a_text_that_starts_with_equals(tmp_path):
    data = scenario.base()
    data["hazards"][0]["description"] = '=HYPERLINK("http://evil.example","x")'
    original = load(scenario.write(data, tmp_path))
    assert load(export(original, tmp_path / "d.xlsx")).content_hash() == original.content_hash()


@pytest.mark.parametrize("bad", ["bell\x07", "nul\x00", "\x1b[31m", "\uffff"])
def test_xlsx_export_of_control_characters_is_refused_clearly(tmp_path, bad):
    data = scenario.base()
    data["people"][1]["name"] = f"name {bad}"
    original = load(scenario.write(data, tmp_path))
    with pytest.raises(ExportError) as info:
        export(original, tmp_path / "d.xlsx")
    assert str(info.value).startswith("people:3: name: a control character cannot be written")
    assert not (tmp_path / "d.xlsx").exists()
    assert load(export(original, tmp_path / "d.json")).content_hash() == original.content_hash()


# -- hostile strings ---------------------------------------------------------------------------------------

HOSTILE = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    "MATCH (n) DETACH DELETE n //",
    "'); DROP TABLE hazards; --",
    'Robert"); DELETE FROM people WHERE ("1"="1',
    "line one\nline two\r\nline three",
    "nul\x00 bell\x07 esc\x1b[31m vt\x0b del\x7f",
    "长" * 10_000,
    "\u202eevil\u202c \u200fمرحبا\u200f",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "\t=1+1",
    "  leading and trailing spaces  ",
    '\\u0041 {"json": "}"} ${jndi:ldap://x}',
    "\ufeffBOM 𝕏🔥",
]
# posts on hazard H1's chain (see scenario.py): each gets a hostile title, its holder a hostile name
CHAIN = ["E1-GM", "E1-SM", "K-HOUSING-HEAD", "K-DEP", "K-EXEC", "K-SEC", "K-HEAD", "T-SEC", "T-HEAD"]


@pytest.fixture
def hostile(tmp_path):
    data = scenario.base()
    titles, names = {}, {}
    for i, post_id in enumerate(CHAIN):
        titles[post_id] = HOSTILE[i % len(HOSTILE)]
        names[f"PE-{post_id}"] = HOSTILE[(i + len(CHAIN)) % len(HOSTILE)]
    for post in data["posts"]:
        post["title"] = titles.get(post["id"], post["title"])
    for person in data["people"]:
        person["name"] = names.get(person["id"], person["name"])
    descriptions = {}
    for i, value in enumerate(HOSTILE):
        hid = f"HX{i:02d}"
        data["hazards"].append(scenario.hazard(hid, "urban_gas", "T", "E1", found_on="2026-01-01", deadline="2026-02-01"))
        data["hazards"][-1]["description"] = descriptions[hid] = value
    data["hazards"].append(scenario.hazard("@SUM(1)", "urban_gas", "T", "E1", found_on="2026-01-01",
                                           deadline="2026-02-01"))
    db = tmp_path / "store.db"
    result = run("import", scenario.write(data, tmp_path), "--store", db)
    assert result.exit_code == 0, result.output
    return db, titles, names, descriptions


def test_hostile_strings_are_stored_verbatim(hostile):
    db, titles, names, descriptions = hostile
    with SQLiteStore(db, readonly=True) as store:
        assert {p["id"]: p["title"] for p in store.rows("posts", id=list(titles))} == titles
        assert {p["id"]: p["name"] for p in store.rows("people", id=list(names))} == names
        assert {h["id"]: h["description"] for h in store.rows("hazards", id=list(descriptions))} == descriptions
    # the values a workbook could not hold are among them: the store does not care
    assert any(XML_ILLEGAL.search(v) for v in HOSTILE) and max(map(len, HOSTILE)) == 10_000


def test_hostile_strings_come_back_verbatim_in_trace_json(hostile):
    db, titles, names, _ = hostile
    result = run("trace", "H1", "--as-of", "2026-06-01", "--store", db, "--format", "json")
    assert result.exit_code == 0, result.output
    chain = json.loads(result.stdout)
    got_titles = {link["post_id"]: link["post_title"] for link in chain["links"]}
    got_names = {h["person_id"]: h["name"] for link in chain["links"] for h in link["holders"]}
    assert set(titles) <= set(got_titles), "every hostile post is on the chain"
    assert {p: got_titles[p] for p in titles} == titles
    assert {p: got_names[p] for p in names} == names


def test_csv_output_neutralises_formulas_and_keeps_everything_else(hostile):
    db, titles, names, descriptions = hostile
    result = run("trace", "--all", "--as-of", "2026-06-01", "--store", db, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode(), newline="")))
    got_titles = {r["post_id"]: r["post_title"] for r in rows if r["post_id"] in titles}
    got_names = {r["person_id"]: r["name"] for r in rows if r["person_id"] in names}
    assert got_titles == {k: csv_safe(v) for k, v in titles.items()}
    assert got_names == {k: csv_safe(v) for k, v in names.items()}
    assert "'@SUM(1)" in {r["hazard_id"] for r in rows}  # ids are cells too
    formulas = [v for v in list(titles.values()) + list(names.values()) if v[:1] in "=+-@\t"]
    assert len(formulas) >= 4
    assert all(csv_safe(cell) == cell for r in rows for cell in r.values())  # nothing left to neutralise

    query = run("query", "overdue-hazards", "--param", "as_of=2026-06-01", "--store", db, "--format", "csv")
    assert query.exit_code == 0, query.output
    got = {r["hazard_id"]: r["description"] for r in csv.DictReader(io.StringIO(query.stdout_bytes.decode(), newline=""))
           if r["hazard_id"] in descriptions}
    assert got == {k: csv_safe(v) for k, v in descriptions.items()}
    assert got["HX09"] == "'" + HOSTILE[9] and got["HX12"] == "'-2+3" and got["HX00"] == HOSTILE[0]
    as_json = run("query", "overdue-hazards", "--param", "as_of=2026-06-01", "--store", db, "--format", "json")
    assert {r["hazard_id"]: r["description"] for r in json.loads(as_json.stdout)
            if r["hazard_id"] in descriptions} == descriptions


def test_chain_csv_pieces_write_what_the_rows_write(hostile):
    """``trace --all`` builds CSV lines from pieces cached per link; they are the lines ``chain_rows`` gives,
    hostile text, holders' overlaps (a window) and gaps included."""
    db = hostile[0]
    with Session(str(db), readonly=True) as s:
        chains = list(s.trace_all("2026-06-01"))
        chains += [s.trace(c.hazard_id, start="2025-01-01", end="2026-06-01") for c in chains[:5]]
        assert any(h.overlap for c in chains for link in c.links for h in link.holders)
        v2 = s.ruleset.generation >= 2
        # a chain of gaps only (no link to tell the generation by) has the columns of its ruleset too
        gaps_only = dataclasses.replace(chains[0], links=[], parts=(), gaps=[{"kind": "no_principal"}])
        for chain in chains + [gaps_only]:
            rows = to_string(chain_rows(chain.as_dict(s.ruleset)), chain_columns(v2), "csv")
            assert chain_csv(chain, v2).decode() == rows.split("\n", 1)[1], chain.hazard_id
        # a hazard id that CSV must quote or neutralize goes the slow, exact way
        for hid in ('H,"1', "=H1", "H\n1", "", "-1"):
            chain = dataclasses.replace(chains[0], hazard_id=hid)
            rows = to_string(chain_rows(chain.as_dict(s.ruleset)), chain_columns(v2), "csv")
            assert chain_csv(chain, v2).decode() == rows.split("\n", 1)[1], hid


# -- oversized input ----------------------------------------------------------------------------------------


@pytest.fixture
def loaded(tmp_path):
    """A store holding the scenario, and the scenario as a CSV folder to spoil."""
    db = tmp_path / "store.db"
    path = scenario.write(scenario.base(), tmp_path)
    assert run("import", path, "--store", db).exit_code == 0
    folder = export(load(path), tmp_path / "csv")
    with SQLiteStore(db, readonly=True) as store:
        before = (from_store(store).content_hash(), store.meta()["audit_head"])
    return db, folder, before


def unchanged(db: Path, before: tuple) -> bool:
    with SQLiteStore(db, readonly=True) as store:
        return (from_store(store).content_hash(), store.meta()["audit_head"]) == before


def test_a_csv_field_over_the_csv_modules_limit_is_refused(loaded):
    db, folder, before = loaded
    field_limit = csv.field_size_limit()
    rows = list(csv.reader((folder / "hazards.csv").open(encoding="utf-8")))
    rows[1][1] = "x" * (field_limit + 1)
    with (folder / "hazards.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = run("import", folder, "--store", db)
    assert result.exit_code == 1
    assert f"hazards:2: unreadable CSV: field larger than field limit ({field_limit})" in result.output
    assert "Traceback" not in result.output and unchanged(db, before)


def test_a_text_over_the_contracts_limit_is_refused(loaded):
    db, folder, before = loaded
    rows = list(csv.reader((folder / "hazards.csv").open(encoding="utf-8")))
    rows[1][1] = "x" * (MAX_TEXT + 1)
    with (folder / "hazards.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = run("import", folder, "--store", db)
    assert result.exit_code == 1 and f"hazards:2: description: text longer than {MAX_TEXT} characters" in result.output
    assert unchanged(db, before)


def test_ten_thousand_rows_of_junk_are_refused_with_a_bounded_message(loaded):
    db, folder, before = loaded
    with (folder / "hazards.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(SCHEMA.tables["hazards"].names)
        for i in range(10_000):
            junk = [f"J{i}", "<junk>", "unicorns", "dire", "nowhere", "", "someday", "", "maybe", ""]
            writer.writerow(junk + [""] * (len(SCHEMA.tables["hazards"].names) - len(junk)))  # v2's columns empty
    result = run("import", folder, "--store", db)
    assert result.exit_code == 1
    message = result.output
    count = int(re.match(r"error: invalid dataset: (\d+) error\(s\)\n", message).group(1))
    assert count >= 40_000  # four bad cells a row
    assert "hazards:2: industry: unknown industry 'unicorns'" in message and f"… and {count - 200} more" in message
    assert len(message.splitlines()) == 202 and len(message) < 40_000
    assert unchanged(db, before)
