"""The Neo4j store against a real Neo4j 5: failures (server down, wrong password, an import interrupted
by an error or a killed server, a deadlock retried), chains written back as relationships, push/pull,
and the raw read-only Cypher console (refusals, time limit, row cap) — the database checked afterwards.

The contract every store shares is in ``test_stores.py``; chain parity with the embedded store in
``test_parity.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import threading
import time

import orjson
import pytest
import scenario
from click.testing import CliRunner

from accountability import rawquery
from accountability.cli import main
from accountability.dataset import from_store, load
from accountability.errors import StoreError, UsageError
from accountability.rawquery import QueryRefused, QueryTimeout, check_cypher, run_cypher
from accountability.session import Session
from accountability.stores import open_store
from accountability.stores.neo4j import Neo4jStore
from accountability.stores.sqlite import SQLiteStore

neo4j = pytest.importorskip("neo4j")
pytestmark = pytest.mark.neo4j

AS_OF = "2026-01-25"
RUNAWAY = "UNWIND range(1, 100000000) AS x WITH x WHERE x % 7 = 0 RETURN count(*)"


def scenario_data() -> dict:
    """The scenario with more to store: three hazards, events, an incident, an acting holder, extra
    columns, and a vacant post (the K-HOUSING head) so that vacant links are written back too."""
    data = scenario.base()
    data["hazards"] += [
        scenario.hazard("H2", "hazardous_chemicals", "T", "E2", level="major", found_on="2026-01-10",
                        deadline="2026-02-01"),
        scenario.hazard("H3", "construction", "V", "E3", found_on="2025-12-01", status="closed",
                        closed_on="2026-01-20"),
    ]
    data["hazards"][0]["inspector"] = "王五"
    data["events"] = [
        {"hazard_id": "H2", "on": "2026-01-25", "kind": "deadline_extended", "deadline": "2026-03-01"},
        {"hazard_id": "H2", "on": "2026-01-11", "kind": "escalated", "post_id": "K-EM-HEAD"},
        {"hazard_id": "H1", "on": "2026-01-02", "kind": "inspected", "note": "复查"},
    ]
    data["incidents"] = [{"id": "I1", "title": "燃气爆炸", "occurred_on": "2026-02-01", "jurisdiction_id": "T",
                          "organization_id": "E1", "industry": "urban_gas", "deaths": 3, "serious_injuries": 2,
                          "direct_loss_yuan": 5_000_000, "hazard_ids": "H1;H2"}]
    data["tenures"] = [t for t in data["tenures"] if t["post_id"] != "K-HOUSING-HEAD"]
    data["people"].append({"id": "PE-ACTING", "name": "代理人"})
    data["tenures"].append({"person_id": "PE-ACTING", "post_id": "K-HEAD", "start": "2025-06-01", "end": "",
                            "acting": "true"})
    return data


def changed(data: dict) -> dict:
    """The same scenario a little later: renamed jurisdictions, one hazard gone, one changed."""
    for j in data["jurisdictions"]:
        j["name"] += "（新）"
    data["hazards"] = [h for h in data["hazards"] if h["id"] != "H3"]
    data["hazards"][0]["description"] = "新描述"
    return data


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("neo4j-data")
    (folder / "v1").mkdir()
    (folder / "v2").mkdir()
    v1 = load(scenario.write(scenario_data(), folder / "v1"))
    v2 = load(scenario.write(changed(scenario_data()), folder / "v2"))
    return v1, v2


@pytest.fixture
def loaded(neo4j_store, datasets):
    """A clean Neo4j store holding the first dataset."""
    neo4j_store.write(datasets[0])
    return neo4j_store


def fingerprint(store: Neo4jStore) -> tuple:
    """Every node (labels and properties) and relationship (type, ends, properties) as one digest, and counts."""
    with store.driver.session(database=store.database) as session:
        nodes = sorted(orjson.dumps([sorted(r["l"]), r["p"]], option=orjson.OPT_SORT_KEYS)
                       for r in session.run("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"))
        rels = sorted(orjson.dumps([r["t"], r["a"], r["b"], r["p"]], option=orjson.OPT_SORT_KEYS)
                      for r in session.run("MATCH (a)-[r]->(b) RETURN type(r) AS t, a._key AS a, b._key AS b, "
                                           "properties(r) AS p"))
    digest = hashlib.sha256(b"\n".join(nodes) + b"\n--\n" + b"\n".join(rels)).hexdigest()
    return digest, len(nodes), len(rels)


def leftovers(store: Neo4jStore) -> int:
    """Data nodes of another generation than the current one."""
    with store.driver.session(database=store.database) as session:
        return session.run("MATCH (m:Meta {_key: 'store'}) MATCH (n) WHERE n._gen <> m._gen "
                           "RETURN count(n)").single()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, **kwargs):
    return CliRunner().invoke(main, list(args), **kwargs)


# -- the model ---------------------------------------------------------------------------------------------


def test_rows_are_nodes_and_foreign_keys_are_relationships(loaded):
    with loaded.driver.session() as session:
        def one(query: str, **params):
            return session.run(query, params).single()[0]

        # a tenure is a record between a person and a post, not a bare edge
        assert one("MATCH (:Person {id: 'PE-ACTING'})-[:HELD]->(t:Tenure)-[:OF_POST]->(p:Post) "
                   "RETURN [t.acting, t.start, p.id]") == [True, "2025-06-01", "K-HEAD"]
        assert one("MATCH (:Post {id: 'K-DEP'})-[:HAS_PORTFOLIO]->(f:Portfolio)-[:COVERS]->(o:Organization) "
                   "RETURN o.id") == "K-EM"
        assert one("MATCH (h:Hazard {id: 'H2'})-[:AT]->(:Organization)-[:UNDER]->(o) RETURN o.id") == "PARK"
        assert one("MATCH (:Hazard {id: 'H1'})-[:IN]->(:Jurisdiction)-[:PART_OF*]->(p {level: 'province'}) "
                   "RETURN p.id") == "P"
        assert one("MATCH (:Incident {id: 'I1'})-[:LINKED_HAZARD]->(h) RETURN collect(h.id)") in (["H1", "H2"],
                                                                                                 ["H2", "H1"])
        assert one("MATCH (e:Event)-[:OF_HAZARD]->(:Hazard {id: 'H2'}) RETURN count(e)") == 2
        # properties keep their types: lists, booleans, integers; extra columns as JSON text
        assert one("MATCH (o:Organization {id: 'C-EM'}) RETURN o.industries") == ["hazardous_chemicals", "mining"]
        assert one("MATCH (i:Incident) RETURN i.direct_loss_yuan") == 5_000_000
        assert orjson.loads(one("MATCH (h:Hazard {id: 'H1'}) RETURN h.extra")) == {"inspector": "王五"}
        assert one("MATCH (h:Hazard {id: 'H1'}) RETURN h.closed_on IS NULL") is True
        keys = {(r["l"][0], tuple(r["p"])) for r in session.run(
            "SHOW CONSTRAINTS YIELD labelsOrTypes AS l, properties AS p, type WHERE type = 'UNIQUENESS' RETURN l, p")}
        # a row's key is unique per generation (two exist during an import); Meta's alone
        assert keys >= {(label, ("_key", "_gen")) for label in ("Jurisdiction", "Organization", "Post", "Person",
                                                                 "Tenure", "Portfolio", "Hazard", "Incident",
                                                                 "Event", "Industry")} | {("Meta", ("_key",))}
        assert one("MATCH (m:Meta) MATCH (n) WHERE n._gen IS NOT NULL RETURN collect(DISTINCT n._gen = m._gen)") \
            == [True]  # one generation, the current one, once the import is done


def test_an_update_re_derives_relationships_and_counts_like_the_embedded_store(loaded, datasets, tmp_path):
    v1, v2 = datasets
    with SQLiteStore(tmp_path / "s.db") as lite:
        lite.write(v1)
        expected = lite.write(v2)
    got = loaded.write(v2)
    assert (got.inserted, got.updated, got.deleted) == (expected.inserted, expected.updated, expected.deleted)
    assert from_store(loaded).content_hash() == v2.content_hash()
    with loaded.driver.session() as session:
        parts = session.run("MATCH (:Jurisdiction)-[r:PART_OF]->() RETURN count(r)").single()[0]
        at = session.run("MATCH (:Hazard)-[r:AT]->() RETURN count(r)").single()[0]
    assert parts == 5 and at == 2  # every jurisdiction but the province; H1 and H2 (H3 is gone)


# -- failures ----------------------------------------------------------------------------------------------


def test_a_server_that_is_down_is_a_clear_store_error():
    uri = f"bolt://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=f"cannot reach Neo4j at {uri}") as info:
        Neo4jStore(uri)
    assert info.value.is_retryable()
    result = cli("trace", "H1", "--store", uri)
    assert result.exit_code == 1 and f"error: cannot reach Neo4j at {uri}" in result.output


def test_a_uri_that_is_not_neo4js_is_refused():
    with pytest.raises(StoreError, match="not a usable Neo4j URI"):
        Neo4jStore("bolt://127.0.0.1:7687?routing=x")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A second real server with authentication on: the project's launcher with its one
    ``auth_enabled`` setting turned on, built from a copy (the launcher itself always disables auth)."""
    from accountability.stores.neo4j_server import Neo4jServer, build, launcher_dir

    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("needs java and mvn to start a second server")
    copy = tmp_path_factory.mktemp("auth-launcher")
    shutil.copy(launcher_dir() / "pom.xml", copy / "pom.xml")
    shutil.copytree(launcher_dir() / "src", copy / "src")
    source = next((copy / "src").rglob("Launcher.java"))
    text = source.read_text(encoding="utf-8")
    assert "GraphDatabaseSettings.auth_enabled, false" in text
    source.write_text(text.replace("GraphDatabaseSettings.auth_enabled, false",
                                   "GraphDatabaseSettings.auth_enabled, true"), encoding="utf-8")
    build(copy, offline=True)
    with Neo4jServer(directory=copy) as server:
        # the first login must change the initial password neo4j/neo4j
        with neo4j.GraphDatabase.driver(server.uri, auth=("neo4j", "neo4j")) as driver:
            driver.execute_query("ALTER CURRENT USER SET PASSWORD FROM 'neo4j' TO 'right-password-1'",
                                 database_="system")
        yield server.uri


