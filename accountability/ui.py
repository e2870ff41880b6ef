"""What the Streamlit explorer needs that is not Streamlit: names, summaries, neighbourhoods, graph HTML.

The pages (``app_pages/``) stay thin: they read widgets, call these functions and the library, and lay
out the answer. Nothing here imports ``streamlit``, so every function can be tested, and reused, alone.

Data shown by the app is text, never markup. Three sinks matter:

- Streamlit markdown (titles, captions, messages, widget labels): :func:`md` escapes it, so a name like
  ``[点我](http://…)`` or ``:red[…]`` prints as typed;
- the pyvis graph: node data reaches the page as JSON inside a ``<script>`` (pyvis' template escapes
  ``<``, ``>`` and ``&``), labels are drawn on a canvas, and tooltips are set as text — vis-network 9
  does so for strings, and :func:`graph_html` rewrites the one place where pyvis' template would set
  ``innerHTML`` instead. Nothing is fetched from the network: vis-network is inlined and pyvis'
  Bootstrap links are removed;
- uploaded datasets: :func:`extract_zip` refuses paths outside its folder, links, too many files and
  archives that inflate beyond a limit, counting the bytes it actually writes.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import stat
import threading
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

import networkx as nx

import orjson

from accountability import conduct, measures
from accountability.access import NOBODY_CONFIGURED, User
from accountability.dataset import LIMITS, check_workbook, inflation_errors, too_large
from accountability.errors import InvalidDataset, NotFound, StoreError, UsageError
from accountability.graph import FOREVER
from accountability.dates import Window, day, iso
from accountability.trace import Chain, hazard_state
from accountability.trace_v2 import escalation_reason
from graph_schema import SCHEMA

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


def shorten(text: str, limit: int = 16) -> str:
    """A graph label: long names end with an ellipsis (the tooltip has the full name).

    >>> shorten("临江市住房和城乡建设局局长", 8)
    '临江市住房和城…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Labels:
    """Display names of codes and ids in one language, from the session's graph or its store."""

    def __init__(self, session, lang: str = "zh"):
        self.session = session
        self.lang = lang
        self.schema = SCHEMA
        self._industries: dict[str, dict] | None = None
        self._rows: dict[tuple[str, str], dict | None] = {}

    def term(self, vocabulary: str, code: str | None) -> str:
        if code is None or code == "":
            return ""
        if vocabulary == "industries":
            return self.industry(code)
        return self.schema.label(vocabulary, code, self.lang)

    def industry(self, code: str | None) -> str:
        if not code:
            return ""
        if code == "*":
            return {"zh": "安全生产（全面）", "en": "work safety (overall)"}[self.lang]
        if code in self.schema.vocab("industries"):
            return self.schema.label("industries", code, self.lang)
        if self._industries is None:
            self._industries = {r["code"]: r for r in self.session.store.rows("industries")}
        row = self._industries.get(code)
        return row[f"name_{self.lang}"] if row else code

    def industries(self) -> dict[str, str]:
        """Every industry code (built-in and the dataset's own) with its label."""
        codes = list(self.schema.vocab("industries"))
        if self._industries is None:
            self._industries = {r["code"]: r for r in self.session.store.rows("industries")}
        codes += [c for c in self._industries if c not in codes]
        return {c: self.industry(c) for c in codes}

    def row(self, table: str, rid: str) -> dict | None:
        key = (table, rid)
        if key not in self._rows:
            self._rows[key] = next(iter(self.session.store.rows(table, id=rid)), None)
        return self._rows[key]

    def jurisdiction(self, jid: str | None) -> str:
        if not jid:
            return ""
        j = self.session.graph.jurisdictions.get(jid)
        return j.name if j else jid

    def place(self, jid: str | None) -> str:
        """The jurisdiction with its ancestors, province first: 江南省 临江市 东湖区."""
        if not jid:
            return ""
        names = [j.name for j in self.session.graph.ancestors_or_self(jid)]
        return " ".join(reversed(names)) or jid

    def organization(self, oid: str | None) -> str:
        if not oid:
            return ""
        o = self.session.graph.orgs.get(oid)
        if o:
            return o.name
        row = self.row("organizations", oid)
        return row["name"] if row else oid

    def post(self, pid: str | None) -> str:
        if not pid:
            return ""
        p = self.session.graph.posts.get(pid)
        if p:
            return p.title
        row = self.row("posts", pid)
        return row["title"] if row else pid

    def post_in_org(self, pid: str) -> str:
        """A post with its organization when the title does not already say it: 东湖区人民政府 区长."""
        p = self.session.graph.posts.get(pid)
        row = {"title": p.title, "organization_id": p.organization_id} if p else self.row("posts", pid)
        if not row:
            return pid
        org = self.organization(row["organization_id"])
        return row["title"] if row["title"].startswith(org) else f"{org} {row['title']}"

    def person(self, pid: str | None) -> str:
        if not pid:
            return ""
        name = self.session.graph.people.get(pid)
        if name:
            return name
        row = self.row("people", pid)
        return row["name"] if row else pid

    def rule(self, rule_id: str) -> str:
        ruleset = self.session.ruleset
        for r in ruleset.rules:
            if r.id == rule_id:
                return f"{r.id} {r.title[self.lang]}"
        for e in ruleset.escalations:
            if e.id == rule_id:
                return f"{e.id} {e.title[self.lang]}"
        return rule_id

    def citation(self, key: str) -> str:
        return self.session.ruleset.citation(key, self.lang)

    def citation_text(self, key: str) -> str:
        return self.session.ruleset.citations[key].get(f"text_{self.lang}", "")

    def gap(self, gap: dict) -> str:
        """One sentence for a gap of a chain."""
        kind = self.term("gap_kinds", gap["kind"])
        zh = self.lang == "zh"
        parts = [kind]
        if gap.get("post_id"):
            parts.append(self.post_in_org(gap["post_id"]))
        elif gap.get("organization_id"):
            parts.append(self.organization(gap["organization_id"]))
        if gap.get("industry"):
            parts.append(self.industry(gap["industry"]))
        if gap.get("jurisdiction_id") and not gap.get("post_id"):
            parts.append(self.jurisdiction(gap["jurisdiction_id"]))
        if gap["kind"] == "no_regulator" and gap.get("regulator_jurisdiction_id"):
            who = self.jurisdiction(gap["regulator_jurisdiction_id"])
            parts.append(f"应由{who}指定监管部门" if zh else f"{who} must assign a regulator")
        if gap["kind"] == "overdue":
            parts.append(f"期限 {gap['deadline']}，逾期 {gap['days']} 天" if zh
                         else f"deadline {gap['deadline']}, {gap['days']} days overdue")
        if gap.get("from"):
            parts.append(f"{gap['from']} 至 {gap['to']}" if zh else f"{gap['from']} to {gap['to']}")
        return ("：" if zh else ": ").join([parts[0], ("，" if zh else ", ").join(parts[1:])]) if len(parts) > 1 \
            else parts[0]

    def value(self, table: str, column: str, value: Any) -> str:
        """A cell of ``table`` in words: a code by its label, a reference by its name (the id after it), a
        list each; text, numbers and dates as they are."""
        if value is None or value == "":
            return ""
        col = next((c for c in self.schema.tables[table].columns if c.name == column), None) \
            if table in self.schema.tables else None
        if isinstance(value, (list, tuple)):
            return ("；" if self.lang == "zh" else "; ").join(self.value(table, column, v) for v in value)
        if isinstance(value, bool):
            return ("是" if value else "否") if self.lang == "zh" else ("yes" if value else "no")
        if col is None:
            return str(value)
        if col.base.startswith("vocab:"):
            return self.term(col.base[6:], value)
        named = {"jurisdictions": self.jurisdiction, "organizations": self.organization, "posts": self.post_in_org,
                 "people": self.person}.get(col.base[4:]) if col.base.startswith("ref:") else None
        if named:
            name = named(value)
            return name if name == value else f"{name} ({value})"
        return str(value)

    def vacant(self) -> str:
        return "（空缺）" if self.lang == "zh" else "(vacant)"

    def acting(self) -> str:
        return "（代理）" if self.lang == "zh" else " (acting)"

    def escalation(self, reason: dict) -> str:
        """Why the level above answers (see :func:`escalation`): "上溯：逾期 109 天；未挂牌督办"."""
        zh = self.lang == "zh"
        why = []
        if reason["major"]:
            why.append("重大隐患" if zh else "major hazard")
        if reason["overdue_days"]:
            why.append(f"逾期 {reason['overdue_days']} 天" if zh else f"{reason['overdue_days']} days overdue")
        if reason["escalated_on"]:
            event = f"{reason['escalated_on']} 已挂牌督办" if zh else f"escalated (挂牌督办) on {reason['escalated_on']}"
        else:
            event = "未挂牌督办" if zh else "never escalated (no 挂牌督办 on record)"
        head = ("上溯：" if zh else "level above: ") + ("、" if zh else ", ").join(why) if why else \
            ("上溯" if zh else "level above")
        return head + ("；" if zh else "; ") + event

    def since(self, gap: dict) -> str:
        """When a gap of a chain began, where that is known ("" otherwise)."""
        return gap.get("since") or gap.get("from") or ""

    def evidence(self, record: dict) -> str:
        """One record behind a link or an exemption (v2), e.g. "检查 X1（2026-01-10，责令整改）"."""
        zh = self.lang == "zh"
        kind = record.get("kind")
        if kind == "inspection":
            what = self.term("inspection_outcomes", record.get("outcome"))
            return f"检查 {record['id']}（{record['date']}，{what}）" if zh else \
                f"inspection {record['id']} ({record['date']}, {what})"
        if kind == "event":
            what = self.term("event_kinds", record.get("event"))
            if record.get("outcome"):
                what += ("：" if zh else ": ") + self.term("reinspection_outcomes", record["outcome"])
            return f"{what}（{record['date']}，隐患 {record['hazard_id']}）" if zh else \
                f"{what} ({record['date']}, hazard {record['hazard_id']})"
        if kind == "designation":
            what = self.term("designation_kinds", record.get("designation"))
            return f"{what}（自 {record['date']}，对象 {record['target_id']}）" if zh else \
                f"{what} (from {record['date']}, for {record['target_id']})"
        if kind == "tenure":
            return f"到任 {record['start']}，任职 {record['days']} 天（少于 {record['min_days']} 天）" if zh else \
                f"in post since {record['start']}: {record['days']} days (fewer than {record['min_days']})"
        if kind == "overlap":
            return (f"在该期间任职 {record['days']} 天（少于 {record['min_days']} 天，他人任职 {record['other_days']} 天）"
                    if zh else f"{record['days']} days in post in the period (fewer than {record['min_days']}; "
                    f"another holder {record['other_days']} days)")
        return orjson.dumps(record).decode()

    def assessment(self, holder) -> str:
        """A holder's assessment (v2) with its reasons, or "" under v1."""
        if holder is None or holder.assessment is None:
            return ""
        status, reasons = holder.assessment
        text = self.term("assessment_statuses", status)
        if reasons:
            text += ("：" if self.lang == "zh" else ": ") + ("；" if self.lang == "zh" else "; ").join(
                self.evidence(r) for r in reasons)
        return text


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
                self._batch = (key, Session(self.uri, rules=self.rules, readonly=True))
            yield self._batch[1].as_user(user)

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


