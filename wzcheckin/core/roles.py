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
    # 留温过年工作专班: the programme office — venues, activities, services, accounts, the cutoff,
    # appeals and corrections, exports. It reads the money but decides none of it.
    OFFICIAL = "official"
    # The bureaus, each deciding only its own policies (least privilege, issue 14 item 5):
    HR_OFFICIAL = "hr_official"              # 人社局: P6 training, P7 retention subsidy, wage complaints
    ECONOMY_OFFICIAL = "economy_official"    # 经信局: P8 production reward, hotline cases
    HEALTH_OFFICIAL = "health_official"      # 卫健委: health alerts
    POLICE_OFFICIAL = "police_official"      # 公安局: new-resident points, residence permits, hukou
    AUDITOR = "auditor"                      # 审计: reads the desk, the money and the audit log; decides nothing

    @property
    def is_staff(self) -> bool:
        """Staff and officials: their every action is audited and their sessions time out sooner."""
        return self is not Role.WORKER

    @property
    def is_official(self) -> bool:
        """The programme office, a bureau or the auditor: the officials' desk is theirs."""
        return self in OFFICIAL_ROLES


SCANNING_ROLES = (Role.GATEKEEPER, Role.VENUE_STAFF, Role.PICKUP_STAFF)
# Everyone at the officials' desk (the dashboard and the figures).
OFFICIAL_ROLES = (Role.OFFICIAL, Role.HR_OFFICIAL, Role.ECONOMY_OFFICIAL, Role.HEALTH_OFFICIAL,
                  Role.POLICE_OFFICIAL, Role.AUDITOR)