@pytest.mark.slow
def test_credentials_come_from_the_environment_and_a_wrong_one_is_named(auth_server, monkeypatch, datasets):
    monkeypatch.setenv("NEO4J_USER", "neo4j")
    monkeypatch.setenv("NEO4J_PASSWORD", "wrong-password")
    with pytest.raises(StoreError, match=f"Neo4j refused the credentials at {auth_server} \\(user 'neo4j'\\)") as info:
        Neo4jStore(auth_server)
    assert "wrong-password" not in str(info.value)
    result = cli("trace", "H1", "--store", auth_server)
    assert result.exit_code == 1 and "error: Neo4j refused the credentials" in result.output

    monkeypatch.delenv("NEO4J_USER")
    monkeypatch.delenv("NEO4J_PASSWORD")
    with pytest.raises(StoreError, match="NEO4J_USER and NEO4J_PASSWORD are unset"):
        Neo4jStore(auth_server)

    monkeypatch.setenv("NEO4J_PASSWORD", "right-password-1")  # the user defaults to neo4j
    with Neo4jStore(auth_server) as store:
        store.write(datasets[0])
        assert store.meta()["dataset_hash"] == datasets[0].content_hash()


def test_an_error_between_batches_leaves_the_previous_dataset_whole(loaded, datasets):
    v1, v2 = datasets
    before = fingerprint(loaded)
    loaded.batch_size, loaded.writers = 2, 1  # batches one after another: the third is the third
    real, calls = loaded._batch, []

    def fail_on_the_third(tx, query, rows):
        calls.append(query)
        if len(calls) == 3:
            raise RuntimeError("injected after two batches")
        return real(tx, query, rows)

    loaded._batch = fail_on_the_third
    with pytest.raises(RuntimeError, match="injected"):
        loaded.write(v2)
    assert len(calls) == 3
    assert fingerprint(loaded) == before
    assert loaded.meta()["dataset_hash"] == v1.content_hash()
    assert from_store(loaded).content_hash() == v1.content_hash()


