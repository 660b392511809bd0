"""Core: the menu (its order is ``rooms.ROOMS``'s), where each role lands after logging in, and
safe redirects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import url_for
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from wzcheckin.core.roles import Role


@dataclass(frozen=True)
class NavGroup:
    """A heading of the menu: a disclosure on a phone, one of a bar of them on a laptop. The
    headings stand in their ``order``, after the lone links."""

    key: str
    label: object  # a lazy_gettext string
    order: int


OVERVIEW = NavGroup("overview", _l("Overview"), 10)
RESIDENCE = NavGroup("residence", _l("Residence & cutoff"), 20)
REVIEW_MONEY = NavGroup("review", _l("Review & money"), 30)
BENEFITS = NavGroup("benefits", _l("Benefits"), 40)
SYSTEM = NavGroup("system", _l("System"), 90)


@dataclass(frozen=True)
class NavItem:
    """A link in the role's navigation; rooms list theirs in ``views.NAV_ITEMS``, in the order
    they stand (the rooms stand in ``rooms.ROOMS``'s). Items with a ``group`` sit in that group's
    menu; the others stand on the bar by themselves."""

    roles: tuple[Role, ...]
    endpoint: str
    label: object  # a lazy_gettext string
    group: NavGroup | None = None


@dataclass(frozen=True)
class NavEntry:
    """One place on the bar: a lone link (``item``) or a group and its links (``items``)."""

    item: NavItem | None = None
    group: NavGroup | None = None
    items: tuple[NavItem, ...] = ()

    def holds(self, endpoint: str | None) -> bool:
        return any(item.endpoint == endpoint for item in self.items)


ROLE_HOMES = {
    Role.WORKER: ("accounts.home",),
    Role.GATEKEEPER: ("scanning.scanner",),
    Role.VENUE_STAFF: ("scanning.scanner",),
    Role.PICKUP_STAFF: ("scanning.scanner",),
    Role.ENTERPRISE_ADMIN: ("enterprises.dashboard",),
    Role.CARRIER: ("benefits.carrier_claims",),
    Role.OFFICIAL: ("admin.dashboard",),
    Role.HR_OFFICIAL: ("admin.dashboard",),
    Role.ECONOMY_OFFICIAL: ("admin.dashboard",),
    Role.HEALTH_OFFICIAL: ("admin.dashboard",),
    Role.POLICE_OFFICIAL: ("admin.dashboard",),
    Role.AUDITOR: ("admin.dashboard",),
}


def menu_items(rooms: Iterable) -> list[NavItem]:
    """The whole menu in its order: the rooms' order (``rooms.ROOMS``), then each room's items in
    the order its ``Room(nav_items=...)`` lists them. No numbers: moving a room in the list moves
    its links."""
    return [item for room in rooms for item in room.nav_items]


def nav_for(role: Role | None) -> list[NavItem]:
    from flask import current_app

    if role is None:
        return []
    return [item for item in current_app.extensions.get("wzcheckin.nav", []) if role in item.roles]


def nav_entries(items: list[NavItem]) -> list[NavEntry]:
    """The bar of ``items`` (in menu order): the lone links as they come, then the groups in their
    headings' ``order``, each group's links as they come."""
    groups: dict[NavGroup, list[NavItem]] = {}
    entries = []
    for item in items:
        if item.group is None:
            entries.append(NavEntry(item=item))
        else:
            groups.setdefault(item.group, []).append(item)
    return entries + [NavEntry(group=group, items=tuple(groups[group]))
                      for group in sorted(groups, key=lambda group: group.order)]


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
