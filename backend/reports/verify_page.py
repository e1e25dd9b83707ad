"""The public verification of issued reports (monthly summaries, annual reports, appraisal forms).

Evidence exports are verified by backend.export.verify; a code that is no export is looked up here among the
issued reports. The page shows only the statement the document's first page prints and the file's SHA-256,
with the same file check box as the evidence page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents import verification
from backend.documents.verification import STYLE, VerifiedFile
from backend.errors import FieldError, InvalidInput, NotFound
from backend.reports import issued
from backend.reports.issued import IssuedView

_FORMAT_LABELS = {"pdf": "PDF 文件", "xlsx": "Excel 工作簿"}


async def lookup(session: AsyncSession, raw_code: str) -> IssuedView:
    """The issued report under this code, or NotFound (the same answer as for an unknown evidence code)."""
    view = await issued.lookup(session, raw_code)
    if view is None:
        raise NotFound("No document has this verification code")
    return view


def issued_file(view: IssuedView) -> VerifiedFile:
    return VerifiedFile(format=view.format, file_name=f"{view.title}.{view.format}", size=view.size, sha256=view.sha256)


async def check_file(session: AsyncSession, raw_code: str, chunks: AsyncIterator[bytes],
                     *, limit: int = verification.MAX_CHECK_BYTES) -> verification.FileCheck:
    """Compare the streamed file with the issued report's registered SHA-256 and size."""
    view = await lookup(session, raw_code)
    sha256, size = await verification.digest(chunks, limit)
    if size == 0:
        raise InvalidInput(errors=[FieldError(field="body", code="empty", message="Send the file's bytes")])
    file = issued_file(view)
    matched = file if (file.sha256 == sha256 and file.size == size) else None
    return verification.FileCheck(verification_code=view.verification_code, matches=matched is not None,
                               sha256=sha256, size=size, matched=matched, issued=[file])


def _rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def render_html(view: IssuedView, tz: ZoneInfo) -> str:
    """The page a reader of a printed report sees after typing its code."""
    code = view.verification_code.replace("-", "")
    about = [("验证码", view.verification_code), ("文件类型", view.kind_label), ("标题", view.title),
             ("出具时间", view.issued_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"))]
    file = (f"<tr><th>{escape(_FORMAT_LABELS.get(view.format, view.format))}</th>"
            f"<td><code>{escape(view.sha256)}</code><br><small>{view.size} 字节</small></td></tr>")
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(view.kind_label)}核验 {escape(view.verification_code)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(view.kind_label)}核验</h1>"
        "<p class='ok'>✔ 该验证码对应 fieldlog 出具的文件。请核对纸质文件所载内容与下表一致。</p>"
        f"<h2>文件信息</h2><table>{_rows(about)}</table>"
        f"<h2>文件所载</h2><table>{_rows([(line.label, line.value) for line in view.statement])}</table>"
        f"<h2>文件指纹(SHA-256)</h2><table>{file}</table>"
        "<h2>核对电子文件</h2>"
        f"<div id='drop' data-check-url='/api/v1/verify/{escape(code)}/file'>"
        "<p>把收到的文件拖到这里,或 <label><input type='file' id='file'> 选择文件</label></p>"
        "<p><small>只计算文件的 SHA-256 指纹并与出具时登记的指纹比对,文件不会被保存。</small></p></div>"
        "<p id='result' role='status' aria-live='polite'></p>"
        "<script type='module' src='/static/verify.js'></script></body></html>"
    )