def exposure_ranking(session, as_of: str, jurisdiction: str | None = None, top: int = 50) -> dict:
    """People ranked by how many hazards unresolved on ``as_of`` (in ``jurisdiction``'s subtree, or all)
    they answer for — each hazard once, at the person's heaviest degree, as the ``official-exposure``
    query ranks them — and how many of those hazards have a structural gap in their chain. Under a v2
    ruleset each official also carries ``measures_overdue``: the overdue measures they answer for (rule M1).

    This traces every hazard in scope; for a whole province that is minutes, so the app asks for a
    scope (a city) there.
    """
    weight = SCHEMA.degree_weights
    scope = session.scope.within(jurisdiction)
    records = unresolved_in(session, scope, set(), as_of)
    window = Window.on(as_of)
    people: dict[str, dict] = {}
    hazards = with_gaps = 0
    for hazard, events in records:
        chain = session.engine.chain(hazard, events, window)
        hazards += 1
        if any(g["kind"] in SCHEMA.structural_gaps for g in chain.gaps):
            with_gaps += 1
        heaviest: dict[str, str] = {}
        for link in chain.links:
            for h in link.holders:
                old = heaviest.get(h.person_id)
                if old is None or weight[link.degree] > weight[old]:
                    heaviest[h.person_id] = link.degree
                entry = people.get(h.person_id)
                if entry is None:
                    entry = people[h.person_id] = {"person_id": h.person_id, "name": h.name, "hazards": 0,
                                                   **{d: 0 for d in weight}, "post_ids": set()}
                entry["post_ids"].add(link.post_id)
        for pid, degree in heaviest.items():
            people[pid]["hazards"] += 1
            people[pid][degree] += 1
    ranked = sorted(people.values(), key=lambda r: (-r["hazards"], -r["principal_leadership"], r["person_id"]))[:top]
    # v2: the overdue measures each answers for (rule M1, wherever in the user's view), a column beside the rank
    overdue = measures.overdue_counts(session, as_of) if session.ruleset.generation >= 2 else None
    for r in ranked:
        r["post_ids"] = sorted(r["post_ids"])
        if overdue is not None:
            r["measures_overdue"] = overdue.get(r["person_id"], 0)
    return {"jurisdiction": jurisdiction, "hazards": hazards, "with_gaps": with_gaps, "officials": ranked}


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


