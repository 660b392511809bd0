"""One-time codes by SMS (issue 15 items 1-2): activating a roster account and resetting a
password need a six-digit code sent to the account's phone through the SMS outbox; codes are
valid five minutes with five tries, rate-limited per phone and per address, stored hashed and
never logged."""

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import PASSWORD, make_enterprise, make_phone, make_unique_id_number, make_user, make_worker
from tests.support.clock import at
from tests.support.config import TEST_CONFIG
from tests.support.web import csrf_token_from
from wzcheckin.accounts.codes import CodeRefused, issue_code, use_code
from wzcheckin.accounts.models import CodePurpose, OneTimeCode, User, UserSession, Worker
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import SmsMessage


def codes_sent(db) -> list[SmsMessage]:
    db.rollback()
    return list(db.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "one_time_code").order_by(SmsMessage.id)))


def code_in(message: SmsMessage) -> str:
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def post(client, path, **data):
    page = client.get(path)
    return client.post(path, data={"csrf_token": csrf_token_from(page.text), **data})


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- activation --------------------------------------------------------------------------------

def test_an_employer_with_the_id_and_phone_cannot_activate_a_workers_account(client, db, vault, programme):
    """The roster take-over: the employer supplied the ID and phone number, so it knows both. It
    still cannot activate the account: the code went by SMS to the worker's phone."""
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault), activated=False)
    db.commit()
    id_number, phone = vault.decrypt(worker.id_number_encrypted), vault.decrypt(worker.user.phone_encrypted)
    asked = post(client, "/activate", id_number=id_number, phone=phone)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/activate/code")
    (message,) = codes_sent(db)
    real_code = code_in(message)
    for guess in range(programme.accounts.one_time_code_tries):
        wrong = post(client, "/activate/code", code=f"{guess:06d}" if f"{guess:06d}" != real_code else "999999",
                     password="taken-over-1", password_confirm="taken-over-1", pledge="y")
        assert wrong.status_code == 200 and "验证码错误" in wrong.text
    # Five wrong guesses spend the code: now even the right one is refused.
    late = post(client, "/activate/code", code=real_code, password="taken-over-1", password_confirm="taken-over-1")
    assert late.status_code == 200 and "验证码错误" in late.text
    db.rollback()
    assert not db.get(Worker, worker.id).user.is_activated
    assert db.scalar(sa.select(OneTimeCode.attempts)) == programme.accounts.one_time_code_tries


def test_the_worker_with_the_phone_activates_with_the_code(client, db, vault, programme):
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault), activated=False, pledged=False)
    db.commit()
    id_number, phone = vault.decrypt(worker.id_number_encrypted), vault.decrypt(worker.user.phone_encrypted)
    post(client, "/activate", id_number=id_number.lower(), phone=phone)
    code = code_in(codes_sent(db)[-1])
    mismatch = post(client, "/activate/code", code=code, password="new-password-1", password_confirm="other-one-2")
    assert "两次输入的密码不一致" in mismatch.text
    done = post(client, "/activate/code", code=code, password="new-password-1", password_confirm="new-password-1",
                pledge="y")
    assert done.status_code == 302 and done.headers["Location"].endswith("/me/pass")
    db.rollback()
    activated = db.get(Worker, worker.id)
    assert activated.user.is_activated and activated.has_pledged and activated.employment_confirmed
    # Spent: the same code cannot activate (or re-activate) anything again.
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/me/pass").text)})
    with client.session_transaction() as session:
        session["one_time_code"] = {"purpose": "activate", "id": db.scalar(sa.select(OneTimeCode.id))}
    again = post(client, "/activate/code", code=code, password="other-password", password_confirm="other-password")
    assert "验证码错误" in again.text


def test_details_that_match_no_roster_account_get_the_same_answer_and_no_message(client, db, vault, programme):
    worker = make_worker(db, vault, programme, activated=False)
    db.commit()
    id_number = vault.decrypt(worker.id_number_encrypted)
    wrong_phone = post(client, "/activate", id_number=id_number, phone=make_phone())
    nobody = post(client, "/activate", id_number=make_unique_id_number(), phone=make_phone())
    assert wrong_phone.status_code == nobody.status_code == 302
    assert wrong_phone.headers["Location"] == nobody.headers["Location"]
    assert codes_sent(db) == []
    refused = post(client, "/activate/code", code="123456", password="new-password-1", password_confirm="new-password-1")
    assert "验证码错误" in refused.text


def test_step_two_without_step_one_goes_back_to_step_one(client, db):
    assert client.get("/activate/code").headers["Location"].endswith("/activate")
    assert client.get("/reset/code").headers["Location"].endswith("/reset")


# --- password reset ------------------------------------------------------------------------------

