"""What the issued documents state about approved work, as plain Structs, and the pure rules that turn entries
into their lines.

Shared by the evidence document (backend/export), the monthly summary and annual report (backend/reports) and
the appraisal form (backend/appraisal); backend/documents/queries.py fills them, the writers only lay them
out, so every format and every document states the same facts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import msgspec

from backend.worklog.catalog import LONG_TEXT_MAX_LENGTH, get_type

# Figures of docs/statistics.md §2, in the order the documents print them.
FIGURE_LABELS: tuple[tuple[str, str], ...] = (
    ("on_site_days", "在岗天数"),
    ("travel_days", "出差天数"),
    ("leave_days", "请假天数"),
    ("entries", "已审核记录(条)"),
    ("patients", "诊疗人次"),
    ("surgeries", "手术台次"),
    ("teaching_hours", "授课学时"),
    ("attendees", "受教人次"),
    ("people_served", "义诊服务人数"),
    ("new_techniques", "新技术新项目(项)"),
    ("trainees", "带教骨干(人)"),
)
# Patient details and long free text stay out of a document that travels through promotion files.
_LEFT_OUT_TYPES = ("record_number", "uuid")
_LEFT_OUT_PREFIX = "patient_"
_UNITS = {"h": "小时", "min": "分钟", "years": "岁"}
MAX_FIGURES_CHARS = 200


class WorkloadFigures(msgspec.Struct, kw_only=True):
    """The workload figures of one month or of the whole period (approved entries only)."""

    on_site_days: int = 0
    travel_days: int = 0
    leave_days: int = 0
    off_days: int = 0
    entries: int = 0
    patients: int = 0
    surgeries: int = 0
    teaching_hours: float = 0.0
    attendees: int = 0
    people_served: int = 0
    new_techniques: int = 0
    trainees: int = 0


class MonthFigures(msgspec.Struct, kw_only=True):
    month: str  # "2025-03"
    figures: WorkloadFigures


class ExpertHeader(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    title: str | None
    specialty: str | None
    home_institution: str | None
    home_institution_id: uuid.UUID | None


class DeploymentLine(msgspec.Struct, kw_only=True):
    recipient: str
    department: str
    post: str
    starts_on: date
    ends_on: date | None
    end_is_planned: bool
    status: str


class TypeCount(msgspec.Struct, kw_only=True):
    activity_type: str
    label: str
    count: int


class SurgeryCount(msgspec.Struct, kw_only=True):
    grade: str
    grade_label: str
    role: str
    role_label: str
    count: int


class EntryLine(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    work_date: date
    activity_type: str
    type_label: str
    figures: str
    recipient: str
    approved_by: str | None
    approved_at: datetime | None


def months_between(date_from: date, date_to: date) -> list[str]:
    """Every month the period touches, as "YYYY-MM", so months without approved work still get a row."""
    out: list[str] = []
    year, month = date_from.year, date_from.month
    while (year, month) <= (date_to.year, date_to.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def type_label(activity_type: str) -> str:
    spec = get_type(activity_type)
    return spec.label_zh if spec else activity_type


def choice_label(activity_type: str, field: str, value: str) -> str:
    """The Chinese label of an enum value (the value itself when the catalogue does not know it)."""
    spec = get_type(activity_type)
    for f in spec.fields if spec else []:
        if f.name == field:
            for choice in f.choices or []:
                if choice.value == value:
                    return choice.label_zh
    return value


def _format_value(activity_type: str, name: str, ftype: str, unit: str | None, value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if ftype == "bool":
        return "是" if value is True else "否" if value is False else None
    if ftype == "enum" and isinstance(value, str):
        return choice_label(activity_type, name, value)
    if ftype == "multi_enum" and isinstance(value, list):
        return "、".join(choice_label(activity_type, name, str(v)) for v in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return f"{text}{_UNITS.get(unit, unit or '')}" if ftype in ("int", "number") else text


def key_figures(activity_type: str, fields: Mapping[str, Any], trainee_name: str | None = None) -> str:
    """One line of the entry's catalogue fields ("手术分级:三级;本人角色:主刀"), patient details left out."""
    spec = get_type(activity_type)
    parts: list[str] = []
    if trainee_name:
        parts.append(f"带教对象:{trainee_name}")
    for f in spec.fields if spec else []:
        if f.type in _LEFT_OUT_TYPES or f.name.startswith(_LEFT_OUT_PREFIX):
            continue
        if f.type == "text" and (f.max_length or 0) >= LONG_TEXT_MAX_LENGTH:
            continue
        shown = _format_value(activity_type, f.name, f.type, f.unit, fields.get(f.name))
        if shown is not None:
            parts.append(f"{f.label_zh}:{shown}")
    line = ";".join(parts)
    return line if len(line) <= MAX_FIGURES_CHARS else line[: MAX_FIGURES_CHARS - 1] + "…"


def format_number(value: float | int) -> str:
    """12.0 → "12", 12.5 → "12.5": figures are printed without trailing zeros."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