# Above this many jurisdictions, one pass over the unresolved hazards beats looking them up by jurisdiction.
SCAN_ABOVE = 300


def unresolved_in(session, jurisdictions: set[str] | None, enterprises: set[str],
                  as_of: str) -> Iterator[tuple[dict, list[dict]]]:
    """Hazards unresolved on ``as_of`` (with their events, in id order) lying in ``jurisdictions`` (None:
    anywhere) or at one of ``enterprises``, and where the user may see them: looked up by jurisdiction when
    the scope is small, else one pass over every unresolved hazard."""
    within = session.scope.jurisdictions
    for hazard, events in _unresolved_in(session, jurisdictions, enterprises, as_of):
        if within is None or hazard["jurisdiction_id"] in within:
            yield hazard, events


def _unresolved_in(session, jurisdictions: set[str] | None, enterprises: set[str],
                   as_of: str) -> Iterator[tuple[dict, list[dict]]]:
    if jurisdictions is None or len(jurisdictions) > SCAN_ABOVE:
        if jurisdictions is None or len(jurisdictions) > 4 * SCAN_ABOVE:
            session.graph.load_all()  # many chains to come: read the graph at once, not piece by piece
        for hazard, events in session.store.hazard_records(unresolved_on=as_of):
            if jurisdictions is None or hazard["jurisdiction_id"] in jurisdictions \
                    or hazard["organization_id"] in enterprises:
                yield hazard, events
        return

    def unresolved(h: dict) -> bool:
        return h["found_on"] <= as_of and (not h["closed_on"] or h["closed_on"] > as_of)

    ids: set[str] = set()
    if jurisdictions:
        ids |= {h["id"] for h in session.store.rows("hazards", jurisdiction_id=sorted(jurisdictions)) if unresolved(h)}
    if enterprises:
        ids |= {h["id"] for h in session.store.rows("hazards", organization_id=sorted(enterprises)) if unresolved(h)}
    if ids:
        yield from session.store.hazard_records(ids=sorted(ids))


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
                row[h["evidence"]] = [L.evidence(e) for e in link.evidence or ()]
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


# -- graphs --------------------------------------------------------------------------------------------------

# Node styles by kind: organizations by their kind, everything else by table.
STYLE = {
    "jurisdictions": {"color": "#5d6d7e", "shape": "box", "font": "#ffffff"},
    "party_committee": {"color": "#c0392b", "shape": "box", "font": "#ffffff"},
    "government": {"color": "#2471a3", "shape": "box", "font": "#ffffff"},
    "department": {"color": "#1e8449", "shape": "box", "font": "#ffffff"},
    "safety_committee": {"color": "#117a65", "shape": "box", "font": "#ffffff"},
    "park_committee": {"color": "#7d3c98", "shape": "box", "font": "#ffffff"},
    "enterprise": {"color": "#d68910", "shape": "box", "font": "#ffffff"},
    "other": {"color": "#839192", "shape": "box", "font": "#ffffff"},
    "posts": {"color": "#aed6f1", "shape": "ellipse", "font": "#1b2631"},
    "people": {"color": "#1b4f72", "shape": "dot", "font": "#1b2631"},
    "hazards": {"color": "#e74c3c", "shape": "triangle", "font": "#1b2631"},
    "incidents": {"color": "#17202a", "shape": "star", "font": "#1b2631"},
    # many enterprises or hazards of one unit, drawn as one node (``neighbourhood(group=True)``), in their colour
    "group": {"color": "#839192", "shape": "box", "font": "#ffffff"},
}
# Which kinds to keep first when a neighbourhood is larger than the cap: the structure, then the people,
# then the many enterprises and hazards.
PRIORITY = {k: i for i, k in enumerate(
    ("jurisdictions", "party_committee", "government", "safety_committee", "department", "park_committee",
     "posts", "people", "group", "hazards", "incidents", "enterprise", "other"))}
GROUPED = ("hazards", "enterprise")  # kinds a unit's many neighbours of are drawn as one node when grouping
GROUP_MIN = 5  # fewer than this are drawn one by one
TABLE_NODE = {t["table"]: name for name, t in SCHEMA.nodes.items()}  # jurisdictions → Jurisdiction


def node_key(table: str, rid: str) -> str:
    """The key of an entity in a drawn graph (ids are unique within a table only).

    >>> node_key("people", "PE-1"), parse_key("people:PE-1")
    ('people:PE-1', ('people', 'PE-1'))
    """
    return f"{table}:{rid}"


def parse_key(key: str) -> tuple[str, str]:
    table, _, rid = key.partition(":")
    if table not in TABLE_NODE or not rid:
        raise NotFound(f"not an entity key: '{key}'")
    return table, rid


def kind_label(kind: str, lang: str) -> str:
    """The legend's word for a node kind."""
    if kind == "group":
        return {"zh": "分组", "en": "Group"}[lang]
    if kind in SCHEMA.vocab("organization_kinds"):
        return SCHEMA.label("organization_kinds", kind, lang)
    return SCHEMA.nodes[TABLE_NODE[kind]][lang]


def relation_label(rel: str, lang: str) -> str:
    return SCHEMA.relationships[rel][lang]


@dataclass
class Neighbourhood:
    """The part of the graph drawn around ``center``: at most ``cap`` nodes, and how many more there were."""

    graph: nx.DiGraph
    center: str
    depth: int
    cap: int
    hidden: int = 0
    hidden_by_kind: dict[str, int] = field(default_factory=dict)


