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
