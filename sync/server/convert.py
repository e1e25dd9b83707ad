"""Reading a mutation's `data` into the core's wire types, with the field at fault on failure."""

from __future__ import annotations

import re

import msgspec

from backend.errors import FieldError
from backend.http.strict import field_path


def convert_error(exc: msgspec.ValidationError) -> FieldError:
    path, message = field_path(str(exc))
    if message.startswith("Object missing required field"):
        missing = re.search(r"`([^`]+)`", message)
        if missing:
            path = missing.group(1) if path == "body" else f"{path}.{missing.group(1)}"
        return FieldError(field=path, code="required", message=message)
    return FieldError(field=path, code="invalid", message=message)
