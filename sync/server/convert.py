"""Reading a mutation's `data` into the core's wire types, with the field at fault on failure."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from backend.errors import FieldError
from backend.http.body_errors import field_error


def convert_error(exc: msgspec.ValidationError) -> FieldError:
    """The field error a rejected mutation carries: `required`, `unknown_field`, `type`, ... and the key."""
    return field_error(exc)


def id_mismatch(record_id: uuid.UUID, data: dict[str, Any]) -> FieldError | None:
    """A create's `data.id`, when sent, must name the mutation's own record: a different one is refused, not replaced."""
    if "id" not in data:
        return None
    try:
        if uuid.UUID(str(data["id"])) == record_id:
            return None
    except ValueError:
        pass
    return FieldError(field="id", code="id_mismatch",
                      message="`id` in data names another record than the mutation's `record_id`; leave it out")
