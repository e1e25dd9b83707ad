"""The document's tables as rows of text, shared by the PDF, XLSX and CSV writers so they cannot disagree."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from backend.documents.cells import local_time
from backend.documents.codes import display
from backend.documents.content import FIGURE_LABELS, WorkloadFigures, format_number
from backend.export.evidence import Evidence
from backend.worklog.catalog import get_type

ENTRY_HEADER = ["日期", "工作类型", "主要内容", "受援医院", "审核人", "审核时间", "记录编号"]
MONTH_HEADER = ["月份", *(label for _, label in FIGURE_LABELS)]


def entry_rows(evidence: Evidence, tz: ZoneInfo) -> list[list[str]]:
    """One row per counted entry, in ENTRY_HEADER order."""
    return [
        [
            line.work_date.isoformat(),
            line.type_label,
            line.figures,
            line.recipient,
            line.approved_by or "",
            local_time(line.approved_at, tz),
            str(line.id),
        ]
        for line in evidence.entries
    ]


def figure_values(figures: WorkloadFigures) -> list[str]:
    return [format_number(getattr(figures, name)) for name, _ in FIGURE_LABELS]


def month_rows(evidence: Evidence) -> list[list[str]]:
    """One row per month of the period and a closing 合计 row, in MONTH_HEADER order."""
    rows = [[m.month, *figure_values(m.figures)] for m in evidence.months]
    rows.append(["合计", *figure_values(evidence.totals)])
    return rows


def header_rows(evidence: Evidence, tz: ZoneInfo) -> list[list[str]]:
    """The identifying block: who, which period, when issued, how to verify."""
    expert = evidence.expert
    return [
        ["姓名", expert.name],
        ["职称", expert.title or ""],
        ["专业", expert.specialty or ""],
        ["派出医院", expert.home_institution or ""],
        ["统计区间", f"{evidence.date_from.isoformat()} 至 {evidence.date_to.isoformat()}"],
        ["出具时间", local_time(evidence.issued_at, tz)],
        ["验证码", display(evidence.verification_code)],
        ["核验网址", evidence.verify_url],
    ]


def summary_rows(evidence: Evidence) -> list[list[str]]:
    """Totals, counts per activity type and the pending count, as label/value pairs."""
    rows = [[label, format_number(getattr(evidence.totals, name))] for name, label in FIGURE_LABELS]
    rows += [[f"{t.label}(次)", str(t.count)] for t in evidence.by_type]
    rows.append(["待审核记录(条,未计入)", str(evidence.pending_count)])
    return rows


def surgery_matrix(evidence: Evidence) -> list[list[str]]:
    """Grade × role table of surgeries, with every grade and role of the catalogue (zeros included)."""
    spec = get_type("surgery")
    fields = {f.name: f for f in spec.fields} if spec else {}
    grades = fields["grade"].choices or [] if "grade" in fields else []
    roles = fields["role"].choices or [] if "role" in fields else []
    counts = {(s.grade, s.role): s.count for s in evidence.surgeries}
    rows = [["手术分级", *(r.label_zh for r in roles), "合计"]]
    for g in grades:
        cells = [counts.get((g.value, r.value), 0) for r in roles]
        rows.append([g.label_zh, *(str(c) for c in cells), str(sum(cells))])
    totals = [sum(counts.get((g.value, r.value), 0) for g in grades) for r in roles]
    rows.append(["合计", *(str(t) for t in totals), str(sum(totals))])
    return rows


def deployment_rows(evidence: Evidence) -> list[list[str]]:
    rows = [["受援医院", "科室", "岗位", "开始日期", "结束日期", "状态"]]
    for d in evidence.deployments:
        end = d.ends_on.isoformat() if d.ends_on else ""
        rows.append(
            [
                d.recipient,
                d.department,
                d.post,
                d.starts_on.isoformat(),
                f"{end}(计划)" if end and d.end_is_planned else end,
                d.status,
            ]
        )
    return rows


def _yes_no(flag: bool) -> str:
    return "计入" if flag else "不计入"


def service_rows(evidence: Evidence) -> list[list[str]]:
    """Cumulative service toward the one-year rule and the counting rules in force, as label/value pairs."""
    line = evidence.service
    if line is None:
        return []
    rules = line.rules
    credit = (
        f"当月在岗满 {rules.min_days_per_month} 天的月份按 {rules.month_credit_days} 天计"
        if rules.month_credit_days
        else (
            f"当月在岗不足 {rules.min_days_per_month} 天的月份不计"
            if rules.min_days_per_month
            else "按实际天数计"
        )
    )
    return [
        ["截至日期", line.as_of.isoformat()],
        ["累计服务天数", str(line.counted_days)],
        ["要求天数", str(line.required_days)],
        ["尚差天数", str(line.remaining_days)],
        ["达到要求日期", line.met_on.isoformat() if line.met_on else "尚未达到"],
        ["计算规则:在岗日", "计入"],
        ["计算规则:出差日", _yes_no(rules.count_travel_days)],
        ["计算规则:请假日", _yes_no(rules.count_leave_days)],
        [
            "计算规则:无考勤记录的派驻日",
            "不计入(须有经审核的考勤记录)" if rules.require_attendance else "计入",
        ],
        ["计算规则:按月折算", credit],
    ]


APPRAISAL_HEADER = ["受援医院", "科室", "考核期间", "考核等次", "受援医院评定", "派出医院人事确认"]


def appraisal_rows(evidence: Evidence, tz: ZoneInfo) -> list[list[str]]:
    """The countersigned appraisals (派驻期满考核鉴定) of the period, in APPRAISAL_HEADER order."""
    return [
        [
            a.recipient,
            a.department,
            f"{a.period_start.isoformat()} 至 {a.period_end.isoformat()}",
            a.rating_label,
            f"{a.rated_by or ''} {local_time(a.rated_at, tz)}".strip(),
            f"{a.countersigned_by or ''} {local_time(a.countersigned_at, tz)}".strip(),
        ]
        for a in evidence.appraisals
    ]
