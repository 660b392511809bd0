"""Worker registration and activation over HTTP, in Chinese and English."""

import sqlalchemy as sa

from tests.builders import make_enterprise, make_id_number, make_phone, make_unique_id_number, make_worker
from tests.support.web import csrf_token_from, latest_sms_code, register_with_code
from wzcheckin.accounts.models import User, Worker


def register_form(client, db=None, *, code_phone=None, **overrides):
    data = {
        "name": "李娜", "id_number": make_unique_id_number(), "phone": make_phone(), "credit_code": "",
        "hukou": "", "residence_permit_no": "", "residence_permit_expiry": "", "pledge": "y",
        "password": "stay-in-wenzhou", "password_confirm": "stay-in-wenzhou",
    }
    data.update(overrides)
    return register_with_code(client, db, data, code_phone=code_phone), data


def test_a_worker_registers_and_lands_on_their_pass(client, db, vault):
    enterprise = make_enterprise(db, vault)
    db.commit()
    response, data = register_form(client, db, credit_code=enterprise.credit_code.lower(),
                                   id_number=make_id_number("520102"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/pass")
    db.rollback()
    worker = db.scalar(sa.select(Worker))
    assert worker.name == "李娜"
    assert worker.enterprise_id == enterprise.id and not worker.employment_confirmed
    assert worker.has_pledged and not worker.hukou_is_home
    # Stored encrypted, findable by the keyed hash, never in clear.
    assert data["id_number"] not in worker.id_number_encrypted
    assert vault.decrypt(worker.id_number_encrypted) == data["id_number"]
    assert worker.user.phone_masked == data["phone"][:3] + "****" + data["phone"][-4:]
    # The password with scrypt (the builders' accounts use a cheap hash; the app's never do).
    assert worker.user.password_hash.startswith("scrypt:")
    page = client.get("/me/pass")
    assert page.status_code == 200
    assert data["id_number"] not in page.text and data["phone"] not in page.text
    assert "*" * 14 + data["id_number"][-4:] in page.text
    assert "<svg" in page.text


def test_wenzhou_id_numbers_are_home_hukou_unless_declared_otherwise(client, db):
    register_form(client, db, id_number=make_id_number("330302"))
    db.rollback()
    worker = db.scalar(sa.select(Worker))
    assert worker.hukou_is_home


def test_each_field_shows_its_own_error_in_chinese(client, db):
    response, _ = register_form(client, db, code_phone=make_phone(), name="", id_number="110105194912310021",
                                phone="12345",
                                credit_code="91330304MA2H8KQ1X0", password="short", password_confirm="short")
    assert response.status_code == 200
    text = response.text
    assert "此项必填" in text                    # name
    assert "身份证号最后一位校验不符" in text      # ID check character
    assert "请输入11位大陆手机号" in text          # phone
    assert "至少8位" in text                     # password
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_errors_in_english_when_the_browser_asks_for_it(client, db):
    data = {"name": "Li", "id_number": "110105491231002",
            "phone": "13812345678", "pledge": "y", "password": "stay-in-wenzhou", "password_confirm": "x"}
    response = register_with_code(client, db, data, headers={"Accept-Language": "en"})
    assert "15-digit ID numbers are no longer accepted" in response.text
    assert "The two passwords differ." in response.text


def test_language_switch_sets_a_cookie_that_wins(client, db):
    response = client.get("/lang/en?next=/register")
    assert response.status_code == 302 and response.headers["Location"] == "/register"
    assert "Send me a code" in client.get("/register").text
    client.get("/lang/zh_CN")
    assert "获取验证码" in client.get("/register").text


def test_language_switch_refuses_offsite_redirects(client, db):
    response = client.get("/lang/en?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_duplicate_id_or_phone_gets_one_and_the_same_answer(client, db, vault, programme):
    existing = make_worker(db, vault, programme)
    db.commit()
    id_number = vault.decrypt(existing.id_number_encrypted)
    by_id, _ = register_form(client, db, id_number=id_number)
    phone = vault.decrypt(existing.user.phone_encrypted)
    by_phone, _ = register_form(client, db, phone=phone)
    message = "该身份证号或手机号不能重复注册"
    assert message in by_id.text and message in by_phone.text
    assert db.scalar(sa.select(sa.func.count(Worker.id))) == 1


def test_pledge_is_required_to_register(client, db):
    response, _ = register_form(client, db, pledge="")
    assert "注册即承诺留温过年" in response.text
    assert db.scalar(sa.select(sa.func.count(Worker.id))) == 0


def test_unknown_employer_is_refused_clearly(client, db):
    from tests.builders import make_credit_code

    response, _ = register_form(client, db, credit_code=make_credit_code())
    assert "该企业尚未纳入本方案" in response.text


def test_a_form_without_csrf_token_is_refused(client, db):
    response = client.post("/register", data={"phone": make_phone()})
    assert response.status_code == 400
    assert "表单已过期" in response.text
    register_with_code(client, db, {"phone": make_phone()})  # a code is pending for step 2 ...
    response = client.post("/register/details", data={"name": "x"})  # ... but no token: refused
    assert response.status_code == 400
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_roster_worker_activates_instead_of_registering_twice(client, db, vault, programme):
    """Activation takes the listed ID and phone, then the code sent to that phone by SMS
    (tests/accounts/test_codes.py has the rules); an activated account cannot be activated again."""
    import re

    from wzcheckin.residence.models import SmsMessage

    enterprise = make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise, activated=False, pledged=False)
    db.commit()
    id_number = vault.decrypt(worker.id_number_encrypted)
    phone = vault.decrypt(worker.user.phone_encrypted)
    page = client.get("/activate")
    asked = client.post("/activate", data={"csrf_token": csrf_token_from(page.text), "id_number": id_number.lower(),
                                           "phone": phone})
    assert asked.status_code == 302
    db.rollback()
    code = re.search(r"\d{6}", db.scalar(sa.select(SmsMessage.body))).group(0)
    step_two = client.get("/activate/code")
    ok = client.post("/activate/code", data={"csrf_token": csrf_token_from(step_two.text), "code": code,
                                             "pledge": "y", "password": "new-password-1",
                                             "password_confirm": "new-password-1"})
    assert ok.status_code == 302
    db.rollback()
    activated = db.get(Worker, worker.id)
    assert activated.user.is_activated and activated.has_pledged
    assert activated.employment_confirmed
    # Asking again sends nothing: the account is active already.
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/me/pass").text)})
    client.post("/activate", data={"csrf_token": csrf_token_from(client.get("/activate").text),
                                   "id_number": id_number, "phone": phone})
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(SmsMessage.id))) == 1


