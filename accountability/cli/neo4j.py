"""Commands for the Neo4j store: push, pull and write-back (the raw read-only Cypher console is ``cypher``,
in :mod:`accountability.cli.query`).

    accountability push --to bolt://db:7687 --store accountability.db
    accountability pull --from bolt://db:7687 --store copy.db
    accountability write-back --as-of 2026-06-30 --store bolt://db:7687

Credentials come from NEO4J_USER / NEO4J_PASSWORD only, the database from NEO4J_DATABASE.
"""

from __future__ import annotations

import time

import click
import orjson

from accountability.cli import (authorize, common, format_option, main, open_session, quiet_option, rules_option,
                                store_option)
from accountability.errors import UsageError
from accountability.stores import is_neo4j, open_store


def _need_neo4j(uri: str, option: str) -> str:
    if not is_neo4j(uri):
        raise UsageError(f"{option} must be a Neo4j URI (bolt://… or neo4j://…), not '{uri}'")
    return uri


def _need_embedded(path: str, option: str) -> str:
    if is_neo4j(path):
        raise UsageError(f"{option} must be an embedded store (a SQLite file), not '{path}'")
    return path


def _report(result, target: str, elapsed: float, fmt: str) -> None:
    if fmt == "json":
        click.echo(orjson.dumps({**result.as_dict(), "seconds": round(elapsed, 3)}).decode())
    elif result.unchanged:
        click.echo(f"unchanged: {target} already holds this dataset ({result.dataset_hash[:12]})")
    else:
        changes = ", ".join(
            f"{t} +{result.inserted.get(t, 0)} ~{result.updated.get(t, 0)} -{result.deleted.get(t, 0)}"
            for t in result.inserted
            if result.inserted.get(t) or result.updated.get(t) or result.deleted.get(t)
        )
        click.echo(f"copied into {target} in {elapsed:.1f} s: {changes or 'no rows'}")


def _copy(source: str, target: str, fmt: str, quiet: bool) -> None:
    """Copy the dataset of ``source`` into ``target``. Neo4j takes it streamed from the embedded store
    (``dataset.streamed``: the client holds a table's keys, not a province's rows); the embedded store
    validates and diffs a dataset in memory, so a pull reads it whole."""
    from accountability.dataset import from_store, streamed
    from accountability.progress import terminal, write

    authorize("import")
    started = time.perf_counter()
    with open_store(source, readonly=True) as src, src.snapshot():
        data = streamed(src) if is_neo4j(target) else from_store(src)
        with open_store(target) as dst, terminal(quiet) as progress:
            result = write(dst, data, progress)
    _report(result, target, time.perf_counter() - started, fmt)


@main.command()
@click.option("--to", "to", required=True, help="The Neo4j store: bolt://… or neo4j://…")
@store_option
@format_option("table", "json", default="table")
@quiet_option
@common
def push(to: str, store: str, fmt: str, quiet: bool) -> None:
    """Copy the embedded store (--store) into Neo4j: all of it, replacing what Neo4j held, or nothing."""
    _copy(_need_embedded(store, "--store"), _need_neo4j(to, "--to"), fmt, quiet)


@main.command()
@click.option("--from", "from_", required=True, help="The Neo4j store: bolt://… or neo4j://…")
@store_option
@format_option("table", "json", default="table")
@quiet_option
@common
def pull(from_: str, store: str, fmt: str, quiet: bool) -> None:
    """Copy the dataset held by Neo4j into the embedded store (--store), replacing what it held."""
    _copy(_need_neo4j(from_, "--from"), _need_embedded(store, "--store"), fmt, quiet)


@main.command("write-back")
@click.option("--as-of", "as_of", help="The date (YYYY-MM-DD); default today.")
@store_option
@rules_option
@format_option("table", "json", default="table")
@common
def write_back(as_of: str | None, store: str, rules: str | None, fmt: str) -> None:
    """Trace every unresolved hazard and write the chains into Neo4j as ACCOUNTABLE_FOR relationships.

    (:Person)-[:ACCOUNTABLE_FOR]->(:Hazard) for each holder and (:Post)-[:ACCOUNTABLE_FOR]->(:Hazard) for
    each linked post (vacant ones too), with duty, degree, rules, escalated and as_of; the ones written
    before for the same date are replaced.
    """
    from accountability.session import parse_date
    from accountability.dates import today

    _need_neo4j(store, "--store")
    on = parse_date(as_of, "as_of") or today()
    started = time.perf_counter()
    with open_session(store, rules, action="import") as session:
        counts = session.store.write_back(session.trace_all(on), on)
    elapsed = time.perf_counter() - started
    if fmt == "json":
        click.echo(orjson.dumps({**counts, "seconds": round(elapsed, 3)}).decode())
    else:
        click.echo(f"wrote {counts['chains']} chains as of {on} into {store} in {elapsed:.1f} s: "
                   f"{counts['post_links']} post and {counts['person_links']} person ACCOUNTABLE_FOR relationships"
                   f" (replaced {counts['replaced']})")

