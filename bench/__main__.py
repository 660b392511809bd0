"""Benchmark harness: ``python -m bench [--quick] [--backends sqlite,postgresql] [--only ...]``.

Builds its own data in fresh databases, starts the app under gunicorn (2 sync workers) on
loopback, drives it with wrk, and prints one table: figure, value, unit, and the ratio to the
floor reference (bench/floor_app.py, measured in the same run) where one applies. The same rows
go to ``bench/results/<timestamp>-<mode>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.postgres import TemporaryCluster, create_database  # noqa: E402
from tests.support.servers import TEST_ENV, GunicornServer, run_cli  # noqa: E402

WORK = ROOT / "bench" / ".work"
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "scans.lua"
# The app servers' gunicorn set-up (``--workers``, ``--threads``): the floor reference always runs
# with the same one, so a ratio compares the apps, not the servers.
SERVER = {"workers": 2, "threads": 1}
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # method, path, status, microseconds in the app


@dataclass
class Row:
    figure: str
    backend: str
    value: float
    unit: str
    ratio: float | None = None
    note: str = ""
    target: str = ""
    met: bool | None = None


@dataclass(frozen=True)
class Target:
    """Issue 17's targets: which figures they apply to (a pattern), and the test."""

    pattern: str
    text: str
    test: object  # (row) -> bool
    label: str  # for "not measured in this run"


TARGETS = (
    Target(r"^gate scan \(distinct workers\), (16|64) conns: throughput$", "≥ 0.6× floor",
           lambda row: row.ratio is not None and row.ratio >= 0.6, "gate scans 16/64 conns: ratio to the floor"),
    Target(r"^gate scan \(distinct workers\), (16|64) conns: p99$", "≤ 100 ms", lambda row: row.value <= 100,
           "gate scans 16/64 conns: p99"),
    Target(r"^1000 simultaneous bookings for 100 places: time to settle$", "≤ 2 s", lambda row: row.value <= 2,
           "1,000-for-100 bookings: time to settle"),
    Target(r"^\d+ simultaneous bookings for 100 places: booked$", "= 100", lambda row: row.value == 100,
           "bookings: exactly 100 booked"),
    Target(r"^\d+ simultaneous bookings for 100 places: 5xx or dropped$", "= 0", lambda row: row.value == 0,
           "bookings: 0 errors"),
    Target(r"^scanner, Slow 3G, empty cache: first pass read from the camera$", "≤ 6 s", lambda row: row.value <= 6,
           "static: first camera scan on Slow 3G"),
    Target(r"^scanner, second visit: bytes transferred$", "≤ 15 KB", lambda row: row.value <= 15,
           "static: second visit bytes"),
    Target(r"^cutoff, 100,000 workers / [\d,]+ scans: wall time$", "≤ 30 s", lambda row: row.value <= 30,
           "cutoff 100k workers: wall time"),
    Target(r"^cutoff, 1,000,000 workers / [\d,]+ scans: wall time$", "≤ 120 s", lambda row: row.value <= 120,
           "cutoff 1M workers / ~30M scans (PostgreSQL, partitioned): wall time"),
    Target(r"^cutoff, [\d,]+ workers / [\d,]+ scans: peak RSS$", "≤ 300 MB", lambda row: row.value <= 300,
           "cutoff: peak RSS"),
)


def judge(row: Row) -> Row:
    for target in TARGETS:
        if re.match(target.pattern, row.figure):
            row.target, row.met = target.text, bool(target.test(row))
            break
    return row


