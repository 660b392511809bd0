"""Core: text messages (短信) — one-time codes to workers, the P7 notices to qualifying enterprises,
the daily reminders to workers missing evidence, booking reminders — through a pluggable gateway.
On the ground floor because rooms on every floor send texts (accounts its codes, residence its
notices).

Every message is first **queued** in the outbox table (``sms_outbox``), keyed by a UNIQUE
``dedupe_key``, so whatever queues it (the cutoff, a rerun, a second scheduler) queues it once.
The dispatcher then hands queued messages to the gateway, **at most once**: a message is marked
``sending`` and committed before the gateway is called, so a crash mid-send leaves it visible as
``sending`` for a person to check against the provider, never sent twice.

Gateways (``WZCHECKIN_SMS_GATEWAY``):

* ``outbox`` (default): no provider. The outbox is the record officials read; each message is
  also logged, with the phone masked (``139****0001``), never in the clear.
* ``package.module:ClassName``: an adapter for a real provider, constructed without arguments
  (it reads its own settings, e.g. ``WZCHECKIN_SMS_*`` variables), with

  .. code-block:: python

      class MyProviderGateway:
          name = "my_provider"      # recorded on each message (max 32 characters)
          needs_phone = True        # the dispatcher decrypts the number for it

          def send(self, message: OutgoingSms) -> str | None:
              '''Deliver one message; return the provider's message id. Raise SmsSendError
              to record a failure. Pass message.dedupe_key as the provider's idempotency key
              (e.g. Aliyun's OutId) where it has one.'''
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.core.models import SmsMessage, SmsStatus
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.refusals import insert_unique
from wzcheckin.db import unit_of_work

log = logging.getLogger("wzcheckin.sms")

MAX_ERROR_LENGTH = 300


@dataclass(frozen=True)
class OutgoingSms:
    id: int
    dedupe_key: str
    kind: str
    phone: str | None       # None unless the gateway ``needs_phone``
    phone_masked: str
    body: str


class SmsSendError(Exception):
    """A gateway's refusal or failure: the message is marked failed with this text."""


class SmsGateway(Protocol):
    name: str
    needs_phone: bool

    def send(self, message: OutgoingSms) -> str | None: ...


class OutboxGateway:
    """The default: nothing leaves the system; the outbox and the log are the record."""

    name = "outbox"
    needs_phone = False

    def send(self, message: OutgoingSms) -> str | None:
        log.info("sms %s (%s) to %s: %d characters [outbox gateway: not sent to a provider]",
                 message.id, message.kind, message.phone_masked or "-", len(message.body))
        return None


class SmsGatewayError(RuntimeError):
    """``WZCHECKIN_SMS_GATEWAY`` names no usable gateway; the message says why."""


def load_gateway(spec: str | None) -> SmsGateway:
    spec = (spec or "outbox").strip()
    if spec == "outbox":
        return OutboxGateway()
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise SmsGatewayError(f"WZCHECKIN_SMS_GATEWAY={spec!r}: use 'outbox' or 'package.module:ClassName'")
    try:
        gateway = getattr(importlib.import_module(module_name), class_name)()
    except (ImportError, AttributeError) as exc:
        raise SmsGatewayError(f"WZCHECKIN_SMS_GATEWAY={spec!r}: {exc}") from exc
    for attribute in ("name", "needs_phone", "send"):
        if not hasattr(gateway, attribute):
            raise SmsGatewayError(f"WZCHECKIN_SMS_GATEWAY={spec!r}: the gateway has no {attribute!r}")
    return gateway


# --- queueing (domain functions: they flush, never commit) ------------------------------------

def queue_sms(session: Session, *, dedupe_key: str, kind: str, body: str, now: datetime,
              recipient_encrypted: str | None, recipient_masked: str | None,
              enterprise_id: int | None = None, worker_id: int | None = None) -> SmsMessage | None:
    """Put a message in the outbox unless its ``dedupe_key`` is there already (then None).

    Concurrency: the UNIQUE dedupe_key decides; the insert runs in a savepoint so a concurrent
    twin's violation undoes only the savepoint.
    """
    if session.scalar(sa.select(SmsMessage.id).where(SmsMessage.dedupe_key == dedupe_key)) is not None:
        return None
    message = SmsMessage(
        dedupe_key=dedupe_key, kind=kind, body=body, enterprise_id=enterprise_id, worker_id=worker_id,
        recipient_encrypted=recipient_encrypted, recipient_masked=recipient_masked or "",
        status=SmsStatus.QUEUED if recipient_encrypted else SmsStatus.NO_RECIPIENT,
        attempts=0, created_at=now,
    )
    if not insert_unique(session, message):  # UNIQUE dedupe_key: queued once
        return None
    return message