def test_a_worker_resets_the_password_end_to_end_through_the_outbox(client, app, db, vault, programme, login_as):
    from wzcheckin.core import context
    from wzcheckin.core.sms import OutboxGateway, dispatch_outbox

    worker = make_worker(db, vault, programme)
    db.commit()
    phone = vault.decrypt(worker.user.phone_encrypted)
    other_browser = app.test_client()
    login_as(worker.user)  # a session that must end with the reset
    assert client.get("/me/pass").status_code == 200

    asked = post(other_browser, "/reset", phone=phone)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/reset/code")
    with app.app_context():
        from wzcheckin.extensions import db as app_db

        assert dispatch_outbox(app_db.session, OutboxGateway(), context.vault(), at("2021-02-01 09:00"))["sent"] == 1
    (message,) = codes_sent(db)
    assert message.status.value == "sent" and message.recipient_masked == phone[:3] + "****" + phone[-4:]
    code = code_in(message)
    wrong = post(other_browser, "/reset/code", code=other_code(code), password="a-new-password",
                 password_confirm="a-new-password")
    assert wrong.status_code == 200 and "验证码错误" in wrong.text
    done = post(other_browser, "/reset/code", code=code, password="a-new-password", password_confirm="a-new-password")
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    assert client.get("/me/pass").status_code == 302  # the old session has ended
    old = post(other_browser, "/login", phone=phone, password=PASSWORD)
    assert old.status_code == 200
    new = post(other_browser, "/login", phone=phone, password="a-new-password")
    assert new.status_code == 302


def test_staff_reset_is_audited_and_an_unknown_phone_is_answered_alike(client, app, db, vault):
    gatekeeper = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    unknown = post(client, "/reset", phone=make_phone())
    assert unknown.status_code == 302 and codes_sent(db) == []
    other = app.test_client()
    post(other, "/reset", phone=vault.decrypt(gatekeeper.phone_encrypted))
    code = code_in(codes_sent(db)[-1])
    assert post(other, "/reset/code", code=code, password="new-desk-pass", password_confirm="new-desk-pass").status_code == 302
    db.rollback()
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "password.reset"))
    assert entry.target_id == str(gatekeeper.id)


# --- the rules, on the domain functions -------------------------------------------------------------

def test_a_code_is_valid_five_minutes(db, vault, programme):
    user = make_user(db, vault, Role.OFFICIAL)
    phone = vault.decrypt(user.phone_encrypted)
    now = at("2021-02-01 09:00")
    row = issue_code(db, vault, programme, purpose=CodePurpose.RESET, phone=phone, user=user, address="192.0.2.1",
                     now=now)
    code = code_in(db.scalar(sa.select(SmsMessage)))
    assert programme.accounts.one_time_code_minutes == 5
    with pytest.raises(CodeRefused, match="code_invalid"):
        use_code(db, vault, programme, purpose=CodePurpose.RESET, code_id=row.id, code=code,
                 now=now + timedelta(minutes=5))
    with pytest.raises(CodeRefused, match="code_invalid"):  # a code is for one purpose only
        use_code(db, vault, programme, purpose=CodePurpose.ACTIVATE, code_id=row.id, code=code,
                 now=now + timedelta(minutes=4))
    assert use_code(db, vault, programme, purpose=CodePurpose.RESET, code_id=row.id, code=code,
                    now=now + timedelta(minutes=4, seconds=59)).user_id == user.id


def test_codes_are_rate_limited_per_phone_and_per_address(db, vault, programme):
    rules = programme.accounts
    user = make_user(db, vault, Role.OFFICIAL)
    phone = vault.decrypt(user.phone_encrypted)
    now = at("2021-02-01 09:00")

    def ask(at_time, *, number=phone, address="192.0.2.1", purpose=CodePurpose.RESET):
        return issue_code(db, vault, programme, purpose=purpose, phone=number, user=None, address=address,
                          now=at_time)

    ask(now)
    with pytest.raises(CodeRefused, match="code_rate_limited"):  # again within the minute
        ask(now + timedelta(seconds=rules.one_time_code_resend_seconds - 1))
    for step in range(1, rules.one_time_codes_per_phone_per_hour):
        ask(now + timedelta(minutes=2 * step), address=f"192.0.2.{step + 1}")
    with pytest.raises(CodeRefused, match="code_rate_limited"):  # the phone's hour is full
        ask(now + timedelta(minutes=30), address="198.51.100.1")
    ask(now + timedelta(minutes=61), address="198.51.100.1")  # an hour later it is not
    later = now + timedelta(hours=3)
    for step in range(rules.one_time_codes_per_address_per_hour):
        ask(later + timedelta(seconds=step), number=make_phone(), address="203.0.113.5")
    with pytest.raises(CodeRefused, match="code_rate_limited"):  # the address's hour is full
        ask(later + timedelta(minutes=1), number=make_phone(), address="203.0.113.5")


