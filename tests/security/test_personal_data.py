"""Personal data at rest (PIPL, GB/T 35273): with the demo and a roster import loaded and real
traffic through gunicorn (registration, log-ins, scans, a visitor, a data-bonus claim, a
carrier's export):

* the SQLite file (raw bytes, with its -wal and -shm) or a ``pg_dump``, and every log the app,
  gunicorn and the command line wrote, hold no plain ID number, phone number or residence-permit
  number — only ciphertext, keyed hashes and masked forms (screens and exports are checked by
  the access matrix);
* ``wzcheckin keys reencrypt`` moves every encrypted value to the new first key, can be killed
  and run again, and afterwards the old key can go: everything decrypts, codes are still signed,
  and the keyed hash still finds a duplicate registration;
* ``wzcheckin retention purge`` deletes the raw records after the appeal window and keeps every
  decision: the cutoff report is the same before and after.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.builders import make_credit_code, make_phone, make_unique_id_number
from tests.support.cli import run_cli
from tests.support.config import TEST_CONFIG
from tests.support.postgres import find_bindir
from tests.support.servers import ROOT, TEST_ENV
from tests.support.web import csrf_token_from, register_with_code
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.rekey import encrypted_columns

pytestmark = [pytest.mark.server, pytest.mark.slow]

OLD_KEY = TEST_ENV["WZCHECKIN_DATA_KEYS"]
NEW_KEY = Fernet.generate_key().decode()
PERSONAL = re.compile(r"^(1[3-9]\d{9}|\d{17}[\dX]|[A-Z0-9]{4,32})$")


def stored_values(url: str, data_keys: str) -> set[str]:
    """Every plain value behind every ciphertext in the database (the signing keys aside)."""
    import wzcheckin.models  # noqa: F401 - every table

    vault = PersonalDataVault(data_keys, TEST_ENV["WZCHECKIN_LOOKUP_KEY"])
    engine = sa.create_engine(url)
    values = set()
    try:
        with engine.connect() as connection:
            for table, column in encrypted_columns():
                if table.name == "signing_keys":
                    continue
                values.update(vault.decrypt(cipher) for cipher in connection.scalars(
                    sa.select(column).where(column.is_not(None))))
    finally:
        engine.dispose()
    return values


def roster_files(tmp_path: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    """An enterprises file and a roster of 30 workers with known ID and phone numbers."""
    code = make_credit_code()
    enterprises = tmp_path / "enterprises.csv"
    enterprises.write_text("credit_code,name,district,ownership,industrial,admin_phone\n"
                           f"{code},数据测试鞋业有限公司,鹿城区,private,yes,{make_phone('135')}\n", encoding="utf-8")
    people = [(make_unique_id_number(), make_phone("136")) for _ in range(30)]
    roster = tmp_path / "workers.csv"
    roster.write_text("credit_code,name,id_number,phone,hukou,residence_permit_no,residence_permit_expiry,pledged\n"
                      + "".join(f"{code},测试员工{n},{i},{p},,ZJ33030{n:04d},2021-12-31,yes\n"
                                for n, (i, p) in enumerate(people)), encoding="utf-8")
    return enterprises, roster, people


# --- at rest and in the logs -------------------------------------------------------------------

@contextlib.contextmanager
def outbox(url: str):
    """A session of our own on the server's database, to read the SMS outbox."""
    engine = sa.create_engine(url)
    try:
        with sa.orm.Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def drive_traffic(base_url: str, url: str, people: list[tuple[str, str]], typed: list[str]) -> list[str]:
    """Registration, log-ins (good and bad), a visitor, scans and a data-bonus claim over HTTP;
    returns the CLI output it produced along the way (token creation)."""
    outputs = []
    with requests.Session() as http:
        id_number, phone = make_unique_id_number(), make_phone("137")
        typed += [id_number, phone]
        with outbox(url) as session:  # the worker reads the code on their phone
            register_with_code((http, base_url), session, {
                "name": "注册测试", "id_number": id_number, "phone": phone,
                "password": "a-long-password-1", "password_confirm": "a-long-password-1", "pledge": "y"})
        assert http.get(base_url + "/me/pass").status_code == 200
        claim = http.post(base_url + "/me/data-bonus", data={
            "csrf_token": csrf_token_from(http.get(base_url + "/me/data-bonus").text)})
        assert claim.status_code in (200, 302)
    with requests.Session() as http:  # a wrong password for an existing number, and an unknown number
        for number in (people[0][1], "13912345678"):
            page = http.get(base_url + "/login")
            http.post(base_url + "/login", data={"csrf_token": csrf_token_from(page.text), "phone": number,
                                                 "password": "wrong-password"})
    with requests.Session() as http:  # the demo gatekeeper registers a visitor
        page = http.get(base_url + "/login")
        http.post(base_url + "/login", data={"csrf_token": csrf_token_from(page.text), "phone": "13957720001",
                                             "password": "liuwen2021"})
        form = http.get(base_url + "/gate/visitors")
        visitor_id, visitor_phone = make_unique_id_number(), make_phone("158")
        typed += [visitor_id, visitor_phone]
        answer = http.post(base_url + "/gate/visitors", data={
            "csrf_token": csrf_token_from(form.text), "name": "访客测试", "id_number": visitor_id,
            "phone": visitor_phone, "reason": "送货", "mask": "yes", "temperature": "38.2"})
        assert answer.status_code == 200
    token = run_cli(url, "token", "create", "--phone", "13957720001")
    paper = run_cli(url, "pass", "issue", "--id-number", people[0][0])
    outputs += [token.stderr, paper.stderr]
    headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
    for _ in range(3):
        answer = requests.post(base_url + "/api/v1/scans", headers=headers, timeout=60, json={
            "token": paper.stdout.strip().splitlines()[-1], "mask": True, "temperature": 36.6})
        assert answer.status_code == 200
    return outputs


