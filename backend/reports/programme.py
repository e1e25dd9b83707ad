"""Pure parts of the annual programme report (年度帮扶工作报告): teams month by month, what is missing.

No database: tests/unit/test_report_rules.py checks them on hand-made stays and target rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date

import msgspec

from backend import vocab
from backend.reports.rules import month_end
from backend.stats.coverage import Coverage, StayMonths, TargetRow


class TeamMember(msgspec.Struct, kw_only=True, frozen=True):
    """One expert stationed during a month."""

    expert_id: uuid.UUID
    name: str
    post: str
    post_label: str
    department: str
    days_in_month: int  # days of the stay that fall in the month
    on_site_days: int  # approved attendance "present" in the month


class TeamMonth(msgspec.Struct, kw_only=True, frozen=True):
    """The team at the recipient in one month of the year."""

    month: str
    experts: int
    leaders: int
    on_site_days: int
    members: list[TeamMember]


class MissingItem(msgspec.Struct, kw_only=True, frozen=True):
    """One thing standing between the year and its targets, said the way the report prints it."""

    key: str
    label_zh: str
    detail: str


class StayInfo(msgspec.Struct, kw_only=True, frozen=True):
    """What a stay row needs beyond Coverage: the expert's name and department."""

    name: str
    department: str


def team_months(year: int, stays: Sequence[StayMonths], info: Mapping[uuid.UUID | None, StayInfo],
                on_site: Mapping[tuple[uuid.UUID | None, str], int], *, as_of: date) -> list[TeamMonth]:
    """For each month of the year up to as_of: who was stationed (clipped to the month) and their days."""
    out: list[TeamMonth] = []
    for number in range(1, 13):
        first = date(year, number, 1)
        if first > as_of:
            break
        last = min(month_end(first), as_of)
        key = first.strftime("%Y-%m")
        members: dict[uuid.UUID, TeamMember] = {}
        for stay in sorted(stays, key=lambda s: (s.start, str(s.expert_id))):
            start, end = max(stay.start, first), min(stay.end, last)
            if start > end:
                continue
            seen = members.get(stay.expert_id)
            details = info.get(stay.deployment_id, StayInfo(name=str(stay.expert_id), department=""))
            days = (end - start).days + 1 + (seen.days_in_month if seen else 0)
            present = on_site.get((stay.deployment_id, key), 0) + (seen.on_site_days if seen else 0)
            members[stay.expert_id] = TeamMember(
                expert_id=stay.expert_id, name=details.name, post=stay.post,
                post_label=vocab.POSTS.get(stay.post, stay.post), department=details.department,
                days_in_month=min(days, (last - first).days + 1), on_site_days=present)
        rows = sorted(members.values(), key=lambda m: (m.post not in vocab.LEADER_POSTS, m.name))
        out.append(TeamMonth(month=key, experts=len(rows), leaders=sum(m.post in vocab.LEADER_POSTS for m in rows),
                             on_site_days=sum(m.on_site_days for m in rows), members=rows))
    return out


def missing_items(rows: Sequence[TargetRow], cov: Coverage,
                  names: Mapping[uuid.UUID, str]) -> list[MissingItem]:
    """Every target not met, in report order, with what it lacks (people, months, days) in words."""
    out: list[MissingItem] = []
    for row in rows:
        if row.met:
            continue
        detail = _detail(row, cov, names)
        out.append(MissingItem(key=row.key, label_zh=row.label_zh, detail=detail))
    return out


def _detail(row: TargetRow, cov: Coverage, names: Mapping[uuid.UUID, str]) -> str:
    if row.key == "full_year_coverage":
        if cov.days_in_year == 0:
            return "本年度尚未开始。"
        gap = (f"，最长空档 {cov.longest_gap_start} 至 {cov.longest_gap_end}（{cov.longest_gap_days} 天）"
               if cov.longest_gap_start else "")
        return f"全年 {cov.days_in_year} 天中有 {cov.uncovered_days} 天无人驻点{gap}。"
    required, achieved = int(row.required), int(row.achieved)
    if row.key == "min_continuous_months":
        short: dict[tuple[uuid.UUID, int], StayMonths] = {}
        for stay in cov.stays:
            if not stay.reached:
                short.setdefault((stay.expert_id, stay.continuous_months), stay)
        if not short:
            return f"没有满足连续驻点 {required} 个月的派驻人员。"
        people = "；".join(
            f"{names.get(s.expert_id, str(s.expert_id))} 连续驻点 {s.continuous_months} 个月"
            + ("（仍在派驻）" if s.ongoing else "")
            for s in sorted(short.values(), key=lambda s: (s.continuous_months, s.start)))
        return f"每人连续驻点应不少于 {required} 个月：{people}。"
    units = {"min_staff": "人", "min_leaders": "人", "min_trainees": "人", "min_new_techniques": "项"}
    unit = units.get(row.key, "")
    return f"目标 {required} {unit}，已完成 {achieved} {unit}，尚差 {required - achieved} {unit}。"
