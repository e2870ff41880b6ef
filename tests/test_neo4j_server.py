"""The project's Neo4j launcher starts a real server that the official driver can use, and stops it cleanly."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

from accountability.stores.neo4j_server import Neo4jServer

neo4j = pytest.importorskip("neo4j")

pytestmark = [
    pytest.mark.neo4j,
    pytest.mark.skipif(
        shutil.which("java") is None or shutil.which("mvn") is None, reason="needs java and mvn on PATH"
    ),
]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_server_round_trip_and_clean_stop():
    # Auth is disabled on the server, so whatever credentials the app passes must be accepted.
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "any-password"))
    server = Neo4jServer()
    with server:
        assert server.uri.startswith("bolt://127.0.0.1:")
        pid, port, workdir = server.pid, server.port, server._workdir
        assert server.running and _port_open(port)

        with neo4j.GraphDatabase.driver(server.uri, auth=auth) as driver:
            driver.verify_connectivity()
            records, _, _ = driver.execute_query("RETURN 1 AS one")
            assert records[0]["one"] == 1

            with driver.session() as session:
                tx = session.begin_transaction()
                tx.run("CREATE (:Probe {name: 'rolled-back'})").consume()
                inside = tx.run("MATCH (p:Probe) RETURN count(p) AS n").single()["n"]
                tx.rollback()
                assert inside == 1
                after = session.run("MATCH (p:Probe) RETURN count(p) AS n").single()["n"]
                assert after == 0

    # Stopped: no process, nothing listening, temporary home removed; stopping again is a no-op.
    assert not server.running and server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not _port_open(port)
    assert workdir is not None and not os.path.exists(workdir)
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.uri
