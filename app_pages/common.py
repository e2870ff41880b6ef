"""What every page shares: the words, the global sidebar values, the cached session and the error edge.

Pages import this module; the library (``accountability``) never imports Streamlit. Page widget keys
are prefixed by page (``ov_``, ``ex_``, ``hz_``, ``of_``, ``gp_``, ``qr_``, ``rp_``, ``dt_``, ``du_``, ``cp_``,
``ms_``); the global sidebar uses ``global_``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from accountability import settings
from accountability.access import NOBODY_CONFIGURED, Account, User, configured_users, sign_in
from accountability.dates import far_from_today, today
from accountability.errors import AccessDenied, AccountabilityError
from accountability.lockout import TooManyAttempts
from accountability.output import to_string
from accountability.names import Labels
from accountability.queries import exposure_ranking
from accountability.ui import LiveSession, hazard_summary, md
from graph_schema import InvalidSchema

HERE = Path(__file__).resolve().parent
PAGES = {
    "overview": "app_pages/overview.py",
    "explore": "app_pages/explore.py",
    "hazard": "app_pages/hazard.py",
    "official": "app_pages/official.py",
    "gaps": "app_pages/gaps.py",
    "campaigns": "app_pages/campaigns.py",
    "measures": "app_pages/measures.py",
    "queries": "app_pages/queries.py",
    "report": "app_pages/report.py",
    "duty": "app_pages/duty.py",
    "calibrate": "app_pages/calibrate.py",
    "data": "app_pages/data.py",
}


# -- words ------------------------------------------------------------------------------------------------


@cache
def words() -> dict:
    return yaml.safe_load((HERE / "words.yaml").read_text(encoding="utf-8"))


def lang() -> str:
    return st.session_state.get("global_lang", settings.get("lang") or "zh")


def t(key: str, **values: Any) -> str:
    """The UI word ``section.name`` in the current language (values are formatted in, escaped for
    markdown: they are data)."""
    section, _, name = key.partition(".")
    text = words()[section][name][lang()]
    return text.format(**{k: md(v) for k, v in values.items()})


def plain(key: str, **values: Any) -> str:
    """Like :func:`t` for places that show text as is (table headers, options, file names)."""
    section, _, name = key.partition(".")
    text = words()[section][name][lang()]
    return text.format(**values)


def word(key: str, default: str) -> str:
    """The UI word ``section.name`` where there is one, else ``default`` (codes that may lack a word)."""
    section, _, name = key.partition(".")
    entry = words().get(section, {}).get(name)
    return entry[lang()] if entry else default


def table_label(name: str) -> str:
    """A table of the dataset contract in words, with the file that holds it: 事故隐患（hazards.csv）."""
    return plain("common.table_file", label=word(f"tables.{name}", name), file=f"{name}.csv")


# -- global values --------------------------------------------------------------------------------------


def store_uri() -> str:
    return str(settings.get("store"))


def as_of() -> str:
    value = st.session_state.get("global_as_of") or today()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


# Date inputs take any date of these years: Streamlit's own out-of-range message is English (and its default
# bounds are ten years either side); a date far from today is warned about in the UI's language instead.
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def sidebar() -> None:
    """The language switch, the one "as of" date and the store, on every page."""
    with st.sidebar:
        st.radio("语言 / Language", ["zh", "en"], key="global_lang", horizontal=True, on_change=_relabel,
                 index=1 if settings.get("lang") == "en" else 0,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
        initial = dt.date.fromisoformat(today())
        raw = st.query_params.get("as_of")
        if raw and "global_as_of" not in st.session_state:
            try:
                given = dt.date.fromisoformat(raw)
            except ValueError:
                given = None
            if given is not None and FIRST_DAY <= given <= LAST_DAY:
                initial = given
            else:  # the address's date cannot be used: said, and today instead (the widget would refuse it)
                st.warning(t("common.bad_as_of", value=raw[:40], first=FIRST_DAY.isoformat(),
                             last=LAST_DAY.isoformat(), today=initial.isoformat()))
        st.date_input(t("common.as_of"), value=initial, key="global_as_of", help=plain("common.as_of_help"),
                      min_value=FIRST_DAY, max_value=LAST_DAY)
        far = far_from_today(as_of())
        if far:
            st.warning(t("common.far_ahead" if far > 0 else "common.far_back", as_of=as_of(),
                         years=round(abs(far) / 365, 1)))
        st.caption(t("common.store", store=store_uri()))
        _signed_in()
    _streamlit_words()


# Streamlit's file uploader writes its own English ("Upload", "200MB per file • ZIP, XLSX, JSON") and has no
# parameter for it: in the Chinese UI the words are replaced by style (the uploader's label says the rest).
_UPLOADER_ZH = """<style>
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after { content: "%s"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "%s"; font-size: 1rem; }
</style>"""


def _streamlit_words() -> None:
    if lang() == "zh":
        limit = plain("common.uploader_limit", mb=st.get_option("server.maxUploadSize"))
        st.html(_UPLOADER_ZH % (limit, plain("common.uploader_button")))


# -- who is using the app -----------------------------------------------------------------------------------


def accounts() -> dict[str, Account] | None:
    """The configured users (Streamlit secrets' ``[users]``, else ACCOUNTABILITY_USERS), or None: access
    control off. A broken configuration stops the app with its message: it never opens up."""
    try:
        return configured_users(_secret_users())
    except AccountabilityError as exc:
        st.error(t("login.bad_config") + " " + md(str(exc)))
        st.stop()


def _secret_users() -> Any:
    """``[users]`` of Streamlit's secrets. A secrets file Streamlit cannot parse is an error, not an app
    without access control (Streamlit itself would quietly treat it as absent)."""
    present = [p for p in st.get_option("secrets.files") if Path(p).is_file()]
    if present and not st.secrets.load_if_toml_exists():
        st.error(t("login.bad_config") + " " + md(", ".join(present)))
        st.stop()
    try:
        users = st.secrets.get("users")
    except FileNotFoundError:  # no secrets at all
        return None
    return users.to_dict() if hasattr(users, "to_dict") else users


def user() -> User:
    """The signed-in user; everything is allowed when access control is off."""
    return st.session_state.get("global_user") or NOBODY_CONFIGURED


def view_of(who: User) -> tuple[str, str | None]:
    """What ``who`` may see and do: their role and scope (nothing else of a user changes an answer). Users with
    the same view get the same answers; a scope is a subtree, so no two views see the same otherwise."""
    return who.role, who.scope


# Results cached with this (``st.cache_data(hash_funcs=BY_VIEW)``) are shared by every session, and every
# user, with the same view: a user argument is keyed by its view, not its name. Only for functions whose
# answer depends on nothing else of the user (a report naming who made it is keyed by the user whole).
BY_VIEW = {User: view_of}


def must_sign_in() -> bool:
    """Whether access control is on and nobody has signed in in this browser session yet."""
    return st.session_state.get("global_user") is None and accounts() is not None


def login() -> None:
    """With access control on, show the sign-in form and stop the page until a user signs in. Failed
    sign-ins are counted with the store, per name and per client address (``accountability.lockout``): a
    reload, another browser or a restarted server starts with the same count."""
    table = accounts()
    if table is None or st.session_state.get("global_user") is not None:
        return
    st.title(t("login.title"))
    st.caption(t("login.intro"))
    with st.form("global_login"):
        name = st.text_input(plain("login.user"), max_chars=100)
        password = st.text_input(plain("login.password"), type="password", max_chars=200)
        submitted = st.form_submit_button(plain("login.submit"), type="primary")
    if submitted:
        try:
            st.session_state["global_user"] = sign_in(table, name.strip(), password, store_uri(),
                                                      st.context.ip_address)
        except TooManyAttempts as exc:
            st.error(t("login.too_many", minutes=exc.minutes))
        except AccessDenied:
            st.error(t("login.failed"))
        except AccountabilityError as exc:  # the count cannot be kept, a lockout setting is wrong: no entry
            st.error(md(exc.text(lang())))
        else:
            st.rerun()
    st.stop()


def logout() -> None:
    for key in ("global_user", "confirmed"):
        st.session_state.pop(key, None)


def require(action: str) -> None:
    """Stop the page with a message unless the user may take ``action``."""
    if not user().may(action):
        st.error(t("login.denied"))
        st.stop()


def _signed_in() -> None:
    who = st.session_state.get("global_user")
    if who is None:
        return
    st.caption(t("login.signed_in", user=who.name, role=who.role, scope=who.scope or plain("login.everything")))
    st.button(plain("login.logout"), key="global_logout", on_click=logout, icon=":material/logout:")


# -- the session -------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def live(uri: str) -> LiveSession:
    """One session per store for every user of this server (see LiveSession for the locking)."""
    return LiveSession(uri, rules=settings.get("rules"))


@contextlib.contextmanager
def session() -> Iterator[Any]:
    """The store's session, locked for this run. A missing store stops the page with a pointer to the
    Data page instead of a traceback."""
    if not live(store_uri()).exists():
        st.info(t("common.no_store", store=store_uri()))
        st.page_link(PAGES["data"], label=plain("data.title"), icon=":material/upload:")
        st.stop()
    with errors(), live(store_uri()).use(user()) as s:
        _check_scope(s)
        yield s


def _check_scope(s) -> None:
    """Stop the page, saying why, when the user's scope is not a jurisdiction of this store (a typing
    mistake in the users table, or a dataset that changed): such a user may see nothing."""
    try:
        s.scope  # noqa: B018 - built here, refused here
    except AccessDenied:
        st.error(t("login.unknown_scope", user=s.user.name, scope=s.user.scope))
        st.stop()


def require_store() -> None:
    """Stop the page (pointing to the Data page) when the store does not exist."""
    with session():
        pass


def dataset_hash() -> str:
    return live(store_uri()).dataset_hash() or ""


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """The app's one error edge: a user's mistake or a data problem becomes one message, not a traceback."""
    try:
        yield
    except AccountabilityError as exc:
        st.error(md(exc.text(lang())))
        st.stop()
    except InvalidSchema as exc:
        st.error(t("common.bad_schema") + " " + md(str(exc)))
        st.stop()


# Tracing every hazard below this many jurisdictions takes seconds; above (a whole province), minutes:
# such work waits for a click.
BIG_SCOPE = 1000


def big_scope(s, jurisdictions: set[str] | None) -> bool:
    """Whether tracing the hazards of ``jurisdictions`` (None: all) should wait for a click."""
    if jurisdictions is None:
        jurisdictions = s.scope.jurisdictions or s.graph.jurisdictions
    return len(jurisdictions) > BIG_SCOPE


def confirm_once(key: str, label: str, note: str) -> None:
    """Stop the page here until the user clicks ``label``; the click is remembered for this browser session
    (``key`` names what was confirmed, prefixed by the page)."""
    done = st.session_state.setdefault("confirmed", set())
    if key in done:
        return
    st.caption(note)
    st.button(label, key=key, type="primary", on_click=done.add, args=(key,))
    st.stop()


def labels(s) -> Labels:
    return Labels(s, lang())


# -- cached computations ------------------------------------------------------------------------------------
# Shared by every session of this server process, keyed by the store's dataset hash (an import changes it, so
# nothing computed on the old data is shown again) and by the user's view (BY_VIEW).


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_VIEW)
def summary_data(uri: str, digest: str, on: str, user: User) -> dict:
    """The overview's counts, once per (store, dataset, date, view)."""
    with live(uri).batch(on, user) as s:
        return hazard_summary(s, on)


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=BY_VIEW)
def ranking_data(uri: str, digest: str, on: str, jurisdiction: str | None, user: User) -> dict:
    """The exposure ranking of a jurisdiction, once per (store, dataset, date, jurisdiction, view): it traces
    every hazard there."""
    with live(uri).batch(on, user) as s:
        return exposure_ranking(s, on, jurisdiction)