@pytest.mark.slow
def test_a_server_killed_mid_import_leaves_the_previous_dataset_whole(tmp_path, datasets):
    from accountability.stores.neo4j_server import Neo4jServer

    v1, v2 = datasets
    data = tmp_path / "data"
    server = Neo4jServer(data_dir=data).start()
    try:
        store = Neo4jStore(server.uri, batch_size=2, retries=1, writers=1)  # batches one after another
        store.write(v1)
        before = fingerprint(store)
        real, calls = store._batch, []

        def kill_after_two(tx, query, rows):
            out = real(tx, query, rows)
            calls.append(query)
            if len(calls) == 2:
                os.killpg(server.pid, signal.SIGKILL)
            return out

        store._batch = kill_after_two
        with pytest.raises(StoreError, match=f"import failed, store unchanged: cannot reach Neo4j at {server.uri}"):
            store.write(v2)
        assert not server.running
        store.close()
    finally:
        server.stop()
    with Neo4jServer(data_dir=data) as again, Neo4jStore(again.uri) as store:
        # the batches committed before the kill hold nodes of a generation no reader sees
        assert leftovers(store) > 0
        assert from_store(store).content_hash() == v1.content_hash()
        assert store.meta()["dataset_hash"] == v1.content_hash()
        assert cli("audit", "verify", "--store", again.uri).exit_code == 0
        assert store.write(v1).unchanged  # the next import sweeps them; the rows are v1's: nothing else to do
        assert leftovers(store) == 0 and fingerprint(store)[2] == before[2]


