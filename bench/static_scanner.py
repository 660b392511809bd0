"""A small, cached scanner (issue 17.3): the gatekeeper's scanner page on Slow 3G (400 ms,
400 kbit/s each way, Chrome DevTools' profile through CDP Network.emulateNetworkConditions) in
Debian's headless Chromium whose fake camera shows a pass's QR code, from an empty cache to the
first successful camera read (the decoder loaded and the pass decoded from a camera frame: at a
gate the page then asks for the temperature, ``body.awaiting-temperature``); then a second visit
with the cache warm.

Until 3 Dec 2026 the figure stopped at ``body[data-camera=live]`` (the decoder loaded, the camera
started), not at a decoded frame: Chromium's default fake camera shows no QR code at all.

Bytes are the response bodies as sent (Brotli/gzip), counted from gunicorn's access log, so the
server sees every request; headers are not counted (the number of requests is given).

Two set-ups, both on a real gunicorn with SQLite: ``unbuilt`` (no `wzcheckin assets build`: hashed
names, nothing precompressed) and ``built`` (after the build: Brotli and gzip siblings).
Targets: first camera scan ≤ 6 s; second visit ≤ 15 KB.

    python -m bench.static_scanner [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.builders import make_credit_code  # noqa: E402
from tests.scanning.test_scanner_browser import write_y4m  # noqa: E402
from tests.support.browser import CHROMIUM  # noqa: E402
from tests.support.cli import run_cli  # noqa: E402
from tests.support.servers import GunicornServer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * 1000 / 8, "uploadThroughput": 400 * 1000 / 8}
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}
GATEKEEPER = ("13957720991", "slow-3g-bench-2021")
ACCESS = re.compile(r"^ACCESS (\S+) (\S+) (\d{3}) (\d+|-)$")
DEBUG = False
TARGET_SECONDS, TARGET_SECOND_VISIT_BYTES = 6.0, 15 * 1024


def _camera_clip(tmp: Path) -> Path:
    """The fake camera's clip: a pass's QR code (a real token's length and alphabet, signed by a
    throw-away key: the page reads it from the frame and asks for the temperature; it is never
    sent)."""
    from wzcheckin.codes import tokens

    now = datetime.now(UTC)
    token = tokens.sign(Ed25519PrivateKey.generate(), 1, tokens.TokenKind.PASS, "0123456789abcdef",
                        now + timedelta(minutes=5), issued_at=now)
    clip = tmp / "pass.y4m"
    write_y4m(clip, token)
    return clip


def _database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    run_cli(url, "init")
    credit_code = make_credit_code()
    enterprises = tmp / "enterprises.csv"
    with enterprises.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["credit_code", "name", "district", "ownership", "industrial", "admin_phone"])
        writer.writerow([credit_code, "温州测速鞋业有限公司", "鹿城区", "private", "yes", ""])
    run_cli(url, "import", "enterprises", str(enterprises))
    run_cli(url, "user", "create", "--role", "gatekeeper", "--phone", GATEKEEPER[0], "--password", GATEKEEPER[1],
            "--checkpoint", f"gate:{credit_code}")
    return url


def _bytes_since(log: Path, offset: int) -> tuple[int, int, list[str]]:
    total, count, lines = 0, 0, []
    with log.open("rb") as handle:
        handle.seek(offset)
        for raw in handle.read().decode("utf-8", "replace").splitlines():
            match = ACCESS.match(raw.strip())
            if match:
                count += 1
                size = 0 if match[4] == "-" else int(match[4])
                total += size
                lines.append(f"{match[3]} {size:>8} {match[2]}")
    return total, count, lines


def _log_in(context, base_url: str) -> None:
    page = context.request.get(base_url + "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text()).group(1)
    response = context.request.post(base_url + "/login", form={"csrf_token": token, "phone": GATEKEEPER[0],
                                                               "password": GATEKEEPER[1]},
                                    headers={"Referer": base_url + "/login"})
    assert response.ok, response.status


def _visit(context, server, log: Path) -> tuple[float, int, int, list[str]]:
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    time.sleep(0.5)  # the access log of anything before this visit is flushed
    offset = log.stat().st_size
    started = time.monotonic()
    finished = {}
    cdp.on("Network.responseReceived", lambda event: finished.setdefault("urls", {}).__setitem__(
        event["requestId"], event["response"]["url"].rsplit("/", 1)[-1]))
    cdp.on("Network.loadingFinished", lambda event: finished.setdefault("done", []).append(
        (round(time.monotonic() - started, 2), finished.get("urls", {}).get(event["requestId"]), event["encodedDataLength"])))
    page.goto(server.base_url + "/scan", wait_until="commit")
    # The first pass read from a camera frame: a gate then asks for the temperature.
    page.locator("body.awaiting-temperature").wait_for(timeout=120_000)
    elapsed = time.monotonic() - started
    if DEBUG:
        print(elapsed, finished.get("done"), file=sys.stderr)
    time.sleep(1.5)  # late requests (none expected) are counted too
    total, count, lines = _bytes_since(log, offset)
    page.close()
    return elapsed, total, count, lines


def run(runs: int, built: bool) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="wzc-static-bench-") as folder:
        tmp = Path(folder)
        url = _database(tmp)
        build_dir = tmp / "static-build"
        if built:
            run_cli(url, "assets", "build", "--to", str(build_dir))
        log = tmp / "gunicorn.log"
        server = GunicornServer(url, workers=2, log_path=log, env={"WZCHECKIN_STATIC_BUILD_DIR": str(build_dir)},
                                extra_args=["--access-logfile", "-", "--access-logformat",
                                            "ACCESS %(m)s %(U)s %(s)s %({content-length}o)s"]).start()
        firsts, first_bytes, seconds, second_bytes, detail = [], [], [], [], {}
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=[*ARGS, f"--use-file-for-fake-video-capture={_camera_clip(tmp)}"])
                for _ in range(runs):
                    # An empty cache each run. Service workers blocked: CDP's throttling applies to the
                    # page's target only, so a service worker's precache would fetch the decoder
                    # unthrottled and the page would then read it from the worker's cache. Without
                    # it, both visits measure what the HTTP cache alone does (hashed names, immutable).
                    context = browser.new_context(**PHONE, service_workers="block")
                    context.grant_permissions(["camera"], origin=server.base_url)
                    # Phones without a native BarcodeDetector (most) compile the WebAssembly decoder.
                    context.add_init_script("delete window.BarcodeDetector;")
                    _log_in(context, server.base_url)
                    elapsed, total, count, lines = _visit(context, server, log)
                    firsts.append(elapsed)
                    first_bytes.append(total)
                    detail["first"] = {"requests": count, "responses": lines}
                    elapsed, total, count, lines = _visit(context, server, log)
                    seconds.append(elapsed)
                    second_bytes.append(total)
                    detail["second"] = {"requests": count, "responses": lines}
                    context.close()
                browser.close()
        finally:
            server.stop()
    return {
        "setup": "built" if built else "unbuilt",
        "runs": runs,
        "first_camera_scan_s": {"median": round(statistics.median(firsts), 2), "all": [round(v, 2) for v in firsts],
                                "target": TARGET_SECONDS},
        "first_visit_bytes": {"median": int(statistics.median(first_bytes))},
        "second_camera_scan_s": {"median": round(statistics.median(seconds), 2)},
        "second_visit_bytes": {"median": int(statistics.median(second_bytes)), "target": TARGET_SECOND_VISIT_BYTES},
        "last_run": detail,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--setup", choices=("built", "unbuilt", "both"), default="both")
    args = parser.parse_args()
    setups = {"built": [True], "unbuilt": [False], "both": [False, True]}[args.setup]
    results = [run(args.runs, built) for built in setups]
    out = ROOT / "bench" / "results" / "static_scanner.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    for result in results:
        print(f"{result['setup']:>8}: first camera scan {result['first_camera_scan_s']['median']} s "
              f"(target ≤ {TARGET_SECONDS} s), first visit {result['first_visit_bytes']['median'] / 1024:.1f} KB; "
              f"second visit {result['second_visit_bytes']['median'] / 1024:.1f} KB "
              f"(target ≤ {TARGET_SECOND_VISIT_BYTES // 1024} KB), camera scan {result['second_camera_scan_s']['median']} s")


if __name__ == "__main__":
    main()
