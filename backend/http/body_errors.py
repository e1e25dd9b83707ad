"""What is wrong with a request body, in the words a client can act on (pure: no framework, no I/O).

msgspec reports a typed decoding failure as one message ("Object contains unknown field `notes` - at
`$.location`"); these functions turn it into the field error the API answers (`location.notes`,
`unknown_field`), and a syntax failure into where parsing stopped ("truncated at byte 12").
"""

from __future__ import annotations

import re

import msgspec

from backend.errors import FieldError

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED = re.compile(r"`([^`]+)`")
_AT_BYTE = re.compile(r"^JSON is malformed: (?P<what>.*) \(byte (?P<pos>\d+)\)$")

# msgspec's message prefix → the error code the API publishes.
_CODES = (
    ("Object missing required field", "required"),
    ("Object contains unknown field", "unknown_field"),
    ("Invalid enum value", "invalid_choice"),
    ("Expected", "type"),
)


def field_path(message: str) -> tuple[str, str]:
    """Split msgspec's "Expected `int`, got `str` - at `$.a[0].b`" into ("a[0].b", message)."""
    match = _PATH.search(message)
    if not match:
        return "body", message
    path = match.group("path").lstrip(".") or "body"
    return path, message[: match.start()]


def error_code(message: str) -> str:
    """The API's code for one msgspec validation message."""
    return next((code for prefix, code in _CODES if message.startswith(prefix)), "invalid")


def field_error(exc: msgspec.ValidationError) -> FieldError:
    """The field at fault: a missing or unknown key is named itself (`location.accuracy`), not its parent."""
    path, message = field_path(str(exc))
    code = error_code(message)
    if code in ("required", "unknown_field"):
        named = _NAMED.search(message)
        if named:
            path = named.group(1) if path == "body" else f"{path}.{named.group(1)}"
    return FieldError(field=path, code=code, message=message)


def malformed(body: bytes, exc: msgspec.DecodeError) -> tuple[str, int | None]:
    """Where and why `body` is not JSON: ("JSON is malformed: truncated at byte 12", 12)."""
    message = str(exc)
    if message == "Input data was truncated":
        if not body.strip():
            return "JSON is malformed: the body is empty", 0
        return f"JSON is malformed: truncated at byte {len(body)}", len(body)
    at = _AT_BYTE.match(message)
    if at:
        pos = int(at.group("pos"))
        return f"JSON is malformed: {at.group('what')} at byte {pos}", pos
    if message.startswith("Invalid UTF-8"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"JSON is malformed: invalid UTF-8 at byte {bad.start}", bad.start
    return f"JSON is malformed: {message}", None


def syntax_error(body: bytes) -> msgspec.DecodeError | None:
    """The syntax error in `body`, if any, ignoring what the schema says (a typed decoder stops at the first
    field it dislikes, before it sees that the JSON is broken further on)."""
    try:
        msgspec.json.decode(body)
    except msgspec.ValidationError:  # e.g. a number out of range: readable JSON, a field's value is at fault
        return None
    except msgspec.DecodeError as exc:
        return exc
    return None


def is_empty_object(body: bytes) -> bool:
    """An absent body, whitespace, or the JSON object `{}`: what a client sends when it means "nothing"."""
    stripped = body.strip()
    if not stripped:
        return True
    if not stripped.startswith(b"{") or len(stripped) > 64:
        return False
    try:
        return msgspec.json.decode(stripped) == {}
    except msgspec.DecodeError:
        return False
