"""Residence room: the rules of residence confirmation (SPEC §3) as SQL, applied in bulk.

A worker is **confirmed retained** as of an instant when, by the facts as they stood then: they
had pledged; their household registration was outside Wenzhou (not Wenzhou, and not waiting for
an official's review); they have at least one piece of evidence (an accepted staff scan, or a
self check-in where the programme says so) in every evidence window, scanned and received
strictly before the instant; and no departure on a day that began before it.

Every input is read **as of** the instant, never live: the worker's pledge, hukou, permit and
employer come from the version of ``WorkerFacts`` that held then, ownership from
``EnterpriseFacts``, departures by when they were recorded and withdrawn, evidence by when it
was received. So the same instant always gives the same answer, however often, however
interrupted the run, and whatever was changed afterwards (a roster re-import, a hukou review):
later facts reach a decision only through a numbered correction.

These functions only flush; ``cutoff.py`` runs them step by step, each in its own transaction.
Memory stays flat: statuses are computed by ``INSERT … SELECT`` per chunk of worker ids, the
evidence aggregated with ``GROUP BY`` over an index range of the scans of that chunk
(``ix_scans_evidence_worker_time``), never loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker, WorkerFacts
from wzcheckin.core.facts import true_at
from wzcheckin.directory.models import Enterprise, EnterpriseFacts
from wzcheckin.programme import HukouStatus, Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.evidence import evidence_rows
from wzcheckin.residence.models import Departure, EnterpriseHeadcount, SnapshotKind, WorkerStatus


@dataclass(frozen=True)
class Rules:
    """The rules of one run, as of one instant."""

    as_of: datetime
    known_at: datetime              # evidence received after this was not known to the decision
    strict: bool                    # every window must have evidence (a preview: every closed one)
    bounds: tuple[tuple[datetime, datetime], ...]  # [start, end) per window, clipped to as_of
    required_mask: int              # the windows a worker must have evidence in
    last_departure_day: date        # a departure on or before this local date counts
    permit_day: date                # the residence permit must be valid on this local date (P2)

    def parameters(self, programme: Programme) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at.isoformat(),
            "programme_cutoff": programme.cutoff.isoformat(),
            "programme_file": programme.source_path.rsplit("/", 1)[-1],
            "strict": self.strict,
            "windows": [
                {"name": w.name, "name_en": w.name_en, "start": w.start.isoformat(), "end": w.end.isoformat(),
                 "required": bool(self.required_mask & (1 << i))}
                for i, w in enumerate(programme.evidence_windows)
            ],
            "self_checkins_count": programme.evidence.self_checkins_count,
            "home_region_prefixes": list(programme.programme.home_region_prefixes),
            "hukou": programme.hukou.model_dump(),
            "last_departure_day": self.last_departure_day.isoformat(),
            "permit_valid_on": self.permit_day.isoformat(),
            "retention_subsidy": programme.retention_subsidy.model_dump(),
        }


def rules_for(programme: Programme, as_of: datetime, kind: SnapshotKind, known_at: datetime | None = None) -> Rules:
    """The rules of a decision as of ``as_of`` (the policy instant: facts as they stood then),
    knowing what had been received by ``known_at`` (default: ``as_of``; a cutoff run passes the
    instant it began, kept in its snapshot, so a resumed run knows exactly the same)."""
    strict = kind is not SnapshotKind.PREVIEW
    bounds = []
    required = 0
    for index, window in enumerate(programme.evidence_windows):
        start, end = programme.window_bounds(window)
        bounds.append((start, min(end, as_of)))
        if strict or end <= as_of:
            required |= 1 << index
    return Rules(
        as_of=as_of,
        known_at=max(known_at or as_of, as_of),
        strict=strict,
        bounds=tuple(bounds),
        required_mask=required,
        # A departure on day D counts when D began before the instant.
        last_departure_day=programme.local_date(as_of - timedelta(microseconds=1)),
        # P2 "valid at the cutoff": valid on the last local day before it — a permit expiring on
        # 28 Feb is valid through 28 Feb 24:00, the cutoff itself.
        permit_day=programme.cutoff_day,
    )


def evidence_flags(programme: Programme, rules: Rules, worker_filter) -> sa.Subquery:
    """(worker_id, satisfied): bit i set when the worker has evidence in window i. One pass over
    the evidence of the workers selected by ``worker_filter(worker_id_column)``, grouped by worker
    — an index range scan of ``ix_scans_evidence_worker_time`` per chunk of worker ids, so the
    whole cutoff reads each scan once."""
    evidence = evidence_rows(programme, rules.as_of, rules.known_at).subquery("ev")
    terms = [
        sa.func.max(sa.case((sa.and_(evidence.c.at >= start, evidence.c.at < end), 1 << index), else_=0))
        for index, (start, end) in enumerate(rules.bounds) if start < end
    ]
    satisfied = sum(terms[1:], terms[0]) if terms else sa.literal(0)
    earliest = min(start for start, _end in rules.bounds)
    return (
        sa.select(evidence.c.worker_id.label("worker_id"), satisfied.label("satisfied"))
        .where(worker_filter(evidence.c.worker_id), evidence.c.at >= earliest)
        .group_by(evidence.c.worker_id)
        .subquery("flags")
    )


def status_select(programme: Programme, rules: Rules, *, worker_range: tuple[int, int] | None = None,
                  enterprise_id: int | None = None) -> sa.Select:
    """One row per worker registered before the instant — those with ids in ``worker_range``
    (after, up_to], or those linked to ``enterprise_id`` — with the columns of
    :class:`WorkerStatus` except ``snapshot_id``."""
    worker = Worker
    as_of = rules.as_of
    if worker_range is not None:
        after, up_to = worker_range

        def select_workers(column):
            return sa.and_(column > after, column <= up_to)
    elif enterprise_id is not None:
        # The enterprise's workers at the instant (the roster then, not now).
        def select_workers(column):
            return column.in_(sa.select(WorkerFacts.worker_id).where(WorkerFacts.enterprise_id == enterprise_id,
                                                                      true_at(WorkerFacts, as_of)))
    else:
        raise ValueError("status_select needs worker_range or enterprise_id")
    flags = evidence_flags(programme, rules, select_workers)
    satisfied = sa.func.coalesce(flags.c.satisfied, 0)
    facts = WorkerFacts

    departed_on = (
        sa.select(sa.func.min(Departure.departed_on))
        # "At or before": a live preview as of now sees a departure recorded this very instant.
        # (Recording closes at the cutoff, so for the official snapshot this is "before".)
        .where(Departure.worker_id == worker.id, Departure.recorded_at <= as_of,
               sa.or_(Departure.withdrawn_at.is_(None), Departure.withdrawn_at > as_of),
               Departure.departed_on <= rules.last_departure_day)
        .scalar_subquery()
    )
    # The facts as they stood at the instant: no version then (none recorded yet) counts nobody.
    inner = (
        sa.select(
            worker.id.label("worker_id"),
            facts.enterprise_id.label("enterprise_id"),
            sa.func.coalesce(sa.and_(facts.enterprise_id.is_not(None), facts.employment_confirmed == sa.true()),
                             False).label("on_roster"),
            sa.func.coalesce(facts.pledged == sa.true(), False).label("pledged"),
            sa.func.coalesce(facts.hukou_status, HukouStatus.REVIEW.value).label("hukou"),
            departed_on.label("departed_on"),
            satisfied.label("satisfied"),
            # P2: a permit with a known expiry on or after the last day before the cutoff; a
            # blank expiry is not valid (the worker is asked for it).
            sa.func.coalesce(sa.and_(facts.permit_held == sa.true(), facts.permit_expiry.is_not(None),
                                     facts.permit_expiry >= rules.permit_day), False).label("permit_valid"),
        )
        .select_from(worker)
        .outerjoin(facts, sa.and_(facts.worker_id == worker.id, true_at(facts, as_of)))
        .outerjoin(flags, flags.c.worker_id == worker.id)
        .where(worker.created_at < as_of, select_workers(worker.id))
        # OFFSET 0 keeps PostgreSQL from inlining the subquery into the expressions below, which
        # read "satisfied" and "departed_on" several times.
        .offset(0)
        .subquery("w")
    )
    required = rules.required_mask
    has_all = inner.c.satisfied.bitwise_and(required) == required
    non_local = inner.c.hukou == HukouStatus.NON_LOCAL.value
    reason = sa.case(
        (sa.not_(inner.c.pledged), reasons.NOT_PLEDGED),
        (inner.c.hukou == HukouStatus.HOME.value, reasons.WENZHOU_HUKOU),
        (sa.not_(non_local), reasons.HUKOU_REVIEW),
        (inner.c.departed_on.is_not(None), reasons.DEPARTED),
        (sa.not_(has_all), reasons.MISSING_EVIDENCE),
        else_=reasons.CONFIRMED if rules.strict else reasons.ON_TRACK,
    )
    confirmed = sa.and_(inner.c.pledged, non_local, inner.c.departed_on.is_(None), has_all)
    return sa.select(
        inner.c.worker_id,
        inner.c.enterprise_id,
        inner.c.on_roster,
        sa.case((confirmed, True), else_=False).label("confirmed"),
        reason.label("reason"),
        inner.c.satisfied.label("windows_satisfied"),
        (required - inner.c.satisfied.bitwise_and(required)).label("windows_missed"),
        inner.c.permit_valid,
        inner.c.departed_on,
    )


STATUS_COLUMNS = ("worker_id", "enterprise_id", "on_roster", "confirmed", "reason", "windows_satisfied",
                  "windows_missed", "permit_valid", "departed_on")


def write_statuses(session: Session, programme: Programme, rules: Rules, snapshot_id: int,
                   after_worker_id: int, up_to_worker_id: int) -> int:
    """INSERT … SELECT the statuses of workers with ids in (after, up_to]; returns the row count."""
    rows = status_select(programme, rules, worker_range=(after_worker_id, up_to_worker_id))
    source = rows.subquery("s")
    insert = sa.insert(WorkerStatus).from_select(
        ["snapshot_id", *STATUS_COLUMNS],
        sa.select(sa.literal(snapshot_id, sa.Integer).label("snapshot_id"),
                  *[source.c[name] for name in STATUS_COLUMNS]),
    )
    return session.connection().execute(insert, execution_options={"preserve_rowcount": True}).rowcount


def next_worker_boundary(session: Session, as_of: datetime, after_worker_id: int, chunk_size: int) -> int | None:
    """The id ending the next chunk of ``chunk_size`` workers after ``after_worker_id``; None when
    none is left."""
    ids = sa.select(Worker.id).where(Worker.id > after_worker_id, Worker.created_at < as_of)
    boundary = session.scalar(ids.order_by(Worker.id).offset(chunk_size - 1).limit(1))
    if boundary is not None:
        return boundary
    return session.scalar(sa.select(sa.func.max(Worker.id)).where(Worker.id > after_worker_id,
                                                                  Worker.created_at < as_of))


def write_headcounts(session: Session, programme: Programme, snapshot_id: int, as_of: datetime,
                     batch_size: int = 2000) -> int:
    """Every enterprise registered before the instant: its confirmed roster, how many of those
    are confirmed retained, and the P7 tier and amount (``programme.subsidy_for``). Counted in
    SQL; only the per-enterprise rows (thousands, not millions) pass through Python."""
    status = WorkerStatus
    counts = (
        sa.select(
            status.enterprise_id,
            sa.func.sum(sa.case((status.on_roster == sa.true(), 1), else_=0)).label("roster"),
            sa.func.sum(sa.case((sa.and_(status.on_roster == sa.true(), status.confirmed == sa.true()), 1),
                                else_=0)).label("retained"),
        )
        .where(status.snapshot_id == snapshot_id, status.enterprise_id.is_not(None))
        .group_by(status.enterprise_id)
        .subquery()
    )
    facts = EnterpriseFacts
    # Ownership, industry, name and district as they stood at the instant (P7 pays private
    # enterprises only; budgets are counted by district).
    rows = session.execute(
        sa.select(Enterprise.id, Enterprise.credit_code, sa.func.coalesce(facts.name, Enterprise.name),
                  sa.func.coalesce(facts.district, Enterprise.district),
                  sa.func.coalesce(facts.ownership, "other"), sa.func.coalesce(facts.industrial, False),
                  sa.func.coalesce(counts.c.roster, 0), sa.func.coalesce(counts.c.retained, 0))
        .outerjoin(facts, sa.and_(facts.enterprise_id == Enterprise.id, true_at(facts, as_of)))
        .outerjoin(counts, counts.c.enterprise_id == Enterprise.id)
        .where(Enterprise.created_at < as_of)
        .order_by(Enterprise.id)
        .execution_options(yield_per=batch_size)
    )
    written = 0
    batch: list[dict] = []
    for enterprise_id, credit_code, name, district, ownership, industrial, roster, retained in rows:
        ownership_value = getattr(ownership, "value", ownership)
        tier, amount = programme.subsidy_for(ownership_value, int(retained))
        batch.append({"snapshot_id": snapshot_id, "enterprise_id": enterprise_id, "credit_code": credit_code,
                      "name": name, "district": district, "ownership": ownership_value,
                      "industrial": bool(industrial), "roster": int(roster), "retained": int(retained),
                      "tier": tier, "amount_yuan": amount})
        if len(batch) >= batch_size:
            written += _flush_headcounts(session, batch)
    if batch:
        written += _flush_headcounts(session, batch)
    return written


def _flush_headcounts(session: Session, batch: list[dict]) -> int:
    session.execute(sa.insert(EnterpriseHeadcount), batch)
    count = len(batch)
    batch.clear()
    return count
