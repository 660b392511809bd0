"""Codes room, pages: the worker's pass, which rotates in place before it expires and keeps
working without signal (a service worker keeps the page, and the page keeps passes signed ahead);
and the paper pass that enterprise admins and officials print for workers without a smartphone.

Offline design (离线通行码). ``/me/pass/batch`` signs the rotating passes of the coming hours
(``[offline_pass]`` in the programme file); the page keeps them, with the offset between the
phone's clock and the server's, in the cache ``wzc-pass-data`` and shows the freshest one valid
now, redrawing the QR from its modules, under a running clock and a moving band so a screenshot is
recognisable. The service worker (``/me/pass-sw.js``, scope ``/me/pass``) answers the page from
the cache when the network fails. What it keeps belongs to the account that loaded it: a log-out
posted from the pass page is seen by the service worker, and every page shown to nobody logged in
(the log-in page a log-out lands on) runs ``js/pass/forget.js``, which deletes the cache — so the
next person on the phone finds nothing of it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from wzcheckin import clock
from wzcheckin.accounts.lookups import find_worker_by_id_number
from wzcheckin.accounts.models import Worker
from wzcheckin.codes.context import current_keyring
from wzcheckin.codes.models import PaperPass
from wzcheckin.codes.passes import IssuedPass, current_pass, issue_paper_pass, passes_ahead
from wzcheckin.codes.qr import qr_bits, qr_svg
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_enterprise, current_worker, public, roles_required
from wzcheckin.core.i18n import field_error
from wzcheckin.core.identity import InvalidIdentifier, parse_id_number
from wzcheckin.core.navigation import NavItem
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db

bp = Blueprint("codes", __name__)

NAV_ITEMS = [
    NavItem((Role.OFFICIAL,), "codes.official_paper_pass", _l("Paper passes")),
]

# What the pass's service worker keeps for offline use (static names), besides the page.
OFFLINE_ASSETS = ("css/app.css", "css/codes.css", "js/pass/pass.js", "icons/icon-192.png")
SERVICE_WORKER_SOURCE = "js/pass/sw.js"


def _epoch_ms(instant) -> int:
    return int(instant.timestamp() * 1000)


def _owner(worker) -> str:
    """Whose passes a phone keeps (opaque): a kept batch of another account is never shown."""
    return hashlib.sha256(f"wzcheckin pass owner:{worker.public_id}".encode()).hexdigest()[:16]


def _pass_payload(worker) -> dict:
    issued = current_pass(worker, current_keyring(), context.programme(), clock.now())
    return {
        "token": issued.token,
        "expires_at": issued.expires_at.isoformat(),
        "ttl_seconds": context.programme().programme.pass_ttl_seconds,
        # The image has a name; the 100-odd characters of the token are never read out.
        "svg": str(qr_svg(issued.token, title=str(_("My pass: a QR code for staff to scan")))),
    }


@bp.get("/me/pass")
@roles_required(Role.WORKER)
def pass_page():
    worker = current_worker()
    programme = context.programme()
    now = clock.now()
    return render_template("codes/pass.html", worker=worker, pass_=_pass_payload(worker), owner=_owner(worker),
                           server_now_ms=_epoch_ms(now), timezone=programme.programme.timezone,
                           clock_text=now.astimezone(programme.tz).strftime("%H:%M:%S"),
                           offline_hours=programme.offline_pass.hours_ahead)


@bp.get("/me/pass/refresh")
@roles_required(Role.WORKER)
def pass_refresh():
    """The page's script fetches this before the pass expires and swaps the QR in place."""
    return jsonify(_pass_payload(current_worker()))


def _batch_entry(issued: IssuedPass) -> dict:
    size, modules = qr_bits(issued.token)
    return {"token": issued.token, "valid_from_ms": _epoch_ms(issued.issued_at),
            "expires_ms": _epoch_ms(issued.expires_at), "size": size, "modules": modules}


