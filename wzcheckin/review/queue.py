"""Review room: the officials' review queue (审核) for P6, P7 and P8 applications.

* Beside each application: its enterprise's risk signals from the latest run.
* Approving needs a note acknowledging each of those signals (stored with the approval).
* Above the programme's ``second_approval_yuan`` a second, different official must approve too;
  the application's status moves only with the approval that completes the count.
* A seeded random sample marks applications for an on-site check; a drawn application is
  approved only once its check is recorded. The seed, rate and population are stored, so the
  draw can be repeated by anyone (:func:`replay_sample`).
* Every decision is audited. Statuses stay where they live: approvals and rejections go
  through the owning rooms' decision functions (``residence.subsidies.decide_application``,
  ``residence.production.decide_declaration``, ``benefits.training_subsidy.review_subsidy_claim``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User
from wzcheckin.benefits.models import SubsidyClaimStatus, TrainingSubsidyClaim
from wzcheckin.benefits.training_subsidy import review_subsidy_claim
from wzcheckin.core.audit import record_audit
from wzcheckin.core.refusals import Refusal, insert_or_refuse
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.models import (
    ApplicationStatus,
    DeclarationStatus,
    ProductionDeclaration,
    SubsidyApplication,
)
from wzcheckin.residence.production import decide_declaration, programme_year
from wzcheckin.residence.subsidies import decide_application
from wzcheckin.residence.subsidies import mark_paid as mark_subsidy_paid
from wzcheckin.review.errors import ReviewError
from wzcheckin.review.models import Acknowledgement, Approval, OnsiteCheck, Payment, Policy, RiskSignal, Sample
from wzcheckin.review.ownership import may_decide
from wzcheckin.review.signals import latest_run, signals_by_enterprise, signals_of

MAX_NOTE = 500


@dataclass(frozen=True)
class PolicyTable:
    """Where one policy's applications live and which statuses mean what."""

    model: type
    pending: str
    approved: tuple[str, ...]      # approved (and, for P7, paid)
    rejected: str
    submitted_at: str              # column name
    target_type: str               # as the owning room audits it


POLICIES: dict[Policy, PolicyTable] = {
    Policy.P6: PolicyTable(TrainingSubsidyClaim, SubsidyClaimStatus.SUBMITTED.value,
                           (SubsidyClaimStatus.APPROVED.value,), SubsidyClaimStatus.REJECTED.value, "submitted_at",
                           "training_subsidy_claim"),
    Policy.P7: PolicyTable(SubsidyApplication, ApplicationStatus.APPLIED.value,
                           (ApplicationStatus.APPROVED.value, ApplicationStatus.PAID.value),
                           ApplicationStatus.REJECTED.value, "applied_at", "subsidy_application"),
    Policy.P8: PolicyTable(ProductionDeclaration, DeclarationStatus.DECLARED.value,
                           (DeclarationStatus.APPROVED.value,), DeclarationStatus.REJECTED.value, "declared_at",
                           "production_declaration"),
}


def parse_policy(value: str | None) -> Policy:
    try:
        return Policy((value or "").upper())
    except ValueError:
        raise ReviewError("unknown_policy") from None


@dataclass
class Item:
    """One application as the queue shows it, whatever its policy."""

    policy: Policy
    id: int
    enterprise: Enterprise
    amount_fen: int
    status: str
    submitted_at: datetime
    row: object

    @property
    def key(self) -> str:
        return f"{self.policy.value}:{self.id}"

    @property
    def pending(self) -> bool:
        return self.status == POLICIES[self.policy].pending

    @property
    def amount_yuan(self) -> float | int:
        return self.amount_fen // 100 if self.amount_fen % 100 == 0 else self.amount_fen / 100


def amount_fen_of(policy: Policy, row) -> int:
    return int(row.amount_fen) if policy is Policy.P6 else int(row.amount_yuan) * 100


def _item(policy: Policy, row) -> Item:
    table = POLICIES[policy]
    return Item(policy, row.id, row.enterprise, amount_fen_of(policy, row), str(getattr(row.status, "value", row.status)),
                getattr(row, table.submitted_at), row)


def _policy_query(policy: Policy, programme: Programme):
    model = POLICIES[policy].model
    query = sa.select(model)
    if policy is Policy.P8:
        query = query.where(ProductionDeclaration.programme_year == programme_year(programme))
    return query


def load_item(session: Session, programme: Programme, policy: Policy, application_id: int) -> Item:
    row = session.scalar(_policy_query(policy, programme).where(POLICIES[policy].model.id == application_id))
    if row is None:
        raise ReviewError("not_found")
    return _item(policy, row)


