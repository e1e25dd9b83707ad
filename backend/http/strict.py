"""Strict request-body decoding against the published schema.

Litestar converts bodies leniently (it accepts `0` for a datetime, "1" for an int); a phone team generating
its client from our OpenAPI schema must be able to trust it, so every JSON body is first decoded strictly
with msgspec against the handler's `data` type, before Litestar's own conversion runs.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request

from backend.errors import FieldError, InvalidInput, MalformedRequest, UnsupportedMediaType

_decoders: dict[int, msgspec.json.Decoder[Any] | None] = {}
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _decoder_for(request: Request[Any, Any, Any]) -> msgspec.json.Decoder[Any] | None:
    handler = request.scope["route_handler"]
    key = id(handler)
    if key not in _decoders:
        param = handler.parsed_fn_signature.parameters.get("data")
        _decoders[key] = msgspec.json.Decoder(param.annotation, strict=True) if param is not None else None
    return _decoders[key]


def field_path(message: str) -> tuple[str, str]:
    """Split msgspec's "Expected `int`, got `str` - at `$.a[0].b`" into ("a[0].b", message)."""
    match = _PATH.search(message)
    if not match:
        return "body", message
    path = match.group("path").lstrip(".") or "body"
    return path, message[: match.start()]


def _code(message: str) -> str:
    if message.startswith("Object missing required field"):
        return "required"
    if message.startswith("Object contains unknown field"):
        return "unknown_field"
    if message.startswith("Invalid enum value"):
        return "invalid_choice"
    if message.startswith("Expected"):
        return "type"
    return "invalid"


async def validate_body_strictly(request: Request[Any, Any, Any]) -> None:
    """before_request hook: 415 for a non-JSON body, 400 for malformed JSON, 422 with the field at fault."""
    decoder = _decoder_for(request)
    if decoder is None:
        return
    parameters = request.scope["route_handler"].parsed_fn_signature.parameters
    if "principal" in parameters or "caller" in parameters:  # `caller`: sync push's own principal
        # Authentication answers before validation: a caller without a valid token learns nothing about the body.
        from backend.http.deps import bearer_token, runtime_of

        runtime_of(request.app.state).signer.verify(bearer_token(request))
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Send the body as application/json (got {media_type or 'no content type'})",
            headers={"Accept": "application/json"},
        )
    body = await request.body()
    try:
        decoder.decode(body)
    except msgspec.ValidationError as exc:
        path, message = field_path(str(exc))
        if message.startswith("Object missing required field"):
            missing = re.search(r"`([^`]+)`", message)
            if missing:
                path = f"{path}.{missing.group(1)}" if path != "body" else missing.group(1)
        if message.startswith("Object contains unknown field"):
            unknown = re.search(r"`([^`]+)`", message)
            if unknown:
                path = f"{path}.{unknown.group(1)}" if path != "body" else unknown.group(1)
        raise InvalidInput(errors=[FieldError(field=path, code=_code(message), message=message)]) from None
    except msgspec.DecodeError as exc:
        raise MalformedRequest(f"The body is not valid JSON: {exc}") from None
