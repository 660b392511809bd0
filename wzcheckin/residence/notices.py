"""Residence room: what the programme tells people by text message — the P7 notice to each
qualifying enterprise after the cutoff ("人社部门…通过短信点对点的方式通知符合条件的企业"), and the
daily reminder to workers with no evidence yet in the current window. Both only queue into the
outbox (``sms.queue_sms`` / one ``INSERT … SELECT``); the dispatcher sends."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.dates import texted
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import EvidenceWindow, HukouStatus, Programme
from wzcheckin.residence.evidence import evidence_exists
from wzcheckin.residence.models import Departure, EnterpriseHeadcount, SmsMessage, SmsStatus

P7_NOTICE = "p7_qualified"
EVIDENCE_REMINDER = "evidence_reminder"


def programme_key(programme: Programme) -> str:
    """Names one programme in dedupe and award keys: its cutoff instant (UTC, to the minute)."""
    return programme.cutoff.strftime("%Y%m%dT%H%MZ")


def p7_notice_key(programme: Programme, enterprise_id: int) -> str:
    return f"p7:{programme_key(programme)}:{enterprise_id}"


def p7_notice_body(programme: Programme, *, enterprise_name: str, retained: int, amount_yuan: int,
                   locale: str = "zh_CN") -> str:
    amount = f"{amount_yuan:,}"
    with force_locale(locale):
        return _("[Stay in Wenzhou] %(name)s: %(retained)d non-local workers stayed in Wenzhou until the "
                 "cutoff (%(cutoff)s); your enterprise qualifies for a retention subsidy of %(amount)s yuan. "
                 "Log in to apply online. Hotline 0577-%(hotline)s",
                 name=enterprise_name, retained=retained, amount=amount,
                 cutoff=format_date(programme.cutoff_day, "medium"),
                 hotline=programme.programme.hotline)


def queue_p7_notices(session: Session, programme: Programme, snapshot_id: int, now: datetime) -> int:
    """Queue one notice per qualifying enterprise of the snapshot; returns how many were new.

    An enterprise without an admin phone gets an outbox row in status ``no_recipient``, so
    officials see whom they must reach another way. Keys already in the outbox are skipped, and
    the rest inserted in one batch (thousands of enterprises, not one round trip each); the
    UNIQUE dedupe key stays the guard.
    """
    rows = session.execute(
        sa.select(EnterpriseHeadcount.enterprise_id, EnterpriseHeadcount.name, EnterpriseHeadcount.retained,
                  EnterpriseHeadcount.amount_yuan, Enterprise.admin_phone_encrypted, Enterprise.admin_phone_masked)
        .join(Enterprise, Enterprise.id == EnterpriseHeadcount.enterprise_id)
        .where(EnterpriseHeadcount.snapshot_id == snapshot_id, EnterpriseHeadcount.amount_yuan > 0)
        .order_by(EnterpriseHeadcount.enterprise_id)
    ).all()
    prefix = p7_notice_key(programme, 0)[:-1]
    queued = set(session.scalars(sa.select(SmsMessage.dedupe_key).where(SmsMessage.kind == P7_NOTICE,
                                                                        SmsMessage.dedupe_key.like(f"{prefix}%"))))
    batch = []
    for enterprise_id, name, retained, amount, phone_encrypted, phone_masked in rows:
        key = p7_notice_key(programme, enterprise_id)
        if key in queued:
            continue
        batch.append({
            "dedupe_key": key, "kind": P7_NOTICE, "enterprise_id": enterprise_id, "worker_id": None,
            "recipient_encrypted": phone_encrypted, "recipient_masked": phone_masked or "",
            "body": p7_notice_body(programme, enterprise_name=name, retained=retained, amount_yuan=amount),
            "status": SmsStatus.QUEUED if phone_encrypted else SmsStatus.NO_RECIPIENT, "attempts": 0,
            "created_at": now,
        })
    if batch:
        session.execute(sa.insert(SmsMessage), batch)
    return len(batch)


def reminder_body(programme: Programme, window: EvidenceWindow, locale: str) -> str:
    with force_locale(locale):
        name = window.name if locale == "zh_CN" else (window.name_en or window.name)
        return _("[Stay in Wenzhou] No staff scan of your pass yet for \"%(window)s\" (%(start)s to %(end)s). "
                 "Show your pass at your factory gate, a venue or a pickup point. Hotline 0577-%(hotline)s",
                 window=name, start=texted(window.start), end=texted(window.end),
                 hotline=programme.programme.hotline)


def queue_evidence_reminders(session: Session, programme: Programme, now: datetime) -> dict:
    """Queue today's reminder to every worker who still counts (pledged, not Wenzhou hukou, no
    departure) but has no evidence yet in the window open now. One statement; the UNIQUE
    dedupe key (window, local day, worker) makes a second run the same day queue nothing."""
    window = programme.window_at(now)
    if window is None:
        return {"window": None, "queued": 0}
    start, _end = programme.window_bounds(window)
    today = programme.local_date(now)
    prefix = f"reminder:{window.start.isoformat()}:{today.isoformat()}:"
    dedupe_key = sa.literal(prefix).concat(sa.cast(Worker.id, sa.String))
    body = sa.case((User.language == "en", reminder_body(programme, window, "en")),
                   else_=reminder_body(programme, window, "zh_CN"))
    departed = sa.exists().where(Departure.worker_id == Worker.id, Departure.withdrawn_at.is_(None))
    already = sa.exists().where(SmsMessage.dedupe_key == dedupe_key)
    select = (
        sa.select(dedupe_key, sa.literal(EVIDENCE_REMINDER), Worker.id, User.phone_encrypted, User.phone_masked,
                  body, sa.literal(SmsStatus.QUEUED.value), sa.literal(0),
                  sa.literal(now, type_=SmsMessage.created_at.type))
        .join(User, User.id == Worker.user_id)
        .where(Worker.pledged_at.is_not(None), Worker.hukou_status != HukouStatus.HOME,
               sa.not_(departed), sa.not_(evidence_exists(programme, Worker.id, start, min(now, programme.cutoff))),
               User.disabled_at.is_(None), sa.not_(already))
    )
    inserted = session.connection().execute(
        sa.insert(SmsMessage).from_select(
            ["dedupe_key", "kind", "worker_id", "recipient_encrypted", "recipient_masked", "body", "status",
             "attempts", "created_at"], select),
        execution_options={"preserve_rowcount": True},
    ).rowcount
    return {"window": window.name, "queued": inserted}
