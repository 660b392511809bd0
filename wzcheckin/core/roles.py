"""Core: the roles an account may have. On the ground floor because every room guards its pages
and API routes by role, and the navigation and the API framework below the rooms need them too."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    GATEKEEPER = "gatekeeper"
    ENTERPRISE_ADMIN = "enterprise_admin"
    VENUE_STAFF = "venue_staff"
    PICKUP_STAFF = "pickup_staff"
    CARRIER = "carrier"
    OFFICIAL = "official"

    @property
    def is_staff(self) -> bool:
        """Staff and officials: their every action is audited and their sessions time out sooner."""
        return self is not Role.WORKER


SCANNING_ROLES = (Role.GATEKEEPER, Role.VENUE_STAFF, Role.PICKUP_STAFF)
