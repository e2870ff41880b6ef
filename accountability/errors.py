"""Typed errors. Everything a user can cause derives from :class:`AccountabilityError`; the CLI and the
app turn them into one clear message each (see ``cli.py``), so no traceback reaches a user.

The message (``str(exc)``) is English and stable: the CLI prints it and scripts may match it. Each error
also has a stable ``code`` (``unknown_hazard``, ``invalid_dataset`` …) and a Chinese form
(:meth:`AccountabilityError.text`), which the app shows in its Chinese UI. The common messages are
translated here, from their English form, so that the places that raise them stay as they are.
"""

from __future__ import annotations

import re

# the things an id can name, in Chinese (messages "unknown hazard 'H1'", validation reasons "unknown post 'P'")
NOUNS_ZH = {
    "hazard": "隐患", "incident": "事故", "person": "人员", "jurisdiction": "行政区域", "organization": "单位",
    "post": "岗位", "campaign": "检查行动", "measure": "措施", "industry": "行业领域", "role": "岗位类别",
    "level": "等级", "kind": "类别", "status": "状态", "duty": "责任类型", "degree": "责任程度",
    "jurisdiction level": "区域层级", "organization kind": "单位类别", "hazard level": "隐患等级",
    "hazard status": "隐患状态", "event kind": "事件类型", "inspection outcome": "检查结论",
    "reinspection outcome": "复查结论", "designation kind": "指定类型", "outcome form": "处理方式",
    "investigating level": "调查层级", "duty role": "值班职责", "report kind": "报告类型",
    "report status": "报告状态", "campaign kind": "检查行动类型", "measure role": "承担方式",
    "measure status": "进展状态", "supervision kind": "监管类型", "accident level": "事故等级",
    "entity key": "对象编号", "query": "查询", "ruleset": "规则集",
}

# (pattern of an English message or validation reason, its code, its Chinese form)
_FORMS: list[tuple[re.Pattern, str, str]] = [(re.compile(p), c, z) for p, c, z in (
    (r"^unknown (?P<noun>[a-z ]+) '(?P<value>.*)'$", "unknown_{noun}", "未找到{noun_zh}“{value}”"),
    (r"^(?P<query>[a-z0-9-]+): (?P<param>[a-z_]+): unknown (?P<noun>[a-z ]+) '(?P<value>.*)'$", "unknown_{noun}",
     "查询 {query} 的参数 {param}：未找到{noun_zh}“{value}”"),
    (r"^not an entity key: '(?P<value>.*)'$", "bad_entity_key", "不是有效的对象编号：“{value}”"),
    (r"^(?P<name>[a-z_]+): '(?P<value>.*)' is not a date \(YYYY-MM-DD\)$", "bad_date",
     "{name}：“{value}”不是日期（应为 YYYY-MM-DD）"),
    (r"^required$", "required", "必填"),
    (r"^missing required column$", "missing_column", "缺少必需的列"),
    (r"^duplicate column$", "duplicate_column", "列名重复"),
    (r"^missing table$", "missing_table", "缺少此表"),
    (r"^expected a list of rows$", "not_rows", "应为行的列表"),
    (r"^'(?P<value>.*)' is not a date \(YYYY-MM-DD\)$", "bad_date", "“{value}”不是日期（应为 YYYY-MM-DD）"),
    (r"^'(?P<value>.*)' is not a valid date$", "bad_date", "“{value}”不是有效日期"),
    (r"^'(?P<value>.*)' is outside the years (?P<first>\d+)–(?P<last>\d+)$", "date_out_of_range",
     "“{value}”不在 {first}–{last} 年之间"),
    (r"^'(?P<value>.*)' is not true or false$", "bad_bool", "“{value}”不是 true 或 false"),
    (r"^'(?P<value>.*)' is not a whole number$", "bad_int", "“{value}”不是整数"),
    (r"^must not be negative$", "negative", "不能为负数"),
    (r"^duplicate '(?P<value>.*)' \(first at row (?P<row>\d+)\)$", "duplicate",
     "“{value}”重复（首次出现在第 {row} 行）"),
    (r"^(?P<later>.+) is before (?P<first>[a-z_]+) (?P<value>.+)$", "before",
     "{later} 早于 {first}（{value}）"),
    (r"^row has (?P<n>\d+) fields, the header has (?P<m>\d+)$", "bad_row", "该行有 {n} 个字段，表头有 {m} 个"),
    (r"^text longer than (?P<n>\d+) characters$", "too_long", "文本超过 {n} 个字符"),
    (r"^identifier longer than (?P<n>\d+) characters$", "too_long", "编号超过 {n} 个字符"),
    (r"^identifier contains a control character or ';'$", "bad_id", "编号含有控制字符或分号"),
    (r"^(?P<name>[a-z_]+): '(?P<value>.*)' is not a date and time \(YYYY-MM-DDTHH:MM, ISO 8601\)$", "bad_datetime",
     "{name}：“{value}”不是日期时间（应为 YYYY-MM-DDTHH:MM，ISO 8601）"),
    (r"^(?P<name>[a-z_]+): '(?P<value>.*)' is not a valid date and time \(ISO 8601\)$", "bad_datetime",
     "{name}：“{value}”不是有效的日期时间（ISO 8601）"),
    (r"^to: (?P<to>\S+) is not after from (?P<start>\S+)$", "empty_span", "截止时间 {to} 不晚于起始时间 {start}"),
    (r"^a re-inspection of hazard '(?P<value>.*)', which was never closed on or before (?P<on>[0-9-]+)$",
     "reinspection_of_open_hazard", "复查的隐患“{value}”在 {on} 及之前从未销号"),
)]