def test_no_plain_id_phone_or_permit_number_at_rest_or_in_any_log(backend, fresh_database, gunicorn_server, tmp_path):
    url = fresh_database
    enterprises, roster, people = roster_files(tmp_path)
    outputs = [run_cli(url, "demo").stderr]  # the demo's stdout lists its logins: its purpose
    for kind, path in (("enterprises", enterprises), ("workers", roster)):
        result = run_cli(url, "import", kind, str(path))
        outputs += [result.stdout, result.stderr]
    access_log = tmp_path / "access.log"
    server = gunicorn_server(workers=2, extra_args=["--access-logfile", str(access_log)])
    typed = [number for pair in people for number in pair]
    outputs += drive_traffic(server.base_url, url, people, typed)

    secrets = {value for value in stored_values(url, OLD_KEY) | set(typed) if PERSONAL.match(value)}
    assert len(secrets) > 80 and set(typed) <= secrets
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        at_rest = b"".join(Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal", "-shm")
                           if Path(f"{path}{suffix}").exists())
        assert Path(f"{path}-wal").exists()  # the server is running: recent writes are in the WAL
    else:
        dump_url = url.replace("postgresql+psycopg://", "postgresql://")
        at_rest = subprocess.run([str(find_bindir() / "pg_dump"), "--no-owner", dump_url], check=True,
                                 capture_output=True, timeout=120).stdout
        assert b"CREATE TABLE public.workers" in at_rest
    logs = "\n".join([*outputs, server.log_text(), access_log.read_text()])
    assert "POST /register" in logs and "POST /api/v1/scans" in logs  # the logs cover the traffic
    found_at_rest = sorted(s for s in secrets if s.encode() in at_rest)
    found_in_logs = sorted(s for s in secrets if s in logs)
    assert not found_at_rest, f"plain personal numbers in the {backend} database: {found_at_rest[:5]}"
    assert not found_in_logs, f"plain personal numbers in the logs: {found_in_logs[:5]}"


# --- key rotation ------------------------------------------------------------------------------