def _deadlock_once(store: Neo4jStore):
    """Make a batch of the import lose a real deadlock once: another transaction that holds more locks (two
    hundred nodes it made, and the key H2 of the generation being written) waits for the key H1 that the
    import's batch of hazards has just taken, while that batch waits for H2. Neo4j aborts the side with
    fewer locks: the batch."""
    go, holding, other_errors = threading.Event(), threading.Event(), []
    pending = store.generation() + 1

    def other():
        with store.driver.session() as session:
            tx = session.begin_transaction()
            try:
                tx.run("CREATE (:Hazard {_key: 'H2', _gen: $g}) WITH 1 AS x UNWIND range(1, 200) AS i "
                       "CREATE (:Probe {i: i})", g=pending).consume()
                holding.set()
                go.wait(30)
                time.sleep(1.0)  # the batch is waiting for H2 by now
                tx.run("CREATE (:Hazard {_key: 'H1', _gen: $g})", g=pending).consume()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                other_errors.append(exc)
            finally:
                tx.rollback()  # leaves nothing behind

    thread = threading.Thread(target=other)
    thread.start()
    assert holding.wait(30)
    real, attempts = store._batch, []

    def signal_at_the_hazards(tx, query, rows):
        if "CREATE (n:Hazard)" in query:
            attempts.append(1)
            go.set()
        return real(tx, query, rows)

    store._batch = signal_at_the_hazards
    return thread, other_errors, attempts


def test_a_deadlock_is_retried_and_the_import_completes(loaded, datasets):
    _, v2 = datasets
    thread, other_errors, attempts = _deadlock_once(loaded)
    result = loaded.write(v2)
    thread.join(30)
    assert len(attempts) == 2 and other_errors == []  # the batch of hazards ran twice
    assert result.updated["jurisdictions"] == 6 and not result.unchanged
    assert from_store(loaded).content_hash() == v2.content_hash()


def test_without_retries_the_deadlock_is_reported_and_nothing_changes(loaded, datasets):
    _, v2 = datasets
    before = fingerprint(loaded)
    loaded.retries = 0
    thread, _, _ = _deadlock_once(loaded)
    with pytest.raises(StoreError, match="import failed, store unchanged: .*DeadlockDetected") as info:
        loaded.write(v2)
    thread.join(30)
    assert info.value.is_retryable()
    assert fingerprint(loaded) == before  # what the import wrote before the deadlock is gone too


# -- write-back --------------------------------------------------------------------------------------------


