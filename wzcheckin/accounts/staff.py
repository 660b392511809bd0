"""Accounts room, staff and official accounts (``wzcheckin user create``), bound to the
checkpoint their role scans at. Plain Python; none commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.lookups import (
    CARRIERS,
    _new_user,
    find_user_by_phone,
    hash_password,
    password_problem,
)
from wzcheckin.accounts.models import User
from wzcheckin.core.identity import (
    InvalidIdentifier,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role
from wzcheckin.directory.checkpoints import find_checkpoint
from wzcheckin.directory.models import CheckpointKind

STAFF_CHECKPOINT_KIND = {
    Role.GATEKEEPER: CheckpointKind.GATE,
    Role.ENTERPRISE_ADMIN: CheckpointKind.GATE,
    Role.VENUE_STAFF: CheckpointKind.VENUE,
    Role.PICKUP_STAFF: CheckpointKind.PICKUP,
}
# Other kinds a role may also be bound to: venue staff scan attendance at offline training
# classes (checkpoints ``training:<course code>``, benefits room).
STAFF_EXTRA_CHECKPOINT_KINDS = {
    Role.VENUE_STAFF: (CheckpointKind.TRAINING,),
}


def create_or_update_staff(session: Session, vault: PersonalDataVault, *, role: Role, phone_raw: str,
                           password: str, now: datetime, checkpoint_ref: str | None = None,
                           carrier: str | None = None, display_name: str = "") -> tuple[User, bool]:
    """Staff and official accounts (``wzcheckin user create``). Returns (user, created)."""
    errors: dict[str, str] = {}
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        raise AccountError.fields({"phone": exc.code}) from None
    if role is Role.WORKER:
        errors["role"] = "worker_via_registration"
    problem = password_problem(password, phone)
    if problem:
        errors["password"] = problem
    checkpoint = None
    needed_kind = STAFF_CHECKPOINT_KIND.get(role)
    if needed_kind is not None:
        if not checkpoint_ref:
            errors["checkpoint"] = "required"
        else:
            checkpoint = find_checkpoint(session, checkpoint_ref)  # as staff type it: venue:LIB1
            if checkpoint is None:
                errors["checkpoint"] = "checkpoint_unknown"
            elif checkpoint.kind != needed_kind and checkpoint.kind not in STAFF_EXTRA_CHECKPOINT_KINDS.get(role, ()):
                errors["checkpoint"] = "checkpoint_wrong_kind"
    elif checkpoint_ref:
        errors["checkpoint"] = "checkpoint_not_applicable"
    if role is Role.CARRIER:
        if carrier not in CARRIERS:
            errors["carrier"] = "required" if not carrier else "carrier_unknown"
    elif carrier:
        errors["carrier"] = "carrier_not_applicable"
    if errors:
        raise AccountError.fields(errors)

    user = find_user_by_phone(session, vault, phone)
    created = user is None
    if user is None:
        user = _new_user(vault, role, phone, now, display_name=display_name)
        session.add(user)
    elif user.role is Role.WORKER and user.worker is not None:
        raise AccountError.fields({"phone": "phone_taken"})
    user.role = role
    user.password_hash = hash_password(password)
    user.checkpoint = checkpoint
    user.carrier = carrier if role is Role.CARRIER else None
    if display_name:
        user.display_name = display_name
    session.flush()
    return user, created
