"""Expert-year document benchmark: the evidence PDF (layout, signature), XLSX and CSV of one expert's year.

Usage:

    .venv/bin/python infra/bench/documents_bench.py --entries 1500 --repeat 3

The evidence is built in memory (no database): a year of daily attendance plus clinics, surgeries, lectures
and mentoring up to `--entries` approved entries, so the figure is the rendering cost alone (the queries of a
real export are a few aggregate statements). The laptop's self-signed key in a temporary data folder signs.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pypdf  # noqa: E402

from backend.documents import signing  # noqa: E402
from backend.documents.content import (  # noqa: E402
    DeploymentLine,
    EntryLine,
    ExpertHeader,
    MonthFigures,
    SurgeryCount,
    TypeCount,
    WorkloadFigures,
    key_figures,
    months_between,
    type_label,
)
from backend.export import csv, pdf, xlsx  # noqa: E402
from backend.export.evidence import Evidence, ServiceLine  # noqa: E402
from backend.service_time import ServiceRules  # noqa: E402
from backend.settings import Settings  # noqa: E402

KINDS = [
    ("clinic", {"session": "am", "patients_first_visit": 9, "patients_follow_up": 4}),
    ("surgery", {"procedure_name": "腹腔镜胆囊切除术", "grade": "grade_3", "role": "primary", "duration_minutes": 90}),
    ("lecture", {"title": "急腹症的早期识别与规范化处置", "hours": 1.5, "audience_count": 35}),
    ("teaching_round", {"attendees": 14, "cases": 3}),
    ("free_clinic", {"place": "某乡镇卫生院", "people_served": 60}),
]


def year_evidence(entries: int) -> Evidence:
    start, end = date(2025, 1, 1), date(2025, 12, 31)
    lines: list[EntryLine] = []
    approved = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    for i in range(entries):
        day = start + timedelta(days=i % 365)
        kind, fields = ("attendance", {"status": "present"}) if i < 365 else KINDS[i % len(KINDS)]
        lines.append(EntryLine(id=uuid.uuid4(), work_date=day, activity_type=kind, type_label=type_label(kind),
                               figures=key_figures(kind, fields), recipient="甲县人民医院", approved_by="审核甲",
                               approved_at=approved))
    lines.sort(key=lambda e: e.work_date)
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.activity_type] = counts.get(line.activity_type, 0) + 1
    code = "7K3MQ9TX2HRD"
    return Evidence(
        expert=ExpertHeader(id=uuid.uuid4(), name="专家甲", title="主任医师", specialty="普外科",
                            home_institution="省人民医院", home_institution_id=uuid.uuid4()),
        date_from=start, date_to=end,
        deployments=[DeploymentLine(recipient="甲县人民医院", department="普外科", post="副院长", starts_on=start,
                                    ends_on=end, end_is_planned=False, status="已结束")],
        totals=WorkloadFigures(on_site_days=365, entries=entries, surgeries=counts.get("surgery", 0)),
        months=[MonthFigures(month=m, figures=WorkloadFigures(on_site_days=30)) for m in months_between(start, end)],
        by_type=[TypeCount(activity_type=k, label=type_label(k), count=n) for k, n in sorted(counts.items())],
        surgeries=[SurgeryCount(grade="grade_3", grade_label="三级", role="primary", role_label="主刀",
                                count=counts.get("surgery", 0))],
        entries=lines, pending_count=3, issued_at=datetime.now(UTC), verification_code=code,
        verify_url=f"https://fieldlog.example.org/verify/{code}",
        service=ServiceLine(as_of=end, counted_days=365, required_days=365, remaining_days=0, met_on=end,
                            rules=ServiceRules()),
    )


def timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tz = ZoneInfo("Asia/Shanghai")
    evidence = year_evidence(args.entries)
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data))
        signer = signing.signer_for(settings)  # key made once, outside the timings
        figures: dict[str, list[float]] = {"layout": [], "sign": [], "pdf total": [], "xlsx": [], "csv": []}
        size = pages = 0
        for _ in range(args.repeat):
            t_layout, unsigned = timed(pdf.render, evidence, tz)
            t_sign, signed = timed(signing.sign_pdf, unsigned, signer, reason="bench")
            figures["layout"].append(t_layout)
            figures["sign"].append(t_sign)
            figures["pdf total"].append(t_layout + t_sign)
            figures["xlsx"].append(timed(xlsx.render, evidence, tz)[0])
            figures["csv"].append(timed(csv.render, evidence, tz)[0])
            size, pages = len(signed), len(pypdf.PdfReader(io.BytesIO(signed)).pages)
    print(f"expert-year documents: {args.entries} approved entries, PDF {size / 1024:.0f} KiB, {pages} pages, "
          f"{args.repeat} runs (median, best)")
    for name, values in figures.items():
        print(f"  {name:<10} {statistics.median(values):7.3f} s  {min(values):7.3f} s")


if __name__ == "__main__":
    main()
