"""The embedded store opens in the tools auditors already use: its references are declared foreign keys, so
Datasette (run here for real, read-only) shows a tenure's person and post by name and links them."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3

import pytest

datasette_app = pytest.importorskip("datasette.app")


def fetch(path, *urls: str) -> list:
    async def run():
        ds = datasette_app.Datasette(immutables=[str(path)])
        return [await ds.client.get(url) for url in urls]

    return asyncio.run(run())


def test_every_reference_is_a_declared_foreign_key_that_the_demo_satisfies(small_demo_store):
    db = sqlite3.connect(f"file:{small_demo_store}?mode=ro", uri=True)
    try:
        declared = {(table, fk[3], fk[2]) for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                    for fk in db.execute(f"PRAGMA foreign_key_list({table})")}
        assert {("tenures", "person_id", "people"), ("tenures", "post_id", "posts"),
                ("posts", "organization_id", "organizations"), ("hazards", "organization_id", "organizations"),
                ("events", "hazard_id", "hazards"), ("inspections", "post_id", "posts")} <= declared
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        # declared for the tools, not enforced: the dataset's validation refuses dangling references
        assert db.execute("PRAGMA foreign_keys").fetchone() == (0,)
    finally:
        db.close()


def test_datasette_shows_a_tenures_person_and_post_by_name_and_leaves_the_file_as_it_was(small_demo_store):
    before = hashlib.sha256(small_demo_store.read_bytes()).hexdigest()
    db = sqlite3.connect(f"file:{small_demo_store}?mode=ro", uri=True)
    person, post, name, title = db.execute(
        "SELECT t.person_id, t.post_id, p.name, s.title FROM tenures t JOIN people p ON p.id = t.person_id "
        "JOIN posts s ON s.id = t.post_id ORDER BY t.rowid LIMIT 1").fetchone()
    db.close()
    stem = small_demo_store.stem
    tenures, page = fetch(small_demo_store, f"/{stem}/tenures.json?_labels=on&_shape=array&person_id={person}",
                          f"/{stem}/people/{person}")
    assert tenures.status_code == 200 and page.status_code == 200
    row = next(r for r in tenures.json() if r["post_id"]["value"] == post)
    assert row["person_id"] == {"value": person, "label": name}
    assert row["post_id"] == {"value": post, "label": title}
    assert "tenures" in page.text  # the person's page links to the rows that refer to them
    assert hashlib.sha256(small_demo_store.read_bytes()).hexdigest() == before
