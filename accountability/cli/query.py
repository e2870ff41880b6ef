"""Commands for auditors: named queries (``query``) and raw read-only statements in the store's language
(``sql`` on the embedded store, ``cypher`` on Neo4j: one command, two names).

    accountability query --list
    accountability query overdue-hazards --param jurisdiction=K --param as_of=2026-06-01 --format csv
    accountability sql "SELECT level, count(*) AS n FROM hazards WHERE status = :s GROUP BY level" --param s=open
    accountability cypher "MATCH (h:Hazard {level: \\$level}) RETURN h.id" --param level=major --store bolt://db:7687
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import IO

import click
import orjson

from accountability.cli import (
    authorize,
    common,
    format_option,
    lang_option,
    main,
    open_session,
    output_path,
    recorded,
    rules_option,
    store_option,
)
from accountability.errors import UsageError
from accountability.output import FORMATS, write_rows


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("k=v", …)`` as a dict; the value may contain ``=``; a name given twice is a usage error."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param '{pair}': expected NAME=VALUE")
        if name in params:
            raise UsageError(f"--param {name} given twice")
        params[name] = value
    return params


@contextlib.contextmanager
def _sink(output: str | None) -> Iterator[IO[str]]:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            yield f
    else:
        out = sys.stdout
        yield out
        out.flush()


def _list(lang: str, fmt: str) -> None:
    from accountability.queries import catalog

    with _sink(None) as out:
        if fmt in ("json", "jsonl"):
            items = [q.as_dict(lang) for q in catalog()]
            if fmt == "json":
                out.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
            else:
                out.writelines(orjson.dumps(item).decode() + "\n" for item in items)
            return
        head = {"zh": ("名称", "标题", "参数"), "en": ("name", "title", "parameters")}[lang]
        rows = [{head[0]: q.name, head[1]: q.title[lang],
                 head[2]: " ".join(f"{p.name}{'' if p.required else '?'}:{p.type}" for p in q.parameters.values())}
                for q in catalog()]
        write_rows(rows, list(head), "csv" if fmt == "csv" else "table", out, max_table_width=100)


def _describe(name: str, lang: str) -> None:
    from accountability.queries import get

    q = get(name)
    lines = [f"{q.name}: {q.title[lang]}", "", q.description[lang], "", q.usage(lang), ""]
    for output in q.outputs.values():
        when = f" ({output.when[lang]})" if output.when else ""
        lines.append(("columns" if lang == "en" else "输出列") + when + ":")
        lines += [f"  {c.name}: {c.label[lang]}" for c in output.columns]
    click.echo("\n".join(lines))


@main.command()
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the named queries.")
@click.option("--describe", is_flag=True, help="Show NAME's parameters and columns.")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option("-o", "--output", callback=output_path, type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@store_option
@rules_option
@lang_option
@format_option(*FORMATS, default="table")
@common
def query(name: str | None, list_: bool, describe: bool, params: tuple[str, ...], output: str | None, store: str,
          rules: str | None, lang: str, fmt: str) -> None:
    """Run the named query NAME (see --list); rows stream in csv, json and jsonl."""
    from accountability import queries

    if list_:
        if name or params:
            raise UsageError("--list takes no query name or parameters")
        _list(lang, fmt)
        return
    if not name:
        raise UsageError(f"give a query NAME or --list; the queries are: {', '.join(q.name for q in queries.catalog())}")
    if describe:
        _describe(name, lang)
        return
    given = parse_params(params)
    queries.resolve(name, given)  # usage errors before the store is opened
    with (open_session(store, rules, readonly=True, action="query") as session,
          recorded(session, output, command=f"query {name}", parameters=given, format=fmt),
          queries.run(name, session, **given) as result, _sink(output) as out):
        if fmt == "table":
            labels = result.labels(lang)
            rows = ({label: row.get(c) for c, label in zip(result.columns, labels)} for row in result)
            write_rows(rows, labels, "table", out)
        else:
            write_rows(result, result.columns, fmt, out)


@contextlib.contextmanager
def _export(output: str | None) -> Iterator[IO[str]]:
    """:func:`_sink`, with the file it opened deleted again if the block fails: a query stopped half-way
    (its time limit) must not leave an export that looks whole."""
    opened = False
    try:
        with _sink(output) as out:
            opened = True
            yield out
    except BaseException:
        if output and opened:
            with contextlib.suppress(OSError):
                os.remove(output)
        raise


TABLE_WIDTH = 60  # characters of a value a table shows (write_rows' max_table_width)


def _shown(rows: Iterator[dict]) -> Iterator[dict]:
    """Rows with their text cut to what a table shows: the table makes every character of a value
    printable before it cuts, seconds for a value of millions it would never show."""
    for row in rows:
        yield {k: v[:TABLE_WIDTH] if isinstance(v, str) else v for k, v in row.items()}


class _Statement(click.Argument):
    """The statement, named in usage lines and errors by the language the command was called by: SQL, CYPHER."""

    def make_metavar(self, ctx: click.Context) -> str:
        return ctx.info_name.upper()


@main.command("sql")
@click.argument("statement", cls=_Statement)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Bound to :NAME in SQL, passed as $NAME (a string) in Cypher (repeatable); never pasted into the "
                   "statement.")
@click.option("--timeout", type=float, default=None,
              help="Seconds before the query is stopped (default ACCOUNTABILITY_QUERY_TIMEOUT or 5; 0: none).")
@click.option("--max-rows", type=int, default=None,
              help="Rows returned at most (default ACCOUNTABILITY_QUERY_ROW_CAP or 10000, except csv: all; 0: all).")
@click.option("--max-bytes", type=int, default=None,
              help="Bytes of values returned at most (default ACCOUNTABILITY_QUERY_BYTE_CAP or 50000000, except "
                   "csv: all; 0: all); in SQL no single value may be longer.")
@click.option("-o", "--output", callback=output_path, type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@store_option
@format_option(*FORMATS, default="table")
@common
def raw(statement: str, params: tuple[str, ...], timeout: float | None, max_rows: int | None, max_bytes: int | None,
        output: str | None, store: str, fmt: str) -> None:
    """Run one read-only statement in the store's language: SQL (SELECT or WITH) on the embedded store, Cypher
    on Neo4j; a statement '-' is read from stdin.

    sql and cypher are one command: the name says which language the statement is in, and the store must
    be of that kind. Writes are refused before they run (Cypher runs in a read-only transaction as well).
    The time limit counts everything, writing the rows included. A view (table, json, jsonl) stops at the
    row or byte cap and says so; a CSV export holds every row unless --max-rows or --max-bytes is given.
    """
    from accountability import rawquery

    language = click.get_current_context().info_name  # sql or cypher
    authorize("raw")
    if statement == "-":
        statement = sys.stdin.read()
    if fmt == "csv":  # an export is never cut unless asked
        max_rows = 0 if max_rows is None else max_rows
        max_bytes = 0 if max_bytes is None else max_bytes
    limit = rawquery.limits(timeout, max_rows, max_bytes)  # usage errors before anything runs
    # the time limit runs from here to the last byte written, backed by a signal: this process runs nothing else
    with (rawquery.alarm(limit.timeout),
          rawquery.run(store, statement, parse_params(params), timeout, max_rows, language, max_bytes) as result,
          _export(output) as out):
        if fmt == "json":
            out.write('{"columns":' + orjson.dumps(result.columns).decode() + ',"rows":[')
            for i, row in enumerate(result):
                out.write(("," if i else "") + "\n" + orjson.dumps(row, default=str).decode())
            out.write(f'\n],"row_count":{result.row_count},"truncated":{"true" if result.truncated else "false"}}}\n')
        elif fmt == "table":
            write_rows(_shown(result), result.columns, fmt, out, max_table_width=TABLE_WIDTH)
            if result.truncated:
                out.write(f"… truncated: the first {result.row_count} rows\n")
        else:
            write_rows(result, result.columns, fmt, out)
    if result.truncated:
        hint = "" if fmt == "csv" else " or export every row with --format csv"
        if result.truncated_by == "bytes":
            click.echo(f"warning: truncated at {rawquery.in_bytes(result.max_bytes)} of values ({result.row_count} "
                       f"rows); raise --max-bytes (0: all){hint}", err=True)
        else:
            click.echo(f"warning: truncated at {result.max_rows} rows; raise --max-rows (0: all){hint}", err=True)


main.add_command(raw, "cypher")  # one command under two names: the name the user wrote is the language
