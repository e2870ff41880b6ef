"""Dates and datetimes as the dataset contract writes them.

Dates are ISO ``YYYY-MM-DD`` strings throughout (they sort as they compare). Datetimes are ISO 8601 with
their offset; one written without an offset is read as Asia/Shanghai time (+08:00), the time every
Chinese record keeps (DESIGN.md, "Datetimes without an offset are read as Asia/Shanghai").

    >>> parse_datetime("2026-03-01 08:15")
    '2026-03-01T08:15:00+08:00'
    >>> parse_datetime("2026-03-01T00:15:00Z")
    '2026-03-01T00:15:00+00:00'
    >>> local_date("2026-02-28T23:30:00+00:00")
    '2026-03-01'
"""

from __future__ import annotations

import datetime as dt

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def parse_datetime(text: str) -> str:
    """``text`` as an ISO 8601 datetime with its offset, or ValueError with the reason."""
    raw = text.strip()
    if len(raw) < 16 or raw[10] not in "T ":
        raise ValueError(f"'{raw[:40]}' is not a date and time (YYYY-MM-DDTHH:MM, ISO 8601)")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{raw[:40]}' is not a valid date and time (ISO 8601)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.isoformat()


def moment(text: str) -> dt.datetime:
    """An ISO datetime as an aware datetime (naive: Asia/Shanghai)."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


def local_date(text: str) -> str:
    """The Asia/Shanghai calendar day of an ISO datetime."""
    return moment(text).astimezone(SHANGHAI).date().isoformat()