def test_chains_written_back_are_relationships_auditors_can_query(loaded, datasets):
    chains = list(Session(loaded).trace_all(AS_OF))
    assert [c.hazard_id for c in chains] == ["H1", "H2"]
    counts = loaded.write_back(iter(chains), AS_OF)
    people = sorted((h.person_id, c.hazard_id, link.post_id, link.duty, link.degree, list(link.rules),
                     link.escalated, h.acting) for c in chains for link in c.links for h in link.holders)
    posts = sorted((link.post_id, c.hazard_id, link.duty, link.escalated, not link.holders)
                   for c in chains for link in c.links)
    assert counts.pop("audit").startswith("2:")  # the import was #1
    assert counts == {"as_of": AS_OF, "chains": 2, "post_links": len(posts), "person_links": len(people),
                      "replaced": 0}
    assert ("K-HOUSING-HEAD", "H1", "sector_supervision", False, True) in posts  # a vacant post shows

    query = ("MATCH (p:Person)-[r:ACCOUNTABLE_FOR]->(h:Hazard) WHERE r.as_of = $as_of "
             "RETURN p.id AS person, h.id AS hazard, r.post_id AS post, r.duty AS duty, r.degree AS degree, "
             "r.rules AS rules, r.escalated AS escalated, r.acting AS acting")
    with run_cypher(loaded, query, {"as_of": AS_OF}, max_rows=0) as result:
        got = sorted(tuple(row.values()) for row in result)
    assert got == people
    with run_cypher(loaded, "MATCH (p:Post)-[r:ACCOUNTABLE_FOR]->(h:Hazard) RETURN p.id, h.id, r.duty, "
                            "r.escalated, r.vacant", max_rows=0) as result:
        assert sorted(tuple(row.values()) for row in result) == posts

    # the same date again replaces; another date adds
    again = loaded.write_back(Session(loaded).trace_all(AS_OF), AS_OF)
    assert again["replaced"] == len(posts) + len(people)
    later = cli("write-back", "--as-of", "2026-02-15", "--store", loaded.uri, "--format", "json")
    assert later.exit_code == 0, later.output
    assert orjson.loads(later.output)["chains"] == 2
    with loaded.driver.session() as session:
        dates = session.run("MATCH ()-[r:ACCOUNTABLE_FOR]->() RETURN r.as_of AS d, count(*) AS n ORDER BY d").data()
        assert [d["d"] for d in dates] == [AS_OF, "2026-02-15"]
        assert dates[0]["n"] == len(posts) + len(people)

    # a new dataset makes them stale: the import removes them
    loaded.write(datasets[1])
    with loaded.driver.session() as session:
        assert session.run("MATCH ()-[r:ACCOUNTABLE_FOR]->() RETURN count(r)").single()[0] == 0


def test_write_back_needs_a_neo4j_store_with_a_dataset(neo4j_store, tmp_path):
    result = cli("write-back", "--store", str(tmp_path / "x.db"))
    assert result.exit_code == 2 and "--store must be a Neo4j URI" in result.output
    result = cli("write-back", "--store", neo4j_store.uri)
    assert result.exit_code == 1 and "holds no dataset" in result.output


# -- push and pull -----------------------------------------------------------------------------------------


def test_push_and_pull_copy_the_dataset_both_ways(neo4j_store, datasets, tmp_path):
    v1, _ = datasets
    source = tmp_path / "source.db"
    with SQLiteStore(source) as lite:
        lite.write(v1)
    pushed = cli("push", "--to", neo4j_store.uri, "--store", str(source), "--format", "json")
    assert pushed.exit_code == 0, pushed.output
    assert orjson.loads(pushed.output)["inserted"]["hazards"] == 3
    again = cli("push", "--to", neo4j_store.uri, "--store", str(source))
    assert again.exit_code == 0 and again.output.startswith("unchanged:")
    assert neo4j_store.meta()["dataset_hash"] == v1.content_hash()

    copy = tmp_path / "copy.db"
    pulled = cli("pull", "--from", neo4j_store.uri, "--store", str(copy))
    assert pulled.exit_code == 0, pulled.output
    with SQLiteStore(copy) as lite:
        assert from_store(lite).content_hash() == v1.content_hash()

    # the chain is the same whichever store the CLI reads
    on_neo4j = cli("trace", "H2", "--as-of", AS_OF, "--store", neo4j_store.uri, "--format", "json")
    on_copy = cli("trace", "H2", "--as-of", AS_OF, "--store", str(copy), "--format", "json")
    assert on_neo4j.exit_code == 0 and orjson.loads(on_neo4j.output) == orjson.loads(on_copy.output)


