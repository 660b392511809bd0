"""Helpers for the browser tests (headless Chromium against a gunicorn server)."""

from __future__ import annotations

from pathlib import Path

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


def launch_with_camera(browser, clip: Path):
    """A Chromium of its own whose fake camera plays ``clip`` (a Y4M file) in a loop: the camera's
    flags are the process's, so a test that shows a code to the camera cannot use the shared one."""
    return browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              f"--use-file-for-fake-video-capture={clip}"])
