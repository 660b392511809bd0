"""Crash durability, long: ``python -m bench.crash [--rounds N] [--scans M] [--backends sqlite,postgresql]``.

Each *server round* starts gunicorn (2 workers × 4 threads), sends M gate scans from 16 threads,
``kill -9``s the whole process group after a random number of acknowledgements, checks that
every acknowledged scan is in the database, restarts the server, resends every scan with the
same scan id and checks: all 200, each recorded once, one health alert per fever scan, and every
acknowledged scan answered the same again (tests/security/test_crash.py runs one round).

Each *cutoff round* kills ``wzcheckin cutoff run`` (small chunks) after a random delay, resumes
it and compares the headcount report with a clean run's, byte for byte.

Prints one line per round and the totals; exits 1 on the first broken guarantee.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.support.postgres import TemporaryCluster, create_database  # noqa: E402
from tests.support.servers import GunicornServer, run_cli  # noqa: E402

WORK = ROOT / "bench" / ".work"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Databases:
    def __init__(self, stack: ExitStack):
        self.stack, self.cluster_url, self.counter = stack, None, 0
        WORK.mkdir(parents=True, exist_ok=True)

    def new(self, backend: str) -> str:
        self.counter += 1
        name = f"crash_{os.getpid()}_{self.counter}"
        if backend == "sqlite":
            path = WORK / f"{name}.sqlite3"
            self.stack.callback(lambda: [Path(f"{path}{s}").unlink(missing_ok=True) for s in ("", "-wal", "-shm")])
            return f"sqlite:///{path}"
        if self.cluster_url is None:
            self.cluster_url = os.environ.get("WZCHECKIN_TEST_POSTGRES_URL")
            if not self.cluster_url:
                cluster = TemporaryCluster()
                self.cluster_url = cluster.start()
                self.stack.callback(cluster.stop)
        return create_database(self.cluster_url, name)


def app_context(url: str):
    from tests.conftest import TEST_CONFIG
    from wzcheckin import create_app

    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    return app.app_context()


def server_round(url: str, scans_per_round: int, rng: random.Random) -> dict:
    from tests.security.test_crash import check_round, gate_scans, resend, send_until_killed, stored
    from wzcheckin import clock
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    with app_context(url):
        session, vault = db.session, context.vault()
        scans, fevers = gate_scans(session, vault, load_keyring(session, vault), clock.now(), scans_per_round)
        server = GunicornServer(url, workers=2, threads=4, log_path=WORK / "crash-gunicorn.log").start()
        try:
            kill_after = rng.randint(scans_per_round // 10, scans_per_round * 8 // 10)
            first = send_until_killed(server.base_url, scans, server.kill, kill_after=kill_after)
            if server.process.poll() is None:
                raise AssertionError("the server was not killed")
            after_kill = stored(session, scans)
            server.start()
            second = resend(server.base_url, scans)
            check_round(session, scans, fevers, first, after_kill, second)
        finally:
            server.stop()
            db.session.remove()
            db.engine.dispose()
    return {"sent": scans_per_round, "acknowledged_before_kill": len(first.acknowledged),
            "lost_in_flight": first.lost_in_flight, "stored_at_kill": len(after_kill),
            "unacknowledged_but_stored": len(after_kill - set(first.acknowledged))}


def cutoff_round(url: str, rng: random.Random, workers: int) -> dict:
    from tests.conftest import at
    from tests.residence.builders import bulk_workers, make_site
    from tests.residence.conftest import start_wzcheckin, wzcheckin
    from wzcheckin.clock import SimulatedClock
    from wzcheckin.core import context
    from wzcheckin.extensions import db
    from wzcheckin.residence.models import Snapshot

    with app_context(url):
        for n in range(4):
            site = make_site(db.session, context.vault(), name=f"断电测试{n}")
            bulk_workers(db.session, context.vault(), site, workers // 4 + 13 * n, permit=n % 2 == 0)
            bulk_workers(db.session, context.vault(), site, workers // 10, windows=(0, 2))
        db.session.commit()
        clock = WORK / f"clock-{os.getpid()}"
        SimulatedClock(clock).set(at("2021-03-01 00:05"))
        process = start_wzcheckin(url, "cutoff", "run", "--chunk-size", "7", clock_file=clock,
                                  log_path=WORK / "crash-cutoff.log")
        engine = sa.create_engine(url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:  # wait for the run to start writing
            with engine.connect() as connection:
                if connection.execute(sa.select(Snapshot.id)).scalar():
                    break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 1.5))     # then kill it somewhere in its steps
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with engine.connect() as connection:
            phase = connection.execute(sa.select(Snapshot.phase)).scalar()
        engine.dispose()
        resumed = json.loads(wzcheckin(url, "cutoff", "run", clock_file=clock).stdout.splitlines()[-1])
        report = wzcheckin(url, "report", "headcounts", clock_file=clock).stdout
        db.session.execute(sa.delete(Snapshot))
        db.session.commit()
        wzcheckin(url, "cutoff", "run", clock_file=clock)
        clean = wzcheckin(url, "report", "headcounts", clock_file=clock).stdout
        if clean != report:
            raise AssertionError("the resumed report differs from a clean run's")
        db.session.remove()
        db.engine.dispose()
    return {"killed_in_phase": str(phase.value if phase is not None else "not started"),
            "resumed": resumed["resumed"], "workers": resumed["workers"]["total"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="server kill rounds per backend")
    parser.add_argument("--scans", type=int, default=800, help="scans per server round")
    parser.add_argument("--cutoff-rounds", type=int, default=4, help="cutoff kill rounds per backend")
    parser.add_argument("--cutoff-workers", type=int, default=4000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    rng = random.Random(seed)
    log(f"seed {seed}")
    totals: dict[str, int] = {}
    with ExitStack() as stack:
        databases = Databases(stack)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            for number in range(1, args.rounds + 1):
                url = databases.new(backend)
                run_cli(url, "init")
                figures = server_round(url, args.scans, rng)
                log(f"{backend} server round {number}: {figures}")
                for key, value in figures.items():
                    totals[f"{backend} {key}"] = totals.get(f"{backend} {key}", 0) + value
                totals[f"{backend} kills survived"] = totals.get(f"{backend} kills survived", 0) + 1
            for number in range(1, args.cutoff_rounds + 1):
                url = databases.new(backend)
                run_cli(url, "init")
                figures = cutoff_round(url, rng, args.cutoff_workers)
                log(f"{backend} cutoff round {number}: {figures}")
                key = f"{backend} cutoff kills in {figures['killed_in_phase']}"
                totals[key] = totals.get(key, 0) + 1
    print(json.dumps({"seed": seed, **totals}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
