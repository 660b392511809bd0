"""Bad bodies on every API write route (from the app's ``url_map``): JSON that is not an object,
wrong types, 1 MB, nested 10,000 deep, invalid UTF-8, a NUL character, the wrong content type.
Never a 5xx; every refusal is ``{"error": {"code", "message"}}`` with the same stable code in
both languages and the message in the caller's language (Accept-Language zh / en).
"""

from __future__ import annotations

import json
import re

from tests.security.access_table import ACCESS
from tests.security.test_access_matrix import app_routes, fill
from tests.security.world import build_world
from wzcheckin.api import OPERATIONS

CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
WRONG_TYPES = [[], {}, "", "x" * 300, -1, 0, 2**70, 1.5, True, None, float("1e308")]


def bodies(schema: dict | None, limit: int) -> dict[str, tuple[bytes, str]]:
    """name → (raw body, content type); ``limit`` is the route's largest body."""
    properties = (schema or {}).get("properties") or {"anything": {}}
    cases = {
        "over the limit": (b'{"a": "' + b"x" * limit + b'"}', "application/json"),
        "array": (b"[]", "application/json"),
        "string": (b'"a string"', "application/json"),
        "number": (b"42", "application/json"),
        "null": (b"null", "application/json"),
        "not json": (b"{'slot_id': 1,", "application/json"),
        "1 MB": (json.dumps({name: "x" * 1_048_576 for name in list(properties)[:1]}).encode(), "application/json"),
        "nested 10,000 deep": (b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "application/json"),
        "invalid UTF-8": (b'{"token": "\xff\xfe\xc3\x28"}', "application/json"),
        "NUL character": (json.dumps({name: "a\u0000b" for name in properties}).encode(), "application/json"),
        "wrong content type": (json.dumps({name: "1" for name in properties}).encode(), "text/plain"),
        "form encoded": (b"slot_id=1&token=x", "application/x-www-form-urlencoded"),
        "unknown field": (json.dumps({"no_such_field": 1}).encode(), "application/json"),
    }
    for index, wrong in enumerate(WRONG_TYPES):
        cases[f"wrong types #{index}"] = (json.dumps({name: wrong for name in properties}).encode(),
                                          "application/json")
    return cases


