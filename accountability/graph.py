"""The in-memory graph the engine traverses, built from any store.

The jurisdiction tree is a networkx ``DiGraph`` (parent → child), loaded whole: it is small even for a
whole country. Organizations, posts, tenures and portfolios are loaded on demand — a jurisdiction's
government bodies the first time a chain reaches it, an enterprise the first time a hazard names it —
so one trace reads a few dozen rows, while ``load_all()`` reads everything at once for batch work.
"""

from __future__ import annotations

from collections import defaultdict
from sys import intern
from typing import Iterable, Iterator, NamedTuple

import networkx as nx

from accountability.errors import NotFound
from accountability.memory import gc_paused
from accountability.stores.base import Store
from graph_schema import SCHEMA, Schema

GOVERNMENT_KINDS = ("party_committee", "government", "department", "safety_committee", "park_committee", "other")
FOREVER = "9999-12-31"

# the columns the graph reads of each table, in the order ``Graph._add_*`` unpack them
READ = {
    "people": ("id", "name"),
    "organizations": ("id", "name", "kind", "jurisdiction_id", "parent_id", "industries", "supervision",
                      "controlled_by"),
    "posts": ("id", "title", "organization_id", "role"),
    "tenures": ("person_id", "post_id", "start", "end", "acting"),
    "portfolios": ("post_id", "industry", "organization_id", "start", "end"),
}

new_tuple = tuple.__new__  # a NamedTuple's own __new__ is Python: millions of records at province scale


class Jurisdiction(NamedTuple):
    id: str
    name: str
    level: str
    parent_id: str | None
    rank: int


class Organization(NamedTuple):
    id: str
    name: str
    kind: str
    jurisdiction_id: str
    parent_id: str | None
    industries: tuple[str, ...]
    supervision: str | None
    controlled_by: str | None = None  # v2: the enterprise that controls it (rule 1c)


class Post(NamedTuple):
    id: str
    title: str
    organization_id: str
    role: str
    tenures: list  # its Tenures, by start



class Tenure(NamedTuple):
    """A person's holding of a post: a record, not a bare edge (``end`` inclusive, FOREVER = current)."""

    person_id: str
    post_id: str
    start: str
    end: str
    acting: bool
    name: str  # the person's


class Portfolio(NamedTuple):
    post_id: str
    industry: str | None
    organization_id: str | None
    start: str
    end: str


def _tenure_order(t: Tenure) -> tuple[str, str]:
    return (t.start, t.person_id)


