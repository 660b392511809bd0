"""Faults while scans flow (issue 19): ``python -m bench.faults [--backends sqlite,postgresql]
[--only NAME[,NAME]] [--rate 100] [--json FILE]``.

For each fault, on each database it applies to: a fresh database, gunicorn (2 workers × 2
threads, as deployed) and a stream of gate scans from 16 client threads at ``--rate`` scans a
second, each with its own ``scan_id``, plus one failed log-in every half second (the request that
Redis guards). After a few quiet seconds the fault starts; when it ends the stream runs on until
the server answers again. Every scan that got no 200 is then resent with the same ``scan_id``
until it does, as the scanner's outbox would. Reported per fault:

* requests sent, answered, and the answers by status and content type (HTML where JSON is
  promised is the failure issue 19 found), requests with no answer at all;
* rows expected (distinct scan ids) against rows stored, and scan ids stored twice;
* seconds from the end of the fault to the first scan answered 200 ("time to recover");
* what the server logged meanwhile: bytes, lines naming an outage, tracebacks.

A scheduler killed mid-cutoff is ``bench.crash``'s cutoff round (run once per database here).
Exits 1 if any acknowledged scan is missing or any scan is stored twice.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from tests.support.disk import fill_up  # noqa: E402
from tests.support.postgres import TemporaryCluster, create_database  # noqa: E402
from tests.support.servers import GunicornServer, NginxProxy, RedisServer, nginx_binary, run_cli  # noqa: E402
from tests.support.web import csrf_token_from  # noqa: E402

WARM_UP_SECONDS = 5
TAIL_SECONDS = 8
CLIENT_THREADS = 16
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the run's surroundings ----------------------------------------------------------------------

@dataclass
class Stage:
    """What one fault run works with; a fault's ``start``/``end`` act on it."""

    backend: str
    work: Path
    database_url: str = ""
    cluster: TemporaryCluster | None = None
    redis: RedisServer | None = None
    server: GunicornServer | None = None
    proxy: NginxProxy | None = None
    clock_file: Path | None = None
    disk: Path | None = None
    held: list = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.proxy.base_url if self.proxy else self.server.base_url


@dataclass
class Fault:
    name: str
    backends: tuple[str, ...]
    seconds: float                       # how long the fault lasts
    start: Callable[[Stage], None]
    end: Callable[[Stage], None]
    needs: tuple[str, ...] = ()          # "redis", "nginx", "clock", "disk", "own-cluster"


def _postgres_stop(stage: Stage) -> None:
    stage.cluster.stop_server()


def _postgres_start(stage: Stage) -> None:
    stage.cluster.start_server()


def _postgres_restart(stage: Stage) -> None:
    stage.cluster.stop_server()
    stage.cluster.start_server()


def _redis_kill(stage: Stage) -> None:
    stage.redis.process.kill()
    stage.redis.process.wait(timeout=10)


def _redis_start_again(stage: Stage) -> None:
    stage.redis.start()


def _sqlite_lock(stage: Stage) -> None:
    outsider = sqlite3.connect(stage.database_url.removeprefix("sqlite:///"), isolation_level=None)
    outsider.execute("BEGIN EXCLUSIVE")
    stage.held.append(outsider)


def _sqlite_unlock(stage: Stage) -> None:
    outsider = stage.held.pop()
    outsider.execute("ROLLBACK")
    outsider.close()


def _sqlite_backup(stage: Stage) -> None:
    """The online backup the README recommends (``VACUUM INTO``: one snapshot, read while the app
    keeps writing), taken in a thread of its own while the scans flow."""
    def copy():
        source = sqlite3.connect(stage.database_url.removeprefix("sqlite:///"))
        source.execute("VACUUM INTO ?", (str(stage.work / "backup.sqlite3"),))
        source.close()

    thread = threading.Thread(target=copy)
    thread.start()
    stage.held.append(thread)


def _sqlite_backup_done(stage: Stage) -> None:
    stage.held.pop().join(timeout=120)


def _fill_disk(stage: Stage) -> None:
    fill_up(stage.disk)


def _free_disk(stage: Stage) -> None:
    (stage.disk / "filler").unlink()


def _clock_back(stage: Stage) -> None:
    from wzcheckin.clock import SimulatedClock

    SimulatedClock(stage.clock_file).set(datetime.now(UTC) - timedelta(hours=1), running=True)


