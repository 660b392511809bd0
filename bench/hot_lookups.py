"""The scan path's look-ups one by one, old way against new, in-process:
``python -m bench.hot_lookups [-n 2000] [--rounds 7] [--backend sqlite|postgresql]``.

CPU time (``time.process_time``) per call, in alternating blocks of ``n`` calls (old, new, old,
new, …), median over ``--rounds``: a step's gain measured apart from the whole scan, whose CPU
time moves ±15 % with the neighbours' load on a shared box. Pairs: the bearer token's ORM user
(``authenticate_api_token``) against the ``ApiPrincipal`` row; the pass's ORM worker
(``resolve_pass``) against the ``PassHolder`` row; a scan answer through Flask's standard-library
``jsonify`` against orjson (when orjson is installed: it is not a dependency — tried for issue
17, no gain). Each look-up runs in a fresh session, as each request does, so every figure
includes a session's begin and end: compare the pairs' differences, not the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack

from bench.__main__ import Databases, log, new_scan_world
from tests.support.servers import TEST_ENV


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        url, worlds = new_scan_world(Databases(stack), args.backend, args.n)
        codes = worlds["gate"]
        os.environ.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": url, "WZCHECKIN_RATELIMIT_DISABLED": "1"})
        os.environ.pop("WZCHECKIN_DEV", None)
        try:
            import orjson
        except ImportError:
            orjson = None
        from flask.json.provider import DefaultJSONProvider

        from wzcheckin import clock, create_app
        from wzcheckin.accounts.api_tokens import (
            authenticate_api_principal,
            authenticate_api_token,
            principal_statement,
            token_statement,
        )
        from wzcheckin.codes.keys import keys_fingerprint_columns
        from wzcheckin.codes.passes import resolve_pass, resolve_pass_holder
        from wzcheckin.extensions import db

        app = create_app()
        user_statement = token_statement(keys_fingerprint_columns())
        row_statement = principal_statement(keys_fingerprint_columns())
        answer = {"scan_id": "0123456789abcdef0123456789abcdef", "result": "accepted", "reason": "entry_allowed",
                  "message": "准许进入", "subject": {"type": "worker", "name": "张*", "enterprise": "温州某某鞋业有限公司"},
                  "scanned_at": "2021-02-05T09:00:00+00:00", "replayed": False, "final": True}
        options = orjson and orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE

        with app.app_context():
            now = clock.now()
            keyring = codes.keyring
            claims = [keyring.verify(token, now) for token in codes.tokens()[: args.n]]
            bearer = codes.bearer

            def per_call(call, items) -> float:
                cpu = time.process_time()
                for item in items:
                    call(item)
                    db.session.remove()
                return (time.process_time() - cpu) / len(items) * 1e6

            pairs = {
                "bearer: ORM user (+checkpoint)": lambda _i: authenticate_api_token(db.session, bearer, now,
                                                                                    statement=user_statement),
                "bearer: ApiPrincipal row": lambda _i: authenticate_api_principal(db.session, bearer, now,
                                                                                  statement=row_statement),
                "pass: ORM worker (+user, employer)": lambda c: resolve_pass(db.session, c),
                "pass: PassHolder row": lambda c: resolve_pass_holder(db.session, c),
                "answer: jsonify (json)": lambda _i: app.json.response(answer),
            }
            if orjson is not None:
                pairs["answer: orjson"] = lambda _i: app.response_class(
                    orjson.dumps(answer, default=DefaultJSONProvider.default, option=options),
                    mimetype="application/json")
            figures: dict[str, list[float]] = {name: [] for name in pairs}
            for call in pairs.values():  # warm
                per_call(call, claims[:100])
            for _round in range(args.rounds):
                for name, call in pairs.items():
                    figures[name].append(per_call(call, claims))
        for name, values in figures.items():
            log(f"{args.backend} {name}: median {statistics.median(values):.1f} µs CPU per call "
                f"(rounds: {', '.join(f'{v:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
