"""Patient-privacy checks (个人信息保护法): no ID or mobile numbers in text; record numbers as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Literal

from backend.errors import FieldError

PiiKind = Literal["national_id", "mobile"]

_SEP = r"[ \-]?"
# 6-digit area code, 8-digit birth date, 3-digit sequence, check digit or X; written solid or as 6-8-4 groups.
# The look-arounds make sure a longer run of digits (an order number, a barcode) is not taken for an ID.
_NATIONAL_ID = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}" + _SEP + r"([0-9]{8})" + _SEP + r"[0-9]{3}[0-9Xx](?![0-9])", re.ASCII
)
# 1[3-9]x xxxx xxxx, solid or in 3-4-4 groups, optionally after +86 / 0086 / 86.
_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86" + _SEP + r")?1[3-9][0-9]" + _SEP + r"[0-9]{4}" + _SEP + r"[0-9]{4}(?![0-9])",
    re.ASCII,
)
_PII_LABELS: dict[str, str] = {
    "national_id": "a national ID number (身份证号)",
    "mobile": "a mobile phone number (手机号)",
}


def _normalise(text: str) -> str:
    # Chinese input methods often type full-width digits (１３８…); NFKC folds them to ASCII so they are caught.
    return unicodedata.normalize("NFKC", text)


def _plausible_birth_date(digits: str) -> bool:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def _has_national_id(normalised: str) -> bool:
    # The rule is "looks like an ID", so the check digit is not verified; the birth date must be real.
    return any(_plausible_birth_date(m.group(1)) for m in _NATIONAL_ID.finditer(normalised))


def find_national_id(text: str) -> bool:
    """Whether the text holds something that looks like an 18-digit resident ID number."""
    return _has_national_id(_normalise(text))


def find_pii(text: str) -> PiiKind | None:
    """The kind of personal identifier found in the text ("national_id" or "mobile"), or None."""
    normalised = _normalise(text)  # once for both patterns: every entry's note passes here
    if _has_national_id(normalised):
        return "national_id"
    if _MOBILE.search(normalised):
        return "mobile"
    return None


def pii_message(kind: str) -> str:
    """What the user is told when personal data of this kind is found."""
    label = _PII_LABELS.get(kind, "personal data")
    return f"This looks like {label}. Patient identifiers may not be recorded (不得记录患者身份信息); please remove it."


def pii_error(field: str, kind: str) -> FieldError:
    """The field error (code "personal_data") for personal data of this kind found in a field."""
    return FieldError(field=field, code="personal_data", message=pii_message(kind))


def scan_text_fields(values: Mapping[str, object], prefix: str = "") -> list[FieldError]:
    """Field errors for every string (also in lists and nested mappings) holding a personal identifier."""
    errors: list[FieldError] = []
    for name, value in values.items():
        path = f"{prefix}.{name}" if prefix else str(name)
        errors.extend(_scan_value(value, path))
    return errors


def _scan_value(value: object, path: str) -> list[FieldError]:
    if isinstance(value, str):
        kind = find_pii(value)
        return [pii_error(path, kind)] if kind else []
    if isinstance(value, Mapping):
        return scan_text_fields(value, path)
    if isinstance(value, list | tuple):
        return [e for i, item in enumerate(value) for e in _scan_value(item, f"{path}.{i}")]
    return []


def normalise_record_number(raw: str) -> str:
    """The canonical form of a hospital record number: full-width folded, no spaces or dashes, upper case."""
    # One canonical form so "zy-00123" and "ZY00123" hash alike and entries about one patient can be linked.
    return re.sub(r"[\s\-]", "", _normalise(raw)).upper()


def hash_record_number(key: bytes, raw: str) -> str:
    """The keyed hash (HMAC-SHA256, hex) of a normalised record number."""
    if not key:
        # Record numbers are short and guessable: without a secret key, trying them all reverses the hash.
        raise ValueError("a non-empty key is required to hash record numbers")
    return hmac.new(key, normalise_record_number(raw).encode(), hashlib.sha256).hexdigest()


def mask_record_number(raw: str) -> str:
    """A display form that keeps only the last few characters, e.g. "****123"."""
    number = normalise_record_number(raw)
    # Short numbers show less, so the visible tail never gives away most of the number.
    keep = 3 if len(number) >= 8 else 2 if len(number) >= 6 else 0
    return "****" + (number[-keep:] if keep else "")
