"""Checks on issued PDFs shared by the document tests: fonts embedded, signature, QR codes, page images."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pypdf

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots" / "documents"


def fonts_of(pdf: bytes) -> list[dict[str, Any]]:
    """Every font dictionary the pages use: name, subtype, and whether its outlines are in the file."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    seen: dict[Any, dict[str, Any]] = {}
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        fonts = resources.get_object().get("/Font") or {} if resources else {}
        for ref in fonts.get_object().values() if fonts else []:
            font = ref.get_object()
            key = getattr(ref, "idnum", id(font))
            if key in seen:
                continue
            descriptor_owner = font
            if font.get("/Subtype") == "/Type0":
                descriptor_owner = font["/DescendantFonts"][0].get_object()
            descriptor = descriptor_owner.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            seen[key] = {"name": str(font.get("/BaseFont")), "subtype": str(font.get("/Subtype")), "embedded": embedded}
    return list(seen.values())


def pdffonts(pdf: bytes) -> list[list[str]] | None:
    """`pdffonts` rows (name, type..., emb, sub, uni, ...), or None when poppler is not installed."""
    tool = shutil.which("pdffonts")
    if tool is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run([tool, f.name], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def assert_every_font_embedded(pdf: bytes) -> None:
    fonts = fonts_of(pdf)
    assert fonts, "the document uses no font at all"
    assert [f for f in fonts if not f["embedded"]] == []
    rows = pdffonts(pdf)
    if rows is not None:
        # Columns from the right: object ID (2), uni, sub, emb.
        assert rows
        assert all(r[-5] == "yes" for r in rows), rows


async def validate_signature(pdf: bytes, trust_root: Any) -> Any:
    """pyHanko's verdict on the (only) signature, trusting `trust_root` (an asn1crypto certificate)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(pdf))
    assert len(reader.embedded_signatures) == 1
    context = ValidationContext(trust_roots=[trust_root])
    return await async_validate_pdf_signature(reader.embedded_signatures[0], context)


def page_image(pdf: bytes, index: int, scale: float = 2.0) -> Any:
    """One page as a PIL image (pypdfium2, no system tools)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return document[index].render(scale=scale).to_pil()
    finally:
        document.close()


def page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def qr_texts(pdf: bytes, index: int) -> list[str]:
    """What the QR codes on one page decode to (zxing-cpp)."""
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(page_image(pdf, index, scale=3.0))]


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def save_screenshot(pdf: bytes, name: str, index: int = 0) -> Path:
    """Keep one rendered page under var/screenshots/documents/ (the README names the folder)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page_image(pdf, index, scale=1.5).save(path)
    return path
