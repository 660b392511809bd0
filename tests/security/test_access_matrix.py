"""The access-control matrix (OWASP ASVS V8): every route and method of the app, from its own
``url_map``, × anonymous and every role × their own object and another side's, against the table
in ``access_table.py``.

* A route missing from the table (or a line for a route that is gone) fails the test.
* The roles each view declares (``wz_roles``) must agree with the table.
* A refusal is 401/403/404 (a page sends the anonymous to the log-in page) and carries none of
  the other side's identifying values; an allowed call is never refused and never a 5xx.
* Every answer to a logged-in caller is ``Cache-Control: no-store``, and every HTML page has the
  strict CSP (no ``'wasm-unsafe-eval'`` anywhere, the scanner page included: its QR decoder is
  plain JavaScript).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from tests.security.access_table import ACCESS, ANYONE, Access
from tests.security.world import ANONYMOUS, Principal, World, build_world, log_in

SAFE = {"GET", "HEAD", "OPTIONS"}
DENIED = {401, 403, 404}


def app_routes(app) -> dict[str, str]:
    """``"METHOD /rule"`` → endpoint, for every rule and method the app serves."""
    routes = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes[f"{method} {rule.rule}"] = rule.endpoint
    return routes


def fill(rule: str, params: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in params, f"{rule}: the world gives no {name!r}"
        return quote(str(params[name]), safe="/")

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", value, rule)


def test_every_route_is_in_the_table_and_every_line_is_a_route(app):
    routes = app_routes(app)
    missing = sorted(set(routes) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(routes))
    assert not missing, "routes missing from tests/security/access_table.py:\n  " + "\n  ".join(missing)
    assert not stale, "lines for routes the app no longer has:\n  " + "\n  ".join(stale)


def test_the_table_agrees_with_the_roles_each_view_declares(app):
    disagreements = []
    for key, endpoint in app_routes(app).items():
        view = app.view_functions[endpoint]
        declared = getattr(view, "wz_roles", None)
        if declared is None and endpoint != "static":
            disagreements.append(f"{key}: the view declares no roles (roles_required, public or api_route)")
            continue
        declared = set(ANYONE) if declared is None or "anonymous" in declared else {str(r) for r in declared}
        expected = set(ACCESS[key].roles) if key in ACCESS else None
        if expected is not None and declared != expected:
            disagreements.append(f"{key}: the view says {sorted(declared)}, the table {sorted(expected)}")
    assert not disagreements, "\n".join(disagreements)


class Caller:
    """Sends a principal's requests: pages with a logged-in session cookie (and a CSRF token),
    the API with the principal's bearer token."""

    def __init__(self, app, db, principal: Principal):
        self.app, self.db, self.principal = app, db, principal
        self.pages = app.test_client()
        self.api = app.test_client(use_cookies=False)
        self.csrf = log_in(db, self.pages, principal, app.config["SECRET_KEY"])

    def send(self, method: str, url: str):
        if url.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.principal.token}"} if self.principal.token else {}
            kwargs = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
            return self.api.open(url, method=method, headers=headers, **kwargs)
        kwargs = {} if method in SAFE else {"data": {"csrf_token": self.csrf}}
        response = self.pages.open(url, method=method, **kwargs)
        if url == "/logout":  # a logged-out principal logs in again for the next route
            self.csrf = log_in(self.db, self.pages, self.principal, self.app.config["SECRET_KEY"])
        return response


def audit_count(db) -> int:
    from wzcheckin.core.models import AuditEntry

    db.rollback()
    count = db.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    db.rollback()
    return count


def refused(response, api: bool) -> bool:
    if response.status_code in DENIED:
        return True
    return not api and response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")


@pytest.fixture
def world(db, vault, programme, keyring) -> World:
    return build_world(db, vault, programme, keyring)