def _clock_right(stage: Stage) -> None:
    from wzcheckin.clock import SimulatedClock

    SimulatedClock(stage.clock_file).set(datetime.now(UTC), running=True)


def _idle_connections(stage: Stage) -> None:
    port = int(stage.base_url.rsplit(":", 1)[1])
    for _ in range(200):  # each starts a request and never finishes it
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /api/v1/scans HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        stage.held.append(sock)


def _close_idle_connections(stage: Stage) -> None:
    while stage.held:
        stage.held.pop().close()


FAULTS = [
    Fault("postgresql restart", ("postgresql",), 0, _postgres_restart, lambda stage: None, ("own-cluster",)),
    Fault("postgresql down 20 s", ("postgresql",), 20, _postgres_stop, _postgres_start, ("own-cluster",)),
    Fault("sqlite write lock held 5 s", ("sqlite",), 5, _sqlite_lock, _sqlite_unlock),
    Fault("sqlite online backup (VACUUM INTO)", ("sqlite",), 0, _sqlite_backup, _sqlite_backup_done),
    Fault("disk full 10 s", ("sqlite",), 10, _fill_disk, _free_disk, ("disk",)),
    Fault("redis killed 10 s", ("sqlite", "postgresql"), 10, _redis_kill, _redis_start_again, ("redis",)),
    Fault("redis frozen 30 s", ("sqlite", "postgresql"), 30, lambda s: s.redis.freeze(), lambda s: s.redis.thaw(),
          ("redis",)),
    Fault("server clock back 1 h for 10 s", ("sqlite", "postgresql"), 10, _clock_back, _clock_right, ("clock",)),
    Fault("200 idle connections 20 s, direct", ("sqlite", "postgresql"), 20, _idle_connections,
          _close_idle_connections),
    Fault("200 idle connections 20 s, behind nginx", ("sqlite", "postgresql"), 20, _idle_connections,
          _close_idle_connections, ("nginx",)),
]


# --- the stream of scans ---------------------------------------------------------------------------

@dataclass
class Answer:
    sent_at: float
    scan_id: str | None          # None for a log-in attempt
    status: int | str | None     # None: no answer (connection refused, reset or timed out)
    content_type: str


