"""Two app hosts behind a load balancer (issue 17.4): ``python -m bench --only two_hosts
--backends postgresql``.

Two gunicorn servers (each its own processes, its own loopback port, its own app instance: 2
sync workers apiece) behind Debian's nginx with the deployment's proxy settings
(deploy/nginx/proxy.conf; nginx's default round-robin), sharing one PostgreSQL and one
redis-server (``WZCHECKIN_RATELIMIT_STORAGE_URI``). wrk drives gate scans through nginx
(``two_hosts.lua``: a distinct pass per request, a fresh ``scan_id``); halfway through,
``wzcheckin keys rotate`` runs as a process of its own with host A's environment, and the
passes sent from then on are signed with the new key. nginx names the host that answered each
request (``X-Upstream``), so every answer is counted by host and by key. Afterwards a dozen failed
log-ins through nginx, alternating between the hosts, show whether they share Redis's count.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.support.cli import run_cli_process
from tests.support.servers import GunicornServer, NginxProxy, RedisServer, nginx_binary
from tests.support.web import csrf_token_from

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "two_hosts.lua"
GATE_EXTRA = ',"mask":true,"temperature":36.5'
KEYS = {0: "old key (before the rotation)", 1: "new key (after the rotation)"}


def missing_tools() -> list[str]:
    return [name for name, found in (("nginx", nginx_binary()), ("redis-server", shutil.which("redis-server")),
                                     ("wrk", shutil.which("wrk"))) if not found]


def build_gate(database_url: str, workers: int) -> tuple[str, list[str]]:
    """One enterprise, its gatekeeper's API token and ``workers`` workers' public ids."""
    import sqlalchemy as sa

    from bench import world
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.accounts.models import Role
    from wzcheckin.core import context
    from wzcheckin.extensions import db
    from wzcheckin.scanning.models import Checkpoint

    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        session, vault, now = db.session, context.vault(), datetime.now(UTC)
        enterprise = world.add_enterprise(session, vault, 1, now)
        session.commit()
        gate = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
        bearer = world.staff_token(session, vault, Role.GATEKEEPER, gate, now, 1)
        session.commit()
        _ids, public_ids = world.add_workers(session, vault, workers, [enterprise.id], now)
        db.session.remove()
        db.engine.dispose()
    return bearer, public_ids


def sign_passes(database_url: str, public_ids: list[str]) -> tuple[int, list[str]]:
    """Passes issued now with the signing key as stored now: (its key id, the passes)."""
    from bench import world
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        keyring = load_keyring(db.session, context.vault())
        db.session.remove()
        db.engine.dispose()
    return keyring.signing_key_id, world.pass_tokens(None, None, public_ids, keyring=keyring)


def write_generation(directory: Path, generation: int, passes: list[str]) -> None:
    (directory / f"passes-{generation}.txt").write_text("\n".join(passes))
    marker = directory / "generation.new"
    marker.write_text(str(generation))
    marker.replace(directory / "generation")  # atomic: wrk's threads never read half a number


def failed_log_ins(base_url: str, attempts: int = 12) -> list[tuple[str, int]]:
    """Failed log-ins through nginx: (host that answered the POST, status). Round-robin sends
    each request to the other host; a ``/healthz`` between attempts makes the POSTs alternate
    too (and every form is posted to the host that did not serve it: the session is a row)."""
    answers = []
    browser = requests.Session()
    for _ in range(attempts):
        page = browser.get(base_url + "/login", timeout=10)
        response = browser.post(base_url + "/login", timeout=10, data={
            "csrf_token": csrf_token_from(page.text), "phone": "13900000000", "password": "x" * 12})
        answers.append((response.headers.get("X-Upstream", "-"), response.status_code))
        browser.get(base_url + "/healthz", timeout=10)
    return answers


def run(database_url: str, work: Path, quick: bool, log=print) -> dict:
    """The two-host run on a fresh, initialised PostgreSQL database; returns what it saw."""
    seconds_each = 8 if quick else 20       # before and after the rotation
    workers = 4_000 if quick else 10_000
    work.mkdir(parents=True, exist_ok=True)
    log(f"  {workers} workers…")
    bearer, public_ids = build_gate(database_url, workers)
    redis = RedisServer(shutil.which("redis-server"), work).start()
    env = {"WZCHECKIN_RATELIMIT_STORAGE_URI": redis.url, "WZCHECKIN_RATELIMIT_DISABLED": "",
           "WZCHECKIN_TRUSTED_PROXIES": "1"}
    hosts = {name: GunicornServer(database_url, workers=2, env=env, log_path=work / f"host-{name}.log")
             for name in ("A", "B")}
    proxy = None
    try:
        for host in hosts.values():
            host.start()
        names = {f"127.0.0.1:{host.port}": name for name, host in hosts.items()}
        proxy = NginxProxy(nginx_binary(), work / "nginx", [host.port for host in hosts.values()],
                           location_extra="add_header X-Upstream $upstream_addr always;").start()
        old_key, passes = sign_passes(database_url, public_ids)
        write_generation(work, 0, passes)
        # wrk runs until interrupted (it then reports as if its time were up): ``seconds_each``
        # after the new passes are out, however long the rotation took on this shared box.
        command = ["wrk", "-t2", "-c16", "-d3600s", "--timeout", "10s", "-s", str(LUA),
                   proxy.base_url, "--", str(work), bearer, GATE_EXTRA]
        started = time.monotonic()
        load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(seconds_each)
        # The rotation, as an operator on host A would run it: a process of its own, writing to the
        # shared database. Neither host's gunicorn is told; each must find the new key itself.
        rotating = time.monotonic()
        rotated = run_cli_process(database_url, "keys", "rotate", env=env)
        rotated_at = time.monotonic()
        new_key, passes = sign_passes(database_url, public_ids)
        write_generation(work, 1, passes)
        switched = time.monotonic()
        time.sleep(seconds_each)
        load.send_signal(signal.SIGINT)
        output, errors = load.communicate(timeout=60)
        ended = time.monotonic()
        if load.returncode != 0:
            raise RuntimeError(f"wrk failed: {errors.strip()}")
        line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
        data = json.loads(line[len("WRKJSON "):])
        log_ins = failed_log_ins(proxy.base_url)
        logs = {name: host.log_text() for name, host in hosts.items()}
    finally:
        if proxy is not None:
            proxy.stop()
        for host in hosts.values():
            host.stop()
        redis.stop()
    return summarise(data, names, log_ins, logs, {
        "old_key_id": old_key, "new_key_id": new_key, "rotate_output": rotated.stdout.strip().splitlines()[-1:],
        "rotate_seconds": rotated_at - rotating, "seconds_before": switched - started,
        "seconds_after": ended - switched, "rotation_at_s": rotating - started, "workers": workers})


def summarise(data: dict, names: dict[str, str], log_ins: list, logs: dict[str, str], run: dict) -> dict:
    """Answers by host and by key: requests, statuses, accepted, the reasons of the rest."""
    table: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for key, count in data["counts"].items():
        upstream, generation, status, result, reason = key.split("|")
        host = names.get(upstream, upstream)
        cell = table[(host, int(generation) if generation.isdigit() else -1)]
        cell["answers"] += count
        cell[f"status {status}"] += count
        cell["accepted"] += count if result == "accepted" else 0
        if result != "accepted":
            cell[f"refused: {reason}"] += count
    phases = {0: run["seconds_before"], 1: run["seconds_after"]}
    cells = []
    for (host, generation), cell in sorted(table.items()):
        cells.append({"host": host, "passes": KEYS.get(generation, "unattributed"), **dict(sorted(cell.items())),
                      "accept rate": round(cell["accepted"] / cell["answers"], 4) if cell["answers"] else None,
                      "answers/s": round(cell["answers"] / phases[generation], 1) if generation in phases else None})
    return {
        **run,
        "requests": data["requests"], "scans/s": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": data["p50_us"] / 1000, "p99_ms": data["p99_us"] / 1000, "max_ms": data["max_us"] / 1000,
        "socket_errors": data["socket_errors"], "by_host_and_key": cells,
        "failed_log_ins": [{"host": names.get(upstream, upstream), "status": status} for upstream, status in log_ins],
        "tracebacks": {name: text.count("Traceback") for name, text in logs.items()},
    }
