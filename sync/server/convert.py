"""Reading a mutation's `data` into the core's wire types, with the field at fault on failure."""

from __future__ import annotations

import msgspec

from backend.errors import FieldError
from backend.http.body_errors import field_error


def convert_error(exc: msgspec.ValidationError) -> FieldError:
    """The field error a rejected mutation carries: `required`, `unknown_field`, `type`, ... and the key."""
    return field_error(exc)