def test_push_streams_the_store_with_the_hashes_its_audit_log_vouches_for(neo4j_store, datasets, tmp_path):
    from accountability import audit
    from accountability.dataset import StoredRows, streamed

    v1, v2 = datasets
    source = tmp_path / "source.db"
    with SQLiteStore(source) as lite:
        lite.write(v1)
        with lite.snapshot():
            data = streamed(lite)
            assert all(isinstance(rows, StoredRows) for rows in data.tables.values())
            assert data.vouched is not None and data.content_hash() == v1.content_hash()
            assert audit.dataset_manifests(data) == audit.dataset_manifests(v1)
    pushed = cli("push", "--to", neo4j_store.uri, "--store", str(source), "--format", "json")
    assert pushed.exit_code == 0, pushed.output
    assert neo4j_store.meta()["dataset_hash"] == v1.content_hash()
    assert audit.verify(neo4j_store).ok and not audit.verify(neo4j_store).differences
    assert from_store(neo4j_store).content_hash() == v1.content_hash()

    # a second push compares the nodes with the streamed rows: the counts are the embedded store's
    with SQLiteStore(source) as lite:
        expected = lite.write(v2)
    again = orjson.loads(cli("push", "--to", neo4j_store.uri, "--store", str(source), "--format", "json").output)
    assert {k: again[k] for k in ("inserted", "updated", "deleted")} == \
        {k: getattr(expected, k) for k in ("inserted", "updated", "deleted")}
    # the rows in the source's order (an import keeps the rows it only updates in place); the hash its log
    # records, that of v2 as imported
    with SQLiteStore(source) as lite:
        assert from_store(neo4j_store).content_hash() == from_store(lite).content_hash()
    assert neo4j_store.meta()["dataset_hash"] == v2.content_hash()


def test_push_of_a_store_changed_outside_an_import_hashes_the_rows_it_holds(neo4j_store, datasets, tmp_path):
    import sqlite3

    from accountability import audit
    from accountability.dataset import streamed

    source = tmp_path / "source.db"
    with SQLiteStore(source) as lite:
        lite.write(datasets[0])
    with sqlite3.connect(source) as db:
        db.execute("UPDATE hazards SET description = 'changed by hand' WHERE id = 'H1'")
    with SQLiteStore(source) as lite, lite.snapshot():
        held = from_store(lite).content_hash()
        assert streamed(lite).vouched is None  # its log no longer vouches for its rows
    assert held != datasets[0].content_hash()
    pushed = cli("push", "--to", neo4j_store.uri, "--store", str(source))
    assert pushed.exit_code == 0, pushed.output
    assert neo4j_store.meta()["dataset_hash"] == held == from_store(neo4j_store).content_hash()
    verdict = audit.verify(neo4j_store)
    assert verdict.ok and not verdict.differences  # the digests recorded are those of the rows pushed


def test_push_and_pull_refuse_the_wrong_kind_of_store(tmp_path):
    assert cli("push", "--to", str(tmp_path / "x.db"), "--store", "y.db").exit_code == 2
    assert cli("push", "--to", "bolt://127.0.0.1:1", "--store", "bolt://127.0.0.1:2").exit_code == 2
    result = cli("pull", "--from", "y.db", "--store", str(tmp_path / "x.db"))
    assert result.exit_code == 2 and "--from must be a Neo4j URI" in result.output
    missing = cli("push", "--to", "bolt://127.0.0.1:1", "--store", str(tmp_path / "missing.db"))
    assert missing.exit_code == 1 and "store not found" in missing.output


# -- the Cypher console ------------------------------------------------------------------------------------

