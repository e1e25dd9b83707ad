"""Render the OpenAPI schema as a Markdown API reference (`fieldlog api-docs`)."""

from __future__ import annotations

from typing import Any

from backend.settings import Settings


def openapi_schema(settings: Settings) -> dict[str, Any]:
    from litestar._openapi.plugin import OpenAPIPlugin

    from backend.app import create_app

    # create_app has refined the schema (backend/http/openapi.py); this is the very document it serves.
    return create_app(settings, "postgresql://unused/unused").plugins.get(OpenAPIPlugin).provide_openapi_schema()


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + schema["$ref"].rsplit("/", 1)[-1] + "`"
    if schema.get("type") == "array":
        return "list of " + _ref_name(schema.get("items", {}))
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    return f"`{schema.get('type', 'object')}`"


def _bounds(schema: dict[str, Any]) -> str:
    """What the server enforces on a parameter, as published (out of bounds: 422 naming it)."""
    parts = []
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        parts.append("one of " + ", ".join(f"`{v}`" for v in values[:12]) + (" …" if len(values) > 12 else ""))
    if "minimum" in schema or "maximum" in schema:
        low, high = (schema.get(k, "") for k in ("minimum", "maximum"))
        parts.append("–".join(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in (low, high)))
    if "pattern" in schema:
        parts.append(f"`{schema['pattern']}`".replace("|", "\\|"))
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    return "; ".join(parts)


def render_markdown(schema: dict[str, Any]) -> str:
    lines = [f"# {schema['info']['title']} — API reference", "",
             "Generated from the OpenAPI schema (`fieldlog api-docs`); the live schema is served at "
             "`/schema/openapi.json`. Errors are RFC 9457 problem documents (`application/problem+json`).", "",
             "Request bodies, the same for every operation (backend/http/strict.py):", "",
             "- A JSON body is decoded strictly against its schema: an unknown key anywhere answers 422 with "
             "`code: unknown_field` naming it (`note`, `location.alt`); nothing is silently dropped.",
             "- A body that is not JSON answers 400 `malformed-request` saying where parsing stopped "
             "(`detail: \"JSON is malformed: truncated at byte 12\"`, `position: 12`, `reason: malformed_json`); "
             "a broken gzip body answers 400 too (`reason: malformed_gzip`).",
             "- A body of another content type than `application/json` answers 415.",
             "- No body (no `Content-Length`, or 0; no `Content-Type` needed) is read as `{}`: an action whose "
             "fields are all optional (`submit_entry`) needs none; one with required fields answers 422 naming them.",
             "- An operation that takes no body accepts none, an empty one or `{}`; any other body answers 400 "
             "`reason: body_not_expected`. Uploads, roster imports and file checks take raw bytes instead.",
             ""]
    lines += ["Parameters: a query, path or header value outside the bounds listed with it answers 422 "
              "`invalid-parameters` naming the parameter as sent (`errors[].field`: `year`, `from`), never a 5xx. "
              "Operations marked public take no token (`security: []`); every other one needs the bearer token.", ""]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in sorted(schema["paths"].items()):
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method.upper(), op))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, op in by_tag[tag]:
            public = " (public: no token)" if op.get("security") == [] else ""
            lines += [f"### `{method} {path}` — {op.get('summary', '')}", "",
                      f"operation id: `{op['operationId']}`{public}", ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | required | type | bounds |", "| --- | --- | --- | --- | --- |"]
                lines += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                          f"{_ref_name(p.get('schema', {}))} | {_bounds(p.get('schema', {}))} |" for p in params]
                lines.append("")
            body = op.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                lines += [f"Request body ({media}): {_ref_name(content.get('schema', {}))}", ""]
            lines += ["| status | meaning |", "| --- | --- |"]
            for status, resp in sorted(op.get("responses", {}).items()):
                lines.append(f"| {status} | {resp.get('description', '').strip()} |")
            lines.append("")
    components = schema.get("components", {}).get("schemas", {})
    if components:
        lines += ["## Schemas", ""]
        for name, comp in sorted(components.items()):
            lines += [f"### `{name}`", ""]
            props = comp.get("properties", {})
            required = set(comp.get("required", []))
            if props:
                lines += ["| field | type | required |", "| --- | --- | --- |"]
                lines += [f"| `{k}` | {_ref_name(v)} | {'yes' if k in required else 'no'} |" for k, v in props.items()]
                lines.append("")
    return "\n".join(lines) + "\n"