class _Explorer:
    """Neighbours of an entity, read through the store interface (indexed lookups; only the small
    portfolios table is scanned), as (node key, node attributes, edge) triples."""

    def __init__(self, session, labels: Labels, as_of: str):
        self.s = session
        self.store = session.store
        self.labels = labels
        self.lang = labels.lang
        self.as_of = as_of

    # node attributes --------------------------------------------------------------------------------------

    def node(self, table: str, row: dict) -> tuple[str, dict]:
        L = self.labels
        rid = row["id"]
        if table == "jurisdictions":
            name, kind = row["name"], table
            facts = [L.term("jurisdiction_levels", row["level"])]
        elif table == "organizations":
            name, kind = row["name"], row["kind"]
            facts = [L.term("organization_kinds", row["kind"]), L.jurisdiction(row["jurisdiction_id"])]
            facts += [L.industry(i) for i in row.get("industries") or ()]
        elif table == "posts":
            # titles are often bare ("书记", "局长"): name the organization too
            name, kind = L.post_in_org(rid), table
            facts = [L.term("roles", row["role"]), L.organization(row["organization_id"])]
        elif table == "people":
            name, kind = row["name"], table
            facts = []
        elif table == "hazards":
            name, kind = row["description"] or rid, table
            facts = [L.term("hazard_levels", row["level"]), L.industry(row["industry"]),
                     L.term("hazard_statuses", row["status"]), f"{row['found_on']} → {row['deadline'] or '—'}"]
        else:
            name, kind = row["title"] or rid, table
            facts = [row["occurred_on"], L.industry(row["industry"])]
        title = "\n".join([f"{name}", f"{kind_label(kind, self.lang)} · {rid}"] + [f for f in facts if f])
        size = 30 if table == "hazards" and row.get("level") == "major" else 18
        return node_key(table, rid), {"table": table, "id": rid, "kind": kind, "name": name, "title": title,
                                      "size": size, "row": row}

    # neighbours -------------------------------------------------------------------------------------------

    def _one(self, table: str, rid: str | None) -> Iterator[tuple[str, dict]]:
        if rid:
            for row in self.store.rows(table, id=rid):
                yield self.node(table, row)

    def _many(self, table: str, **where) -> Iterator[tuple[str, dict]]:
        for row in self.store.rows(table, **where):
            yield self.node(table, row)

    def _unresolved(self, row: dict) -> bool:
        return row["found_on"] <= self.as_of and (not row["closed_on"] or row["closed_on"] > self.as_of)

    def neighbours(self, key: str) -> Iterator[tuple[str, dict, tuple[str, str, dict]]]:
        table, rid = parse_key(key)
        row = next(iter(self.store.rows(table, id=rid)), None)
        if row is None:
            return
        edge = self._edge
        if table == "jurisdictions":
            for k, a in self._one("jurisdictions", row["parent_id"]):
                yield k, a, edge(key, k, "PART_OF")
            for k, a in self._many("jurisdictions", parent_id=rid):
                yield k, a, edge(k, key, "PART_OF")
            for k, a in self._many("organizations", jurisdiction_id=rid):
                yield k, a, edge(k, key, "IN_JURISDICTION")
            for k, a in self._many("hazards", jurisdiction_id=rid):
                if self._unresolved(a["row"]):
                    yield k, a, edge(k, key, "IN_JURISDICTION")
            for k, a in self._many("incidents", jurisdiction_id=rid):
                if a["row"]["occurred_on"] <= self.as_of:
                    yield k, a, edge(k, key, "IN_JURISDICTION")
        elif table == "organizations":
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            for k, a in self._one("organizations", row["parent_id"]):
                yield k, a, edge(key, k, "UNDER")
            for k, a in self._many("organizations", parent_id=rid):
                yield k, a, edge(k, key, "UNDER")
            for k, a in self._many("posts", organization_id=rid):
                yield k, a, edge(k, key, "POST_OF")
            for p in self.store.rows("portfolios", organization_id=rid):
                if p["start"] <= self.as_of <= (p["end"] or FOREVER):
                    for k, a in self._one("posts", p["post_id"]):
                        yield k, a, edge(k, key, "IN_CHARGE_OF")
            for k, a in self._many("hazards", organization_id=rid):
                if self._unresolved(a["row"]):
                    yield k, a, edge(k, key, "AT")
        elif table == "posts":
            for k, a in self._one("organizations", row["organization_id"]):
                yield k, a, edge(key, k, "POST_OF")
            tenures = list(self.store.rows("tenures", post_id=rid))
            people = {p["id"]: p for p in self.store.rows("people", id=sorted({t["person_id"] for t in tenures}))}
            for t in tenures:
                if t["person_id"] in people:
                    k, a = self.node("people", people[t["person_id"]])
                    yield k, a, self._tenure_edge(k, key, t)
            for p in self.store.rows("portfolios", post_id=rid):
                if p["organization_id"] and p["start"] <= self.as_of <= (p["end"] or FOREVER):
                    for k, a in self._one("organizations", p["organization_id"]):
                        yield k, a, edge(key, k, "IN_CHARGE_OF")
        elif table == "people":
            tenures = list(self.store.rows("tenures", person_id=rid))
            posts = {p["id"]: p for p in self.store.rows("posts", id=sorted({t["post_id"] for t in tenures}))}
            for t in tenures:
                if t["post_id"] in posts:
                    k, a = self.node("posts", posts[t["post_id"]])
                    yield k, a, self._tenure_edge(key, k, t)
        elif table == "hazards":
            for k, a in self._one("organizations", row["organization_id"]):
                yield k, a, edge(key, k, "AT")
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            if row["found_on"] <= self.as_of:
                on = self.as_of if self._unresolved(row) else self.s.default_as_of(row)
                chain = self.s.trace(rid, as_of=on)
                posts = {p["id"]: p for p in self.store.rows("posts", id=sorted({x.post_id for x in chain.links}))}
                for link in chain.links:
                    if link.post_id in posts:
                        k, a = self.node("posts", posts[link.post_id])
                        e = edge(k, key, "ACCOUNTABLE_FOR")
                        e[2]["label"] = f"{e[2]['label']} · {self.labels.term('degrees', link.degree)}"
                        e[2]["dashes"] = link.escalated
                        yield k, a, e
        elif table == "incidents":
            for k, a in self._one("jurisdictions", row["jurisdiction_id"]):
                yield k, a, edge(key, k, "IN_JURISDICTION")
            for k, a in self._one("organizations", row.get("organization_id")):
                yield k, a, edge(key, k, "AT")
            ids = list(row["hazard_ids"] or ())
            if ids:
                for k, a in self._many("hazards", id=ids):
                    yield k, a, edge(key, k, "LINKED_HAZARD")

    def _edge(self, u: str, v: str, rel: str) -> tuple[str, str, dict]:
        return u, v, {"rel": rel, "label": relation_label(rel, self.lang), "dashes": False}

    def _tenure_edge(self, person: str, post: str, t: dict) -> tuple[str, str, dict]:
        current = _held_on(t, self.as_of)
        zh = self.lang == "zh"
        when = f"{t['start']} – {t['end'] or ('至今' if zh else 'now')}"
        acting = ("（代理）" if zh else " (acting)") if t["acting"] else ""
        return person, post, {"rel": "HOLDS", "label": f"{relation_label('HOLDS', self.lang)} {when}{acting}",
                              "dashes": not current, "past": not current}


