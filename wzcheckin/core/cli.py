"""Shared commands for personal data: ``wzcheckin keys reencrypt`` (rotate the data key) and
``wzcheckin retention purge`` (delete raw records after the appeal window)."""

from __future__ import annotations

import click

from wzcheckin import clock
from wzcheckin.cli import CliGroups, emit_json, fail, progress
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db


@click.command("reencrypt")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
def keys_reencrypt_command(batch_size: int):
    """Re-encrypt every encrypted column under the first key of WZCHECKIN_DATA_KEYS.

    Rotation: put the new key first, keep the old ones after it, run this (beside the app; it can
    be stopped and run again), and remove the old keys once it says old_keys_removable: true."""
    from wzcheckin.core.rekey import reencrypt_all

    progress("re-encrypting personal data under the first key of WZCHECKIN_DATA_KEYS…")
    report = reencrypt_all(db.session, context.vault(), batch_size=batch_size, progress=progress)
    with unit_of_work(db.session):
        record_audit(db.session, at=clock.now(), action="keys.reencrypt", actor_role="cli",
                     details={key: value for key, value in report.as_dict().items() if key != "columns"})
    emit_json(report.as_dict())
    if not report.old_keys_removable:
        fail(f"{report.not_current} value(s) still need an older key; run the command again")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=5_000, show_default=True)
def retention_purge_command(dry_run: bool, batch_size: int):
    """Delete the raw personal records (scans, health alerts, visitor registrations, check-in
    photos) made before the cutoff plus the programme's appeal window; keep every decision."""
    from wzcheckin.core.retention import RetentionRefused, check_purge_allowed, count_purgeable, purge_raw_records

    programme, now = context.programme(), clock.now()
    try:
        horizon = check_purge_allowed(db.session, programme, now)
    except RetentionRefused as exc:
        fail(str(exc))
    if dry_run:
        emit_json({"dry_run": True, "before": horizon.isoformat(), "would_delete": count_purgeable(db.session, horizon)})
        return
    progress(f"deleting raw records made before {horizon.isoformat()}…")
    deleted = purge_raw_records(db.session, programme, now, batch_size=batch_size, progress=progress)
    with unit_of_work(db.session):
        record_audit(db.session, at=clock.now(), action="retention.purge", actor_role="cli",
                     details={"before": horizon.isoformat(), "deleted": deleted})
    emit_json({"dry_run": False, "before": horizon.isoformat(), "deleted": deleted})


def register(groups: CliGroups) -> None:
    groups.keys.add_command(keys_reencrypt_command)
    retention = click.Group("retention", help="Retention of raw personal records (PIPL).")
    retention.add_command(retention_purge_command)
    groups.root.add_command(retention)
