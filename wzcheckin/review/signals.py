"""Review room: risk signals (风险信号) per enterprise, computed from the evidence and the roster.

A signal is a pattern an official should look at before paying: it is shown beside the
enterprise's P6/P7/P8 applications and acknowledged with a note on approval; it never decides
anything by itself. Every threshold is the programme's (``[review]``). Kinds:

* ``scan_burst`` — accepted scans from one desk (staff account) in a rapid run: at least
  ``burst_min_scans`` in a row, each at most ``burst_max_gap_seconds`` after the one before;
* ``late_upload`` — scans received more than ``late_upload_minutes`` after their scan time
  (how backdated evidence arrives);
* ``night_scan`` — scans at local night hours;
* ``impossible_travel`` — one worker scanned in two districts further apart than the programme's
  speed allows in the time between (straight-line distances from the programme's table);
* ``self_registered_share`` — of the enterprise's retained workers, a large share registered
  themselves rather than came from the enterprise's roster import;
* ``bulk_confirmation`` — many roster confirmations within one minute;
* ``single_desk`` — all of the enterprise's evidence from one desk;
* ``window_end_cluster`` — evidence crowded into the last minutes of each evidence window.

Scans count for the enterprise of the worker scanned (whose headcount they would raise). The
scans read are accepted ones scanned from the programme's start and received by ``now``; the
time arithmetic is done in Python over rows streamed in order, the same on both databases.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker, WorkerFacts
from wzcheckin.core.facts import true_at
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.models import Snapshot, SnapshotKind, SnapshotPhase, WorkerStatus
from wzcheckin.review.models import RiskSignal, SignalRun
from wzcheckin.scanning.models import Checkpoint, Scan, ScanResult

SIGNAL_KINDS = ("scan_burst", "late_upload", "night_scan", "impossible_travel", "self_registered_share",
                "bulk_confirmation", "single_desk", "window_end_cluster")
STREAM_BATCH = 5000


@dataclass
class Tally:
    """A count and the first ``cap`` row ids behind it."""

    cap: int
    count: int = 0
    ids: list[int] = field(default_factory=list)

    def add(self, row_id: int, weight: int = 1) -> None:
        self.count += weight
        if len(self.ids) < self.cap:
            self.ids.append(row_id)


@dataclass(frozen=True)
class Finding:
    enterprise_id: int
    kind: str
    count: int
    params: dict
    row_type: str
    row_ids: list[int]


# --- the explanations, in plain Chinese (stored) and in English (shown to English readers) --------

EXPLANATIONS_ZH: dict[str, str] = {
    "scan_burst": "同一扫码账号连续快速扫码：{count} 次扫码处在间隔不超过 {max_gap_seconds} 秒的连续扫码中"
                  "（共 {bursts} 段，每段至少 {min_scans} 次），涉及 {desks} 个扫码账号。",
    "late_upload": "{count} 次扫码在扫码后超过 {late_minutes} 分钟才上传，最长延迟 {max_delay_hours} 小时。",
    "night_scan": "{count} 次扫码发生在夜间 {night_start_hour} 点至 {night_end_hour} 点（本地时间）。",
    "impossible_travel": "{workers} 名员工在相距较远的区县之间移动过快：{count} 对相邻扫码的速度超过每小时 "
                         "{max_kmh} 公里（最快 {fastest_kmh} 公里/小时）。",
    "self_registered_share": "留温员工 {retained} 人中有 {count} 人（{percent}%）为自行注册，"
                             "而非企业花名册导入（阈值 {threshold_percent}%）。",
    "bulk_confirmation": "企业在一分钟内最多确认了 {max_in_a_minute} 名员工的花名册（阈值每分钟 {per_minute} 人），"
                         "共 {count} 次确认处在这样的一分钟内。",
    "single_desk": "该企业的全部 {count} 次在温证明扫码都来自同一个扫码账号。",
    "window_end_cluster": "{count} 次证明扫码（占 {percent}%）集中在各证明时段的最后 {minutes} 分钟内"
                          "（阈值 {threshold_percent}%）。",
}

EXPLANATIONS_EN: dict[str, str] = {
    "scan_burst": "Rapid scanning from one desk: {count} scans were in runs with at most {max_gap_seconds} s "
                  "between scans ({bursts} runs of at least {min_scans}), from {desks} desk(s).",
    "late_upload": "{count} scans were uploaded more than {late_minutes} minutes after they were scanned; "
                   "the longest delay was {max_delay_hours} hours.",
    "night_scan": "{count} scans were made at night, {night_start_hour}:00 to {night_end_hour}:00 local time.",
    "impossible_travel": "{workers} worker(s) moved between districts too fast: {count} pairs of consecutive scans "
                         "faster than {max_kmh} km/h (fastest {fastest_kmh} km/h).",
    "self_registered_share": "{count} of {retained} retained workers ({percent}%) registered themselves rather "
                             "than coming from the enterprise's roster (threshold {threshold_percent}%).",
    "bulk_confirmation": "Up to {max_in_a_minute} roster confirmations within one minute (threshold "
                         "{per_minute} a minute); {count} confirmations fell in such minutes.",
    "single_desk": "All {count} evidence scans of this enterprise came from a single desk.",
    "window_end_cluster": "{count} evidence scans ({percent}%) fell in the last {minutes} minutes of the evidence "
                          "windows (threshold {threshold_percent}%).",
}


def explain(kind: str, params: dict, *, english: bool = False) -> str:
    template = (EXPLANATIONS_EN if english else EXPLANATIONS_ZH).get(kind)
    if template is None:
        return kind
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return kind


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


# --- the scans read ------------------------------------------------------------------------------

def _employer_then(now: datetime):
    """Join a scan to the worker's employer as the facts stood at ``now`` — never the live row, so
    a worker who changes employer later does not carry their scans to the new one."""
    return WorkerFacts, sa.and_(WorkerFacts.worker_id == Scan.worker_id, true_at(WorkerFacts, now))


def _scan_scope(programme: Programme, now: datetime):
    """Accepted scans of workers with an employer, scanned from the programme's start until now
    and received by now."""
    return (
        Scan.result == ScanResult.ACCEPTED,
        Scan.worker_id.is_not(None),
        WorkerFacts.enterprise_id.is_not(None),
        Scan.scanned_at >= programme.local_day_start(programme.programme.starts),
        Scan.scanned_at < now,
        Scan.received_at <= now,
    )


def _stream(session: Session, statement):
    return session.execute(statement, execution_options={"yield_per": STREAM_BATCH})


def _desk_signals(session: Session, programme: Programme, now: datetime) -> list[Finding]:
    """One pass over the scans in (desk, time) order: bursts, late uploads, night scans, single
    desk, and evidence at the ends of the windows."""
    rules = programme.review
    cap = rules.rows_kept
    gap = timedelta(seconds=rules.burst_max_gap_seconds)
    late = timedelta(minutes=rules.late_upload_minutes)
    window_ends = [programme.window_bounds(window)[1] for window in programme.evidence_windows]
    last_minutes = timedelta(minutes=rules.window_end_minutes)
    tz = programme.tz

    bursts: dict[int, Tally] = defaultdict(lambda: Tally(cap))
    burst_runs: dict[int, int] = defaultdict(int)
    burst_desks: dict[int, set[int]] = defaultdict(set)
    lates: dict[int, Tally] = defaultdict(lambda: Tally(cap))
    max_delay: dict[int, timedelta] = defaultdict(timedelta)
    nights: dict[int, Tally] = defaultdict(lambda: Tally(cap))
    evidence: dict[int, Tally] = defaultdict(lambda: Tally(cap))
    evidence_desks: dict[int, set[int]] = defaultdict(set)
    at_window_end: dict[int, Tally] = defaultdict(lambda: Tally(cap))

    run: list[tuple[int, int, int]] = []  # (scan id, enterprise id, desk) of the current rapid run

    def close_run() -> None:
        if len(run) >= rules.burst_min_scans:
            enterprises = set()
            for scan_id, enterprise_id, desk in run:
                bursts[enterprise_id].add(scan_id)
                burst_desks[enterprise_id].add(desk)
                enterprises.add(enterprise_id)
            for enterprise_id in enterprises:
                burst_runs[enterprise_id] += 1
        run.clear()

    statement = (
        sa.select(Scan.id, Scan.staff_user_id, Scan.scanned_at, Scan.received_at, Scan.is_evidence,
                  WorkerFacts.enterprise_id)
        .join(*_employer_then(now))
        .where(*_scan_scope(programme, now))
        .order_by(Scan.staff_user_id, Scan.scanned_at, Scan.id)
    )
    previous_desk, previous_at = None, None
    for scan_id, desk, scanned_at, received_at, is_evidence, enterprise_id in _stream(session, statement):
        if desk != previous_desk or scanned_at - previous_at > gap:
            close_run()
        run.append((scan_id, enterprise_id, desk))
        previous_desk, previous_at = desk, scanned_at

        delay = received_at - scanned_at
        if delay > late:
            lates[enterprise_id].add(scan_id)
            max_delay[enterprise_id] = max(max_delay[enterprise_id], delay)
        hour = scanned_at.astimezone(tz).hour
        if _is_night(hour, rules.night_start_hour, rules.night_end_hour):
            nights[enterprise_id].add(scan_id)
        if is_evidence:
            evidence[enterprise_id].add(scan_id)
            evidence_desks[enterprise_id].add(desk)
            if any(end - last_minutes <= scanned_at < end for end in window_ends):
                at_window_end[enterprise_id].add(scan_id)
    close_run()

    findings = []
    for enterprise_id, tally in bursts.items():
        if tally.count >= rules.burst_min_scans:
            findings.append(Finding(enterprise_id, "scan_burst", tally.count, {
                "count": tally.count, "bursts": burst_runs[enterprise_id], "desks": len(burst_desks[enterprise_id]),
                "max_gap_seconds": rules.burst_max_gap_seconds, "min_scans": rules.burst_min_scans,
            }, "scan", tally.ids))
    for enterprise_id, tally in lates.items():
        if tally.count >= rules.late_upload_min_scans:
            findings.append(Finding(enterprise_id, "late_upload", tally.count, {
                "count": tally.count, "late_minutes": rules.late_upload_minutes,
                "max_delay_hours": round(max_delay[enterprise_id].total_seconds() / 3600, 1),
                "min_scans": rules.late_upload_min_scans,
            }, "scan", tally.ids))
    for enterprise_id, tally in nights.items():
        if tally.count >= rules.night_min_scans:
            findings.append(Finding(enterprise_id, "night_scan", tally.count, {
                "count": tally.count, "night_start_hour": rules.night_start_hour,
                "night_end_hour": rules.night_end_hour, "min_scans": rules.night_min_scans,
            }, "scan", tally.ids))
    for enterprise_id, tally in evidence.items():
        if tally.count >= rules.single_desk_min_scans and len(evidence_desks[enterprise_id]) == 1:
            findings.append(Finding(enterprise_id, "single_desk", tally.count, {
                "count": tally.count, "desk_user_id": next(iter(evidence_desks[enterprise_id])),
                "min_scans": rules.single_desk_min_scans,
            }, "scan", tally.ids))
        clustered = at_window_end.get(enterprise_id)
        if clustered is not None and tally.count >= rules.window_end_min_scans \
                and clustered.count >= rules.window_end_max_share * tally.count:
            findings.append(Finding(enterprise_id, "window_end_cluster", clustered.count, {
                "count": clustered.count, "evidence": tally.count, "percent": _percent(clustered.count, tally.count),
                "minutes": rules.window_end_minutes,
                "threshold_percent": round(100 * rules.window_end_max_share, 1),
            }, "scan", clustered.ids))
    return findings


def _is_night(hour: int, start: int, end: int) -> bool:
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def _travel_signals(session: Session, programme: Programme, now: datetime) -> list[Finding]:
    """One pass over the scans in (worker, time) order: consecutive scans in two districts
    faster apart than ``travel_max_kmh``."""
    rules = programme.review
    if not rules.district_distances_km:
        return []
    pairs: dict[int, Tally] = defaultdict(lambda: Tally(rules.rows_kept))
    workers: dict[int, set[int]] = defaultdict(set)
    fastest: dict[int, float] = defaultdict(float)
    statement = (
        sa.select(Scan.id, Scan.worker_id, Scan.scanned_at, Checkpoint.district, WorkerFacts.enterprise_id)
        .join(*_employer_then(now))
        .join(Checkpoint, Checkpoint.id == Scan.checkpoint_id)
        .where(*_scan_scope(programme, now))
        .order_by(Scan.worker_id, Scan.scanned_at, Scan.id)
    )
    previous = None
    for scan_id, worker_id, scanned_at, district, enterprise_id in _stream(session, statement):
        if previous is not None and previous[1] == worker_id:
            km = rules.distance_km(previous[3], district)
            if km:
                hours = (scanned_at - previous[2]).total_seconds() / 3600
                speed = km / hours if hours > 0 else float("inf")
                if speed > rules.travel_max_kmh:
                    tally = pairs[enterprise_id]
                    tally.add(previous[0])
                    if len(tally.ids) < tally.cap:
                        tally.ids.append(scan_id)
                    workers[enterprise_id].add(worker_id)
                    fastest[enterprise_id] = max(fastest[enterprise_id], speed)
        previous = (scan_id, worker_id, scanned_at, district)
    return [
        Finding(enterprise_id, "impossible_travel", tally.count, {
            "count": tally.count, "workers": len(workers[enterprise_id]), "max_kmh": rules.travel_max_kmh,
            "fastest_kmh": "∞" if fastest[enterprise_id] == float("inf") else round(fastest[enterprise_id]),
        }, "scan", tally.ids)
        for enterprise_id, tally in pairs.items()
    ]


def retained_population(session: Session, programme: Programme):
    """(snapshot id or None, SELECT of (worker id, enterprise id, registered_via)) — the
    enterprise's retained workers in the latest complete snapshot (the official one when it
    exists), or, before any snapshot, the workers on its confirmed roster now."""
    snapshot_id = session.scalar(
        sa.select(Snapshot.id).where(Snapshot.phase == SnapshotPhase.COMPLETE, Snapshot.kind != SnapshotKind.TRIAL)
        .order_by(sa.case((Snapshot.kind == SnapshotKind.OFFICIAL, 0), else_=1), Snapshot.as_of.desc(),
                  Snapshot.id.desc())
        .limit(1))
    if snapshot_id is not None:
        return snapshot_id, (
            sa.select(WorkerStatus.worker_id, WorkerStatus.enterprise_id, Worker.registered_via)
            .join(Worker, Worker.id == WorkerStatus.worker_id)
            .where(WorkerStatus.snapshot_id == snapshot_id, WorkerStatus.confirmed == sa.true(),
                   WorkerStatus.on_roster == sa.true(), WorkerStatus.enterprise_id.is_not(None)))
    return None, (
        sa.select(Worker.id, Worker.enterprise_id, Worker.registered_via)
        .where(Worker.enterprise_id.is_not(None), Worker.employment_confirmed == sa.true()))


def _self_registered_signals(session: Session, programme: Programme) -> tuple[int | None, list[Finding]]:
    rules = programme.review
    snapshot_id, population = retained_population(session, programme)
    totals: dict[int, int] = defaultdict(int)
    selves: dict[int, Tally] = defaultdict(lambda: Tally(rules.rows_kept))
    for worker_id, enterprise_id, registered_via in _stream(session, population):
        totals[enterprise_id] += 1
        if registered_via == "self":
            selves[enterprise_id].add(worker_id)
    findings = []
    for enterprise_id, tally in selves.items():
        total = totals[enterprise_id]
        if total >= rules.self_registered_min_workers and tally.count >= rules.self_registered_max_share * total:
            findings.append(Finding(enterprise_id, "self_registered_share", tally.count, {
                "count": tally.count, "retained": total, "percent": _percent(tally.count, total),
                "threshold_percent": round(100 * rules.self_registered_max_share, 1),
                "from_snapshot": snapshot_id,
            }, "worker", tally.ids))
    return snapshot_id, findings


def _bulk_confirmation_signals(session: Session, programme: Programme, now: datetime) -> list[Finding]:
    """Roster confirmations (worker-fact versions written by the sources the programme names, that
    put the worker on a confirmed roster) within any one minute, per enterprise."""
    rules = programme.review
    minute = timedelta(minutes=1)
    statement = (
        sa.select(WorkerFacts.id, WorkerFacts.enterprise_id, WorkerFacts.valid_from)
        .where(WorkerFacts.source.in_(rules.bulk_confirmation_sources), WorkerFacts.employment_confirmed == sa.true(),
               WorkerFacts.enterprise_id.is_not(None), WorkerFacts.valid_from < now)
        .order_by(WorkerFacts.enterprise_id, WorkerFacts.valid_from, WorkerFacts.id)
    )
    flagged: dict[int, Tally] = defaultdict(lambda: Tally(rules.rows_kept))
    flagged_ids: dict[int, set[int]] = defaultdict(set)
    peak: dict[int, int] = defaultdict(int)
    recent: deque[tuple[int, datetime]] = deque()
    current = None
    for fact_id, enterprise_id, valid_from in _stream(session, statement):
        if enterprise_id != current:
            recent.clear()
            current = enterprise_id
        recent.append((fact_id, valid_from))
        while valid_from - recent[0][1] >= minute:
            recent.popleft()
        peak[enterprise_id] = max(peak[enterprise_id], len(recent))
        if len(recent) >= rules.bulk_confirmations_per_minute:
            for earlier_id, _when in recent:
                if earlier_id not in flagged_ids[enterprise_id]:
                    flagged_ids[enterprise_id].add(earlier_id)
                    flagged[enterprise_id].add(earlier_id)
    return [
        Finding(enterprise_id, "bulk_confirmation", tally.count, {
            "count": tally.count, "max_in_a_minute": peak[enterprise_id],
            "per_minute": rules.bulk_confirmations_per_minute,
        }, "worker_facts", tally.ids)
        for enterprise_id, tally in flagged.items()
    ]


# --- a run -----------------------------------------------------------------------------------------

def find_signals(session: Session, programme: Programme, *, now: datetime,
                 progress: Callable[[str], None] | None = None) -> tuple[int | None, list[Finding]]:
    """Every enterprise's signals as of ``now`` (reads only): (the snapshot read, the findings)."""
    say = progress or (lambda _message: None)
    say("risk signals: scans by desk")
    findings = _desk_signals(session, programme, now)
    say("risk signals: travel between districts")
    findings += _travel_signals(session, programme, now)
    say("risk signals: retained workers and roster confirmations")
    snapshot_id, self_registered = _self_registered_signals(session, programme)
    findings += self_registered
    findings += _bulk_confirmation_signals(session, programme, now)
    return snapshot_id, findings


