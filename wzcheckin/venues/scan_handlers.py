"""Venues room, scanning: venue staff redeem reservation codes through ``POST /api/v1/scans``.

A redemption is accepted when the code is a reservation for THIS venue, scanned inside its
slot (from ``early_grace_minutes`` before the start to ``late_grace_minutes`` after the end),
neither cancelled nor used. Single use is enforced by a conditional UPDATE
(``status IN ('booked', 'no_show') → 'redeemed'``): of two staff scanning the same code at
once, exactly one changes the row; the other is told ``already_used``. A booking the no-show job
has already marked may still be redeemed when the scan itself (queued offline) was made inside
the slot: the worker was there. An accepted redemption is presence evidence (SPEC §3).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.identity import mask_name
from wzcheckin.scanning.services import Outcome, ScanContext, ScanRefused, admit_subject
from wzcheckin.venues.booking import early_grace, find_reservation, redeemable_until
from wzcheckin.venues.models import Reservation, ReservationStatus
from wzcheckin.venues.services import describe_slot

REDEEMABLE = (ReservationStatus.BOOKED, ReservationStatus.NO_SHOW)


def reservation_subject(ctx: ScanContext, reservation: Reservation) -> dict:
    """What the scanner shows: the masked name, the venue and the booked time — nothing more."""
    worker, slot = reservation.worker, reservation.slot
    tz = ctx.programme.tz
    return {
        "type": "reservation",
        "name": mask_name(worker.name),
        "enterprise": worker.enterprise.name if worker.enterprise else None,
        "venue": slot.venue.name,
        "starts_at": slot.starts_at.astimezone(tz).isoformat(),
        "ends_at": slot.ends_at.astimezone(tz).isoformat(),
    }


def redeem_reservation(ctx: ScanContext) -> Outcome:
    if ctx.claims.kind is not TokenKind.RESERVATION:
        raise ScanRefused("wrong_kind", details={"kind": ctx.claims.kind.label})
    # Hot path: the worker (and their account) in the same query; slot and venue are few and
    # usually already in the session.
    reservation = find_reservation(ctx.session, ctx.claims.subject, joinedload(Reservation.worker))
    if reservation is None:
        raise ScanRefused("invalid_token")
    worker, slot = reservation.worker, reservation.slot
    subject = reservation_subject(ctx, reservation)
    details = {"venue": slot.venue.name, "slot": describe_slot(ctx.programme, slot)}

    def refuse(reason: str) -> ScanRefused:
        return ScanRefused(reason, worker=worker, subject=subject, details=details)

    if worker.user.disabled_at is not None:
        raise refuse("revoked")
    admit_subject(ctx, worker, subject)
    if slot.venue.checkpoint_id != ctx.checkpoint.id:
        raise refuse("wrong_venue")
    if reservation.status is ReservationStatus.CANCELLED:
        raise refuse("cancelled")
    if reservation.status is ReservationStatus.REDEEMED:
        raise refuse("already_used")
    if not slot.starts_at - early_grace(ctx.programme) <= ctx.scanned_at < redeemable_until(ctx.programme, slot):
        raise refuse("outside_slot")
    redeemed = ctx.session.execute(
        sa.update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status.in_(REDEEMABLE))
        .values(status=ReservationStatus.REDEEMED, redeemed_at=ctx.scanned_at, redeemed_by_user_id=ctx.staff.id)
        .execution_options(synchronize_session=False)
    )
    if redeemed.rowcount != 1:  # another scanner won, or the worker cancelled, a moment ago
        ctx.session.refresh(reservation)
        raise refuse("cancelled" if reservation.status is ReservationStatus.CANCELLED else "already_used")
    ctx.session.expire(reservation)
    return Outcome("redeemed", worker=worker, subject=subject, details=details, is_evidence=True)
