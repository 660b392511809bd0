"""The residence jobs: daily evidence reminders, the nightly preview, and the SMS dispatcher's
at-most-once sending."""

from datetime import date

import sqlalchemy as sa

from tests.builders import make_id_number, make_user, make_worker
from tests.residence.builders import add_departure, add_scan, make_site
from tests.support.clock import at
from wzcheckin.core.roles import Role
from wzcheckin.core.sms import OutboxGateway, dispatch_outbox
from wzcheckin.db import unit_of_work
from wzcheckin.residence.jobs import preview_job, reminders_job
from wzcheckin.residence.models import SmsMessage, Snapshot, SnapshotKind


def run_job(app, db, job, programme, now, transactional=True):
    with app.app_context():
        if not transactional:
            return job(db, programme, now)
        with unit_of_work(db):
            return job(db, programme, now)


def test_reminders_go_once_a_day_to_workers_missing_the_open_window_in_their_language(app, db, vault, programme):
    site = make_site(db, vault)
    scanned = make_worker(db, vault, programme, enterprise=site.enterprise)
    missing = make_worker(db, vault, programme, enterprise=site.enterprise)
    english = make_worker(db, vault, programme, enterprise=site.enterprise)
    english.user.language = "en"
    home = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="温州市鹿城区",
                       id_number=make_id_number("330302"))
    unpledged = make_worker(db, vault, programme, enterprise=site.enterprise, pledged=False)
    departed = make_worker(db, vault, programme, enterprise=site.enterprise)
    add_departure(db, departed, date(2021, 2, 12), recorded_at=at("2021-02-12 20:00"))
    add_scan(db, scanned.id, site.gate, site.staff, at("2021-02-12 08:00"))
    add_scan(db, missing.id, site.gate, site.staff, at("2021-02-05 08:00"))   # the closed window: no help
    db.commit()
    first = run_job(app, db, reminders_job, programme, at("2021-02-13 10:00"))
    assert first == {"window": "春节假期", "queued": 2}
    same_day = run_job(app, db, reminders_job, programme, at("2021-02-13 16:00"))
    assert same_day["queued"] == 0
    next_day = run_job(app, db, reminders_job, programme, at("2021-02-14 10:00"))
    assert next_day["queued"] == 2
    messages = {m.worker_id: m for m in db.scalars(sa.select(SmsMessage).where(
        SmsMessage.dedupe_key.like("reminder:%:2021-02-13:%")))}
    assert set(messages) == {missing.id, english.id}
    assert "春节假期" in messages[missing.id].body and "0577-88996871" in messages[missing.id].body
    assert "Spring Festival holiday" in messages[english.id].body
    # The window's days as a text message writes them: month and day in the reader's words.
    assert "（2月11日至2月17日）" in messages[missing.id].body
    assert "(Feb 11 to Feb 17)" in messages[english.id].body
    assert messages[missing.id].recipient_masked == missing.user.phone_masked
    assert vault.decrypt(messages[missing.id].recipient_encrypted) == vault.decrypt(missing.user.phone_encrypted)
    assert {home.id, unpledged.id, departed.id, scanned.id}.isdisjoint(messages)
    assert run_job(app, db, reminders_job, programme, at("2021-03-01 10:00")) == {"skipped": "after the cutoff"}


def test_the_nightly_preview_keeps_only_the_latest_and_officials_see_it(app, db, vault, programme, client,
                                                                         login_as, set_clock):
    site = make_site(db, vault)
    make_worker(db, vault, programme, enterprise=site.enterprise)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert run_job(app, db, preview_job, programme, at("2021-01-20 02:30"), False)["skipped"]
    first = run_job(app, db, preview_job, programme, at("2021-02-20 02:30"), False)
    second = run_job(app, db, preview_job, programme, at("2021-02-21 02:30"), False)
    assert second["previews_dropped"] == 1
    assert [s.id for s in db.scalars(sa.select(Snapshot))] == [second["snapshot_id"]]
    assert first["kind"] == SnapshotKind.PREVIEW.value
    set_clock("2021-02-21 09:00")
    login_as(official)
    page = client.get("/official/residence", headers={"Accept-Language": "en"})
    assert "No snapshot yet: the cutoff is on" in page.text and "last night's preview" in page.text
    assert "On track" in client.get("/official/residence/workers", headers={"Accept-Language": "en"}).text


class ExplodingGateway(OutboxGateway):
    name = "exploding"

    def send(self, message):
        raise SystemExit("the process dies mid-send")


def test_a_message_is_never_sent_twice_even_after_a_crash_mid_send(app, db, vault):
    for n in range(3):
        db.add(SmsMessage(dedupe_key=f"test:{n}", kind="evidence_reminder", body="提醒", recipient_masked="139****0001",
                          recipient_encrypted=vault.encrypt("13900000001"), status="queued", attempts=0,
                          created_at=at("2021-02-13 10:00")))
    db.commit()
    try:
        dispatch_outbox(db, ExplodingGateway(), vault, at("2021-02-13 10:01"), batch_size=2)
    except SystemExit:
        db.rollback()
    statuses = [m.status.value for m in db.scalars(sa.select(SmsMessage).order_by(SmsMessage.id))]
    assert statuses == ["sending", "sending", "queued"]   # claimed before the gateway was called
    db.rollback()
    result = dispatch_outbox(db, OutboxGateway(), vault, at("2021-02-13 10:02"))
    assert result == {"sent": 1, "failed": 0, "gateway": "outbox"}
    assert [m.status.value for m in db.scalars(sa.select(SmsMessage).order_by(SmsMessage.id))] == [
        "sending", "sending", "sent"]
