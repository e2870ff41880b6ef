"""Measures (the State Council's fifteen and a province's own): who was to carry out what by when, what they
report, and who answers for an overdue measure (DESIGN.md, "Measures" and its resolved readings).

- :func:`measures` — the dataset's measures and the built-in ones (``graph_schema/measures.yaml``), by id.
- :func:`status_rows` — per assignment on D: the latest report's status on or before D (none: ``not_started``),
  the deadline (the assignment's, else the measure's) and the days overdue (D after the deadline and not
  ``done``; 0 otherwise: the deadline day itself is not overdue).
- :func:`links` — rule M1: for each overdue ``lead`` assignment, the lead organization's head
  (``principal_leadership``) and the posts of the government of its jurisdiction whose portfolio on D covers
  it — the organization, one of its industries, or ``*`` (``important_leadership``); duty
  ``measure_implementation`` (Provisions Art. 18(1)). Links are dicts in the JSON shape of a chain's links,
  one per (post, measure), with the holders on D, each with an assessment as on every v2 link (no record
  exempts from M1; a holder too briefly in the post, fewer than the ruleset's ``min_days``, had no
  conditions to perform), and the assignment as evidence. None under a v1 ruleset: M1 comes with v2.

A user scoped to a jurisdiction sees the assignments of the organizations of their subtree.
"""

from __future__ import annotations

from typing import Iterator

from accountability.campaigns import HEAD_ROLE
from accountability.dates import day
from graph_schema.measures import BUILTIN_MEASURES

RULE = "M1"
DUTY = "measure_implementation"
BASIS = {"zh": "《地方党政领导干部安全生产责任制规定》第十八条第（一）项",
         "en": "Provisions on the Work-Safety Responsibility of Local Party and Government Leaders, Art. 18(1)"}
EXPLAIN = {
    "principal_leadership": {
        "zh": "{org}牵头的措施{measure}逾期{days}日未完成，{post}作为牵头单位主要负责人负主要领导责任",
        "en": "Measure {measure}, led by {org}, is {days} day(s) overdue and not done: {post}, the head of the "
              "lead organization, bears principal leadership responsibility",
    },
    "important_leadership": {
        "zh": "{org}牵头的措施{measure}逾期{days}日未完成，{post}分管该单位或行业，负重要领导责任",
        "en": "Measure {measure}, led by {org}, is {days} day(s) overdue and not done: {post}, whose portfolio "
              "covers it, bears important leadership responsibility",
    },
}
COLUMNS = ["measure_id", "title", "source", "organization_id", "role", "deadline", "status", "days_overdue"]


def _has(session, table: str) -> bool:
    return table in session.store.schema.tables


def measures(session, lang: str = "zh") -> dict[str, dict]:
    """Every measure by id: the built-in ones (titles in ``lang``) and the dataset's."""
    out = {}
    for m in BUILTIN_MEASURES:
        out[m["id"]] = {**m, "title": m["title_en"] if lang == "en" else m["title"]}
    for m in session.store.rows("measures") if _has(session, "measures") else ():
        out[m["id"]] = m
    return out


def _organizations(session, jurisdiction: str | None) -> dict[str, dict] | None:
    """The organizations whose assignments are shown (None: all): those of ``jurisdiction``'s subtree and of
    the user's scope."""
    within = session.scope.within(jurisdiction)
    if within is None:
        return None
    return {o["id"]: o for o in session.store.rows("organizations", jurisdiction_id=sorted(within))}


def status_rows(session, as_of: str, jurisdiction: str | None = None, lang: str = "zh") -> list[dict]:
    """One row per assignment in view on ``as_of``: ``{measure_id, title, source, organization_id, role,
    deadline, status, days_overdue}``, most overdue first, then by measure and organization."""
    if not _has(session, "measure_assignments"):
        return []
    known = measures(session, lang)
    shown = _organizations(session, jurisdiction)
    latest: dict[tuple[str, str], dict] = {}
    for r in session.store.rows("measure_reports"):
        if r["on"] > as_of:
            continue
        key = (r["measure_id"], r["organization_id"])
        if key not in latest or r["on"] > latest[key]["on"]:
            latest[key] = r
    rows = []
    for a in session.store.rows("measure_assignments"):
        if shown is not None and a["organization_id"] not in shown:
            continue
        m = known.get(a["measure_id"], {})
        deadline = a["deadline"] or m.get("deadline")
        report = latest.get((a["measure_id"], a["organization_id"]))
        status = report["status"] if report else "not_started"
        rows.append({"measure_id": a["measure_id"], "title": m.get("title"), "source": m.get("source"),
                     "organization_id": a["organization_id"], "role": a["role"], "deadline": deadline,
                     "status": status, "days_overdue": overdue_days(deadline, status, as_of)})
    rows.sort(key=lambda r: (-r["days_overdue"], r["measure_id"], r["organization_id"]))
    return rows


def overdue_days(deadline: str | None, status: str, as_of: str) -> int:
    """Days past the deadline of a measure not done on ``as_of``; 0 on the deadline day, when done, or
    without a deadline.

    >>> overdue_days("2026-06-30", "in_progress", "2026-06-30"), overdue_days("2026-06-30", "in_progress", "2026-07-01")
    (0, 1)
    >>> overdue_days("2026-06-30", "done", "2026-08-01"), overdue_days(None, "not_started", "2026-08-01")
    (0, 0)
    """
    if not deadline or status == "done" or as_of <= deadline:
        return 0
    return day(as_of) - day(deadline)


