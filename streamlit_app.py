"""The explorer for discipline inspectors (纪检监察): who is accountable for each hazard, why, since when.

    streamlit run streamlit_app.py

The store comes from ``ACCOUNTABILITY_STORE`` (a SQLite path or a bolt:// URI; default
``accountability.db``). This file only declares the pages and the sidebar they share (language, the
"as of" date, the store); each page lives in ``app_pages/`` and calls the library.
"""

import sys
from pathlib import Path

# `streamlit run` puts this folder on sys.path; AppTest and other working directories may not.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st

from accountability.access import IMPORT, QUERY, VIEW
from app_pages import common

# The favicon is a file of the app: a material icon as page_icon is fetched from fonts.gstatic.com, and the
# product makes no outside request.
FAVICON = Path(__file__).resolve().parent / "app_pages" / "favicon.png"
st.set_page_config(page_title="安全生产责任图谱", page_icon=str(FAVICON), layout="wide")
common.sidebar()

ICONS = {
    "overview": ":material/dashboard:",
    "explore": ":material/hub:",
    "hazard": ":material/warning:",
    "official": ":material/badge:",
    "gaps": ":material/report:",
    "campaigns": ":material/fact_check:",
    "measures": ":material/checklist:",
    "queries": ":material/manage_search:",
    "report": ":material/description:",
    "duty": ":material/support_agent:",
    "calibrate": ":material/tune:",
    "data": ":material/upload_file:",
}
# pages a role cannot use are not offered (and each such page checks again); before anyone signs in, every
# page is declared but hidden and none runs, so that a link to a page still leads there after the login
NEEDS = {"queries": QUERY, "calibrate": QUERY, "data": IMPORT}
signing_in = common.must_sign_in()
pages = [
    st.Page(path, title=common.plain(f"{name}.title"), icon=ICONS[name], url_path=name, default=name == "overview")
    for name, path in common.PAGES.items()
    if signing_in or common.user().may(NEEDS.get(name, VIEW))
]
page = st.navigation(pages, position="hidden" if signing_in else "sidebar")
if signing_in:
    common.login()  # stops here: nothing below runs before a user signs in
page.run()
