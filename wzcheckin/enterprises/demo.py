"""Enterprises and gates room, demo data: a morning at the first demo enterprise's gate — a few
entries (presence evidence), a refusal without a mask and a fever alert — so the enterprise
admin's page and the officials' health view have something to show. Idempotent: the scans have
fixed ``scan_id``s, so loading again replays them and records nothing new."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from wzcheckin.accounts.models import User
from wzcheckin.codes.keys import load_keyring
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.services import ScanInput, record_scan

# (minutes before "now", mask, temperature) per worker of the first enterprise
MORNING = [(50, True, "36.4"), (48, True, "36.7"), (45, True, "36.5"), (41, False, "36.6"), (38, True, "37.9"),
           (30, True, "36.3")]


def load(session, vault, programme, now, demo) -> None:
    if not demo.enterprises:
        return
    enterprise = next(iter(demo.enterprises.values()))
    gatekeeper = session.scalar(
        sa.select(User).where(User.role == Role.GATEKEEPER, User.checkpoint.has(enterprise_id=enterprise.id)))
    workers = [w for w in demo.workers if w.enterprise_id == enterprise.id]
    if gatekeeper is None or not workers:
        return
    keyring = load_keyring(session, vault)
    day = programme.local_date(now).isoformat()
    for worker, (minutes, mask, temperature) in zip(workers, MORNING, strict=False):
        scanned_at = now - timedelta(minutes=minutes)
        token = current_pass(worker, keyring, programme, scanned_at).token
        data = ScanInput(token=token, scan_id=f"demo-gate-{worker.public_id}-{day}", scanned_at=scanned_at,
                         mask=mask, temperature=Decimal(temperature), device="demo")
        record_scan(session, staff=gatekeeper, checkpoint=gatekeeper.checkpoint, data=data, keyring=keyring,
                    programme=programme, now=now)
