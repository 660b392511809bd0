"""The app's own commands (SPEC §6), beside those each room registers through ``Room(cli=...)``:
``init``, ``serve``, ``demo``, ``scheduler``, ``import enterprises|workers``, ``user``, ``token``,
``pass`` and ``keys``; and ``register_commands``, which puts every command of every room on
``app.cli``. Helpers the rooms share (``progress``, ``emit_json``, ``fail``, ``run_import``) are in
``core/cli.py``; the ``wzcheckin`` entry point is ``cli.py``.
"""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from wzcheckin import clock
from wzcheckin.accounts.api_tokens import issue_api_token, list_api_tokens, revoke_api_tokens, token_state
from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.importer import import_workers
from wzcheckin.accounts.lookups import find_user_by_phone, find_worker_by_id_number
from wzcheckin.accounts.sessions import disable_user, enable_user
from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.assets import assets_group
from wzcheckin.codes.context import current_keyring, invalidate_keyring
from wzcheckin.codes.keys import (
    SigningKeyError,
    create_signing_key,
    public_key_record,
    revoke_signing_key,
    rotate_signing_key,
)
from wzcheckin.codes.models import SigningKey
from wzcheckin.codes.passes import issue_paper_pass
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.cli import CliGroups, emit_json, fail, field_errors, progress, run_import
from wzcheckin.core.identity import InvalidIdentifier, parse_id_number, parse_phone
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.demo import load_demo
from wzcheckin.enterprises.services import import_enterprises
from wzcheckin.extensions import db
from wzcheckin.rooms import ROOMS
from wzcheckin.scheduler.cli import scheduler_command


@click.command("init")
def init_command():
    """Create or upgrade the database (Alembic migrations) and make the first signing key."""
    import flask_migrate


    progress("upgrading the database schema…")
    flask_migrate.upgrade(directory=current_app.extensions["migrate"].directory)
    with unit_of_work(db.session):
        key = db.session.scalar(sa.select(SigningKey).where(SigningKey.retired_at.is_(None)))
        created = key is None
        if created:
            key = create_signing_key(db.session, context.vault(), clock.now())
            record_audit(db.session, at=clock.now(), action="keys.create", actor_role="cli",
                         target_type="signing_key", target_id=key.key_id)
    emit_json({"database": "ready", "signing_key": key.key_id, "signing_key_created": created})


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host: str, port: int):
    """Run the web app with the development server (use gunicorn in production)."""
    from werkzeug.serving import run_simple

    progress(f"wzcheckin on http://{host}:{port}/  (Ctrl+C stops)")
    run_simple(host, port, current_app._get_current_object(), use_reloader=False, threaded=True)


@click.command("demo")
def demo_command():
    """Load the demo data set (idempotent) and print the demo logins."""

    with unit_of_work(db.session):
        logins = load_demo(db.session, context.vault(), context.programme(), clock.now(), progress)
    click.echo("")
    click.echo("Demo logins (password for all: see below)")
    for login in logins:
        click.echo(f"  {login['role']:<17} {login['phone']}  {login['password']}  {login['note']}")
    emit_json({"demo": "loaded", "logins": len(logins)})


def _import_enterprises(session, text, now, on_progress):

    return import_enterprises(session, context.vault(), text, now, on_progress)


def _import_workers(session, text, now, on_progress):

    return import_workers(session, context.vault(), context.programme(), text, now, on_progress)


@click.command("enterprises")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_enterprises_command(csv_file: str):
    """Enterprises (credit_code,name,district,ownership,industrial,admin_phone); creates gate:<code>."""
    run_import("enterprises", csv_file, _import_enterprises)


@click.command("workers")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_workers_command(csv_file: str):
    """An enterprise roster (credit_code,name,id_number,phone,hukou,residence_permit_no,
    residence_permit_expiry,pledged)."""
    run_import("workers", csv_file, _import_workers)


@click.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role if r is not Role.WORKER]))
@click.option("--phone", required=True)
@click.option("--password", required=True)
@click.option("--checkpoint", "checkpoint_ref", default=None, help="gate:<credit_code>, venue:<code> or pickup:<code>")
@click.option("--carrier", default=None, help="china_mobile, china_unicom or china_telecom (role carrier)")
@click.option("--name", "display_name", default="")
def user_create_command(role, phone, password, checkpoint_ref, carrier, display_name):
    """Create (or update) a staff or official account."""

    now = clock.now()
    try:
        with unit_of_work(db.session):
            user, created = create_or_update_staff(
                db.session, context.vault(), role=Role(role), phone_raw=phone, password=password, now=now,
                checkpoint_ref=checkpoint_ref, carrier=carrier, display_name=display_name,
            )
            record_audit(db.session, at=now, action="user.create" if created else "user.update",
                         actor_role="cli", target_type="user", target_id=user.id,
                         details={"role": role, "checkpoint": checkpoint_ref, "carrier": carrier})
    except Refusal as exc:
        fail(field_errors(exc.errors))
    emit_json({"user_id": user.id, "role": role, "phone": user.phone_masked, "created": created})


