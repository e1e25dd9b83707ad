"""QR codes of the verification URL, drawn by reportlab's own encoder (no image files, crisp at any zoom)."""

from __future__ import annotations

from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.platypus import Flowable

from backend.documents import fonts

# Error correction M survives a creased or stamped printout; the URL is short, so the code stays small.
LEVEL = "M"


def qr_drawing(data: str, size: float) -> Drawing:
    """A square drawing `size` points wide whose QR code reads back as `data` (quiet zone included)."""
    widget = QrCodeWidget(data, barLevel=LEVEL, barBorder=4)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    # The renderer sets a font before drawing; without this it is Helvetica, a font the PDF would not embed.
    drawing.initialFontName = fonts.register()
    drawing.add(widget)
    return drawing


def draw_qr(canvas: Any, data: str, x: float, y: float, size: float) -> None:
    """Draw the code with its lower left corner at (x, y), e.g. from a page template's onPage callback."""
    renderPDF.draw(qr_drawing(data, size), canvas, x, y)


class QrFlowable(Flowable):
    """The code as a flowable, for a story (e.g. next to the verification block of a report)."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data = data
        self.size = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        draw_qr(self.canv, self.data, 0, 0, self.size)
