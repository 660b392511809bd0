"""Scanning room, pages: the scanner (one page for every kind of staff, phone-first, working
through a signal drop) and its service worker, served from the site root so it may control the
scanner page and the start URL.

Offline design: the service worker caches the page, its scripts, the QR decoder (jsQR) and the
worker that runs it, and ``/api/v1/keys``. The page verifies a code's Ed25519 signature itself
(WebCrypto), shows a provisional answer, and keeps every scan in an IndexedDB outbox under its
``scan_id`` until the server has answered — so an upload retried any number of times records
once (``record_scan`` is idempotent by ``scan_id``). Where the browser has no native Ed25519
(before Chrome 137) the vendored @noble/ed25519 checks signatures instead.

Shared phones: each queued scan belongs to the account that made it and is sealed with that
account's *outbox key* (:func:`outbox_key`, given to the page only while the account is logged
in), so the next gatekeeper on the phone sees how many scans of another account wait, cannot read
them and cannot upload them as their own. Logging out forgets the page's answers and the cached
scanner page (the page and the service worker both see the log-out).

Time: scans are stamped on the server's timeline. The page measures the offset between the
device's clock and the server's (``/scan/time``, which reads ``clock.now()`` — the simulated
clock of the demo too, which an HTTP ``Date`` header would not) and warns staff when the device
is more than a minute off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache, wraps
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from wzcheckin import clock
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core import context
from wzcheckin.core.api_errors import error_response
from wzcheckin.core.auth import current_checkpoint, public, roles_required
from wzcheckin.core.navigation import NavItem
from wzcheckin.core.readings import TEMPERATURE_RANGE
from wzcheckin.core.roles import SCANNING_ROLES
from wzcheckin.core.room import app_rooms
from wzcheckin.directory.models import CheckpointKind
from wzcheckin.extensions import db
from wzcheckin.scanning.messages import REASON_MESSAGES, reason_message

bp = Blueprint("scanning", __name__)

NAV_ITEMS = [
    NavItem(tuple(SCANNING_ROLES), "scanning.scanner", _l("Scanner")),
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
    "js/scanner/qr-worker.js",
    "vendor/noble-ed25519/ed25519.js",
    "vendor/jsqr/jsQR.js",
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
        # Gate input is questioned before it is sent (issue 16 item 8): a typo such as 3.65 or 65
        # is not a body temperature; an unusual one and an unticked mask need a second OK.
        "temperature_impossible": str(_l("%(temperature)s °C is not a body temperature: enter it again "
                                         "(for example 36.5), then press OK.")),
        "temperature_unusual": str(_l("%(temperature)s °C is unusual: measure again, or press OK once more "
                                      "to send it as it is.")),
        "mask_unticked": str(_l("“Wearing a mask” is not ticked: tick it, or press OK once more to refuse "
                                "entry for no mask.")),
        "online": str(_l("Online: scans go straight to the server")),
        "offline": str(_l("Offline: scans are kept on this phone and uploaded later.")),
        "confirmed": str(_l("Hand-over confirmed")),
        "error": str(_l("The scan could not be recorded: %(message)s")),
        "fever": reason_message("fever", {"temperature": "%(temperature)s"}),
        # Offline, nothing has been reported yet: the report goes with the upload.
        "fever_offline": str(_l("Temperature %(temperature)s °C: entry refused. Advise the fever clinic; "
                                 "it is reported when this scan is uploaded.")),
        "symptoms_offline": str(_l("Symptoms reported: entry refused. Advise the fever clinic; "
                                   "it is reported when this scan is uploaded.")),
        "booking_needed": str(_l("This is a worker's pass: venue entry needs the booking code "
                                 "(the QR code of the reservation, under My bookings).")),
        "others_waiting": str(_l("%(count)s scans by another account wait to be uploaded: "
                                 "they are uploaded when that account logs in again.")),
        "unreadable": str(_l("%(count)s of your queued scans cannot be opened on this phone.")),
        "session_note": str(_l("Queued: log in again to upload it.")),
        "clock_off": str(_l("This phone's clock is off by more than a minute (server time %(time)s). "
                            "Scans are stamped with the server's time; please correct the phone's date and time.")),
        "clock_note": str(_l("Queued: it is sent again when the server's clock allows.")),
        "confirm_failed": str(_l("The hand-over was not confirmed: %(message)s")),
        "camera_unsupported": str(_l("This phone's browser cannot run the camera code reader. "
                                     "Use a scanner gun or type the code below.")),
        "offline_checks_unavailable": str(_l("This browser cannot check signatures offline: offline "
                                             "scans are queued for the server to judge.")),
    }


def outbox_key(user) -> str:
    """The account's key for its queued scans on a phone (AES-256-GCM, base64url): derived from
    the app's secret key and the account number, so it is the same on every phone and after
    every log-in — the account's own queue can always be opened again, another's never."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(secret, f"wzcheckin scanner outbox v1:{user.id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _json_when_logged_out(view):
    """The page's background calls get a JSON 401 when the session has ended, not the log-in
    page — and leave the log-in's "next" alone, so logging in returns to the scanner."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return error_response(401, "unauthorised", str(_l("Your session has ended: log in again.")))
        return view(*args, **kwargs)

    return wrapped


@bp.get("/scan")
@roles_required(*SCANNING_ROLES)
def scanner():
    checkpoint = current_checkpoint()
    programme = context.programme()
    # What the rooms add about their own checkpoints (the packs left at a pickup point).
    extras = {key: value for room in app_rooms() if room.scanner_context is not None
              for key, value in room.scanner_context(db.session, checkpoint).items()}
    config = {
        "mode": str(checkpoint.kind),
        "checkpoint": checkpoint.ref,
        "staff_id": current_user.id,
        "accepted_kinds": [kind.label for kind in ACCEPTED_KINDS.get(checkpoint.kind, ())],
        "kinds": {kind.label: int(kind) for kind in TokenKind},
        "fever_celsius": programme.entry_checks.fever_celsius,
        "mask_required": programme.entry_checks.mask_required,
        "temperature_range": [float(bound) for bound in TEMPERATURE_RANGE],  # what the API accepts
        "offline_max_age_hours": programme.programme.offline_scan_max_age_hours,
        "timezone": programme.programme.timezone,
        "outbox_key": outbox_key(current_user),
        "urls": {
            "scans": url_for("api.post_scan"),
            "keys": url_for("api.public_keys"),
            "session": url_for("scanning.scanner_session"),
            "time": url_for("scanning.server_time"),
            "scanner": url_for("scanning.scanner"),
            "logout": url_for("accounts.logout"),
            "confirm": url_for("api.confirm_pickup", scan_id="SCAN_ID").replace("SCAN_ID", "{scan_id}"),
            "service_worker": url_for("scanning.service_worker"),
            # Where the browser has no native BarcodeDetector: jsQR, in a worker of ours.
            "decoder": url_for("static", filename="vendor/jsqr/jsQR.js"),
            "decoder_worker": url_for("static", filename="js/scanner/qr-worker.js"),
            "login": url_for("accounts.login"),
        },
        "text": _scanner_text(),
    }
    venue_today = url_for("venues.staff_today") if checkpoint.kind is CheckpointKind.VENUE else None
    return render_template("scanning/scanner.html", checkpoint=checkpoint, config=config, venue_today=venue_today,
                           mode_title=MODE_TITLES.get(checkpoint.kind, checkpoint.kind),
                           is_gate=checkpoint.kind is CheckpointKind.GATE, **extras)


@bp.get("/scan/session")
@_json_when_logged_out
@roles_required(*SCANNING_ROLES)
def scanner_session():
    """A fresh CSRF token before an upload (the cached page's may belong to an older session),
    and who is logged in with their outbox key, so a queue is only ever uploaded by the staff
    member who scanned it."""
    checkpoint = current_checkpoint()
    return jsonify({"csrf_token": generate_csrf(), "staff_id": current_user.id, "checkpoint": checkpoint.ref,
                    "outbox_key": outbox_key(current_user)})


@bp.get("/scan/time")
@public
def server_time():
    """The server's "now" (the simulated clock's, in the demo), for the scanner to stamp scans on
    the server's timeline whatever the phone's clock says. Public: it tells nothing but the time."""
    now = clock.now()
    response = jsonify({"now": now.isoformat(), "epoch_ms": int(now.timestamp() * 1000)})
    response.headers["Cache-Control"] = "no-store"
    return response


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
        f"const LOGOUT_PATH = {json.dumps(pages[3])};\n"
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
    pages = (url_for("scanning.scanner"), url_for("api.public_keys"), url_for("scanning.scanner_session"),
             url_for("accounts.logout"))
    body = _service_worker_body(static_folder, mtimes, urls, pages)
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response

