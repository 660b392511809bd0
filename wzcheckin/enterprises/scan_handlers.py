"""Enterprises and gates room, scan handler: entry at a factory gate with the P9 checks.

The gatekeeper's checkpoint is ``gate:<credit_code>``; only that enterprise's employees enter
on their pass (others register as visitors). A fever or symptom refusal raises a health alert
in the same transaction as the scan record, so the two stand or fall together (a replayed
``scan_id`` returns the first answer and raises nothing new).
"""

from __future__ import annotations

from wzcheckin.core.identity import mask_name
from wzcheckin.enterprises.gates import ALERT_REASONS, ENTRY_ALLOWED, entry_refusal, raise_health_alert
from wzcheckin.scanning.models import CheckpointKind
from wzcheckin.scanning.services import (
    Outcome,
    ScanContext,
    ScanRefused,
    handles,
    resolve_worker_pass,
    worker_subject,
)


@handles(CheckpointKind.GATE)
def gate_entry(ctx: ScanContext) -> Outcome:
    worker = resolve_worker_pass(ctx)
    checkpoint = ctx.checkpoint
    if checkpoint.enterprise_id is None or worker.enterprise_id != checkpoint.enterprise_id:
        # Another employer's worker: say nothing about where they work.
        raise ScanRefused("not_employee", worker=worker,
                          subject={"type": "worker", "name": mask_name(worker.name), "enterprise": None})
    data = ctx.data
    refusal = entry_refusal(ctx.programme, mask=data.mask, temperature=data.temperature, symptoms=data.symptoms)
    if refusal is not None:
        reason, details = refusal
        if reason in ALERT_REASONS:
            raise_health_alert(ctx.session, checkpoint=checkpoint, reason=reason,
                               person_masked=mask_name(worker.name), staff=ctx.staff, now=ctx.scanned_at,
                               temperature=data.temperature, symptoms=data.symptoms, worker=worker,
                               scan_id=ctx.scan_id)
            details = {**details, "symptoms": data.symptoms}
        raise ScanRefused(reason, worker=worker, details=details or None)
    # An accepted gate entry is presence evidence (SPEC §3).
    return Outcome(ENTRY_ALLOWED, worker, worker_subject(worker), is_evidence=True)
