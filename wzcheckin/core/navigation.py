"""Where each role lands after logging in, and safe redirects."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import url_for
from werkzeug.routing import BuildError

from wzcheckin.accounts.models import Role


@dataclass(frozen=True)
class NavItem:
    """A link in the role's navigation bar; rooms list theirs in ``views.NAV_ITEMS``."""

    roles: tuple[Role, ...]
    endpoint: str
    label: object  # a lazy_gettext string
    order: int = 50


ROLE_HOMES = {
    Role.WORKER: ("accounts.home",),
    Role.GATEKEEPER: ("scanning.scanner",),
    Role.VENUE_STAFF: ("scanning.scanner",),
    Role.PICKUP_STAFF: ("scanning.scanner",),
    Role.ENTERPRISE_ADMIN: ("enterprises.dashboard",),
    Role.CARRIER: ("benefits.carrier_claims",),
    Role.OFFICIAL: ("admin.dashboard",),
}


def nav_for(role: Role | None) -> list[NavItem]:
    from flask import current_app

    if role is None:
        return []
    return [item for item in current_app.extensions.get("wzcheckin.nav", []) if role in item.roles]


def role_home_url(role: Role) -> str:
    for endpoint in ROLE_HOMES.get(role, ()):
        try:
            return url_for(endpoint)
        except BuildError:
            continue
    return url_for("core.index")


def safe_next_url(target: str | None) -> str | None:
    """Only same-site paths: never redirect to another host after log-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
