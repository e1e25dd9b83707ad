"""Issue a report document: a fresh verification code, the file laid out and signed, the code registered."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
from reportlab.platypus import Flowable
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.documents import layout, signing
from backend.documents.codes import display
from backend.errors import FieldError, InvalidInput
from backend.reports import issued, render_annual, render_summary
from backend.reports.annual import AnnualReport
from backend.reports.issued import StatementLine
from backend.reports.schemas import MonthlySummaryOut
from backend.settings import Settings

FORMATS = {"pdf": "application/pdf",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class IssuedFile(msgspec.Struct, kw_only=True, frozen=True):
    file_name: str
    content_type: str
    content: bytes
    sha256: str
    verification_code: str


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(errors=[FieldError(field="fmt", code="invalid_choice", message="pdf or xlsx.")])
    return fmt


async def issue_document(session: AsyncSession, principal: Principal, settings: Settings, *, kind: str, fmt: str,
                 subject_id: uuid.UUID, title: str, file_stem: str,
                 statement: Callable[[datetime, ZoneInfo], list[StatementLine]],
                 story: Callable[[datetime, ZoneInfo], list[Flowable]],
                 workbook: Callable[[str, str, datetime, ZoneInfo], bytes]) -> IssuedFile:
    """Lay out (PDF: signed, off the loop) or write (XLSX) a document under a fresh code and register it."""
    check_format(fmt)
    code, issued_at, tz = issued.new_code(), datetime.now(UTC), ZoneInfo(settings.timezone)
    url = issued.verify_url(settings, code)
    if fmt == "pdf":
        frame = layout.PageFrame(title=title, verification_code=display(code), verify_url=url, subject=file_stem)
        # Signing is blocking (pyHanko runs its own loop): off the server's loop.
        content = await asyncio.to_thread(signing.issue_pdf, story(issued_at, tz), frame, settings,
                                          reason=f"fieldlog {title}")
    else:
        content = await asyncio.to_thread(workbook, display(code), url, issued_at, tz)
    await issued.register(session, principal, code=code, kind=kind, fmt=fmt, subject_id=subject_id, title=title,
                          statement=statement(issued_at, tz), content=content)
    return IssuedFile(file_name=f"{file_stem}.{fmt}", content_type=FORMATS[fmt], content=content,
                      sha256=hashlib.sha256(content).hexdigest(), verification_code=display(code))


async def issue_summary(session: AsyncSession, principal: Principal, view: MonthlySummaryOut, fmt: str,
                        settings: Settings) -> IssuedFile:
    """The monthly summary as a signed PDF or an XLSX workbook."""
    return await issue_document(
        session, principal, settings, kind="monthly_summary", fmt=fmt, subject_id=view.expert.id,
        title=render_summary.title_of(view), file_stem=f"月度工作小结-{view.expert.name}-{view.month}",
        statement=lambda at, tz: render_summary.statement(view, at, tz),
        story=lambda at, tz: render_summary.story(view, at, tz),
        workbook=lambda code, url, at, tz: render_summary.workbook(view, code, url, at, tz))


async def issue_annual(session: AsyncSession, principal: Principal, report: AnnualReport, fmt: str,
                       settings: Settings) -> IssuedFile:
    """The annual programme report as a signed PDF or an XLSX workbook."""
    return await issue_document(
        session, principal, settings, kind="annual_report", fmt=fmt, subject_id=report.agreement_id,
        title=render_annual.title_of(report), file_stem=f"年度帮扶工作报告-{report.recipient}-{report.year}",
        statement=lambda at, tz: render_annual.statement(report, at, tz),
        story=lambda at, tz: render_annual.story(report, at, tz),
        workbook=lambda code, url, at, tz: render_annual.workbook(report, code, url, at, tz))

