"""Domain errors: one small hierarchy, mapped to RFC 9457 problem responses in one place."""

from __future__ import annotations

from typing import Any

import msgspec


class FieldError(msgspec.Struct, kw_only=True, frozen=True):
    """One problem with one input field; `field` is a dotted path such as `fields.patients_first`."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidInput(DomainError):
    status = 422
    type_slug = "validation-error"
    title = "The request has invalid fields"


class MalformedRequest(DomainError):
    status = 400
    type_slug = "malformed-request"
    title = "The request body could not be read"


class Unauthorized(DomainError):
    status = 401
    type_slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    type_slug = "conflict"
    title = "Conflict with the current state"


class Locked(DomainError):
    status = 409
    type_slug = "locked"
    title = "The record is locked"


class PayloadTooLarge(DomainError):
    status = 413
    type_slug = "payload-too-large"
    title = "The request body is too large"


class UnsupportedMediaType(DomainError):
    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported content type"


class TooManyRequests(DomainError):
    status = 429
    type_slug = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(DomainError):
    status = 503
    type_slug = "service-unavailable"
    title = "Service temporarily unavailable"
