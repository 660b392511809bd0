"""Bad input, long: ``python -m bench.fuzz [--examples N] [--properties N] [--backends sqlite,postgresql]``.

1. Schemathesis against ``/api/v1/openapi.json`` of a live gunicorn (the access-matrix world, a
   bearer token per role), ``--examples`` valid and as many schema-breaking requests per
   operation, plus the boundary values of every parameter (tests/security/test_openapi_fuzz.py
   with bigger numbers).
2. The hypothesis properties of every validator, parser, importer and programme file, and the
   invariants state machine, with ``--properties`` examples each (tests/security/test_parsers.py
   and test_invariants.py, run by pytest with bigger numbers).

Prints the figures and every failure; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crash import Databases, app_context, log  # noqa: E402
from tests.support.servers import GunicornServer, run_cli  # noqa: E402


def openapi_round(url: str, examples: int, seed: int) -> dict:
    from tests.security.test_openapi_fuzz import fuzz
    from tests.security.world import build_world
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    with app_context(url):
        world = build_world(db.session, context.vault(), context.programme(),
                            load_keyring(db.session, context.vault()))
        tokens = {p.role: p.token for p in world.principals() if p.token}
        db.session.remove()
        db.engine.dispose()
    log_path = ROOT / "bench" / ".work" / "fuzz-gunicorn.log"
    server = GunicornServer(url, workers=2, threads=4, log_path=log_path).start()
    try:
        result = fuzz(server.base_url, tokens, examples, seed=seed)
    finally:
        server.stop()
    tracebacks = server.log_text().count("Traceback")
    if tracebacks:
        result["failures"].append(f"{tracebacks} traceback(s) in the server log {log_path}")
    return result


def properties(backends: str, examples: int) -> dict:
    env = {**os.environ, "WZCHECKIN_FUZZ_EXAMPLES": str(examples),
           "WZCHECKIN_STATE_MACHINE_EXAMPLES": str(max(20, examples // 10))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--backends", backends,
               "tests/security/test_parsers.py", "tests/security/test_invariants.py"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=6 * 3600)
    tail = [line for line in result.stdout.splitlines() if line.strip()][-3:]
    return {"passed": result.returncode == 0, "summary": tail, "examples_per_property": examples,
            "output": result.stdout[-6000:] if result.returncode else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="schemathesis cases per operation and mode")
    parser.add_argument("--properties", type=int, default=3000, help="hypothesis examples per property")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=20210228)
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    report, failed = {}, False
    with ExitStack() as stack:
        databases = Databases(stack)
        for backend in backends:
            url = databases.new(backend)
            run_cli(url, "init")
            log(f"{backend}: schemathesis, {args.examples} cases per operation and mode…")
            result = openapi_round(url, args.examples, args.seed)
            report[f"{backend} schemathesis"] = result["figures"]
            if result["failures"]:
                failed = True
                report[f"{backend} schemathesis failures"] = sorted(set(result["failures"]))
    log(f"hypothesis properties, {args.properties} examples each…")
    outcome = properties(",".join(backends), args.properties)
    report["hypothesis"] = outcome
    failed = failed or not outcome["passed"]
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
