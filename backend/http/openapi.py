"""The published schema says what the server enforces: Litestar's OpenAPI document, corrected once at start-up.

Litestar's generator misses what msgspec enforces (it maps `time` to a duration, drops
`forbid_unknown_fields`), gives public operations the global bearer security and documents a 400 in its own
shape that the server never sends. Each body and response Struct's component is therefore replaced by
msgspec's own JSON schema of that Struct (`additionalProperties: false` from `forbid_unknown_fields`,
`Meta` bounds and patterns, enums), so every Struct change, in any module, is published without a list here.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

from backend.http.problems import DESCRIPTIONS, PROBLEM_MEDIA_TYPE
from backend.http.strict import needs_token
from backend.settings import Settings

_REF = "#/components/schemas/"
PARAMETER_PROBLEM = 422  # a query, path or header value out of its published bounds (see problems.py)


def _wire_types(handler: HTTPRouteHandler) -> Iterator[Any]:
    signature = handler.parsed_fn_signature
    if "data" in signature.parameters:
        yield signature.parameters["data"].annotation
    returned = signature.return_type.annotation
    yield from typing.get_args(returned) if typing.get_origin(returned) is not None else (returned,)


def _structs(types: list[Any]) -> set[type[msgspec.Struct]]:
    """Every Struct class reachable from the given annotations (unsupported annotations are skipped)."""
    found: set[type[msgspec.Struct]] = set()

    def walk(info: Any) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in found:
                return
            found.add(info.cls)
            for f in info.fields:
                walk(f.type)
            return
        for attr in ("item_type", "key_type", "value_type"):
            if hasattr(info, attr):
                walk(getattr(info, attr))
        for attr in ("types", "item_types"):
            for sub in getattr(info, attr, ()):
                walk(sub)

    for t in types:
        try:
            walk(msgspec.inspect.type_info(t))
        except (TypeError, ValueError):
            continue
    return found


def _component_names(components: dict[str, Any], structs: set[type[msgspec.Struct]]) -> dict[type, str]:
    """Which Litestar component is which Struct: same title (class name) and the same property names."""
    names: dict[type, str] = {}
    for cls in structs:
        wire = {f.encode_name for f in msgspec.structs.fields(cls)}
        matches = [name for name, comp in components.items()
                   if comp.get("title") == cls.__name__ and set(comp.get("properties", {})) == wire]
        if len(matches) == 1:
            names[cls] = matches[0]
    return names


def _msgspec_component(cls: type, names: dict[type, str]) -> dict[str, Any] | None:
    """msgspec's schema of `cls`, its references renamed to the Litestar component names."""
    by_msgspec_name = {c.__name__: n for c, n in names.items()}
    by_msgspec_name.update({re.sub(r"[^a-zA-Z0-9.\-_]", "_", f"{c.__module__}.{c.__qualname__}"): n
                            for c, n in names.items()})
    try:
        (ref,), defs = msgspec.json.schema_components([cls], ref_template="{name}")
    except (TypeError, ValueError):
        return None
    own = defs.pop(ref["$ref"])

    def rename(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                target = by_msgspec_name.get(node["$ref"])
                if target is None:  # an enum or a Struct no route exposes by itself: inline it
                    return rename(defs.get(node["$ref"], {}))
                return {"$ref": _REF + target}
            return {k: rename(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return node

    own = rename(own)
    own["title"] = cls.__name__
    _publish_time_formats(own, msgspec.inspect.type_info(cls))
    return own


# msgspec accepts times and datetimes with or without an offset when the type does not say, and then publishes no
# format at all; publish the form the server reads as meant: a wall-clock time, a datetime with its offset.
_WALL_CLOCK = {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"}


def _time_schema(info: Any) -> dict[str, Any] | None:
    if isinstance(info, msgspec.inspect.TimeType) and info.tz is None:
        return dict(_WALL_CLOCK)
    if isinstance(info, msgspec.inspect.DateTimeType) and info.tz is None:
        return {"type": "string", "format": "date-time"}
    return None


def _publish_time_formats(component: dict[str, Any], info: Any) -> None:
    properties = component.get("properties", {})
    for f in getattr(info, "fields", ()):
        prop = properties.get(f.encode_name)
        if prop is None:
            continue
        options = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
        for option in options:
            fixed = _time_schema(option)
            if fixed is None:
                continue
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") == "string" and "format" not in branch and "pattern" not in branch:
                    branch.update(fixed)


_BINARY = {"type": "string", "format": "binary"}
# Operations that read their body as a stream or a file rather than a `data` Struct: what they take.
RAW_BODIES: dict[str, dict[str, Any]] = {
    "admin_import": {"text/csv": {"schema": {"type": "string"}},
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": _BINARY}},
    "upload_attachment_content": {"application/octet-stream": {"schema": _BINARY}},
    "verify_document_file": {"application/octet-stream": {"schema": _BINARY}},
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF + "Problem"}}}}


def _fix_operation(op: dict[str, Any], public: bool) -> None:
    if public:
        op["security"] = []
    raw = RAW_BODIES.get(op.get("operationId", ""))
    if raw is not None and "requestBody" not in op:
        op["requestBody"] = {"required": True, "content": raw}
    responses = op.setdefault("responses", {})
    default_400 = responses.get("400", {}).get("content", {}).get("application/json")
    if default_400 is not None:  # Litestar's own ValidationException shape: the server never answers with it
        del responses["400"]
    params = op.get("parameters", [])
    for param in params:  # a parameter is sent or not; it cannot be `null`
        schema = param.get("schema", {})
        options = [o for o in schema.get("oneOf", []) if o != {"type": "null"}]
        if "oneOf" in schema and len(options) == 1:
            del schema["oneOf"]
            param["schema"] = {**options[0], **schema}
        elif isinstance(schema.get("type"), list) and "null" in schema["type"]:
            schema["type"] = [t for t in schema["type"] if t != "null"]
            schema["type"] = schema["type"][0] if len(schema["type"]) == 1 else schema["type"]
            if "enum" in schema:
                schema["enum"] = [v for v in schema["enum"] if v is not None]
    if params and str(PARAMETER_PROBLEM) not in responses:
        responses[str(PARAMETER_PROBLEM)] = _problem(DESCRIPTIONS[PARAMETER_PROBLEM])
    if default_400 is not None and "requestBody" in op:
        responses["400"] = _problem(DESCRIPTIONS[400])
    op["responses"] = dict(sorted(responses.items()))


def _handlers(app: Litestar) -> Iterator[tuple[str, HTTPRouteHandler]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.include_in_schema:
                for method in handler.http_methods:
                    yield method.lower(), handler


# By app identity; the entry holds the app, so a later app can never be answered with an earlier one's paths.
_methods_by_path: dict[int, tuple[Litestar, dict[str, set[str]]]] = {}


def _path_methods(app: Litestar) -> dict[str, set[str]]:
    cached = _methods_by_path.get(id(app))
    if cached is not None and cached[0] is app:
        return cached[1]
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path, set()).update(route.methods)
    _methods_by_path[id(app)] = (app, methods)
    return methods


async def complete_allow(message: Message, scope: Scope) -> None:
    """before_send hook: OPTIONS answers `Allow` with every method of the path.

    Litestar builds a path's route handler by handler as controllers register, and the OPTIONS handler made for
    the first of them keeps listing only that one's methods.
    """
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    handler = scope.get("route_handler")
    methods = _path_methods(scope["app"])
    allowed = set().union(*(methods.get(path, set()) for path in getattr(handler, "paths", ())))
    if allowed:
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
        headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
        message["headers"] = headers  # type: ignore[typeddict-unknown-key]


def _publish_configuration(schema: dict[str, Any], settings: Settings, enums: Mapping[str, list[str]]) -> None:
    """Rules the server takes from its configuration or the catalogue rather than from a type.

    `enums` maps `Component.property` (or `?parameter`, for every query parameter of that name) to its values.
    """
    components = schema.get("components", {}).get("schemas", {})
    for item in schema["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []):
                values = enums.get("?" + param["name"])
                if values and param["in"] == "query":
                    param["schema"]["enum"] = list(values)
    for key, values in enums.items():
        component, _, name = key.partition(".")
        prop = components.get(component, {}).get("properties", {}).get(name)
        if prop is None or not values:
            continue
        for branch in prop.get("anyOf", [prop]):  # an optional property keeps its `null`
            if branch.get("type") == "string":
                branch["enum"] = list(values)
    declared = components.get("AttachmentCreate", {}).get("properties", {})
    if "content_type" in declared:
        declared["content_type"]["enum"] = list(settings.attachment_types)
    if "size" in declared:
        declared["size"].update(minimum=1, maximum=settings.attachment_max_bytes)


def refine_openapi(app: Litestar, settings: Settings, enums: Mapping[str, list[str]]) -> dict[str, Any]:
    """Build the schema served at /schema/openapi.json now, and correct it in place (it is cached)."""
    schema = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    operations = {(op.get("operationId"), method): op for item in schema["paths"].values()
                  for method, op in item.items() if isinstance(op, dict)}
    wire: list[Any] = []
    for method, handler in _handlers(app):
        op = operations.get((handler.operation_id, method))
        if op is not None:
            _fix_operation(op, public=not needs_token(handler))
        wire.extend(_wire_types(handler))
    from backend.http.problems import Problem

    wire.append(Problem)
    names = _component_names(components, _structs(wire))
    for cls, name in names.items():
        replacement = _msgspec_component(cls, names)
        if replacement is not None:
            components[name] = replacement
    _publish_configuration(schema, settings, enums)
    return schema
