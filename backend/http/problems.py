"""The one place that turns errors into RFC 9457 problem responses; nothing else reaches the client."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from backend.errors import DomainError, FieldError
from backend.outages import RETRY_AFTER_SECONDS, count_unavailable, database_unavailable, storage_full

log = logging.getLogger("fieldlog.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:fieldlog:problem:"

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "The request body is too large"),
    415: ("unsupported-media-type", "Unsupported content type"),
    422: ("validation-error", "The request has invalid fields"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service temporarily unavailable"),
}


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document with fieldlog's extensions."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] = msgspec.field(default_factory=list)


def request_id_of(request: Request[Any, Any, Any]) -> str:
    # Requests that match no route never pass the request-context middleware; give them an id too.
    state = request.scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = uuid.uuid4().hex
    return str(state["request_id"])


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body = msgspec.to_builtins(
        Problem(
            type=TYPE_PREFIX + slug,
            title=title,
            status=status,
            detail=detail,
            instance=request.url.path,
            request_id=request_id_of(request),
            errors=errors or [],
        )
    )
    if extra:
        body.update(msgspec.to_builtins(extra))
    return Response(content=body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers or {})


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return problem_response(
        request,
        status=exc.status,
        slug=exc.type_slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        extra=exc.extra,
        headers=exc.headers,
    )


_PARAMETER_SOURCES = {"query", "path", "header", "cookie"}


def _parameter_code(message: str) -> str:
    if message.startswith("Missing required"):
        return "required"
    if message.startswith("Invalid enum value"):
        return "invalid_choice"
    if "matching regex" in message:
        return "pattern"
    if "length" in message:
        return "length"
    if re.search(r"[<>]=? ", message):
        return "out_of_range"
    return "invalid"


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """The parameter's name on the wire (`from`), not the handler's Python name (`from_`)."""
    handler = request.scope.get("route_handler")
    param = handler.parsed_fn_signature.parameters.get(key) if handler is not None else None
    definition = getattr(param, "kwarg_definition", None)
    for alias in ("query", "header", "cookie", "name"):
        if getattr(definition, alias, None):
            return str(getattr(definition, alias))
    return key


def _validation_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "request")
            if item.get("source") in _PARAMETER_SOURCES:
                key = _wire_name(request, key)
            message = str(item.get("message", "invalid value"))
            errors.append(FieldError(field=key, code=_parameter_code(message), message=message))
    return errors


def _is_parameter_problem(exc: ValidationException) -> bool:
    items = exc.extra if isinstance(exc.extra, list) else []
    return bool(items) and all(isinstance(i, dict) and i.get("source") in _PARAMETER_SOURCES for i in items)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    slug, title = _STATUS_SLUGS.get(status, ("error", "Error"))
    errors = _validation_errors(request, exc) if isinstance(exc, ValidationException) else []
    if isinstance(exc, ValidationException):
        # Litestar reports query/path/header parameters out of their published bounds (or unparseable) this way:
        # a 422 naming each parameter, like a body field.
        slug, title = "invalid-parameters", "The request has invalid parameters"
        if _is_parameter_problem(exc):
            status = 422
    if status >= 500:
        log.error("http exception %s on %s", status, request.url.path, exc_info=exc)
        return problem_response(request, status=status, slug="internal-error", title="Internal error",
                                detail="The server could not complete the request")
    return problem_response(request, status=status, slug=slug, title=title, detail=exc.detail or title, errors=errors,
                            headers=dict(exc.headers or {}))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if storage_full(exc):  # what was received so far stays resumable; nothing half-written is published
        log.error("storage full on %s %s request_id=%s", request.method, request.url.path, request_id_of(request))
        return problem_response(request, status=507, slug="storage-full", title="Storage full",
                                detail="The server's file storage is full; retry later (operators are alerted)",
                                extra={"reason": "storage_full", "retry_after": 60}, headers={"Retry-After": "60"})
    reason = database_unavailable(exc)
    if reason is not None:  # the database restarting or the pool exhausted: the client retries, nothing to debug
        count_unavailable(reason)
        log.warning("database unavailable (%s) on %s %s request_id=%s", reason, request.method, request.url.path,
                    request_id_of(request))
        return problem_response(request, status=503, slug="service-unavailable",
                                title="Service temporarily unavailable",
                                detail="The database is not answering; retry after the indicated delay",
                                extra={"reason": reason, "retry_after": RETRY_AFTER_SECONDS},
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    # The stack trace goes to the log with the request id, never to the client.
    log.exception("unhandled error on %s %s request_id=%s", request.method, request.url.path, request_id_of(request))
    return problem_response(
        request,
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="The server could not complete the request; quote the request id when reporting it",
    )


EXCEPTION_HANDLERS = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


DESCRIPTIONS = {
    400: "Malformed request (unreadable JSON or gzip, or a body where none is taken)",
    401: "Missing, expired or invalid access token",
    403: "The caller's role does not allow this",
    404: "No such object in the caller's scope",
    409: "Conflict with the current state (stale version, locked, duplicate)",
    413: "Body larger than the advertised limit",
    415: "Body is not application/json",
    422: "Invalid fields or parameters, listed one by one in `errors`",
    429: "Too many requests; see Retry-After",
    503: "Overloaded; see Retry-After",
}


def problem_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI documentation of the problem responses a route can answer."""
    from litestar.openapi.datastructures import ResponseSpec

    return {
        status: ResponseSpec(
            data_container=Problem, description=DESCRIPTIONS.get(status, "Error"), media_type=PROBLEM_MEDIA_TYPE
        )
        for status in sorted(set(statuses) | {503})
    }
