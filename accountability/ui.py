"""The app's glue that is not Streamlit: the shared live session, the overview's counts, one person's
records, what a chain does not say by itself, and a chain's export as CSV, xlsx or docx.

The pages (``app_pages/``) stay thin: they read widgets, call these functions and the library, and lay
out the answer. Nothing here imports ``streamlit``, so every function can be tested, and reused, alone.
Display names are :mod:`accountability.names`', the graph explorer and its drawing
:mod:`accountability.graphview`'s, uploads :mod:`accountability.uploads`', the exposure ranking the
queries' (:func:`accountability.queries.exposure_ranking`).

Data shown by the app is text, never markup: in Streamlit markdown (titles, captions, messages, widget
labels) :func:`md` escapes it, so a name like ``[点我](http://…)`` or ``:red[…]`` prints as typed; the
graph's and the uploads' modules say how they keep it so.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accountability import conduct
from accountability.access import NOBODY_CONFIGURED, User
from accountability.dates import Window, day, iso
from accountability.errors import StoreError, UsageError
from accountability.graph import FOREVER
from accountability.names import Labels
from accountability.queries import unresolved_in
from accountability.trace import Chain, hazard_state
from accountability.trace_v2 import escalation_reason

# -- text -----------------------------------------------------------------------------------------------

# What could make a link, an image, emphasis, code, math, HTML, a heading or a Streamlit directive
# (":red[…]") out of a name. Bare URLs and e-mail addresses are linked by the renderer whatever the
# escapes, so a word joiner (U+2060, invisible) breaks "//", "www." and "@".
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]()!<>~$#|:])")
_AUTOLINK = re.compile(r"(?i)(//|www\.|@)")
WORD_JOINER = "\u2060"


def md(text: Any) -> str:
    r"""``text`` escaped for Streamlit markdown: shown as typed (on one line), never as a link, an image,
    emphasis or a directive.

    >>> print(md("[点我](http://x) :red[警告] $x$ a_b").replace(WORD_JOINER, "|"))
    \[点我\]\(http\:/|/x\) \:red\[警告\] \$x\$ a\_b
    >>> md(None)
    ''
    """
    if text is None:
        return ""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
    return _AUTOLINK.sub(lambda m: m[1][:-1] + WORD_JOINER + m[1][-1], escaped)


# -- one session for every page, reopened after an import ------------------------------------------------


class LiveSession:
    """A read-only session on one store, shared by the app's users and reopened when the store's dataset
    changes (an import from the Data page, or from the CLI meanwhile).

    The graph and the engine caches are not made for concurrent use, so callers hold the lock while they
    use the session: ``with live.use() as session: …``.
    """

    def __init__(self, uri: str, rules: str | None = None):
        self.uri = uri
        self.rules = rules
        self.lock = threading.RLock()
        self.batch_lock = threading.RLock()
        self._batch: tuple[tuple, Any] | None = None
        self._session = None
        self._hash: str | None = None

    def dataset_hash(self) -> str | None:
        """The dataset the store holds now (None when the store is missing or empty)."""
        with self.lock:
            session = self._open()
            return (session.store.meta() or {}).get("dataset_hash") if session else None

    def _open(self):
        from accountability.session import Session

        if self._session is None:
            if not self.exists():
                return None
            self._session = Session(self.uri, rules=self.rules, readonly=True)
            self._hash = (self._session.store.meta() or {}).get("dataset_hash")
        return self._session

    @contextmanager
    def use(self, user: User = NOBODY_CONFIGURED) -> Iterator[Any]:
        """The session as ``user`` sees it, locked, every read in the block from one version of the data
        (an import committing meanwhile shows from the next block on); StoreError when the store does not
        exist yet."""
        with self.lock:
            session = self._open()
            if session is None:
                raise StoreError(f"store not found: {self.uri}")
            current = (session.store.meta() or {}).get("dataset_hash")
            if current != self._hash:
                self.reset()
                session = self._open()
            with session.store.snapshot():
                yield session.as_user(user)

    @contextmanager
    def batch(self, as_of: str, user: User = NOBODY_CONFIGURED) -> Iterator[Any]:
        """A second session for batch work on one date (tracing every unresolved hazard: the overview, the
        gaps, the queries, a provincial official's exposure), kept while the date stays the same.

        The engine keeps the parts of every chain it traced, per date — a hundred MB or more for a
        province — so batch work gets a session of its own, replaced when another date (or dataset) comes,
        and the interactive session stays small and is not locked meanwhile.
        """
        from accountability.session import Session

        digest = self.dataset_hash()  # before taking batch_lock: never wait for one lock holding the other
        if digest is None and not self.exists():
            raise StoreError(f"store not found: {self.uri}")
        key = (as_of, digest)
        with self.batch_lock:
            if self._batch is None or self._batch[0] != key:
                if self._batch is not None:
                    self._batch[1].close()
                    self._batch = None
                session = Session(self.uri, rules=self.rules, readonly=True)
                # batch work traces thousands of hazards: the graph read whole, once per (date, dataset), for
                # every user (a province's city ranked: 14 s to read it + 9 s, against 31–122 s read piece by piece)
                session.graph.load_all()
                self._batch = (key, session)
            yield self._batch[1].as_user(user)

    def write(self, dataset, progress=None):
        """Import ``dataset`` into the store (made if need be) while no page reads it; the next ``use`` sees it.
        Returns the store's ``WriteResult``."""
        from accountability.progress import write
        from accountability.stores import open_store

        with self.lock, open_store(self.uri) as store:
            result = write(store, dataset, progress)
        self.reset()
        return result

    def exists(self) -> bool:
        """Whether there is a store to open (a server store is assumed to be there)."""
        from accountability.stores import is_neo4j

        return is_neo4j(self.uri) or Path(self.uri).exists()

    def reset(self) -> None:
        with self.lock:
            if self._session is not None:
                self._session.close()
            self._session, self._hash = None, None
        with self.batch_lock:
            if self._batch is not None:
                self._batch[1].close()
            self._batch = None


# -- the overview --------------------------------------------------------------------------------------------


def city_of(graph, jid: str) -> str:
    """The city (设区的市) a jurisdiction lies in, or the topmost jurisdiction above a city."""
    city_rank = graph.rank_of_level["city"]
    last = jid
    for j in graph.ancestors_or_self(jid):
        last = j.id
        if j.rank <= city_rank:
            return j.id
    return last


def hazard_summary(session, as_of: str, top: int = 50, recent_days: int = 365) -> dict:
    """The overview's counts, from one pass over the hazards unresolved on ``as_of`` — no tracing, so a
    province (half a million unresolved hazards) takes seconds, not minutes.

    Overdue and unescalated are judged as the engine judges them (``hazard_state``: the last extended
    deadline, the first escalation). Returns plain data (codes and ids, no labels) to be cached per
    (dataset, date): ``totals``; ``by_city`` and ``by_industry`` rows of unresolved / overdue / major /
    unescalated_major counts; ``overdue``: the most overdue hazards; ``incidents``: those of the last
    ``recent_days`` days, newest first.
    """
    graph = session.graph
    by_city: dict[str, Counter] = defaultdict(Counter)
    by_industry: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    overdue: list[tuple] = []
    cities: dict[str, str] = {}
    within = session.scope.jurisdictions  # what the user may see (None: everything)

    def area(jid: str) -> str:  # the city; for a user scoped below a city, their own jurisdiction
        city = city_of(graph, jid)
        return city if within is None or city in within else session.user.scope

    for hazard, events in session.store.hazard_records(unresolved_on=as_of):
        jid = hazard["jurisdiction_id"]
        if within is not None and jid not in within:
            continue
        city = cities.get(jid) or cities.setdefault(jid, area(jid))
        state = hazard_state(hazard, events, as_of)
        measures = ["unresolved"]
        if state["overdue_days"] > 0:
            measures.append("overdue")
            overdue.append((-state["overdue_days"], hazard["id"], hazard, state))
            if len(overdue) > 4 * top:  # keep the most overdue only
                overdue = sorted(overdue, key=lambda x: x[:2])[:top]
        if hazard["level"] == "major":
            measures.append("major")
            if not state["escalated_on"]:
                measures.append("unescalated_major")
        for m in measures:
            totals[m] += 1
            by_city[city][m] += 1
            by_industry[hazard["industry"]][m] += 1
    most = [{"hazard_id": h["id"], "description": h["description"], "industry": h["industry"], "level": h["level"],
             "jurisdiction_id": h["jurisdiction_id"], "organization_id": h["organization_id"],
             "deadline": st["deadline"], "days_overdue": st["overdue_days"]}
            for _, _, h, st in sorted(overdue, key=lambda x: x[:2])[:top]]
    since = iso(day(as_of) - recent_days)
    incidents = [r for r in session.store.rows("incidents") if since <= r["occurred_on"] <= as_of
                 and (within is None or r["jurisdiction_id"] in within)]
    incidents.sort(key=lambda r: (r["occurred_on"], r["id"]), reverse=True)
    recent = []
    for r in incidents[:top]:
        level, _ = session.engine.accident_level(r)
        recent.append({"incident_id": r["id"], "title": r["title"], "occurred_on": r["occurred_on"], "level": level,
                       "jurisdiction_id": r["jurisdiction_id"], "industry": r["industry"], "deaths": r["deaths"],
                       "serious_injuries": r["serious_injuries"], "direct_loss_yuan": r["direct_loss_yuan"]})
    totals["incidents"] = len(incidents)
    measures = ("unresolved", "overdue", "major", "unescalated_major")
    return {
        "as_of": as_of,
        "totals": {m: totals[m] for m in measures + ("incidents",)},
        "by_city": [{"jurisdiction_id": k, **{m: c[m] for m in measures}}
                    for k, c in sorted(by_city.items(), key=lambda kv: (-kv[1]["unresolved"], kv[0]))],
        "by_industry": [{"industry": k, **{m: c[m] for m in measures}}
                        for k, c in sorted(by_industry.items(), key=lambda kv: (-kv[1]["unresolved"], kv[0]))],
        "overdue": most,
        "incidents": recent,
    }


# -- one person -------------------------------------------------------------------------------------------------


def tenures_of_person(session, person_id: str) -> list[dict]:
    """The person's tenures the user may see, earliest first, with their posts' organization and
    jurisdiction."""
    rows = sorted(session.store.rows("tenures", person_id=person_id), key=lambda r: (r["start"], r["post_id"]))
    posts = {p["id"]: p for p in session.store.rows("posts", id=[r["post_id"] for r in rows])}
    orgs = {o["id"]: o for o in session.store.rows("organizations", id=[p["organization_id"] for p in posts.values()])}
    out = []
    for r in rows:
        post = posts.get(r["post_id"], {})
        org = orgs.get(post.get("organization_id"), {})
        if org and not session.visible("organizations", org):
            continue
        out.append({"post_id": r["post_id"], "post_title": post.get("title", r["post_id"]),
                    "role": post.get("role"), "organization_id": org.get("id"), "organization": org.get("name"),
                    "organization_kind": org.get("kind"), "jurisdiction_id": org.get("jurisdiction_id"),
                    "start": r["start"], "end": r["end"], "acting": bool(r["acting"])})
    return out


def conduct_of_person(session, tenures: list[dict]) -> list[dict]:
    """The records of what the person did in the posts they held (v2's conduct records), newest first: the
    inspections they led, the events they signed (closures, orders, escalations, re-inspections) and the
    designations they carried, each while they held the post. Records of units or hazards outside the
    user's scope are left out."""
    out = []
    for x in tenures:
        post, start, end = x["post_id"], x["start"], x["end"] or FOREVER
        for r in session.store.rows("inspections", post_id=post):
            if start <= r["on"] <= end and session.visible("organizations", r["organization_id"]):
                out.append({"date": r["on"], "post_id": post, "target": r["organization_id"],
                            "record": {"kind": "inspection", "id": r["id"], "date": r["on"], "outcome": r["outcome"]},
                            "hazard_ids": list(r["hazard_ids"] or ())})
        for e in session.store.rows("events", post_id=post):
            if start <= e["on"] <= end and session.visible("hazards", e["hazard_id"]):
                record = {"kind": "event", "hazard_id": e["hazard_id"], "date": e["on"], "event": e["kind"]}
                if e.get("outcome"):
                    record["outcome"] = e["outcome"]
                out.append({"date": e["on"], "post_id": post, "target": e["hazard_id"], "record": record,
                            "hazard_ids": [e["hazard_id"]]})
        for d in session.store.rows("designations", post_id=post):
            if d["start"] <= end and (d["end"] or FOREVER) >= start:
                out.append({"date": d["start"], "post_id": post, "target": d["target_id"],
                            "record": {"kind": "designation", "post_id": post, "designation": d["kind"],
                                       "target_id": d["target_id"], "date": d["start"]}, "hazard_ids": []})
    out.sort(key=lambda r: (r["date"], r["post_id"]), reverse=True)
    return out


def _held_on(tenure: dict, on: str) -> bool:
    return tenure["start"] <= on <= (tenure["end"] or FOREVER)


def exposure_scope(session, org_rows: Iterable[dict]) -> tuple[set[str], set[str]]:
    """The jurisdictions and enterprises whose hazards a post of these organizations can answer for.

    Every anchor of the engine lies at or above the hazard: the jurisdictions R, its parents (escalation)
    and the township are ancestors of J, the enterprise is the hazard's own, the park is its parent. So a
    government body answers only for hazards below its jurisdiction, an enterprise only for its own
    hazards, a park only for those of its enterprises.
    """
    graph = session.graph
    jurisdictions: set[str] = set()
    enterprises: set[str] = set()
    for org in org_rows:
        if org["kind"] == "enterprise":
            enterprises.add(org["id"])
        else:
            jurisdictions |= graph.subtree(org["jurisdiction_id"])
            if org["kind"] == "park_committee":
                enterprises |= {o["id"] for o in session.store.rows("organizations", parent_id=org["id"])}
    return jurisdictions, enterprises


def posts_held(session, person_id: str, as_of: str) -> list[dict]:
    """The organizations of the posts ``person_id`` holds on ``as_of``."""
    held = [t for t in tenures_of_person(session, person_id) if _held_on(t, as_of)]
    if not held:
        return []
    return list(session.store.rows("organizations", id=sorted({t["organization_id"] for t in held})))


def person_exposure(session, person_id: str, as_of: str) -> list[dict]:
    """Every hazard unresolved on ``as_of`` in whose chain ``person_id`` holds a post, one row per link
    (the answer of the ``official-exposure`` query with ``person``, tracing only the hazards below the
    person's posts)."""
    orgs = posts_held(session, person_id, as_of)
    if not orgs:
        return []
    jurisdictions, enterprises = exposure_scope(session, orgs)
    window = Window.on(as_of)
    engine = session.engine
    rows = []
    for hazard, events in unresolved_in(session, jurisdictions, enterprises, as_of):
        chain = engine.chain(hazard, events, window)
        for link in chain.links:
            if any(h.person_id == person_id for h in link.holders):
                state = hazard_state(hazard, events, as_of)
                rows.append({"hazard_id": hazard["id"], "description": hazard["description"],
                             "industry": hazard["industry"], "level": hazard["level"],
                             "jurisdiction_id": hazard["jurisdiction_id"],
                             "organization_id": hazard["organization_id"], "found_on": hazard["found_on"],
                             "days_overdue": state["overdue_days"], "post_id": link.post_id,
                             "post_title": link.post_title, "duty": link.duty, "degree": link.degree,
                             "escalated": link.escalated, "rules": list(link.rules)})
    return rows


def portfolios_of_posts(session, post_ids: list[str]) -> list[dict]:
    if not post_ids:
        return []
    return sorted(session.store.rows("portfolios", post_id=post_ids), key=lambda r: (r["post_id"], r["start"]))


# -- what a chain does not say by itself ------------------------------------------------------------------------


def escalation(session, hazard: dict, events: list[dict], on: str) -> dict:
    """Why the level above the regulator answers for ``hazard`` on ``on`` (the hazard escalation rule, R7:
    a major hazard, or one overdue beyond the rule's limit) and whether an escalation (挂牌督办) is on record:
    ``{major, overdue_days (0 unless past the limit), escalated_on}``. A link marked escalated says only
    that the rule reached it; a general hazard long overdue reaches the level above without any 挂牌督办."""
    state = conduct.state(hazard, sorted(events, key=lambda e: e["on"]), on)
    return escalation_reason(session.ruleset.escalation("hazard"), hazard, state)


def gaps_since(session, chain: Chain, hazard: dict, events: list[dict]) -> list[dict]:
    """The gaps of a one-day chain, each with ``since``: when it began, where the records say — a vacant post
    since the day after its last holder left, an overdue hazard since the day after its deadline, a missing
    escalation since the hazard was found; the others since the hazard was found (the chain's structure is
    read on the day: it may be older)."""
    out = []
    for gap in chain.gaps:
        since = gap.get("from")
        if since is None and gap["kind"] == "vacant_post":
            ended = [t["end"] for t in session.store.rows("tenures", post_id=gap["post_id"])
                     if t["end"] and t["end"] < chain.window.end]
            since = iso(day(max(ended)) + 1) if ended else None
        elif since is None and gap["kind"] == "overdue" and gap.get("deadline"):
            since = iso(day(gap["deadline"]) + 1)
        if since is None:
            since = hazard.get("found_on")
        out.append({**gap, "since": since})
    return out


# the headers of a chain's export besides the hazard page's columns: the codes beside the labels (machines read
# these) and the gaps' sheet
EXPORT_HEADERS = ("post_id", "person_id", "duty_code", "degree_code", "rule_ids", "gap", "gap_since", "gap_code")


def chain_export(chain: Chain, labels: Labels, headers: dict[str, str], escalated: str, gaps: list[dict],
                 names: tuple[str, str]) -> list[tuple[str, list[dict], list[str]]]:
    """A one-day chain as sheets ``(name, rows, headers)``: its links (one row per holder, labelled in the
    labels' language, with the codes in columns of their own) and its gaps with their ``since``; the
    headers are ``headers``' words (keys: the hazard page's columns and :data:`EXPORT_HEADERS`)."""
    L = labels
    h = headers
    rows = []
    for i, link in enumerate(chain.links, start=1):
        for holder in link.holders or (None,):
            row = {h["n"]: i, h["post"]: L.post_in_org(link.post_id),
                   h["holder"]: (holder.name if holder else L.vacant()) + (L.acting() if holder and holder.acting else ""),
                   h["since"]: holder.start if holder else "", h["duty"]: L.term("duties", link.duty),
                   h["degree"]: L.term("degrees", link.degree), h["basis"]: [L.citation(b) for b in link.basis],
                   h["place"]: L.jurisdiction(link.jurisdiction_id), h["rules"]: [L.rule(r) for r in link.rules],
                   h["escalated"]: escalated if link.escalated else ""}
            if "assessment" in h:
                row[h["assessment"]] = L.assessment(holder)
                row[h["evidence"]] = [L.evidence(e, (chain.hazard_id,)) for e in link.evidence or ()]
            row.update({h["post_id"]: link.post_id, h["person_id"]: holder.person_id if holder else "",
                        h["duty_code"]: link.duty, h["degree_code"]: link.degree, h["rule_ids"]: list(link.rules)})
            rows.append(row)
    columns = list(rows[0]) if rows else [h[k] for k in ("n", "post", "holder")]
    gap_rows = [{h["gap"]: L.gap(g), h["gap_since"]: g.get("since") or "", h["gap_code"]: g["kind"]} for g in gaps]
    return [(names[0], rows, columns), (names[1], gap_rows, [h["gap"], h["gap_since"], h["gap_code"]])]


def export_bytes(sheets: list[tuple[str, list[dict], list[str]]], fmt: str, title: str) -> bytes:
    """Sheets as a file: ``csv`` (the first sheet, with a byte order mark so that Excel reads UTF-8), ``xlsx``
    (every sheet) or ``docx`` (a title, then a table per sheet)."""
    import io
    import tempfile

    from accountability.output import to_string, write_xlsx

    if fmt == "csv":
        name, rows, columns = sheets[0]
        return ("\ufeff" + to_string(rows, columns, "csv")).encode("utf-8")
    if fmt == "xlsx":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.xlsx"
            write_xlsx(sheets, str(path))
            return path.read_bytes()
    if fmt == "docx":
        import docx

        doc = docx.Document()
        doc.add_heading(title, level=1)
        for name, rows, columns in sheets:
            if not rows:
                continue
            doc.add_heading(name, level=2)
            table = doc.add_table(rows=1, cols=len(columns))
            table.style = "Table Grid"
            for cell, column in zip(table.rows[0].cells, columns):
                cell.text = column
            for row in rows:
                cells = table.add_row().cells
                for cell, column in zip(cells, columns):
                    value = row.get(column)
                    cell.text = "；".join(map(str, value)) if isinstance(value, list) else str(value if value is not None else "")
        buf = io.BytesIO()
        doc.save(buf)
        return buf.getvalue()
    raise UsageError(f"unknown export format '{fmt}' (csv, xlsx or docx)")


# -- holders over a window ----------------------------------------------------------------------------------


def holder_spans(chain: Chain) -> list[dict]:
    """One row per (link, holder) of a window chain with the part of the window the holder covered, then
    one row per vacant stretch — the data of the "holders over time" chart."""
    rows = []
    for link in chain.links:
        for h in link.holders:
            start, end = h.overlap or (chain.window.start, chain.window.end)
            rows.append({"post_id": link.post_id, "post_title": link.post_title, "duty": link.duty,
                         "degree": link.degree, "escalated": link.escalated, "person_id": h.person_id,
                         "name": h.name, "start": start, "end": end, "acting": h.acting, "vacant": False})
    for gap in chain.gaps:
        if gap["kind"] == "vacant_post":
            rows.append({"post_id": gap["post_id"], "post_title": gap["post_title"], "duty": None, "degree": None,
                         "escalated": False, "person_id": None, "name": None,
                         "start": gap.get("from", chain.window.start), "end": gap.get("to", chain.window.end),
                         "acting": False, "vacant": True})
    return rows
