"""Builders for the review tests: the fraud scenario of issue 14, an honest enterprise, and
applications of each policy (P6 training claim, P7 subsidy application, P8 declaration)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import Site, bulk_workers, make_site
from tests.support.clock import at
from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.models import SubsidyClaimStatus, TrainingSubsidyClaim
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.roster import confirm_employee
from wzcheckin.residence.models import (
    ApplicationStatus,
    DeclarationStatus,
    EnterpriseHeadcount,
    ProductionDeclaration,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    SubsidyApplication,
)
from wzcheckin.scanning.models import Scan, ScanResult

_scan_numbers = itertools.count(1)
NOW = at("2021-03-01 00:05")


def scan(session, worker_id: int, site: Site, when: datetime, *, received: datetime | None = None,
         staff=None, evidence: bool = True) -> Scan:
    row = Scan(scan_id=f"review-scan-{next(_scan_numbers):08d}", checkpoint_id=site.gate.id,
               staff_user_id=(staff or site.staff).id, scanned_at=when, received_at=received or when,
               worker_id=worker_id, result=ScanResult.ACCEPTED, reason="entry_allowed", is_evidence=evidence,
               late_upload=received is not None and received - when > timedelta(hours=1))
    session.add(row)
    return row


def fraud_scenario(session, vault) -> Site:
    """50 self-registered workers, two scans each from one desk in bursts 2–3 seconds apart,
    uploaded two days late (backdated), and their 50 roster confirmations within one minute."""
    site = make_site(session, vault, name="可疑企业", district="瓯海区")
    ids = bulk_workers(session, vault, site, 50, on_roster=False, windows=())
    session.execute(sa.update(Worker).where(Worker.id.in_(ids)).values(registered_via="self"))
    admin = make_user(session, vault, Role.ENTERPRISE_ADMIN)
    confirmed_from = at("2021-02-20 15:00")
    for index, worker_id in enumerate(ids):  # 50 confirmations, one a second
        confirm_employee(session, site.enterprise, worker_id, confirmed_from + timedelta(seconds=index),
                         by_user_id=admin.id)
    for day in ("2021-02-05 10:00", "2021-02-13 10:00"):
        when = at(day)
        for index, worker_id in enumerate(ids):
            when += timedelta(seconds=2 if index % 2 else 3)
            scan(session, worker_id, site, when, received=when + timedelta(days=2))
    session.flush()
    return site


def honest_enterprise(session, vault, count: int = 30) -> Site:
    """Roster workers scanned a minute or more apart by two gatekeepers, in daytime, uploaded at once."""
    site = make_site(session, vault, name="正常企业", district="鹿城区")
    bulk_workers(session, vault, site, count)
    second = make_user(session, vault, Role.GATEKEEPER, checkpoint=site.gate)
    odd = sa.select(Scan.id).where(Scan.checkpoint_id == site.gate.id, Scan.id % 2 == 1).scalar_subquery()
    session.execute(sa.update(Scan).where(Scan.id.in_(odd)).values(staff_user_id=second.id))
    session.flush()
    return site


def official_snapshot(session, programme) -> Snapshot:
    snapshot = Snapshot(kind=SnapshotKind.OFFICIAL, as_of=programme.cutoff, phase=SnapshotPhase.COMPLETE,
                        progress_worker_id=0, started_at=NOW, completed_at=NOW, started_by="cli", parameters={},
                        summary={})
    session.add(snapshot)
    session.flush()
    return snapshot


def p7_application(session, snapshot: Snapshot, site: Site, *, amount_yuan: int = 50000, retained: int = 60,
                   status: ApplicationStatus = ApplicationStatus.APPLIED) -> SubsidyApplication:
    enterprise = site.enterprise
    session.add(EnterpriseHeadcount(snapshot_id=snapshot.id, enterprise_id=enterprise.id,
                                    credit_code=enterprise.credit_code, name=enterprise.name,
                                    district=enterprise.district, ownership="private", industrial=True, roster=retained,
                                    retained=retained, tier=50 if amount_yuan == 50000 else 100,
                                    amount_yuan=amount_yuan))
    application = SubsidyApplication(snapshot_id=snapshot.id, enterprise_id=enterprise.id, retained=retained,
                                     tier=50 if amount_yuan == 50000 else 100, amount_yuan=amount_yuan, status=status,
                                     applied_at=NOW, applied_by_user_id=site.staff.id)
    session.add(application)
    session.flush()
    return application


def p8_declaration(session, site: Site, *, eligible: bool = True) -> ProductionDeclaration:
    declaration = ProductionDeclaration(
        enterprise_id=site.enterprise.id, programme_year=2021, output_previous_year_yuan=60_000_000,
        output_q3_yuan=10_000_000, output_q4_yuan=10_000_000, output_q1_yuan=20_000_000 if eligible else 1,
        eligible=eligible, reason="eligible" if eligible else "q1_below_h2", amount_yuan=100000 if eligible else 0,
        status=DeclarationStatus.DECLARED, declared_at=NOW, declared_by_user_id=site.staff.id)
    session.add(declaration)
    session.flush()
    return declaration


def p6_claim(session, site: Site, *, amount_fen: int = 123456) -> TrainingSubsidyClaim:
    claim = TrainingSubsidyClaim(enterprise_id=site.enterprise.id, status=SubsidyClaimStatus.SUBMITTED,
                                 online_fen=amount_fen, project_fen=0, amount_fen=amount_fen, breakdown={},
                                 submitted_at=NOW, submitted_by_user_id=site.staff.id, review_reason="")
    session.add(claim)
    session.flush()
    return claim
