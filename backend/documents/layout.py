"""The page frame every fieldlog PDF shares: A4, the embedded CJK font, the document's title and verification
code at the top of each page, and at the bottom the QR code of the verify URL, the code again and
"第 x 页 共 y 页".

`build_pdf(story, frame)` lays out any platypus story in that frame and returns the (unsigned) bytes;
`signing.sign_pdf` turns them into the issued document.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from backend.documents import fonts
from backend.documents.qr import draw_qr

MARGIN = 15 * mm
TOP_MARGIN = 16 * mm
BOTTOM_MARGIN = 30 * mm
QR_SIZE = 20 * mm
PAGE_WIDTH, PAGE_HEIGHT = A4
# The width a story can use between the margins.
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN


@dataclass(frozen=True, slots=True)
class PageFrame:
    """What every page of a document repeats."""

    title: str
    verification_code: str  # as printed, e.g. "7K3M-Q9TX-2HRD" (codes.display)
    verify_url: str
    subject: str = ""


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles in the embedded font: base, small, cell, title, h2, h3."""
    font = fonts.register()
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12.5, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle(
            "small", parent=base, fontSize=7.5, leading=10, textColor=colors.Color(0.3, 0.3, 0.3)
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=1, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=4, keepWithNext=1
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontSize=9, leading=13, spaceBefore=4, spaceAfter=2, keepWithNext=1
        ),
    }


def para(text: str, style: str = "base") -> Paragraph:
    """A paragraph of plain text (escaped: text typed by users never becomes markup)."""
    return Paragraph(escape(text), styles()[style])


def table(
    rows: Sequence[Sequence[str]],
    widths: Sequence[float] | None = None,
    *,
    header: bool = True,
    style: str = "base",
    wrap: frozenset[int] | None = None,
) -> Table:
    """A gridded table whose header row repeats on every page; only the `wrap` columns (all by default)
    become Paragraphs, which wrap long text but are slow to lay out."""
    cell = styles()[style]
    data = [
        [Paragraph(escape(text), cell) if wrap is None or i in wrap else text for i, text in enumerate(row)]
        for row in rows
    ]
    result = Table(data, colWidths=list(widths) if widths else None, repeatRows=1 if header else 0)
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), cell.fontName, cell.fontSize, cell.leading),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    result.setStyle(TableStyle(commands))
    return result


def _draw_frame(canvas: Canvas, frame: PageFrame, page: int, total: int) -> None:
    font = fonts.register()
    canvas.saveState()
    canvas.setFont(font, 8)
    canvas.setFillColor(colors.Color(0.3, 0.3, 0.3))
    top = PAGE_HEIGHT - 10 * mm
    canvas.drawString(MARGIN, top, frame.title)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, top, f"验证码 {frame.verification_code}")
    canvas.setStrokeColor(colors.Color(0.75, 0.75, 0.75))
    canvas.setLineWidth(0.4)
    canvas.line(MARGIN, top - 2 * mm, PAGE_WIDTH - MARGIN, top - 2 * mm)
    bottom = 7 * mm
    canvas.line(MARGIN, bottom + QR_SIZE + 1.5 * mm, PAGE_WIDTH - MARGIN, bottom + QR_SIZE + 1.5 * mm)
    # The QR code is encoded and drawn once per document (a form XObject) and placed on every page.
    canvas.saveState()
    canvas.translate(MARGIN - 1.5 * mm, bottom)
    canvas.doForm(_QR_FORM)
    canvas.restoreState()
    text_x = MARGIN + QR_SIZE + 1 * mm
    canvas.setFillColor(colors.black)
    canvas.setFont(font, 9)
    canvas.drawString(text_x, bottom + 12 * mm, f"验证码 {frame.verification_code}")
    canvas.setFont(font, 7.5)
    canvas.drawString(text_x, bottom + 7.5 * mm, f"扫描二维码或访问 {frame.verify_url} 核验本文件")
    canvas.drawString(text_x, bottom + 3.5 * mm, "电子文件带有出具单位的数字签名,任何改动都会使签名失效")
    canvas.setFont(font, 9)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, bottom + 12 * mm, f"第 {page} 页 共 {total} 页")
    canvas.restoreState()


_QR_FORM = "fieldlog-verify-qr"


class _FramedCanvas(Canvas):
    """Holds the pages back until the end, so each can say how many pages there are in all."""

    def __init__(self, *args: Any, frame: PageFrame, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._frame = frame
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            if number == 1:
                self.beginForm(_QR_FORM, lowerx=0, lowery=0, upperx=QR_SIZE, uppery=QR_SIZE)
                draw_qr(self, self._frame.verify_url, 0, 0, QR_SIZE)
                self.endForm()
            _draw_frame(self, self._frame, number, total)
            super().showPage()
        super().save()


def build_pdf(story: list[Flowable], frame: PageFrame) -> bytes:
    """Lay the story out on framed A4 pages; the same story gives the same bytes (no random id, no clock)."""
    font = fonts.register()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=TOP_MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=frame.title,
        subject=frame.subject,
        author="fieldlog",
        creator="fieldlog",
        lang="zh-CN",
        invariant=1,
        initialFontName=font,
    )
    doc.build(story, canvasmaker=functools.partial(_FramedCanvas, frame=frame))
    return out.getvalue()