@dataclass
class Results:
    mode: str
    rows: list[Row] = field(default_factory=list)

    def add(self, figure, backend, value, unit, ratio=None, note=""):
        row = judge(Row(figure, backend, round(value, 2) if isinstance(value, float) else value, unit,
                        None if ratio is None else round(ratio, 2), note))
        self.rows.append(row)
        print(f"  {figure:<52} {backend:<10} {row.value:>10} {unit:<8}"
              + (f" ×{row.ratio} of floor" if row.ratio is not None else "")
              + (f"  target {row.target}: {'met' if row.met else 'MISSED'}" if row.target else "")
              + (f"  {note}" if note else ""), file=sys.stderr, flush=True)

    def table(self) -> str:
        """Every figure, with issue 17's target beside it where one applies, then the targets this
        run did not measure (a ``--quick`` run has no 1M-worker cutoff; ``static`` runs only when asked)."""
        lines = [f"{'figure':<60} {'db':<10} {'value':>10} {'unit':<8} {'vs floor':>8} {'target':<14} {'met':<6} note",
                 "-" * 130]
        for row in self.rows:
            ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
            met = "" if row.met is None else ("yes" if row.met else "MISSED")
            lines.append(f"{row.figure:<60} {row.backend:<10} {row.value:>10} {row.unit:<8} {ratio:>8} "
                         f"{row.target:<14} {met:<6} {row.note}")
        unmeasured = [t for t in TARGETS if not any(re.match(t.pattern, row.figure) for row in self.rows)]
        if unmeasured:
            lines.append("")
            lines.append("targets not measured in this run: " + "; ".join(f"{t.label} ({t.text})" for t in unmeasured))
        return "\n".join(lines)

    def write(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"{stamp}-{self.mode}.json"
        machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
        path.write_text(json.dumps({"mode": self.mode, "at": stamp, "machine": machine,
                                    "rows": [asdict(r) for r in self.rows]}, ensure_ascii=False, indent=1))
        return path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------------------

class Databases:
    """Fresh databases per scenario: SQLite files, or databases on a throwaway PostgreSQL cluster."""

    def __init__(self, stack: ExitStack):
        self.stack = stack
        self.cluster_url: str | None = None
        self.counter = 0
        WORK.mkdir(parents=True, exist_ok=True)

    def new(self, backend: str) -> str:
        self.counter += 1
        name = f"bench_{os.getpid()}_{self.counter}"
        if backend == "sqlite":
            path = WORK / f"{name}.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.stack.callback(lambda: [Path(str(path) + s).unlink(missing_ok=True) for s in ("", "-wal", "-shm")])
            return f"sqlite:///{path}"
        if self.cluster_url is None:
            url = os.environ.get("WZCHECKIN_TEST_POSTGRES_URL")
            if not url:
                cluster = TemporaryCluster()
                url = cluster.start()
                self.stack.callback(cluster.stop)
            self.cluster_url = url
        return create_database(self.cluster_url, name)


@contextmanager
def app_on(url: str):
    from tests.conftest import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.extensions import db

    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        yield app, db.session, app.extensions["wzcheckin.vault"], app.extensions["wzcheckin.programme"]
        db.session.remove()
        db.engine.dispose()


# --- wrk -----------------------------------------------------------------------------------------

def wrk(url: str, tokens_file: Path, *, connections: int, seconds: int, prefix: str, bearer: str = "",
        extra: str = "", replay_modulus: int = 0) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA), url, "--",
               str(tokens_file), prefix, bearer, extra, str(replay_modulus)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON "):])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["connections"] = connections
    return data


def record_wrk(results: Results, label: str, backend: str, data: dict, floor: dict | None = None,
               expect_accepted: bool = True) -> None:
    note = (f"{data['requests']} req, 4xx={data['status_4xx']}, 5xx={data['status_5xx']}, "
            f"errors={data['socket_errors']}")
    if expect_accepted:
        note += f", accepted={data['accepted']}"
    results.add(f"{label}: throughput", backend, data["rps"], "req/s",
                ratio=(data["rps"] / floor["rps"]) if floor else None, note=note)
    results.add(f"{label}: median", backend, data["p50_us"] / 1000, "ms",
                ratio=(data["p50_us"] / floor["p50_us"]) if floor else None)
    # wrk keeps every connection busy (a closed loop), so the mean time of a request is the number
    # in flight over the throughput (Little's law) whatever the app does: at 64 connections a p99
    # target is a throughput target too.
    bound = data["connections"] / data["rps"] * 1000 if data["rps"] else float("inf")
    results.add(f"{label}: p99", backend, data["p99_us"] / 1000, "ms",
                ratio=(data["p99_us"] / floor["p99_us"]) if floor else None,
                note=f"{data['connections']} in flight / {data['rps']:.0f} req/s = {bound:.0f} ms mean (Little's law)")


# --- scenarios -------------------------------------------------------------------------------------

