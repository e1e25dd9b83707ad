"""Strict request-body decoding against the published schema.

Litestar converts bodies leniently (it accepts `0` for a datetime, "1" for an int); a phone team generating
its client from our OpenAPI schema must be able to trust it, so every JSON body is first decoded strictly
with msgspec against the handler's `data` type, before Litestar's own conversion runs.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, NamedTuple

import msgspec
from litestar import Request

from backend.errors import FieldError, InvalidInput, MalformedRequest, UnsupportedMediaType

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class _BodyRule(NamedTuple):
    decoder: msgspec.json.Decoder[Any] | None  # None: the handler takes no body
    needs_token: bool


_rules: dict[int, _BodyRule] = {}


def _needs_token(handler: Any) -> bool:
    """Whether the handler depends, directly or through other dependencies, on the verified token (`claims`)."""
    provided = handler.resolve_dependencies()
    todo, seen = list(handler.parsed_fn_signature.parameters), set()
    while todo:
        name = todo.pop()
        if name == "claims":
            return True
        if name in seen or name not in provided:
            continue
        seen.add(name)
        todo.extend(inspect.signature(provided[name].dependency).parameters)
    return False


def _rule_for(request: Request[Any, Any, Any]) -> _BodyRule:
    handler = request.scope["route_handler"]
    rule = _rules.get(id(handler))
    if rule is None:
        param = handler.parsed_fn_signature.parameters.get("data")
        decoder = msgspec.json.Decoder(param.annotation, strict=True) if param is not None else None
        rule = _rules[id(handler)] = _BodyRule(decoder, _needs_token(handler))
    return rule


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
    decoder, needs_token = _rule_for(request)
    if decoder is None:
        return
    if needs_token:
        # Authentication answers before validation: a caller without a valid token learns nothing about the body.
        # The verified claims are kept for the `claims` dependency, so the token is checked once per request.
        from backend.http.deps import verify_token

        request.scope["state"]["claims"] = verify_token(request)
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
