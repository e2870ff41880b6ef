"""Stores: ``open_store(uri)`` picks the implementation from the URI.

A path (default ``accountability.db``) opens the embedded SQLite store; ``bolt://``, ``neo4j://`` and
their ``+s``/``+ssc`` variants open the Neo4j store with credentials from ``NEO4J_USER`` and
``NEO4J_PASSWORD`` (never from the command line).
"""

from __future__ import annotations

from accountability.stores.base import Store, WriteResult

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def is_neo4j(uri: str) -> bool:
    return uri.startswith(NEO4J_SCHEMES)


def open_store(uri: str, readonly: bool = False) -> Store:
    if is_neo4j(uri):
        from accountability.stores.neo4j import Neo4jStore

        return Neo4jStore(uri)
    from accountability.stores.sqlite import SQLiteStore

    return SQLiteStore(uri, readonly=readonly)


__all__ = ["Store", "WriteResult", "open_store", "is_neo4j"]
