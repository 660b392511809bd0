"""Accounts room, command line: ``wzcheckin hukou reviews`` and ``wzcheckin hukou decide`` — the
officials' decision on a worker whose declared hukou and ID number disagree (SPEC §3)."""

from __future__ import annotations

import click

from wzcheckin import clock
from wzcheckin.accounts.facts import HukouReviewError, decide_hukou_review, workers_under_review
from wzcheckin.accounts.lookups import find_worker_by_id_number
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.cli import CliGroups, emit_json, fail, progress
from wzcheckin.core.identity import InvalidIdentifier, mask_id_tail, mask_name, parse_id_number
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.programme import HukouStatus


@click.command("reviews")
def hukou_reviews_command():
    """Workers whose hukou is to be reviewed, as JSON (masked: never a full ID number)."""
    rows = [{"worker_id": worker.id, "name": mask_name(worker.name), "id_number": mask_id_tail(worker.id_number_tail),
             "declared_hukou": worker.hukou, "registered_via": worker.registered_via,
             "enterprise": worker.enterprise.credit_code if worker.enterprise else None}
            for worker in workers_under_review(db.session)]
    progress(f"{len(rows)} worker(s) to review")
    emit_json(rows)


@click.command("decide")
@click.option("--id-number", "id_number", required=True, help="The worker's ID number (as on their documents).")
@click.option("--local", "decision", flag_value="home", help="Wenzhou household registration: not counted.")
@click.option("--non-local", "decision", flag_value="non_local", help="Registered outside Wenzhou: may count.")
@click.option("--reason", required=True, help="Why (the document seen); kept with the decision.")
def hukou_decide_command(id_number: str, decision: str | None, reason: str):
    """Decide a hukou to be reviewed; takes effect from now (an earlier snapshot changes only
    through a correction)."""
    if decision is None:
        fail("say --local or --non-local")
    programme, vault, now = context.programme(), context.vault(), clock.now()
    try:
        number = parse_id_number(id_number, today=programme.local_date(now)).value
    except InvalidIdentifier as exc:
        fail(f"--id-number: {exc.code}")
    with unit_of_work(db.session):
        worker = find_worker_by_id_number(db.session, vault, number)
        if worker is None:
            fail("no worker with that ID number")
        try:
            review = decide_hukou_review(db.session, worker, decision=HukouStatus(decision), reason=reason,
                                         decided_by_user_id=None, now=now)
        except HukouReviewError as exc:
            fail(exc.code)
        record_audit(db.session, at=now, action="hukou.review.decide", actor_role="cli", target_type="worker",
                     target_id=worker.id, details={"decision": decision, "review": review.id})
        result = {"worker_id": worker.id, "hukou_status": decision, "review_id": review.id,
                  "decided_at": now.isoformat()}
    emit_json(result)


def register(groups: CliGroups) -> None:
    hukou = click.Group("hukou", help="Household registrations to be reviewed (户籍复核).")
    hukou.add_command(hukou_reviews_command)
    hukou.add_command(hukou_decide_command)
    groups.root.add_command(hukou)