# --- dispatching (an outer-layer step: commits its own claims and results) ----------------------

def _claim(session: Session, limit: int) -> list[int]:
    """Mark up to ``limit`` queued messages as sending, in one committed transaction.

    Concurrency: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets two dispatchers take disjoint
    batches; SQLite serialises writers (BEGIN IMMEDIATE). The conditional UPDATE (status still
    queued) is the guard either way.
    """
    with unit_of_work(session):
        ids = list(session.scalars(
            sa.select(SmsMessage.id).where(SmsMessage.status == SmsStatus.QUEUED)
            .order_by(SmsMessage.id).limit(limit).with_for_update(skip_locked=True)
        ))
        if not ids:
            return []
        session.execute(
            sa.update(SmsMessage).where(SmsMessage.id.in_(ids), SmsMessage.status == SmsStatus.QUEUED)
            .values(status=SmsStatus.SENDING, attempts=SmsMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return ids


def dispatch_outbox(session: Session, gateway: SmsGateway, vault: PersonalDataVault, now: datetime, *,
                    batch_size: int = 500, max_messages: int | None = None) -> dict:
    """Hand queued messages to the gateway; returns counts. Safe to run in several processes."""
    sent = failed = 0
    while max_messages is None or sent + failed < max_messages:
        ids = _claim(session, batch_size if max_messages is None else min(batch_size, max_messages - sent - failed))
        if not ids:
            break
        messages = session.execute(
            sa.select(SmsMessage.id, SmsMessage.dedupe_key, SmsMessage.kind, SmsMessage.recipient_encrypted,
                      SmsMessage.recipient_masked, SmsMessage.body).where(SmsMessage.id.in_(ids))
            .order_by(SmsMessage.id)
        ).all()
        session.rollback()  # end the read transaction before the (possibly slow) provider calls
        outcomes: dict[int, tuple[str | None, str | None]] = {}
        for message_id, dedupe_key, kind, encrypted, masked, body in messages:
            phone = vault.decrypt(encrypted) if gateway.needs_phone and encrypted else None
            try:
                provider_id = gateway.send(OutgoingSms(message_id, dedupe_key, kind, phone, masked, body))
                outcomes[message_id] = (provider_id, None)
            except SmsSendError as exc:
                outcomes[message_id] = (None, str(exc)[:MAX_ERROR_LENGTH] or "failed")
                log.warning("sms %s (%s) to %s failed: %s", message_id, kind, masked or "-", exc)
        with unit_of_work(session):
            ok_ids = [mid for mid, (_pid, error) in outcomes.items() if error is None]
            if ok_ids:
                with_provider = {mid: pid for mid, (pid, _e) in outcomes.items() if pid}
                session.execute(
                    sa.update(SmsMessage).where(SmsMessage.id.in_(ok_ids))
                    .values(status=SmsStatus.SENT, sent_at=now, gateway=gateway.name[:32])
                    .execution_options(synchronize_session=False)
                )
                for message_id, provider_id in with_provider.items():
                    session.execute(sa.update(SmsMessage).where(SmsMessage.id == message_id)
                                    .values(provider_id=str(provider_id)[:100])
                                    .execution_options(synchronize_session=False))
            for message_id, (_pid, error) in outcomes.items():
                if error is not None:
                    session.execute(sa.update(SmsMessage).where(SmsMessage.id == message_id)
                                    .values(status=SmsStatus.FAILED, last_error=error, gateway=gateway.name[:32])
                                    .execution_options(synchronize_session=False))
        sent += len(ok_ids)
        failed += len(outcomes) - len(ok_ids)
    return {"sent": sent, "failed": failed, "gateway": gateway.name}


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(SmsMessage.status, sa.func.count()).group_by(SmsMessage.status))
    return {str(getattr(status, "value", status)): count for status, count in rows}
