"""The dashboard's figures against hand-built data, on both databases: registrations and accepted
scans per Wenzhou day (16:00 UTC is midnight in Wenzhou), pledged vs confirmed by district and
subsidies by tier from the official snapshot (a preview's figures labelled as projections),
welfare packs per pickup point, data bonuses per carrier — and the honest empty states."""

import re
from datetime import UTC, date, datetime

from tests.admin.builders import add_scan, make_checkpoint, make_claim, make_point, staff_for
from tests.builders import make_enterprise, make_worker
from tests.residence.builders import bulk_workers, make_site
from tests.support.clock import at
from wzcheckin.admin import stats
from wzcheckin.benefits.models import ClaimStatus
from wzcheckin.enterprises.models import Ownership
from wzcheckin.residence.models import SnapshotKind
from wzcheckin.scanning.models import CheckpointKind

FEB = date(2021, 2, 1)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def whole_programme(programme) -> stats.DayRange:
    return stats.DayRange(programme.programme.starts, stats.programme_last_day(programme))


def svg_charts(html: str) -> list[str]:
    return re.findall(r'<svg class="chart-svg"[^>]*data-chart="([\w-]+)"', html)


def test_registrations_per_day_follow_the_wenzhou_day(db, vault, programme, as_official, set_clock):
    enterprise = make_enterprise(db, vault)
    for when in (utc(2021, 2, 4, 15, 59, 59),   # 23:59:59 on 4 Feb in Wenzhou
                 utc(2021, 2, 4, 16, 0, 0),     # 00:00 on 5 Feb
                 utc(2021, 2, 5, 15, 59, 59),   # still 5 Feb
                 utc(2021, 1, 11, 15, 59, 59),  # 11 Jan: before the programme starts
                 utc(2021, 1, 11, 16, 0, 0)):   # 12 Jan 00:00: its first day
        make_worker(db, vault, programme, enterprise=enterprise, now=when)
    on_their_own = make_worker(db, vault, programme, now=utc(2021, 2, 4, 16, 30))
    on_their_own.registered_via = "self"
    db.commit()

    table = stats.registrations_by_day(db, programme, whole_programme(programme))
    assert table.value(date(2021, 2, 4), "roster") == 1
    assert (table.value(date(2021, 2, 5), "roster"), table.value(date(2021, 2, 5), "self")) == (2, 1)
    assert table.value(date(2021, 1, 12), "roster") == 1
    assert table.total == 5  # 11 Jan is outside the period shown
    assert table.counts.keys() == {(date(2021, 2, 4), "roster"), (date(2021, 2, 5), "roster"),
                                   (date(2021, 2, 5), "self"), (date(2021, 1, 12), "roster")}

    set_clock("2021-02-20 09:00")
    page = as_official.get("/admin")
    assert page.status_code == 200
    assert "<tr><td>2021-02-04</td><td class=\"num\">0</td><td class=\"num\">1</td><td class=\"num\">1</td></tr>" in page.text
    assert "<tr><td>2021-02-05</td><td class=\"num\">1</td><td class=\"num\">2</td><td class=\"num\">3</td></tr>" in page.text
    # The period ends today (20 Feb) before the cutoff: no empty future days.
    assert "2021-02-21" not in page.text and "2021-02-20" in page.text
    assert svg_charts(page.text)[0] == "chart-registrations"


def test_accepted_scans_per_day_by_kind_refusals_left_out(db, vault, programme, as_official):
    points = {kind: make_checkpoint(db, kind) for kind in CheckpointKind}
    staff = {kind: staff_for(db, vault, checkpoint) for kind, checkpoint in points.items()}

    def scan(kind, when, accepted=True):
        add_scan(db, points[kind], staff[kind], when, accepted=accepted)

    scan(CheckpointKind.GATE, utc(2021, 2, 5, 15, 59, 59))            # 5 Feb, 23:59:59 local
    scan(CheckpointKind.GATE, utc(2021, 2, 5, 16, 0, 0))              # 6 Feb, 00:00 local
    scan(CheckpointKind.GATE, utc(2021, 2, 5, 4, 0), accepted=False)  # refused: never counted
    scan(CheckpointKind.VENUE, at("2021-02-05 10:00"))
    scan(CheckpointKind.VENUE, at("2021-02-05 00:00"))
    scan(CheckpointKind.PICKUP, at("2021-02-06 23:59"))
    scan(CheckpointKind.TRAINING, at("2021-02-06 09:00"))
    db.commit()

    table = stats.scans_by_day(db, programme, whole_programme(programme))
    assert {key: count for key, count in table.counts.items()} == {
        (date(2021, 2, 5), "gate"): 1, (date(2021, 2, 5), "venue"): 2,
        (date(2021, 2, 6), "gate"): 1, (date(2021, 2, 6), "pickup"): 1, (date(2021, 2, 6), "training"): 1}
    assert list(table.rows())[25] == (date(2021, 2, 6), 1, 0, 1, 1, 3)  # 12 Jan + 25 days

    page = as_official.get("/admin?from=2021-02-01&to=2021-02-10")
    assert "chart-scans" in svg_charts(page.text)
    assert "<tr><td>2021-02-05</td><td class=\"num\">1</td><td class=\"num\">2</td><td class=\"num\">0</td>" \
           "<td class=\"num\">0</td><td class=\"num\">3</td></tr>" in page.text
    # Every segment says what it is: day, kind and count.
    assert "<title>2021-02-05 · 场馆入场: 2</title>" in page.text


