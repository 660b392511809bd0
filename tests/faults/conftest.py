"""Failing well (issue 19): what the app answers and logs when its database is down, locked or
full. Everything here breaks a real database: a PostgreSQL database closed to connections or a
cluster stopped, an outside process holding SQLite's write lock, a file system that is full."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests

from tests.support.web import csrf_token_from

OUTAGE_LINE = re.compile(r"database outage (\w+): ")


@pytest.fixture
def postgres_only(backend):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL outage")


@pytest.fixture
def sqlite_only(backend):
    if backend != "sqlite":
        pytest.skip("a SQLite fault")


@dataclass
class Accounts:
    """What the tests call the server with: bearer tokens and a logged-in page session."""

    official_token: str
    worker_token: str
    official_phone: str
    password: str


def seed_accounts(server_app) -> Accounts:
    from tests.builders import PASSWORD, make_phone, make_user, make_worker
    from wzcheckin import clock
    from wzcheckin.accounts.api_tokens import issue_api_token
    from wzcheckin.core import context
    from wzcheckin.core.roles import Role
    from wzcheckin.extensions import db

    vault = context.vault()
    phone = make_phone("137")
    official = make_user(db.session, vault, Role.OFFICIAL, phone=phone)
    worker = make_worker(db.session, vault, context.programme())
    accounts = Accounts(
        official_token=issue_api_token(db.session, official, clock.now()),
        worker_token=issue_api_token(db.session, worker.user, clock.now()),
        official_phone=phone,
        password=PASSWORD,
    )
    db.session.commit()
    return accounts


def log_in(base_url: str, phone: str, password: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(base_url + "/login", timeout=30)
    answer = browser.post(base_url + "/login", data={
        "csrf_token": csrf_token_from(form.text), "phone": phone, "password": password,
    }, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text[:300]
    return browser


@dataclass
class Tally:
    """Requests sent and how they were answered: (status, content type) → count."""

    sent: int = 0
    answers: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, response: requests.Response | None, error: Exception | None = None) -> None:
        self.sent += 1
        if response is None:
            self.answers[("no answer", type(error).__name__)] += 1
            self.failures.append(f"{label}: no answer ({error})")
            return
        kind = response.headers.get("Content-Type", "-").split(";")[0]
        self.answers[(response.status_code, kind)] += 1

    def table(self) -> str:
        rows = [f"{status!s:>9}  {kind:<18} {count}" for (status, kind), count in sorted(
            self.answers.items(), key=lambda item: str(item[0]))]
        return "\n".join([f"sent {self.sent}, answered {self.sent - len(self.failures)}", *rows])
