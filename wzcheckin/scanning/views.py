"""Scanning room, pages: the scanner (one page for every kind of staff, phone-first, working
through a signal drop) and its service worker, served from the site root so it may control the
scanner page and the start URL.

Offline design: the service worker caches the page, its scripts, the QR decoder and its
WebAssembly, and ``/api/v1/keys``. The page verifies a code's Ed25519 signature itself
(WebCrypto), shows a provisional answer, and keeps every scan in an IndexedDB outbox under its
``scan_id`` until the server has answered — so an upload retried any number of times records
once (``record_scan`` is idempotent by ``scan_id``).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from wzcheckin.accounts.models import SCANNING_ROLES
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core import context
from wzcheckin.core.auth import current_checkpoint, public, roles_required
from wzcheckin.core.navigation import NavItem
from wzcheckin.core.security import allow_wasm
from wzcheckin.scanning.messages import REASON_MESSAGES, reason_message
from wzcheckin.scanning.models import CheckpointKind

bp = Blueprint("scanning", __name__)

NAV_ITEMS = [
    NavItem(tuple(SCANNING_ROLES), "scanning.scanner", _l("Scanner"), order=10),
]

# Which codes each kind of checkpoint takes: the scanner refuses the others offline as well.
ACCEPTED_KINDS = {
    CheckpointKind.GATE: (TokenKind.PASS, TokenKind.PAPER_PASS),
    CheckpointKind.PICKUP: (TokenKind.PASS, TokenKind.PAPER_PASS),
    CheckpointKind.VENUE: (TokenKind.RESERVATION,),
    CheckpointKind.TRAINING: (TokenKind.PASS, TokenKind.PAPER_PASS),
}

# What the service worker keeps for offline use (static paths), besides the page and the keys.
OFFLINE_ASSETS = (
    "css/app.css",
    "css/scanner.css",
    "js/scanner/codes.js",
    "js/scanner/outbox.js",
    "js/scanner/scanner.js",
    "vendor/barcode-detector/ponyfill.js",
    "vendor/zxing-wasm/zxing_reader.wasm",
    "icons/icon-192.png",
    "icons/icon-512.png",
)
SERVICE_WORKER_SOURCE = "js/scanner/sw.js"

MODE_TITLES = {
    CheckpointKind.GATE: _l("Gate entry"),
    CheckpointKind.PICKUP: _l("Welfare-pack pickup"),
    CheckpointKind.VENUE: _l("Venue entry"),
    CheckpointKind.TRAINING: _l("Training attendance"),
}


def _scanner_text() -> dict:
    """Words the page's script shows, in the reader's language (the page is cached offline
    in the language it was loaded in)."""
    return {
        "reasons": {code: str(message) for code, message in REASON_MESSAGES.items() if "%(" not in str(message)},
        "accepted": str(_l("Accepted")),
        "rejected": str(_l("Refused")),
        "provisional_ok": str(_l("Signature valid. Offline: queued, the server will confirm.")),
        "provisional_unknown": str(_l("Offline: this code cannot be checked here. Queued for the server.")),
        "queued": str(_l("Queued")),
        "queue_empty": str(_l("Nothing waiting to upload.")),
        "queue_count": str(_l("Waiting to upload: %(count)s")),
        "uploaded": str(_l("Uploaded")),
        "changed": str(_l("The server's answer differs from the offline check")),
        "camera_on": str(_l("Camera on: point it at the code")),
        "camera_off": str(_l("Camera off")),
        "camera_failed": str(_l("The camera is not available: use a scanner gun or type the code.")),
        "decoder_loading": str(_l("Loading the code reader…")),
        "enter_temperature": str(_l("Code read: enter the temperature, then press OK.")),
        "login_again": str(_l("Your session has ended: log in again to upload the queued scans.")),
        "online": str(_l("Online: scans go straight to the server")),
        "offline": str(_l("Offline: scans are kept on this phone and uploaded later.")),
        "confirmed": str(_l("Hand-over confirmed")),
        "error": str(_l("The scan could not be recorded: %(message)s")),
        "fever": reason_message("fever", {"temperature": "%(temperature)s"}),
    }


@bp.get("/scan")
@roles_required(*SCANNING_ROLES)
def scanner():
    checkpoint = current_checkpoint()
    programme = context.programme()
    allow_wasm()  # the QR decoder compiles WebAssembly; only this page's CSP allows it
    pickup_point = None
    if checkpoint.kind is CheckpointKind.PICKUP:
        from wzcheckin.extensions import db
        from wzcheckin.welfare.services import point_for_checkpoint

        pickup_point = point_for_checkpoint(db.session, checkpoint)
    config = {
        "mode": str(checkpoint.kind),
        "checkpoint": checkpoint.ref,
        "staff_id": current_user.id,
        "accepted_kinds": [kind.label for kind in ACCEPTED_KINDS.get(checkpoint.kind, ())],
        "kinds": {kind.label: int(kind) for kind in TokenKind},
        "fever_celsius": programme.entry_checks.fever_celsius,
        "mask_required": programme.entry_checks.mask_required,
        "offline_max_age_hours": programme.programme.offline_scan_max_age_hours,
        "urls": {
            "scans": url_for("api.post_scan"),
            "keys": url_for("api.public_keys"),
            "session": url_for("scanning.scanner_session"),
            "confirm": url_for("api.confirm_pickup", scan_id="SCAN_ID").replace("SCAN_ID", "{scan_id}"),
            "service_worker": url_for("scanning.service_worker"),
            "decoder": url_for("static", filename="vendor/barcode-detector/ponyfill.js"),
            "wasm": url_for("static", filename="vendor/zxing-wasm/zxing_reader.wasm"),
            "login": url_for("accounts.login"),
        },
        "text": _scanner_text(),
    }
    return render_template("scanning/scanner.html", checkpoint=checkpoint, config=config,
                           mode_title=MODE_TITLES.get(checkpoint.kind, checkpoint.kind),
                           pickup_point=pickup_point, is_gate=checkpoint.kind is CheckpointKind.GATE)


@bp.get("/scan/session")
@roles_required(*SCANNING_ROLES)
def scanner_session():
    """A fresh CSRF token before an upload (the cached page's may belong to an older session),
    and who is logged in, so a queue is only ever uploaded by the staff member who scanned it."""
    checkpoint = current_checkpoint()
    return jsonify({"csrf_token": generate_csrf(), "staff_id": current_user.id, "checkpoint": checkpoint.ref})


@lru_cache(maxsize=4)
def _service_worker_body(static_folder: str, mtimes: tuple[float, ...], urls: tuple[str, ...],
                         pages: tuple[str, ...]) -> str:
    root = Path(static_folder)
    digest = hashlib.sha256()
    for name in (*OFFLINE_ASSETS, SERVICE_WORKER_SOURCE):
        path = root / name
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    prelude = (
        "// Generated by wzcheckin.scanning.views.service_worker: asset list and version.\n"
        f"const VERSION = {json.dumps(digest.hexdigest()[:16])};\n"
        f"const PRECACHE = {json.dumps(list(urls))};\n"
        f"const SCANNER_PATH = {json.dumps(pages[0])};\n"
        f"const KEYS_PATH = {json.dumps(pages[1])};\n"
        f"const SESSION_PATH = {json.dumps(pages[2])};\n"
    )
    return prelude + (root / SERVICE_WORKER_SOURCE).read_text(encoding="utf-8")


@bp.get("/sw.js")
@public
def service_worker():
    """The scanner's service worker, at the root so its scope covers the scanner and ``/``."""
    static_folder = current_app.static_folder
    paths = [Path(static_folder) / name for name in (*OFFLINE_ASSETS, SERVICE_WORKER_SOURCE)]
    mtimes = tuple(path.stat().st_mtime if path.exists() else 0.0 for path in paths)
    urls = tuple(url_for("static", filename=name) for name in OFFLINE_ASSETS)
    pages = (url_for("scanning.scanner"), url_for("api.public_keys"), url_for("scanning.scanner_session"))
    body = _service_worker_body(static_folder, mtimes, urls, pages)
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response