def test_codes_are_stored_hashed_and_never_logged(app, db, vault, programme, caplog):
    from wzcheckin.core.sms import OutboxGateway, dispatch_outbox

    user = make_user(db, vault, Role.OFFICIAL)
    phone = vault.decrypt(user.phone_encrypted)
    row = issue_code(db, vault, programme, purpose=CodePurpose.RESET, phone=phone, user=user, address=None,
                     now=at("2021-02-01 09:00"))
    db.commit()
    code = code_in(db.scalar(sa.select(SmsMessage)))
    stored = db.execute(sa.text("SELECT * FROM one_time_codes")).one()
    assert all(code not in str(value) for value in stored)
    assert row.phone_hash != phone and phone not in str(tuple(stored))
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        from wzcheckin.extensions import db as app_db

        dispatch_outbox(app_db.session, OutboxGateway(), vault, at("2021-02-01 09:00"))
    assert "sms" in caplog.text and code not in caplog.text and phone not in caplog.text


def test_the_development_page_exists_only_in_development(app, client, db, vault):
    from wzcheckin import create_app

    make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert client.get("/dev/codes").status_code == 404
    url = app.config["DATABASE_URL"]
    dev = create_app({**TEST_CONFIG, "DEV_MODE": True, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    page = dev.test_client().get("/dev/codes")
    assert page.status_code == 200 and "DEVELOPMENT ONLY" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    with dev.app_context():
        from wzcheckin.extensions import db as dev_db

        dev_db.engine.dispose()


def test_a_disabled_or_unactivated_account_gets_no_reset_message(client, db, vault, programme):
    from wzcheckin import clock
    from wzcheckin.accounts.sessions import disable_user

    inactive = make_worker(db, vault, programme, activated=False)
    disabled = make_user(db, vault, Role.OFFICIAL)
    disable_user(db, disabled, clock.now(), reason="test")
    db.commit()
    for user in (inactive.user, disabled):
        assert post(client, "/reset", phone=vault.decrypt(user.phone_encrypted)).status_code == 302
    assert codes_sent(db) == []
    assert db.scalar(sa.select(sa.func.count(UserSession.id))) == 0
    assert db.get(User, disabled.id).disabled_at is not None


# --- a change of phone number ----------------------------------------------------------------------

def test_a_change_of_phone_needs_codes_to_the_old_and_the_new_number(app, client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    db.commit()
    old_phone, new_phone = vault.decrypt(worker.user.phone_encrypted), make_phone("136")
    login_as(worker.user)
    asked = post(client, "/account/phone", new_phone=new_phone)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/account/phone/confirm")
    old_message, new_message = codes_sent(db)
    assert vault.decrypt(old_message.recipient_encrypted) == old_phone
    assert vault.decrypt(new_message.recipient_encrypted) == new_phone
    old_code, new_code = code_in(old_message), code_in(new_message)
    only_new = post(client, "/account/phone/confirm", new_phone=new_phone, old_code=other_code(old_code),
                    new_code=new_code)
    assert only_new.status_code == 200 and "验证码错误" in only_new.text and new_phone not in only_new.text
    db.rollback()
    assert db.get(User, worker.user_id).phone_masked == old_phone[:3] + "****" + old_phone[-4:]
    # The wrong guess spent one try of the old number's code, not the code itself.
    both = post(client, "/account/phone/confirm", new_phone=new_phone, old_code=old_code, new_code=new_code)
    assert both.status_code == 302
    db.rollback()
    user = db.get(User, worker.user_id)
    assert vault.decrypt(user.phone_encrypted) == new_phone
    other = app.test_client()
    assert post(other, "/login", phone=new_phone, password=PASSWORD).status_code == 302


def test_a_number_taken_by_another_account_is_sent_nothing(client, db, vault, programme, login_as):
    worker, owner = make_worker(db, vault, programme), make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    taken = vault.decrypt(owner.user.phone_encrypted)
    assert post(client, "/account/phone", new_phone=taken).status_code == 302
    sent = codes_sent(db)
    assert len(sent) == 1 and vault.decrypt(sent[0].recipient_encrypted) != taken


def test_an_official_changes_a_lost_phones_number_with_a_reason(client, db, vault, programme, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    worker = make_worker(db, vault, programme)
    db.commit()
    new_phone = make_phone("135")
    login_as(official)
    csrf = csrf_token_from(client.get(f"/official/accounts/{worker.user_id}").text)
    client.post(f"/official/accounts/{worker.user_id}/phone", data={"csrf_token": csrf, "new_phone": new_phone})
    db.rollback()
    assert vault.decrypt(db.get(User, worker.user_id).phone_encrypted) != new_phone  # no reason, no change
    client.post(f"/official/accounts/{worker.user_id}/phone",
                data={"csrf_token": csrf, "new_phone": new_phone, "reason": "手机遗失，本人持身份证到窗口"})
    db.rollback()
    assert vault.decrypt(db.get(User, worker.user_id).phone_encrypted) == new_phone
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.phone.change.official"))
    assert entry.details["reason"].startswith("手机遗失") and new_phone not in str(entry.details)
