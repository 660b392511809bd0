"""``wzcheckin export … --output FILE`` (issue 15 item 7): the file is created exclusively with
mode 0600; an existing file, or a symlink (even one pointing nowhere), is refused, written to
nothing and audited nowhere."""

import os
import stat

import sqlalchemy as sa

from tests.builders import make_worker
from wzcheckin.core.models import AuditEntry


def export(app, runner, target):
    with app.app_context():
        return runner.invoke(args=["export", "registrations-by-enterprise", "--output", str(target)])


def exports_audited(db) -> int:
    db.rollback()
    return db.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action.like("admin.export%")))


def test_an_export_file_is_new_and_private(app, db, vault, programme, runner, tmp_path):
    make_worker(db, vault, programme)
    db.commit()
    os.umask(0o022)
    target = tmp_path / "statuses.csv"
    made = export(app, runner, target)
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert exports_audited(db) == 1


def test_an_existing_file_or_a_symlink_is_refused(app, db, vault, programme, runner, tmp_path):
    make_worker(db, vault, programme)
    db.commit()
    existing = tmp_path / "existing.csv"
    existing.write_text("keep me")
    refused = export(app, runner, existing)
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert existing.read_text() == "keep me"
    elsewhere = tmp_path / "elsewhere.csv"
    link = tmp_path / "link.csv"
    link.symlink_to(elsewhere)  # dangling: following it would create elsewhere.csv
    assert export(app, runner, link).exit_code == 1
    assert not elsewhere.exists()
    assert exports_audited(db) == 0
