"""Commands that trace chains: trace, incident."""

from __future__ import annotations

import sys

import click
import orjson

from accountability.cli import (common, format_option, lang_option, main, open_session, output_path, quiet_option,
                                recorded, rules_option, store_option)
from accountability.output import FORMATS, chain_columns, chain_rows, chain_table, write_rows
from accountability.progress import terminal
from accountability.dates import today


def _table_words(session, chain, lang: str) -> dict:
    """What the table format shows instead of codes: each post with its organization, each gap as a sentence."""
    from accountability.names import Labels
    from accountability.ui import escalation

    L = Labels(session, lang)
    reason = heading = None
    if getattr(chain, "hazard_id", None):
        hazard, events = session.hazard(chain.hazard_id)
        heading = L.heading(hazard, chain.window, session.unresolved(hazard, chain.window.end))
        if any(link.escalated for link in chain.links):  # why the level above answers (rule R7)
            reason = L.escalation(escalation(session, hazard, events, chain.window.end))
    posts = {}
    for link in chain.links:
        org = L.organization(link.organization_id)
        posts[link.post_id] = link.post_title if not org or link.post_title.startswith(org) else \
            f"{org} · {link.post_title}"
    return {"posts": posts, "gaps": [L.gap(g) for g in chain.gaps], "escalation": reason, "heading": heading}


def _emit_chain(chain: dict, fmt: str, v2: bool = False, words: dict | None = None) -> None:
    """One chain in ``fmt``; ``v2``: a generation-2 ruleset's, with assessment and evidence columns; ``words``:
    the table format's posts and gaps in words (see ``_table_words``)."""
    out = sys.stdout
    if fmt == "json":
        out.write(orjson.dumps(chain, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "jsonl":
        out.write(orjson.dumps(chain).decode() + "\n")
    elif fmt == "csv":
        write_rows(chain_rows(chain), chain_columns(v2), "csv", out)
    elif words is not None:
        if words.get("heading"):
            out.write(words["heading"] + "\n\n")
        chain_table(chain, out, v2, words["posts"], words["gaps"], words["escalation"])
    else:
        rows = [r for r in chain_rows(chain) if "gap" not in r]
        cols = ["duty", "degree", "post_title", "name", "start", "end", "acting", "rules", "escalated"]
        if v2:
            cols.append("assessment")
        write_rows(rows, cols, "table", out)
        if chain["gaps"]:
            out.write("\ngaps:\n")
            for gap in chain["gaps"]:
                out.write("  " + orjson.dumps(gap).decode() + "\n")


@main.command()
@click.argument("hazard_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Every hazard unresolved on --as-of, streamed.")
@click.option("--as-of", "as_of", help="The date (YYYY-MM-DD); default today.")
@click.option("--from", "start", help="Window mode: every holder from this date …")
@click.option("--to", "end", help="… to this date (inclusive).")
@click.option("-o", "--output", callback=output_path, type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="With --all: trace in parts (by province, or by city) on this many local processes; the "
                   "same output.")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --all: send the parts to the Dask scheduler at ADDRESS (tcp://host:8786).")
@store_option
@rules_option
@lang_option
@format_option(*FORMATS, default="table")
@quiet_option
@common
def trace(hazard_id: str | None, all_: bool, as_of: str | None, start: str | None, end: str | None,
          output: str | None, workers: int | None, scheduler: str | None, store: str, rules: str | None,
          lang: str, fmt: str, quiet: bool) -> None:
    """Who is accountable for HAZARD_ID (or, with --all, for every unresolved hazard), and why."""
    if all_ == bool(hazard_id):
        raise click.UsageError("give a HAZARD_ID or --all")
    if (workers or scheduler) and not all_:
        raise click.UsageError("--workers and --scheduler split the work of --all; one hazard is traced in one "
                               "process")
    if workers and scheduler:
        raise click.UsageError("give --workers (local processes) or --scheduler (a Dask cluster), not both")
    with open_session(store, rules, readonly=True, action="export" if all_ else "view") as session:
        if hazard_id:
            chain = session.trace(hazard_id, as_of=as_of, start=start, end=end)
            _emit_chain(chain.as_dict(session.ruleset, lang), fmt, session.ruleset.generation >= 2,
                        _table_words(session, chain, lang) if fmt == "table" else None)
            return
        if start or end:
            raise click.UsageError("--all works on one date (--as-of), not a window")
        with recorded(session, output, command="trace --all", as_of=as_of or today(), format=fmt, lang=lang,
                      rules=session.ruleset.version), \
                terminal(quiet or (not output and sys.stdout.isatty())) as progress:  # no bar amid the chains
            if workers or scheduler:
                _in_parts(session, store, rules, as_of or today(), lang, fmt, output, workers, scheduler, progress)
            else:
                _trace_all(session, as_of, lang, fmt, output, progress)


def _trace_all(session, as_of: str | None, lang: str, fmt: str, output: str | None, progress=None) -> None:
    from accountability.batch import pieces, write_output

    ruleset = session.ruleset
    chains = session.trace_all(as_of, progress)
    sink = open(output, "wb") if output else sys.stdout.buffer
    try:
        write_output(pieces(chains, ruleset, lang, fmt), fmt, ruleset, sink)
    finally:
        if output:
            sink.close()
        else:
            sink.flush()


def _in_parts(session, store: str, rules: str | None, as_of: str, lang: str, fmt: str, output: str | None,
              workers: int | None, scheduler: str | None, progress=None) -> None:
    """``trace --all`` in parts on local worker processes or a Dask cluster (``accountability.batch``)."""
    from accountability import batch

    job = batch.Job(store, rules, session.user, as_of, lang, fmt)
    batch.trace_all(session, job, output, workers=workers, scheduler=scheduler, progress=progress)


@main.command()
@click.argument("incident_id")
@store_option
@rules_option
@lang_option
@format_option(*FORMATS, default="table")
@common
def incident(incident_id: str, store: str, rules: str | None, lang: str, fmt: str) -> None:
    """The accident level, the investigating government and the chain over the negligence window."""
    with open_session(store, rules, readonly=True) as session:
        found = session.incident(incident_id)
        result = found.as_dict(session.ruleset, lang)
        v2 = session.ruleset.generation >= 2
        words = _table_words(session, found, lang) if fmt == "table" else None
    if fmt == "table":
        inv = result["investigated_by"]
        click.echo(f"incident {result['incident_id']}: {result['level']}; investigated by "
                   f"{inv['organization_id'] if inv else 'the State Council'}; "
                   f"window {result['window']['start']} .. {result['window']['end']}"
                   + (f"; {result['withheld_hazards']} linked hazard(s) outside your jurisdiction withheld"
                      if result.get("withheld_hazards") else "") + "\n")
    _emit_chain(result, fmt, v2, words)


