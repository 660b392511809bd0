"""Benefits room, the data bonus (P1, 赠送流量): a retained worker claims the programme's free
local data once, for their registered number; the carrier delivers it and reports back.

A claim is taken only inside the programme's claim window (``[data_bonus] claim_opens`` …
``claim_closes``, local dates, inclusive) and never from a worker with a recorded departure
(离温: the data is for workers who stay).

Concurrency: one claim per worker is the UNIQUE ``worker_id`` of ``data_bonus_claims``. The
insert runs in a savepoint, so a concurrent twin (PostgreSQL makes it wait for the first to
commit, then refuses it; SQLite serialises the two with BEGIN IMMEDIATE and the second sees the
first) ends as ``already_claimed``, never as a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from wzcheckin.accounts.facts import active_departure
from wzcheckin.accounts.models import Worker
from wzcheckin.accounts.workers import retained_worker_problem
from wzcheckin.benefits.csv_out import write_csv
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import ClaimStatus, DataBonusClaim
from wzcheckin.core.csv_import import ImportReport, RowError, iter_rows
from wzcheckin.core.identity import mask_name, mask_phone
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.core.routing import MAX_ROW_ID
from wzcheckin.db import UTCDateTime
from wzcheckin.programme import Programme

CARRIERS = ("china_mobile", "china_unicom", "china_telecom")
EXPORT_HEADER = ("claim_id", "name", "phone", "gigabytes", "carrier", "claimed_at")
RESULTS_HEADER = ("claim_id", "result", "reason")
MAX_REASON_LENGTH = 200
# A results file's bad lines, by stable code: English for the CLI and the API, translated on the page.
RESULT_PROBLEMS = {
    "bad_claim_id": _l("claim_id: not a claim number (%(value)s)"),
    "bad_result": _l("result: must be fulfilled or failed (got %(value)s)"),
    "reason_required": _l("reason: required when the result is failed"),
    "reason_too_long": _l("reason: longer than %(limit)s characters"),
    "repeated_claim": _l("claim_id: %(claim)s repeats line %(first_line)s"),
    "not_your_claim": _l("claim_id: %(claim)s is not a claim of %(carrier)s"),
    "claim_final": _l("claim %(claim)s is already %(status)s; it cannot become %(result)s"),
}


def _problem(line: int, code: str, **params) -> RowError:
    return RowError.of(line, code, RESULT_PROBLEMS[code], **params)


def find_claim(session: Session, worker_id: int) -> DataBonusClaim | None:
    return session.scalar(sa.select(DataBonusClaim).where(DataBonusClaim.worker_id == worker_id))


def worker_phone(worker: Worker, vault: PersonalDataVault) -> str:
    return vault.decrypt(worker.user.phone_encrypted)


def derived_carrier(worker: Worker, vault: PersonalDataVault, programme: Programme) -> str | None:
    return programme.carrier_for_phone(worker_phone(worker, vault))


def _check_carrier(carrier: str | None) -> str | None:
    if carrier in (None, ""):
        return None
    if carrier not in CARRIERS:
        raise BenefitRefused("carrier_unknown", status=422, field="carrier")
    return carrier


def claim_window_problem(programme: Programme, now: datetime) -> BenefitRefused | None:
    """``claim_not_open`` before ``claim_opens``, ``claim_window_closed`` after ``claim_closes``."""
    rules, today = programme.data_bonus, programme.local_date(now)
    if today < rules.claim_opens:
        return BenefitRefused("claim_not_open", opens=rules.claim_opens.isoformat())
    if today > rules.claim_closes:
        return BenefitRefused("claim_window_closed", closes=rules.claim_closes.isoformat())
    return None


def claim_blocker(session: Session, programme: Programme, worker: Worker, now: datetime) -> BenefitRefused | None:
    """Why an eligible worker without a claim cannot claim now: outside the claim window, or
    ``departed`` (an active recorded departure, read through the residence room's query)."""
    outside = claim_window_problem(programme, now)
    if outside is not None:
        return outside
    if active_departure(session, worker.id) is not None:
        return BenefitRefused("departed")
    return None


def claim_data_bonus(session: Session, vault: PersonalDataVault, programme: Programme, worker: Worker,
                     now: datetime, carrier: str | None = None) -> DataBonusClaim:
    """Claim once, inside the claim window, while no departure is recorded. ``carrier``
    overrides the one derived from the number's prefix (a ported number); it is required when
    the prefix is not one of the three carriers'.

    A departure recorded at the same moment as the claim is not serialised against it (they are
    different rows): the claim is refused when the departure committed first, and a claim that
    committed first stays, as it would had the worker left the day after claiming.
    """
    problem = retained_worker_problem(worker)
    if problem is not None:
        raise BenefitRefused("not_eligible", status=403, why=problem)
    chosen = _check_carrier(carrier)
    if find_claim(session, worker.id) is not None:
        raise BenefitRefused("already_claimed")
    blocker = claim_blocker(session, programme, worker, now)
    if blocker is not None:
        raise blocker
    phone = worker_phone(worker, vault)
    derived = programme.carrier_for_phone(phone)
    chosen = chosen or derived
    if chosen is None:
        raise BenefitRefused("carrier_required", status=422, field="carrier")
    claim = DataBonusClaim(
        worker_id=worker.id, carrier=chosen, carrier_derived=derived, gigabytes=programme.data_bonus.gigabytes,
        phone_encrypted=vault.encrypt(phone), phone_masked=mask_phone(phone), status=ClaimStatus.PENDING,
        reason="", claimed_at=now, updated_at=now, export_count=0,
    )
    # UNIQUE (worker): once per person (P1), even for two taps at once.
    insert_or_refuse(session, BenefitRefused("already_claimed"), claim)
    return claim


def change_carrier(session: Session, worker: Worker, carrier: str, now: datetime) -> DataBonusClaim:
    """The worker corrects the carrier (their number was ported). Allowed until the claim is
    fulfilled; a failed claim goes back to the (new) carrier as pending."""
    chosen = _check_carrier(carrier)
    if chosen is None:
        raise BenefitRefused("carrier_unknown", status=422, field="carrier")
    # Lock the row (a plain SELECT of the id: FOR UPDATE cannot cross the eager outer joins).
    claim_id = session.scalar(sa.select(DataBonusClaim.id).where(DataBonusClaim.worker_id == worker.id)
                              .with_for_update())
    claim = session.get(DataBonusClaim, claim_id, populate_existing=True) if claim_id is not None else None
    if claim is None:
        raise BenefitRefused("not_claimed", status=404)
    if claim.status is ClaimStatus.FULFILLED:
        raise BenefitRefused("claim_settled")
    if claim.carrier != chosen or claim.status is ClaimStatus.FAILED:
        claim.carrier = chosen
        claim.status = ClaimStatus.PENDING
        claim.reason = ""
        claim.exported_at = None  # the (new) carrier has not seen it yet
        claim.resolved_at = None
        claim.updated_at = now
    session.flush()
    return claim


def claim_json(claim: DataBonusClaim | None, worker: Worker | None = None,
               blocker: BenefitRefused | None = None) -> dict:
    """The claim as the worker sees it (``GET /api/v1/me``'s ``data_bonus``). Not claimed and
    not claimable now: ``blocked_by`` names the refusal a claim would get (``claim_not_open``,
    ``claim_window_closed``, ``departed``)."""
    if claim is None:
        if worker is not None and retained_worker_problem(worker):
            return {"status": "not_eligible"}
        if blocker is not None:
            return {"status": "not_claimed", "blocked_by": blocker.code}
        return {"status": "not_claimed"}
    return {
        "status": str(claim.status),
        "id": claim.id,
        "carrier": claim.carrier,
        "carrier_derived": claim.carrier_derived,
        "gigabytes": claim.gigabytes,
        "phone": claim.phone_masked,
        "claimed_at": claim.claimed_at.isoformat(),
        "resolved_at": claim.resolved_at.isoformat() if claim.resolved_at else None,
        "reason": claim.reason or None,
    }


# --- carriers ---------------------------------------------------------------------------------

def carrier_counts(session: Session, carrier: str) -> dict[str, int]:
    rows = session.execute(
        sa.select(DataBonusClaim.status, sa.func.count()).where(DataBonusClaim.carrier == carrier)
        .group_by(DataBonusClaim.status)
    )
    counts = {status.value: 0 for status in ClaimStatus}
    for status, count in rows:
        counts[str(status)] = count
    return counts


def carrier_claims(session: Session, carrier: str, *, status: ClaimStatus | None = None,
                   limit: int = 100, offset: int = 0) -> list[DataBonusClaim]:
    query = sa.select(DataBonusClaim).where(DataBonusClaim.carrier == carrier)
    if status is not None:
        query = query.where(DataBonusClaim.status == status)
    return list(session.scalars(query.order_by(DataBonusClaim.id).limit(limit).offset(offset)))


@dataclass
class CarrierExport:
    csv_text: str
    claim_ids: list[int]


def export_pending(session: Session, vault: PersonalDataVault, carrier: str, now: datetime,
                   *, only_new: bool = False, timezone: tzinfo = UTC) -> CarrierExport:
    """The carrier's pending claims as CSV with the full phone number (the carrier needs it to
    deliver; callers audit this reveal). Marks the claims exported. Times in ``timezone`` with
    their offset (the programme's: +08:00, as every export)."""
    query = sa.select(DataBonusClaim).where(DataBonusClaim.carrier == carrier,
                                            DataBonusClaim.status == ClaimStatus.PENDING)
    if only_new:
        query = query.where(DataBonusClaim.exported_at.is_(None))
    claims = list(session.scalars(query.order_by(DataBonusClaim.id)))
    rows = [
        (claim.id, mask_name(claim.worker.name), vault.decrypt(claim.phone_encrypted), claim.gigabytes,
         claim.carrier, claim.claimed_at.astimezone(timezone).isoformat())
        for claim in claims
    ]
    ids = [claim.id for claim in claims]
    if ids:
        session.execute(
            sa.update(DataBonusClaim).where(DataBonusClaim.id.in_(ids))
            .values(exported_at=sa.func.coalesce(DataBonusClaim.exported_at, sa.literal(now, UTCDateTime())),
                    export_count=DataBonusClaim.export_count + 1)
            .execution_options(synchronize_session=False)
        )
    return CarrierExport(write_csv(EXPORT_HEADER, rows), ids)


@dataclass
class ResultsReport(ImportReport):
    fulfilled: int = 0
    failed: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict:
        return {"fulfilled": self.fulfilled, "failed": self.failed, "unchanged": self.unchanged,
                "errors": [str(error) for error in self.errors]}


# result → statuses it may be applied to. Re-sending the same result is a no-op (a re-upload);
# a failed claim may be fulfilled later (the carrier retried); a fulfilled one is final.
_ALLOWED_FROM = {
    ClaimStatus.FULFILLED: {ClaimStatus.PENDING, ClaimStatus.FAILED},
    ClaimStatus.FAILED: {ClaimStatus.PENDING, ClaimStatus.FAILED},  # a corrected reason
}


def apply_results(session: Session, carrier: str, text: str, now: datetime, actor=None) -> ResultsReport:
    """A carrier's results file (``claim_id,result,reason``). All or nothing: any bad line —
    unknown claim, another carrier's claim, a bad result, a repeated claim, a change to a
    fulfilled claim — and nothing changes; every bad line is named."""
    report = ResultsReport()
    parsed: list[tuple[int, int, ClaimStatus, str]] = []
    seen: dict[int, int] = {}
    for line, row in iter_rows(text, RESULTS_HEADER):
        if "__error__" in row:
            report.errors.append(row["__error__"].row_error(line))
            continue
        raw_id = row["claim_id"]
        # ASCII digits only ("²".isdigit() is true but int() refuses it), and within the id column.
        if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 12 or int(raw_id) > MAX_ROW_ID:
            report.errors.append(_problem(line, "bad_claim_id", value=repr(raw_id)))
            continue
        claim_id = int(raw_id)
        try:
            result = ClaimStatus(row["result"].strip().lower())
            if result is ClaimStatus.PENDING:
                raise ValueError
        except ValueError:
            report.errors.append(_problem(line, "bad_result", value=repr(row["result"])))
            continue
        reason = row["reason"]
        if result is ClaimStatus.FAILED and not reason:
            report.errors.append(_problem(line, "reason_required"))
            continue
        if len(reason) > MAX_REASON_LENGTH:
            report.errors.append(_problem(line, "reason_too_long", limit=MAX_REASON_LENGTH))
            continue
        if claim_id in seen:
            report.errors.append(_problem(line, "repeated_claim", claim=claim_id, first_line=seen[claim_id]))
            continue
        seen[claim_id] = line
        parsed.append((line, claim_id, result, reason))

    # Lock the claims the file names (PostgreSQL; SQLite already holds the write lock), so a
    # concurrent upload or a worker's carrier change waits and then sees this one's result.
    ids = [claim_id for _line, claim_id, _result, _reason in parsed]
    claims: dict[int, DataBonusClaim] = {}
    for offset in range(0, len(ids), 500):
        chunk = ids[offset:offset + 500]
        locked = list(session.scalars(sa.select(DataBonusClaim.id).where(DataBonusClaim.id.in_(chunk))
                                      .with_for_update()))
        for claim in session.scalars(sa.select(DataBonusClaim).where(DataBonusClaim.id.in_(locked))
                                     .execution_options(populate_existing=True)):
            claims[claim.id] = claim
    changes: list[tuple[DataBonusClaim, ClaimStatus, str]] = []
    for line, claim_id, result, reason in parsed:
        claim = claims.get(claim_id)
        if claim is None or claim.carrier != carrier:
            # Another carrier's claim reads the same as a missing one: nothing is revealed.
            report.errors.append(_problem(line, "not_your_claim", claim=claim_id, carrier=carrier))
            continue
        if claim.status is result and (result is ClaimStatus.FULFILLED or claim.reason == reason):
            report.unchanged += 1
            continue
        if claim.status not in _ALLOWED_FROM[result]:
            report.errors.append(_problem(line, "claim_final", claim=claim_id, status=claim.status, result=result))
            continue
        changes.append((claim, result, reason))
    if report.errors:
        return report
    for claim, result, reason in changes:
        claim.status = result
        claim.reason = reason if result is ClaimStatus.FAILED else ""
        claim.resolved_at = now
        claim.resolved_by_user_id = getattr(actor, "id", None)
        claim.updated_at = now
        if result is ClaimStatus.FULFILLED:
            report.fulfilled += 1
        else:
            report.failed += 1
    report.updated = report.fulfilled + report.failed
    session.flush()
    return report


def programme_counts(session: Session) -> dict[str, dict[str, int]]:
    """Officials' overview: claims per carrier and status."""
    counts = {carrier: {status.value: 0 for status in ClaimStatus} for carrier in CARRIERS}
    rows = session.execute(sa.select(DataBonusClaim.carrier, DataBonusClaim.status, sa.func.count())
                           .group_by(DataBonusClaim.carrier, DataBonusClaim.status))
    for carrier, status, count in rows:
        counts.setdefault(carrier, {s.value: 0 for s in ClaimStatus})[str(status)] = count
    return counts
