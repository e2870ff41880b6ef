"""The figure of the accountability chain: incident → jurisdictions → units → posts → persons.

The chain is a networkx ``DiGraph`` laid out as a left-to-right tree (one row per person, a parent
centred on its children) and drawn with matplotlib: posts are coloured by duty and marked with their
degree, higher-level (escalated) links are dashed, persons who moved on are grey. A person who held two
accountable posts is one box with two incoming lines. Text becomes outlines in the SVG, so the figure
shows Chinese names on machines without a Chinese font; drawing it needs one (Noto Sans CJK, from
the Debian package ``fonts-noto-cjk``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import networkx as nx

from accountability.reports.model import ROLE_ORDER, Report, say

if TYPE_CHECKING:
    from accountability.reports.timeliness import ReportingSection

# Fonts tried in order; the first one installed draws the labels.
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "Noto Sans CJK JP")
DUTY_COLORS = {  # fill, edge
    "enterprise_main": ("#fde2c4", "#c46a12"),
    "sector_supervision": ("#d4e6f7", "#2f6aa3"),
    "comprehensive_supervision": ("#dcefd0", "#4f8a2b"),
    "territorial_leadership": ("#f8d7d7", "#b03a3a"),
}
OTHER_COLORS = ("#eeeeee", "#666666")
FONT_PT = 8.0
PAD_PT = 4.0  # inside a box, each side
ROW_PT = 20.0  # one row: a box and the space under it
GAP_PT = 26.0  # between columns
MOVED_GREY = "#8a8a8a"


@dataclass
class ChainFigure:
    svg: bytes | None
    png: bytes | None
    width_pt: float
    height_pt: float


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed font of :data:`CJK_FONTS`, or None.

    matplotlib looks fonts up in a list it caches on first use; a font installed after that (the README's
    ``make app`` runs before ``make test`` installs fonts-noto-cjk) is missing from the cached list. So when
    the list has none, the system's font folders are scanned and the CJK files found there are added."""
    from matplotlib import font_manager

    found = _known_cjk_font(font_manager)
    if found is None:
        for path in font_manager.findSystemFonts():
            if _looks_cjk(path):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable file is skipped, not fatal
                    continue
        found = _known_cjk_font(font_manager)
    return found


def _known_cjk_font(font_manager) -> str | None:
    for family in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            return family
        except ValueError:
            continue
    return None