def test_local_days_are_right_in_a_zone_with_daylight_saving_too(db, vault, programme):
    """The SQLite path adds the offset in force at each instant (a CASE at the transition);
    PostgreSQL uses its timezone database. Berlin moves to summer time at 01:00 UTC, 28 March."""
    berlin = programme.model_copy(update={"programme": programme.programme.model_copy(
        update={"timezone": "Europe/Berlin"})})
    segments = stats.offset_segments(berlin, utc(2021, 3, 26), utc(2021, 3, 31))
    assert segments == [(utc(2021, 3, 28, 1, 0, 0), 3600), (None, 7200)]
    enterprise = make_enterprise(db, vault)
    for when in (utc(2021, 3, 27, 22, 59, 59),  # 27 Mar, 23:59:59 CET
                 utc(2021, 3, 27, 23, 0, 0),    # 28 Mar, 00:00 CET
                 utc(2021, 3, 28, 21, 59, 59),  # 28 Mar, 23:59:59 CEST
                 utc(2021, 3, 28, 22, 0, 0)):   # 29 Mar, 00:00 CEST
        make_worker(db, vault, programme, enterprise=enterprise, now=when)
    db.commit()
    table = stats.registrations_by_day(db, berlin, stats.DayRange(date(2021, 3, 26), date(2021, 3, 30)))
    assert [row[-1] for row in table.rows()] == [0, 1, 2, 1, 0]


def test_pledged_confirmed_and_tiers_come_from_the_official_snapshot(db, vault, programme, as_official, cutoff):
    big = make_site(db, vault, name="瓯江鞋业", district="瓯海区")
    middle = make_site(db, vault, name="鹿城电器", district="鹿城区")
    state = make_site(db, vault, name="国有电力", district="鹿城区", ownership=Ownership.STATE)
    small = make_site(db, vault, name="乐清小厂", district="乐清市")
    bulk_workers(db, vault, big, 100)
    bulk_workers(db, vault, middle, 50)
    bulk_workers(db, vault, middle, 3, windows=(0, 2))       # missed the holiday window
    bulk_workers(db, vault, middle, 2, pledged=False)        # never pledged: in neither figure
    bulk_workers(db, vault, state, 60)                       # state-owned: no subsidy
    bulk_workers(db, vault, small, 49)                       # one short of the first tier
    bulk_workers(db, vault, None, 4)                         # no employer, no scans
    db.commit()

    before = stats.district_confirmation(db, stats.dashboard_snapshot(db, programme))
    assert before.choice.stage == "none" and before.confirmed is None
    assert {row.district: row.pledged for row in before.rows} == {"瓯海区": 100, "鹿城区": 113, "乐清市": 49, "": 4}

    cutoff()
    choice = stats.dashboard_snapshot(db, programme)
    assert choice.stage == "official"
    districts = stats.district_confirmation(db, choice)
    assert [(row.district, row.pledged, row.confirmed) for row in districts.rows] == [
        ("乐清市", 49, 49), ("瓯海区", 100, 100), ("鹿城区", 113, 110), ("", 4, 0)]
    tiers = stats.subsidies_by_tier(db, programme, choice)
    assert [(row.tier, row.enterprises, row.retained, row.amount_yuan) for row in tiers.rows] == [
        (100, 1, 100, 100000), (50, 1, 50, 50000), (0, 2, 109, 0)]
    assert (tiers.qualifying, tiers.amount_yuan) == (2, 150000)

    page = as_official.get("/admin")
    assert svg_charts(page.text) == ["chart-registrations", "chart-scans", "chart-districts", "chart-tiers"]
    text = page.text
    assert "的正式快照" in text
    assert "110 / 113 (97%)" in text                      # the district's bar figure
    assert "无单位" in text                                  # workers without an employer, named
    assert "¥150,000" in text                              # the headline and the tiers' total
    assert "<td class=\"num\">¥100,000</td>" in text
    assert "还没有快照" not in text


