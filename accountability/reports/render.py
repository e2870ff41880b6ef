"""Rendering a :class:`~accountability.reports.model.Report`: Markdown and HTML from Jinja2 templates, PDF
by printing the HTML with WeasyPrint, Word with python-docx (``docx.py``).

Templates are files a user can adapt: copy ``accountability/templates`` to a folder, edit, and pass that
folder (``--templates DIR``); a file missing there is taken from the package. Every value from the data is
escaped — for HTML by Jinja2's autoescape, for Markdown by :func:`md_escape` on every expression — so a
name such as ``<script>`` prints as text.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from accountability.errors import UsageError
from accountability.reports.figure import ChainFigure, draw, draw_reporting
from accountability.reports.model import TEMPLATES, Report, say

FORMATS = ("md", "html", "docx", "pdf")
MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")
# Taller than this (height / width), the figure gets a page height rather than the page width.
TALL = 1.24


def md_escape(value) -> str:
    r"""Text that Markdown shows literally: no emphasis, link, HTML or table cell break can come from data.

    >>> md_escape("<script>|*x*")
    '\\<script\\>\\|\\*x\\*'
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    text = " ".join(str(value).splitlines())
    return MD_SPECIAL.sub(r"\\\1", text)


def css_string(value) -> Markup:
    """A quoted CSS string (for ``@page`` margin boxes), safe inside ``<style>``.

    >>> str(css_string('a"b</style>'))
    '"a\\\\22 b\\\\3c /style\\\\3e "'
    """
    text = str(value)
    out = "".join(c if c.isalnum() or c in " -_.:·/+()（）" or ord(c) > 127 else f"\\{ord(c):x} " for c in text)
    return Markup(f'"{out}"')


def _loader(templates: str | Path | None) -> jinja2.BaseLoader:
    paths = [str(templates)] if templates else []
    if templates and not Path(templates).is_dir():
        raise UsageError(f"templates: '{templates}' is not a folder")
    return jinja2.FileSystemLoader(paths + [str(TEMPLATES)])


def environment(kind: str, templates: str | Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment for ``md`` or ``html`` templates, made once per folder: compiling the report's
    templates costs more than rendering them (tens of milliseconds), and the loader still notices a template
    edited on disk (Jinja2 checks its modification time)."""
    return _environment(kind, str(templates) if templates else None)


@functools.cache
def _environment(kind: str, templates: str | None) -> jinja2.Environment:
    if kind == "html":
        env = jinja2.Environment(loader=_loader(templates), autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=False, lstrip_blocks=False)
    else:
        env = jinja2.Environment(loader=_loader(templates), autoescape=False, finalize=md_escape,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["css_string"] = css_string
    return env


def _context(report: Report) -> dict:
    w = report.words
    return {
        "report": report, "w": w["words"], "f": w["fields"], "s": w["sections"], "p": w["punct"],
        "caption": say(w["words"]["figure_caption"], title=report.incident.title,
                       start=report.incident.window_start, end=report.incident.window_end),
    }


def render_markdown(report: Report, figure_href: str | None = None, templates: str | Path | None = None,
                    timeline_href: str | None = None) -> str:
    """The report in Markdown; ``figure_href`` is where the chain figure is saved beside it, if it is, and
    ``timeline_href`` the reporting timeline (``timeline_file``)."""
    env = environment("md", templates)
    href = Markup(quote(figure_href)) if figure_href else None
    timeline = Markup(quote(timeline_href)) if timeline_href and has_timeline(report) else None
    text = env.get_template("report.md.j2").render(figure=href, timeline=timeline, **_context(report))
    return re.sub(r"\n{3,}", "\n\n", text)


def render_html(report: Report, figure: ChainFigure | bool | None = True, print_: bool = False,
                templates: str | Path | None = None) -> str:
    """The report as one self-contained HTML page (CSS inlined, figures as SVG data URIs: the chain's, and
    the reporting timeline when the report has one and ``figure`` is not off)."""
    timeline = _svg_uri(draw_reporting(report.reporting, ("svg",))) if figure and has_timeline(report) else None
    if figure is True:
        figure = draw(report, ("svg",))
    uri, tall = None, False
    if figure:
        uri = _svg_uri(figure)
        tall = figure.height_pt / max(figure.width_pt, 1) > TALL
    env = environment("html", templates)
    css = env.loader.get_source(env, "report.css")[0]
    page = report.words["words"]["page"].split("{page}")
    return env.get_template("report.html.j2").render(
        figure=uri, figure_tall=tall, timeline=timeline, css=Markup(css), print=print_,
        page_before=page[0], page_after=page[1] if len(page) > 1 else "", **_context(report),
    )


def _svg_uri(figure: ChainFigure) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(figure.svg).decode("ascii")


def has_timeline(report: Report) -> bool:
    """Whether the report has a reporting timeline to draw (v2, an incident with occurred_at and steps)."""
    return bool(report.reporting and report.reporting.steps)


def timeline_file(report_file: str | Path) -> str:
    """The name of the reporting timeline's SVG beside a Markdown report (as the chain's is FILE.chain.svg).

    >>> timeline_file("out/a1.md")
    'a1.reporting.svg'
    """
    return Path(report_file).with_suffix("").name + ".reporting.svg"


def render_pdf(report: Report, figure: ChainFigure | bool | None = True, templates: str | Path | None = None) -> bytes:
    """The HTML report printed to PDF by WeasyPrint (offline: nothing is fetched)."""
    import logging

    from weasyprint import HTML

    html = render_html(report, figure, print_=True, templates=templates)
    # WeasyPrint warns about CSS it ignores (e.g. screen-only rules); those are not the user's business
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return HTML(string=html, base_url=str(TEMPLATES), url_fetcher=_inline_only()).write_pdf()
    finally:
        log.setLevel(level)


def _inline_only():
    """A URL fetcher for ``data:`` URIs only: everything the PDF needs is inline, nothing is fetched."""
    try:  # WeasyPrint >= 68
        from weasyprint.urls import URLFetcher

        return URLFetcher(allowed_protocols=("data",))
    except ImportError:
        from weasyprint.urls import default_url_fetcher

        def fetch(url: str, *args, **kwargs):
            if not url.startswith("data:"):
                raise ValueError(f"not fetched: {url}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch


def render(report: Report, fmt: str, figure: bool = True, figure_href: str | None = None,
           templates: str | Path | None = None, timeline_href: str | None = None) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS`) as bytes."""
    if fmt == "md":
        return render_markdown(report, figure_href if figure else None, templates,
                               timeline_href if figure else None).encode("utf-8")
    if fmt == "html":
        return render_html(report, figure, templates=templates).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(report, figure, templates=templates)
    if fmt == "docx":
        from accountability.reports.docx import render_docx

        return render_docx(report, figure)
    raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")
