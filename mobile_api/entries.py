"""Entries over plain HTTP: create (idempotent by id), list, read, change at a known version, delete a draft."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import HeaderParameter, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import DomainError, FieldError, InvalidInput
from backend.http.deps import requires_role
from backend.http.params import ActivityTypeFilter, EntryStatusFilter
from backend.http.problems import problem_responses
from backend.models.worklog import ACTIVITY_TYPES, ENTRY_STATUSES
from backend.runtime import Runtime
from backend.worklog import service
from backend.worklog.schemas import EntryCreate, EntryOut, EntryPage, EntryPatch
from backend.worklog.views import list_entries

_VERSION = re.compile(r'^(?:W/)?"?([0-9]{1,9})"?$')


class PreconditionRequired(DomainError):
    status = 428
    type_slug = "precondition-required"
    title = "Send the version you last saw in If-Match"


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(header: str | None, *, required: bool) -> int | None:
    """The entry version named by If-Match (`3`, `"3"` or `W/"3"`)."""
    if header is None or not header.strip():
        if required:
            raise PreconditionRequired("Changing an entry needs 'If-Match: <version>' (the version you last saw)",
                                       extra={"reason": "if_match_required"})
        return None
    match = _VERSION.match(header.strip())
    if not match:
        raise InvalidInput(errors=[FieldError(field="If-Match", code="invalid_format",
                                              message="If-Match must be the entry's version number, e.g. \"3\"")])
    return int(match.group(1))


def _with_etag(entry: EntryOut, status_code: int = 200) -> Response[EntryOut]:
    return Response(content=entry, status_code=status_code, headers={"ETag": etag(entry.version)})


_IF_MATCH = r'^(W/)?"?[0-9]{1,9}"?$'
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False, pattern=_IF_MATCH)]
# PATCH needs the version (428 without it): published as required, still read here to answer 428, not 422.
IfMatchRequired = Annotated[str | None, HeaderParameter(name="If-Match", required=True, pattern=_IF_MATCH)]


class EntryController(Controller):
    path = "/api/v1/entries"
    tags = ["entries"]

    @post(operation_id="create_entry", status_code=201, summary="Create an entry with the phone's own id",
          description="201 when created. The same id with the same content again answers 200 with the same "
                      "entry (a retried request); the same id with other content answers 409 with `current`.",
          responses=problem_responses(400, 401, 403, 409, 413, 415, 422))
    async def create(self, data: EntryCreate, db: AsyncSession, principal: Principal,
                     runtime: Runtime) -> Response[EntryOut]:
        requires_role(principal, "expert")
        entry, created = await service.create_entry(db, principal, data, runtime.settings)
        return _with_etag(entry, 201 if created else 200)

    @get(operation_id="list_entries", summary="Entries in my scope, newest work date first (keyset pages)",
         responses=problem_responses(400, 401, 422))
    async def list(
        self, db: AsyncSession, principal: Principal, runtime: Runtime,
        deployment_id: uuid.UUID | None = None, expert_id: uuid.UUID | None = None,
        date_from: date | None = None, date_to: date | None = None,
        activity_type: ActivityTypeFilter = None, status: EntryStatusFilter | None = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> EntryPage:
        errors = []
        if activity_type is not None and activity_type not in ACTIVITY_TYPES:
            errors.append(FieldError(field="activity_type", code="invalid_choice",
                                     message=f"activity_type must be one of: {', '.join(ACTIVITY_TYPES)}"))
        if status is not None and status not in ENTRY_STATUSES:
            errors.append(FieldError(field="status", code="invalid_choice",
                                     message=f"status must be one of: {', '.join(ENTRY_STATUSES)}"))
        if date_from and date_to and date_to < date_from:
            errors.append(FieldError(field="date_to", code="before_date_from", message="date_to is before date_from"))
        if errors:
            raise InvalidInput(errors=errors)
        return await list_entries(db, principal, grace_days=runtime.settings.entry_grace_days,
                                  deployment_id=deployment_id, expert_id=expert_id, date_from=date_from,
                                  date_to=date_to, activity_type=activity_type, status=status, cursor=cursor,
                                  limit=limit)

    @get("/{entry_id:uuid}", operation_id="get_entry", summary="One entry (ETag: its version)",
         responses=problem_responses(401, 404))
    async def read(self, entry_id: uuid.UUID, db: AsyncSession, principal: Principal,
                   runtime: Runtime) -> Response[EntryOut]:
        return _with_etag(await service.get_entry(db, principal, entry_id, runtime.settings))

    @patch("/{entry_id:uuid}", operation_id="update_entry",
           summary="Change a draft or returned entry at the version in If-Match",
           description="Fields left out keep their value. A missing If-Match answers 428; a stale one 409 with "
                       "the current copy in `current`.",
           responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 428))
    async def update(self, entry_id: uuid.UUID, data: EntryPatch, db: AsyncSession, principal: Principal,
                     runtime: Runtime, if_match: IfMatchRequired = None) -> Response[EntryOut]:
        requires_role(principal, "expert")
        version = parse_if_match(if_match, required=True)
        assert version is not None
        return _with_etag(await service.update_entry(db, principal, entry_id, data, version, runtime.settings))

    @delete("/{entry_id:uuid}", operation_id="delete_entry", status_code=204,
            summary="Delete a draft (kept as a tombstone for sync); If-Match optional",
            responses=problem_responses(400, 401, 403, 404, 409, 422))
    async def remove(self, entry_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime,
                     if_match: IfMatch = None) -> None:
        requires_role(principal, "expert")
        await service.delete_entry(db, principal, entry_id, parse_if_match(if_match, required=False),
                                   runtime.settings)