def group_key(kind: str, unit: str) -> str:
    """The key of the node standing for ``unit``'s many neighbours of ``kind`` (see :func:`neighbourhood`).

    >>> group_key("hazards", "jurisdictions:T"), unit_of_group("group:hazards@jurisdictions:T")
    ('group:hazards@jurisdictions:T', ('hazards', 'jurisdictions:T'))
    """
    return f"group:{kind}@{unit}"


def unit_of_group(key: str) -> tuple[str, str] | None:
    """(kind, unit key) of a group node's key; None for an entity's key."""
    if not key.startswith("group:"):
        return None
    kind, _, unit = key[len("group:"):].partition("@")
    return kind, unit


def neighbourhood(session, key: str, labels: Labels, as_of: str, depth: int = 1, cap: int = 150,
                  kinds: Iterable[str] | None = None, group: bool = False, expand: Iterable[str] = ()) -> Neighbourhood:
    """The entities within ``depth`` steps of ``key`` (``table:id``), at most ``cap`` of them.

    Each step expands the drawn nodes only; when a step finds more neighbours than fit, the structure is
    kept first (jurisdictions, government bodies, posts, people), then hazards and enterprises, and the
    rest is counted in ``hidden``. Hazards are those unresolved on ``as_of``; tenures ended or not yet
    begun on ``as_of`` are drawn dashed.

    ``kinds``: only entities of these kinds are drawn (and walked through); the others are neither drawn nor
    counted. ``group``: a unit's hazards and enterprises, when there are ``GROUP_MIN`` or more, are one node
    (:func:`group_key`, with ``count`` and ``members``), not walked through, except for the groups in
    ``expand`` (group keys), whose members are drawn one by one.
    """
    if not 1 <= depth <= 3:
        raise UsageError(f"depth must be 1, 2 or 3, not {depth}")
    wanted = None if kinds is None else set(kinds)
    expand = set(expand)
    explorer = _Explorer(session, labels, as_of)
    table, rid = parse_key(key)
    row = next(iter(session.store.rows(table, id=rid)), None)
    if row is None:
        raise NotFound(f"unknown {TABLE_NODE[table]} '{rid}'")
    session.check(table, row)
    g = nx.DiGraph()
    ck, ca = explorer.node(table, row)
    g.add_node(ck, **ca, depth=0)
    frontier = [ck]
    hidden: dict[str, str] = {}
    for level in range(1, depth + 1):
        candidates: dict[str, dict] = {}
        edges: list[tuple[str, str, dict]] = []
        for k in frontier:
            found = [(nk, attrs, e) for nk, attrs, e in explorer.neighbours(k)
                     if wanted is None or attrs["kind"] in wanted or nk == ck]
            grouped = _groups(k, found, g, expand) if group else {}
            for nk, attrs, e in found:
                if nk not in g and nk not in candidates:
                    if not session.visible(attrs["table"], attrs["row"]):
                        continue  # outside the user's jurisdiction: neither drawn nor counted
                    if nk in grouped:
                        grouped[nk]["members"].append((nk, attrs["name"]))
                        continue
                    candidates[nk] = attrs
                edges.append(e)
            for gk, one in {a["key"]: a for a in grouped.values()}.items():
                if one["members"]:
                    candidates[gk] = _group_node(one, g.nodes[k]["name"], labels.lang)
                    label = f"{relation_label(one['rel'], labels.lang)} ×{len(one['members'])}"
                    edges.append((gk, k, {"rel": one["rel"], "label": label, "dashes": False}))
        ordered = sorted(candidates, key=lambda k: (PRIORITY.get(candidates[k]["kind"], 99), k))
        frontier = []
        for nk in ordered:
            if g.number_of_nodes() < cap:
                g.add_node(nk, **candidates[nk], depth=level)
                if candidates[nk]["kind"] != "group":  # a group is not walked through
                    frontier.append(nk)
                hidden.pop(nk, None)
            else:
                hidden[nk] = candidates[nk]["kind"]
        for u, v, attrs in edges:
            if u in g and v in g and u != v and not g.has_edge(u, v):
                g.add_edge(u, v, **attrs)
    return Neighbourhood(g, ck, depth, cap, len(hidden), dict(Counter(hidden.values())))


def _groups(unit: str, found: list[tuple[str, dict, tuple]], g: nx.DiGraph,
            expand: set[str]) -> dict[str, dict]:
    """Which of ``unit``'s neighbours (``found``) are drawn as one node: member key → its group (one dict
    per kind, shared by its members). Only a place's or an organization's many hazards or enterprises
    that point to it are grouped, unless the group's key is in ``expand``."""
    if not unit.startswith(("jurisdictions:", "organizations:")):
        return {}
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for nk, attrs, (_, v, e) in found:
        if attrs["kind"] in GROUPED and v == unit and nk not in g:
            by_kind[attrs["kind"]].append((nk, e["rel"]))
    out = {}
    for kind, items in by_kind.items():
        if len(items) >= GROUP_MIN and group_key(kind, unit) not in expand:
            one = {"key": group_key(kind, unit), "of": kind, "unit": unit, "rel": items[0][1], "members": []}
            out.update((nk, one) for nk, _ in items)
    return out


def _group_node(one: dict, unit_name: str, lang: str) -> dict:
    members = sorted(one["members"])
    name = f"{kind_label(one['of'], lang)} ×{len(members)}"
    shown = [f"· {n}" for _, n in members[:12]] + (["· …"] if len(members) > 12 else [])
    return {"table": "group", "id": one["key"], "kind": "group", "of": one["of"], "unit": one["unit"],
            "count": len(members), "members": [k for k, _ in members], "name": name,
            "title": "\n".join([name, unit_name] + shown), "size": 24, "row": {}}


