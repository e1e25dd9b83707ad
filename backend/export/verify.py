"""Public verification of a printed evidence document: what it states and the SHA-256 of each file.

No login: the random 12-character code printed on the document is the key. The page shows the expert's
name, title and home hospital (the committee holding the printout sees them anyway) but never phone
numbers, user names or entry details; unknown or unfinished exports are simply not found.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import escape
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import codes
from backend.documents.content import FIGURE_LABELS, format_number
from backend.documents.verification import MAX_CHECK_BYTES, STYLE, FileCheck, VerifiedFile, digest
from backend.errors import FieldError, InvalidInput, NotFound
from backend.export.schemas import Verification
from backend.models import ExportFile, ExportJob


async def lookup(session: AsyncSession, raw_code: str) -> Verification:
    code = codes.normalise(raw_code)
    if code is None:
        raise NotFound("No document has this verification code")
    job = (
        await session.execute(
            select(ExportJob).where(ExportJob.verification_code == code, ExportJob.status == "done")
        )
    ).scalar_one_or_none()
    if job is None or job.statement is None:
        raise NotFound("No document has this verification code")
    files = (
        await session.execute(
            select(ExportFile.format, ExportFile.file_name, ExportFile.size, ExportFile.sha256)
            .where(ExportFile.export_id == job.id)
            .order_by(ExportFile.format)
        )
    ).all()
    statement = msgspec.convert(job.statement, Verification)
    return msgspec.structs.replace(
        statement,
        verification_code=codes.display(code),
        files=[
            VerifiedFile(format=f.format, file_name=f.file_name, size=f.size, sha256=f.sha256) for f in files
        ],
    )


_FORMAT_LABELS = {"pdf": "PDF 证明", "xlsx": "Excel 工作簿", "csv": "CSV 明细"}


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def render_html(view: Verification, tz: ZoneInfo) -> str:
    """The page a committee member sees after typing the code from the printout."""
    issued = view.issued_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    code = view.verification_code.replace("-", "")
    about = [
        ("验证码", view.verification_code),
        ("姓名", view.expert_name),
        ("职称", view.title or ""),
        ("派出医院", view.home_institution or ""),
        ("统计区间", f"{view.date_from.isoformat()} 至 {view.date_to.isoformat()}"),
        ("出具时间", issued),
    ]
    totals = [(label, format_number(getattr(view.totals, name))) for name, label in FIGURE_LABELS]
    totals += [(f"{t.label}(次)", str(t.count)) for t in view.by_type]
    totals += [("明细记录(条)", str(view.entry_count)), ("待审核记录(条,未计入)", str(view.pending_count))]
    if view.service_counted_days is not None and view.service_as_of is not None:
        totals.append(
            (
                f"基层服务天数(截至 {view.service_as_of.isoformat()})",
                f"{view.service_counted_days} / {view.service_required_days}",
            )
        )
    files = "".join(
        f"<tr><th>{escape(_FORMAT_LABELS.get(f.format, f.format))}<br><small>{escape(f.file_name)}</small></th>"
        f"<td><code>{escape(f.sha256)}</code><br><small>{f.size} 字节</small></td></tr>"
        for f in view.files
    )
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>派驻工作量证明核验 {escape(view.verification_code)}</title><style>{STYLE}</style></head><body>"
        "<h1>派驻工作量证明核验</h1>"
        "<p class='ok'>✔ 该验证码对应 fieldlog 出具的证明文件。请核对纸质文件所载内容与下表一致。</p>"
        f"<h2>证明信息</h2><table>{_rows(about)}</table>"
        f"<h2>所载工作量(仅含已审核记录)</h2><table>{_rows(totals)}</table>"
        "<h2>文件指纹(SHA-256)</h2>"
        "<p>电子文件可计算 SHA-256 与下表比对,例如 <code>sha256sum 文件名</code> 或 "
        "<code>certutil -hashfile 文件名 SHA256</code>。</p>"
        f"<table>{files}</table>"
        "<h2>核对电子文件</h2>"
        f"<div id='drop' data-check-url='/api/v1/verify/{escape(code)}/file'>"
        "<p>把收到的 PDF、Excel 或 CSV 文件拖到这里,或 <label><input type='file' id='file'> 选择文件</label></p>"
        "<p><small>只计算文件的 SHA-256 指纹并与出具时登记的指纹比对,文件不会被保存。</small></p></div>"
        "<p id='result' role='status' aria-live='polite'></p>"
        "<script type='module' src='/static/verify.js'></script></body></html>"
    )


async def check_file(
    session: AsyncSession, raw_code: str, chunks: AsyncIterator[bytes], *, limit: int = MAX_CHECK_BYTES
) -> FileCheck:
    """Compare the streamed file with what was issued under the code (404 for an unknown code)."""
    view = await lookup(session, raw_code)
    sha256, size = await digest(chunks, limit)
    if size == 0:
        raise InvalidInput(errors=[FieldError(field="body", code="empty", message="Send the file's bytes")])
    matched = next((f for f in view.files if f.sha256 == sha256 and f.size == size), None)
    return FileCheck(
        verification_code=view.verification_code,
        matches=matched is not None,
        sha256=sha256,
        size=size,
        matched=matched,
        issued=view.files,
    )
