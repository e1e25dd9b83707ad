"""Turning spreadsheet cells into typed values: Chinese labels, 是/否, dates as people type them. Pure."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from backend import vocab


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the person who filled the sheet."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# Short forms people write in rosters, on top of the vocabulary's own labels.
EXTRA_LABELS: dict[str, dict[str, str]] = {
    "kind": {"受援医院": "county_hospital", "县医院": "county_hospital", "县级医院": "county_hospital",
             "卫生院": "township_centre", "社区卫生服务中心": "community_centre", "派出医院": "supporting_hospital"},
    "level": {"三甲": "tertiary_a", "三乙": "tertiary_b", "二甲": "secondary_a", "二乙": "secondary_b"},
    "role": {"专家": "expert", "审核人": "supervisor", "医务科": "supervisor", "人事": "hr", "人事科": "hr"},
    "status": {"派驻": "active", "进行中": "active", "结束": "ended"},
}
VOCABULARIES: dict[str, dict[str, str]] = {
    "kind": vocab.INSTITUTION_KINDS, "level": vocab.INSTITUTION_LEVELS, "title": vocab.TITLES,
    "post": vocab.POSTS, "status": vocab.DEPLOYMENT_STATUSES, "role": vocab.ROLES, "programme": vocab.PROGRAMMES,
}

_TRUE = {"true", "t", "yes", "y", "1", "是", "对", "√", "中医"}
_FALSE = {"false", "f", "no", "n", "0", "否", "不是", "×", "西医"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def choice(vocabulary: str, value: Any) -> str:
    """A vocabulary code, given as the code itself or as its Chinese label."""
    text = str(value).strip()
    codes = VOCABULARIES[vocabulary]
    if text.lower() in codes:
        return text.lower()
    for code, label in codes.items():
        if text == label:
            return code
    if text in EXTRA_LABELS.get(vocabulary, {}):
        return EXTRA_LABELS[vocabulary][text]
    raise CellError("invalid_choice", f"Unknown {vocabulary} {text!r}; use one of: " + ", ".join(
        f"{c} ({label})" for c, label in codes.items()))


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("type", f"{value!r} is not yes/no (是/否)")


def day(value: Any) -> date:
    """A date from an XLSX date cell or text such as 2025-03-01, 2025/3/1, 2025.3.1 or 2025年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(str(value).strip())
    if match:
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    raise CellError("type", f"{value!r} is not a date (YYYY-MM-DD)")


_SPLIT = re.compile(r"[;,，；、|\s]+")


def roles(value: Any) -> list[tuple[str, str | None]]:
    """Role tokens such as `expert; supervisor:H0001` or `派驻专家、人事:H0002` → [(role, institution code)]."""
    found: list[tuple[str, str | None]] = []
    for token in _SPLIT.split(str(value).strip()):
        if not token:
            continue
        name, _, code = token.replace("：", ":").partition(":")
        found.append((choice("role", name), code.strip() or None))
    return found
