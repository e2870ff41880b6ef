"""Who may see and do what: users, roles and jurisdiction scopes (纪检监察 works level by level).

Access control is off until users are configured: one analyst on their own machine needs none. Users are
configured as a table — ``[users]`` in Streamlit's ``.streamlit/secrets.toml`` for the app, or a TOML file
named by ``ACCOUNTABILITY_USERS`` for the app and the command line::

    [users.chen]
    password = "scrypt$16384$8$1$…"   # `accountability users hash-password` prints it; never the password
    role = "auditor"                   # viewer | auditor | admin
    scope = "C01-K02"                  # a jurisdiction: chen sees it and everything below; omit for all

What each role may do grows with it (``ROLES``): a viewer browses; an auditor also runs the named queries and
exports (downloads, ``trace --all``, report files); an admin also imports. What cannot be cut to a subtree —
raw SQL/Cypher, a whole-dataset export, an import — needs a user without a scope.

A scoped user sees the jurisdictions of the subtree, the organizations in them, their posts, the people who
ever held one of those posts, and the hazards and incidents located in the subtree. A hazard's chain is shown
whole, upward links included (the city's leaders answering for an escalated hazard are part of the county's
hazard), but those leaders' own pages and records stay out of reach.

On the command line the user is ``ACCOUNTABILITY_USER`` with ``ACCOUNTABILITY_PASSWORD`` (environment
only). The app's login and the command line sign in through ``sign_in``: repeated failures lock a user name
(and a client address) for a while, counted with the store (``accountability.lockout``). This guards the tool, not the file: whoever can read a SQLite file can read all of it, so a shared
deployment keeps the store on a Neo4j server or behind the app, and the file readable by its owner only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from accountability import settings
from accountability.errors import AccessDenied, UsageError

VIEW, QUERY, EXPORT, RAW, IMPORT = "view", "query", "export", "raw", "import"
ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({VIEW}),
    "auditor": frozenset({VIEW, QUERY, EXPORT, RAW}),
    "admin": frozenset({VIEW, QUERY, EXPORT, RAW, IMPORT}),
}
# Actions whose result cannot be cut to a subtree: a scoped user may never take them.
WHOLE_STORE = frozenset({RAW, IMPORT})
ACTION_WORDS = {
    VIEW: "view data", QUERY: "run queries", EXPORT: "export data or reports", RAW: "run raw SQL or Cypher",
    IMPORT: "import or change data",
}


@dataclass(frozen=True)
class User:
    name: str
    role: str = "admin"
    scope: str | None = None  # a jurisdiction id; None: the whole store

    def may(self, action: str) -> bool:
        return action in ROLES[self.role] and not (self.scope and action in WHOLE_STORE)

    def require(self, action: str) -> None:
        if not self.may(action):
            why = f"a user scoped to {self.scope}" if self.scope and action in ROLES[self.role] else \
                f"the role {self.role}"
            raise AccessDenied(f"access denied: {why} may not {ACTION_WORDS[action]} (user {self.name})")


# Who works when access control is off: everything is allowed.
NOBODY_CONFIGURED = User("local")


# -- passwords ------------------------------------------------------------------------------------------------

# scrypt (hashlib, OpenSSL): memory-hard, salted; parameters stored with each hash so they can grow later.
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
_DKLEN = 32  # bytes of a hash: a stored hash of another length (cut short, tampered) never matches


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    if not password:
        raise UsageError("a password cannot be empty")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=_DKLEN, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(salt)}${_b64(digest)}"


def _parse_hash(stored: str) -> tuple[dict, bytes, bytes] | None:
    parts = stored.split("$") if isinstance(stored, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not (1 <= r <= 64 and 1 <= p <= 16) or len(salt) < 8 or len(digest) != _DKLEN:
        return None
    return {"n": n, "r": r, "p": p}, salt, digest


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse_hash(stored)
    if parsed is None or not isinstance(password, str):
        return False
    params, salt, digest = parsed
    try:
        candidate = hashlib.scrypt(password.encode(), salt=salt, dklen=_DKLEN, maxmem=2 ** 27, **params)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, digest)


# -- the users table ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    user: User
    password_hash: str


def parse_users(table: Any, source: str) -> dict[str, Account]:
    """The ``[users]`` table, checked: every problem is named with ``source`` and the user."""
    if not isinstance(table, Mapping) or not table:
        raise UsageError(f"{source}: 'users' must be a table of users")
    accounts, problems = {}, []
    for name, spec in table.items():
        where = f"{source}: users.{name}"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: must be a table with password, role and scope")
            continue
        unknown = set(spec) - {"password", "role", "scope"}
        role, scope, password = spec.get("role"), spec.get("scope"), spec.get("password")
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        if role not in ROLES:
            problems.append(f"{where}: role must be one of {', '.join(ROLES)}")
        if scope is not None and (not isinstance(scope, str) or not scope.strip()):
            problems.append(f"{where}: scope must be a jurisdiction id")
        if _parse_hash(password) is None:
            problems.append(f"{where}: password must be a hash from `accountability users hash-password`")
        if not problems:
            accounts[str(name)] = Account(User(str(name), role, scope or None), password)
    if problems:
        raise UsageError("invalid users configuration:\n" + "\n".join(problems))
    return accounts


def users_from_file(path: str | Path) -> dict[str, Account]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the users file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a TOML file: {exc}") from None
    return parse_users(data.get("users"), str(path))


def configured_users(secrets_users: Any = None) -> dict[str, Account] | None:
    """The users table (from Streamlit secrets when given, else the ``users`` setting's file), or None when
    access control is off."""
    if secrets_users:
        return parse_users(secrets_users, "secrets")
    path = settings.get("users")
    return users_from_file(path) if path else None


# What an unknown name's password is checked against: a hash of the current parameters (a digest no
# password yields, and an unknown name is refused whatever it matches), so that an unknown name costs one
# scrypt run, like a wrong password, and timing does not tell which names exist.
_NO_ACCOUNT = f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${_b64(bytes(16))}${_b64(bytes(_DKLEN))}"


def authenticate(accounts: Mapping[str, Account], name: str | None, password: str | None) -> User:
    """The user whose password this is; one message, and one scrypt run, for an unknown name or a wrong
    password. No limit on attempts here: ``sign_in`` adds the lockout."""
    account = accounts.get(name or "")
    stored = account.password_hash if account else _NO_ACCOUNT
    if not verify_password(password or "", stored) or account is None:
        raise AccessDenied("access denied: unknown user or wrong password")
    return account.user


def sign_in(accounts: Mapping[str, Account], name: str | None, password: str | None, store: str,
            address: str | None = None) -> User:
    """``authenticate``, behind the lockout kept with ``store`` (``accountability.lockout``): refused with
    TooManyAttempts while the name (or the client ``address``) is locked, the right password included.
    The app's login and the command line both come in here."""
    from accountability.lockout import open_lockout

    with open_lockout(store) as lockout, lockout.attempt(name or "", address):
        return authenticate(accounts, name, password)


def cli_user(store: str | None = None) -> User:
    """The command line's user: nobody in particular when access control is off; otherwise
    ``ACCOUNTABILITY_USER`` signed in by ``ACCOUNTABILITY_PASSWORD``, failures counted with ``store`` (by
    default the running command's ``--store``)."""
    accounts = configured_users()
    if accounts is None:
        return NOBODY_CONFIGURED
    name = settings.get("user")
    if not name:
        raise AccessDenied("access denied: access control is on; set ACCOUNTABILITY_USER and "
                           "ACCOUNTABILITY_PASSWORD")
    return sign_in(accounts, name, os.environ.get("ACCOUNTABILITY_PASSWORD"), store or _command_store())


def _command_store() -> str:
    """The store the running command works on (its ``--store``), else the ``store`` setting: failed
    sign-ins are counted where that store's users would count them."""
    import click

    context = click.get_current_context(silent=True)
    store = context.params.get("store") if context is not None else None
    return str(store or settings.get("store"))


# -- what a scoped user may see ------------------------------------------------------------------------------------


class Scope:
    """The part of the store a user may see, decided over the session's graph and store.

    ``jurisdictions`` is None for the whole store. Rows are checked by where they are: a jurisdiction by
    itself, an organization, hazard or incident by its ``jurisdiction_id``, a post by its organization, a
    person by the posts they ever held.
    """

    def __init__(self, session, user: User):
        self.user = user
        self.store = session.store
        self.graph = session.graph
        if user.scope is None:
            self.jurisdictions: frozenset[str] | None = None
        else:
            if user.scope not in session.graph.jurisdictions:
                raise AccessDenied(f"access denied: the scope of user {user.name}, '{user.scope}', is not a "
                                   "jurisdiction of this store")
            self.jurisdictions = frozenset(session.graph.subtree(user.scope))

    @property
    def everything(self) -> bool:
        return self.jurisdictions is None

    def within(self, jurisdiction: str | None) -> set[str] | None:
        """The jurisdictions of ``jurisdiction``'s subtree the user may see (None: everything); naming a
        jurisdiction outside the scope is refused."""
        if jurisdiction is None:
            return None if self.jurisdictions is None else set(self.jurisdictions)
        self.check("jurisdictions", jurisdiction)
        return self.graph.subtree(jurisdiction)

    def allows(self, table: str, row_or_id: dict | str) -> bool:
        if self.jurisdictions is None:
            return True
        row = row_or_id if isinstance(row_or_id, dict) else None
        rid = row["id"] if row else row_or_id
        if table == "jurisdictions":
            return rid in self.jurisdictions
        if table in ("organizations", "hazards", "incidents"):
            row = row if row and "jurisdiction_id" in row else next(self.store.rows(table, id=rid), None)
            return row is not None and row["jurisdiction_id"] in self.jurisdictions
        if table == "posts":
            row = row if row and "organization_id" in row else next(self.store.rows("posts", id=rid), None)
            return row is not None and self.allows("organizations", row["organization_id"])
        if table == "people":
            posts = {t["post_id"] for t in self.store.rows("tenures", person_id=rid)}
            return self._any_post(posts)
        return False

    def _any_post(self, posts: Iterable[str]) -> bool:
        posts = list(posts)
        if not posts:
            return False
        orgs = {p["organization_id"] for p in self.store.rows("posts", id=posts)}
        return any(o["jurisdiction_id"] in self.jurisdictions for o in self.store.rows("organizations", id=list(orgs)))

    def check(self, table: str, row_or_id: dict | str) -> None:
        if not self.allows(table, row_or_id):
            rid = row_or_id["id"] if isinstance(row_or_id, dict) else row_or_id
            thing = "person" if table == "people" else table[:-1]
            raise AccessDenied(f"access denied: {thing} '{rid}' is "
                               f"outside the jurisdiction of user {self.user.name} ({self.user.scope})")
