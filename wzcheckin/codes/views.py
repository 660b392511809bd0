"""Codes room, pages: the worker's pass, which rotates in place before it expires."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_babel import gettext as _

from wzcheckin import clock
from wzcheckin.accounts.models import Role
from wzcheckin.codes.passes import current_pass
from wzcheckin.codes.qr import qr_svg
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker, roles_required

bp = Blueprint("codes", __name__)


def _pass_payload(worker) -> dict:
    issued = current_pass(worker, context.keyring(), context.programme(), clock.now())
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
    return render_template("codes/pass.html", worker=worker, pass_=_pass_payload(worker))


@bp.get("/me/pass/refresh")
@roles_required(Role.WORKER)
def pass_refresh():
    """The page's script fetches this before the pass expires and swaps the QR in place."""
    return jsonify(_pass_payload(current_worker()))
