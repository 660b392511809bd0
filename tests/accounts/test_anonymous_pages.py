"""Anonymous pages (issue 15 item 6): register, activate and log in never write a full ID or
phone number back into the HTML — a form with a mistake asks for them again — and none of their
answers may be cached (``Cache-Control: no-store``)."""

import pytest

from tests.builders import make_phone, make_unique_id_number, make_worker
from tests.support.web import csrf_token_from, register_with_code

PAGES = ("/login", "/register", "/activate")


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_are_never_cached(client, db, path):
    page = client.get(path)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    answer = client.post(path, data={"csrf_token": csrf_token_from(page.text), "phone": make_phone()[:9]})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"


def test_the_registration_details_page_is_never_cached(client, db):
    answer = register_with_code(client, db, {"phone": make_phone(), "name": ""})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"


def test_a_registration_with_a_mistake_does_not_echo_the_numbers(client, db):
    id_number, phone = make_unique_id_number(), make_phone()
    answer = register_with_code(client, db, {
        "name": "李娜", "id_number": id_number, "phone": phone,
        "pledge": "y", "password": "stay-in-wenzhou", "password_confirm": "stay-elsewhere"})
    assert answer.status_code == 200 and "两次输入的密码不一致" in answer.text
    assert "李娜" in answer.text                      # what is not an identifier stays filled in
    assert id_number not in answer.text and id_number.lower() not in answer.text
    assert phone not in answer.text


def test_an_activation_with_a_mistake_does_not_echo_the_numbers(client, db, vault, programme):
    worker = make_worker(db, vault, programme, activated=False)
    db.commit()
    id_number, phone = vault.decrypt(worker.id_number_encrypted), vault.decrypt(worker.user.phone_encrypted)
    mistyped = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # a wrong check character
    page = client.get("/activate")
    answer = client.post("/activate", data={"csrf_token": csrf_token_from(page.text), "id_number": mistyped,
                                            "phone": phone})
    assert answer.status_code == 200 and "身份证号最后一位校验不符" in answer.text
    assert mistyped not in answer.text and phone not in answer.text


def test_a_failed_log_in_does_not_echo_the_phone(client, db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.commit()
    phone = vault.decrypt(worker.user.phone_encrypted)
    page = client.get("/login")
    answer = client.post("/login", data={"csrf_token": csrf_token_from(page.text), "phone": phone,
                                         "password": "not-the-password"})
    assert answer.status_code == 200 and "手机号或密码错误" in answer.text
    assert phone not in answer.text