def seed_scans(database_url: str, count: int) -> list[tuple[dict, dict]]:
    """``count`` gate scans (headers, body without ``scanned_at``) by four gatekeepers of one
    enterprise; passes valid from a minute ago for the next half hour."""
    from tests.builders import make_user
    from tests.residence.builders import bulk_workers, make_site
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.accounts.api_tokens import issue_api_token
    from wzcheckin.accounts.models import Worker
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.codes.tokens import TokenKind
    from wzcheckin.core import context
    from wzcheckin.core.roles import Role
    from wzcheckin.extensions import db

    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        session, vault = db.session, context.vault()
        now = datetime.now(UTC)
        site = make_site(session, vault, name="故障测试")
        workers = bulk_workers(session, vault, site, max(1, count // 4), windows=())
        staff = [make_user(session, vault, Role.GATEKEEPER, checkpoint=site.gate) for _ in range(4)]
        headers = [{"Authorization": f"Bearer {issue_api_token(session, user, now)}"} for user in staff]
        public_ids = session.scalars(sa.select(Worker.public_id).where(Worker.id.in_(workers))).all()
        session.commit()
        keyring = load_keyring(session, vault)
        passes = [keyring.sign(TokenKind.PASS, public_id, now + timedelta(minutes=30),
                               issued_at=now - timedelta(minutes=1)) for public_id in public_ids]
        db.session.remove()
        db.engine.dispose()
    return [(headers[n % 4], {"token": passes[n % len(passes)], "scan_id": uuid.uuid4().hex, "mask": True,
                              "temperature": 36.5, "device": f"gate-{n % 4}"}) for n in range(count)]


def post_scan(base_url: str, headers: dict, body: dict, timeout: float) -> tuple[int | None, str]:
    """(status, content type); a 200 whose verdict is not final (a refusal by the server's clock)
    counts as status ``"200 not final"``: the outbox keeps it and sends it again."""
    # The device stamps the scan when it is taken: now, on the client's (correct) clock.
    try:
        response = requests.post(base_url + "/api/v1/scans", headers=headers, timeout=timeout,
                                 json={**body, "scanned_at": datetime.now(UTC).isoformat()})
    except requests.RequestException as exc:
        return None, type(exc).__name__
    kind = response.headers.get("Content-Type", "-").split(";")[0]
    if response.status_code == 200 and response.json().get("final") is False:
        return "200 not final", kind
    return response.status_code, kind


def stream(base_url: str, scans: list[tuple[dict, dict]], rate: float, until: Callable[[float], bool]) -> list[Answer]:
    """Send scans at ``rate`` a second from 16 threads (and a failed log-in every 0.5 s) until
    ``until(elapsed)`` says stop."""
    answers: list[Answer] = []
    lock = threading.Lock()
    numbers = itertools.count()
    started = time.monotonic()
    stop = threading.Event()

    def scanner() -> None:
        while not stop.is_set():
            with lock:
                n = next(numbers)
            if n >= len(scans):
                return
            due = started + n / rate
            if (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
            if until(time.monotonic() - started):
                stop.set()
                return
            headers, body = scans[n]
            sent = time.monotonic() - started
            status, kind = post_scan(base_url, headers, body, timeout=10)
            with lock:
                answers.append(Answer(sent, body["scan_id"], status, kind))

    def log_ins() -> None:
        while not stop.is_set():
            sent = time.monotonic() - started
            try:
                browser = requests.Session()
                response = browser.get(base_url + "/login", timeout=10)
                if response.status_code == 200:
                    response = browser.post(base_url + "/login", timeout=10, data={
                        "csrf_token": csrf_token_from(response.text), "phone": "13900000000", "password": "x" * 12})
                status, kind = response.status_code, response.headers.get("Content-Type", "-").split(";")[0]
            except requests.RequestException as exc:
                status, kind = None, type(exc).__name__
            with lock:
                answers.append(Answer(sent, None, status, kind))
            time.sleep(0.5)

    threads = [threading.Thread(target=scanner) for _ in range(CLIENT_THREADS)] + [threading.Thread(target=log_ins)]
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join()
    stop.set()
    threads[-1].join()
    return answers


def resend_until_acknowledged(base_url: str, scans: list[tuple[dict, dict]], scan_ids: set[str],
                              seconds: float = 120) -> set[str]:
    """The outbox: resend each unacknowledged scan with its own scan id until it is answered 200;
    returns the ids still unacknowledged when time runs out."""
    waiting = {body["scan_id"]: (headers, body) for headers, body in scans if body["scan_id"] in scan_ids}
    deadline = time.monotonic() + seconds
    while waiting and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
            results = pool.map(lambda item: (item[0], post_scan(base_url, *item[1], timeout=30)), list(waiting.items()))
            for scan_id, (status, _kind) in results:
                if status == 200:
                    del waiting[scan_id]
        if waiting:
            time.sleep(1)
    return set(waiting)


def stored_counts(database_url: str, scan_ids: list[str]) -> Counter:
    from wzcheckin.scanning.models import Scan

    engine = sa.create_engine(database_url)
    counts: Counter = Counter()
    try:
        with engine.connect() as connection:
            for offset in range(0, len(scan_ids), 500):
                batch = scan_ids[offset:offset + 500]
                counts.update(connection.execute(sa.select(Scan.scan_id).where(Scan.scan_id.in_(batch))).scalars())
    finally:
        engine.dispose()
    return counts


# --- one run ----------------------------------------------------------------------------------------

def prepare(stage: Stage, fault: Fault, admin_url: str | None) -> dict:
    """The database, Redis, clock and disk the fault needs; returns the server's environment."""
    env = {"WZCHECKIN_DB_LOCK_TIMEOUT_SECONDS": "2"}
    name = f"fault_{uuid.uuid4().hex[:8]}"
    if stage.backend == "postgresql":
        if "own-cluster" in fault.needs:  # the fault stops the whole server: a cluster of its own
            stage.cluster = TemporaryCluster()
            admin_url = stage.cluster.start()
        stage.database_url = create_database(admin_url, name)
    elif "disk" in fault.needs:
        stage.disk = stage.work / "small-disk"
        stage.disk.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(stage.disk)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            raise RuntimeError(f"cannot mount a small file system here: {mounted.stderr.strip()}")
        stage.database_url = f"sqlite:///{stage.disk / 'wzcheckin.sqlite3'}"
    else:
        stage.database_url = f"sqlite:///{stage.work / 'wzcheckin.sqlite3'}"
    run_cli(stage.database_url, "init")
    if "redis" in fault.needs:
        stage.redis = RedisServer(shutil.which("redis-server"), stage.work).start()
        env.update({"WZCHECKIN_RATELIMIT_STORAGE_URI": stage.redis.url, "WZCHECKIN_RATELIMIT_DISABLED": ""})
    if "clock" in fault.needs:
        from wzcheckin.clock import SimulatedClock

        stage.clock_file = stage.work / "clock"
        SimulatedClock(stage.clock_file).set(datetime.now(UTC), running=True)
        env.update({"WZCHECKIN_DEV": "1", "WZCHECKIN_SIMULATED_CLOCK_FILE": str(stage.clock_file)})
    return env


def teardown(stage: Stage) -> None:
    for held in stage.held:
        if isinstance(held, socket.socket):
            held.close()
    for part in (stage.proxy, stage.server, stage.redis):
        if part is not None:
            with contextlib.suppress(Exception):
                part.stop()
    if stage.cluster is not None:
        stage.cluster.stop()
    if stage.disk is not None:
        subprocess.run(["umount", "-l", str(stage.disk)], check=False)


def run_fault(fault: Fault, backend: str, admin_url: str | None, rate: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="wzcheckin-fault-") as work:
        stage = Stage(backend, Path(work))
        server_errors = False
        try:
            env = prepare(stage, fault, admin_url)
            run_seconds = WARM_UP_SECONDS + fault.seconds + TAIL_SECONDS + 60
            scans = seed_scans(stage.database_url, int(rate * run_seconds))
            stage.server = GunicornServer(stage.database_url, workers=2, threads=2, env=env,
                                          log_path=stage.work / "gunicorn.log").start()
            if "nginx" in fault.needs:
                stage.proxy = NginxProxy(nginx_binary(), stage.work / "nginx", stage.server.port).start()
            log_size_before = len(stage.server.log_text())
            timeline: dict[str, float] = {}
            began = time.monotonic()

            def control() -> None:  # the fault on its own timeline, while the stream flows
                time.sleep(WARM_UP_SECONDS)
                timeline["start"] = time.monotonic() - began
                fault.start(stage)
                time.sleep(max(0.0, fault.seconds - (time.monotonic() - began - timeline["start"])))
                fault.end(stage)
                timeline["end"] = time.monotonic() - began

            controller = threading.Thread(target=control)
            controller.start()

            def until(elapsed: float) -> bool:
                return "end" in timeline and time.monotonic() - began >= timeline["end"] + TAIL_SECONDS

            answers = stream(stage.base_url, scans, rate, until)
            controller.join()
            log_text = stage.server.log_text()[log_size_before:]
            server_errors = any(isinstance(a.status, int) and a.status >= 500 and a.status != 503 for a in answers)
            sent_ids = [a.scan_id for a in answers if a.scan_id]
            acknowledged = {a.scan_id for a in answers if a.scan_id and a.status == 200}
            unanswered = set(sent_ids) - acknowledged
            still_waiting = resend_until_acknowledged(stage.base_url, scans, unanswered)
            stored = stored_counts(stage.database_url, sent_ids)
            after_end = sorted(a.sent_at for a in answers if a.scan_id and a.status == 200
                               and a.sent_at >= timeline.get("end", 0))
            failed_during = [a for a in answers if a.scan_id and a.status != 200]
            recovery = (after_end[0] - timeline["end"]) if failed_during and after_end else 0.0
            failing = (max(a.sent_at for a in failed_during) - min(a.sent_at for a in failed_during)
                       if failed_during else 0.0)
            by_answer = Counter(f"{a.status or 'none'} {a.content_type}" for a in answers if a.scan_id)
            log_ins = Counter(f"{a.status or 'none'} {a.content_type}" for a in answers if a.scan_id is None)
            return {
                "fault": fault.name, "backend": backend,
                "scans sent": len(sent_ids), "answered": sum(1 for a in answers if a.scan_id and a.status),
                "answers": dict(sorted(by_answer.items())), "log-ins": dict(sorted(log_ins.items())),
                "acknowledged at once": len(acknowledged), "resent": len(unanswered),
                "rows expected": len(set(sent_ids)), "rows stored": len(stored),
                "stored twice": sum(1 for count in stored.values() if count > 1),
                "never acknowledged": len(still_waiting),
                "acknowledged but missing": len(acknowledged - set(stored)),
                "recover s": round(recovery, 1), "failing s": round(failing, 1),
                "log bytes": len(log_text.encode()), "log outage lines": log_text.count("database outage"),
                "tracebacks": log_text.count("Traceback"),
            }
        finally:
            if server_errors:  # keep the server's log of a run that answered 500
                kept = RESULTS / f"faults-{fault.name.replace(' ', '-')}-{backend}.log"
                kept.write_text(stage.server.log_text(), encoding="utf-8")
                log(f"  server errors: log kept in {kept}")
            teardown(stage)


def cutoff_kill(backend: str, admin_url: str | None) -> dict:
    """The scheduler killed mid-cutoff, resumed: bench.crash's cutoff round."""
    import random

    from bench.crash import WORK, cutoff_round

    WORK.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="wzcheckin-fault-") as work:
        url = (create_database(admin_url, f"fault_{uuid.uuid4().hex[:8]}") if backend == "postgresql"
               else f"sqlite:///{work}/cutoff.sqlite3")
        run_cli(url, "init")
        figures = cutoff_round(url, random.Random(19), workers=800)
    return {"fault": "cutoff killed mid-run", "backend": backend, **figures, "report": "identical to a clean run's"}


def table(rows: list[dict]) -> str:
    lines = ["| fault | db | sent | answered | answers (status type: count) | no answer | rows expected / stored"
             " | twice | failing s | recover s | log bytes / tracebacks |", "|" + "---|" * 11]
    for row in rows:
        if "scans sent" not in row:
            lines.append(f"| {row['fault']} | {row['backend']} | — | — | killed in {row['killed_in_phase']}, "
                         f"resumed: {row['resumed']} | — | report {row['report']} | — | — | — | — |")
            continue
        answers = ", ".join(f"{key}: {count}" for key, count in row["answers"].items() if not key.startswith("none"))
        no_answer = sum(count for key, count in row["answers"].items() if key.startswith("none"))
        lines.append(f"| {row['fault']} | {row['backend']} | {row['scans sent']} | {row['answered']} | {answers} | "
                     f"{no_answer} | {row['rows expected']} / {row['rows stored']} | {row['stored twice']} | "
                     f"{row['failing s']} | {row['recover s']} | {row['log bytes']} / {row['tracebacks']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default="", help="comma-separated fault names (substrings)")
    parser.add_argument("--rate", type=float, default=100, help="scans a second")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rows, broken = [], False
    shared_cluster = None
    try:
        admin_url = None
        if "postgresql" in backends:
            shared_cluster = TemporaryCluster()
            admin_url = shared_cluster.start()
        for backend in backends:
            for fault in FAULTS:
                if backend not in fault.backends or (wanted and not any(w in fault.name for w in wanted)):
                    continue
                if "redis" in fault.needs and not shutil.which("redis-server"):
                    log(f"skipped {fault.name}: no redis-server")
                    continue
                if "nginx" in fault.needs and not nginx_binary():
                    log(f"skipped {fault.name}: no nginx")
                    continue
                log(f"{backend}: {fault.name}…")
                try:
                    row = run_fault(fault, backend, admin_url, args.rate)
                except RuntimeError as exc:
                    log(f"  skipped: {exc}")
                    continue
                log("  " + json.dumps(row, ensure_ascii=False))
                broken |= bool(row["stored twice"] or row["acknowledged but missing"] or row["never acknowledged"])
                rows.append(row)
                if args.json:  # as it goes: a long run that breaks later keeps what it measured
                    args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
            if not wanted or any(w in "cutoff killed mid-run" for w in wanted):
                log(f"{backend}: cutoff killed mid-run…")
                rows.append(cutoff_kill(backend, admin_url))
                log("  " + json.dumps(rows[-1], ensure_ascii=False))
    finally:
        if shared_cluster is not None:
            shared_cluster.stop()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if broken else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
