"""Enterprises and gates room, domain functions at the factory gate (P9: 戴口罩、测体温、扫码和
实名制登记): the entry checks, health alerts for fever and symptoms, and the real-name
registration of visitors who carry no pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User, Worker
from wzcheckin.codes.passes import PassHolder
from wzcheckin.core.identity import InvalidIdentifier, mask_name, mask_phone, parse_id_number, parse_phone
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.readings import parse_temperature
from wzcheckin.directory.models import Checkpoint
from wzcheckin.enterprises.errors import EnterpriseError
from wzcheckin.enterprises.models import HealthAlert, VisitorRegistration
from wzcheckin.programme import Programme

ENTRY_ALLOWED = "entry_allowed"
ALERT_REASONS = frozenset({"fever", "symptoms"})


def format_temperature(value: Decimal) -> str:
    """A reading as given, at least one decimal: 37.25 → "37.25", 38.10 → "38.1", 38 → "38.0"."""
    normal = value.normalize()
    return str(normal if normal.as_tuple().exponent < 0 else normal.quantize(Decimal("0.1")))


def entry_refusal(programme: Programme, *, mask: bool | None, temperature: Decimal | None,
                  symptoms: bool) -> tuple[str, dict] | None:
    """The P9 checks, most serious first: fever and symptoms are refused *and reported* even
    when another check also failed; then no mask; then checks not recorded at all.

    The reading is compared as given, never rounded first: 37.25 is below 37.3, 37.3 is at it."""
    threshold = Decimal(str(programme.entry_checks.fever_celsius))
    if temperature is not None and temperature >= threshold:
        return "fever", {"temperature": format_temperature(temperature)}
    if symptoms:
        return "symptoms", {}
    mask_required = programme.entry_checks.mask_required
    if mask_required and mask is False:
        return "no_mask", {}
    if temperature is None or (mask_required and mask is None):
        return "checks_missing", {}
    return None


def raise_health_alert(session: Session, *, checkpoint: Checkpoint, reason: str, person_masked: str,
                       staff: User, now: datetime, temperature: Decimal | None, symptoms: bool,
                       worker: Worker | PassHolder | None = None, visitor: VisitorRegistration | None = None,
                       scan_id: str | None = None) -> HealthAlert:
    """Report a fever or symptom refusal to the enterprise admin and the health officials."""
    alert = HealthAlert(
        enterprise_id=checkpoint.enterprise_id, checkpoint_id=checkpoint.id,
        worker_id=worker.id if worker is not None else None,
        visitor_id=visitor.id if visitor is not None else None, scan_id=scan_id, reason=reason,
        temperature=temperature, symptoms=symptoms, person_masked=person_masked,
        raised_by_user_id=staff.id, raised_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def acknowledge_alert(session: Session, alert: HealthAlert, user: User, now: datetime) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now
        alert.acknowledged_by_user_id = user.id
        session.flush()


# --- visitors ------------------------------------------------------------------------------

@dataclass
class VisitorDetails:
    name: str
    id_number: str
    phone: str
    reason: str
    mask: bool | None
    temperature: str | Decimal | None
    symptoms: bool = False


def register_visitor(session: Session, vault: PersonalDataVault, programme: Programme, *,
                     checkpoint: Checkpoint, staff: User, details: VisitorDetails,
                     now: datetime) -> VisitorRegistration:
    """Record a visitor with the entry checks; refused visitors are recorded too (and reported
    on fever or symptoms). Raises :class:`EnterpriseError` naming every bad field; writes nothing then."""
    errors: dict[str, str] = {}
    name = (details.name or "").strip()
    if not name:
        errors["name"] = "required"
    elif len(name) > 100:
        errors["name"] = "too_long"
    id_number = phone = None
    try:
        id_number = parse_id_number(details.id_number, today=programme.local_date(now))
    except InvalidIdentifier as exc:
        errors["id_number"] = exc.code
    try:
        phone = parse_phone(details.phone)
    except InvalidIdentifier as exc:
        errors["phone"] = exc.code
    reason = (details.reason or "").strip()
    if not reason:
        errors["reason"] = "required"
    elif len(reason) > 200:
        errors["reason"] = "too_long"
    if details.mask is None:
        errors["mask"] = "required"
    temperature = None
    try:
        temperature = parse_temperature(details.temperature)
    except ValueError as exc:
        errors["temperature"] = str(exc)
    if errors:
        raise EnterpriseError.fields(errors)

    refusal = entry_refusal(programme, mask=details.mask, temperature=temperature, symptoms=details.symptoms)
    outcome = refusal[0] if refusal else ENTRY_ALLOWED
    visitor = VisitorRegistration(
        enterprise_id=checkpoint.enterprise_id, checkpoint_id=checkpoint.id, name=name,
        id_number_hash=vault.lookup_hash("id", id_number.value),
        id_number_encrypted=vault.encrypt(id_number.value), id_number_tail=id_number.tail,
        phone_hash=vault.lookup_hash("phone", phone), phone_encrypted=vault.encrypt(phone),
        phone_masked=mask_phone(phone), reason=reason, mask=bool(details.mask), temperature=temperature,
        symptoms=details.symptoms, outcome=outcome, registered_by_user_id=staff.id, registered_at=now,
    )
    session.add(visitor)
    session.flush()
    if outcome in ALERT_REASONS:
        raise_health_alert(session, checkpoint=checkpoint, reason=outcome, person_masked=mask_name(name),
                           staff=staff, now=now, temperature=temperature, symptoms=details.symptoms,
                           visitor=visitor)
    return visitor
