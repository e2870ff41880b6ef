"""Data: upload a dataset (a zip of CSV files, an .xlsx workbook or a .json file), read the validation
report, import it when it is valid; and see what the store holds."""

import tempfile

import pandas as pd
import streamlit as st

from accountability.access import IMPORT
from accountability.dataset import load
from accountability.errors import AccountabilityError, InvalidDataset, reason_text
from accountability.progress import Progress
from accountability.uploads import save_upload, split_error
from app_pages import common
from app_pages.common import md, plain, t
from graph_schema import SCHEMA


def _problems(lines: list[str]) -> pd.DataFrame:
    """Validation errors or warnings (``table:row: column: reason``) as a table."""
    rows = [split_error(e) for e in lines]
    for r in rows:  # the table in words, the reason in the UI's language (the column stays the file's header)
        r.update(table=common.table_label(r["table"]) if r["table"] else "",
                 reason=reason_text(r["reason"], common.lang()))
    return pd.DataFrame(rows, dtype=str).rename(columns={
        "table": plain("data.table"), "row": plain("data.row"), "column": plain("data.column"),
        "reason": plain("data.reason")})


def _moving(bar) -> Progress:
    """The library's progress callback (``accountability.progress``), moving ``bar`` (an ``st.progress``)."""

    def progress(done: int, total: int, phase: str) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=plain(f"progress.{phase}"))

    return progress


st.title(t("data.title"))
common.require(IMPORT)
uri = common.store_uri()

st.subheader(t("data.store"))
live = common.live(uri)
try:
    with live.use() as s:
        meta = s.dataset_meta()
        counts = s.dataset_counts()
    st.dataframe(pd.DataFrame([{plain("data.key"): common.word(f"data.meta_{k}", k), plain("data.value"): str(v)}
                               for k, v in meta.items()]), hide_index=True)
    st.dataframe(pd.DataFrame([{plain("data.table"): common.table_label(k), plain("data.rows"): v}
                               for k, v in counts.items()]), hide_index=True)
except AccountabilityError as exc:
    st.info(t("data.no_store", store=uri) + " " + md(exc.text(common.lang())))

st.subheader(t("data.upload"))
st.caption(t("data.upload_help"))
# A .csv is let through the uploader so that it can be told what to upload instead (the uploader's own
# refusal says only that the type is not allowed).
upload = st.file_uploader(plain("data.file"), type=["zip", "xlsx", "json", "csv"], key="dt_file")
if upload is not None and not upload.name.lower().endswith((".zip", ".xlsx", ".json")):
    tables = SCHEMA.tables.values()
    st.error(t("data.wrong_kind", name=upload.name,
               required=", ".join(f"{x.name}.csv" for x in tables if not x.optional),
               optional=", ".join(f"{x.name}.csv" for x in tables if x.optional)))
elif upload is not None:
    token = f"{upload.file_id}:{upload.size}"
    checked = st.session_state.get("dt_checked")
    if not checked or checked["token"] != token:
        with tempfile.TemporaryDirectory() as tmp:
            bar = st.progress(0.0, text=plain("data.validating"))
            try:
                dataset = load(save_upload(upload.name, upload.getvalue(), tmp), progress=_moving(bar))
                checked = {"token": token, "dataset": dataset, "errors": []}
            except InvalidDataset as exc:
                checked = {"token": token, "dataset": None, "errors": exc.errors}
                bar.empty()  # a check cut short: the errors below say where; a whole check's bar stays, done
            except AccountabilityError as exc:  # not the dataset's fault (a setting that makes no sense)
                bar.empty()
                st.error(md(exc.text(common.lang())))
                st.stop()
        st.session_state["dt_checked"] = checked
    if checked["errors"]:
        st.error(t("data.invalid", n=len(checked["errors"])))
        st.dataframe(_problems(checked["errors"]), hide_index=True, width="stretch")
    else:
        dataset = checked["dataset"]
        st.success(t("data.valid", rows=sum(dataset.counts().values()), digest=dataset.content_hash()[:12]))
        st.dataframe(pd.DataFrame([{plain("data.table"): k, plain("data.rows"): v}
                                   for k, v in dataset.counts().items()]), hide_index=True)
        if dataset.warnings:
            st.warning(t("data.warnings", n=len(dataset.warnings)))
            st.dataframe(_problems(dataset.warnings), hide_index=True, width="stretch")
        if st.button(plain("data.import"), type="primary", key="dt_import"):
            with common.errors():
                bar = st.progress(0.0, text=plain("data.importing"))
                result = live.write(dataset, _moving(bar))
                st.cache_data.clear()
            if result.unchanged:
                st.info(t("data.unchanged"))
            else:
                st.success(t("data.imported", digest=result.dataset_hash[:12]))
                st.dataframe(pd.DataFrame([{plain("data.table"): k, "+": result.inserted.get(k, 0),
                                            "~": result.updated.get(k, 0), "−": result.deleted.get(k, 0)}
                                           for k in result.inserted]), hide_index=True)
