"""CPU time per scan, in-process: ``python -m bench.cpu_scans [gate|pickup|venue] [-n 2000] [--runs 5]``.

The figure to compare one change of the hot path with the last on a shared, noisy machine:
``time.process_time()`` over ``n`` scans posted straight into the WSGI app (the whole stack
gunicorn calls: WhiteNoise, the request id, Flask and every extension; no network, no test
client), divided by ``n``; the median of ``--runs`` runs. Wall time is printed beside it, but on a
busy box only the CPU time means anything. The app is built from the environment as ``wsgi:app``
is under the benchmark's gunicorn (production settings, rate limits off as there, or on with
``--limiter``). On PostgreSQL the database server's own CPU is not counted; on SQLite it is.
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

from bench.__main__ import Databases, log, new_scan_world
from tests.support.servers import TEST_ENV

KINDS = {"gate": "gate", "pickup": "welfare-pack pickup", "venue": "venue redemption"}


def environ_for(body: bytes, bearer: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/api/v1/scans", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_AUTHORIZATION": f"Bearer {bearer}",
        "HTTP_ACCEPT_ENCODING": "gzip", "HTTP_USER_AGENT": "wrk",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def print_by_package(profiler) -> None:
    """Own (not cumulative) CPU time per package, then the 30 costliest functions by own time."""
    import pstats
    from collections import Counter

    stats = pstats.Stats(profiler)
    if os.environ.get("BENCH_PSTATS"):
        stats.dump_stats(os.environ["BENCH_PSTATS"])  # for pstats or snakeviz
    by_package: Counter = Counter()
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        if "site-packages/" in filename:
            package = filename.split("site-packages/")[1].split("/")[0]
        elif "/wzcheckin/" in filename:
            package = "wzcheckin/" + filename.split("/wzcheckin/")[1].split("/")[0]
        elif filename == "~":
            package = f"builtin {name.split(' of ')[-1] if ' of ' in name else name}"[:60]
        else:
            package = filename.rsplit("/", 1)[-1]
        by_package[package] += tottime
    total = sum(by_package.values())
    for package, seconds in by_package.most_common(25):
        print(f"{seconds / total * 100:6.1f} %  {package}")
    stats.sort_stats("tottime").print_stats(30)
    wanted = [w for w in os.environ.get("BENCH_CUMULATIVE", "").split(",") if w]
    for (filename, line, name), (_cc, calls, _tt, cumtime, _callers) in sorted(stats.stats.items(), key=lambda i: -i[1][3]):
        if any(w in f"{filename}:{line}({name})" for w in wanted):
            print(f"{cumtime / total * 100:6.1f} % cumulative  {calls:>7}  {filename.rsplit('/', 2)[-2:]}:{line} {name}")
    for name in os.environ.get("BENCH_CALLERS", "").split(","):
        if name:
            stats.print_callers(name)


def print_statements(app, backend: str, post_scans) -> None:
    """Every statement the app sends while ``post_scans`` runs, as the driver sent it (the tests'
    reader, ``tests.support.statements``: sqlite3's trace, libpq's protocol trace), and on
    PostgreSQL the round trips (each simple ``Query`` and each extended-protocol ``Sync`` waits
    for the server)."""
    from tests.support.statements import statements_sent
    from wzcheckin.extensions import db

    with app.app_context():
        engine = db.engine
    with statements_sent(engine) as sent:
        post_scans()
        statements = sent.take()
    for statement in statements:
        print(f"  {statement[:160]}")
    if backend == "postgresql":
        print(f"  round trips: {sent.round_trips}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=list(KINDS), nargs="?", default="gate")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--limiter", action="store_true", help="rate limiting on (memory://), as in production")
    parser.add_argument("--floor", action="store_true", help="the floor reference (bench/floor_app.py) instead")
    parser.add_argument("--cprofile", action="store_true",
                        help="one more run under cProfile on CPU time: own time per package and the costliest functions")
    parser.add_argument("--pyinstrument", action="store_true", help="print pyinstrument's tree of one more run")
    parser.add_argument("--blocks", action="store_true",
                        help="after the warm-up, serve bench.ab_scans: for each line N on stdin, post N scans "
                             "and print their CPU per scan (seconds) on stdout; an empty line ends")
    parser.add_argument("--statements", type=int, default=0, metavar="K",
                        help="then post K more scans and print every statement each sent to the database "
                             "(SQLite: the driver's trace; PostgreSQL: libpq's protocol trace, round trips counted)")
    args = parser.parse_args(argv)
    single_use = args.kind != "gate"
    workers = args.n * (args.runs + 2) if single_use else args.n  # a reservation or a pack serves once

    with ExitStack() as stack:
        url, worlds = new_scan_world(Databases(stack), args.backend, workers)
        codes = worlds[KINDS[args.kind]]
        os.environ.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": url})
        os.environ.pop("WZCHECKIN_DEV", None)
        if args.limiter:
            os.environ.pop("WZCHECKIN_RATELIMIT_DISABLED", None)
        else:
            os.environ["WZCHECKIN_RATELIMIT_DISABLED"] = "1"
        if args.floor:
            os.environ["BENCH_DATABASE_URL"] = url
            from bench.floor_app import app
        else:
            from wzcheckin import create_app

            app = create_app()
        extra = {"mask": True, "temperature": 36.5} if args.kind == "gate" else {}
        statuses: list[str] = []

        def start_response(status, _headers, _exc_info=None):
            statuses.append(status)

        def post(token: str, scan_id: str) -> bytes:
            body = json.dumps({"token": token, "scan_id": scan_id, **extra}).encode()
            answer = app(environ_for(body, codes.bearer), start_response)
            try:
                return b"".join(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()

        def run(label: str, tokens: list[str]) -> tuple[float, float]:
            bodies = []
            wall, cpu = time.perf_counter(), time.process_time()
            for i, token in enumerate(tokens):
                bodies.append(post(token, f"{label}-{i:08d}"))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            accepted = sum(1 for b in bodies if b'"accepted"' in b)
            if accepted != len(tokens):
                sample = next(b for b in bodies if b'"accepted"' not in b)
                raise SystemExit(f"{label}: {accepted} of {len(tokens)} accepted; e.g. {statuses[-1]} {sample[:300]!r}")
            return cpu / len(tokens), wall / len(tokens)

        all_tokens = codes.tokens()
        part = (lambda r: all_tokens[r * args.n:(r + 1) * args.n]) if single_use else (lambda _r: codes.tokens())
        run("warm", part(0)[: min(200, args.n)])
        if args.blocks:
            print("READY", flush=True)
            for block, line in enumerate(iter(sys.stdin.readline, "")):
                if not line.strip():
                    break
                tokens = part(block + 1)[: int(line)] if single_use else codes.tokens()[: int(line)]
                print(f"CPU {run(f'block{block}', tokens)[0]!r}", flush=True)
            return 0
        figures = [run(f"run{r}", part(r + 1) if single_use else part(r)) for r in range(args.runs)]
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(run, "cprofiled", codes.tokens()[: args.n] if not single_use else part(args.runs + 1))
            print_by_package(profiler)
        if args.pyinstrument:
            from pyinstrument import Profiler

            with Profiler(interval=0.0005) as profiler:
                run("profiled", codes.tokens()[: args.n] if not single_use else part(args.runs + 1))
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.statements:
            print_statements(app, args.backend, lambda: run("traced", (part(args.runs + 1) if single_use
                                                                      else codes.tokens())[: args.statements]))
    cpu = [c * 1000 for c, _w in figures]
    wall = [w * 1000 for _c, w in figures]
    subject = "floor reference" if args.floor else args.kind
    limiter = " (limiter on)" if args.limiter else ""
    log(f"{subject} on {args.backend}{limiter}: {args.n} scans × {args.runs} runs; "
        f"CPU per scan median {statistics.median(cpu):.3f} ms (runs: {', '.join(f'{c:.3f}' for c in cpu)}); "
        f"wall median {statistics.median(wall):.3f} ms; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