def store_signals(session: Session, programme: Programme, *, now: datetime, kind: str, snapshot_id: int | None,
                  findings: list[Finding]) -> SignalRun:
    """A new run with its signals (flushes; the caller commits). Earlier runs stay as they were:
    acknowledgements point at their signals."""
    by_kind: dict[str, int] = defaultdict(int)
    for finding in findings:
        by_kind[finding.kind] += 1
    run = SignalRun(kind=kind, computed_at=now, snapshot_id=snapshot_id,
                    parameters=programme.review.model_dump(mode="json"),
                    summary={"signals": len(findings), "enterprises": len({f.enterprise_id for f in findings}),
                             "by_kind": dict(sorted(by_kind.items()))})
    session.add(run)
    session.flush()
    codes = dict(session.execute(sa.select(Enterprise.id, Enterprise.credit_code).where(
        Enterprise.id.in_({finding.enterprise_id for finding in findings}))).all()) if findings else {}
    rows = [{
        "run_id": run.id, "enterprise_id": finding.enterprise_id, "credit_code": codes[finding.enterprise_id],
        "kind": finding.kind, "count": finding.count, "explanation": explain(finding.kind, finding.params),
        "params": finding.params, "row_type": finding.row_type, "row_ids": finding.row_ids,
    } for finding in sorted(findings, key=lambda f: (f.enterprise_id, SIGNAL_KINDS.index(f.kind)))]
    if rows:
        session.execute(sa.insert(RiskSignal), rows)
    session.flush()
    return run