# -- showing things -------------------------------------------------------------------------------------------


def frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    """Rows as a table whose headers are words of the current language (``columns``: row key → word key, or
    ``=header`` for a header given as is)."""
    headers = {k: (v[1:] if v.startswith("=") else plain(v)) for k, v in columns.items()}
    data = [{headers[k]: _cell(r.get(k)) for k in columns} for r in rows]
    return pd.DataFrame(data, columns=list(headers.values()))


def labelled_csv(rows: list[dict], columns: list[str], headers: list[str], labelled: dict[str, Any]) -> str:
    """Rows as a CSV file for the UI's language: ``headers`` (words) over ``columns``; a column of
    ``labelled`` (column → function of a code) holds the code's label and is followed by a column of the codes
    themselves, for the machines that read the file. With a byte order mark, so that Excel reads UTF-8."""
    out_cols: list[str] = []
    for c, h in zip(columns, headers):
        out_cols += [h, plain("common.code_of", header=h)] if c in labelled else [h]
    out_rows = []
    for r in rows:
        row: dict[str, Any] = {}
        for c, h in zip(columns, headers):
            value = r.get(c)
            if c in labelled:
                row[h] = labelled[c](value) if value not in (None, "") else ""
                row[plain("common.code_of", header=h)] = value
            else:
                row[h] = value
        out_rows.append(row)
    return "\ufeff" + to_string(out_rows, out_cols, "csv")


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, set)):
        return "；".join(str(v) for v in value) if lang() == "zh" else "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "✓" if value else ""
    return value


