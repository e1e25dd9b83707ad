"""Which first bytes each declared upload type accepts (pure)."""

from __future__ import annotations

import pytest

from backend.storage.signatures import mismatch, sniff


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08meta"


JPEG = b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
IPHONE_HEIC = ftyp(b"heic", b"mif1", b"heic")
GENERIC_HEIF = ftyp(b"mif1", b"mif1", b"heic")


@pytest.mark.parametrize(("declared", "head"), [
    ("image/jpeg", JPEG), ("image/png", PNG), ("image/webp", WEBP), ("application/pdf", PDF),
    ("image/heic", IPHONE_HEIC), ("image/heic", GENERIC_HEIF), ("image/heif", IPHONE_HEIC),
    ("image/heic", ftyp(b"msf1", b"hevc")),
])
def test_each_type_accepts_its_own_signature(declared: str, head: bytes) -> None:
    assert mismatch(declared, head) is None


@pytest.mark.parametrize(("declared", "head", "detected"), [
    ("image/png", b"<!DOCTYPE html><html><script>", "text/html"),
    ("image/png", b"\n\n  <html><body onload=x()>", "text/html"),
    ("image/jpeg", b"<svg xmlns='http://www.w3.org/2000/svg'>", "image/svg+xml"),
    ("image/jpeg", PNG, "image/png"),
    ("application/pdf", b"junk before %PDF-1.4", "unknown"),
    ("application/pdf", b"MZ\x90\x00\x03", "application/x-msdownload"),
    ("image/heic", ftyp(b"avif", b"mif1", b"avif"), "image/avif"),
    ("image/heic", ftyp(b"isom", b"mp41"), "video/mp4"),
    ("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt ", "unknown"),
    ("image/jpeg", b"", "unknown"),
])
def test_other_bytes_are_named_for_what_they_are(declared: str, head: bytes, detected: str) -> None:
    assert mismatch(declared, head) == detected


def test_a_type_without_a_known_signature_is_not_checked() -> None:
    assert mismatch("text/plain", b"<html>") is None
    assert sniff(b"GIF89a\x01\x00") == "image/gif"
