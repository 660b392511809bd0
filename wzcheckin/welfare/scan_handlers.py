"""Welfare room, scan handler: at a pickup point a worker's pass (phone or paper) gets them
their one welfare pack (P3). The invariants are kept in ``welfare.services.hand_out_pack``."""

from __future__ import annotations

from wzcheckin.scanning.services import (
    Outcome,
    ScanContext,
    ScanRefused,
    resolve_worker_pass,
    worker_subject,
)
from wzcheckin.welfare.services import PackRefused, hand_out_pack, point_for_checkpoint


def pickup(ctx: ScanContext) -> Outcome:
    worker = resolve_worker_pass(ctx)
    point = point_for_checkpoint(ctx.session, ctx.checkpoint)
    if point is None:
        raise ScanRefused("checkpoint_unavailable")
    try:
        hand_out_pack(ctx.session, point=point, worker=worker, staff=ctx.staff, scan_id=ctx.scan_id,
                      at=ctx.scanned_at)
    except PackRefused as refusal:
        raise ScanRefused(refusal.code, worker=worker, details=refusal.params) from None
    # An accepted pickup is presence evidence: staff saw the worker in Wenzhou (SPEC §3).
    return Outcome("pack_handed_out", worker, {**worker_subject(worker), "pickup_point": point.name},
                   details={"pickup_point": point.code}, is_evidence=True)