def links(session, as_of: str, jurisdiction: str | None = None, lang: str = "zh",
          rows: list[dict] | None = None) -> list[dict]:
    """Rule M1's links on ``as_of`` for the overdue lead assignments in view (``rows``: :func:`status_rows`
    already computed), by measure, organization, then degree and post."""
    if session.ruleset.generation < 2:  # M1 comes with version 2's rules, as the measures do
        return []
    rows = status_rows(session, as_of, jurisdiction, lang) if rows is None else rows
    graph = session.graph
    out = []
    for r in sorted(rows, key=lambda r: (r["measure_id"], r["organization_id"])):
        if r["role"] != "lead" or not r["days_overdue"]:
            continue
        org = graph.org(r["organization_id"])
        if org is None:
            continue
        evidence = {"kind": "measure", "measure_id": r["measure_id"], "organization_id": org.id,
                    "deadline": r["deadline"], "status": r["status"], "days_overdue": r["days_overdue"]}
        for post, degree in _answering(session, org, as_of):
            out.append(_link(session, post, degree, org, r, evidence, as_of, lang))
    return out


def _answering(session, org, as_of: str) -> Iterator[tuple]:
    """The lead organization's head post(s), then the government posts whose portfolio covers it on D."""
    graph = session.graph
    head_role = HEAD_ROLE.get(org.kind)
    heads = sorted(graph.posts_in(org.id, head_role), key=lambda p: p.id) if head_role else []
    for post in heads:
        yield post, "principal_leadership"
    seen = {p.id for p in heads}
    for gov in graph.organizations(org.jurisdiction_id, "government"):
        for post in sorted(graph.posts_in(gov.id), key=lambda p: p.id):
            if post.id not in seen and _covers(graph.portfolios_of.get(post.id, ()), org, as_of):
                seen.add(post.id)
                yield post, "important_leadership"


def _covers(portfolios, org, as_of: str) -> bool:
    return any(p.start <= as_of <= p.end and (p.organization_id == org.id or p.industry == "*"
                                              or (p.industry is not None and p.industry in org.industries))
               for p in portfolios)


def _link(session, post, degree: str, org, row: dict, evidence: dict, as_of: str, lang: str) -> dict:
    graph = session.graph
    holders = [{"person_id": t.person_id, "name": t.name, "start": t.start,
                "end": None if t.end == "9999-12-31" else t.end, "acting": t.acting}
               for t in post.tenures if t.start <= as_of <= t.end]
    for h in holders:  # as every v2 link's holders: no record exempts from M1, a brief tenure may
        status, reasons = session.engine.assessment_on(h["person_id"], post.id, as_of)
        h["assessment"] = {"status": status, "reasons": list(reasons)}
    facts = {"org": org.name, "measure": row["measure_id"], "days": row["days_overdue"], "post": post.title}
    return {
        "post_id": post.id, "post_title": post.title, "organization_id": post.organization_id,
        "jurisdiction_id": graph.orgs[post.organization_id].jurisdiction_id, "duty": DUTY, "degree": degree,
        "rules": [RULE], "basis": [BASIS[lang]], "escalated": False, "holders": holders,
        "path": [org.id, post.id], "explanation": EXPLAIN[degree][lang].format(**facts),
        "evidence": [evidence], "measure_id": row["measure_id"],
    }


def overview(session, as_of: str, jurisdiction: str | None = None, lang: str = "zh") -> dict:
    """``{as_of, rows, links}``: the JSON of ``accountability measures``."""
    rows = status_rows(session, as_of, jurisdiction, lang)
    return {"as_of": as_of, "rows": rows, "links": links(session, as_of, jurisdiction, lang, rows)}


def of_person(session, person_id: str, as_of: str, lang: str = "zh") -> list[dict]:
    """The overdue measures ``person_id`` answers for on ``as_of`` (rule M1, over the assignments in the
    user's view): one row per link held, ``{measure_id, title, organization_id, deadline, status,
    days_overdue, post_id, degree}``, most overdue first."""
    titles = measures(session, lang)
    rows = [{"measure_id": link["measure_id"], "title": titles.get(link["measure_id"], {}).get("title"),
             "organization_id": ev["organization_id"], "deadline": ev["deadline"], "status": ev["status"],
             "days_overdue": ev["days_overdue"], "post_id": link["post_id"], "degree": link["degree"]}
            for link in links(session, as_of, lang=lang) for ev in link["evidence"]
            if any(h["person_id"] == person_id for h in link["holders"])]
    rows.sort(key=lambda r: (-r["days_overdue"], r["measure_id"], r["organization_id"], r["post_id"]))
    return rows


def overdue_counts(session, as_of: str) -> dict[str, int]:
    """Per person, how many overdue measures they answer for on ``as_of`` (rule M1, distinct measures,
    over the assignments in the user's view)."""
    held: dict[str, set[str]] = {}
    for link in links(session, as_of):
        for h in link["holders"]:
            held.setdefault(h["person_id"], set()).add(link["measure_id"])
    return {person: len(ids) for person, ids in held.items()}
