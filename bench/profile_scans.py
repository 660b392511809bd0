"""Profile one scan kind in-process: ``python -m bench.profile_scans [gate|pickup|venue] [-n 2000]``.

Builds a fresh SQLite database like the wrk scenarios, then posts ``n`` scans through Flask's
test client under cProfile and prints the median time per scan and the costliest functions
(``--sort cumulative|tottime``, ``--limit 25``). No gunicorn and no network: this shows where the app's own time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time

from bench.__main__ import WORK, Databases, log, new_scan_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["gate", "pickup", "venue"], nargs="?", default="gate")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime, …")
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true",
                        help="time the scans without cProfile (the median per scan is the figure to compare)")
    args = parser.parse_args(argv)
    from contextlib import ExitStack

    with ExitStack() as stack:
        url, worlds = new_scan_world(Databases(stack), args.backend, args.n)
        codes = worlds[{"gate": "gate", "pickup": "welfare-pack pickup", "venue": "venue redemption"}[args.kind]]
        # Requests outside any app context, as under gunicorn: each gets its own ``g`` (a pushed
        # app context would keep the logged-in user between requests and hide the auth cost).
        from tests.conftest import TEST_CONFIG
        from wzcheckin import create_app

        client = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url}).test_client()
        headers = {"Authorization": f"Bearer {codes.bearer}"}
        tokens = codes.tokens()  # passes live five minutes: signed now, just before the run
        extra = {"mask": True, "temperature": 36.5} if args.kind == "gate" else {}

        cpu: list[float] = []

        def post(i: int) -> float:
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = client.post("/api/v1/scans", headers=headers,
                                   json={"token": tokens[i], "scan_id": f"profile-{i:08d}", **extra})
            elapsed = time.perf_counter() - started
            cpu.append(time.thread_time() - started_cpu)
            if response.status_code != 200 or response.json["result"] != "accepted":
                raise SystemExit(f"scan {i}: {response.status_code} {response.get_data(as_text=True)[:200]}")
            return elapsed

        warm = min(100, args.n // 10)
        for i in range(warm):
            post(i)
        profiler = cProfile.Profile()
        timings = []
        if not args.no_profile:
            profiler.enable()
        for i in range(warm, args.n):
            timings.append(post(i))
        profiler.disable()
    log(f"{args.kind} on {args.backend}: {len(timings)} scans, median {statistics.median(timings) * 1000:.2f} ms "
        f"{'(no profiler)' if args.no_profile else '(under cProfile)'}, CPU median {statistics.median(cpu[warm:]) * 1000:.2f} ms "
        f"(the figure to compare on a busy machine), in {WORK}")
    if args.no_profile:
        return 0
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(args.sort).print_stats(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
