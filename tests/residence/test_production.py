"""P8, the production reward: days counted from the calendar, the rule at its boundaries, the
exclusions, and the declare → review flow."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import make_site
from tests.support.web import csrf_token_from
from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Enterprise, Ownership
from wzcheckin.programme import load_programme
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import ProductionDeclaration
from wzcheckin.residence.production import OutputFigures, days_in_quarter, judge, parse_yuan, programme_year

PROGRAMME = load_programme(DEFAULT_PROGRAMME)
M = Decimal(1_000_000)


def test_quarters_have_their_calendar_days():
    assert programme_year(PROGRAMME) == 2021
    assert days_in_quarter(2021, 1) == 90 and days_in_quarter(2024, 1) == 91       # 2024 is a leap year
    assert days_in_quarter(2020, 3) + days_in_quarter(2020, 4) == 184


def enterprise(ownership=Ownership.PRIVATE, industrial=True):
    return Enterprise(credit_code="x", name="x", district="x", ownership=ownership, industrial=industrial)


@pytest.mark.parametrize(("previous", "h2", "q1", "verdict"), [
    (50 * M + Decimal("0.01"), 184 * M, 90 * M, "eligible"),                          # equal daily averages
    (50 * M, 184 * M, 90 * M, "output_too_low"),                                      # exactly 50M is not over
    (60 * M, 184 * M, 90 * M - Decimal("0.01"), "q1_below_h2"),                       # a fen short
    (60 * M, Decimal("184.00"), Decimal("90.00"), "eligible"),
    (60 * M, Decimal("184.01"), Decimal("90.00"), "q1_below_h2"),   # 1.00 < 1.0000543…: rounding would tie
])
def test_the_rule_at_its_boundaries(previous, h2, q1, verdict):
    figures = OutputFigures(previous, h2 / 2, h2 / 2, q1)
    result = judge(PROGRAMME, enterprise(), figures)
    assert result.reason == verdict
    assert result.amount_yuan == (100000 if verdict == "eligible" else 0)
    assert (result.days_q1, result.days_h2) == (90, 184)


@pytest.mark.parametrize(("ownership", "industrial", "verdict"), [
    (Ownership.STATE, True, "excluded_ownership"), (Ownership.STATE_CONTROLLED, True, "excluded_ownership"),
    (Ownership.PRIVATE, False, "not_industrial"), (Ownership.FOREIGN, True, "eligible"),
    (Ownership.COLLECTIVE, True, "eligible"),
])
def test_state_owned_state_controlled_and_non_industrial_are_excluded(ownership, industrial, verdict):
    figures = OutputFigures(80 * M, 90 * M, 94 * M, 100 * M)
    assert judge(PROGRAMME, enterprise(ownership, industrial), figures).reason == verdict


def test_amounts_are_parsed_strictly():
    assert parse_yuan("52,000,000.5", "x") == Decimal("52000000.50")
    for bad in ("-1", "1.001", "abc", "NaN", "1e30", ""):
        with pytest.raises(ResidenceError):
            parse_yuan(bad, "x")


def test_an_enterprise_declares_after_q1_and_an_official_reviews(db, vault, client, login_as, set_clock):
    site = make_site(db, vault, name="瓯江鞋业")
    state = make_site(db, vault, ownership=Ownership.STATE, name="城投")
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    state_admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=state.gate)
    official = make_user(db, vault, Role.ECONOMY_OFFICIAL)    # P8 is 经信局's to decide
    second_official = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    db.commit()
    figures = {"output_previous_year": "60,000,000", "output_q3": "45000000", "output_q4": "47000000",
               "output_q1": "45000000"}

    set_clock("2021-03-31 23:00")
    login_as(admin)
    closed = client.get("/enterprise/production", headers={"Accept-Language": "en"})
    assert "Declarations open on" in closed.text and "<form" not in closed.text.split("</header>")[1]
    set_clock("2021-04-01 09:00")
    page = client.get("/enterprise/production")
    assert "2020年第三季度产值（元）" in page.text
    bad = client.post("/enterprise/production", data={"csrf_token": csrf_token_from(page.text),
                                                      **figures, "output_q1": "四千万"})
    assert "请输入以元为单位的金额" in bad.text
    saved = client.post("/enterprise/production", data={"csrf_token": csrf_token_from(page.text), **figures})
    assert saved.status_code == 302
    declaration = db.scalar(sa.select(ProductionDeclaration))
    # 45M / 90 days = 500,000 a day ≥ 92M / 184 days = 500,000 a day: eligible.
    assert (declaration.eligible, declaration.reason, declaration.status.value) == (True, "eligible", "declared")
    db.rollback()

    login_as(state_admin)
    assert "国有及国有控股企业不在生产奖励范围内" in client.get("/enterprise/production").text

    login_as(official)
    listing = client.get("/official/residence/production?status=declared")
    assert "瓯江鞋业" in listing.text and "符合条件" in listing.text
    sent = client.post(f"/official/residence/production/{declaration.id}",
                       data={"csrf_token": csrf_token_from(listing.text), "approve": "1"})
    # Money is approved in the review queue only (signals acknowledged, a second official above
    # the programme's amount): the old button sends the official there and decides nothing.
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/official/review/P8/{declaration.id}")
    db.rollback()
    assert db.get(ProductionDeclaration, declaration.id).status.value == "declared"
    queue_url = f"/official/review/P8/{declaration.id}"
    for approver in (official, second_official):
        login_as(approver)
        page = client.get(queue_url)
        assert client.post(queue_url, data={"csrf_token": csrf_token_from(page.text), "action": "approve"}
                           ).status_code == 302
        db.rollback()
    assert db.get(ProductionDeclaration, declaration.id).status.value == "approved"
    login_as(admin)
    assert "已批准：¥100,000" in client.get("/enterprise/production").text
