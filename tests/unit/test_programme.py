"""The programme file: the shipped 2021 file holds SPEC §2's figures; bad files stop start-up
with the key and the file named."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.programme import ProgrammeError, load_programme, parse_programme

SHIPPED = Path(DEFAULT_PROGRAMME).read_text(encoding="utf-8")


def test_the_shipped_programme_holds_the_figures_of_the_source():
    programme = load_programme(DEFAULT_PROGRAMME)
    assert programme.cutoff == datetime(2021, 2, 28, 16, 0, tzinfo=UTC)  # 28 Feb 24:00 in Wenzhou
    assert all(prefix.startswith("3303") for prefix in programme.programme.home_region_prefixes)
    assert programme.programme.hotline == "88996871"
    assert [w.name for w in programme.evidence_windows] == ["节前", "春节假期", "节后"]
    assert programme.data_bonus.gigabytes == 10
    assert programme.points.residence_permit_award == 5
    assert programme.entry_checks.fever_celsius == 37.3
    assert programme.training.online_subsidy_rate == 0.95
    assert programme.training.project_yuan_per_class_hour == 25
    assert programme.training.project_cap_yuan_per_person == 2000
    assert programme.production_reward.min_output_previous_year_yuan == 50_000_000
    assert programme.production_reward.amount_yuan == 100_000
    assert programme.subsidy_for("private", 49) == (0, 0)
    assert programme.subsidy_for("private", 50) == (50, 50_000)
    assert programme.subsidy_for("private", 99) == (50, 50_000)
    assert programme.subsidy_for("private", 100) == (100, 100_000)
    assert programme.subsidy_for("state", 500) == (0, 0)


def test_window_bounds_are_local_days_in_utc():
    programme = load_programme(DEFAULT_PROGRAMME)
    start, end = programme.window_bounds(programme.evidence_windows[0])
    assert start == datetime(2021, 1, 31, 16, 0, tzinfo=UTC)  # 1 Feb 00:00 +08:00
    assert end == datetime(2021, 2, 10, 16, 0, tzinfo=UTC)    # 11 Feb 00:00 +08:00
    _last_start, last_end = programme.window_bounds(programme.evidence_windows[-1])
    assert last_end == programme.cutoff


def test_carrier_from_phone_prefix():
    programme = load_programme(DEFAULT_PROGRAMME)
    assert programme.carrier_for_phone("13812345678") == "china_mobile"
    assert programme.carrier_for_phone("18612345678") == "china_unicom"
    assert programme.carrier_for_phone("18912345678") == "china_telecom"
    assert programme.carrier_for_phone("19212345678") is None  # China Broadnet: not one of the three


@pytest.mark.parametrize(("edit", "message"), [
    (("fever_celsius = 37.3", "fever_celcius = 37.3"), "unknown key 'entry_checks.fever_celcius'"),
    (("fever_celsius = 37.3", "fever_celsius = \"hot\""), "key 'entry_checks.fever_celsius'"),
    (("offline_scan_max_age_hours = 72", ""), "missing key 'programme.offline_scan_max_age_hours'"),
    (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "unknown timezone"),
    (("cutoff = 2021-03-01T00:00:00+08:00", "cutoff = 2021-03-01T00:00:00"), "UTC offset"),
    (("{ min_retained = 100,", "{ min_retained = 40,"), "ascending"),
    (("end = 2021-02-10", "end = 2021-02-12"), "overlap"),
    (("[points]", "[pointz]"), "pointz"),
])
def test_a_bad_programme_names_the_key_and_the_file(edit, message):
    old, new = edit
    assert old in SHIPPED
    with pytest.raises(ProgrammeError) as error:
        parse_programme(SHIPPED.replace(old, new, 1), "officials-2022.toml")
    assert "officials-2022.toml" in str(error.value)
    assert message in str(error.value)


def test_not_toml_at_all():
    with pytest.raises(ProgrammeError, match="not valid TOML"):
        parse_programme("[programme\nname=", "broken.toml")


def test_missing_file(tmp_path):
    with pytest.raises(ProgrammeError, match="cannot be read"):
        load_programme(tmp_path / "nope.toml")


def test_the_app_refuses_to_start_with_a_bad_programme(tmp_path):
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app

    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.replace("fever_celsius", "fever_c"), encoding="utf-8")
    with pytest.raises(ProgrammeError, match="fever_c"):
        create_app({**TEST_CONFIG, "PROGRAMME_PATH": str(bad), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_the_new_benefit_keys_of_the_shipped_programme():
    programme = load_programme(DEFAULT_PROGRAMME)
    assert programme.training.online_cost_cap_yuan_per_person == 1000
    assert programme.training.claim_deadline.isoformat() == "2021-03-31"
    assert programme.training.sessions_offered == 100
    assert (programme.data_bonus.claim_opens.isoformat(), programme.data_bonus.claim_closes.isoformat()) == \
        ("2021-01-12", "2021-02-28")
    assert programme.venues.discounts == {}  # the source gives no scenic-spot discount figure


@pytest.mark.parametrize(("edit", "message"), [
    (("suspension_days = 7", "suspension_days = 7\nscenic_spot_discount_percent = 50"),
     "unknown key 'venues.scenic_spot_discount_percent'"),
    (("[venues.discounts]\n", "[venues.discounts]\njiangxinyu = 0\n"), "venues.discounts.jiangxinyu"),
    (("[venues.discounts]\n", "[venues.discounts]\njiangxinyu = 101\n"), "venues.discounts.jiangxinyu"),
    (("[venues.discounts]\n", "[venues.discounts]\n\"江心屿\" = 30\n"), "venues.discounts"),
    (("[venues.discounts]\n", "[venues.discounts]\njiangxinyu = 30\nJiangXinYu = 20\n"), "named twice"),
    (("claim_closes = 2021-02-28", "claim_closes = 2021-01-01"), "claim_closes (2021-01-01) is before claim_opens"),
    (("claim_opens = 2021-01-12", ""), "missing key 'data_bonus.claim_opens'"),
    (("online_cost_cap_yuan_per_person = 1000", ""), "missing key 'training.online_cost_cap_yuan_per_person'"),
    (("claim_deadline = 2021-03-31", "claim_deadline = 2021-02-27"), "claim_deadline is before the training"),
])
def test_a_bad_benefit_key_names_the_key(edit, message):
    old, new = edit
    assert old in SHIPPED
    with pytest.raises(ProgrammeError) as error:
        parse_programme(SHIPPED.replace(old, new, 1), "officials-2022.toml")
    assert message in str(error.value)


def test_a_discount_is_looked_up_by_the_venue_code_as_imported():
    programme = parse_programme(SHIPPED.replace("[venues.discounts]\n", "[venues.discounts]\nJiangXinYu = 30\n", 1))
    assert programme.venues.discounts == {"jiangxinyu": 30}