@bp.get("/me/pass/batch")
@roles_required(Role.WORKER)
def pass_batch():
    """The passes of the coming hours, signed now, for the phone to show in turn offline."""
    programme = context.programme()
    now = clock.now()
    worker = current_worker()
    passes = passes_ahead(worker, current_keyring(), programme, now)
    response = jsonify({
        "owner": _owner(worker),
        "server_now_ms": _epoch_ms(now),
        "ttl_seconds": programme.programme.pass_ttl_seconds,
        "rotate_every_seconds": programme.offline_pass.rotate_every_seconds,
        "passes": [_batch_entry(issued) for issued in passes],
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@lru_cache(maxsize=4)
def _service_worker_body(static_folder: str, source_digest: str, urls: tuple[str, ...], pages: tuple[str, ...]) -> str:
    version = hashlib.sha256(json.dumps([source_digest, urls, pages]).encode()).hexdigest()[:16]
    prelude = (
        "// Generated by wzcheckin.codes.views.pass_service_worker: asset list and version.\n"
        f"const VERSION = {json.dumps(version)};\n"
        f"const PRECACHE = {json.dumps(list(urls))};\n"
        f"const PAGE_PATH = {json.dumps(pages[0])};\n"
        f"const LOGOUT_PATH = {json.dumps(pages[1])};\n"
    )
    return prelude + (Path(static_folder) / SERVICE_WORKER_SOURCE).read_text(encoding="utf-8")


@bp.get("/me/pass-sw.js")
@public
def pass_service_worker():
    """The pass page's service worker; its scope is ``/me/pass`` (beside the scanner's at ``/``)."""
    assets = current_app.extensions["wzcheckin.assets"]
    urls = tuple(url_for("static", filename=name) for name in OFFLINE_ASSETS)
    body = _service_worker_body(current_app.static_folder, assets.digests[SERVICE_WORKER_SOURCE], urls,
                                (url_for("codes.pass_page"), url_for("accounts.logout")))
    response = Response(body, mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


# -- paper passes, printed from the web ------------------------------------------------------------

class PaperPassForm(FlaskForm):
    id_number = StringField(_l("ID number (18 characters)"), render_kw={"autocomplete": "off", "maxlength": 18})


def _print_paper_pass(worker: Worker, via: str) -> Response:
    """Issue the worker's paper pass (earlier ones are revoked: one in use), audited, then send the
    browser to the page that shows it (post/redirect/get): reloading that page shows the same pass
    again and issues nothing."""
    now = clock.now()
    programme = context.programme()
    with unit_of_work(db.session):
        paper, _issued = issue_paper_pass(db.session, worker, current_keyring(), programme, now,
                                          issued_by=current_user)
        record_audit(db.session, at=now, actor=current_user._get_current_object(), action="pass.issue",
                     target_type="worker", target_id=worker.id, ip=request.remote_addr,
                     details={"paper_pass": paper.public_id, "via": via})
    return redirect(url_for("codes.paper_pass", pass_id=paper.id), code=303)


@bp.get("/paper-passes/<rowid:pass_id>")
@roles_required(Role.ENTERPRISE_ADMIN, Role.OFFICIAL)
def paper_pass(pass_id: int):
    """A paper pass already issued, ready to print (again): the same code, signed again from the
    pass's own issue and expiry times; nothing is written. An enterprise admin sees only the passes
    of their own workers; a pass since cancelled says so."""
    paper = db.session.get(PaperPass, pass_id)
    if paper is None:
        abort(404)
    worker = paper.worker
    if current_user.role == Role.ENTERPRISE_ADMIN and worker.enterprise_id != current_enterprise().id:
        abort(404)  # never trust the id alone: only the admin's own workers
    programme = context.programme()
    svg = None
    if paper.revoked_at is None:
        token = current_keyring().sign(TokenKind.PAPER_PASS, paper.public_id, paper.expires_at,
                                       issued_at=paper.issued_at)
        svg = qr_svg(token, title=str(_l("Paper pass: a QR code")))
    return render_template("codes/paper_pass.html", worker=worker, paper=paper, svg=svg,
                           expires_local=paper.expires_at.astimezone(programme.tz),
                           again_url=url_for("codes.official_paper_pass") if current_user.role == Role.OFFICIAL
                           else url_for("enterprises.dashboard"))


@bp.post("/enterprise/roster/<rowid:worker_id>/paper-pass")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_paper_pass(worker_id: int):
    """An enterprise admin prints a paper pass for a worker who names their enterprise."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    worker = db.session.get(Worker, worker_id)
    if worker is None or worker.enterprise_id != current_enterprise().id:
        abort(404)  # never trust the id alone: only the admin's own workers
    return _print_paper_pass(worker, "enterprise")


@bp.route("/official/paper-pass", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def official_paper_pass():
    """An official prints a paper pass for any worker, found by ID number (typed into a form,
    never put in a URL)."""

    form = PaperPassForm()
    if form.validate_on_submit():
        try:
            normalised = parse_id_number(form.id_number.data or "").value
        except InvalidIdentifier as exc:
            form.id_number.errors = [field_error(exc.code)]
        else:
            worker = find_worker_by_id_number(db.session, context.vault(), normalised)
            if worker is not None:
                return _print_paper_pass(worker, "official")
            form.id_number.errors = [str(_l("No worker has this ID number."))]
    return render_template("codes/paper_pass_form.html", form=form)
