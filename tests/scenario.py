"""A small hand-built jurisdiction for the rule tests: every link in it is known by heart.

    P 江南省 (province)
    └── C 临江市 (city)              C-HOUSING regulates urban_gas, construction; C-FOREST forest_fire
        ├── K 东湖区 (county)        K-HOUSING urban_gas, construction; K-EM comprehensive + chemicals
        │   └── T 青石镇 (township)  PARK 东湖经开区 (park committee, in K)
        │       └── V 石桥村 (village)
        └── K2 西山县 (county)       no departments of its own

Every government has a head, an executive deputy in charge of safety overall (portfolio ``*``) and a
deputy whose portfolio covers urban gas; every party committee a secretary.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

START = "2020-01-01"


def _gov(jid: str, name: str, level_word: str) -> dict:
    """Party committee, government and their leaders for one jurisdiction."""
    orgs = [
        {"id": f"{jid}-PC", "name": f"中共{name}委员会", "kind": "party_committee", "jurisdiction_id": jid},
        {"id": f"{jid}-GOV", "name": f"{name}人民政府", "kind": "government", "jurisdiction_id": jid},
    ]
    posts = [
        {"id": f"{jid}-SEC", "title": f"{name}委书记", "organization_id": f"{jid}-PC", "role": "party_secretary"},
        {"id": f"{jid}-HEAD", "title": f"{level_word}长", "organization_id": f"{jid}-GOV", "role": "government_head"},
        {"id": f"{jid}-EXEC", "title": f"常务副{level_word}长", "organization_id": f"{jid}-GOV",
         "role": "executive_deputy_head"},
        {"id": f"{jid}-DEP", "title": f"副{level_word}长", "organization_id": f"{jid}-GOV", "role": "deputy_head"},
    ]
    return {"organizations": orgs, "posts": posts}


def _dept(oid: str, name: str, jid: str, industries: str, supervision: str = "sector") -> tuple[dict, dict]:
    org = {"id": oid, "name": name, "kind": "department", "jurisdiction_id": jid, "industries": industries,
           "supervision": supervision}
    post = {"id": f"{oid}-HEAD", "title": f"{name}局长", "organization_id": oid, "role": "department_head"}
    return org, post


def base() -> dict[str, list[dict]]:
    data: dict[str, list[dict]] = {
        "jurisdictions": [
            {"id": "P", "name": "江南省", "level": "province", "parent_id": ""},
            {"id": "C", "name": "临江市", "level": "city", "parent_id": "P"},
            {"id": "K", "name": "东湖区", "level": "county", "parent_id": "C"},
            {"id": "T", "name": "青石镇", "level": "township", "parent_id": "K"},
            {"id": "V", "name": "石桥村", "level": "village", "parent_id": "T"},
            {"id": "K2", "name": "西山县", "level": "county", "parent_id": "C"},
        ],
        "organizations": [],
        "posts": [],
        "people": [],
        "tenures": [],
        "portfolios": [],
        "hazards": [],
        "incidents": [],
        "events": [],
    }
    for jid, name, word in (("P", "江南省", "省"), ("C", "临江市", "市"), ("K", "东湖区", "区"), ("T", "青石镇", "镇"),
                            ("K2", "西山县", "县")):
        part = _gov(jid, name, word)
        data["organizations"] += part["organizations"]
        data["posts"] += part["posts"]
    for oid, name, jid, industries, sup in (
        ("P-EM", "江南省应急管理厅", "P", "hazardous_chemicals", "comprehensive"),
        ("C-EM", "临江市应急管理局", "C", "hazardous_chemicals;mining", "comprehensive"),
        ("C-HOUSING", "临江市住房和城乡建设局", "C", "urban_gas;construction", "sector"),
        ("C-FOREST", "临江市林业局", "C", "forest_fire", "sector"),
        ("K-EM", "东湖区应急管理局", "K", "hazardous_chemicals", "comprehensive"),
        ("K-HOUSING", "东湖区住房和城乡建设局", "K", "urban_gas;construction", "sector"),
    ):
        org, post = _dept(oid, name, jid, industries, sup)
        data["organizations"].append(org)
        data["posts"].append(post)
    data["organizations"] += [
        {"id": "PARK", "name": "东湖经济开发区管委会", "kind": "park_committee", "jurisdiction_id": "K"},
        {"id": "E1", "name": "青石燃气有限公司", "kind": "enterprise", "jurisdiction_id": "T", "industries": "urban_gas"},
        {"id": "E2", "name": "东湖化工有限公司", "kind": "enterprise", "jurisdiction_id": "T", "parent_id": "PARK",
         "industries": "hazardous_chemicals"},
        {"id": "E3", "name": "石桥建筑工程有限公司", "kind": "enterprise", "jurisdiction_id": "V",
         "industries": "construction"},
    ]
    data["posts"] += [
        {"id": "PARK-DIR", "title": "管委会主任", "organization_id": "PARK", "role": "park_director"},
        {"id": "E1-GM", "title": "总经理", "organization_id": "E1", "role": "enterprise_principal"},
        {"id": "E1-SM", "title": "安全总监", "organization_id": "E1", "role": "safety_manager"},
        {"id": "E2-GM", "title": "董事长", "organization_id": "E2", "role": "enterprise_principal"},
        {"id": "E3-SM", "title": "安全员", "organization_id": "E3", "role": "safety_manager"},
    ]
    # one person per post, holding it since START; people are named after their post
    for i, post in enumerate(data["posts"], start=1):
        pid = f"PE-{post['id']}"
        data["people"].append({"id": pid, "name": f"人员{i:02d}"})
        data["tenures"].append({"person_id": pid, "post_id": post["id"], "start": START, "end": "", "acting": "false"})
    for jid in ("P", "C", "K", "T", "K2"):
        data["portfolios"].append({"post_id": f"{jid}-EXEC", "industry": "*", "start": START})
    data["portfolios"] += [
        {"post_id": "C-DEP", "organization_id": "C-HOUSING", "start": START},
        {"post_id": "K-DEP", "industry": "urban_gas", "start": START},
        {"post_id": "K-DEP", "organization_id": "K-EM", "start": START},
    ]
    data["hazards"] = [
        hazard("H1", "urban_gas", "T", "E1", found_on="2026-01-01", deadline="2026-03-01"),
    ]
    return data


def hazard(hid: str, industry: str, jid: str, org: str = "", level: str = "general", found_on: str = "2026-01-01",
           deadline: str = "", status: str = "open", closed_on: str = "") -> dict:
    return {"id": hid, "description": f"隐患{hid}", "industry": industry, "level": level, "jurisdiction_id": jid,
            "organization_id": org, "found_on": found_on, "deadline": deadline, "status": status,
            "closed_on": closed_on}


def write(data: dict, folder: Path) -> Path:
    path = Path(folder) / "dataset.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def variant(**changes) -> dict:
    data = copy.deepcopy(base())
    for table, rows in changes.items():
        data[table] = rows
    return data


def assert_refused(folder: Path, good: dict, bad: dict, message: str) -> None:
    """``bad`` is refused with ``message`` by the library and by ``import``, and the store that held ``good``
    holds it still."""
    import pytest
    from click.testing import CliRunner

    from accountability.cli import main
    from accountability.dataset import from_store, load
    from accountability.errors import InvalidDataset
    from accountability.stores.sqlite import SQLiteStore

    folder = Path(folder)
    (folder / "good").mkdir()
    (folder / "bad").mkdir()
    path = folder / "store.db"
    with SQLiteStore(path) as store:
        store.write(load(write(good, folder / "good")))
        before = from_store(store).content_hash()
    with pytest.raises(InvalidDataset) as caught:
        load(write(bad, folder / "bad"))
    assert message in str(caught.value)
    result = CliRunner().invoke(main, ["import", str(folder / "bad" / "dataset.json"), "--store", str(path)])
    assert result.exit_code == 1 and message in result.output
    with SQLiteStore(path) as store:
        assert from_store(store).content_hash() == before
