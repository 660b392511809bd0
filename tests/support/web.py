"""Helpers for driving the pages as a browser would (test client or requests)."""

from __future__ import annotations

import re


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def latest_sms_code(db) -> str:
    """The six-digit code of the newest one-time-code text in the SMS outbox (the test reads the
    outbox as the worker reads their phone)."""
    import sqlalchemy as sa

    from wzcheckin.residence.models import SmsMessage

    db.rollback()
    body = db.scalar(sa.select(SmsMessage.body).where(SmsMessage.kind == "one_time_code")
                     .order_by(SmsMessage.id.desc()).limit(1))
    db.rollback()
    assert body is not None, "no code in the SMS outbox"
    return re.search(r"\b(\d{6})\b", body).group(1)


def register_with_code(client, db, fields: dict, *, code_phone: str | None = None, code: str | None = None,
                       headers: dict | None = None):
    """Self-registration through both pages: ask for a code for ``code_phone`` (default: the
    phone in ``fields``), read it from the outbox, then post the details with it (``code`` to
    post another). Works with Flask's test client and with a ``requests.Session`` and base URL
    given as ``client=(session, base_url)``. Returns the answer to the details form."""
    session, base = client if isinstance(client, tuple) else (client, "")
    kwargs = {"headers": headers} if headers else {}
    page = session.get(base + "/register", **kwargs)
    asked = session.post(base + "/register", data={"csrf_token": csrf_token_from(page.text),
                                                   "phone": code_phone or fields.get("phone", "")}, **kwargs)
    assert asked.status_code in (200, 302), asked.status_code
    sent = latest_sms_code(db) if code is None else code
    details = session.get(base + "/register/details", **kwargs)
    return session.post(base + "/register/details", data={"csrf_token": csrf_token_from(details.text),
                                                          "code": sent, **fields}, **kwargs)
