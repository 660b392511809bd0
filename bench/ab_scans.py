"""Before/after CPU per scan in alternating blocks: ``python -m bench.ab_scans BEFORE_DIR AFTER_DIR
[gate|pickup|venue] [--backend …] [--rounds 15] [--block 300]``.

On a shared box a whole ``bench.cpu_scans`` run of one version and then of the other lands in
different neighbours' load, and the CPU per scan moves ±20–40 % between runs of the same code.
Here both versions (two checkouts of the repository, each imported from its own directory) are
set up once, side by side, as ``bench.cpu_scans --blocks`` processes; then the driver asks each in
turn for a block of scans, so every before-block has an after-block seconds away under the same
load. Prints each version's median CPU per scan and the median of the paired differences.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def start(directory: str, kind: str, backend: str, block: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": directory}
    command = [sys.executable, "-m", "bench.cpu_scans", kind, "-n", str(block), "--runs", "1",
               "--backend", backend, "--blocks"]
    log = tempfile.NamedTemporaryFile("w+", prefix="ab_scans-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, cwd=directory, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    process.log_path = log.name
    return process


def read_line(process: subprocess.Popen, prefix: str) -> str:
    for line in process.stdout:
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    tail = Path(process.log_path).read_text()[-2000:]
    raise SystemExit(f"{process.args}: ended before {prefix!r} (exit {process.wait()}); its log ends:\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("kind", nargs="?", default="gate", choices=["gate", "pickup", "venue"])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block", type=int, default=300, help="scans per block")
    args = parser.parse_args(argv)
    processes = {"before": start(args.before, args.kind, args.backend, args.block),
                 "after": start(args.after, args.kind, args.backend, args.block)}
    try:
        for process in processes.values():
            read_line(process, "READY")
        figures: dict[str, list[float]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            # Alternate which goes first, so neither always follows the other's cache footprint.
            for name in (("before", "after") if round_ % 2 == 0 else ("after", "before")):
                process = processes[name]
                process.stdin.write(f"{args.block}\n")
                process.stdin.flush()
                figures[name].append(float(read_line(process, "CPU ")) * 1000)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.stdin.write("\n")
                process.stdin.flush()
                process.wait(timeout=120)
            Path(process.log_path).unlink(missing_ok=True)
    if os.environ.get("BENCH_AB_VERBOSE"):
        for name, values in figures.items():
            print(f"{name}: {' '.join(f'{v:.2f}' for v in values)}")
    before, after = statistics.median(figures["before"]), statistics.median(figures["after"])
    paired = statistics.median(a - b for b, a in zip(figures["before"], figures["after"], strict=True))
    print(f"{args.kind} on {args.backend}: {args.rounds} rounds × {args.block} scans; CPU per scan median "
          f"before {before:.3f} ms, after {after:.3f} ms ({(after - before) / before * 100:+.1f} %); "
          f"paired difference median {paired:+.3f} ms; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