def test_registration_is_rate_limited(client, db):
    responses = []
    for _ in range(7):
        page = client.get("/register")
        responses.append(client.post("/register", data={"csrf_token": csrf_token_from(page.text)}))
    assert [r.status_code for r in responses] == [200] * 5 + [429, 429]
    assert "尝试次数过多" in responses[-1].text


# --- the phone is proven by a code before the account is made (issue 15 item 1) -----------------

def test_no_account_without_the_code_sent_to_that_phone(client, db, programme):
    """Registering on a number that is not yours: the code went by SMS to that number, so a
    wrong code makes no account, the number must be the one the code went to, and five wrong
    guesses spend the code, the right one included."""
    phone, other = make_phone(), make_phone()
    fields = {"name": "李娜", "id_number": make_unique_id_number(), "phone": phone, "pledge": "y",
              "password": "stay-in-wenzhou", "password_confirm": "stay-in-wenzhou"}
    first = register_with_code(client, db, fields, code="999999")
    real = latest_sms_code(db)
    wrong = [first]
    for guess in ("000000", "123456", "654321"):
        if guess == real:
            guess = "000001"
        details = client.get("/register/details")
        wrong.append(client.post("/register/details", data={
            "csrf_token": csrf_token_from(details.text), **fields, "code": guess}))
    # The right code with another number: refused before the code is tried (no guess spent).
    details = client.get("/register/details")
    elsewhere = client.post("/register/details", data={"csrf_token": csrf_token_from(details.text),
                                                        **fields, "phone": other, "code": real})
    assert elsewhere.status_code == 200 and "不是接收验证码的号码" in elsewhere.text
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0
    if real == "999999":  # the first post was right by chance (one in a million): start again
        return
    for answer in wrong:
        assert answer.status_code == 200 and "验证码错误" in answer.text
    # A fifth wrong guess spends the code: now even the right one makes nothing.
    details = client.get("/register/details")
    client.post("/register/details", data={"csrf_token": csrf_token_from(details.text), **fields,
                                           "code": "000002" if real != "000002" else "000003"})
    details = client.get("/register/details")
    late = client.post("/register/details", data={"csrf_token": csrf_token_from(details.text), **fields,
                                                  "code": real})
    assert late.status_code == 200 and "验证码错误" in late.text
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_the_right_code_makes_the_account_on_the_proven_number(client, db, vault):
    phone = make_phone()
    right, _ = register_form(client, db, phone=phone)
    assert right.status_code == 302 and right.headers["Location"].endswith("/me/pass")
    db.rollback()
    (user,) = db.scalars(sa.select(User)).all()
    assert vault.decrypt(user.phone_encrypted) == phone
    from wzcheckin.accounts.models import OneTimeCode

    (code_row,) = db.scalars(sa.select(OneTimeCode)).all()
    assert code_row.purpose == "register" and code_row.used_at is not None and code_row.attempts == 1


def test_the_code_page_needs_a_code_asked_for_first(client, db):
    response = client.get("/register/details")
    assert response.status_code == 302 and response.headers["Location"].endswith("/register")
    asked = client.post("/register", data={"csrf_token": csrf_token_from(client.get("/register").text),
                                           "phone": "12345"})
    assert asked.status_code == 200 and "请输入11位大陆手机号" in asked.text


def test_a_spent_code_makes_no_second_account(client, db, vault, programme):
    phone = make_phone()
    first, _ = register_form(client, db, phone=phone)
    assert first.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/me/pass").text)})
    details = client.get("/register/details")
    assert details.status_code == 302  # the code was spent and forgotten with the registration
    assert db.scalar(sa.select(sa.func.count(User.id))) == 1
