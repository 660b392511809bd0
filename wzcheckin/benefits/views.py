"""Benefits room, pages: the blueprint and the navigation. The pages themselves live in
``benefits/pages/`` (one module per feature)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.benefits.pages import activities, data_bonus, directory, rights, training  # noqa: F401 - routes
from wzcheckin.benefits.pages.base import bp
from wzcheckin.core.navigation import BENEFITS, REVIEW_MONEY, NavItem
from wzcheckin.core.roles import Role

NAV_ITEMS = [
    NavItem((Role.WORKER,), "benefits.data_bonus_page", _l("Data & points"), group=BENEFITS),
    NavItem((Role.WORKER,), "benefits.training_list", _l("Training"), group=BENEFITS),
    NavItem((Role.WORKER,), "benefits.activities_list", _l("Activities"), group=BENEFITS),
    NavItem((Role.WORKER,), "benefits.services_list", _l("Services"), group=BENEFITS),
    NavItem((Role.WORKER,), "benefits.my_complaints", _l("Wage complaints"), group=BENEFITS),
    NavItem((Role.CARRIER,), "benefits.carrier_claims", _l("Data-bonus claims")),
    NavItem((Role.ENTERPRISE_ADMIN,), "benefits.enterprise_training", _l("Training subsidy")),
    NavItem((Role.ENTERPRISE_ADMIN,), "benefits.enterprise_complaints", _l("Wage complaints")),
    NavItem((Role.HR_OFFICIAL,), "benefits.training_desk", _l("Training"), group=BENEFITS),
    NavItem((Role.OFFICIAL,), "benefits.activities_admin", _l("Activities"), group=BENEFITS),
    NavItem((Role.HR_OFFICIAL,), "benefits.complaints_admin", _l("Wage complaints"), group=REVIEW_MONEY),
    NavItem((Role.OFFICIAL,), "benefits.services_admin", _l("Services"), group=BENEFITS),
    NavItem((Role.POLICE_OFFICIAL,), "benefits.points_admin", _l("Points export"), group=REVIEW_MONEY),
    NavItem((Role.OFFICIAL,), "benefits.data_bonus_overview", _l("Data bonus"), group=REVIEW_MONEY),
]

__all__ = ["NAV_ITEMS", "bp"]