def test_bad_bodies_on_every_api_write_route_get_a_clear_answer_in_both_languages(app, db, vault, programme,
                                                                                   keyring):
    world = build_world(db, vault, programme, keyring)
    schemas = {(op.rule, op.method.upper()): op.body.model_json_schema() if op.body else None for op in OPERATIONS}
    client = app.test_client(use_cookies=False)
    problems, tried, refusals = [], 0, 0
    for key in sorted(app_routes(app)):
        method, rule = key.split(" ", 1)
        if not rule.startswith("/api/") or method not in {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        access = ACCESS[key]
        principal = next(p for p in world.principals() if p.role in access.roles)
        url = fill(rule, world.params(access.path, principal.side or "A")) if access.path else rule
        reads_json = schemas.get((rule.removeprefix("/api/v1"), method)) is not None
        limit = app.view_functions[app_routes(app)[key]].wz_max_body_bytes
        for name, (body, content_type) in bodies(schemas.get((rule.removeprefix("/api/v1"), method)), limit).items():
            answers = {}
            for language in ("en", "zh-CN"):
                response = client.open(url, method=method, data=body, headers={
                    "Authorization": f"Bearer {principal.token}", "Content-Type": content_type,
                    "Accept-Language": language})
                tried += 1
                answers[language] = response
            where = f"{key} with {name}"
            en, zh = answers["en"], answers["zh-CN"]
            if en.status_code >= 500 or zh.status_code >= 500:
                problems.append(f"{where}: {en.status_code}/{zh.status_code}")
                continue
            if (name == "over the limit" or (name == "1 MB" and limit < 1_048_576)) and en.status_code != 413:
                problems.append(f"{where}: {en.status_code}, not 413")
            if reads_json and en.status_code < 400 and name not in {"null"} and not name.startswith("wrong types"):
                problems.append(f"{where}: accepted with {en.status_code}")
            if en.status_code < 400:
                continue
            refusals += 1
            error_en = (en.get_json(silent=True) or {}).get("error") or {}
            error_zh = (zh.get_json(silent=True) or {}).get("error") or {}
            code = error_en.get("code", "")
            if not CODE.match(code) or error_zh.get("code") != code or zh.status_code != en.status_code:
                problems.append(f"{where}: codes {code!r} / {error_zh.get('code')!r}")
            if not error_en.get("message") or CJK.search(error_en["message"]):
                problems.append(f"{where}: English message {error_en.get('message')!r}")
            if not CJK.search(error_zh.get("message") or ""):
                problems.append(f"{where}: Chinese message {error_zh.get('message')!r}")
    print(f"bad bodies: {tried} requests, {refusals} refusals checked in both languages")
    assert not problems, f"{len(problems)} problem(s) in {tried} requests:\n" + "\n".join(problems)
    assert tried > 500 and refusals > 200, (tried, refusals)


# 5xx found in rooms another engineer is working on at the same time (reported to them): listed
# here so the sweep stays strict about every other route; a fixed one must be taken off the list.
KNOWN_5XX: set[str] = set()  # routes known to answer 5xx to absurd queries (none)

ABSURD_QUERIES = [
    {"page": "9" * 30, "tier": "9" * 30, "per_page": "-1"},
    {"date": "9999-12-31", "from": "0001-01-01", "to": "9999-12-31", "day": "0000-00-00"},
    {"district": "x" * 3000, "kind": "🙂", "mode": "'", "status": "[]", "q": "%", "reason": "\\"},
    {"page": "-5", "tier": "abc", "date": "2021-02-30", "next": "//evil.example/"},
]


def test_absurd_query_strings_on_every_page_and_read_never_give_a_5xx(app, db, vault, programme, keyring):
    """Every GET route, as a caller allowed to read it, with query strings no form sends: huge page
    numbers and tiers, calendar edges, odd characters — the answer is never a 5xx."""
    world = build_world(db, vault, programme, keyring)
    from tests.security.world import log_in

    clients = {}
    problems, known, tried = [], [], 0
    for key in sorted(app_routes(app)):
        method, rule = key.split(" ", 1)
        if method != "GET" or rule.startswith("/static/") or key not in ACCESS:
            continue
        access = ACCESS[key]
        principal = next(p for p in world.principals() if "anonymous" in access.roles or p.role in access.roles)
        url = fill(rule, world.params(access.path, principal.side or "A")) if access.path else rule
        if principal.name not in clients:
            clients[principal.name] = app.test_client()
            log_in(db, clients[principal.name], principal, app.config["SECRET_KEY"])
        client = clients[principal.name]
        headers = {"Authorization": f"Bearer {principal.token}"} if rule.startswith("/api/") and principal.token else {}
        for query in ABSURD_QUERIES:
            response = client.get(url, query_string=query, headers=headers)
            response.close()  # static-like answers stream
            tried += 1
            if response.status_code >= 500:
                (known if key in KNOWN_5XX else problems).append(f"{key} ({url}) with {query}: {response.status_code}")
    assert not problems, "\n".join(problems)
    still_broken = {problem.split(" (", 1)[0] for problem in known}
    assert still_broken == KNOWN_5XX, f"fixed, take off KNOWN_5XX: {KNOWN_5XX - still_broken}"
    assert tried > 300


ABSURD_VALUES = ["9" * 40, "-1", "0001-01-01", "9999-12-31", "1e999", "NaN", "x" * 5000, "99:99", "🙂", ""]
COMMON_FIELDS = {"capacity", "amount_yuan", "months", "stock", "class_hours", "cost_yuan", "temperature", "date",
                 "starts_on", "ends_on", "departed_on", "first", "last", "reason", "note", "weekdays", "opens", "closes",
                 "slot_minutes", "length", "from", "to", "status", "carrier", "code", "phone", "id_number", "name"}


def test_absurd_values_in_every_field_of_every_page_form_never_give_a_5xx(app, db, vault, programme, keyring):
    """Every POST page, as a caller allowed to use it, with a valid CSRF token and every field its
    form has (plus common ones) set to the same absurd value: a refusal, never a 5xx."""
    import re

    from tests.security.world import log_in

    world = build_world(db, vault, programme, keyring)
    problems, tried = [], 0
    for key in sorted(app_routes(app)):
        method, rule = key.split(" ", 1)
        if method != "POST" or rule.startswith("/api/") or key not in ACCESS:
            continue
        access = ACCESS[key]
        principal = next(p for p in world.principals() if "anonymous" in access.roles or p.role in access.roles)
        url = fill(rule, world.params(access.path, principal.side or "A")) if access.path else rule
        client = app.test_client()
        token = log_in(db, client, principal, app.config["SECRET_KEY"])
        fields = set(COMMON_FIELDS)
        if f"GET {rule}" in ACCESS:
            form = client.get(url)
            fields |= set(re.findall(r'name="([a-z_]+)"', form.get_data(as_text=True))) - {"csrf_token"}
            form.close()
        for value in ABSURD_VALUES:
            response = client.post(url, data={**dict.fromkeys(fields, value), "csrf_token": token})
            response.close()
            tried += 1
            if response.status_code >= 500:
                problems.append(f"{key} ({url}) with every field = {value[:20]!r}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert tried > 400


def test_scan_times_at_the_edges_of_the_calendar_are_refused_not_a_500(client, db, vault, programme, keyring):
    """A queued scan's ``scanned_at`` with an extreme offset at the calendar's edge has no UTC form."""
    from tests.scanning.builders import bearer, gate_setup, pass_token
    from wzcheckin import clock

    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = {**bearer(db, gatekeeper, clock.now()), "Accept-Language": "en"}
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    for instant in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00"):
        response = client.post("/api/v1/scans", headers=headers,
                               json={"token": token, "scanned_at": instant, "mask": True, "temperature": 36.5})
        assert response.status_code == 422, (instant, response.status_code)
        assert response.get_json()["error"]["code"] == "invalid_scanned_at"
