"""What a file's first bytes say it is, so an upload is not trusted by the type its sender declared (pure).

Checked types: JPEG (FF D8 FF), PNG (the 8-byte PNG signature), HEIC/HEIF (an ISO-BMFF `ftyp` box whose major or
compatible brand is a HEIF one), WebP (`RIFF....WEBP`) and PDF (`%PDF-` at the very start: the polyglot leeway
some readers allow is not given). A type outside this list (added with FIELDLOG_ATTACHMENT_TYPES) is not checked.
"""

from __future__ import annotations

HEAD_BYTES = 64  # enough for an ftyp box with a dozen compatible brands

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_FTYP_OTHERS = {b"avif": "image/avif", b"avis": "image/avif", b"qt  ": "video/quicktime", b"isom": "video/mp4",
                b"iso2": "video/mp4", b"mp41": "video/mp4", b"mp42": "video/mp4", b"M4V ": "video/mp4",
                b"3gp4": "video/3gpp", b"3gp5": "video/3gpp"}
_PREFIXES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
# What each checked declaration accepts (HEIC and HEIF are one container; phones use either name).
ACCEPTS: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"image/jpeg"}),
    "image/png": frozenset({"image/png"}),
    "image/heic": frozenset({"image/heic", "image/heif"}),
    "image/heif": frozenset({"image/heic", "image/heif"}),
    "image/webp": frozenset({"image/webp"}),
    "application/pdf": frozenset({"application/pdf"}),
}


def _ftyp(head: bytes) -> str | None:
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    compatible = {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _HEIF_BRANDS:
        return "image/heif"
    if major in _FTYP_OTHERS:
        return _FTYP_OTHERS[major]
    if compatible & _HEIC_BRANDS:
        return "image/heic"
    if compatible & _HEIF_BRANDS:
        return "image/heif"
    return "video/mp4"  # some other ISO base media file


def sniff(head: bytes) -> str | None:
    """The type the first bytes show, or None when they match no signature known here."""
    if head[4:8] == b"ftyp" and len(head) >= 12:
        return _ftyp(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for prefix, kind in _PREFIXES:
        if head.startswith(prefix):
            return kind
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg")):
        return "image/svg+xml" if text.startswith(b"<svg") else "text/html"
    if text.startswith(b"<?xml"):
        return "application/xml"
    return None


def mismatch(declared: str, head: bytes) -> str | None:
    """None when the bytes may be the declared type; otherwise what they look like ("unknown" if nothing known)."""
    accepted = ACCEPTS.get(declared)
    if accepted is None:
        return None
    found = sniff(head)
    return None if found in accepted else (found or "unknown")
