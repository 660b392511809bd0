"""The API's shapes have one source: the pydantic models the routes declare with ``api_route``.
The OpenAPI document at ``/api/v1/openapi.json`` is generated from them (every request body and
answer schema is its model's schema), every API route is in it, and a request body is refused
by its model with the route's stable codes, in the caller's language."""

from __future__ import annotations

import re

import pytest

from wzcheckin.api import OPERATIONS, openapi_path
from wzcheckin.api.openapi import REF_TEMPLATE, not_null
from wzcheckin.api.shapes import ErrorBody, RequestModel, ResponseShapeError, check_answer, parse_body

CJK = re.compile(r"[\u4e00-\u9fff]")


def inline(schema, defs: dict, depth: int = 0):
    """``schema`` with every ``$ref`` replaced by what it names (``defs``: name → schema)."""
    assert depth < 40, "a schema refers to itself"
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            assert name in defs, f"dangling $ref {schema['$ref']}"
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            return inline({**defs[name], **rest}, defs, depth + 1)
        return {key: inline(value, defs, depth + 1) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [inline(item, defs, depth + 1) for item in schema]
    return schema


def model_schema(model, mode: str) -> dict:
    schema = model.model_json_schema(mode=mode, ref_template=REF_TEMPLATE)  # as the document's refs read
    return inline(schema, schema.get("$defs", {}))


@pytest.fixture(scope="module")
def document(app):
    client = app.test_client()
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_request_body_and_answer_schema_is_its_models_schema(document):
    components = document["components"]["schemas"]
    compared = 0
    for op in OPERATIONS:
        entry = document["paths"]["/api/v1" + openapi_path(op.rule)][op.method]
        where = f"{op.method.upper()} {op.rule}"
        if op.body is None:
            assert "requestBody" not in entry, where
        else:
            content = entry["requestBody"]["content"]
            assert list(content) == [op.request_media_type], where
            assert inline(content[op.request_media_type]["schema"], components) == model_schema(op.body, "validation"), where
            compared += 1
        for status, model in op.responses.items():
            answer = entry["responses"][str(status)]
            if model is None or status == 204:
                assert "content" not in answer, where
                continue
            (media_type, body), = answer["content"].items()
            assert media_type == (op.response_media_type if status < 300 else "application/json"), where
            assert inline(body["schema"], components) == model_schema(model, "serialization"), (where, status)
            compared += 1
        # Query parameters: the query model's fields, each with its field's schema.
        documented = [p for p in entry.get("parameters", []) if p["in"] == "query"]
        if op.query is None:
            assert documented == [], where
        else:
            schema = model_schema(op.query, "validation")
            assert [p["name"] for p in documented] == list(schema["properties"]), where
            for parameter in documented:
                field = dict(schema["properties"][parameter["name"]])
                assert parameter.get("description") == field.pop("description", None), where
                assert parameter["schema"] == not_null({k: v for k, v in field.items() if k != "default"}), where
                assert parameter["required"] == (parameter["name"] in schema.get("required", [])), where
            compared += 1
        # The refusals every route may give are documented with the one error model.
        for status, answer in entry["responses"].items():
            if int(status) >= 400 and op.responses.get(int(status)) is None:
                schema = answer["content"]["application/json"]["schema"]
                assert inline(schema, components) == model_schema(ErrorBody, "serialization"), (where, status)
    assert compared > 50


def test_no_api_route_is_undocumented_and_nothing_documented_is_missing(app, document):
    routes = {(openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, entry in document["paths"].items() for method in entry}
    assert routes == documented
    for path, entry in document["paths"].items():
        for method, operation in entry.items():
            successes = {int(s) for s in operation["responses"] if int(s) < 300}
            assert successes, f"{method.upper()} {path}: no answer documented"
            for status in successes - {204}:
                assert "content" in operation["responses"][str(status)], f"{method.upper()} {path} {status}"


def test_the_document_keeps_roles_and_every_reference_resolves(document):
    components = document["components"]["schemas"]
    for path, entry in document["paths"].items():
        for method, operation in entry.items():
            inline(operation, components)  # fails on a dangling $ref
            public = "x-roles" not in operation
            assert public == ("security" not in operation), f"{method} {path}"
    assert document["paths"]["/api/v1/scans"]["post"]["x-roles"] == ["gatekeeper", "venue_staff", "pickup_staff"]
    assert "x-roles" not in document["paths"]["/api/v1/keys"]["get"]
    # Request bodies are closed: an unknown field is refused, and the document says so.
    for op in OPERATIONS:
        if op.body is not None and issubclass(op.body, RequestModel):
            assert op.body.model_json_schema()["additionalProperties"] is False, op.rule


def _models():
    from wzcheckin.benefits.api import CarrierRequest, ComplaintRequest, PosterCheckinRequest
    from wzcheckin.residence.api import AppealRequest, DepartureRequest
    from wzcheckin.scanning.api import ScanRequest
    from wzcheckin.venues.api import BookRequest

    return {model.__name__: model for model in (ScanRequest, BookRequest, DepartureRequest, AppealRequest,
                                                CarrierRequest, PosterCheckinRequest, ComplaintRequest)}


# body → the code the hand-written checks answered before the models (and SPEC §6 names).
REFUSALS = [
    ("ScanRequest", {"token": "t", "colour": "red"}, "unknown_field"),
    ("ScanRequest", {}, "token_required"),
    ("ScanRequest", {"token": ""}, "token_required"),
    ("ScanRequest", {"token": 5}, "token_required"),
    ("ScanRequest", {"token": "x" * 257}, "token_too_long"),
    ("ScanRequest", {"token": "t", "scanned_at": "2021-02-05T09:00:00"}, "invalid_scanned_at"),
    ("ScanRequest", {"token": "t", "scanned_at": "9999-12-31T23:59:59-14:00"}, "invalid_scanned_at"),
    ("ScanRequest", {"token": "t", "scanned_at": 1612486800}, "invalid_scanned_at"),
    ("ScanRequest", {"token": "t", "mask": "yes"}, "invalid_mask"),
    ("ScanRequest", {"token": "t", "mask": 1}, "invalid_mask"),
    ("ScanRequest", {"token": "t", "temperature": True}, "invalid_temperature"),
    ("ScanRequest", {"token": "t", "temperature": "36.5"}, "invalid_temperature"),
    ("ScanRequest", {"token": "t", "temperature": 29.9}, "invalid_temperature"),
    ("ScanRequest", {"token": "t", "temperature": 36.555}, "invalid_temperature"),
    ("ScanRequest", {"token": "t", "device": "d" * 65}, "invalid_device"),
    ("ScanRequest", {"token": "t", "symptoms": "no"}, "invalid_symptoms"),
    ("ScanRequest", {"token": "t", "scan_id": "short"}, "invalid_scan_id"),
    ("ScanRequest", {"token": "t", "mask": "x", "temperature": "y"}, "invalid_mask"),  # the first wrong field
    ("BookRequest", {"slot_id": 1, "x": 1}, "unknown_field"),
    ("BookRequest", {"slot_id": True}, "invalid_slot_id"),
    ("BookRequest", {"slot_id": "1"}, "invalid_slot_id"),
    ("BookRequest", {"slot_id": 0}, "invalid_slot_id"),
    ("BookRequest", {}, "invalid_slot_id"),
    ("DepartureRequest", {"departed_on": "2021-02-30"}, "invalid_date"),
    ("DepartureRequest", {}, "invalid_date"),
    ("DepartureRequest", {"departed_on": "2021-02-03", "note": 5}, "invalid_note"),
    ("DepartureRequest", {"departed_on": "2021-02-03", "note": "n" * 201}, "note_too_long"),
    ("AppealRequest", {"reason": None}, "appeal_reason_required"),
    ("AppealRequest", {"reason": ""}, "appeal_reason_required"),
    ("AppealRequest", {"reason": "r" * 1001}, "appeal_reason_too_long"),
    ("CarrierRequest", {"carrier": 3}, "carrier_unknown"),
    ("CarrierRequest", {"carrier": "pigeon_post"}, "carrier_unknown"),
    ("CarrierRequest", {"carrier": "china_mobile", "plan": 1}, "unknown_field"),
    ("PosterCheckinRequest", {"token": ["a"]}, "poster_invalid"),
    ("ComplaintRequest", {"months": [], "amount_yuan": "1", "description": "d"}, "invalid"),
]


@pytest.mark.parametrize(("model", "body", "code"), REFUSALS,
                         ids=[f"{m}-{c}-{i}" for i, (m, _b, c) in enumerate(REFUSALS)])
def test_a_body_is_refused_by_its_model_with_the_routes_stable_code(app, model, body, code):
    from wzcheckin.core.api_errors import HTTP_CODES, ApiError

    messages = {}
    for language in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": language}):
            with pytest.raises(ApiError) as refused:
                parse_body(_models()[model], body)
            assert (refused.value.status, refused.value.code) == (422, code)
            # No message of its own: the error handler gives the status's (core.api_errors.HTTP_CODES).
            messages[language] = str(refused.value.message or HTTP_CODES[422][1])
    assert messages["en"] and not CJK.search(messages["en"]), messages
    assert CJK.search(messages["zh-CN"]), messages


def test_a_valid_body_becomes_the_domain_input(app):
    models = _models()
    with app.test_request_context():
        scan = parse_body(models["ScanRequest"], {"token": "t", "scan_id": "scan-0001", "scanned_at":
                                                  "2021-02-05T09:00:00+08:00", "temperature": 37.25}).scan_input()
        complaint = parse_body(models["ComplaintRequest"], {"months": 3, "amount_yuan": 4500.5, "description": "d"})
    assert scan.scanned_at.isoformat() == "2021-02-05T01:00:00+00:00"
    assert str(scan.temperature) == "37.25"  # as given: the fever check compares the reading itself
    assert complaint.complaint_input().months == "3" and complaint.complaint_input().amount_yuan == "4500.5"
    field_errors = None
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from wzcheckin.core.api_errors import ApiError

        try:
            parse_body(models["ComplaintRequest"], {"months": "x", "amount_yuan": [1]})
        except ApiError as refused:
            field_errors = refused.extra["codes"]
    assert field_errors == {"amount_yuan": "amount_format", "description": "required"}


def test_an_answer_is_held_to_its_model_under_test():
    from wzcheckin.venues.api import LeftWaitlist

    check_answer(LeftWaitlist, b'{"id": 7, "status": "left"}')
    with pytest.raises(ResponseShapeError, match="undocumented key"):
        check_answer(LeftWaitlist, b'{"id": 7, "status": "left", "worker_phone": "13800001234"}')
    with pytest.raises(ResponseShapeError):
        check_answer(LeftWaitlist, b'{"id": "7", "status": "left"}')
    with pytest.raises(ResponseShapeError):
        check_answer(LeftWaitlist, b'{"id": 7}')