REFUSED = [
    "CREATE (:Hazard {id: 'X'})",
    "MATCH (h:Hazard) MERGE (h)-[:AT]->(:Organization {id: 'X'})",
    "MATCH (h:Hazard) DELETE h",
    "MATCH (n) DETACH DELETE n",
    "MATCH (h:Hazard) SET h.status = 'closed' RETURN h",
    "MATCH (h:Hazard) REMOVE h.status",
    "DROP CONSTRAINT hazard_key",
    "MATCH (h:Hazard) FOREACH (x IN [1] | SET h.x = x)",
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS",
    "MATCH (n) CALL { WITH n RETURN n.id AS id } IN TRANSACTIONS RETURN id",
    "CALL db.createLabel('Evil')",
    "CALL dbms.setConfigValue('db.logs.query.enabled', 'OFF')",
    "CALL `db`.`createProperty`('x')",
    "MATCH (n) RETURN n; MATCH (n) DETACH DELETE n",
    "MATCH (n) /* a comment */ DETACH DELETE n",
    "MATCH (n) // a comment\nDELETE n",
    "MATCH (n) WHERE n.name = 'it\\'s' DELETE n",
    'MATCH (n) WHERE n.name = "\\"" SET n.x = 1',
    "MATCH (n) WHERE n.`weird``name` = 1 DELETE n",
    "SHOW TRANSACTIONS",
    "SHOW USERS",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "CREATE INDEX x FOR (n:Hazard) ON (n.level)",
    "USE system MATCH (n) RETURN n",
    "EXPLAIN MATCH (n) DELETE n",
    "INSERT (:Hazard {id: 'X'})",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_writes_are_refused_before_they_run_and_nothing_changes(loaded, statement):
    before = fingerprint(loaded)
    result = cli("cypher", "--store", loaded.uri, "--", statement)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: refused: ")
    assert fingerprint(loaded) == before


@pytest.mark.parametrize("statement", ["MATCH (n) DETACH DELETE n", "CREATE (:Evil)", "MATCH (h:Hazard) SET h.x = 1",
                                       "CALL db.createLabel('Evil')", "MATCH (n) REMOVE n.id"])
def test_each_guard_below_the_statement_check_holds_on_its_own(loaded, statement, monkeypatch):
    from accountability.rawquery import cypher

    before = fingerprint(loaded)
    monkeypatch.setattr(cypher, "check_cypher", lambda text: text)
    with pytest.raises(QueryRefused, match="the plan of this query writes"):
        run_cypher(loaded, statement)
    # without the plan check, the READ-access transaction still refuses
    with (loaded.driver.session(default_access_mode=neo4j.READ_ACCESS) as session,
          pytest.raises(neo4j.exceptions.ClientError, match="AccessMode|read access mode"),
          session.begin_transaction() as tx):
        tx.run(statement).consume()
    assert fingerprint(loaded) == before


def test_reads_that_look_like_writes_are_allowed(loaded):
    statements = {
        "MATCH (h:Hazard) WHERE h.description CONTAINS 'DELETE' RETURN count(h) AS n": [{"n": 0}],
        "MATCH (t:Tenure) RETURN t.start AS start, t.`end` AS end_date ORDER BY start LIMIT 1":
            [{"start": "2020-01-01", "end_date": None}],
        "MATCH (n:Meta) RETURN {set: 1, create: 2} AS m": [{"m": {"set": 1, "create": 2}}],
        "MATCH (n:Hazard) // then SET nothing\nRETURN count(n) AS n": [{"n": 3}],
        "CALL db.labels() YIELD label WHERE label = 'Tenure' RETURN label": [{"label": "Tenure"}],
        "SHOW CONSTRAINTS YIELD name WHERE name = 'hazard_key' RETURN name": [{"name": "hazard_key"}],
        "CALL { MATCH (h:Hazard) RETURN h } RETURN count(h) AS n": [{"n": 3}],
    }
    for statement, rows in statements.items():
        assert check_cypher(statement) == statement
        with run_cypher(loaded, statement) as result:
            assert list(result) == rows, statement


def test_parameters_are_passed_never_pasted(loaded):
    with run_cypher(loaded, "MATCH (j:Jurisdiction) WHERE j.id = $id RETURN j.name AS name", {"id": "K"}) as r:
        assert list(r) == [{"name": "东湖区"}]
    with run_cypher(loaded, "MATCH (j:Jurisdiction) WHERE j.id = $id RETURN j.name", {"id": "K' OR 1=1 //"}) as r:
        assert list(r) == []
    with pytest.raises(UsageError, match="parameter name"):
        run_cypher(loaded, "RETURN $x", {"x y": 1})
    with pytest.raises(UsageError, match="Cypher: .*"), run_cypher(loaded, "MATCH (n) RETURN $missing") as r:
        list(r)


def test_a_runaway_query_is_stopped_by_the_server(loaded):
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="query stopped after 0.5 s"), run_cypher(loaded, RUNAWAY, timeout=0.5) as r:
        list(r)
    assert time.monotonic() - started < 10
    # stopped on the server, not merely abandoned by the client
    with loaded.driver.session() as session:
        running = [r["q"] for r in session.run("SHOW TRANSACTIONS YIELD currentQuery AS q RETURN q")]
    assert not any("100000000" in (q or "") for q in running)
    result = cli("cypher", RUNAWAY, "--timeout", "0.5", "--store", loaded.uri)
    assert result.exit_code == 1 and "error: query stopped after 0.5 s, its time limit" in result.output


