"""Helpers for the browser tests (headless Chromium against a gunicorn server)."""

from __future__ import annotations

from tests.builders import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]


def log_in(page, server, phone: str) -> None:
    """Log in through the Chinese log-in form with the builders' password; returns once the
    browser has left the log-in page."""
    page.goto(server.base_url + "/login")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
