"""The command that writes an incident's accountability report: report."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from accountability import audit
from accountability.cli import common, lang_option, main, open_session, output_path, rules_option, store_option
from accountability.errors import UsageError
from accountability.reports import FORMATS, build_report, render

SUFFIXES = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}
BINARY = ("docx", "pdf")


def _write(path: Path, data: bytes) -> None:
    """All or nothing: a report that fails half-way leaves no half file behind."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)


@main.command()
@click.argument("incident_id")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default=None,
              help="md, html, docx or pdf  [default: from the -o suffix, else md]")
@click.option("-o", "--output", callback=output_path, type=click.Path(dir_okay=False, allow_dash=True),
              help="The file to write ('-' or none: stdout, for md and html).")
@click.option("--templates", type=click.Path(file_okay=False, exists=True),
              help="A folder of adapted templates (report.md.j2, report.html.j2, report.css, …).")
@click.option("--no-figure", is_flag=True, help="Leave out the figure of the chain (faster).")
@store_option
@rules_option
@lang_option
@common
def report(incident_id: str, fmt: str | None, output: str | None, templates: str | None, no_figure: bool,
           store: str, rules: str | None, lang: str) -> None:
    """The accountability report of INCIDENT_ID: level, hazard history, responsibility, gaps, figure, law.

    In Chinese (default) or English; Markdown, HTML, Word (.docx) or PDF. A Markdown report written to a
    file gets its figure beside it as FILE.chain.svg (and, for an incident whose reporting is judged, the
    reporting timeline as FILE.reporting.svg).
    """
    to_stdout = output in (None, "-")
    implied = None if to_stdout else SUFFIXES.get(Path(output).suffix.lower())
    if fmt is None:
        fmt = implied or "md"
    elif implied and implied != fmt:  # Markdown in x.pdf opens as a broken PDF: refused before any work
        raise UsageError(f"--format {fmt} does not match -o {Path(output).name} (a {implied} file name): "
                         f"leave out --format, or name the file for {fmt}")
    if fmt in BINARY and output is None:
        raise UsageError(f"a {fmt} report needs -o FILE (or -o - for stdout)")
    started = time.perf_counter()
    with open_session(store, rules, readonly=True, action="export") as session:
        with session.store.snapshot():
            altered = audit.data_check(session.store)
            if altered:  # a report's footer names the dataset and the audit position its rows must match
                raise audit.DataAltered(session.store.uri, altered, " — no report written: `audit verify` names "
                                        "them all; importing the dataset again restores them")
            result = build_report(session, incident_id, lang)
    figure_href = timeline_href = None
    if fmt == "md" and not to_stdout and not no_figure:
        path = Path(output)
        figure_href = path.with_suffix("").name + ".chain.svg"
        from accountability.reports.figure import draw, draw_reporting
        from accountability.reports.render import has_timeline, timeline_file

        _write(path.with_name(figure_href), draw(result, ("svg",)).svg)
        if has_timeline(result):  # v2, an incident with occurred_at: the reporting timeline beside it too
            timeline_href = timeline_file(path)
            _write(path.with_name(timeline_href), draw_reporting(result.reporting, ("svg",)).svg)
    data = render(result, fmt, figure=not no_figure, figure_href=figure_href, templates=templates,
                  timeline_href=timeline_href)
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    _write(Path(output), data)
    click.echo(f"wrote {output} ({fmt}, {lang}, {len(data):,} bytes) in {time.perf_counter() - started:.1f} s",
               err=True)
