"""Where a gate scan's CPU goes under load: ``python -m bench.scan_cpu_split [--backend …]
[--seconds 5] [--connections 16,64] [--servers floor,app] [--rounds 1]``.

The floor reference and the app under gunicorn (2 sync workers, as ``python -m bench``), each
driven by wrk with the same passes; for each run: requests per second, p99, and per request the
CPU time of gunicorn's processes, of the PostgreSQL server's, of wrk, and the box's idle time
(``/proc``). Idle cores while wrk keeps every connection busy mean the app waits on something
other than the CPU — on SQLite, its workers queueing for the write lock.

Run it from each checkout to compare versions (``PYTHONPATH`` set to that checkout); on a shared
box alternate them and quote medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from bench.__main__ import WORK, Databases, _tree_cpu_seconds, log, new_scan_world, wrk
from tests.support.servers import GunicornServer

GATE_EXTRA = ',"mask":true,"temperature":36.5'


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on the box (the benchmark's cluster)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            if (process / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue  # ended meanwhile
    return total


def idle_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait, all cores


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--servers", default="floor,app")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=16_000, help="distinct passes")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url, worlds = new_scan_world(Databases(stack), args.backend, args.workers)
        gate = worlds["gate"]
        passes = WORK / f"split-{args.backend}.txt"
        servers = {
            "app": GunicornServer(url, workers=2, threads=1, log_path=WORK / "split-app.log"),
            "floor": GunicornServer(url, workers=2, threads=1, log_path=WORK / "split-floor.log",
                                    app_spec="bench.floor_app:app", env={"BENCH_DATABASE_URL": url},
                                    config=None, extra_args=["--preload"]),
        }
        for round_ in range(args.rounds):
            for connections in (int(c) for c in args.connections.split(",")):
                for name in args.servers.split(","):
                    server = servers[name].start()
                    extra = {"bearer": gate.bearer, "extra": GATE_EXTRA} if name == "app" else {}
                    prefix = f"s{round_}{name}{connections}"
                    wrk(server.base_url, gate.file(passes), connections=connections, seconds=1,
                        prefix=prefix + "w", **extra)
                    before = (_tree_cpu_seconds(server.process.pid), postgres_cpu_seconds(),
                              children_cpu_seconds(), idle_seconds(), time.monotonic())
                    run = wrk(server.base_url, gate.file(passes), connections=connections, seconds=args.seconds,
                              prefix=prefix, **extra)
                    after = (_tree_cpu_seconds(server.process.pid), postgres_cpu_seconds(),
                             children_cpu_seconds(), idle_seconds(), time.monotonic())
                    server.stop()
                    gunicorn, postgres, wrk_cpu, idle, wall = (b - a for a, b in zip(before, after, strict=True))
                    n = run["requests"]
                    print(f"{args.backend} {name:5} {connections:>3} conns: {run['rps']:7.1f} req/s, "
                          f"p99 {run['p99_us'] / 1000:6.1f} ms; per request: gunicorn {gunicorn / n * 1000:.3f} ms, "
                          f"PostgreSQL {postgres / n * 1000:.3f} ms, wrk {wrk_cpu / n * 1000:.3f} ms; "
                          f"idle cores {idle / wall:.2f}; 5xx {run['status_5xx']}", flush=True)
    log(f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
