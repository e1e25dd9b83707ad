"""Strict request-body decoding against the published schema: one contract for every body.

Litestar converts bodies leniently (it accepts `0` for a datetime, "1" for an int) and would drop keys it does
not know; a phone team generating its client from our OpenAPI schema must be able to trust it, so every JSON
body is first decoded strictly with msgspec against the handler's `data` type, before Litestar's own
conversion runs. The contract (also at the top of docs/api.md):

- a body that is not JSON: 400 `malformed-request`, saying where parsing stopped (`position`);
- a body of another content type: 415; an unknown key anywhere: 422 `unknown_field` naming it;
- no body (no Content-Length, or 0) is read as `{}`: an action whose fields are all optional (submit) needs
  none, and one with required fields answers 422 naming them;
- an operation that takes no body (POST/PUT/PATCH/DELETE without `data`) accepts none, an empty one or `{}`,
  and refuses anything else with 400 `body_not_expected`, so nothing a client sends is silently dropped.
  Handlers that take the raw `request` instead of `data` (uploads, imports) read their bodies themselves.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import msgspec
from litestar import Request

from backend.errors import InvalidInput, MalformedRequest, UnsupportedMediaType
from backend.http.body_errors import field_error, field_path, is_empty_object, malformed, syntax_error

__all__ = ["field_path", "validate_body_strictly"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _BodyRule(NamedTuple):
    decoder: msgspec.json.Decoder[Any] | None  # None: the handler takes no JSON body
    needs_token: bool
    reads_raw: bool  # no `data`, but the handler takes the request and reads the body itself


# By handler identity. The entry holds the handler itself, so its id cannot be reused by another handler while the
# rule is cached (a process that builds a second app, as the tests do, must never read the first app's rules).
_rules: dict[int, tuple[Any, _BodyRule]] = {}


def needs_token(handler: Any) -> bool:
    """Whether the handler depends, directly or through other dependencies, on the verified token."""
    provided = handler.resolve_dependencies()
    todo, seen = list(handler.parsed_fn_signature.parameters), set()
    while todo:
        name = todo.pop()
        if name in ("claims", "principal"):  # `principal` is built from `claims`
            return True
        if name in seen or name not in provided:
            continue
        seen.add(name)
        todo.extend(inspect.signature(provided[name].dependency).parameters)
    return False


def _rule_for(request: Request[Any, Any, Any]) -> _BodyRule:
    handler = request.scope["route_handler"]
    cached = _rules.get(id(handler))
    if cached is not None and cached[0] is handler:
        return cached[1]
    params = handler.parsed_fn_signature.parameters
    param = params.get("data")
    decoder = msgspec.json.Decoder(param.annotation, strict=True) if param is not None else None
    rule = _BodyRule(decoder, needs_token(handler), param is None and "request" in params)
    _rules[id(handler)] = (handler, rule)
    return rule


def _declares_body(request: Request[Any, Any, Any]) -> bool:
    """Whether the request carries content at all (RFC 9112: a request without either header has none)."""
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


def _authenticate(request: Request[Any, Any, Any], rule: _BodyRule) -> None:
    if rule.needs_token:
        # Authentication answers before validation: a caller without a valid token learns nothing about the body.
        # The verified claims are kept for the `claims` dependency, so the token is checked once per request.
        from backend.http.deps import verify_token

        request.scope["state"]["claims"] = verify_token(request)


def _read_as(request: Request[Any, Any, Any], body: bytes) -> None:
    # Litestar caches the body on the request and its connection state; its own `data` conversion reads it there.
    request._body = request._connection_state.body = body  # noqa: SLF001


def _malformed(body: bytes, exc: msgspec.DecodeError) -> MalformedRequest:
    detail, position = malformed(body, exc)
    extra: dict[str, Any] = {"reason": "malformed_json"}
    if position is not None:
        extra["position"] = position
    return MalformedRequest(detail, extra=extra)


async def _refuse_unexpected_body(request: Request[Any, Any, Any], rule: _BodyRule) -> None:
    if rule.reads_raw or request.method not in _BODY_METHODS or not _declares_body(request):
        return
    _authenticate(request, rule)
    if not is_empty_object(await request.body()):
        raise MalformedRequest("This operation takes no request body: send none (or `{}`)",
                               extra={"reason": "body_not_expected"})


async def validate_body_strictly(request: Request[Any, Any, Any]) -> None:
    """before_request hook: 415 for a non-JSON body, 400 for unreadable JSON (or a body where none is expected),
    422 with the field at fault; no body is read as `{}`."""
    rule = _rule_for(request)
    if rule.decoder is None:
        await _refuse_unexpected_body(request, rule)
        return
    _authenticate(request, rule)
    if _declares_body(request):
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType(
                f"Send the body as application/json (got {media_type or 'no content type'})",
                headers={"Accept": "application/json"},
            )
        body = await request.body()
    else:
        body = b""
    if not body.strip():
        body = b"{}"  # no body means no fields: fine for an action whose fields are all optional
        _read_as(request, body)
    try:
        rule.decoder.decode(body)
    except msgspec.ValidationError as exc:
        # A typed decoder stops at the first field it dislikes; broken JSON further on is still a 400.
        broken = syntax_error(body)
        if broken is not None:
            raise _malformed(body, broken) from None
        raise InvalidInput(errors=[field_error(exc)]) from None
    except msgspec.DecodeError as exc:
        raise _malformed(body, exc) from None
