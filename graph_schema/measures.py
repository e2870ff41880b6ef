"""The built-in measures (``measures.yaml``): the State Council's fifteen of 2022, checked when loaded.

They are data of the schema, not of a dataset: every dataset may name them (as a measure's ``parent_id``,
or in ``measure_assignments`` and ``measure_reports``) without listing them, and ``accountability.measures``
reads them beside the dataset's own.

    >>> [m["id"] for m in BUILTIN_MEASURES][:2], len(BUILTIN_MEASURES)
    (['SC15-01', 'SC15-02'], 15)
    >>> BUILTIN_MEASURES[5]["source"], BUILTIN_MEASURES[5]["title_en"][:20]
    ('state_council_15', 'Carry out the nation')
"""

from __future__ import annotations

import re
from pathlib import Path

from graph_schema.loader import InvalidSchema, read_yaml

PATH = Path(__file__).parent / "measures.yaml"
ID = re.compile(r"^SC15-(0[1-9]|1[0-5])$")


def load_builtin(path: Path = PATH) -> tuple[dict, ...]:
    """The built-in measures as rows of the ``measures`` table (``title`` in Chinese, ``title_en`` besides)."""
    data = read_yaml(path)
    source = data.get("source")
    measures = data.get("measures")
    if not isinstance(source, str) or not isinstance(measures, dict) or not measures:
        raise InvalidSchema(f"{path.name}: needs 'source' and a mapping 'measures'")
    rows = []
    for mid, titles in measures.items():
        if not ID.match(str(mid)):
            raise InvalidSchema(f"{path.name}: measures.{mid}: expected an id SC15-01 … SC15-15")
        if not isinstance(titles, dict) or set(titles) != {"zh", "en"} or \
                not all(isinstance(titles[k], str) for k in ("zh", "en")):  # a comma unquoted in {…} adds a key
            raise InvalidSchema(f"{path.name}: measures.{mid}: needs zh and en titles only (quote a title "
                                "with a comma)")
        rows.append({"id": str(mid), "title": titles["zh"], "title_en": titles["en"], "source": source,
                     "parent_id": None, "industries": None, "deadline": None, "builtin": True})
    return tuple(rows)


BUILTIN_MEASURES: tuple[dict, ...] = load_builtin()
BUILTIN_IDS: frozenset[str] = frozenset(m["id"] for m in BUILTIN_MEASURES)