def focus(g: nx.DiGraph, center: str, target: str) -> nx.DiGraph:
    """The part of ``g`` on the shortest paths, either way along its edges, between ``center`` and
    ``target``: a node's key, or ``type:KIND`` for one path to each node of that kind.

    >>> g = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "d")])
    >>> for n in g: g.nodes[n]["kind"] = "x" if n == "c" else "y"
    >>> sorted(focus(g, "a", "c")), sorted(focus(g, "a", "type:x")), sorted(focus(g, "a", "type:z"))
    (['a', 'b', 'c'], ['a', 'b', 'c'], ['a'])
    """
    both = g.to_undirected(as_view=True)
    keep = {center}
    if target.startswith("type:"):
        kind = target[len("type:"):]
        for end, path in nx.single_source_shortest_path(both, center).items():
            if g.nodes[end].get("kind") == kind:
                keep.update(path)
    elif target in g and nx.has_path(both, center, target):
        for path in nx.all_shortest_paths(both, center, target):
            keep.update(path)
    return g.subgraph(keep).copy()


def chain_graph(session, chain: Chain, hazard: dict, labels: Labels) -> nx.DiGraph:
    """The justification of a chain as a graph: hazard → jurisdictions walked → organization → post →
    holders. Each edge lists the links whose ``path`` runs along it (``links``: indexes into chain.links)."""
    explorer = _Explorer(session, labels, chain.window.end)
    g = nx.DiGraph()
    hk, ha = explorer.node("hazards", hazard)
    g.add_node(hk, **ha)

    def ensure(any_id: str) -> str:
        for table in ("jurisdictions", "organizations", "posts"):
            k = node_key(table, any_id)
            if k in g:
                return k
        graph = session.graph
        if any_id in graph.jurisdictions:
            table = "jurisdictions"
        elif any_id in graph.posts:
            table = "posts"
        else:
            table = "organizations"
        row = next(iter(session.store.rows(table, id=any_id)), None)
        if row is None:
            k = node_key(table, any_id)
            g.add_node(k, table=table, id=any_id, kind=table, name=any_id, title=any_id, size=18, row={})
            return k
        k, a = explorer.node(table, row)
        g.add_node(k, **a)
        return k

    def link_edge(u: str, v: str, i: int, rel: str | None = None) -> None:
        if u == v:
            return
        if not g.has_edge(u, v):
            g.add_edge(u, v, links=[], rel=rel, label=relation_label(rel, labels.lang) if rel else "", dashes=False)
        if i not in g.edges[u, v]["links"]:
            g.edges[u, v]["links"].append(i)

    for i, link in enumerate(chain.links):
        path = [ensure(x) for x in link.path]
        if not path:
            continue
        link_edge(hk, path[0], i, "AT" if path[0].startswith("organizations:") else "IN_JURISDICTION")
        for u, v in itertools.pairwise(path):
            rel = None
            if u.startswith("jurisdictions:") and v.startswith("jurisdictions:"):
                rel = "PART_OF"
            elif v.startswith("posts:"):
                rel = "POST_OF"
            elif u.startswith("organizations:") and v.startswith("organizations:"):
                rel = "UNDER"
            link_edge(u, v, i, rel)
        post = path[-1]
        g.edges[path[-2], post]["dashes"] = g.edges[path[-2], post]["dashes"] or link.escalated
        for h in link.holders:
            pk = node_key("people", h.person_id)
            if pk not in g:
                g.add_node(pk, table="people", id=h.person_id, kind="people", name=h.name,
                           title=f"{h.name}\n{kind_label('people', labels.lang)} · {h.person_id}", size=18,
                           row={"id": h.person_id, "name": h.name})
            link_edge(post, pk, i, "HOLDS")
    return g


# -- pyvis ---------------------------------------------------------------------------------------------------