# None among a select box's options ("all", "any") stands for itself as this value: set back as None on a
# language switch, a choice would read as "no choice" and the box would show its placeholder
NONE = "\x00none"


def selectbox(label: str, options: Any, key: str, format_func: Any = str, **kwargs: Any) -> Any:
    """``st.selectbox`` in the current language, its placeholder included (Streamlit's own is English)."""
    st.session_state.setdefault("global_relabel", set()).add(key)
    options = [NONE if o is None else o for o in options]
    # the labels are made now, in this run's language (Streamlit may call format_func outside the run)
    shown = {o: format_func(None if o == NONE else o) for o in options}
    value = st.selectbox(label, options, key=key, placeholder=plain("common.choose"),
                         format_func=lambda o: shown[o] if o in shown else format_func(o), **kwargs)
    return None if value == NONE else value


def found_pick(found: list, key: str, format_func: Any, **kwargs: Any) -> None:
    """What a search box found, to pick one from (``selectbox``); or, when it found nothing, a word saying
    so (an empty list would open on Streamlit's own English)."""
    if found:
        selectbox(plain("common.pick"), found, index=None, key=key, format_func=format_func, **kwargs)
    else:
        st.caption(t("common.nothing_found"))


def _relabel() -> None:
    """On a language switch, give every select box its choice again. A keyed widget keeps its identity
    whatever its labels, so the browser would go on showing the chosen option in the old language."""
    for key in st.session_state.get("global_relabel", ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    for key in FOLLOW_LANG:  # choices of a language that follow the UI's
        if key in st.session_state:
            st.session_state[key] = st.session_state["global_lang"]


# widgets that choose a language (the incident report's): a switch of the UI's language switches them too
FOLLOW_LANG = ("rp_lang",)


def yes(value: bool) -> str:
    return "✓" if value else ""


def picker(table: str, key: str, placeholder_key: str, limit: int = 50) -> str | None:
    """Search ``table`` by id or name and pick one: returns the chosen id (or None)."""
    text = st.text_input(plain(placeholder_key), key=f"{key}_q", placeholder=plain("common.search_hint"))
    if not text or not text.strip():
        return None
    with session() as s:
        found = s.search(text, table, limit)
    if not found:
        st.caption(t("common.nothing_found"))
        return None
    options = [r["id"] for r in found]
    names = {r["id"]: r["name"] for r in found}
    return selectbox(plain("common.pick"), options, index=None, key=f"{key}_pick",
                     format_func=lambda rid: f"{names.get(rid) or ''} ({rid})")


def page_link(page: str, label: str, **params: str) -> None:
    st.page_link(PAGES[page], label=md(label), query_params=params or None)


def jurisdiction_select(label_key: str, key: str, deepest: str = "township", allow_all: bool = True) -> str | None:
    """A jurisdiction down to level ``deepest`` (villages are too many to list), in tree order, shown with
    its ancestors; None means all."""
    # called within the session's lock, as the function computes within it: a session waiting for the cached
    # answer never holds the lock that its computing session needs
    with session():
        names = _jurisdiction_names(store_uri(), dataset_hash(), deepest, lang(), user())
    options = ([None] if allow_all else []) + list(names)
    return selectbox(plain(label_key), options, key=key, format_func=lambda j: plain("common.all") if j is None
                     else names[j])


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=BY_VIEW)
def _jurisdiction_names(uri: str, digest: str, deepest: str, names_lang: str, user: User) -> dict[str, str]:
    """The jurisdictions ``user`` sees down to level ``deepest``, in tree order, each with its ancestors'
    names: once per (dataset, level, language, view), not on every run of every page that offers them."""
    with live(uri).use(user) as s:
        graph = s.graph
        limit = graph.rank_of_level[deepest]
        order: list[str] = []
        stack = list(reversed(s.roots()))
        while stack:
            jid = stack.pop()
            if graph.jurisdictions[jid].rank > limit:
                continue
            order.append(jid)
            stack.extend(sorted(graph.tree.successors(jid), reverse=True))
        L = Labels(s, names_lang)
        return {jid: L.place(jid) for jid in order}


@st.cache_data(max_entries=32, show_spinner=False)
def report_bytes(uri: str, digest: str, incident: str, report_lang: str, fmt: str, user: User) -> bytes:
    """An incident's report rendered once per (dataset, incident, language, format, user)."""
    from accountability.reports import build_report, render

    with live(uri).use(user) as s:
        report = build_report(s, incident, report_lang)
    return render(report, fmt)
