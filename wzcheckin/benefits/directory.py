"""Benefits room, the services directory (P10, 正常生活有保障): canteens, markets, shops,
childcare (“小候鸟”托管班) classes and bus notices open over the festival. Officials edit it;
anyone browses it by district."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import ServiceKind, ServiceListing
from wzcheckin.core.csv_import import ImportReport, describe_field_errors, import_rows
from wzcheckin.core.refusals import Refusal

SERVICE_COLUMNS = ("kind", "name", "district", "address", "hours", "contact", "opens_on", "closes_on", "notes")
_LIMITS = {"name": 200, "district": 50, "address": 200, "hours": 200, "contact": 50, "notes": 2000}


@dataclass
class ServiceInput:
    kind: str = ""
    name: str = ""
    district: str = ""
    address: str = ""
    hours: str = ""
    contact: str = ""
    opens_on: str | date | None = None
    closes_on: str | date | None = None
    notes: str = ""


def _date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("date_format") from None


def clean_service(data: ServiceInput) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    try:
        values["kind"] = ServiceKind((data.kind or "").strip().lower())
    except ValueError:
        errors["kind"] = "choice_unknown"
    for name, limit in _LIMITS.items():
        text = (getattr(data, name) or "").strip()
        if name in ("name", "district") and not text:
            errors[name] = "required"
        elif len(text) > limit:
            errors[name] = "too_long"
        values[name] = text
    for name in ("opens_on", "closes_on"):
        try:
            values[name] = _date(getattr(data, name))
        except ValueError as exc:
            errors[name] = str(exc)
    if values.get("opens_on") and values.get("closes_on") and values["closes_on"] < values["opens_on"]:
        errors["closes_on"] = "date_order"
    if errors:
        raise BenefitRefused.fields(errors)
    return values


def save_service(session: Session, values: dict, now: datetime, *, listing: ServiceListing | None = None,
                 actor=None) -> ServiceListing:
    if listing is None:
        listing = ServiceListing(created_at=now)
        session.add(listing)
    for name, value in values.items():
        setattr(listing, name, value)
    listing.updated_at = now
    listing.updated_by_user_id = getattr(actor, "id", None)
    listing.withdrawn_at = None
    session.flush()
    return listing


def withdraw_service(session: Session, listing: ServiceListing, now: datetime, actor=None) -> None:
    listing.withdrawn_at = now
    listing.updated_at = now
    listing.updated_by_user_id = getattr(actor, "id", None)
    session.flush()


def import_services(session: Session, text: str, now: datetime, progress=None) -> ImportReport:
    """``wzcheckin import services``: all or nothing; a listing with the same kind, name and
    district is updated, not duplicated."""

    def parse(row: dict[str, str]) -> dict:
        try:
            return clean_service(ServiceInput(**row))
        except Refusal as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None

    def upsert(values: dict) -> bool:
        existing = session.scalar(sa.select(ServiceListing).where(
            ServiceListing.kind == values["kind"], ServiceListing.name == values["name"],
            ServiceListing.district == values["district"]))
        save_service(session, values, now, listing=existing)
        return existing is None

    return import_rows(text, SERVICE_COLUMNS, parse, upsert,
                       unique=[(None, lambda values: (values["kind"], values["name"], values["district"]))],
                       progress=progress)


def browse_services(session: Session, *, district: str | None = None, kind: str | None = None,
                    on: date | None = None, include_withdrawn: bool = False) -> list[ServiceListing]:
    """Listings by district and kind; ``on`` keeps those open that day (no dates: always open)."""
    query = sa.select(ServiceListing)
    if not include_withdrawn:
        query = query.where(ServiceListing.withdrawn_at.is_(None))
    if district:
        query = query.where(ServiceListing.district == district)
    if kind in {k.value for k in ServiceKind}:
        query = query.where(ServiceListing.kind == ServiceKind(kind))
    if on is not None:
        query = query.where(sa.or_(ServiceListing.opens_on.is_(None), ServiceListing.opens_on <= on),
                            sa.or_(ServiceListing.closes_on.is_(None), ServiceListing.closes_on >= on))
    return list(session.scalars(query.order_by(ServiceListing.district, ServiceListing.kind,
                                               ServiceListing.name).limit(500)))


def service_districts(session: Session) -> list[str]:
    return list(session.scalars(sa.select(ServiceListing.district).where(ServiceListing.withdrawn_at.is_(None))
                                .distinct().order_by(ServiceListing.district)))
