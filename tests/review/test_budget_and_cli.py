"""The budget (issue 14 item 8) and the review room's commands, in-process: ``risk signals``,
``risk compute`` and ``report budget`` (SPEC §6)."""

from __future__ import annotations

import csv
import io
import json

from tests.builders import make_user
from tests.residence.builders import make_site
from tests.review.builders import NOW, fraud_scenario, official_snapshot, p6_claim, p7_application, p8_declaration
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import ApplicationStatus
from wzcheckin.review import budget, queue
from wzcheckin.review.models import Policy
from wzcheckin.review.signals import compute_signals


def money_world(db, vault, programme):
    """P7: 50,000 approved and paid (鹿城区), 100,000 applied (瓯海区), 50,000 rejected (瓯海区);
    P8: 100,000 declared (瓯海区); P6: 1,234.56 approved (鹿城区)."""
    official = make_user(db, vault, Role.HR_OFFICIAL)  # 人社局 decides P6 and P7
    snapshot = official_snapshot(db, programme)
    paid = p7_application(db, snapshot, make_site(db, vault, district="鹿城区"))
    p7_application(db, snapshot, make_site(db, vault, district="瓯海区"), amount_yuan=100000, retained=120)
    p7_application(db, snapshot, make_site(db, vault, district="瓯海区"), status=ApplicationStatus.REJECTED)
    p8_declaration(db, make_site(db, vault, district="瓯海区"))
    claim = p6_claim(db, make_site(db, vault, district="鹿城区"), amount_fen=123456)
    queue.approve(db, programme, policy=Policy.P7, application_id=paid.id, notes={}, actor=official, now=NOW)
    queue.mark_paid(db, programme, policy=Policy.P7, application_id=paid.id, reference="B1", actor=official, now=NOW)
    queue.approve(db, programme, policy=Policy.P6, application_id=claim.id, notes={}, actor=official, now=NOW)
    db.commit()


EXPECTED = [
    {"policy": "P6", "district": "鹿城区", "committed_yuan": 1234.56, "approved_yuan": 1234.56, "paid_yuan": 0},
    {"policy": "P7", "district": "瓯海区", "committed_yuan": 100000, "approved_yuan": 0, "paid_yuan": 0},
    {"policy": "P7", "district": "鹿城区", "committed_yuan": 50000, "approved_yuan": 50000, "paid_yuan": 50000},
    {"policy": "P8", "district": "瓯海区", "committed_yuan": 100000, "approved_yuan": 0, "paid_yuan": 0},
]


def test_committed_approved_and_paid_per_policy_and_district(db, vault, programme):
    """Committed leaves out rejected applications; approved counts P7's paid ones too; paid is P7's
    paid status and the review room's payments for P6 and P8."""
    money_world(db, vault, programme)
    assert [row.record() for row in budget.budget_rows(db, programme)] == EXPECTED
    by_policy = {row.policy: row.committed_fen for row in budget.totals(budget.budget_rows(db, programme), "policy")}
    assert by_policy == {"P6": 123456, "P7": 15_000_000, "P8": 10_000_000}
    # the payment file: approved and not yet paid
    lines = budget.payment_lines(db, programme)
    assert [(line.policy, line.amount_fen) for line in lines] == [("P6", 123456)]
    assert lines[0].csv_row()[5] == "1234.56"


def test_report_budget_prints_json_rows_and_csv(runner, db, vault, programme):
    money_world(db, vault, programme)
    result = runner.invoke(args=["report", "budget"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == EXPECTED
    result = runner.invoke(args=["report", "budget", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["policy", "district", "committed_yuan", "approved_yuan", "paid_yuan"]
    assert rows[1] == ["P6", "鹿城区", "1234.56", "1234.56", "0"]
    assert len(rows) == 5


def test_risk_signals_prints_the_latest_run_as_json(runner, db, vault, programme):
    result = runner.invoke(args=["risk", "signals"])
    assert result.exit_code == 0 and json.loads(result.output.strip().splitlines()[-1]) == []
    fraud = fraud_scenario(db, vault)
    make_site(db, vault)
    db.commit()
    result = runner.invoke(args=["risk", "compute"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["enterprises"] == 1 and summary["by_kind"]["scan_burst"] == 1

    result = runner.invoke(args=["risk", "signals", "--credit-code", fraud.enterprise.credit_code])
    assert result.exit_code == 0, result.output
    signals = json.loads(result.output.strip().splitlines()[-1])
    assert {s["kind"] for s in signals} == {"scan_burst", "late_upload", "self_registered_share", "bulk_confirmation",
                                            "single_desk"}
    assert all(s["credit_code"] == fraud.enterprise.credit_code and s["count"] > 0 and s["explanation"]
               for s in signals)
    result = runner.invoke(args=["risk", "signals", "--credit-code", "91330304MA0000000X"])
    assert json.loads(result.output.strip().splitlines()[-1]) == []


def test_the_nightly_job_stores_a_run(app, db, vault, programme):
    from wzcheckin.review.jobs import JOBS, nightly_signals_job
    from wzcheckin.review.signals import latest_run

    assert {job.id for job in JOBS} == {"review.signals_nightly", "review.signals_cutoff"}
    fraud_scenario(db, vault)
    db.commit()
    with app.app_context():
        from wzcheckin.extensions import db as flask_db

        summary = nightly_signals_job(flask_db.session, programme, NOW)
    db.rollback()
    assert latest_run(db).id == summary["run_id"] and latest_run(db).kind == "nightly"
    assert compute_signals(db, programme, now=NOW).summary == latest_run(db).summary
