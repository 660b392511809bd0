"""Benefits room, warmth activities (P5, 送温暖 / 八大"有礼"): activities with the gift each
check-in earns, and a worker's own check-ins — scanning a landmark poster (a signed code of kind
``poster`` whose subject is the activity's opaque public id) with their own phone, or uploading a
photo of the New Year's Eve dinner they cooked.

Self check-ins (``ActivityCheckin``) are not staff scans; the residence room counts them as
presence evidence only where the programme file says so. One check-in per worker and activity:
UNIQUE (activity, worker), the insert in a savepoint, a concurrent twin → ``already_checked_in``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import Activity, ActivityCheckin, ActivityKind, ActivityPhoto
from wzcheckin.codes.keys import Keyring
from wzcheckin.codes.tokens import TOKEN_LENGTH, TokenError, TokenKind
from wzcheckin.core.public_ids import new_public_id
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.programme import Programme

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Content types we serve photos back with, decided from the file's first bytes only.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_TOKEN_IN_TEXT = re.compile(rf"(?<![A-Za-z2-7])[A-Za-z2-7]{{{TOKEN_LENGTH}}}(?![A-Za-z2-7])")


# --- activities (officials) -----------------------------------------------------------------------

@dataclass
class ActivityInput:
    title: str = ""
    title_en: str = ""
    kind: str = ""
    gift: str = ""
    gift_activity: str = ""
    description: str = ""
    district: str = ""
    place: str = ""
    starts_on: date | None = None
    ends_on: date | None = None


def clean_activity(data: ActivityInput, programme: Programme) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    for name, limit, required in (("title", 200, True), ("title_en", 200, False), ("gift", 200, True),
                                  ("description", 2000, False), ("district", 50, False), ("place", 200, False)):
        text = (getattr(data, name) or "").strip()
        if required and not text:
            errors[name] = "required"
        elif len(text) > limit:
            errors[name] = "too_long"
        values[name] = text
    try:
        values["kind"] = ActivityKind((data.kind or "").strip())
    except ValueError:
        errors["kind"] = "choice_unknown"
    gift_activity = (data.gift_activity or "").strip()
    if gift_activity and gift_activity not in programme.activities.gift_activities:
        errors["gift_activity"] = "choice_unknown"
    values["gift_activity"] = gift_activity
    for name in ("starts_on", "ends_on"):
        if getattr(data, name) is None:
            errors[name] = "required"
        values[name] = getattr(data, name)
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        errors["ends_on"] = "date_order"
    if values.get("kind") is ActivityKind.LANDMARK and not values["place"]:
        errors["place"] = "required"
    if errors:
        raise BenefitRefused.fields(errors)
    return values


def save_activity(session: Session, values: dict, now: datetime, activity: Activity | None = None) -> Activity:
    if activity is None:
        activity = Activity(public_id=new_public_id(), created_at=now)
        session.add(activity)
    for name, value in values.items():
        setattr(activity, name, value)
    activity.updated_at = now
    session.flush()
    return activity


def find_activity(session: Session, public_id: str) -> Activity | None:
    if not re.fullmatch(r"[0-9a-f]{16}", public_id or ""):
        return None
    return session.scalar(sa.select(Activity).where(Activity.public_id == public_id))


def list_activities(session: Session, programme: Programme, now: datetime, *, include_past: bool = False,
                    district: str | None = None) -> list[Activity]:
    query = sa.select(Activity)
    if not include_past:
        query = query.where(Activity.ends_on >= programme.local_date(now))
    if district:
        query = query.where(Activity.district == district)
    return list(session.scalars(query.order_by(Activity.starts_on, Activity.id).limit(500)))


def checkin_counts(session: Session, activity_ids: list[int]) -> dict[int, int]:
    if not activity_ids:
        return {}
    return dict(session.execute(sa.select(ActivityCheckin.activity_id, sa.func.count())
                                .where(ActivityCheckin.activity_id.in_(activity_ids))
                                .group_by(ActivityCheckin.activity_id)).all())


# --- posters ------------------------------------------------------------------------------------

def poster_token(activity: Activity, keyring: Keyring, programme: Programme) -> str:
    """The poster's code: valid until the activity's last day ends (local time)."""
    return keyring.sign(TokenKind.POSTER, activity.public_id, programme.local_day_end(activity.ends_on),
                        issued_at=activity.created_at)


def token_from_text(text: str | None) -> str | None:
    """A poster code from what a phone's camera or a paste gives: the bare code or a URL that
    ends in it (``https://…/c/<code>``)."""
    if not text or len(text) > 2048:
        return None
    match = _TOKEN_IN_TEXT.search(text.strip())
    return match.group(0).upper() if match else None


def resolve_poster(session: Session, keyring: Keyring, text: str | None, now: datetime) -> Activity:
    """The activity a scanned poster belongs to. Refusals: ``poster_invalid``, ``activity_ended``."""
    token = token_from_text(text)
    if token is None:
        raise BenefitRefused("poster_invalid", status=422)
    try:
        claims = keyring.verify(token, now)
    except TokenError as exc:
        raise BenefitRefused("activity_ended" if exc.reason == "expired" else "poster_invalid", status=422) from None
    if claims.kind is not TokenKind.POSTER:
        raise BenefitRefused("poster_invalid", status=422)
    activity = session.scalar(sa.select(Activity).where(Activity.public_id == claims.subject))
    if activity is None:
        raise BenefitRefused("poster_invalid", status=422)
    return activity


# --- check-ins ----------------------------------------------------------------------------------

def find_checkin(session: Session, activity_id: int, worker_id: int) -> ActivityCheckin | None:
    return session.scalar(sa.select(ActivityCheckin).where(ActivityCheckin.activity_id == activity_id,
                                                           ActivityCheckin.worker_id == worker_id))


def _check_open(activity: Activity, programme: Programme, now: datetime) -> None:
    today = programme.local_date(now)
    if today < activity.starts_on:
        raise BenefitRefused("activity_not_started")
    if today > activity.ends_on:
        raise BenefitRefused("activity_ended")


def check_in(session: Session, programme: Programme, activity: Activity, worker: Worker, now: datetime,
             *, method: str, photo: ActivityPhoto | None = None) -> ActivityCheckin:
    expected = ActivityKind.LANDMARK if method == "poster" else ActivityKind.PHOTO
    if activity.kind is not expected:
        raise BenefitRefused("wrong_activity_kind", status=422)
    _check_open(activity, programme, now)
    if find_checkin(session, activity.id, worker.id) is not None:
        raise BenefitRefused("already_checked_in")
    checkin = ActivityCheckin(activity_id=activity.id, worker_id=worker.id, checked_in_at=now, method=method,
                              photo_id=photo.id if photo is not None else None)
    # UNIQUE (activity, worker): one check-in each.
    insert_or_refuse(session, BenefitRefused("already_checked_in"), checkin)
    return checkin


def poster_checkin(session: Session, programme: Programme, keyring: Keyring, worker: Worker, text: str | None,
                   now: datetime) -> ActivityCheckin:
    activity = resolve_poster(session, keyring, text, now)
    return check_in(session, programme, activity, worker, now, method="poster")


def detect_image_type(data: bytes) -> str | None:
    """JPEG, PNG or WebP by their magic bytes; anything else (SVG, HTML, ...) is refused."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def photo_checkin(session: Session, programme: Programme, activity: Activity, worker: Worker, data: bytes | None,
                  now: datetime) -> ActivityCheckin:
    """The New Year's Eve dinner: check the activity first (so a refused check-in stores no
    photo), then validate the image (type by content, size) and store it with the check-in."""
    if activity.kind is not ActivityKind.PHOTO:
        raise BenefitRefused("wrong_activity_kind", status=422)
    _check_open(activity, programme, now)
    if find_checkin(session, activity.id, worker.id) is not None:
        raise BenefitRefused("already_checked_in")
    if not data:
        raise BenefitRefused("photo_required", status=422, field="photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise BenefitRefused("photo_too_large", status=413, field="photo", max_mb=PHOTO_MAX_BYTES // (1024 * 1024))
    content_type = detect_image_type(data)
    if content_type is None:
        raise BenefitRefused("photo_type", status=415, field="photo")
    photo = ActivityPhoto(public_id=new_public_id(), worker_id=worker.id, content_type=content_type,
                          size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_at=now)
    session.add(photo)
    session.flush()
    return check_in(session, programme, activity, worker, now, method="photo", photo=photo)


def worker_checkins(session: Session, worker_id: int) -> list[ActivityCheckin]:
    return list(session.scalars(sa.select(ActivityCheckin).where(ActivityCheckin.worker_id == worker_id)
                                .order_by(ActivityCheckin.checked_in_at)))


def find_photo(session: Session, public_id: str) -> ActivityPhoto | None:
    if not re.fullmatch(r"[0-9a-f]{16}", public_id or ""):
        return None
    return session.scalar(sa.select(ActivityPhoto).where(ActivityPhoto.public_id == public_id))