def _account_by_phone(phone: str):
    """The account with this phone number, in the current unit of work; exits 1 when none."""

    try:
        normalised = parse_phone(phone)
    except InvalidIdentifier as exc:
        fail(f"--phone: {exc.code}")
    user = find_user_by_phone(db.session, context.vault(), normalised)
    if user is None:
        fail("no account has this phone number")
    return user


@click.command("create")
@click.option("--phone", required=True)
@click.option("--label", default="cli")
def token_create_command(phone: str, label: str):
    """Print a new API token for the account with this phone (any role). Tokens expire: staff
    after ``[accounts] api_token_days_staff`` days, workers after ``api_token_days_worker``."""

    now = clock.now()
    with unit_of_work(db.session):
        user = _account_by_phone(phone)
        if user.disabled_at is not None:
            fail("the account is disabled: `wzcheckin user enable` first")
        token = issue_api_token(db.session, user, now, label=label, programme=context.programme())
        record_audit(db.session, at=now, action="token.create", actor_role="cli", target_type="user",
                     target_id=user.id, details={"label": label})
    click.echo(token)


@click.command("list")
@click.option("--phone", required=True)
def token_list_command(phone: str):
    """The account's API tokens as JSON (id, label, state, dates; never the token itself)."""

    now = clock.now()
    user = _account_by_phone(phone)
    rows = [{"id": token.id, "label": token.label, "state": token_state(token, now),
             "created_at": token.created_at.isoformat(), "expires_at": token.expires_at.isoformat(),
             "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
             "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}
            for token in list_api_tokens(db.session, user)]
    progress(f"{len(rows)} token(s) for {user.phone_masked}")
    emit_json(rows)


@click.command("revoke")
@click.option("--phone", required=True)
@click.option("--all", "revoke_all", is_flag=True, help="Every live token of the account.")
@click.argument("token_id", required=False, type=int)
def token_revoke_command(phone: str, revoke_all: bool, token_id: int | None):
    """Revoke one API token (its ID, from `token list`) or --all of the account's: refused from
    their next request."""

    if revoke_all == (token_id is not None):
        fail("say either --all or one token ID")
    now = clock.now()
    with unit_of_work(db.session):
        user = _account_by_phone(phone)
        try:
            revoked = revoke_api_tokens(db.session, user, now, token_id=token_id)
        except AccountError as exc:
            fail(f"{exc.code}: the account has no token with this ID")
        record_audit(db.session, at=now, action="token.revoke", actor_role="cli", target_type="user",
                     target_id=user.id, details={"tokens": revoked, "all": revoke_all})
    emit_json({"user_id": user.id, "revoked": revoked})


@click.command("disable")
@click.option("--phone", required=True)
@click.option("--reason", required=True, help="Why; kept with the account and in the audit log.")
def user_disable_command(phone: str, reason: str):
    """Disable an account: its sessions and API tokens fail from its next request."""

    if not reason.strip():
        fail("--reason: required")
    now = clock.now()
    with unit_of_work(db.session):
        user = _account_by_phone(phone)
        if user.disabled_at is not None:
            fail("the account is already disabled")
        revoked = disable_user(db.session, user, now, reason=reason.strip())
        record_audit(db.session, at=now, action="user.disable", actor_role="cli", target_type="user",
                     target_id=user.id, details={"reason": reason.strip()[:500], "tokens_revoked": revoked})
    emit_json({"user_id": user.id, "disabled_at": now.isoformat(), "tokens_revoked": revoked})


@click.command("enable")
@click.option("--phone", required=True)
def user_enable_command(phone: str):
    """Enable a disabled account: it may log in again (old sessions and tokens stay ended)."""

    now = clock.now()
    with unit_of_work(db.session):
        user = _account_by_phone(phone)
        try:
            enable_user(db.session, user)
        except AccountError:
            fail("the account is not disabled")
        record_audit(db.session, at=now, action="user.enable", actor_role="cli", target_type="user",
                     target_id=user.id)
    emit_json({"user_id": user.id, "enabled": True})


@click.command("issue")
@click.option("--id-number", "id_number", required=True)
def pass_issue_command(id_number: str):
    """Print a long-lived paper-pass token for the worker with this ID number."""

    try:
        normalised = parse_id_number(id_number).value
    except InvalidIdentifier as exc:
        fail(f"--id-number: {exc.code}")
    now = clock.now()
    with unit_of_work(db.session):
        worker = find_worker_by_id_number(db.session, context.vault(), normalised)
        if worker is None:
            fail("no worker has this ID number")
        paper, issued = issue_paper_pass(db.session, worker, current_keyring(), context.programme(), now)
        record_audit(db.session, at=now, action="pass.issue", actor_role="cli", target_type="worker",
                     target_id=worker.id, details={"paper_pass": paper.public_id})
    progress(f"paper pass for worker {worker.id}, valid until {issued.expires_at.isoformat()}")
    click.echo(issued.token)


@click.command("rotate")
def keys_rotate_command():
    """Start signing with a new key. A retired key verifies only codes it signed before it
    retired, and only for the longest lifetime of their kind (``[codes] max_lifetime_seconds``)."""

    now = clock.now()
    with unit_of_work(db.session):
        key = rotate_signing_key(db.session, context.vault(), now)
        record_audit(db.session, at=now, action="keys.rotate", actor_role="cli",
                     target_type="signing_key", target_id=key.key_id)
    invalidate_keyring()
    emit_json({"signing_key": key.key_id})


@click.command("revoke")
@click.argument("key_id", type=int)
@click.option("--reason", required=True, help="Why (the key leaked, ...); kept in the audit log.")
def keys_revoke_command(key_id: int, reason: str):
    """Stop trusting a signing key: codes it signed are refused at once (``revoked_key``), in
    every process. Revoking the signing key also makes a new one."""

    if not reason.strip():
        fail("--reason: required")
    now = clock.now()
    with unit_of_work(db.session):
        try:
            revoked, new_key = revoke_signing_key(db.session, key_id, now, vault=context.vault())
        except SigningKeyError as exc:
            fail(exc.code)
        record_audit(db.session, at=now, action="keys.revoke", actor_role="cli", target_type="signing_key",
                     target_id=revoked.key_id, details={"reason": reason.strip()[:500],
                                                        "new_signing_key": new_key.key_id if new_key else None})
    invalidate_keyring()
    emit_json({"revoked": key_id, "revoked_at": now.isoformat(),
               "signing_key": new_key.key_id if new_key else None})


@click.command("list")
def keys_list_command():
    """The signing keys and their state."""

    keys = db.session.scalars(sa.select(SigningKey).order_by(SigningKey.created_at)).all()
    emit_json([{**public_key_record(k), "retired_at": k.retired_at.isoformat() if k.retired_at else None,
                "revoked": k.revoked_at is not None} for k in keys])


def build_groups() -> CliGroups:
    root = click.Group("wzcheckin")
    groups = CliGroups(
        root=root,
        import_=click.Group("import", help="Import CSV files (all or nothing; re-importing updates)."),
        user=click.Group("user", help="Staff and official accounts."),
        token=click.Group("token", help="API tokens."),
        pass_=click.Group("pass", help="Paper passes."),
        keys=click.Group("keys", help="Signing keys for codes; re-encrypting personal data under a new data key."),
    )
    for command in (init_command, serve_command, demo_command, scheduler_command):
        root.add_command(command)
    root.add_command(assets_group)  # `wzcheckin assets build`
    groups.import_.add_command(import_enterprises_command)
    groups.import_.add_command(import_workers_command)
    groups.user.add_command(user_create_command)
    groups.user.add_command(user_disable_command)
    groups.user.add_command(user_enable_command)
    groups.token.add_command(token_create_command)
    groups.token.add_command(token_list_command)
    groups.token.add_command(token_revoke_command)
    groups.pass_.add_command(pass_issue_command)
    groups.keys.add_command(keys_rotate_command)
    groups.keys.add_command(keys_revoke_command)
    groups.keys.add_command(keys_list_command)
    for room in ROOMS:
        if room.cli is not None:
            room.cli(groups)
    for group in (groups.import_, groups.user, groups.token, groups.pass_, groups.keys):
        root.add_command(group)
    return groups


def register_commands(app: Flask) -> None:
    """Every command on ``app.cli``, each carrying its app context as Flask expects.

    ``wzcheckin`` (a FlaskGroup) pushes a context before it runs a command, but ``app.cli`` run
    by itself, as ``app.test_cli_runner().invoke(...)`` runs it, pushes none: so every command,
    the rooms' too, is wrapped in ``with_appcontext`` (which pushes one only when none is active),
    as ``@app.cli.command`` would have done.
    """
    root = build_groups().root
    _carry_app_context(root)
    for name, command in root.commands.items():
        app.cli.add_command(command, name)


def _carry_app_context(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            _carry_app_context(subcommand)
    elif command.callback is not None and not getattr(command, "_carries_app_context", False):
        # The command objects are module-level and shared by every app built in one process:
        # wrap each once. ``with_appcontext`` loads the app of the invocation, not of this call.
        command.callback = with_appcontext(command.callback)
        command._carries_app_context = True
