"""Enterprises and gates room, scan handler: entry at a factory gate with the P9 checks.

The gatekeeper's checkpoint is ``gate:<credit_code>``; only that enterprise's employees enter
on their pass (others register as visitors). The health check comes first, for everyone who
shows a pass: a fever or symptoms is refused and reported whether or not the person works here
(P9: 拒绝进入、劝其就诊并报告), and only then is an outsider sent to visitor registration. The
health alert is raised in the same transaction as the scan record, so the two stand or fall
together: the handler only reads, and asks for the alert to be written once the scan is (``then``),
so a replayed ``scan_id`` returns the first answer and raises nothing new.
"""

from __future__ import annotations

from functools import partial

from wzcheckin.core.identity import mask_name
from wzcheckin.enterprises.gates import ALERT_REASONS, ENTRY_ALLOWED, entry_refusal, raise_health_alert
from wzcheckin.scanning.services import (
    Outcome,
    ScanContext,
    ScanRefused,
    reads_only,
    resolve_pass_holder_of,
    worker_subject,
)


@reads_only
def gate_entry(ctx: ScanContext) -> Outcome:
    # Read only (id, name, employer): one Core row, not the ORM worker.
    worker = resolve_pass_holder_of(ctx)
    checkpoint = ctx.checkpoint
    employee = checkpoint.enterprise_id is not None and worker.enterprise_id == checkpoint.enterprise_id
    # Another employer's worker: say nothing about where they work.
    subject = worker_subject(worker) if employee else {"type": "worker", "name": mask_name(worker.name),
                                                       "enterprise": None}
    if checkpoint.enterprise_id is None:  # a gate of no enterprise: nobody to report to, nobody enters
        raise ScanRefused("not_employee", worker=worker, subject=subject)
    data = ctx.data
    refusal = entry_refusal(ctx.programme, mask=data.mask, temperature=data.temperature, symptoms=data.symptoms)
    if refusal is not None and refusal[0] in ALERT_REASONS:
        reason, details = refusal
        # The alert belongs to this gate's enterprise (it is where the person stood), whoever
        # employs them; it shows the masked name only.
        alert = partial(raise_health_alert, checkpoint=checkpoint, reason=reason, person_masked=subject["name"],
                        staff=ctx.staff, now=ctx.scanned_at, temperature=data.temperature,
                        symptoms=data.symptoms, worker=worker, scan_id=ctx.scan_id)
        raise ScanRefused(reason, worker=worker, subject=subject, details={**details, "symptoms": data.symptoms},
                          then=alert)
    if not employee:
        raise ScanRefused("not_employee", worker=worker, subject=subject)
    if refusal is not None:
        reason, details = refusal
        raise ScanRefused(reason, worker=worker, details=details or None)
    # An accepted gate entry is presence evidence (SPEC §3).
    return Outcome(ENTRY_ALLOWED, worker, subject, is_evidence=True)
