"""Accountability reports after an incident, in Markdown, HTML, Word and PDF, in Chinese and English::

    from accountability.reports import build_report, render
    report = build_report(session, "A1", lang="zh")      # plain data: sections, links, findings …
    pdf = render(report, "pdf")                          # bytes; also "md", "html", "docx"

:func:`build_report` assembles the report as plain data (``model.py``); :func:`render` lays it out.
"""

from accountability.reports.model import Report, build_report
from accountability.reports.render import FORMATS, render

__all__ = ["FORMATS", "Report", "build_report", "render"]