def compute_signals(session: Session, programme: Programme, *, now: datetime, kind: str = "manual",
                    progress: Callable[[str], None] | None = None) -> SignalRun:
    """Find and store every enterprise's signals as of ``now``, in the caller's transaction."""
    snapshot_id, findings = find_signals(session, programme, now=now, progress=progress)
    run = store_signals(session, programme, now=now, kind=kind, snapshot_id=snapshot_id, findings=findings)
    if progress:
        progress(f"risk signals: {run.summary['signals']} signal(s) for {run.summary['enterprises']} enterprise(s)")
    return run


def latest_run(session: Session) -> SignalRun | None:
    return session.scalar(sa.select(SignalRun).where(SignalRun.summary.is_not(None))
                          .order_by(SignalRun.id.desc()).limit(1))


def signals_of(session: Session, run: SignalRun | None, *, enterprise_id: int | None = None,
               credit_code: str | None = None) -> list[RiskSignal]:
    if run is None:
        return []
    query = sa.select(RiskSignal).where(RiskSignal.run_id == run.id)
    if enterprise_id is not None:
        query = query.where(RiskSignal.enterprise_id == enterprise_id)
    if credit_code is not None:
        query = query.where(RiskSignal.credit_code == credit_code)
    return list(session.scalars(query.order_by(RiskSignal.enterprise_id, RiskSignal.id)))


def signals_by_enterprise(session: Session, run: SignalRun | None, enterprise_ids) -> dict[int, list[RiskSignal]]:
    grouped: dict[int, list[RiskSignal]] = defaultdict(list)
    ids = list(set(enterprise_ids))
    if run is None or not ids:
        return grouped
    for signal in session.scalars(sa.select(RiskSignal).where(RiskSignal.run_id == run.id,
                                                              RiskSignal.enterprise_id.in_(ids))
                                  .order_by(RiskSignal.id)):
        grouped[signal.enterprise_id].append(signal)
    return grouped


def signal_record(signal: RiskSignal) -> dict:
    """A signal as the command line and exports print it."""
    return {"credit_code": signal.credit_code, "kind": signal.kind, "count": signal.count,
            "explanation": signal.explanation, "params": signal.params, "row_type": signal.row_type,
            "row_ids": signal.row_ids, "signal_id": signal.id, "run_id": signal.run_id}