def test_key_rotation_reencrypts_every_value_resumes_after_a_kill_and_lets_the_old_key_go(fresh_database,
                                                                                         tmp_path):
    url = fresh_database
    enterprises, roster, people = roster_files(tmp_path)
    run_cli(url, "demo")
    for kind, path in (("enterprises", enterprises), ("workers", roster)):
        run_cli(url, "import", kind, str(path))
    before = stored_values(url, OLD_KEY)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        stored_values(url, NEW_KEY)  # without the old key nothing reads yet: the test can fail

    rotating = {"WZCHECKIN_DATA_KEYS": f"{NEW_KEY},{OLD_KEY}"}
    log = tmp_path / "reencrypt.log"
    env = {key: value for key, value in os.environ.items() if key != "WZCHECKIN_DEV"}
    env.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": url, **rotating})
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "wzcheckin.cli", "keys", "reencrypt", "--batch-size", "1"],
                                   cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if re.search(r"\b([1-9]\d*) re-encrypted so far", log.read_text(errors="replace")):
                break
            time.sleep(0.005)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the run ended before the kill: the test proved nothing"

    resumed = json.loads(run_cli(url, "keys", "reencrypt", env=rotating).stdout.splitlines()[-1])
    assert resumed["already_current"] > 0 and resumed["rotated"] > 0, resumed  # went on where it stopped
    assert resumed["not_current"] == 0 and resumed["old_keys_removable"] is True
    assert resumed["rows"] == resumed["already_current"] + resumed["rotated"]

    # The old key removed from the environment: every value reads, codes are signed, duplicates found.
    only_new = {"WZCHECKIN_DATA_KEYS": NEW_KEY}
    assert stored_values(url, NEW_KEY) == before
    paper = run_cli(url, "pass", "issue", "--id-number", people[0][0], env=only_new)
    assert len(paper.stdout.strip().splitlines()[-1]) == 138
    from wzcheckin import create_app
    from wzcheckin.extensions import db

    app = create_app({**TEST_CONFIG, "DATA_KEYS": NEW_KEY, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    with outbox(url) as session:
        refused = register_with_code(client, session, {
            "name": "冒名者", "id_number": people[1][0].lower(),
            "phone": make_phone("138"), "password": "a-long-password-1", "password_confirm": "a-long-password-1",
            "pledge": "y"}, headers={"Accept-Language": "en"})
    assert refused.status_code == 200 and "cannot be registered again" in refused.text
    with app.app_context():
        db.engine.dispose()


# --- retention ---------------------------------------------------------------------------------

def test_retention_purges_raw_records_after_the_appeal_window_and_keeps_every_decision(db, vault, programme,
                                                                                        database_url, tmp_path):
    from datetime import date, timedelta

    from tests.benefits.builders import PNG_BYTES, make_activity
    from tests.builders import make_user, make_worker
    from tests.residence.builders import bulk_workers, make_site
    from tests.support.clock import at
    from wzcheckin.accounts.codes import issue_code
    from wzcheckin.accounts.errors import LoginRefused
    from wzcheckin.accounts.models import CodePurpose, LoginBackoff, OneTimeCode
    from wzcheckin.accounts.sessions import authenticate
    from wzcheckin.admin.hotline import CallDetails, record_case
    from wzcheckin.admin.models import HotlineCase
    from wzcheckin.benefits import activities as acts
    from wzcheckin.benefits.models import ActivityCheckin, ActivityPhoto
    from wzcheckin.clock import SimulatedClock
    from wzcheckin.core.models import AuditEntry
    from wzcheckin.core.roles import Role
    from wzcheckin.enterprises.gates import VisitorDetails, register_visitor
    from wzcheckin.enterprises.models import HealthAlert, VisitorRegistration
    from wzcheckin.residence.models import EnterpriseHeadcount, WorkerStatus
    from wzcheckin.scanning.models import Scan, ScanClaim

    site = make_site(db, vault, name="留存测试鞋业")
    bulk_workers(db, vault, site, 55)                        # retained: the ¥50,000 tier
    bulk_workers(db, vault, site, 10, windows=(0, 2))        # missing the holiday window
    register_visitor(db, vault, programme, checkpoint=site.gate, staff=site.staff, now=at("2021-02-20 08:00"),
                     details=VisitorDetails(name="访客甲", id_number=make_unique_id_number(), phone=make_phone("158"),
                                            reason="送货", mask=True, temperature="38.5"))
    worker = make_worker(db, vault, programme, enterprise=site.enterprise)
    activity = make_activity(db, programme, kind="photo", starts_on=date(2021, 2, 10), ends_on=date(2021, 2, 12))
    acts.photo_checkin(db, programme, activity, worker, PNG_BYTES, at("2021-02-11 20:00"))
    # A hotline call, an SMS code and a failed log-in: raw records of the accounts and admin rooms.
    officer = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    record_case(db, vault, CallDetails(topic="wages", outcome="answered", note="反映欠薪", caller_phone=make_phone()),
                actor=officer, now=at("2021-02-15 10:00"))
    issue_code(db, vault, programme, purpose=CodePurpose.REGISTER, phone=make_phone("139"), user=None,
               address="10.0.0.8", now=at("2021-02-15 10:00"))
    with pytest.raises(LoginRefused):
        authenticate(db, vault, make_phone("136"), "not-the-password", at("2021-02-15 10:01"), address="10.0.0.8",
                     programme=programme)
    db.commit()
    clock_file = tmp_path / "clock"
    clock = SimulatedClock(clock_file)
    horizon = programme.cutoff + timedelta(days=programme.programme.appeal_window_days)

    def cli(*args, check=True):
        from tests.residence.conftest import wzcheckin

        return wzcheckin(database_url, *args, clock_file=clock_file, check=check)

    clock.set(horizon + timedelta(days=1))
    refused = cli("retention", "purge", check=False)
    assert refused.returncode == 1 and "official snapshot is not complete" in refused.stderr
    clock.set(at("2021-03-01 00:05"))
    cli("cutoff", "run")
    report = cli("report", "headcounts").stdout
    assert ",55,50,50000\n" in report
    # Scans recorded through the API claim their scan ids too (scan_claims); the builders write the
    # scans directly, so the claims are added here as record_scan would have.
    db.execute(sa.insert(ScanClaim).from_select(["scan_id", "staff_user_id", "scanned_at"],
                                                sa.select(Scan.scan_id, Scan.staff_user_id, Scan.scanned_at)))
    db.commit()
    clock.set(horizon - timedelta(seconds=1))
    early = cli("retention", "purge", check=False)
    assert early.returncode == 1 and "appeal window is open until" in early.stderr

    clock.set(horizon + timedelta(days=1))
    statuses_before = db.scalar(sa.select(sa.func.count()).select_from(WorkerStatus))
    dry = json.loads(cli("retention", "purge", "--dry-run").stdout.splitlines()[-1])
    assert dry["would_delete"] == {"scans": 55 * 3 + 10 * 2, "scan_claims": 55 * 3 + 10 * 2, "health_alerts": 1,
                                   "visitor_registrations": 1, "activity_photos": 1, "one_time_codes": 1,
                                   "login_backoffs": 3, "hotline_cases": 1}
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Scan)) == 55 * 3 + 10 * 2  # a dry run deletes nothing
    purged = json.loads(cli("retention", "purge", "--batch-size", "40").stdout.splitlines()[-1])
    assert purged["deleted"] == dry["would_delete"]
    db.rollback()
    for model in (Scan, ScanClaim, HealthAlert, VisitorRegistration, ActivityPhoto, OneTimeCode, LoginBackoff,
                  HotlineCase):
        assert db.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
    assert db.scalar(sa.select(ActivityCheckin.photo_id)) is None  # the check-in stays, without its photo
    assert db.scalar(sa.select(sa.func.count()).select_from(WorkerStatus)) == statuses_before
    assert db.scalar(sa.select(EnterpriseHeadcount.retained)) == 55
    assert cli("report", "headcounts").stdout == report
    assert db.scalar(sa.select(AuditEntry.details).where(AuditEntry.action == "retention.purge"))["deleted"] == \
        purged["deleted"]
    assert json.loads(cli("retention", "purge").stdout.splitlines()[-1])["deleted"] == dict.fromkeys(
        purged["deleted"], 0)  # run again: nothing left
