"""Issued report documents: each download gets its own verification code, registered with its SHA-256.

The public verification page (`/verify/<code>`, backend.export.verify) asks `lookup` for codes that are
not evidence exports; it shows the statement (the lines the document's first page states) and checks an
uploaded file against the hash. Only the hash is kept: a report is issued again from its source.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.documents import codes
from backend.models import IssuedReport
from backend.settings import Settings

KIND_LABELS = {"monthly_summary": "月度工作小结", "annual_report": "年度帮扶工作报告", "appraisal": "派驻期满考核鉴定"}


class StatementLine(msgspec.Struct, kw_only=True, frozen=True):
    label: str
    value: str


class IssuedView(msgspec.Struct, kw_only=True, frozen=True):
    """What the verification page shows for an issued report (no ids, no patient data)."""

    verification_code: str
    kind: str
    kind_label: str
    title: str
    format: str
    sha256: str
    size: int
    issued_at: datetime
    statement: list[StatementLine]


def new_code() -> str:
    return codes.new_code()


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url}/verify/{codes.display(code)}"


async def register(session: AsyncSession, principal: Principal, *, code: str, kind: str, fmt: str,
                   subject_id: uuid.UUID, title: str, statement: list[StatementLine], content: bytes) -> IssuedReport:
    """Record an issued file under its code (in the caller's transaction)."""
    row = IssuedReport(verification_code=code, kind=kind, format=fmt, subject_id=subject_id, title=title,
                       statement={"lines": msgspec.to_builtins(statement)},
                       sha256=hashlib.sha256(content).hexdigest(), size=len(content), issued_by=principal.user_id)
    session.add(row)
    await session.flush()
    return row


async def lookup(session: AsyncSession, raw_code: str) -> IssuedView | None:
    """The issued report with this code (typed forgivingly from a printout), or None."""
    code = codes.normalise(raw_code)
    if code is None:
        return None
    row = await session.get(IssuedReport, code)
    if row is None:
        return None
    return IssuedView(verification_code=codes.display(code), kind=row.kind, kind_label=KIND_LABELS[row.kind],
                      title=row.title, format=row.format, sha256=row.sha256, size=row.size, issued_at=row.issued_at,
                      statement=msgspec.convert(row.statement.get("lines", []), list[StatementLine]))


async def matches(session: AsyncSession, raw_code: str, content: bytes) -> bool:
    """Whether these bytes are exactly the file issued under the code."""
    code = codes.normalise(raw_code)
    if code is None:
        return False
    digest = hashlib.sha256(content).hexdigest()
    return await session.scalar(select(IssuedReport.verification_code).where(
        IssuedReport.verification_code == code, IssuedReport.sha256 == digest)) is not None
