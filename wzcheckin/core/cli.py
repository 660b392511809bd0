"""Core, command line: what every room's commands share — the command groups, progress on stderr,
the result as the last line on stdout, ``fail`` (exit 1 saying why), the all-or-nothing CSV import
— and core's own commands: ``wzcheckin keys reencrypt`` (rotate the data key), ``wzcheckin
retention purge`` (delete raw records after the appeal window) and ``wzcheckin sms dispatch``.

Conventions: progress goes to stderr; the last line on stdout is the result (a token, JSON, or
a CSV ends the output); bad input exits with status 1 after saying why, having written nothing.
Every command that changes data is one unit of work.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.csv_import import CsvFormatError, read_text
from wzcheckin.core.i18n import field_error
from wzcheckin.core.rekey import reencrypt_all
from wzcheckin.core.retention import RetentionRefused, check_purge_allowed, count_purgeable, purge_raw_records
from wzcheckin.core.room import app_rooms
from wzcheckin.core.sms import SmsGatewayError, dispatch_outbox, load_gateway
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db


@dataclass
class CliGroups:
    root: click.Group
    import_: click.Group
    user: click.Group
    token: click.Group
    pass_: click.Group
    keys: click.Group


def progress(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str) -> None:
    """Say why on stderr and exit 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def open_private_file(path: str):
    """A new file for personal data, opened for binary writing: created exclusively (never
    overwriting, never through a symlink, even a dangling one) with mode 0600. Exits 1 saying
    why when it cannot be."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ELOOP):
            fail(f"{path}: already exists (or is a link); choose a new file name")
        fail(f"{path}: {exc.strerror}")
    os.fchmod(descriptor, 0o600)  # whatever the umask
    return os.fdopen(descriptor, "wb")


def emit_json(value) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str))


def field_errors(errors: dict[str, str]) -> str:
    """A form's field errors on one line: ``phone: <message> (phone_invalid); ...``."""
    return "; ".join(f"{name}: {field_error(code)} ({code})" for name, code in errors.items())


def run_import(kind: str, path: str, importer) -> None:
    """Shared by every ``wzcheckin import`` command: read, validate all, write all or nothing."""
    try:
        text = read_text(Path(path))
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except CsvFormatError as exc:
        fail(f"{path}: {exc}")
    now = clock.now()

    def on_progress(count: int) -> None:
        if count % 500 == 0:
            progress(f"  {count} rows written…")

    class _Abort(Exception):
        pass

    progress(f"importing {kind} from {path}")
    try:
        with unit_of_work(db.session):
            report = importer(db.session, text, now, on_progress)
            if not report.ok:
                raise _Abort
            record_audit(db.session, at=now, action=f"import.{kind}", actor_role="cli",
                         details={"file": Path(path).name, "created": report.created, "updated": report.updated})
    except _Abort:
        for error in report.errors:
            click.echo(f"{path}: {error}", err=True)
        fail(f"{len(report.errors)} bad line(s); nothing was imported")
    except CsvFormatError as exc:
        fail(f"{path}: {exc}")
    emit_json({"imported": kind, "created": report.created, "updated": report.updated})


@click.command("reencrypt")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
def keys_reencrypt_command(batch_size: int):
    """Re-encrypt every encrypted column under the first key of WZCHECKIN_DATA_KEYS.

    Rotation: put the new key first, keep the old ones after it, run this (beside the app; it can
    be stopped and run again), and remove the old keys once it says old_keys_removable: true."""
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
    programme, now, rooms = context.programme(), clock.now(), app_rooms()
    try:
        horizon = check_purge_allowed(db.session, programme, now, rooms)
    except RetentionRefused as exc:
        fail(exc.english())
    if dry_run:
        emit_json({"dry_run": True, "before": horizon.isoformat(), "would_delete": count_purgeable(db.session, horizon, rooms)})
        return
    progress(f"deleting raw records made before {horizon.isoformat()}…")
    deleted = purge_raw_records(db.session, programme, now, rooms, batch_size=batch_size, progress=progress)
    with unit_of_work(db.session):
        record_audit(db.session, at=clock.now(), action="retention.purge", actor_role="cli",
                     details={"before": horizon.isoformat(), "deleted": deleted})
    emit_json({"dry_run": False, "before": horizon.isoformat(), "deleted": deleted})


@click.command("dispatch")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=None, help="At most this many messages.")
def sms_dispatch_command(limit: int | None):
    """Hand queued text messages to the SMS gateway (WZCHECKIN_SMS_GATEWAY) now."""
    try:
        gateway = load_gateway(current_app.config.get("SMS_GATEWAY"))
    except SmsGatewayError as exc:
        fail(str(exc))
    emit_json(dispatch_outbox(db.session, gateway, context.vault(), clock.now(), max_messages=limit))


def register(groups: CliGroups) -> None:
    groups.keys.add_command(keys_reencrypt_command)
    retention = click.Group("retention", help="Retention of raw personal records (PIPL).")
    retention.add_command(retention_purge_command)
    groups.root.add_command(retention)
    sms = click.Group("sms", help="The SMS outbox.")
    sms.add_command(sms_dispatch_command)
    groups.root.add_command(sms)
