"""Queries: the named query catalog (``accountability.queries``) as forms — typed parameters with their
defaults and pick-lists, results as a table and as CSV (``accountability query``'s rows, with headers in the
UI's language and each code column beside its labels)."""

import datetime as dt
import itertools

import streamlit as st

from accountability import queries
from accountability.access import EXPORT, QUERY
from accountability.errors import AccountabilityError
from accountability.ui import md
from app_pages import common
from app_pages.common import frame, plain, t
from graph_schema import SCHEMA

ROW_CAP = 10_000
# code columns shown with their labels (the CSV keeps the codes)
VOCABULARY_COLUMNS = {"industry": "industries", "duty": "duties", "degree": "degrees", "role": "roles",
                      "kind": "gap_kinds"}
ID_COLUMNS = {"jurisdiction_id": "jurisdiction", "organization_id": "organization", "post_id": "post_in_org"}

st.title(t("queries.title"))
common.require(QUERY)
lang = common.lang()
catalog = queries.catalog()
name = common.selectbox(plain("queries.query"), [q.name for q in catalog], key="qr_name",
                        format_func=lambda n: queries.get(n).title[lang])
query = queries.get(name)
st.caption(md(query.description[lang]))


@st.cache_data(max_entries=32, show_spinner=False, hash_funcs=common.BY_VIEW)
def _run(uri: str, digest: str, name: str, given: tuple, on: str, user) -> dict:
    """A query's answer (at most ROW_CAP rows), once per (dataset, query, parameters, view)."""
    with common.live(uri).batch(on, user) as s, queries.run(name, s, **dict(given)) as result:
        rows = list(itertools.islice(result, ROW_CAP + 1))
        return {"rows": rows[:ROW_CAP], "truncated": len(rows) > ROW_CAP, "columns": result.columns,
                "headers": {code: result.labels(code) for code in ("zh", "en")}}


def _widget(param, L, key: str):
    # the parameter's name (as the CLI's --param takes it) is a code: the form shows its description only
    label = f"{param.description[lang]}{' *' if param.required else ''}"
    help_ = None
    if param.type == "jurisdiction":
        return common.jurisdiction_select("queries.jurisdiction", key)
    if param.type == "date":
        default = None
        if param.default == "today":
            default = dt.date.fromisoformat(common.as_of())
        elif param.default:
            default = dt.date.fromisoformat(str(param.default))
        value = st.date_input(label, value=default, key=key, help=help_, min_value=common.FIRST_DAY,
                              max_value=common.LAST_DAY)
        return value.isoformat() if value else None
    if param.type in ("role", "industry") or param.values or param.vocabulary:
        if param.values:
            codes = list(param.values)
        elif param.type == "industry":
            codes = list(L.industries())
        else:
            codes = list(SCHEMA.vocab(param.vocabulary or "roles"))
        vocab = param.vocabulary or {"role": "roles", "industry": "industries"}.get(param.type)
        options = ([] if param.required else [None]) + codes
        index = options.index(param.default) if param.default in options else 0
        return common.selectbox(label, options, index=index, key=key, help=help_,
                                format_func=lambda c: plain("common.none") if c is None else
                                L.term(vocab, c) if vocab else _value(c))
    if param.type == "int":
        value = st.number_input(label, value=param.default, min_value=param.minimum, step=1, key=key, help=help_)
        return int(value) if value is not None else None
    default = st.query_params.get(param.type, "") if param.type in ("person", "hazard", "post") else ""
    return st.text_input(label, value=default, key=key, help=help_, placeholder=plain(f"queries.id_{param.type}")
                         if param.type in ("person", "hazard", "post") else "").strip() or None


def _said(text: str, query) -> str:
    """An error about one of the query's parameters by the form's own words: the library names the query
    and the parameter by code ("查询 duty-on 的参数 at：…", "at: …"), the form by its description."""
    sep = "：" if lang == "zh" else ": "
    for p in query.parameters.values():
        for prefix in (f"查询 {query.name} 的参数 {p.name}：", f"{query.name}: {p.name}: ", f"{p.name}：", f"{p.name}: "):
            if text.startswith(prefix):
                return p.description[lang] + sep + text[len(prefix):]
    return text


def _value(code: str) -> str:
    """A parameter's value that no vocabulary names (``subtree``, ``own``) in words where there are some."""
    word = common.words()["queries"].get(f"value_{code}")
    return word[lang] if word else code


with common.session() as s:
    L = common.labels(s)
    with st.form(f"qr_form_{name}"):
        params = {}
        for param in query.parameters.values():
            params[param.name] = _widget(param, L, f"qr_{name}_{param.name}")
        submitted = st.form_submit_button(plain("queries.run"), type="primary")
missing = [p.description[lang] for p in query.parameters.values() if p.required and params.get(p.name) is None]
if submitted and missing:  # said by the form's own words, before the query is asked
    st.session_state[f"qr_ran_{name}"] = False
    st.error(t("queries.required", fields=plain("hazard.list_sep").join(missing)))
elif submitted or st.session_state.get(f"qr_ran_{name}"):
    st.session_state[f"qr_ran_{name}"] = True
    given = tuple(sorted((k, v) for k, v in params.items() if v is not None))
    with st.spinner(plain("queries.running")), common.errors():
        try:
            answer = _run(common.store_uri(), common.dataset_hash(), name, given,
                          dict(given).get("as_of") or common.as_of(), common.user())
        except AccountabilityError as exc:
            st.error(md(_said(exc.text(lang), query)))
            st.stop()
    with common.session() as s:
        L = common.labels(s)
        rows, columns, headers = answer["rows"], answer["columns"], answer["headers"][lang]
        truncated = answer["truncated"]
        st.caption(t("queries.rows", n=len(rows)) + (" " + t("queries.truncated", cap=ROW_CAP) if truncated else ""))
        # code columns shown with their labels; the CSV has both, the codes in columns of their own
        labelled = {col: (lambda c, vocab=vocab: L.term(vocab, c)) for col, vocab in VOCABULARY_COLUMNS.items()}
        labelled |= {col: getattr(L, how) for col, how in ID_COLUMNS.items()}
        labelled["level"] = lambda c: L.term("hazard_levels", c)
        labelled = {col: how for col, how in labelled.items() if col in columns}
        shown = []
        for row in rows:
            out = dict(row)
            for col, how in labelled.items():
                if isinstance(out.get(col), str) and out[col]:
                    out[col] = how(out[col])
            shown.append(out)
        st.dataframe(frame(shown, {c: f"={h}" for c, h in zip(columns, headers)}), hide_index=True, width="stretch")
        if common.user().may(EXPORT):
            text = {col: how for col, how in labelled.items() if all(isinstance(r.get(col), (str, type(None)))
                                                                     for r in rows)}
            st.download_button(plain("common.download_csv"), common.labelled_csv(rows, columns, headers, text),
                               file_name=f"{name}-{common.as_of()}.csv", mime="text/csv", key=f"qr_csv_{name}")