def test_a_view_is_capped_and_says_so(loaded):
    result = run_cypher(loaded, "MATCH (j:Jurisdiction) RETURN j.id AS id ORDER BY id", max_rows=2)
    assert result.columns == ["id"] and result.truncated is False
    assert [r["id"] for r in result] == ["C", "K"] and result.truncated is True
    as_json = cli("cypher", "MATCH (p:Person) RETURN p.id AS id", "--max-rows", "3", "--format", "json",
                  "--store", loaded.uri)
    body = orjson.loads(as_json.stdout)
    assert (len(body["rows"]), body["row_count"], body["truncated"]) == (3, 3, True)
    assert "warning: truncated at 3 rows" in as_json.stderr
    table = cli("cypher", "MATCH (j:Jurisdiction) RETURN j.id AS id ORDER BY id", "--max-rows", "2",
                "--store", loaded.uri)
    assert table.stdout.splitlines() == ["id", "--", "C", "K", "… truncated: the first 2 rows"]
    everything = cli("cypher", "MATCH (p:Person) RETURN p.id AS id", "--format", "csv", "--store", loaded.uri)
    assert len(everything.stdout.splitlines()) == 1 + loaded.count("people") and everything.stderr == ""


def test_nodes_relationships_and_paths_come_out_as_plain_data(loaded):
    query = ("MATCH path = (p:Person {id: 'PE-ACTING'})-[h:HELD]->(t:Tenure) "
             "RETURN p, h, path, date('2026-01-01') AS d, t.start AS start, t.`start` AS start2")
    with run_cypher(loaded, query) as result:
        assert result.columns == ["p", "h", "path", "d", "start", "start2"]
        row = next(iter(result))
    assert row["p"]["_labels"] == ["Person"] and row["p"]["name"] == "代理人"
    assert row["h"]["_type"] == "HELD" and row["h"]["_start"] == row["p"]["_id"]
    assert [n["_labels"] for n in row["path"]["nodes"]] == [["Person"], ["Tenure"]]
    assert row["d"] == "2026-01-01" and row["start"] == row["start2"] == "2025-06-01"


def test_cypher_runs_on_neo4j_only_and_sits_beside_sql(loaded, tmp_path):
    result = cli("cypher", "MATCH (n) RETURN n", "--store", str(tmp_path / "x.db"))
    assert result.exit_code == 2 and "Cypher runs on a Neo4j store" in result.output
    assert rawquery.language_of(loaded.uri) == "cypher"
    with rawquery.run(loaded.uri, "MATCH (h:Hazard) RETURN h.id AS id ORDER BY id") as r:
        assert [row["id"] for row in r] == ["H1", "H2", "H3"]


def test_open_store_picks_neo4j_for_bolt_uris(loaded):
    with open_store(loaded.uri) as store:
        assert isinstance(store, Neo4jStore) and store.count("hazards") == 3