_BOOTSTRAP = re.compile(r"<link[^>]*bootstrap[^>]*/?>|<script[^>]*bootstrap[^>]*>\s*</script>", re.DOTALL)
_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>", re.DOTALL)
_HTML_SINK = "popup.innerHTML = nodeData[0].title;"
GRAPH_OPTIONS = {
    "physics": {"solver": "forceAtlas2Based", "stabilization": {"iterations": 150},
                "forceAtlas2Based": {"gravitationalConstant": -60, "springLength": 110}},
    "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False},
    "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.5}}, "smooth": False,
              "font": {"size": 10, "color": "#566573", "strokeWidth": 2}},
    "nodes": {"font": {"size": 13, "face": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"}},
}


LEVEL_GAP, NODE_GAP = 260, 64  # the columns layout: between columns (past the widest label), between rows


def graph_html(g: nx.DiGraph, lang: str = "zh", highlight: set[tuple[str, str]] | None = None,
               height: int = 560, center: str | None = None, layout: str = "force") -> str:
    """A self-contained HTML page drawing ``g`` with pyvis (vis-network inlined, nothing fetched).

    Nodes need ``kind``, ``name`` and ``title`` (plain text, newlines allowed); edges may carry ``label``,
    ``dashes``. With ``highlight``, those edges (and their ends) are drawn strong and the rest faded.
    ``layout`` is ``force`` (a neighbourhood), ``columns`` (columns on either side of ``center``, a kind's
    nodes together, where no label covers another: for the neighbours of one entity) or ``chain`` (left to
    right, for a chain's paths). A legend of the kinds and lines present is added to the page.
    """
    from pyvis.network import Network

    net = Network(height=f"{height}px", width="100%", directed=True, cdn_resources="in_line", bgcolor="#ffffff")
    options = dict(GRAPH_OPTIONS)
    if layout == "chain":
        options["layout"] = {"hierarchical": {"enabled": True, "direction": "LR", "sortMethod": "directed",
                                              "levelSeparation": 210, "nodeSpacing": 64, "treeSpacing": 80}}
        options["physics"] = {"enabled": False}
    levels = _columns(g, center) if layout == "columns" else {}
    if levels:
        options["layout"] = {"hierarchical": {"enabled": True, "direction": "LR", "levelSeparation": LEVEL_GAP,
                                              "nodeSpacing": NODE_GAP, "treeSpacing": NODE_GAP, "blockShifting": True,
                                              "edgeMinimization": False, "parentCentralization": False}}
        options["physics"] = {"enabled": False}
        options["edges"] = {**options["edges"], "smooth": {"type": "cubicBezier", "forceDirection": "horizontal"}}
    net.set_options(_json(options))
    strong = {n for e in (highlight or ()) for n in e}
    for n, a in g.nodes(data=True):
        style = STYLE.get(a.get("kind"), STYLE["other"])
        faded = highlight is not None and n not in strong
        color = "#d5d8dc" if faded else STYLE.get(a.get("of"), style)["color"]
        inside = style["shape"] in ("box", "ellipse")
        options = {
            "label": shorten(str(a.get("name") or n)),
            # plain text: vis-network sets string tooltips with innerText; see the module docstring
            "title": str(a.get("title") or a.get("name") or n),
            "shape": style["shape"],
            "color": {"background": color, "border": "#17202a" if n == center else color,
                      "highlight": {"background": color, "border": "#17202a"}},
            "borderWidth": 3 if n == center else 1,
            "font": {"color": style["font"] if inside and not faded else ("#aab7b8" if faded else "#1b2631")},
        }
        if not inside:
            options["size"] = a.get("size", 18)
        if n in levels:
            options["level"] = levels[n]
        if a.get("kind") == "group":  # a stack of many: a dashed frame
            options.update(borderWidth=2, shapeProperties={"borderDashes": [5, 3]})
            options["color"]["border"] = "#17202a"
        net.add_node(n, **options)
    for u, v, a in g.edges(data=True):
        on = highlight is None or (u, v) in highlight
        net.add_edge(u, v, title=str(a.get("label") or ""), label=str(a.get("label") or "") if on and highlight else "",
                     color="#c0392b" if highlight is not None and on else ("#e5e8e8" if not on else "#85929e"),
                     width=3 if highlight is not None and on else 1, dashes=bool(a.get("dashes")))
    page = net.generate_html(notebook=False)
    page = _BOOTSTRAP.sub("", page)
    page = _HEADING.sub("", page)
    page = page.replace(_HTML_SINK, "popup.innerText = nodeData[0].title;")
    # a group is drawn in its members' colour: their kind is in the legend too
    kinds = {a.get("kind") for _, a in g.nodes(data=True)} | {a["of"] for _, a in g.nodes(data=True) if "of" in a}
    kinds = sorted(kinds, key=lambda k: PRIORITY.get(k, 99))
    lines = {"dashed" if a.get("dashes") else "solid" for _, _, a in g.edges(data=True)}
    if highlight:
        lines.add("strong")
    return page.replace("</body>", _legend(kinds, lang, lines, center is not None) + _FIT + "</body>", 1)


def _columns(g: nx.DiGraph, center: str | None, aspect: float = 1.8) -> dict[str, int]:
    """Columns (hierarchical levels) alternately right and left of ``center`` (level 0), as many as make
    the drawing about ``aspect`` times as wide as it is high, filled in :data:`PRIORITY` order (a kind's
    nodes together), each column's nodes one under another: no label can cover another.

    >>> g = nx.DiGraph([("c", f"n{i}") for i in range(8)])
    >>> for n in g: g.nodes[n]["kind"] = "posts"
    >>> sorted(_columns(g, "c").values())
    [-1, -1, -1, -1, 0, 1, 1, 1, 1]
    """
    if center not in g:
        return {}
    others = sorted((n for n in g if n != center), key=lambda n: (PRIORITY.get(g.nodes[n]["kind"], 99), n))
    # width ≈ columns × LEVEL_GAP, height ≈ rows × NODE_GAP
    count = max(2, round(math.sqrt(aspect * NODE_GAP * len(others) / LEVEL_GAP)))
    rows = math.ceil(len(others) / count)
    levels = {center: 0}
    for i, n in enumerate(others):
        c = i // rows
        levels[n] = (c // 2 + 1) * (1 if c % 2 == 0 else -1)
    return levels


# A graph drawn while its frame is hidden (a tab not yet opened) has no size; fit it once it has one.
_FIT = """<script>(function () {
  var box = document.getElementById('mynetwork');
  if (!box || typeof network === 'undefined') { return; }
  var fit = function () { if (box.clientWidth && box.clientHeight) { network.redraw(); network.fit({animation: false}); } };
  network.once('stabilizationIterationsDone', fit);
  if (window.ResizeObserver) { new ResizeObserver(fit).observe(box); }
})();</script>"""


def _json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


# What the legend says of what is not a kind of entity (the kinds speak for themselves: kind_label)
LEGEND_WORDS = {
    "zh": {"group": "多个同类对象（标签为数量；在“节点详情”中展开）", "solid": "关系：箭头指向所属单位、所在区域或所负责的对象（悬停看关系名称）",
           "dashed": "虚线：已结束或尚未开始的任职；上溯的责任", "strong": "红色粗线：所选责任链条", "center": "粗黑边框：中心对象"},
    "en": {"group": "Many of one kind (the label gives how many; expand it under Node details)",
           "solid": "A relation: the arrow points to the unit, the place or what is answered for (hover for its name)",
           "dashed": "Dashed: a tenure ended or not yet begun; an escalated responsibility",
           "strong": "Thick red: the chosen links of the chain", "center": "Thick black border: the entity at the centre"},
}


def _legend(kinds: list[str], lang: str, lines: Iterable[str] = (), center: bool = False) -> str:
    """The graph's legend, in ``lang``: a swatch per kind present, then what the lines and marks mean."""
    shapes = {"box": "2px", "ellipse": "50%", "dot": "50%", "triangle": "0", "star": "0"}
    words = LEGEND_WORDS[lang]
    items = []
    for kind in kinds:
        style = STYLE.get(kind, STYLE["other"])
        swatch = (f'<span style="display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;'
                  f'background:{style["color"]};border-radius:{shapes[style["shape"]]}"></span>')
        if kind == "group":
            swatch = swatch.replace("border-radius", "border:1px dashed #17202a;box-sizing:border-box;border-radius")
        label = words["group"] if kind == "group" else kind_label(kind, lang)
        items.append(f'<span class="legend-kind" style="margin-right:12px;white-space:nowrap">{swatch}'
                     f'{html.escape(label)}</span>')
    strokes = {"solid": "2px solid #85929e", "dashed": "2px dashed #85929e", "strong": "4px solid #c0392b"}
    marks = [(f'<span style="display:inline-block;width:22px;margin-right:4px;vertical-align:middle;'
              f'border-top:{strokes[line]}"></span>', words[line]) for line in ("solid", "dashed", "strong")
             if line in lines]
    if center:
        marks.append(('<span style="display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;'
                      'border:3px solid #17202a;box-sizing:border-box"></span>', words["center"]))
    items += [f'<span class="legend-line" style="margin-right:12px;white-space:nowrap">{m}{html.escape(w)}</span>'
              for m, w in marks]
    return ('<div id="legend" style="clear:both;font:12px sans-serif;color:#333;padding:6px 2px;line-height:20px">'
            + "".join(items) + "</div>")


# -- uploads -------------------------------------------------------------------------------------------------

# An upload is a dataset like any other: the reader's limits (accountability.dataset.LIMITS) hold for it too
MAX_UNCOMPRESSED = LIMITS.bytes
MAX_FILES = 200
MAX_RATIO = LIMITS.ratio  # a member inflating more than this is treated as a zip bomb
DATASET_SUFFIXES = (".csv", ".json", ".xlsx")


def check_archive(archive: zipfile.ZipFile, max_bytes: int = MAX_UNCOMPRESSED, max_files: int = MAX_FILES) -> None:
    """Refuse an archive by its directory alone: too many members, declared sizes too large, members that
    inflate suspiciously, links, or names that leave the folder. Raises InvalidDataset."""
    members = archive.infolist()
    errors = []
    if len(members) > max_files:
        errors.append(f"archive: {len(members)} members, at most {max_files} allowed")
    for m in members:
        name = m.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
            errors.append(f"archive: {name}: a path outside the folder")
        if stat.S_ISLNK(m.external_attr >> 16):
            errors.append(f"archive: {name}: a symbolic link")
    errors += inflation_errors(archive, "archive", replace(LIMITS, bytes=max_bytes))
    if errors:
        raise InvalidDataset(errors)


def extract_zip(source: str | Path | IO[bytes], dest: str | Path, max_bytes: int = MAX_UNCOMPRESSED,
                max_files: int = MAX_FILES) -> Path:
    """Extract the dataset files of a zip into ``dest`` safely and return the dataset path to load: the
    folder holding the CSV files (the archive may wrap them in one folder), or its one .json / .xlsx.

    Only .csv, .json and .xlsx members are written, under their base names; bytes are counted as they are
    written, so an archive that lies about its sizes stops at ``max_bytes``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidDataset([f"archive: not a readable zip file ({exc})"]) from None
    with archive:
        check_archive(archive, max_bytes, max_files)
        written = 0
        folders: dict[str, list[str]] = defaultdict(list)
        for m in archive.infolist():
            path = PurePosixPath(m.filename.replace("\\", "/"))
            if m.is_dir() or path.suffix.lower() not in DATASET_SUFFIXES:
                continue
            if any(p.startswith(".") or p == "__MACOSX" for p in path.parts):
                continue
            parent = str(path.parent)
            if path.name in folders[parent]:
                continue
            folders[parent].append(path.name)
            target_dir = dest / f"part{len(folders) - 1}"
            target_dir.mkdir(exist_ok=True)
            target = target_dir / path.name
            with archive.open(m) as src, open(target, "wb") as out:
                while True:
                    chunk = src.read(1 << 16)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > max_bytes:
                        raise InvalidDataset([f"archive: inflates beyond {max_bytes} bytes"])
                    out.write(chunk)
    found = [(parent, names) for parent, names in folders.items() if names]
    if len(found) != 1:
        raise InvalidDataset(["archive: expected one folder of CSV files (or one .json or .xlsx), found "
                              + (", ".join(p or "." for p, _ in found) or "no dataset files")])
    parent, names = found[0]
    folder = dest / f"part{list(folders).index(parent)}"
    csvs = [n for n in names if n.lower().endswith(".csv")]
    if csvs:
        return folder
    if len(names) != 1:
        raise InvalidDataset([f"archive: expected one .json or .xlsx dataset, found {', '.join(names)}"])
    return folder / names[0]


def save_upload(name: str, data: bytes, dest: str | Path) -> Path:
    """Write an uploaded dataset into ``dest`` and return the path to load. The user's file name only
    chooses the form (by its suffix); it never becomes a path."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        import io

        return extract_zip(io.BytesIO(data), dest / "unzipped")
    if suffix == ".xlsx":
        import io

        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:  # refused before it is written, as the CLI refuses it
                check_workbook(book, name)
        except zipfile.BadZipFile:
            raise InvalidDataset([f"{name}: not a readable .xlsx workbook"]) from None
    elif suffix == ".json":
        too_large(name, len(data))
    else:
        raise InvalidDataset([wrong_upload(name)])
    target = dest / f"dataset{suffix}"
    target.write_bytes(data)
    return target


def wrong_upload(name: str) -> str:
    """What to upload instead of ``name``: a dataset is several tables, so one CSV file cannot hold it.
    The message names the forms and the contract's tables, so that the user knows what to put together.

    >>> wrong_upload("hazards.csv").split(":")[0]
    'hazards.csv'
    """
    tables = SCHEMA.tables.values()
    required = ", ".join(f"{t.name}.csv" for t in tables if not t.optional)
    optional = ", ".join(f"{t.name}.csv" for t in tables if t.optional)
    start = (f"{name}: one CSV file is one table, and a dataset has several" if name.lower().endswith(".csv")
             else f"{name}: not a dataset file")
    return (f"{start}. Upload a .zip of the folder of CSV files ({required}; optional: {optional}), "
            f"an .xlsx workbook with one sheet per table, or a .json file {{table: [rows]}}")


def split_error(line: str) -> dict:
    """A validation error ``table:row: column: reason`` (or ``table: reason``, about a whole table) as
    columns; the parts a line does not have are empty, not None: a table shows them blank.

    >>> split_error("tenures:4: end: before start (2024-01-01)")
    {'table': 'tenures', 'row': 4, 'column': 'end', 'reason': 'before start (2024-01-01)'}
    >>> split_error("events: missing table")
    {'table': 'events', 'row': '', 'column': '', 'reason': 'missing table'}
    >>> split_error("archive: not a readable zip file")
    {'table': '', 'row': '', 'column': '', 'reason': 'archive: not a readable zip file'}
    """
    m = re.match(r"^([a-z_]+):(\d+): ([^:]+): (.*)$", line, re.DOTALL)
    if m:
        return {"table": m[1], "row": int(m[2]), "column": m[3], "reason": m[4]}
    m = re.match(r"^([a-z_]+): (.*)$", line, re.DOTALL)
    if m and m[1] in SCHEMA.tables:
        return {"table": m[1], "row": "", "column": "", "reason": m[2]}
    return {"table": "", "row": "", "column": "", "reason": line}