@dataclass
class Codes:
    """The codes a wrk run presents: reservation tokens as issued, or worker passes — those live
    five minutes at most (``[codes] max_lifetime_seconds``), so they are signed afresh from the
    workers' public ids just before each run, as the pass page would show them."""

    codes: list[str]
    bearer: str
    keyring: object | None = None  # set: ``codes`` are public ids to sign as fresh passes

    def tokens(self) -> list[str]:
        if self.keyring is None:
            return self.codes
        from bench import world

        return world.pass_tokens(None, None, self.codes, keyring=self.keyring)

    def file(self, path: Path, part: slice = slice(None)) -> Path:
        path.write_text("\n".join(self.tokens()[part]))
        return path


def _prepare_single_use(session, vault, url: str, backend: str, public_ids: list[str], worker_ids: list[int],
                        now: datetime, keyring) -> dict[str, Codes]:
    """Reservations at a venue whose slot is open now, and a pickup point with stock: their
    codes (one use each) and their staff's API tokens."""
    from datetime import timedelta as _td

    import sqlalchemy as sa

    from bench import world
    from wzcheckin.codes.tokens import TokenKind
    from wzcheckin.core.public_ids import new_public_id
    from wzcheckin.core.roles import Role
    from wzcheckin.scanning.models import Checkpoint

    session.commit()  # end our read snapshot: the CLI below writes, and we must see what it wrote
    csv_path = WORK / f"venue-{backend}.csv"
    csv_path.write_text("code,name,kind,district,address\nbench-hall,压测馆,library,鹿城区,市府路1号\n", encoding="utf-8")
    run_cli(url, "import", "venues", str(csv_path))
    csv_path.write_text("code,name,district,address,stock\nbench-point,压测领取点,鹿城区,市府路2号,1000000\n",
                        encoding="utf-8")
    run_cli(url, "import", "pickup-points", str(csv_path))
    venue_id = session.execute(sa.text("SELECT id FROM venues WHERE code = 'bench-hall'")).scalar()
    starts, ends = now - _td(minutes=5), now + _td(hours=3)
    slot_id = session.execute(sa.text(
        "INSERT INTO venue_slots (venue_id, starts_at, ends_at, capacity, taken, closed_notice, created_at) "
        "VALUES (:v, :s, :e, :n, :n, '', :now) RETURNING id"),
        {"v": venue_id, "s": _db_time(backend, starts), "e": _db_time(backend, ends), "n": len(worker_ids),
         "now": _db_time(backend, now)}).scalar()
    reservation_ids = [new_public_id() for _ in worker_ids]
    session.execute(sa.text(
        "INSERT INTO reservations (public_id, slot_id, worker_id, status, source, created_at) "
        "VALUES (:p, :s, :w, 'booked', 'direct', :now)"),
        [{"p": p, "s": slot_id, "w": w, "now": _db_time(backend, now)} for p, w in zip(reservation_ids, worker_ids, strict=True)])
    session.commit()
    reservation_tokens = [keyring.sign(TokenKind.RESERVATION, p, ends + _td(hours=1), issued_at=now)
                          for p in reservation_ids]
    venue = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == "venue:bench-hall"))
    point = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == "pickup:bench-point"))
    venue_staff = world.staff_token(session, vault, Role.VENUE_STAFF, venue, now, 2)
    pickup_staff = world.staff_token(session, vault, Role.PICKUP_STAFF, point, now, 3)
    session.commit()
    return {"venue redemption": Codes(reservation_tokens, venue_staff),
            "welfare-pack pickup": Codes(public_ids, pickup_staff, keyring)}


def _db_time(backend: str, instant: datetime):
    """Instants as the app stores them (UTCDateTime: naive UTC text on SQLite)."""
    return instant.replace(tzinfo=None).isoformat(sep=" ") if backend == "sqlite" else instant


