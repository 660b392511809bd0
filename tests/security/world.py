"""A small city with two of everything, for the access-control tests: two enterprises (A and B)
with their gatekeepers, admins, workers, visitors and health alerts; two venues with staff,
slots, bookings and waiting lists; two pickup points with staff and a hand-out each; two
carriers with a claim each; complaints, photos, courses — and one official.

A principal of side A must never see side B's objects, nor its *markers*: values that identify
B's people and business (names, masked names, phone tails, booking ids, complaint text). Each
builder returns the URL parameters that name the object, so the access table can say
``path="reservation"`` and the test fills in A's or B's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from tests.benefits.builders import PNG_BYTES, approve_cost, enrol_directly, make_activity, make_course
from tests.builders import gate_of, make_enterprise, make_phone, make_unique_id_number, make_user, make_worker
from tests.venues.builders import make_slot, make_venue, make_venue_staff
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin import clock
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.sessions import start_session
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits import rights
from wzcheckin.benefits.data_bonus import claim_data_bonus
from wzcheckin.benefits.models import ServiceKind, ServiceListing
from wzcheckin.benefits.training_subsidy import submit_subsidy_claim
from wzcheckin.codes.passes import current_pass, issue_paper_pass
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.gates import VisitorDetails, register_visitor
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.residence.models import (
    Appeal,
    AppealKind,
    AppealPhoto,
    AppealStatus,
    ApplicationStatus,
    DeclarationStatus,
    Departure,
    ProductionDeclaration,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    SubsidyApplication,
)
from wzcheckin.scanning.services import ScanInput, record_scan
from wzcheckin.venues import booking
from wzcheckin.venues.models import OpeningHours

ANONYMOUS = "anonymous"
IN_FEBRUARY = datetime(2021, 2, 5, 2, 0, tzinfo=UTC)  # 10:00 in Wenzhou, inside the programme

# Side-specific words: each name is unique in the world, so finding one in a response is a leak.
SIDES = {
    "A": {"enterprise": "甲方鞋业有限公司", "worker": "甲方张三丰", "visitor": "甲方访客王五", "complaint": "甲方欠薪说明文字",
          "course": "甲方内训数控车床", "phone": "139", "carrier": "china_mobile"},
    "B": {"enterprise": "乙方服装有限公司", "worker": "乙方李四光", "visitor": "乙方访客赵六", "complaint": "乙方欠薪说明文字",
          "course": "乙方内训缝纫工艺", "phone": "186", "carrier": "china_unicom"},
}


@dataclass
class Principal:
    """Someone making requests: anonymous, or a user of one role on side A (officials: no side)."""

    name: str
    role: str
    side: str | None = None
    user: object = None
    token: str | None = None  # a bearer token for the API
    session_secret: str | None = None


@dataclass
class Side:
    name: str
    params: dict[str, dict] = field(default_factory=dict)   # object kind → URL parameters
    markers: list[str] = field(default_factory=list)         # values only this side's people may see
    secrets: list[str] = field(default_factory=list)         # full ID and phone numbers: shown to nobody
    principals: dict[str, Principal] = field(default_factory=dict)


@dataclass
class World:
    sides: dict[str, Side]
    shared: dict[str, dict]          # objects nobody owns (officials' desk, public catalogues)
    official: Principal
    anonymous: Principal = field(default_factory=lambda: Principal("anonymous", ANONYMOUS))
    bureaus: list[Principal] = field(default_factory=list)  # 人社 经信 卫健 公安 and the auditor

    def principals(self) -> list[Principal]:
        return [self.anonymous, *self.sides["A"].principals.values(), self.official, *self.bureaus]

    def params(self, kind: str, side: str) -> dict:
        if kind in self.shared:
            return self.shared[kind]
        return self.sides[side].params[kind]


def _principal(session, role: Role, user, now) -> Principal:
    token = issue_api_token(session, user, now, label="access-matrix")
    return Principal(str(role), str(role), user=user, token=token)


def _build_side(session, vault, programme, keyring, name: str, now: datetime) -> Side:
    words = SIDES[name]
    side = Side(name)
    enterprise = make_enterprise(session, vault, name=words["enterprise"])
    gate = gate_of(session, enterprise)
    gatekeeper = make_user(session, vault, Role.GATEKEEPER, checkpoint=gate)
    admin = make_user(session, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate)
    worker = make_worker(session, vault, programme, enterprise=enterprise, name=words["worker"],
                         phone=make_phone(words["phone"]), permit="ZJ3303" + name * 5)
    # Roster members the admin acts on (one per destructive action, so the actions do not
    # interfere): one still to confirm, one to remove.
    pending = make_worker(session, vault, programme, enterprise=enterprise, name=words["worker"] + "待确认")
    pending.employment_confirmed = False
    leaving = make_worker(session, vault, programme, enterprise=enterprise, name=words["worker"] + "将离职")

    venue = make_venue(session, name=words["enterprise"].replace("有限公司", "职工之家"))
    venue_staff = make_venue_staff(session, vault, venue)
    tomorrow = now + timedelta(days=1)
    slot = make_slot(session, venue, tomorrow.replace(minute=0, second=0, microsecond=0), capacity=5)
    # Two full slots on later days, each with the worker waiting (one to leave by page, one by API).
    full = [make_slot(session, venue, tomorrow.replace(minute=0, second=0, microsecond=0) + timedelta(days=days),
                      capacity=1) for days in (1, 2)]
    session.flush()
    other_booker = make_worker(session, vault, programme, enterprise=enterprise, name=words["worker"] + "先订")
    reservation = booking.book(session, programme, worker, slot.id, now)
    waiting = []
    for a_full in full:
        booking.book(session, programme, other_booker, a_full.id, now)
        waiting.append(booking.join_waitlist(session, programme, worker, a_full.id, now))
    # The data bonus is claimed inside its claim window, before the departure (which would refuse it).
    claim = claim_data_bonus(session, vault, programme, worker, IN_FEBRUARY)
    session.add(Departure(worker_id=worker.id, departed_on=date(2021, 2, 9), note="", recorded_at=IN_FEBRUARY,
                          recorded_by_user_id=worker.user_id, recorded_by_role="worker"))

    point = make_pickup_point(session, stock=10, name=words["enterprise"].replace("有限公司", "领取点"))
    pickup_staff = make_pickup_staff(session, vault, point)
    pickup = record_scan(session, staff=pickup_staff, checkpoint=point.checkpoint,
                         data=ScanInput(token=current_pass(worker, keyring, programme, now).token,
                                        scan_id=f"pickup-{name}-{os.urandom(6).hex()}"),
                         keyring=keyring, programme=programme, now=now)
    assert pickup.scan.reason == "pack_handed_out", pickup.scan.reason

    carrier = make_user(session, vault, Role.CARRIER, carrier=words["carrier"])

    complaint = rights.file_complaint(session, worker, rights.ComplaintInput(
        credit_code=enterprise.credit_code, months="2", amount_yuan="3000",
        description=words["complaint"]), IN_FEBRUARY)
    photo_activity = make_activity(session, programme, kind="photo")
    photo = acts.photo_checkin(session, programme, photo_activity, worker, PNG_BYTES, IN_FEBRUARY).photo

    course = make_course(session, enterprise=enterprise, mode="online", starts_on=date(2021, 1, 20))
    course.title = words["course"]
    enrol_directly(session, course, worker, completed_on=date(2021, 2, 4))
    invoice = approve_cost(session, programme, course, proposed_yuan="500", now=IN_FEBRUARY)  # an official's cost
    alert = HealthAlert(enterprise_id=enterprise.id, checkpoint_id=gate.id, worker_id=worker.id, reason="fever",
                        temperature=38, symptoms=False, person_masked=words["worker"][0] + "*",
                        raised_by_user_id=gatekeeper.id, raised_at=now)
    session.add(alert)
    paper, _issued = issue_paper_pass(session, worker, keyring, programme, now, issued_by=admin)
    visitor = register_visitor(session, vault, programme, checkpoint=gate, staff=gatekeeper, now=now,
                               details=VisitorDetails(name=words["visitor"], id_number=make_unique_id_number(),
                                                      phone=make_phone("135"), reason="送货", mask=True,
                                                      temperature="36.5"))
    session.flush()

    side.params = {
        "reservation": {"public_id": reservation.public_id},
        "waitlist_entry": {"entry_id": waiting[0].id},
        "waitlist_entry_api": {"entry_id": waiting[1].id},
        "complaint": {"complaint_id": complaint.id},
        "photo": {"public_id": photo.public_id},
        "roster_pending": {"worker_id": pending.id},
        "roster_leaving": {"worker_id": leaving.id},
        "roster_worker": {"worker_id": worker.id},
        "alert": {"alert_id": alert.id},
        "enterprise_course": {"code": course.code},
        "invoice": {"invoice_id": invoice.id},
        "pickup_scan": {"scan_id": pickup.scan.scan_id},
        "paper_pass": {"pass_id": paper.id},
    }
    phone = vault.decrypt(worker.user.phone_encrypted)
    side.secrets = [vault.decrypt(value) for value in (worker.user.phone_encrypted, worker.id_number_encrypted,
                                                        visitor.phone_encrypted, visitor.id_number_encrypted)]
    side.markers = [words["enterprise"], enterprise.credit_code, words["worker"], words["visitor"],
                    words["complaint"], words["course"], reservation.public_id, photo.public_id,
                    pickup.scan.scan_id, phone, worker.user.phone_masked, visitor.phone_masked]
    for role, user in ((Role.WORKER, worker.user), (Role.GATEKEEPER, gatekeeper), (Role.ENTERPRISE_ADMIN, admin),
                       (Role.VENUE_STAFF, venue_staff), (Role.PICKUP_STAFF, pickup_staff), (Role.CARRIER, carrier)):
        principal = _principal(session, role, user, now)
        principal.side = name
        side.principals[str(role)] = principal
    assert claim.carrier == words["carrier"]
    return side


def build_world(session, vault, programme, keyring) -> World:
    now = clock.now()
    sides = {name: _build_side(session, vault, programme, keyring, name, now) for name in ("A", "B")}
    official_user = make_user(session, vault, Role.OFFICIAL)
    official = _principal(session, Role.OFFICIAL, official_user, now)
    bureaus = [_principal(session, role, make_user(session, vault, role), now)
               for role in (Role.HR_OFFICIAL, Role.ECONOMY_OFFICIAL, Role.HEALTH_OFFICIAL, Role.POLICE_OFFICIAL,
                            Role.AUDITOR)]

    b_enterprise_id = sides["B"].principals["enterprise_admin"].user.checkpoint.enterprise_id
    venue_b = sides["B"].principals["venue_staff"].user.checkpoint
    from wzcheckin.venues.models import Venue

    venue = session.scalar(sa.select(Venue).where(Venue.checkpoint_id == venue_b.id))
    slot = make_slot(session, venue, now + timedelta(days=3), capacity=4)
    hours = OpeningHours(venue_id=venue.id, weekdays=0b1111111, opens=time(9), closes=time(12), slot_minutes=60,
                         capacity=10, created_at=now)
    listing = ServiceListing(kind=ServiceKind.CANTEEN, name="鹿城职工食堂", district="鹿城区", created_at=now,
                             updated_at=now)
    admin_b = sides["B"].principals["enterprise_admin"].user
    claim = submit_subsidy_claim(session, programme, admin_b.checkpoint.enterprise, IN_FEBRUARY, actor=admin_b)
    snapshot = Snapshot(kind=SnapshotKind.OFFICIAL, as_of=programme.cutoff, phase=SnapshotPhase.COMPLETE, progress_worker_id=0,
                        started_at=now, completed_at=now, started_by="cli", parameters={}, summary={})
    session.add_all([hours, listing, snapshot])
    session.flush()
    application = SubsidyApplication(snapshot_id=snapshot.id, enterprise_id=b_enterprise_id, retained=60, tier=50,
                                     amount_yuan=50000, status=ApplicationStatus.APPLIED, applied_at=now,
                                     applied_by_user_id=admin_b.id)
    declaration = ProductionDeclaration(enterprise_id=b_enterprise_id, programme_year=2021,
                                        output_previous_year_yuan=60_000_000, output_q3_yuan=1, output_q4_yuan=1,
                                        output_q1_yuan=1, eligible=True, reason="eligible", amount_yuan=100000,
                                        status=DeclarationStatus.DECLARED, declared_at=now,
                                        declared_by_user_id=admin_b.id)
    # Made now: a poster's code runs from its activity's creation to its end, which may not be
    # longer than the programme's poster maximum ([codes] max_lifetime_seconds).
    landmark = make_activity(session, programme, kind="landmark", starts_on=date(2021, 1, 12),
                             ends_on=programme.local_date(now) + timedelta(days=30), now=now)
    session.add_all([application, declaration])
    session.flush()
    worker_b = sides["B"].params["roster_worker"]["worker_id"]
    appeal = Appeal(snapshot_id=snapshot.id, kind=AppealKind.WORKER, status=AppealStatus.OPEN, worker_id=worker_b,
                    enterprise_id=b_enterprise_id, appealed_reason="missing_evidence", claimed_worker_ids=[],
                    reason="发烧被拒", filed_at=now, filed_by_user_id=sides["B"].principals["worker"].user.id,
                    decision_reason="", has_photo=True)
    session.add(appeal)
    session.flush()
    session.add(AppealPhoto(appeal_id=appeal.id, content_type="image/png", size=len(PNG_BYTES), sha256="0" * 64,
                            data=PNG_BYTES))
    session.flush()
    course_b = sides["B"].params["enterprise_course"]["code"]
    shared = {
        "language": {"code": "en"},
        "venue": {"code": venue.code},
        "slot": {"slot_id": slot.id},
        "venue_hours": {"code": venue.code, "hours_id": hours.id},
        "service_listing": {"listing_id": listing.id},
        "training_claim": {"claim_id": claim.id},
        "course": {"code": course_b},
        "invoice": sides["B"].params["invoice"],
        "activity": {"public_id": landmark.public_id},
        "poster": {"code": acts.poster_token(landmark, keyring, programme)},
        "application": {"application_id": application.id},
        "declaration": {"declaration_id": declaration.id},
        "review_item": {"policy": "P7", "application_id": application.id},  # the review room's queue
        "review_item_p8": {"policy": "P8", "application_id": declaration.id},  # 经信局's own policy
        "appeal": {"appeal_id": appeal.id},
        "complaint_any": sides["B"].params["complaint"],
        "static": {"filename": "css/app.css"},
        "dataset": {"name": "worker-statuses"},  # the officials' exports (admin room); one with personal data
        # An account on the officials' accounts desk: a spare one, so nobody's access changes.
        "account": {"user_id": make_user(session, vault, Role.OFFICIAL).id},
    }
    session.commit()
    return World(sides=sides, shared=shared, official=official, bureaus=bureaus)


# --- logging principals in on a test client ------------------------------------------------------

def csrf_pair(secret_key: str) -> tuple[str, str]:
    """(the raw token Flask-WTF keeps in the session, the signed token a form sends)."""
    raw = os.urandom(20).hex()  # the format Flask-WTF uses (40 hex characters)
    return raw, URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)


def log_in(session, client, principal: Principal, secret_key: str) -> str:
    """A real server-side session for ``principal`` on ``client``; returns the form CSRF token."""
    raw, signed = csrf_pair(secret_key)
    secret = start_session(session, principal.user, clock.now()) if principal.user is not None else None
    session.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
        if secret is not None:
            cookie["_user_id"] = secret
            cookie["_fresh"] = True
        cookie["csrf_token"] = raw
    principal.session_secret = secret
    return signed