class Graph:
    """Jurisdictions, organizations, posts, tenures and portfolios as the rules read them; no rule lives here,
    but each lookup serves some (numbers as in the rulesets and DESIGN.md):

    ==========================  =============================================================================
    ``ancestors_or_self``       the walk from J up: to R (rules 2–6), above R (rules 7 and 8's tiers)
    ``organizations``           a jurisdiction's bodies of a kind: its government and party committee (rules
                                4–6; rule 8's investigating seat)
    ``departments``             a jurisdiction's departments for an industry (rule 2: which level is R) or of a
                                supervision (rule 3)
    ``posts_of``, ``posts_in``  an organization's posts, by role (every selector)
    ``Post.tenures``            who held a post when (every link's holders; ``vacant_post``; min_days)
    ``portfolios_of``           a post's portfolios (rules 4 and 2b)
    ``org``                     an organization with its parent and ``controlled_by`` (rules 1, 1c, park)
    ``post``                    a post wherever it sits (rules 9–12 name posts from the records)
    ==========================  =============================================================================

    Loaded lazily for one trace, whole (``load_all``) for batch work.
    """

    def __init__(self, store: Store, schema: Schema = SCHEMA):
        self.store = store
        self.schema = schema
        ranks = {code: t.extra["rank"] for code, t in schema.vocab("jurisdiction_levels").items()}
        self.rank_of_level = ranks
        self.jurisdictions: dict[str, Jurisdiction] = {}
        self.tree = nx.DiGraph()
        for r in store.rows("jurisdictions"):
            j = Jurisdiction(r["id"], r["name"], r["level"], r["parent_id"], ranks[r["level"]])
            self.jurisdictions[j.id] = j
            self.tree.add_node(j.id)
        for j in self.jurisdictions.values():
            if j.parent_id:
                self.tree.add_edge(j.parent_id, j.id)
        self.orgs: dict[str, Organization] = {}
        self.orgs_at: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.posts: dict[str, Post] = {}
        self.posts_of: dict[str, list[Post]] = defaultdict(list)
        self.portfolios_of: dict[str, list[Portfolio]] = defaultdict(list)
        self.people: dict[str, str] = {}
        self._loaded_jurisdictions: set[str] = set()
        self._complete = False

    # -- loading ----------------------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Whether everything is loaded (``load_all``)."""
        return self._complete

    def load_all(self) -> "Graph":
        """Read every organization, post, tenure, portfolio and person (batch work, the app)."""
        if self._complete:
            return self
        # start afresh: what lazy loading already read would otherwise be added twice
        self.orgs.clear()
        self.orgs_at.clear()
        self.posts.clear()
        self.posts_of.clear()
        self.portfolios_of.clear()
        with gc_paused():
            self.people.update(self._read("people"))
            self._add_orgs(self._read("organizations"))
            self._add_posts(self._read("posts"))
            self._add_tenures(self._read("tenures"))
            self._add_portfolios(self._read("portfolios"))
        self._loaded_jurisdictions = set(self.jurisdictions)
        self._complete = True
        return self

    def _read(self, table: str, **where) -> Iterator[tuple]:
        """The rows of ``table`` as tuples of the columns the graph keeps (``READ``); a column that a store
        made before it existed lacks reads as None."""
        columns = READ[table]
        held = self.store.schema.tables[table].names
        present = tuple(c for c in columns if c in held)
        rows = self.store.tuples(table, present, **where)
        if len(present) == len(columns):
            return rows
        at = [present.index(c) if c in present else None for c in columns]
        return (tuple(None if i is None else row[i] for i in at) for row in rows)

    def _add_orgs(self, rows: Iterable[tuple]) -> list[str]:
        new = []
        orgs, orgs_at = self.orgs, self.orgs_at
        for oid, name, kind, jid, parent, industries, supervision, controlled_by in rows:
            if oid in orgs:
                continue
            o = new_tuple(Organization, (oid, name, intern(kind), intern(jid), parent, industries,
                                         supervision or ("sector" if kind == "department" else None), controlled_by))
            orgs[oid] = o
            orgs_at[(o.jurisdiction_id, o.kind)].append(oid)
            new.append(oid)
        return new

    def _add_posts(self, rows: Iterable[tuple]) -> list[str]:
        new = []
        posts, posts_of = self.posts, self.posts_of
        for pid, title, org_id, role in rows:
            p = new_tuple(Post, (pid, title, org_id, intern(role), []))
            posts[pid] = p
            posts_of[org_id].append(p)
            new.append(pid)
        return new

    def _add_tenures(self, rows: Iterable[tuple]) -> None:
        touched = {}
        names, posts = self.people, self.posts
        for person, post_id, start, end, acting in rows:
            post = posts[post_id]
            post.tenures.append(new_tuple(Tenure, (person, post_id, intern(start), intern(end or FOREVER), acting,
                                                   names.get(person, person))))
            touched[post_id] = post
        for post in touched.values():
            if len(post.tenures) > 1:
                post.tenures.sort(key=_tenure_order)

    def _add_portfolios(self, rows: Iterable[tuple]) -> None:
        for post_id, industry, org_id, start, end in rows:
            self.portfolios_of[post_id].append(Portfolio(post_id, industry, org_id, start, end or FOREVER))

    def _load_orgs(self, org_rows: Iterable[tuple]) -> None:
        org_ids = self._add_orgs(org_rows)
        if not org_ids:
            return
        post_ids = self._add_posts(self._read("posts", organization_id=org_ids))
        if post_ids:
            tenures = list(self._read("tenures", post_id=post_ids))
            missing = list({t[0] for t in tenures} - self.people.keys())
            if missing:
                self.people.update(self._read("people", id=missing))
            self._add_tenures(tenures)
            self._add_portfolios(self._read("portfolios", post_id=post_ids))

    def ensure_jurisdiction(self, jid: str) -> None:
        if self._complete or jid in self._loaded_jurisdictions:
            return
        self._loaded_jurisdictions.add(jid)
        self._load_orgs(self._read("organizations", jurisdiction_id=jid, kind=list(GOVERNMENT_KINDS)))

    def ensure_jurisdictions(self, jids: Iterable[str]) -> None:
        """:meth:`ensure_jurisdiction` for many at once, in one read (a look-back plan's thousands)."""
        wanted = sorted(set(jids) - self._loaded_jurisdictions)
        if self._complete or not wanted:
            return
        self._loaded_jurisdictions.update(wanted)
        self._load_orgs(self._read("organizations", jurisdiction_id=wanted, kind=list(GOVERNMENT_KINDS)))

    def org(self, oid: str) -> Organization | None:
        """The organization ``oid`` (loading it, its posts and its parent on first use)."""
        o = self.orgs.get(oid)
        if o is None and not self._complete:
            self._load_orgs(self._read("organizations", id=oid))
            o = self.orgs.get(oid)
            if o and o.parent_id and o.parent_id not in self.orgs:
                self._load_orgs(self._read("organizations", id=o.parent_id))
        return o

    def post(self, pid: str) -> Post | None:
        """The post ``pid`` wherever it sits (loading its organization on first use)."""
        p = self.posts.get(pid)
        if p is None and not self._complete:
            for r in self.store.rows("posts", id=pid):
                self.org(r["organization_id"])
            p = self.posts.get(pid)
        return p

    # -- navigation -------------------------------------------------------------------------------------

    def jurisdiction(self, jid: str) -> Jurisdiction:
        try:
            return self.jurisdictions[jid]
        except KeyError:
            raise NotFound(f"unknown jurisdiction '{jid}'") from None

    def ancestors_or_self(self, jid: str) -> Iterator[Jurisdiction]:
        """``jid`` and then each parent up to the root."""
        seen = set()
        while jid and jid in self.jurisdictions and jid not in seen:
            seen.add(jid)
            j = self.jurisdictions[jid]
            yield j
            jid = j.parent_id

    def subtree(self, jid: str) -> set[str]:
        """``jid`` and every jurisdiction below it."""
        self.jurisdiction(jid)
        return {jid} | nx.descendants(self.tree, jid)

    def organizations(self, jid: str, kind: str) -> list[Organization]:
        self.ensure_jurisdiction(jid)
        return [self.orgs[o] for o in self.orgs_at.get((jid, kind), ())]

    def departments(self, jid: str, industry: str | None = None, supervision: str | None = None) -> list[Organization]:
        return [
            d for d in self.organizations(jid, "department")
            if (industry is None or industry in d.industries) and (supervision is None or d.supervision == supervision)
        ]

    def posts_in(self, org_id: str, role: str | None = None) -> list[Post]:
        posts = self.posts_of.get(org_id, ())
        return list(posts) if role is None else [p for p in posts if p.role == role]

    def person_name(self, pid: str) -> str:
        return self.people.get(pid, pid)