def build_scan_world(session, vault, url: str, backend: str, workers: int) -> dict[str, Codes]:
    """One enterprise with its gatekeeper and ``workers`` workers: the codes and the staff API
    token for gate scans (``gate``), venue redemptions and welfare-pack pickups."""
    from sqlalchemy import select

    from bench import world
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core.roles import Role
    from wzcheckin.scanning.models import Checkpoint

    now = datetime.now(UTC)
    enterprise = world.add_enterprise(session, vault, 1, now)
    session.commit()
    gate = session.scalar(select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
    gate_token = world.staff_token(session, vault, Role.GATEKEEPER, gate, now, 1)
    session.commit()
    worker_ids, public_ids = world.add_workers(session, vault, workers, [enterprise.id], now)
    keyring = load_keyring(session, vault)
    single_use = _prepare_single_use(session, vault, url, backend, public_ids, worker_ids, now, keyring)
    return {"gate": Codes(public_ids, gate_token, keyring), **single_use}


def new_scan_world(dbs: Databases, backend: str, workers: int) -> tuple[str, dict[str, Codes]]:
    """A fresh database, migrated, holding :func:`build_scan_world` for ``workers`` workers: its
    URL and the codes of each kind of scan (what every scan benchmark starts from)."""
    url = dbs.new(backend)
    run_cli(url, "init")
    with app_on(url) as (_app, session, vault, _programme):
        codes = build_scan_world(session, vault, url, backend, workers)
        session.commit()
    return url, codes


def scan_figures(results: Results, backend: str, dbs: Databases, quick: bool) -> None:
    """Gate scans, replayed uploads, venue redemptions and pickups against the floor reference,
    at 16 and 64 connections."""
    workers = 16_000 if quick else 100_000  # enough distinct passes for every request of a run
    seconds = 3 if quick else 15
    warmup = 1 if quick else 2
    log(f"[{backend}] building {workers} workers…")
    url, codes = new_scan_world(dbs, backend, workers)
    gate = codes["gate"]
    gate_file = WORK / f"gate-{backend}.txt"
    half = workers // 2
    parts = {16: slice(None, half), 64: slice(half, None)}  # each single-use code is used once

    gate_extra = ',"mask":true,"temperature":36.5'
    app_server = GunicornServer(url, **SERVER, log_path=WORK / f"gunicorn-{backend}.log")
    floor_server = GunicornServer(url, **SERVER, log_path=WORK / f"floor-{backend}.log",
                                  app_spec="bench.floor_app:app", env={"BENCH_DATABASE_URL": url},
                                  config=None, extra_args=["--preload"])  # preloaded, as the app is
    for connections in (16, 64):
        floor_server.start()
        wrk(floor_server.base_url, gate.file(gate_file), connections=connections, seconds=warmup, prefix=f"fw{connections}")
        floor = wrk(floor_server.base_url, gate.file(gate_file), connections=connections, seconds=seconds,
                    prefix=f"f{connections}")
        floor_server.stop()
        record_wrk(results, f"floor reference scan, {connections} conns", backend, floor)

        app_server.start()
        wrk(app_server.base_url, gate.file(gate_file), connections=connections, seconds=warmup, prefix=f"gw{connections}",
            bearer=gate.bearer, extra=gate_extra)
        gate_run = wrk(app_server.base_url, gate.file(gate_file), connections=connections, seconds=seconds,
                       prefix=f"g{connections}", bearer=gate.bearer, extra=gate_extra)
        record_wrk(results, f"gate scan (distinct workers), {connections} conns", backend, gate_run, floor)
        # Replayed uploads: the same scan ids again (an offline queue retried) -> the first answer.
        wrk(app_server.base_url, gate.file(gate_file), connections=connections, seconds=warmup, prefix=f"r{connections}",
            bearer=gate.bearer, extra=gate_extra, replay_modulus=200)
        replay = wrk(app_server.base_url, gate.file(gate_file), connections=connections, seconds=seconds,
                     prefix=f"r{connections}", bearer=gate.bearer, extra=gate_extra, replay_modulus=200)
        record_wrk(results, f"rescan (replayed scan_id), {connections} conns", backend, replay, floor,
                   expect_accepted=False)
        for label in ("venue redemption", "welfare-pack pickup"):
            path = codes[label].file(WORK / f"{label.split()[0]}-{connections}-{backend}.txt", parts[connections])
            run = wrk(app_server.base_url, path, connections=connections, seconds=seconds,
                      prefix=f"{label.split()[0]}{connections}", bearer=codes[label].bearer)
            record_wrk(results, f"{label}, {connections} conns", backend, run, floor)
        app_server.stop()
        for server in (app_server, floor_server):
            if "database is locked" in server.log_text():
                results.add("'database is locked' in server log", backend, 1, "flag", note=server.log_path.name)


def booking_figures(results: Results, backend: str, dbs: Databases, quick: bool) -> None:
    """400 and 1,000 simultaneous bookings for 100 places: time to settle, p95, booked, 5xx."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from bench import world
    from bench.burst import burst

    url = dbs.new(backend)
    run_cli(url, "init")
    venues_csv = WORK / "venues.csv"
    venues_csv.write_text("code,name,kind,district,address\nBENCHLIB,压测图书馆,library,鹿城区,市府路1号\n", encoding="utf-8")
    run_cli(url, "import", "venues", str(venues_csv))
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
    slots = json.loads(run_cli(url, "slots", "create", "--venue", "BENCHLIB", "--date", tomorrow, "--from", "10:00",
                               "--to", "12:00", "--length", "60", "--capacity", "100").stdout.splitlines()[-1])
    sizes = (400, 1000)
    now = datetime.now(UTC)
    with app_on(url) as (_app, session, vault, _programme):
        enterprise = world.add_enterprise(session, vault, 1, now)
        session.commit()
        worker_ids, _public = world.add_workers(session, vault, sum(sizes), [enterprise.id], now)
        tokens = world.bulk_api_tokens(session, worker_ids, now)
    access_log = WORK / f"booking-access-{backend}.log"
    access_log.unlink(missing_ok=True)
    server = GunicornServer(url, **SERVER, log_path=WORK / f"booking-{backend}.log",
                            extra_args=["--access-logfile", str(access_log),
                                        "--access-logformat", ACCESS_LOG_FORMAT]).start()
    try:
        offset = 0
        for size, slot in zip(sizes, slots, strict=True):
            batch = tokens[offset:offset + size]
            offset += size
            logged = access_log.stat().st_size if access_log.exists() else 0
            server_cpu = _tree_cpu_seconds(server.process.pid)
            outcome = burst(server.base_url, "POST", "/api/v1/reservations",
                            [({"Authorization": f"Bearer {t}"}, {"slot_id": slot["id"]}) for t in batch])
            server_cpu = _tree_cpu_seconds(server.process.pid) - server_cpu
            time.sleep(0.5)  # gunicorn writes its access log after the answer
            in_app = _app_times(access_log, logged, "/api/v1/reservations")
            engine = sa.create_engine(url)
            with engine.connect() as connection:
                stored = connection.execute(sa.text(
                    "SELECT count(*) FROM reservations WHERE slot_id = :s AND status IN ('booked', 'redeemed')"),
                    {"s": slot["id"]}).scalar()
            engine.dispose()
            label = f"{size} simultaneous bookings for 100 places"
            note = f"201={outcome.count(201)}, 409={outcome.count(409)}, stored={stored}"
            results.add(f"{label}: time to settle", backend, outcome.wall_seconds, "s", note=note)
            results.add(f"{label}: p95 latency", backend, outcome.percentile(95), "ms")
            results.add(f"{label}: client CPU", backend, outcome.client_cpu_seconds, "s",
                        note="the burst client's own CPU time from the release to the last answer (one thread)")
            if in_app:
                # Where a request's time goes: in the app (gunicorn's own measure, from the parsed
                # request to the answer), or waiting — in the listen backlog or for a worker.
                ordered = sorted(in_app)
                busy = sum(in_app) / 1000 / (SERVER["workers"] * SERVER["threads"])
                results.add(f"{label}: time in the app, median / p95", backend, ordered[len(ordered) // 2], "ms",
                            note=f"p95 {ordered[int(len(ordered) * 0.95)]:.1f} ms, {len(in_app)} logged")
                results.add(f"{label}: app busy (sum of app time / worker slots)", backend, busy, "s",
                            note=f"of {outcome.wall_seconds:.2f} s to settle; the rest is the client and the backlog")
            results.add(f"{label}: app CPU per request", backend, server_cpu / size * 1000, "ms",
                        note=f"gunicorn's processes' CPU time over the burst ({server_cpu:.2f} s) / {size}")
            results.add(f"{label}: booked", backend, outcome.count(201), "places", note="must be 100")
            results.add(f"{label}: 5xx or dropped", backend, outcome.server_errors, "requests", note="must be 0")
    finally:
        server.stop()


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children still running (gunicorn's master
    and workers), from ``/proc``; 0 where it cannot be read."""
    total, pending = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def _app_times(access_log: Path, offset: int, path: str) -> list[float]:
    """Milliseconds in the app of each request to ``path`` logged after ``offset``."""
    if not access_log.exists():
        return []
    with access_log.open("rb") as log_file:
        log_file.seek(offset)
        lines = log_file.read().decode(errors="replace").splitlines()
    times = []
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[1] == path and parts[3].isdigit():
            times.append(int(parts[3]) / 1000)
    return times


def run_measured(database_url: str, *args: str) -> tuple[float, float, str]:
    """Run a ``wzcheckin`` command; (wall seconds, peak RSS in MB, last output line)."""
    env = {k: v for k, v in os.environ.items() if k != "WZCHECKIN_DEV"}
    env.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": database_url})
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "wzcheckin.cli", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise RuntimeError(f"wzcheckin {' '.join(args)} failed with status {status}")
    return wall, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def cutoff_figures(results: Results, backend: str, dbs: Databases, quick: bool,
                   sizes: list[int] | None = None) -> None:
    """The cutoff job at city scale: wall time and peak memory, and how they grow with the city.
    ``sizes``: the cities' sizes in workers (``--cutoff-workers``), instead of the mode's."""
    from bench import city

    if not sizes:
        sizes = [10_000] if quick else [10_000, 100_000] + ([1_000_000] if backend == "postgresql" else [])
    timings: dict[int, float] = {}
    for workers in sizes:
        url = dbs.new(backend)
        run_cli(url, "init")
        log(f"[{backend}] generating a city of {workers} workers…")
        generating = time.monotonic()
        with app_on(url) as (_app, session, vault, _programme):
            info = city.build_city(session, vault, workers, progress=log)
        results.add(f"city generation, {workers:,} workers / {info['scans']:,} scans", backend,
                    time.monotonic() - generating, "s", note="inside the database (bench/city.py)")
        wall, rss, summary = run_measured(url, "cutoff", "run")
        confirmed = json.loads(summary)["workers"]["confirmed"]
        if not 0.5 * workers < confirmed < workers:
            # The city is built so that most, not all, stay: anything else measures nothing.
            raise RuntimeError(f"the cutoff confirmed {confirmed} of {workers} workers: check bench/city.py")
        label = f"cutoff, {workers:,} workers / {info['scans']:,} scans"
        results.add(f"{label}: wall time", backend, wall, "s", note=f"confirmed={confirmed}")
        results.add(f"{label}: peak RSS", backend, rss, "MB")
        timings[workers] = wall
        rerun, _rss, _ = run_measured(url, "cutoff", "run")
        results.add(f"{label}: second run (idempotent)", backend, rerun, "s")
    ordered = sorted(timings)
    for small, large in itertools.pairwise(ordered):
        growth = timings[large] / timings[small]
        results.add(f"cutoff time growth {small:,} → {large:,} workers", backend, growth, "×",
                    note=f"×{large // small} workers; ≤ ×{large // small} is linear or better")


def page_weight_figures(results: Results, backend: str, dbs: Databases, quick: bool) -> None:
    """Bytes on the wire (gzip) for the worker's pages and the scanner, first load and cached; and
    the server time to render the pass page."""
    from bench import pages

    if backend != "sqlite":
        return  # page weight does not depend on the database
    url = dbs.new(backend)
    run_cli(url, "init")
    run_cli(url, "demo")
    server = GunicornServer(url, workers=2, log_path=WORK / "pages.log").start()
    try:
        for row in pages.measure(server.base_url, url):
            results.add(row["figure"], "any", row["value"], row["unit"], note=row.get("note", ""))
    finally:
        server.stop()
    results.add("pass page render (in-process, median of 200)", "sqlite", pages.pass_render_ms(url), "ms")


def static_figures(results: Results, backend: str, dbs: Databases, quick: bool) -> None:
    """The scanner on Slow 3G from an empty cache, and a second visit (bench/static_scanner.py,
    built static files, Chromium); SQLite only: the database plays no part."""
    from bench import static_scanner

    if backend != "sqlite":
        return
    measured = static_scanner.run(1 if quick else 3, built=True)
    runs = f"median of {measured['runs']}"
    results.add("scanner, Slow 3G, empty cache: first pass read from the camera", "any",
                measured["first_camera_scan_s"]["median"], "s",
                note=f"{runs}; first visit {measured['first_visit_bytes']['median'] / 1024:.1f} KB")
    results.add("scanner, second visit: bytes transferred", "any",
                round(measured["second_visit_bytes"]["median"] / 1024, 1), "KB", note=runs)


def two_host_figures(results: Results, backend: str, dbs: Databases, quick: bool) -> None:
    """Two app hosts behind nginx sharing PostgreSQL and Redis, a key rotation on one of them
    halfway through (bench/two_hosts.py): scans/s, statuses and accept rates by host and key.
    The whole record goes to ``bench/results/two-hosts-<UTC time>.json``."""
    from bench import two_hosts

    if backend != "postgresql":
        log("  two_hosts: PostgreSQL only (app hosts share one database server)")
        return
    if missing := two_hosts.missing_tools():
        log(f"  two_hosts skipped: no {', '.join(missing)}")
        return
    url = dbs.new(backend)
    run_cli(url, "init")
    seen = two_hosts.run(url, WORK / "two-hosts", quick, log=log)
    note = f"{seen['requests']} req, socket errors={seen['socket_errors']}, p99={seen['p99_ms']:.0f} ms"
    results.add("two hosts behind nginx: gate scans", backend, seen["scans/s"], "req/s", note=note)
    for cell in seen["by_host_and_key"]:
        statuses = ", ".join(f"{k.split()[1]}={v}" for k, v in cell.items() if k.startswith("status "))
        refused = ", ".join(f"{k.split(': ')[1]}={v}" for k, v in cell.items() if k.startswith("refused: "))
        results.add(f"host {cell['host']}, {cell['passes']}: accepted", backend, 100 * (cell["accept rate"] or 0), "%",
                    note=f"{cell['answers']} answers, {cell['answers/s']}/s; {statuses}" + (f"; {refused}" if refused else ""))
    limited = [f"{a['host']}:{a['status']}" for a in seen["failed_log_ins"]]
    results.add("failed log-ins through nginx before the first 429", backend,
                next((n for n, a in enumerate(seen["failed_log_ins"]) if a["status"] == 429), len(limited)), "requests",
                note="limit 10 a minute, shared in Redis: " + " ".join(limited))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"two-hosts-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    path.write_text(json.dumps({"mode": results.mode, "load_average_after": load, **seen}, ensure_ascii=False, indent=1))
    log(f"  written to {path.relative_to(ROOT)}")


SCENARIOS = {"scans": scan_figures, "booking": booking_figures, "cutoff": cutoff_figures, "pages": page_weight_figures,
             "static": static_figures, "two_hosts": two_host_figures}
DEFAULT_SCENARIOS = tuple(SCENARIOS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized: under 3 minutes")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(DEFAULT_SCENARIOS),
                        help="comma-separated: " + ", ".join(SCENARIOS) + " (default: all)")
    parser.add_argument("--workers", type=int, default=SERVER["workers"], help="gunicorn workers per app server")
    parser.add_argument("--threads", type=int, default=SERVER["threads"],
                        help="threads per worker (more than 1: gunicorn's gthread worker)")
    parser.add_argument("--cutoff-workers", default="",
                        help="cutoff only: comma-separated city sizes, e.g. 1000000 (default: the mode's)")
    args = parser.parse_args(argv)
    SERVER.update(workers=args.workers, threads=args.threads)
    cutoff_sizes = [int(size) for size in args.cutoff_workers.split(",") if size.strip()]
    os.environ.update(TEST_ENV)
    results = Results("quick" if args.quick else "full")
    started = time.monotonic()
    with ExitStack() as stack:
        dbs = Databases(stack)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            for name in [n.strip() for n in args.only.split(",") if n.strip()]:
                log(f"== {name} on {backend}")
                options = {"sizes": cutoff_sizes} if name == "cutoff" and cutoff_sizes else {}
                SCENARIOS[name](results, backend, dbs, args.quick, **options)
    path = results.write()
    print(results.table())
    print(f"\n{len(results.rows)} figures in {time.monotonic() - started:.0f} s; written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