def test_before_the_cutoff_the_preview_is_shown_as_a_projection(db, vault, programme, as_official, cutoff,
                                                                 set_clock):
    site = make_site(db, vault, district="瓯海区")
    bulk_workers(db, vault, site, 50, windows=(0,))
    bulk_workers(db, vault, site, 5, windows=(1,))   # missed the first window: not on track
    db.commit()
    cutoff(as_of=at("2021-02-14 02:30"), now=at("2021-02-14 02:30"), kind=SnapshotKind.PREVIEW)
    set_clock("2021-02-14 09:00")
    choice = stats.dashboard_snapshot(db, programme)
    assert choice.stage == "preview"
    assert [(r.district, r.pledged, r.confirmed) for r in stats.district_confirmation(db, choice).rows] == [
        ("瓯海区", 55, 50)]
    page = as_official.get("/admin")
    assert "还没有快照" in page.text and "夜间预估" in page.text
    assert "预计符合（预估）" in page.text
    assert "chart-tiers" in svg_charts(page.text)
    english = as_official.get("/lang/en", follow_redirects=False) and as_official.get("/admin")
    assert "These are projections from the nightly preview" in english.text
    assert "On track" in english.text


def test_after_the_cutoff_a_missing_official_snapshot_is_said_plainly(db, vault, programme, as_official, cutoff,
                                                                       set_clock):
    site = make_site(db, vault, district="瓯海区")
    bulk_workers(db, vault, site, 10)
    db.commit()
    cutoff(as_of=at("2021-02-28 02:30"), now=at("2021-02-28 02:30"), kind=SnapshotKind.PREVIEW)
    set_clock("2021-03-01 09:00")
    page = as_official.get("/admin")
    assert "截止时间（" in page.text and "正式快照尚未完成" in page.text
    assert "在此之前显示截至" in page.text            # the preview's projection, labelled as such
    assert "还没有快照：截止时间为" not in page.text  # not "the cutoff is on …": it has passed


def test_welfare_packs_per_point_and_data_bonuses_per_carrier(db, vault, programme, as_official):
    busy = make_point(db, name="五马街道社区卫生服务中心", handed_out=120, stock=80)
    make_point(db, name="娄桥街道新居民服务站", handed_out=3, stock=197, district="瓯海区")
    make_point(db, name="永中街道", handed_out=0, stock=0, district="龙湾区")
    statuses = [("china_mobile", ClaimStatus.FULFILLED)] * 3 + [("china_mobile", ClaimStatus.PENDING)] * 2 + [
        ("china_unicom", ClaimStatus.FAILED), ("china_telecom", ClaimStatus.PENDING)]
    for carrier, status in statuses:
        make_claim(db, vault, make_worker(db, vault, programme), carrier=carrier, status=status)
    db.commit()

    welfare = stats.welfare_by_point(db)
    assert [(p.name, p.handed_out, p.stock, p.delivered) for p in welfare.rows] == [
        (busy.name, 120, 80, 200), ("娄桥街道新居民服务站", 3, 197, 200), ("永中街道", 0, 0, 0)]
    assert (welfare.handed_out, welfare.stock) == (123, 277)
    carriers = {row.carrier: row.counts for row in stats.data_bonus_by_carrier(db, programme)}
    assert carriers == {"china_mobile": {"pending": 2, "fulfilled": 3, "failed": 0},
                        "china_unicom": {"pending": 0, "fulfilled": 0, "failed": 1},
                        "china_telecom": {"pending": 1, "fulfilled": 0, "failed": 0}}

    page = as_official.get("/admin")
    assert {"chart-welfare", "chart-data-bonus"} <= set(svg_charts(page.text))
    assert "120 / 200" in page.text                       # handed out of delivered, on the bar
    assert "<title>五马街道社区卫生服务中心</title>五马街道社区卫生服…" in page.text  # long names cut, whole in the tooltip
    assert "<td class=\"num\">123</td><td class=\"num\">277</td>" in page.text
    assert "中国移动" in page.text


def test_an_empty_programme_says_so_and_draws_nothing(db, programme, as_official, set_clock):
    set_clock("2021-01-20 09:00")
    page = as_official.get("/admin")
    assert page.status_code == 200
    assert svg_charts(page.text) == []
    for message in ("这段时间还没有登记。", "这段时间还没有通过的扫码。", "还没有人承诺留温。",
                    "还没有快照：截止时间为", "还没有领取点。", "还没有流量申领。"):
        assert message in page.text, message
    assert page.headers["Cache-Control"] == "no-store"


def test_a_period_that_makes_no_sense_falls_back_to_the_programme(db, programme, as_official, set_clock):
    set_clock("2021-03-10 09:00")
    page = as_official.get("/admin?from=2021-02-10&to=2021-02-01")
    assert page.status_code == 200 and 'role="alert"' in page.text
    assert 'value="2021-01-12"' in page.text and 'value="2021-02-28"' in page.text
    assert as_official.get("/admin?from=garbage").status_code == 200
    chosen = as_official.get("/admin?from=2021-02-01&to=2021-02-03")
    assert 'value="2021-02-01"' in chosen.text and 'role="alert"' not in chosen.text
