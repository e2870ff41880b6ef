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
from functools import lru_cache
from typing import NamedTuple

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@lru_cache(maxsize=None)
def day(iso: str) -> int:
    """The ordinal of an ISO date (cached: the same few thousand dates recur everywhere)."""
    return dt.date.fromisoformat(iso).toordinal()


@lru_cache(maxsize=None)
def iso(ordinal: int) -> str:
    """The ISO date of an ordinal (cached, as ``day``)."""
    return dt.date.fromordinal(ordinal).isoformat()


def today() -> str:
    """Today in China (Asia/Shanghai), whatever the server's own time zone: a UTC server would be a day
    behind from midnight to 08:00 Beijing time."""
    return dt.datetime.now(SHANGHAI).date().isoformat()


class Window(NamedTuple):
    start: str
    end: str

    @property
    def is_day(self) -> bool:
        return self.start == self.end

    @classmethod
    def on(cls, date: str) -> "Window":
        return cls(date, date)


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


# An "as of" date further than this from today is most likely a typing mistake (2062 for 2026): said plainly
FAR_AHEAD_DAYS = 366
FAR_BACK_DAYS = 15 * 365


def far_from_today(on: str, base: str | None = None) -> int:
    """The days from today (China's; ``base`` instead when given) to ``on`` when ``on`` lies more than a year ahead or more than fifteen years
    back (negative: back), else 0.

    >>> far_from_today("2030-01-01", "2026-06-01"), far_from_today("2026-12-31", "2026-06-01")
    (1310, 0)
    >>> far_from_today("2001-01-01", "2026-06-01")
    -9282
    """
    days = (dt.date.fromisoformat(on) - dt.date.fromisoformat(base or today())).days
    return days if days > FAR_AHEAD_DAYS or days < -FAR_BACK_DAYS else 0
