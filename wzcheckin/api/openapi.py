"""The OpenAPI 3.1 document, generated from the routes registered with ``api_route`` and their
pydantic models: each model's JSON schema (``model_json_schema``) is the operation's request or
answer schema, and the models they use become ``components/schemas``."""

from __future__ import annotations

import re

from flask import jsonify
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from wzcheckin.api import OPERATIONS, Operation, api_route, openapi_path
from wzcheckin.api.shapes import ErrorBody, Shape
from wzcheckin.core.routing import MAX_ROW_ID

REF_TEMPLATE = "#/components/schemas/{model}"


def _path_parameters(rule: str) -> list[dict]:
    params = []
    for converter, name in re.findall(r"<(?:([a-z]+):)?([a-zA-Z_]+)>", rule):
        schema = ({"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID} if converter == "rowid"
                  else {"type": "string", "maxLength": 64})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def query_parameters(model) -> list[dict]:
    """The query model's fields as OpenAPI parameters, each with its field's schema."""
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = not_null(inline_refs(prop, schema.get("$defs", {})))
        description = prop.pop("description", None)
        if prop.get("default", ...) is None:
            del prop["default"]  # absent is no filter: nothing to send
        parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop,
                           **({"description": description} if description else {})})
    return parameters


def not_null(schema: dict) -> dict:
    """A query value is a string or absent, never null: ``str | None`` is documented as a string."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1 and len(schema["anyOf"]) == 2:
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}
    return schema


def inline_refs(schema, defs: dict):
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline_refs(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: inline_refs(value, defs) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(item, defs) for item in schema]
    return schema


def _json(schema: dict, media_type: str = "application/json") -> dict:
    return {media_type: {"schema": schema}}


def model_schemas(operations: list[Operation]) -> tuple[dict, dict]:
    """Every model's schema, ``{(model, mode): schema}`` — a request body's as pydantic validates it,
    an answer's as it is written (``serialization``) — and the ``components/schemas`` they refer to."""
    wanted: dict[tuple[type[BaseModel], str], None] = {(ErrorBody, "serialization"): None}
    for op in operations:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for model in op.responses.values():
            if model is not None:
                wanted[(model, "serialization")] = None
    schemas, top = models_json_schema(list(wanted), ref_template=REF_TEMPLATE)
    return schemas, top.get("$defs", {})


def build_document() -> dict:
    """Built once per process, when the routes are all registered (at import)."""
    if _BUILT and _BUILT[0] == len(OPERATIONS):
        return _BUILT[1]
    document = _build_document()
    _BUILT[:] = [len(OPERATIONS), document]
    return document


_BUILT: list = []


def _build_document() -> dict:
    schemas, components = model_schemas(OPERATIONS)
    error_schema = schemas[(ErrorBody, "serialization")]
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        entry: dict = {"summary": op.summary, "operationId": f"{op.method}_{op.endpoint.split('.')[-1]}"}
        if op.tag:
            entry["tags"] = [op.tag]
        params = _path_parameters(op.rule) + (query_parameters(op.query) if op.query else [])
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": _json(schemas[(op.body, "validation")], op.request_media_type)}
        responses = {}
        for status, model in sorted(op.responses.items()):
            responses[str(status)] = {"description": _describe(status)}
            if model is not None and status != 204:  # 204: no body
                media_type = op.response_media_type if 200 <= status < 300 else "application/json"
                responses[str(status)]["content"] = _json(schemas[(model, "serialization")], media_type)
        for status in _error_statuses(op):
            responses.setdefault(str(status), {"description": _describe(status), "content": _json(error_schema)})
        entry["responses"] = responses
        if op.roles is not None:
            entry["security"] = [{"bearer": []}]
            entry["x-roles"] = list(op.roles)
        paths.setdefault(openapi_path(op.rule), {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wzcheckin API",
            "version": "1",
            "description": "留温过年 check-in and benefits tracker. Errors are "
                           '{"error": {"code", "message"}}; messages follow Accept-Language.',
        },
        "servers": [{"url": "/"}],
        "paths": {"/api/v1" + path: value for path, value in sorted(paths.items())},
        "components": {"schemas": dict(sorted(components.items())),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _error_statuses(op) -> list[int]:
    """What any operation may answer besides its own responses: 400 (a NUL character anywhere,
    a malformed body, a NaN or infinite number), 429, 401/403 with roles, 404 with path parameters, 422 for a bad query
    parameter or body, 413 for a body over the limit (any write), 415 for a body of another type."""
    statuses = [400, 429]
    if op.roles is not None:
        statuses += [401, 403]
    if "<" in op.rule:
        statuses.append(404)
    if op.body is not None or op.query is not None:
        statuses.append(422)
    if op.method not in {"get", "head", "options"}:
        statuses.append(413)
    if op.body is not None:
        statuses.append(415)
    return statuses


def _describe(status: int) -> str:
    return {200: "OK", 201: "Created", 204: "No content", 400: "Bad request", 401: "Unauthorised",
            403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Too large",
            415: "Unsupported media type", 422: "Invalid", 429: "Rate limited"}.get(status, "Response")


class OpenApiDocument(Shape):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict
    paths: dict
    components: dict


@api_route("/openapi.json", methods=["GET"], roles=None, summary="This document", tag="meta",
           responses={200: OpenApiDocument})
def openapi_document():
    return jsonify(build_document())