def pending_items(session: Session, programme: Programme, policy: Policy | None = None,
                  policies: tuple[Policy, ...] | None = None) -> list[Item]:
    """Applications awaiting a decision, oldest first: of ``policy``, or of ``policies`` (the
    ones the reader's bureau sees; default all)."""
    items = []
    for each in ([policy] if policy else list(policies if policies is not None else Policy)):
        if policies is not None and each not in policies:
            continue
        table = POLICIES[each]
        query = _policy_query(each, programme).where(table.model.status == table.pending)
        items += [_item(each, row) for row in session.scalars(query.order_by(table.model.id))]
    return sorted(items, key=lambda item: (item.submitted_at, item.policy.value, item.id))


def approvals_of(session: Session, policy: Policy, application_id: int) -> list[Approval]:
    return list(session.scalars(sa.select(Approval).where(Approval.policy == policy.value,
                                                          Approval.application_id == application_id)
                                .order_by(Approval.id)))


def onsite_check_of(session: Session, policy: Policy, application_id: int) -> OnsiteCheck | None:
    return session.scalar(sa.select(OnsiteCheck).where(OnsiteCheck.policy == policy.value,
                                                       OnsiteCheck.application_id == application_id))


def approvals_needed(programme: Programme, amount_fen: int) -> int:
    """Two officials above the programme's amount, one otherwise."""
    return 2 if amount_fen > programme.review.second_approval_yuan * 100 else 1


@dataclass
class ItemReview:
    """Everything the review page shows beside one application."""

    item: Item
    signals: list[RiskSignal]
    approvals: list[Approval]
    needed: int
    onsite: OnsiteCheck | None


def review_of(session: Session, programme: Programme, item: Item) -> ItemReview:
    run = latest_run(session)
    return ItemReview(item, signals_of(session, run, enterprise_id=item.enterprise.id),
                      approvals_of(session, item.policy, item.id), approvals_needed(programme, item.amount_fen),
                      onsite_check_of(session, item.policy, item.id))


def queue(session: Session, programme: Programme, policy: Policy | None = None,
          policies: tuple[Policy, ...] | None = None) -> list[ItemReview]:
    items = pending_items(session, programme, policy, policies)
    run = latest_run(session)
    signals = signals_by_enterprise(session, run, [item.enterprise.id for item in items])
    keys = [(item.policy.value, item.id) for item in items]
    approvals: dict[tuple[str, int], list[Approval]] = {}
    checks: dict[tuple[str, int], OnsiteCheck] = {}
    if keys:
        pairs = sa.tuple_(Approval.policy, Approval.application_id).in_(keys)
        for approval in session.scalars(sa.select(Approval).where(pairs).order_by(Approval.id)):
            approvals.setdefault((approval.policy, approval.application_id), []).append(approval)
        for check in session.scalars(sa.select(OnsiteCheck).where(
                sa.tuple_(OnsiteCheck.policy, OnsiteCheck.application_id).in_(keys))):
            checks[(check.policy, check.application_id)] = check
    return [ItemReview(item, signals.get(item.enterprise.id, []), approvals.get((item.policy.value, item.id), []),
                       approvals_needed(programme, item.amount_fen), checks.get((item.policy.value, item.id)))
            for item in items]


# --- deciding --------------------------------------------------------------------------------------

def require_owner(actor: User, policy: Policy) -> None:
    """Only the bureau that owns the policy decides its applications (``review.ownership``):
    ``not_your_policy`` for anyone else, the programme office and the auditor included."""
    if not may_decide(actor.role, policy):
        raise ReviewError("not_your_policy")


def _lock(session: Session, policy: Policy, application_id: int) -> None:
    """Row lock on the application (``SELECT … FOR UPDATE``; on SQLite the unit of work's
    ``BEGIN IMMEDIATE`` already serialises writers): two officials approving the same
    application at once take turns, so the second sees the first's approval when counting."""
    model = POLICIES[policy].model
    session.execute(sa.select(model.id).where(model.id == application_id).with_for_update())


def _decide(session: Session, programme: Programme, item: Item, *, approve: bool, reason: str, actor: User,
            now: datetime, ip: str | None) -> None:
    """The owning room's decision function (a conditional UPDATE on the pending status there)."""
    try:
        if item.policy is Policy.P7:
            decide_application(session, application=item.row, approve=approve, reason=reason, actor=actor, now=now,
                               ip=ip)
        elif item.policy is Policy.P8:
            decide_declaration(session, programme, declaration=item.row, approve=approve, reason=reason, actor=actor,
                               now=now, ip=ip)
        else:
            review_subsidy_claim(session, item.id, approve=approve, reason=reason, now=now, actor=actor)
            # The training room's view audits its own decisions; this path does the same.
            record_audit(session, at=now, actor=actor, action="training.claim_approve" if approve
                         else "training.claim_reject", target_type="training_subsidy_claim", target_id=item.id,
                         details={"amount_fen": item.amount_fen, "reason": reason[:200]}, ip=ip)
    except Refusal as refusal:  # the owning room's refusal passes through, in its own words
        if refusal.code in ("already_decided", "already_reviewed"):
            raise ReviewError("already_decided") from None
        raise