def test_the_access_matrix(app, db, world):
    routes = app_routes(app)
    callers = {principal.name: Caller(app, db, principal) for principal in world.principals()}
    others = {"A": world.sides["B"].markers}
    everyone_markers = world.sides["A"].markers + world.sides["B"].markers
    secrets = world.sides["A"].secrets + world.sides["B"].secrets
    problems: list[str] = []
    sent = 0
    revealed: set[str] = set()
    # Reads first, then writes, so an allowed write cannot change what a later read finds.
    order = sorted(routes, key=lambda key: (key.split(" ", 1)[0] not in SAFE, key.split(" ", 1)[1], key))
    for key in order:
        if key not in ACCESS:
            continue  # reported by test_every_route_is_in_the_table_and_every_line_is_a_route
        method, rule = key.split(" ", 1)
        access: Access = ACCESS[key]
        api = rule.startswith("/api/")
        public = "anonymous" in access.roles
        for principal in world.principals():
            caller = callers[principal.name]
            allowed = public or principal.role in access.roles
            side = principal.side or "A"
            forbidden_words = everyone_markers if principal.role == ANONYMOUS else others.get(principal.side, [])
            attempts: list[tuple[str, bool]] = []  # (url, should be allowed)
            path = access.path_for(principal.role)
            if path is None:
                attempts.append((rule, allowed))
            elif allowed and principal.role in access.owned_by:
                attempts.append((fill(rule, world.params(path, "B")), False))   # another side's
                attempts.append((fill(rule, world.params(path, side)), True))   # their own
            elif allowed:
                attempts.append((fill(rule, world.params(path, "B")), True))    # officials: any
            else:
                attempts.append((fill(rule, world.params(path, side)), False))  # wrong role
            for url, should_pass in attempts:
                audit_before = audit_count(db) if access.reveals else 0
                response = caller.send(method, url)
                sent += 1
                where = f"{key} as {principal.name} ({url})"
                body = response.get_data(as_text=True) if response.mimetype != "image/png" else ""
                response.close()  # static files are streamed from an open file
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code}")
                    continue
                if should_pass and not public and refused(response, api):
                    problems.append(f"{where}: allowed by the table, refused with {response.status_code}")
                if not should_pass and not refused(response, api):
                    problems.append(f"{where}: should be refused, got {response.status_code}")
                # A refusal may repeat the URL the caller typed; anything else of the other side is a leak.
                leaked = [word for word in forbidden_words if word in body and word not in url]
                if leaked:
                    problems.append(f"{where}: shows {leaked}")
                # Full ID and phone numbers: masked on every screen and export but the audited reveals.
                shown = [secret for secret in secrets if secret in body]
                if shown and not access.reveals:
                    problems.append(f"{where}: shows a full ID or phone number")
                if shown:
                    revealed.add(key)
                if shown and audit_count(db) == audit_before:
                    problems.append(f"{where}: revealed full numbers without an audit entry")
                personal = principal.user is not None and rule != "/logout" and not rule.startswith("/static/")
                if personal and "no-store" not in response.headers.get("Cache-Control", ""):
                    problems.append(f"{where}: Cache-Control {response.headers.get('Cache-Control')!r}")
                if response.mimetype == "text/html":
                    csp = response.headers.get("Content-Security-Policy", "")
                    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
                        if directive not in csp:
                            problems.append(f"{where}: CSP lacks {directive}")
                    if "'wasm-unsafe-eval'" in csp:
                        problems.append(f"{where}: 'wasm-unsafe-eval' present")
    print(f"access matrix: {sent} requests, {len(routes)} routes × {len(world.principals())} principals")
    assert not problems, f"{len(problems)} problem(s) in {sent} requests:\n" + "\n".join(problems)
    assert sent >= len(set(routes) & set(ACCESS)) * len(world.principals())
    # The reveals really revealed (so the audit check above was exercised).
    assert {"POST /carrier/claims/export", "POST /api/v1/carrier/claims/export",
            "POST /admin/benefits/complaints/<rowid:complaint_id>/contact"} <= revealed, revealed
