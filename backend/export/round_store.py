"""Putting a finished round's ZIP into file storage from the server, in chunks (memory stays flat), through
the same Storage interface phones upload through: the disk backend takes the bytes itself, S3 gets them at
its presigned part URLs; `finish` checks size and SHA-256 either way. Also the round's index sheet.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook

from backend.documents.cells import text_width
from backend.storage.base import Storage

CHUNK = 1024 * 1024
INDEX_HEADER = [
    "序号",
    "姓名",
    "职称",
    "派出医院",
    "验证码",
    "核验网址",
    "累计服务天数",
    "已审核记录(条)",
    "待审核记录(条)",
    "考核结果",
    "PDF 文件",
    "PDF SHA-256",
    "XLSX 文件",
    "XLSX SHA-256",
]


_RATING = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
_STATE = {"self_assessed": "已自评，待评定", "rated": "已评定，待会签", "countersigned": "已会签"}


def appraisal_label(state: str | None, rating: str | None, period_end: Any = None) -> str:
    """The expert's appraisal as the index shows it: `优秀（已会签，至 2025-12-31）`, or `无考核记录`."""
    if state is None:
        return "无考核记录"
    until = f"，至 {period_end}" if period_end is not None else ""
    if rating is None:
        return f"{_STATE.get(state, state)}{until}"
    return f"{_RATING.get(rating, rating)}（{_STATE.get(state, state)}{until}）"


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


async def _chunks(path: Path, offset: int, size: int) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        left = size
        while left > 0:
            block = await asyncio.to_thread(f.read, min(CHUNK, left))
            if not block:
                raise OSError(f"{path} ended {left} bytes early")
            left -= len(block)
            yield block


async def upload_file(storage: Storage, key: str, path: Path, content_type: str) -> tuple[int, str]:
    """Store the file under `key`; returns (size, sha256) of what was stored and checked."""
    size, sha256 = await asyncio.to_thread(_size_and_sha256, path)
    plan = await storage.plan(key, size, content_type, None)
    if plan.mode == "server":
        if plan.received_bytes < size:
            await storage.append(
                key, plan.received_bytes, size, _chunks(path, plan.received_bytes, size - plan.received_bytes)
            )
    else:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
            for part in plan.parts:
                headers = {**part.headers, "Content-Length": str(part.size)}
                reply = await http.request(
                    part.method, part.url, headers=headers, content=_chunks(path, part.offset, part.size)
                )
                reply.raise_for_status()
    await storage.finish(key, size, sha256, plan.upload_id)
    return size, sha256


def index_sheet(rows: list[list[Any]]) -> bytes:
    """The round's table of contents: one row per expert with the code and fingerprints of their files."""
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "索引"
    sheet.append(INDEX_HEADER)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"
    widths = [text_width(h) for h in INDEX_HEADER]
    for row in rows:
        widths = [max(w, text_width(v)) for w, v in zip(widths, row, strict=True)]
    for i, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=i + 1).column_letter].width = min(width + 2, 70)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
