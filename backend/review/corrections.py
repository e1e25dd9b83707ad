"""Checking a batch of decisions as input, and a supervisor's correction of a surgery's role or grade.

In surgical logbooks the logged role (primary surgeon or assistant) is the most disputed figure, so the
supervisor fixes it while approving instead of sending the entry back; the change is recorded as theirs.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from backend.audit.chain import canonical_json
from backend.errors import FieldError, InvalidInput
from backend.models import Entry
from backend.review.schemas import Correction, Decision
from backend.worklog.catalog import get_type
from backend.worklog.service import CONTENT_KEYS, content_of

CORRECTABLE = ("role", "grade")


def allowed_values(field: str) -> set[str]:
    spec = get_type("surgery")
    for f in spec.fields if spec else []:
        if f.name == field:
            return {c.value for c in f.choices or []}
    return set()


def validate_batch(decisions: list[Decision], entries: dict[uuid.UUID, Entry]) -> None:
    """Refuse the whole batch (422, field by field) for input errors, before anything is written.

    A return needs a comment; a correction goes with an approval, of a surgery, to allowed values.
    Entries not in `entries` (not in the caller's scope) are not inspected: they answer not_in_scope.
    """
    errors: list[FieldError] = []
    for i, d in enumerate(decisions):
        at = f"decisions[{i}]"
        if d.action == "return" and not (d.comment and d.comment.strip()):
            errors.append(FieldError(field=f"{at}.comment", code="required", message="Say why the entry is returned."))
        if d.correction is None:
            continue
        if d.action != "approve":
            errors.append(FieldError(field=f"{at}.correction", code="approve_only",
                                     message="A correction is made when approving."))
        entry = entries.get(d.entry_id)
        if entry is not None and entry.activity_type != "surgery":
            errors.append(FieldError(field=f"{at}.correction", code="not_surgery",
                                     message="Only a surgery's role and grade can be corrected."))
        for name in CORRECTABLE:
            value = getattr(d.correction, name)
            if value is not None and value not in allowed_values(name):
                choices = ", ".join(sorted(allowed_values(name)))
                errors.append(FieldError(field=f"{at}.correction.{name}", code="invalid_choice",
                                         message=f"Choose one of: {choices}."))
    if errors:
        raise InvalidInput(errors=errors)


def apply_correction(entry: Entry, correction: Correction, attachments: list[str]) -> dict[str, Any]:
    """Change the entry's fields as corrected; returns {field: {from, to}} for the audit (empty if no change)."""
    fields = dict(entry.fields)
    changed: dict[str, Any] = {}
    for name in CORRECTABLE:
        value = getattr(correction, name)
        if value is not None and fields.get(name) != value:
            changed[name] = {"from": fields.get(name), "to": value}
            fields[name] = value
    if changed:
        entry.fields = fields
        content = content_of(entry, attachments)
        entry.content_hash = hashlib.sha256(canonical_json({k: content[k] for k in CONTENT_KEYS})).hexdigest()
    return changed