def singular(name: str) -> str:
    """A table or a vocabulary as the noun its messages use: ``industries`` → ``industry``,
    ``hazard_statuses`` → ``hazard status``, ``people`` → ``person`` (the keys of ``NOUNS_ZH``)."""
    name = name.replace("_", " ")
    if name.endswith("people"):
        return name[:-6] + "person"
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("uses"):
        return name[:-2]
    return name[:-1] if name.endswith("s") else name


def translate(message: str) -> tuple[str | None, str | None]:
    """The (code, Chinese form) of an English message or validation reason, or (None, None).

    >>> translate("unknown hazard 'H9'")
    ('unknown_hazard', '未找到隐患“H9”')
    >>> translate("overdue-hazards: jurisdiction: unknown jurisdiction 'X'")[1]
    '查询 overdue-hazards 的参数 jurisdiction：未找到行政区域“X”'
    >>> translate("no such thing")
    (None, None)
    """
    for pattern, code, zh in _FORMS:
        m = pattern.match(message)
        if m:
            values = m.groupdict()
            noun = values.get("noun")
            if noun is not None:
                values["noun_zh"] = NOUNS_ZH.get(noun, noun)
            return code.format(noun=(noun or "").replace(" ", "_")), zh.format(**values)
    return None, None


def reason_text(reason: str, lang: str) -> str:
    """A validation reason (``table:row: column: reason``'s last part) in ``lang``: its Chinese form where
    there is one, else as the library wrote it."""
    if lang != "zh":
        return reason
    return translate(reason)[1] or reason


class AccountabilityError(Exception):
    """Base of every error a user can cause; the message is meant for them. ``code`` names the error for
    scripts (stable, whatever the language); ``zh`` is the message's Chinese form where the raiser gives
    one (else the common messages are translated, see :func:`translate`)."""

    exit_code = 1
    kind = "error"  # the code of an error whose message has no code of its own

    def __init__(self, message: str = "", *, code: str | None = None, zh: str | None = None):
        super().__init__(message)
        self._code = code
        self.zh = zh

    @property
    def code(self) -> str:
        return self._code or translate(str(self))[0] or self.kind

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (English when no Chinese form is known)."""
        if lang != "zh":
            return str(self)
        return self.zh or translate(str(self))[1] or str(self)


class UsageError(AccountabilityError):
    """The request itself is malformed (unknown option value, missing parameter)."""

    exit_code = 2
    kind = "usage"


class NotFound(AccountabilityError):
    """An id that the store does not hold."""

    kind = "not_found"


class StoreError(AccountabilityError):
    """The store cannot be opened, read or written."""

    kind = "store"

    def __init__(self, message: str, retryable: bool = False, **forms: str | None):
        super().__init__(message, **forms)
        self.retryable = retryable

    def is_retryable(self) -> bool:
        return self.retryable


def one_line(text: str, limit: int = 500) -> str:
    """``text`` quoting user input as one safe line: line breaks and other control characters escaped
    (``\\n``, ``\\x07``) so that input cannot forge lines of a list of errors, cut to ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class InvalidDataset(AccountabilityError):
    """A dataset breaks the contract. ``errors`` lists every problem as ``table:row: column: reason``, one
    line each whatever the input quoted in it. The message, which the CLI prints, shows the count and the
    first ``SHOWN`` of them, then how many more there are: a broken file of a million rows must not print a
    million lines (``errors`` keeps them all, for the app's table and for callers)."""

    SHOWN = 200
    kind = "invalid_dataset"

    def __init__(self, errors: list[str]):
        self.errors = [one_line(e) for e in errors]
        shown = "\n".join(self.errors[: self.SHOWN])
        rest = len(self.errors) - self.SHOWN
        more = f"\n… and {rest} more error{'s' if rest > 1 else ''}" if rest > 0 else ""
        zh_more = f"\n……另有 {rest} 处错误" if rest > 0 else ""
        super().__init__(f"invalid dataset: {len(self.errors)} error(s)\n{shown}{more}",
                         code=self.kind, zh=f"数据集有 {len(self.errors)} 处错误\n"
                         + "\n".join(error_text(e, "zh") for e in self.errors[: self.SHOWN]) + zh_more)


def error_text(line: str, lang: str) -> str:
    """One validation error ``table:row: column: reason`` with its reason in ``lang``.

    >>> print(error_text("tenures:4: person_id: unknown person 'PX'", "zh"))
    tenures:4: person_id: 未找到人员“PX”
    """
    head, sep, reason = line.rpartition(": ")
    return head + sep + reason_text(reason, lang) if sep else reason_text(line, lang)


class ExportError(AccountabilityError):
    """Data that the chosen output form cannot hold (e.g. control characters in a workbook)."""

    kind = "export"


class BatchError(AccountabilityError):
    """A run in parts (``trace --all --workers`` / ``--scheduler``, see ``accountability.batch``) lost a part:
    its worker process died, or the cluster gave up on it. Nothing is written."""

    kind = "batch_failed"


class AccessDenied(AccountabilityError):
    """The user may not see or do this (their role, or their jurisdiction scope, does not reach it)."""

    exit_code = 3
    kind = "access_denied"
