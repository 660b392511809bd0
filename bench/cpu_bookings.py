"""CPU time per booking request, in-process: ``python -m bench.cpu_bookings [refuse|book] [-n 500] [--runs 5]``.

The two paths of a booking burst (``POST /api/v1/reservations``), measured as ``bench.cpu_scans``
measures a scan: ``time.process_time()`` over ``n`` requests posted straight into the WSGI app
(the whole stack gunicorn calls; no network, no test client), divided by ``n``; the median of
``--runs`` runs, after a warm-up run. The app is built from the environment as ``wsgi:app`` is
under the benchmark's gunicorn (production settings, rate limits off as there).

* ``refuse``: ``n`` workers, each with an API token, ask for a place in a full slot (100 of 100
  taken): every answer must be 409 ``slot_full``. The same requests every run (a refusal
  changes nothing).
* ``book``: ``n`` fresh workers per run book a place in a slot of ``n`` places: every answer
  must be 201.

On PostgreSQL the database server's own CPU is not counted; on SQLite it is. To compare two
trees, run this from each in turn, round after round, and compare the medians.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from bench.__main__ import WORK, Databases, app_on, log
from bench.cpu_scans import print_by_package
from tests.support.servers import TEST_ENV, run_cli

PATH = "/api/v1/reservations"


def environ_for(body: bytes, bearer: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": PATH, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_AUTHORIZATION": f"Bearer {bearer}",
        "HTTP_USER_AGENT": "bench-burst",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def build_world(url: str, backend: str, path: str, n: int, runs: int) -> tuple[list[int], list[list[str]]]:
    """A bookable venue and its slots; the workers and their tokens. Returns (slot ids, token
    batches): ``refuse``: one full slot and one batch of ``n``; ``book``: one slot of ``n``
    places and one batch of ``n`` fresh workers per run (the warm-up's included)."""
    import sqlalchemy as sa

    from bench import world
    from wzcheckin.venues.models import Slot, Venue

    now = datetime.now(UTC)
    venues_csv = WORK / f"cpu-bookings-venue-{backend}.csv"
    venues_csv.write_text("code,name,kind,district,address\nbenchlib,压测图书馆,library,鹿城区,市府路1号\n",
                          encoding="utf-8")
    run_cli(url, "import", "venues", str(venues_csv))
    batches = 1 if path == "refuse" else runs + 2  # the warm-up, the runs, one for a profile
    with app_on(url) as (_app, session, vault, _programme):
        venue_id = session.scalar(sa.select(Venue.id).where(Venue.code == "benchlib"))
        first = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        slot_ids = []
        for i in range(batches):
            capacity = 100 if path == "refuse" else n
            slot = Slot(venue_id=venue_id, starts_at=first + timedelta(hours=i), ends_at=first + timedelta(hours=i + 1),
                        capacity=capacity, taken=capacity if path == "refuse" else 0, closed_notice="",
                        created_at=now)
            session.add(slot)
            session.flush()
            slot_ids.append(slot.id)
        enterprise = world.add_enterprise(session, vault, 1, now)
        session.commit()
        worker_ids, _public = world.add_workers(session, vault, n * batches, [enterprise.id], now)
        tokens = world.bulk_api_tokens(session, worker_ids, now)
    return slot_ids, [tokens[i * n:(i + 1) * n] for i in range(batches)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["refuse", "book"], nargs="?", default="refuse")
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--cprofile", action="store_true",
                        help="one more run under cProfile on CPU time: own time per package and the costliest functions")
    parser.add_argument("--pyinstrument", action="store_true", help="print pyinstrument's tree of one more run")
    args = parser.parse_args(argv)
    expected = (201, b'"token"') if args.path == "book" else (409, b'"slot_full"')

    with ExitStack() as stack:
        url = Databases(stack).new(args.backend)
        run_cli(url, "init")
        slot_ids, batches = build_world(url, args.backend, args.path, args.n, args.runs)
        os.environ.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": url, "WZCHECKIN_RATELIMIT_DISABLED": "1"})
        os.environ.pop("WZCHECKIN_DEV", None)
        from wzcheckin import create_app

        app = create_app()
        statuses: list[str] = []

        def start_response(status, _headers, _exc_info=None):
            statuses.append(status)

        def post(token: str, body: bytes) -> bytes:
            answer = app(environ_for(body, token), start_response)
            try:
                return b"".join(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()

        def run(label: str, batch: int) -> tuple[float, float]:
            tokens = batches[0 if args.path == "refuse" else batch]
            body = json.dumps({"slot_id": slot_ids[0 if args.path == "refuse" else batch]}).encode()
            answers = []
            del statuses[:]
            wall, cpu = time.perf_counter(), time.process_time()
            for token in tokens:
                answers.append(post(token, body))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            good = sum(1 for s, a in zip(statuses, answers, strict=True)
                       if s.startswith(str(expected[0])) and expected[1] in a)
            if good != len(tokens):
                sample = next(i for i, (s, a) in enumerate(zip(statuses, answers, strict=True))
                              if not (s.startswith(str(expected[0])) and expected[1] in a))
                raise SystemExit(f"{label}: {good} of {len(tokens)} as expected; "
                                 f"e.g. {statuses[sample]} {answers[sample][:300]!r}")
            return cpu / len(tokens), wall / len(tokens)

        run("warm", 0)
        figures = [run(f"run{r}", r + 1) for r in range(args.runs)]
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(run, "cprofiled", args.runs + 1)
            print_by_package(profiler)
        elif args.pyinstrument:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                run("profiled", args.runs + 1)
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    cpu = [c * 1000 for c, _w in figures]
    wall = [w * 1000 for _c, w in figures]
    log(f"{args.path} on {args.backend}: {args.n} requests × {args.runs} runs; "
        f"CPU per request median {statistics.median(cpu):.3f} ms (runs: {', '.join(f'{c:.3f}' for c in cpu)}); "
        f"wall median {statistics.median(wall):.3f} ms; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
