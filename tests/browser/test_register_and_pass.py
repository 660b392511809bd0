"""In real headless Chromium on a 360×740 phone: a worker registers in Chinese and gets a
scannable pass. The QR code is decoded from a screenshot and its signature verified with the
published public key."""

import base64
from datetime import UTC, datetime

import pytest
import requests
import sqlalchemy as sa
import sqlalchemy.orm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.builders import make_phone, make_unique_id_number
from tests.support.config import ARTIFACTS
from tests.support.qr import decode_qr
from tests.support.web import latest_sms_code
from wzcheckin.codes import tokens

pytestmark = [pytest.mark.browser, pytest.mark.server]


def sms_code(database_url: str) -> str:
    """The code the worker reads on their phone: the newest text in the SMS outbox."""
    engine = sa.create_engine(database_url)
    try:
        with sa.orm.Session(engine) as session:
            return latest_sms_code(session)
    finally:
        engine.dispose()


def test_worker_registers_on_a_phone_and_sees_a_scannable_pass(gunicorn_server, phone_page, fresh_database):
    server = gunicorn_server()
    page = phone_page
    id_number, phone = make_unique_id_number("520102"), make_phone()
    page.goto(server.base_url + "/")
    page.get_by_role("link", name="注册").first.click()
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/register/details")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_label("短信中的六位验证码").fill(sms_code(fresh_database))
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("姓名（与身份证一致）").fill("张伟")
    page.get_by_label("身份证号（18位）").fill(id_number.lower())
    page.get_by_label("设置密码（至少8位）").fill("stay-in-wenzhou")
    page.get_by_label("再次输入密码").fill("stay-in-wenzhou")
    page.get_by_role("button", name="注册并领取通行码").click()
    page.wait_for_url("**/me/pass")

    assert page.get_by_role("heading", name="张*").is_visible()
    assert page.get_by_text("*" * 14 + id_number[-4:]).is_visible()
    assert id_number not in page.content()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.locator("#pass-code").screenshot(path=str(ARTIFACTS / "pass-360.png"))
    page.screenshot(path=str(ARTIFACTS / "pass-page-360.png"), full_page=True)
    decoded = decode_qr(shot)
    assert len(decoded) == tokens.TOKEN_LENGTH

    keys = requests.get(server.base_url + "/api/v1/keys", timeout=10).json()["keys"]
    public_keys = {k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
                   for k in keys}
    claims = tokens.verify(decoded, public_keys, datetime.now(UTC))
    assert claims.kind is tokens.TokenKind.PASS


def test_registration_errors_show_next_to_their_fields_on_a_phone(gunicorn_server, phone_page):
    server = gunicorn_server()
    page = phone_page
    page.goto(server.base_url + "/register")
    page.get_by_role("button", name="获取验证码").click()
    assert page.locator("#phone-error").inner_text() == "此项必填。"
    page.get_by_label("手机号").fill(make_phone())
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/register/details")
    page.get_by_label("身份证号（18位）").fill("110105194912310021")
    page.get_by_role("button", name="注册并领取通行码").click()
    assert page.locator("#id_number-error").inner_text() == "身份证号最后一位校验不符，请核对。"
    assert page.locator("#name-error").inner_text() == "此项必填。"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
