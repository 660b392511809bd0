"""Enterprises and gates room, domain functions: importing enterprises (each with its gate
checkpoint ``gate:<credit_code>``) and the admin user bound to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.lookups import _new_user, find_user_by_phone
from wzcheckin.accounts.models import User
from wzcheckin.core.csv_import import ImportReport, RowError, import_rows, parse_yes_no
from wzcheckin.core.identity import InvalidIdentifier, mask_phone, parse_credit_code, parse_phone
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role
from wzcheckin.directory.checkpoints import ensure_checkpoint
from wzcheckin.directory.models import CheckpointKind, Enterprise, Ownership, record_enterprise_facts

ENTERPRISE_COLUMNS = ("credit_code", "name", "district", "ownership", "industrial", "admin_phone")


@dataclass
class EnterpriseRow:
    credit_code: str
    name: str
    district: str
    ownership: Ownership
    industrial: bool
    admin_phone: str | None


def parse_enterprise_row(row: dict[str, str]) -> EnterpriseRow:
    """Raise ValueError with a readable reason for the first bad field."""
    try:
        credit_code = parse_credit_code(row["credit_code"])
    except InvalidIdentifier as exc:
        raise ValueError(f"credit_code: {exc.code}") from None
    name = row["name"]
    if not name:
        raise ValueError("name: required")
    if len(name) > 200:
        raise ValueError("name: longer than 200 characters")
    district = row["district"]
    if not district:
        raise ValueError("district: required")
    try:
        ownership = Ownership(row["ownership"].lower())
    except ValueError:
        raise ValueError(
            "ownership: must be one of " + ", ".join(o.value for o in Ownership) + f" (got {row['ownership']!r})"
        ) from None
    try:
        industrial = parse_yes_no(row["industrial"])
    except ValueError as exc:
        raise ValueError(f"industrial: {exc}") from None
    admin_phone = None
    if row["admin_phone"]:
        try:
            admin_phone = parse_phone(row["admin_phone"])
        except InvalidIdentifier as exc:
            raise ValueError(f"admin_phone: {exc.code}") from None
    return EnterpriseRow(credit_code, name, district, ownership, industrial, admin_phone)


def upsert_enterprise(session: Session, vault: PersonalDataVault, data: EnterpriseRow,
                      now: datetime) -> tuple[Enterprise, bool]:
    enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == data.credit_code))
    created = enterprise is None
    if enterprise is None:
        enterprise = Enterprise(credit_code=data.credit_code, created_at=now)
        session.add(enterprise)
    enterprise.name = data.name
    enterprise.district = data.district
    enterprise.ownership = data.ownership
    enterprise.industrial = data.industrial
    enterprise.updated_at = now
    record_enterprise_facts(session, enterprise, now=now, source="import")

    session.flush()  # the enterprise's id, for its gate
    gate = ensure_checkpoint(session, CheckpointKind.GATE, data.credit_code, name=data.name, district=data.district,
                             now=now, enterprise_id=enterprise.id)

    if data.admin_phone:
        enterprise.admin_phone_hash = vault.lookup_hash("phone", data.admin_phone)
        enterprise.admin_phone_encrypted = vault.encrypt(data.admin_phone)
        enterprise.admin_phone_masked = mask_phone(data.admin_phone)
        admin = find_user_by_phone(session, vault, data.admin_phone)
        if admin is None:
            # Created without a password: `wzcheckin user create` (or an official) activates it.
            admin = _new_user(vault, Role.ENTERPRISE_ADMIN, data.admin_phone, now, display_name=data.name)
            session.add(admin)
        if admin.role is Role.ENTERPRISE_ADMIN:
            session.flush()
            admin.checkpoint_id = gate.id
    session.flush()
    return enterprise, created


def import_enterprises(session: Session, vault: PersonalDataVault, text: str, now: datetime,
                       progress=None) -> ImportReport:
    """All or nothing: parse every line first; write only when none is bad."""
    return import_rows(
        text, ENTERPRISE_COLUMNS, parse_enterprise_row,
        lambda data: upsert_enterprise(session, vault, data, now)[1],
        unique=[("credit_code", lambda data: data.credit_code)],
        check_file=lambda parsed: _phone_conflicts(session, vault, parsed),
        progress=progress,
    )


def _phone_conflicts(session: Session, vault: PersonalDataVault,
                     parsed: list[tuple[int, EnterpriseRow]]) -> list[RowError]:
    errors = []
    for line, data in parsed:
        if not data.admin_phone:
            continue
        owner: User | None = find_user_by_phone(session, vault, data.admin_phone)
        if owner is not None and owner.role is not Role.ENTERPRISE_ADMIN:
            errors.append(RowError(line, "admin_phone: belongs to an account of another role"))
    return errors
