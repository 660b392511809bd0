"""Review room: which bureau owns which policy (least privilege, issue 14 item 5).

Each application is decided — approved, rejected, its on-site check recorded, marked paid — only
by an official of the bureau that owns its policy: 人社局 the P6 training subsidy and the P7
retention subsidy, 经信局 the P8 production reward. The programme office and the auditor read
every policy's queue and decide none; the other bureaus have no money to review.
"""

from __future__ import annotations

from wzcheckin.core.roles import Role
from wzcheckin.review.models import Policy

POLICY_OWNERS: dict[Policy, Role] = {
    Policy.P6: Role.HR_OFFICIAL,
    Policy.P7: Role.HR_OFFICIAL,
    Policy.P8: Role.ECONOMY_OFFICIAL,
}

# Read every policy, decide none.
READERS = (Role.OFFICIAL, Role.AUDITOR)
DECIDERS = tuple(dict.fromkeys(POLICY_OWNERS.values()))
# Who may open the review queue and the budget at all.
QUEUE_ROLES = READERS + DECIDERS


def policies_seen_by(role: Role) -> tuple[Policy, ...]:
    """The policies whose applications ``role`` sees in the queue and the budget."""
    if role in READERS:
        return tuple(Policy)
    return tuple(policy for policy, owner in POLICY_OWNERS.items() if owner is role)


def may_decide(role: Role, policy: Policy) -> bool:
    return POLICY_OWNERS.get(policy) is role