def _looks_cjk(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return any(word in name for word in ("cjk", "sourcehansans", "wqy", "simhei", "msyh", "pingfang"))


def chain_graph(report: Report) -> nx.DiGraph:
    """The chain as a graph: nodes carry ``tier`` (0–4), ``label`` and drawing hints."""
    w = report.words["words"]
    short = report.words["short_degrees"]
    g = nx.DiGraph()
    inc = report.incident
    g.add_node("incident", tier=0, label=f"{inc.title}\n{inc.level_label}", duty=None, style="incident")
    org_order: dict[str, int] = {}
    for link in report.links:
        org_order.setdefault(link.organization.id, len(org_order))
    # units in the order the chain reaches them; within a unit, the principal leader first
    for link in sorted(report.links, key=lambda k: (org_order[k.organization.id], k.escalated, -k.weight,
                                                   ROLE_ORDER.get(k.role, 99))):
        j, o = ("j", link.jurisdiction.id), ("o", link.organization.id)
        p = ("p", link.post.id, link.duty, link.escalated)
        g.add_node(j, tier=1, label=link.jurisdiction.name, duty=None, style="jurisdiction")
        g.add_node(o, tier=2, label=link.organization.name, duty=None, style="unit")
        degree = short.get(link.degree, link.degree_label)
        post_label = f"{link.post.name}（{degree}）" if report.lang == "zh" else f"{link.post.name} ({degree})"
        g.add_node(p, tier=3, label=post_label, duty=link.duty, style="post", escalated=link.escalated)
        g.add_edge("incident", j)
        g.add_edge(j, o)
        g.add_edge(o, p, escalated=link.escalated)
        if not link.holders:
            v = ("v", link.post.id, link.duty, link.escalated)
            g.add_node(v, tier=4, label=w["vacant"], duty=None, style="vacant")
            g.add_edge(p, v)
        for h in link.holders:
            n = ("h", h.person.id)
            if n not in g:
                g.add_node(n, tier=4, name=h.person.name, duty=None, style="person", moved=[], acting=False)
            g.nodes[n]["moved"].append(h.moved_on)
            g.nodes[n]["acting"] |= h.acting
            g.add_edge(p, n)
    for n, data in g.nodes(data=True):
        if data["style"] == "person":
            moved = all(data["moved"])
            data["moved_on"] = moved
            suffix = [w["acting"]] if data["acting"] else []
            suffix += [w["moved_on"]] if moved else []
            sep = "（{}）" if report.lang == "zh" else " ({})"
            data["label"] = data["name"] + (sep.format(w["sep"].join(suffix)) if suffix else "")
    return g


def layout(g: nx.DiGraph) -> dict:
    """Rows for the leaves in depth-first order; every other node centred on the children it placed."""
    rows: dict = {}
    counter = [0]

    def place(node) -> float:
        ys = [place(k) for k in list(g.successors(node)) if k not in rows]
        if ys:
            rows[node] = (min(ys) + max(ys)) / 2
        else:
            rows[node] = counter[0]
            counter[0] += 1
        return rows[node]

    place("incident")
    return rows


@contextlib.contextmanager
def _drawing() -> Iterator[list[str]]:
    """matplotlib as the report's figures draw: off screen, the first Chinese font of :data:`CJK_FONTS` then
    DejaVu Sans (yielded), text as outlines in SVG, a fixed hash salt (the same figure, the same bytes)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import rc_context

    family = cjk_font()
    if family is None:  # one place warns: Python shows the warning once, however many figures a report has
        warnings.warn("no Chinese font found (install fonts-noto-cjk): names in the figure may show as boxes",
                      stacklevel=1)
    families = ([family] if family else []) + ["DejaVu Sans"]
    with warnings.catch_warnings(), rc_context({"font.family": families, "svg.fonttype": "path",
                                                "svg.hashsalt": "accountability", "axes.unicode_minus": False}):
        # Without a Chinese font matplotlib warns once per missing glyph — hundreds that bury "wrote …";
        # the one warning above says it all.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from (current )?font")
        yield families


def _save(fig, formats: tuple[str, ...], dpi: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.08,
                    metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buf.getvalue()
    return out


def draw(report: Report, formats: tuple[str, ...] = ("svg",), dpi: int = 200) -> ChainFigure:
    """The chain figure of ``report`` as SVG and/or PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch, Patch

    g = chain_graph(report)
    rows = layout(g)
    n_rows = max(rows.values()) + 1 if rows else 1

    with _drawing() as families:
        prop = FontProperties(family=families, size=FONT_PT)
        measure = RendererAgg(10, 10, 72)  # at 72 dpi a pixel is a point

        def text_size(label: str) -> tuple[float, float]:
            lines = label.split("\n")
            widths = [measure.get_text_width_height_descent(line or " ", prop, ismath=False)[0] for line in lines]
            return max(widths), len(lines) * FONT_PT * 1.25

        sizes = {n: text_size(d["label"]) for n, d in g.nodes(data=True)}
        tiers = sorted({d["tier"] for _, d in g.nodes(data=True)})
        col_w = {t: max(sizes[n][0] for n, d in g.nodes(data=True) if d["tier"] == t) + 2 * PAD_PT for t in tiers}
        col_x, x = {}, 0.0
        for t in tiers:
            col_x[t] = x
            x += col_w[t] + GAP_PT
        width = x - GAP_PT
        height = n_rows * ROW_PT

        fig = Figure(figsize=(width / 72, height / 72))
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)  # row 0 at the top
        ax.axis("off")

        boxes = {}
        for n, data in g.nodes(data=True):
            t = data["tier"]
            w_box = col_w[t]
            h_box = sizes[n][1] + 2 * PAD_PT * 0.6
            cx, cy = col_x[t], rows[n] * ROW_PT + ROW_PT / 2
            fill, edge = "#ffffff", "#555555"
            style, lw, color = "-", 0.6, "#111111"
            if data["style"] == "incident":
                fill, edge, lw = "#333333", "#333333", 0.8
                color = "#ffffff"
            elif data["style"] == "jurisdiction":
                fill = "#f2f2f2"
            elif data["style"] == "post":
                fill, edge = DUTY_COLORS.get(data["duty"], OTHER_COLORS)
                lw = 0.9
                if data["escalated"]:
                    style = "--"
            elif data["style"] == "vacant":
                edge, style, color = "#b03a3a", ":", "#b03a3a"
            elif data["style"] == "person" and data["moved_on"]:
                edge, style, color = MOVED_GREY, "--", MOVED_GREY
            ax.add_patch(FancyBboxPatch((cx, cy - h_box / 2), w_box, h_box, boxstyle="round,pad=0,rounding_size=3",
                                        fc=fill, ec=edge, lw=lw, ls=style, clip_on=False))
            ax.text(cx + w_box / 2, cy, data["label"], ha="center", va="center", fontproperties=prop, color=color,
                    linespacing=1.1)
            boxes[n] = (cx, cy, w_box)

        for a, b, data in g.edges(data=True):
            ax_, ay, aw = boxes[a]
            bx, by, _ = boxes[b]
            x0, x1 = ax_ + aw, bx
            mid = x0 + (x1 - x0) / 2
            escalated = data.get("escalated", False)
            target = g.nodes[b]
            color = DUTY_COLORS.get(target.get("duty"), OTHER_COLORS)[1] if target["style"] == "post" else "#8c8c8c"
            ax.add_line(Line2D([x0, mid, mid, x1], [ay, ay, by, by], lw=0.6, color=color,
                               ls="--" if escalated else "-", solid_joinstyle="round", clip_on=False))

        handles = [Patch(fc=DUTY_COLORS[d][0], ec=DUTY_COLORS[d][1], label=label)
                   for d, label in ((grp.duty, grp.label) for grp in report.duties) if d in DUTY_COLORS]
        handles += [Line2D([0], [0], color="#555555", ls="--", lw=0.9, label=report.words["words"]["legend_escalated"]),
                    Line2D([0], [0], color=MOVED_GREY, ls="--", lw=0.9, label=report.words["words"]["legend_moved_on"])]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 0), ncol=min(3, len(handles)),
                  prop=FontProperties(family=families, size=FONT_PT - 0.5), frameon=False, handlelength=2.2)

        out = _save(fig, formats, dpi)
        bbox = fig.get_tightbbox(canvas.get_renderer())
    return ChainFigure(out.get("svg"), out.get("png"), bbox.width * 72 + 11.5, bbox.height * 72 + 11.5)