def _clean_note(note: str | None, *, field: str, missing: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ReviewError(missing, field=field)
    if len(note) > MAX_NOTE:
        raise ReviewError("note_too_long", field=field)
    return note


@dataclass(frozen=True)
class ApprovalOutcome:
    approval: Approval
    approvals: int        # approvals so far, this one included
    needed: int
    decided: bool         # the application's status moved to approved with this approval


def approve(session: Session, programme: Programme, *, policy: Policy, application_id: int,
            notes: dict[int, str], actor: User, now: datetime, ip: str | None = None) -> ApprovalOutcome:
    """One official approves, acknowledging each of the enterprise's current signals with a note
    (``notes``: signal id → note). The application is approved once the approvals the amount
    needs are in (two different officials above ``second_approval_yuan``).

    Concurrency: a row lock on the application (:func:`_lock`) and UNIQUE (policy, application,
    official) on approvals; the owning room's conditional UPDATE is the last word on the status.
    """
    require_owner(actor, policy)
    _lock(session, policy, application_id)
    item = load_item(session, programme, policy, application_id)
    if not item.pending:
        raise ReviewError("already_decided")
    check = onsite_check_of(session, policy, application_id)
    if check is not None and check.checked_at is None:
        raise ReviewError("onsite_check_pending")
    run = latest_run(session)
    signals = signals_of(session, run, enterprise_id=item.enterprise.id)
    acknowledged = {signal.id: _clean_note(notes.get(signal.id), field=f"note-{signal.id}",
                                           missing="acknowledgement_required") for signal in signals}
    approval = Approval(policy=policy.value, application_id=application_id, official_user_id=actor.id, approved_at=now,
                        amount_fen=item.amount_fen, signal_run_id=run.id if run else None, final=False)
    # UNIQUE (policy, application, official): one official approves once, however fast they click.
    insert_or_refuse(session, ReviewError("already_approved_by_you"), approval)
    for signal in signals:
        session.add(Acknowledgement(approval_id=approval.id, signal_id=signal.id, kind=signal.kind,
                                    note=acknowledged[signal.id]))
    session.flush()
    count = len(approvals_of(session, policy, application_id))
    needed = approvals_needed(programme, item.amount_fen)
    decided = count >= needed
    if decided:
        approval.final = True
        _decide(session, programme, item, approve=True, reason=_approval_reason(session, policy, application_id),
                actor=actor, now=now, ip=ip)
    record_audit(session, at=now, actor=actor, action="review.approve", target_type=POLICIES[policy].target_type,
                 target_id=application_id, ip=ip, details={
                     "policy": policy.value, "approval": count, "needed": needed, "decided": decided,
                     "amount_fen": item.amount_fen, "signal_run": run.id if run else None,
                     "acknowledged": {signal.kind: acknowledged[signal.id][:200] for signal in signals}})
    session.flush()
    return ApprovalOutcome(approval, count, needed, decided)


def _approval_reason(session: Session, policy: Policy, application_id: int) -> str:
    """The decision's reason as the owning room stores it: who approved, by the review queue."""
    ids = [approval.official_user_id for approval in approvals_of(session, policy, application_id)]
    return ("审核通过（风险信号已逐条确认）; approvers: " + ", ".join(f"#{user_id}" for user_id in ids))[:500]


def reject(session: Session, programme: Programme, *, policy: Policy, application_id: int, reason: str | None,
           actor: User, now: datetime, ip: str | None = None) -> Item:
    """One official rejects, with a reason (no second official needed to say no)."""
    require_owner(actor, policy)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("reason_required", field="reason")
    if len(reason) > MAX_NOTE:
        raise ReviewError("reason_too_long", field="reason")
    _lock(session, policy, application_id)
    item = load_item(session, programme, policy, application_id)
    if not item.pending:
        raise ReviewError("already_decided")
    _decide(session, programme, item, approve=False, reason=reason, actor=actor, now=now, ip=ip)
    record_audit(session, at=now, actor=actor, action="review.reject", target_type=POLICIES[policy].target_type,
                 target_id=application_id, ip=ip,
                 details={"policy": policy.value, "reason": reason[:200], "amount_fen": item.amount_fen})
    return item


# --- on-site checks --------------------------------------------------------------------------------

def select_sample(population: list[str], seed: int, rate: float) -> list[str]:
    """The seeded draw: each application of ``population`` (in its order) is selected when the
    seeded generator's next number is below ``rate``. Same seed, rate and population → same
    selection."""
    generator = random.Random(seed)
    return [key for key in population if generator.random() < rate]


def draw_sample(session: Session, programme: Programme, *, seed: int, actor: User | None, now: datetime,
                rate: float | None = None, ip: str | None = None) -> tuple[Sample, list[str]]:
    """Draw applications awaiting a decision that were never drawn before, at the programme's
    ``sample_rate``; store the seed, the population and the selection.

    Concurrency: UNIQUE (policy, application) on the checks: a simultaneous draw that picked the
    same application fails whole (``sample_conflict``), the other stands.
    """
    rate = programme.review.sample_rate if rate is None else rate
    drawn = {(check.policy, check.application_id) for check in session.scalars(sa.select(OnsiteCheck))}
    population = [item.key for item in sorted(pending_items(session, programme),
                                              key=lambda item: (item.policy.value, item.id))
                  if (item.policy.value, item.id) not in drawn]
    if not population:
        raise ReviewError("nothing_to_draw")
    selected = select_sample(population, seed, rate)
    sample = Sample(seed=seed, rate=rate, population=population, drawn_at=now,
                    drawn_by_user_id=getattr(actor, "id", None))
    session.add(sample)
    session.flush()
    checks = [OnsiteCheck(sample_id=sample.id, policy=policy, application_id=int(application_id), check_note="")
              for policy, application_id in (key.split(":") for key in selected)]
    # UNIQUE (policy, application) on the checks: two officials drawing at once cannot both mark
    # one; the refusal rolls the caller's unit of work back, the sample with it.
    insert_or_refuse(session, ReviewError("sample_conflict"), *checks, flush=True)
    record_audit(session, at=now, actor=actor, actor_role=None if actor else "cli", action="review.sample",
                 target_type="review_sample", target_id=sample.id, ip=ip,
                 details={"seed": seed, "rate": rate, "population": len(population), "selected": selected[:200]})
    return sample, selected


def replay_sample(sample: Sample) -> list[str]:
    """The selection the stored seed, rate and population give (an auditor's check)."""
    return select_sample(list(sample.population), sample.seed, sample.rate)


def record_onsite_check(session: Session, *, policy: Policy, application_id: int, note: str | None, actor: User,
                        now: datetime, ip: str | None = None) -> OnsiteCheck:
    """Record what the on-site check found. Concurrency: a conditional UPDATE on
    ``checked_at IS NULL``: recorded once."""
    require_owner(actor, policy)
    note = _clean_note(note, field="note", missing="note_required")
    check = onsite_check_of(session, policy, application_id)
    if check is None:
        raise ReviewError("onsite_not_drawn")
    changed = session.execute(
        sa.update(OnsiteCheck).where(OnsiteCheck.id == check.id, OnsiteCheck.checked_at.is_(None))
        .values(checked_at=now, checked_by_user_id=actor.id, check_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise ReviewError("onsite_already_recorded")
    session.refresh(check)
    record_audit(session, at=now, actor=actor, action="review.onsite_check", target_type=POLICIES[policy].target_type,
                 target_id=application_id, ip=ip, details={"policy": policy.value, "note": note[:200]})
    return check


# --- payment ----------------------------------------------------------------------------------------

def is_paid(session: Session, item: Item) -> bool:
    if item.policy is Policy.P7:
        return item.status == ApplicationStatus.PAID.value
    return session.scalar(sa.select(Payment.id).where(Payment.policy == item.policy.value,
                                                      Payment.application_id == item.id)) is not None


def mark_paid(session: Session, programme: Programme, *, policy: Policy, application_id: int, reference: str | None,
              actor: User, now: datetime, ip: str | None = None) -> Item:
    """An approved application paid. P7 through the residence room's own ``mark_paid`` (its
    status); P6 and P8 as a payment row, UNIQUE (policy, application): paid once."""
    require_owner(actor, policy)
    reference = (reference or "").strip()[:100]
    item = load_item(session, programme, policy, application_id)
    if policy is Policy.P7:
        if item.status == ApplicationStatus.PAID.value:
            raise ReviewError("already_paid")
        try:
            mark_subsidy_paid(session, application=item.row, reference=reference, actor=actor, now=now, ip=ip)
        except Refusal:
            raise ReviewError("not_approved") from None
        return item
    if item.status not in POLICIES[policy].approved:
        raise ReviewError("not_approved")
    # UNIQUE (policy, application) on payments: paid once, even by two officials at once.
    insert_or_refuse(session, ReviewError("already_paid"),
                     Payment(policy=policy.value, application_id=application_id, amount_fen=item.amount_fen,
                             reference=reference, paid_at=now, paid_by_user_id=actor.id))
    record_audit(session, at=now, actor=actor, action="review.paid", target_type=POLICIES[policy].target_type,
                 target_id=application_id, ip=ip,
                 details={"policy": policy.value, "reference": reference, "amount_fen": item.amount_fen})
    return item