# -- the reporting timeline (v2, an incident with occurred_at) ---------------------------------------------

REPORT_COLORS = {"window": ("#e3ecf5", "#9fb6cc"), "due": "#333333", "on_time": "#4f8a2b",
                 "late_report": "#d35400", "missed_report": "#b03a3a", "unreached": MOVED_GREY}
STEP_ROW_IN = 0.3  # one step's row, in inches
TIMELINE_AXES_IN = 4.4  # the time axis, in inches (the steps' names come to the left of it)


def _local(value: str) -> dt.datetime:
    """An ISO datetime of the report (already in Asia/Shanghai time) as the wall-clock time matplotlib plots."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=None)


def draw_reporting(section: "ReportingSection", formats: tuple[str, ...] = ("svg",), dpi: int = 200) -> ChainFigure:
    """The reporting timeline of a report (``timeliness.ReportingSection``) as SVG and/or PNG bytes: one row
    per required step, sender → receiver, with the time it had (from the incident or its own receipt to the
    due time), the due time as a tick, and the report made — on time in green, late in a warning colour with
    its minutes, missed marked ×; a step that could not be made (unreached) says so in grey."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    words = section.words
    steps = section.steps
    occurred = _local(section.occurred_at)
    moments = [occurred] + [_local(t) for s in steps for t in (s.due, s.at) if t]
    span = max(max(moments) - occurred, dt.timedelta(hours=1))
    start, end = occurred - span * 0.04, max(moments) + span * 0.16
    n = max(len(steps), 1)
    with _drawing() as families:
        prop = FontProperties(family=families, size=FONT_PT)
        small = FontProperties(family=families, size=FONT_PT - 1)
        fig = Figure(figsize=(TIMELINE_AXES_IN, 0.45 + STEP_ROW_IN * n))
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(start, end)
        ax.set_ylim(n - 0.4, -0.9)  # the first step at the top; room above it for the incident's mark
        for y, s in enumerate(steps):
            if s.opened and s.due:
                opened, due = _local(s.opened), _local(s.due)
                fill, edge = REPORT_COLORS["window"]
                ax.barh(y, due - opened, left=opened, height=0.42, color=fill, edgecolor=edge, linewidth=0.5)
                ax.plot([due, due], [y - 0.3, y + 0.3], color=REPORT_COLORS["due"], lw=1.1, solid_capstyle="butt")
            color = REPORT_COLORS[s.status]
            if s.status == "on_time":
                ax.plot([_local(s.at)], [y], "o", color=color, ms=4.5)
            elif s.status == "late_report":
                at = _local(s.at)
                ax.plot([_local(s.due), at], [y, y], color=color, lw=2.2, solid_capstyle="butt")
                ax.plot([at], [y], "o", color=color, ms=4.5)
                ax.annotate(say(words["minutes"], minutes=s.late_minutes), (at, y), xytext=(5, 0),
                            textcoords="offset points", va="center", color=color, fontproperties=small)
            elif s.status == "missed_report":
                due = _local(s.due)
                ax.plot([due], [y], marker="x", color=color, ms=6.5, mew=1.8)
                ax.annotate(words["legend_missed"], (due, y), xytext=(7, 0), textcoords="offset points",
                            va="center", color=color, fontproperties=small)
            else:  # unreached: nothing was due of it
                ax.annotate(words["unreached"], (occurred, y), xytext=(4, 0), textcoords="offset points",
                            va="center", color=color, fontproperties=small, fontstyle="italic")
        ax.axvline(occurred, color="#333333", ls="--", lw=0.8)
        ax.annotate(f"{words['incident']} {occurred:%H:%M}", (occurred, -0.9), xytext=(3, -2),
                    textcoords="offset points", va="top", fontproperties=small)
        ax.set_yticks(range(len(steps)))
        ax.set_yticklabels([f"{s.number}. {s.sender.name} → {s.receiver.name}" for s in steps], fontproperties=prop)
        ax.tick_params(axis="y", length=0)
        def tick(x: float, _pos) -> str:  # the clock; the day under it once the incident's day is over
            when = mdates.num2date(x)
            return f"{when:%H:%M}" + ("" if when.date() == occurred.date() else f"\n{when:%m-%d}")

        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=9))
        ax.xaxis.set_major_formatter(tick)
        for label in ax.get_xticklabels():
            label.set_fontproperties(small)
        ax.grid(axis="x", color="#dddddd", lw=0.5)
        ax.set_axisbelow(True)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        fill, edge = REPORT_COLORS["window"]
        handles = [Patch(fc=fill, ec=edge, label=words["legend_window"]),
                   Line2D([0], [0], color=REPORT_COLORS["due"], lw=1.1, marker="|", ms=8, ls="none",
                          label=words["legend_due"]),
                   Line2D([0], [0], color=REPORT_COLORS["on_time"], marker="o", ms=4.5, ls="none",
                          label=words["legend_on_time"]),
                   Line2D([0], [0], color=REPORT_COLORS["late_report"], marker="o", ms=4.5, lw=2.2,
                          label=words["legend_late"]),
                   Line2D([0], [0], color=REPORT_COLORS["missed_report"], marker="x", ms=6, mew=1.8, ls="none",
                          label=words["legend_missed"])]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.36 / (0.45 + STEP_ROW_IN * n)),
                  ncol=len(handles), prop=small, frameon=False, handlelength=1.6, columnspacing=1.2)
        out = _save(fig, formats, dpi)
        bbox = fig.get_tightbbox(canvas.get_renderer())
    return ChainFigure(out.get("svg"), out.get("png"), bbox.width * 72 + 11.5, bbox.height * 72 + 11.5)
