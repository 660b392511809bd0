"""The programme file: every date, window, amount and threshold of one year's 留温过年 scheme.

Officials write these TOML files, so validation is strict (unknown keys are errors) and every
error names the key and the file. Dates in the file are local dates in the programme's
timezone; this module is the one place that turns them into UTC instants.
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wzcheckin.places import HomePlaces, PlaceReading, normalise_place

Ownership = Literal["private", "state", "state_controlled", "foreign", "collective", "other"]
CarrierCode = Literal["china_mobile", "china_unicom", "china_telecom"]


class HukouStatus(StrEnum):
    """A worker's household registration as the programme decides it (SPEC §3)."""

    NON_LOCAL = "non_local"  # outside the home region: may count as retained
    HOME = "home"            # the home region's own hukou: never counted
    REVIEW = "review"        # declared hukou and ID number disagree: an official decides


class ProgrammeError(RuntimeError):
    """The programme file cannot be used; the message names the file and the key."""


# Programme dates are local calendar days; the app turns them into UTC instants (and adds a
# day to find a day's end), which the first and last days of the calendar do not survive.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(9998, 12, 31)
ProgrammeDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgrammeSection(_Strict):
    name: str
    name_en: str = ""
    timezone: str
    starts: ProgrammeDate
    spring_festival: ProgrammeDate | None = None
    holiday_start: ProgrammeDate | None = None
    holiday_end: ProgrammeDate | None = None
    cutoff: datetime
    offline_scan_max_age_hours: Annotated[int, Field(ge=1, le=24 * 30)]
    scan_clock_skew_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    home_region_prefixes: Annotated[list[Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]], Field(min_length=1)]
    hotline: str = ""
    pass_ttl_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    paper_pass_valid_days: Annotated[int, Field(ge=1, le=730)] = 120
    appeal_window_days: Annotated[int, Field(ge=0, le=3650)] = 90
    # Working age, in completed years at ``starts``: younger or older registrants are refused.
    min_working_age: Annotated[int, Field(ge=0, le=120)] = 16
    max_working_age: Annotated[int, Field(ge=0, le=120)] = 70

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("cutoff")
    @classmethod
    def _cutoff_has_offset(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the cutoff needs a UTC offset, e.g. 2021-03-01T00:00:00+08:00")
        if not EARLIEST_DATE <= value.date() <= LATEST_DATE:
            raise ValueError(f"the cutoff must lie between {EARLIEST_DATE} and {LATEST_DATE}")
        return value


class EvidenceWindow(_Strict):
    name: str
    name_en: str = ""
    start: ProgrammeDate
    end: ProgrammeDate

    @model_validator(mode="after")
    def _ordered(self) -> EvidenceWindow:
        if self.end < self.start:
            raise ValueError(f"window {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class EvidenceSection(_Strict):
    self_checkins_count: bool = False
    # An offline upload received this long after its scan time still counts, but is flagged for
    # the officials' review (a late upload is how backdated evidence arrives).
    late_upload_flag_minutes: Annotated[int, Field(ge=1, le=24 * 60 * 30)] = 60


class HukouSection(_Strict):
    """The home region, read as place names (SPEC §3): its province, its city and the city's
    county-level units, without 省/市/区/县; traditional forms are folded to these."""

    province: Annotated[list[str], Field(min_length=1)]
    city: Annotated[list[str], Field(min_length=1)]
    counties: list[str] = []

    @field_validator("province", "city", "counties")
    @classmethod
    def _plain_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.strip() or normalise_place(name) != name.strip().lower():
                raise ValueError(f"{name!r}: give the simplified name without spaces or punctuation")
        return [name.strip().lower() for name in names]


class SubsidyTier(_Strict):
    min_retained: Annotated[int, Field(ge=1)]
    amount_yuan: Annotated[int, Field(ge=0)]


class RetentionSubsidy(_Strict):
    ownership: Annotated[list[Ownership], Field(min_length=1)]
    tiers: Annotated[list[SubsidyTier], Field(min_length=1)]

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: list[SubsidyTier]) -> list[SubsidyTier]:
        thresholds = [tier.min_retained for tier in tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must have strictly ascending min_retained")
        return tiers


class ProductionReward(_Strict):
    min_output_previous_year_yuan: Annotated[int, Field(ge=0)]
    amount_yuan: Annotated[int, Field(ge=0)]
    excluded_ownership: list[Ownership] = ["state", "state_controlled"]
    industrial_only: bool = True


class PointsSection(_Strict):
    residence_permit_award: Annotated[int, Field(ge=0, le=1000)]


class Carrier(_Strict):
    name: str
    name_en: str = ""
    prefixes: Annotated[list[Annotated[str, Field(pattern=r"^1\d{2,3}$")]], Field(min_length=1)]


class DataBonusSection(_Strict):
    gigabytes: Annotated[int, Field(ge=1, le=1000)]
    # The claim window, local dates, both inclusive: a claim outside it is refused.
    claim_opens: ProgrammeDate
    claim_closes: ProgrammeDate
    carriers: dict[CarrierCode, Carrier]

    @model_validator(mode="after")
    def _window_ordered(self) -> DataBonusSection:
        if self.claim_closes < self.claim_opens:
            raise ValueError(f"claim_closes ({self.claim_closes}) is before claim_opens ({self.claim_opens})")
        return self


class WelfarePackSection(_Strict):
    per_worker: Literal[1] = 1


class VenuesSection(_Strict):
    max_active_bookings: Annotated[int, Field(ge=1, le=50)] = 3
    one_per_venue_per_day: bool = True
    early_grace_minutes: Annotated[int, Field(ge=0, le=240)] = 15
    late_grace_minutes: Annotated[int, Field(ge=0, le=240)] = 30
    no_show_limit: Annotated[int, Field(ge=1, le=100)] = 2
    no_show_window_days: Annotated[int, Field(ge=1, le=365)] = 14
    suspension_days: Annotated[int, Field(ge=0, le=365)] = 7
    # One person cannot be in two places at once: a booking overlapping another is refused.
    refuse_overlapping: bool = True
    # 错峰: an SMS reminder the day before a booking, at this local hour.
    booking_reminders: bool = True
    reminder_hour_day_before: Annotated[int, Field(ge=0, le=23)] = 18
    # 国有景区优惠: an entry discount per venue code (``[venues.discounts] jiangxinyu = 30``), for
    # scenic spots only; a venue not named here shows no discount at all.
    discounts: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{2,40}$")], Annotated[int, Field(ge=1, le=100)]] = {}

    @field_validator("discounts")
    @classmethod
    def _codes_as_imported(cls, discounts: dict[str, int]) -> dict[str, int]:
        """Venue codes are stored lower-cased; two spellings of one code are a mistake."""
        lowered = {code.lower(): percent for code, percent in discounts.items()}
        if len(lowered) != len(discounts):
            raise ValueError("a venue code is named twice (codes are not case-sensitive)")
        return lowered


class TrainingSection(_Strict):
    online_subsidy_rate: Annotated[float, Field(gt=0, le=1)]
    online_deadline: ProgrammeDate
    # The most of an official-approved online course cost per person the rate applies to.
    online_cost_cap_yuan_per_person: Annotated[int, Field(ge=0, le=1_000_000)]
    project_yuan_per_class_hour: Annotated[int, Field(ge=0)]
    project_cap_yuan_per_person: Annotated[int, Field(ge=0)]
    project_period_start: ProgrammeDate
    project_period_end: ProgrammeDate
    # Last local day on which completions are uploaded and the enterprise's claim is submitted.
    claim_deadline: ProgrammeDate
    sessions_offered: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _dates_ordered(self) -> TrainingSection:
        if self.project_period_end < self.project_period_start:
            raise ValueError("project_period_end is before project_period_start")
        if self.claim_deadline < max(self.online_deadline, self.project_period_end):
            raise ValueError("claim_deadline is before the training it pays for ends")
        return self


class ActivitiesSection(_Strict):
    gift_activities: list[str] = []


class EntryChecks(_Strict):
    fever_celsius: Annotated[float, Field(ge=35.0, le=42.0)]
    mask_required: bool = True


class SmsSection(_Strict):
    reminder_hour_local: Annotated[int, Field(ge=0, le=23)] = 10


class ReviewSection(_Strict):
    """Review before payment (issue 14): the thresholds of the risk signals computed per enterprise,
    and the rules of the officials' review queue. A signal is shown beside an application and must
    be acknowledged; it never decides anything by itself."""

    # scan_burst: this many accepted scans or more from one desk (staff account), each at most
    # ``burst_max_gap_seconds`` after the one before.
    burst_max_gap_seconds: Annotated[int, Field(ge=1, le=600)] = 3
    burst_min_scans: Annotated[int, Field(ge=2, le=100_000)] = 10
    # late_upload: scans received more than this long after their scan time ...
    late_upload_minutes: Annotated[int, Field(ge=1, le=24 * 60 * 30)] = 360
    late_upload_min_scans: Annotated[int, Field(ge=1, le=100_000)] = 5    # ... at least this many
    # night_scan: scans at local hours [night_start_hour, night_end_hour) (wrapping past midnight).
    night_start_hour: Annotated[int, Field(ge=0, le=23)] = 0
    night_end_hour: Annotated[int, Field(ge=0, le=23)] = 5
    night_min_scans: Annotated[int, Field(ge=1, le=100_000)] = 5
    # impossible_travel: one worker scanned in two districts faster than this (straight-line km
    # between district seats, from the table below; a missing pair is never flagged).
    travel_max_kmh: Annotated[int, Field(ge=1, le=1000)] = 120
    district_distances_km: dict[str, Annotated[float, Field(gt=0, le=5000)]] = {}
    # self_registered_share: of an enterprise's retained workers, this share or more registered
    # themselves (not from the enterprise's roster import), with at least this many retained.
    self_registered_max_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    self_registered_min_workers: Annotated[int, Field(ge=1)] = 20
    # bulk_confirmation: this many roster confirmations or more within one minute.
    bulk_confirmations_per_minute: Annotated[int, Field(ge=2, le=100_000)] = 30
    bulk_confirmation_sources: Annotated[list[str], Field(min_length=1)] = ["roster_confirm"]
    # single_desk: all of an enterprise's evidence (at least this many scans) from one desk.
    single_desk_min_scans: Annotated[int, Field(ge=1)] = 20
    # window_end_cluster: this share or more of an enterprise's evidence in the last minutes of
    # each evidence window, with at least this many scans.
    window_end_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    window_end_max_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    window_end_min_scans: Annotated[int, Field(ge=1)] = 20
    # How many row ids each signal keeps (the rest are counted, not listed).
    rows_kept: Annotated[int, Field(ge=1, le=10_000)] = 200
    # The review queue: above this amount a second, different official must approve too.
    second_approval_yuan: Annotated[int, Field(ge=0)] = 50000
    # The share of applications a seeded random draw marks for an on-site check.
    sample_rate: Annotated[float, Field(ge=0, le=1)] = 0.1

    @field_validator("district_distances_km")
    @classmethod
    def _pairs(cls, table: dict[str, float]) -> dict[str, float]:
        seen: set[frozenset[str]] = set()
        for key in table:
            parts = key.split("-")
            if len(parts) != 2 or not all(part.strip() for part in parts) or parts[0] == parts[1]:
                raise ValueError(f"{key!r}: name two different districts as \"A-B\"")
            pair = frozenset(parts)
            if pair in seen:
                raise ValueError(f"{key!r}: this pair of districts is given twice")
            seen.add(pair)
        return table

    def distance_km(self, first: str, second: str) -> float | None:
        """Straight-line km between two districts (names with or without 区/市/县); 0 for the same
        district, None when the table does not have the pair."""
        a, b = district_key(first), district_key(second)
        if not a or not b:
            return None
        if a == b:
            return 0.0
        return self._distance_table.get(frozenset((a, b)))

    @cached_property
    def _distance_table(self) -> dict[frozenset[str], float]:
        return {frozenset(district_key(part) for part in key.split("-")): km
                for key, km in self.district_distances_km.items()}

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))


def district_key(name: str) -> str:
    """A district's name as the distance table keys it: 鹿城区 → 鹿城, 乐清市 → 乐清, 永嘉县 → 永嘉."""
    name = (name or "").strip()
    for suffix in ("区", "市", "县"):
        if len(name) > 2 and name.endswith(suffix):
            return name[: -len(suffix)]
    return name
class AppealsSection(_Strict):
    """申诉: appeals open once the official snapshot exists, until this many days after the cutoff."""

    window_days: Annotated[int, Field(ge=1, le=3650)] = 30
    photo_max_bytes: Annotated[int, Field(ge=1024, le=8 * 1024 * 1024)] = 5 * 1024 * 1024
class CodesSection(_Strict):
    """The longest a signed code of each kind may live (expiry less issue time). A code whose
    validity exceeds its kind's maximum is invalid, and a retired (rotated-out) signing key
    verifies a code only until the kind's maximum has passed since the key retired."""

    max_lifetime_seconds: dict[Literal["pass", "paper_pass", "reservation", "poster"],
                               Annotated[int, Field(ge=30, le=2 * 366 * 86400)]] = {
        "pass": 3600, "paper_pass": 730 * 86400, "reservation": 120 * 86400, "poster": 400 * 86400}

    @field_validator("max_lifetime_seconds")
    @classmethod
    def _every_kind(cls, limits: dict[str, int]) -> dict[str, int]:
        missing = {"pass", "paper_pass", "reservation", "poster"} - set(limits)
        if missing:
            raise ValueError(f"no maximum lifetime for {', '.join(sorted(missing))}")
        return limits


class OfflinePassSection(_Strict):
    """离线通行码: rotating passes signed ahead of time and kept on the worker's phone, so the pass
    page keeps showing a valid, changing code without signal. Each lives ``programme.pass_ttl_seconds``;
    a new one starts every ``rotate_every_seconds`` (less than the lifetime: the one shown always
    has time left), for ``hours_ahead`` hours."""

    hours_ahead: Annotated[int, Field(ge=1, le=24)] = 4
    rotate_every_seconds: Annotated[int, Field(ge=15, le=3600)] = 240


class AccountsSection(_Strict):
    """Accounts: API token lifetimes, one-time codes by SMS and the log-in back-off."""

    api_token_days_staff: Annotated[int, Field(ge=1, le=366)] = 30
    api_token_days_worker: Annotated[int, Field(ge=1, le=366)] = 90
    one_time_code_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    one_time_code_tries: Annotated[int, Field(ge=1, le=20)] = 5
    one_time_codes_per_phone_per_hour: Annotated[int, Field(ge=1, le=100)] = 5
    one_time_codes_per_address_per_hour: Annotated[int, Field(ge=1, le=1000)] = 20
    one_time_code_resend_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    # Log-in back-off (no lock-out): after this many failures for one account from one address
    # (or for one account from anywhere, or from one address for any account) each further
    # failure doubles the wait, from one second up to the maximum.
    login_free_failures_per_account_and_address: Annotated[int, Field(ge=1, le=100)] = 3
    login_free_failures_per_account: Annotated[int, Field(ge=1, le=1000)] = 10
    login_free_failures_per_address: Annotated[int, Field(ge=1, le=1000)] = 20
    login_max_delay_seconds: Annotated[int, Field(ge=1, le=86400)] = 900
    # Across all addresses an account waits at most this long: a stranger can slow its owner
    # down, never lock them out.
    login_max_account_delay_seconds: Annotated[int, Field(ge=1, le=3600)] = 60
    login_failure_memory_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 60


class Programme(_Strict):
    """One year's programme, validated. Build it with :func:`load_programme`."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    programme: ProgrammeSection
    evidence_windows: Annotated[list[EvidenceWindow], Field(min_length=1)]
    evidence: EvidenceSection = EvidenceSection()
    hukou: HukouSection
    retention_subsidy: RetentionSubsidy
    production_reward: ProductionReward
    points: PointsSection
    data_bonus: DataBonusSection
    welfare_pack: WelfarePackSection = WelfarePackSection()
    venues: VenuesSection = VenuesSection()
    training: TrainingSection
    activities: ActivitiesSection = ActivitiesSection()
    entry_checks: EntryChecks
    sms: SmsSection = SmsSection()
    review: ReviewSection = ReviewSection()
    appeals: AppealsSection = AppealsSection()
    codes: CodesSection = CodesSection()
    accounts: AccountsSection = AccountsSection()
    offline_pass: OfflinePassSection = OfflinePassSection()

    source_path: str = ""

    @model_validator(mode="after")
    def _windows_before_cutoff(self) -> Programme:
        windows = self.evidence_windows
        for earlier, later in itertools.pairwise(windows):
            if later.start <= earlier.end:
                raise ValueError(
                    f"evidence windows {earlier.name!r} and {later.name!r} overlap or are out of order"
                )
        last_end = self.local_day_end(windows[-1].end)
        if last_end > self.cutoff:
            raise ValueError(f"evidence window {windows[-1].name!r} ends after the cutoff")
        limits = self.codes.max_lifetime_seconds
        if self.programme.pass_ttl_seconds > limits["pass"]:
            raise ValueError("codes.max_lifetime_seconds.pass is shorter than programme.pass_ttl_seconds")
        if self.programme.paper_pass_valid_days * 86400 > limits["paper_pass"]:
            raise ValueError("codes.max_lifetime_seconds.paper_pass is shorter than programme.paper_pass_valid_days")
        if self.offline_pass.rotate_every_seconds >= self.programme.pass_ttl_seconds:
            raise ValueError("offline_pass.rotate_every_seconds must be shorter than programme.pass_ttl_seconds "
                             "(passes overlap, so the one shown always has time left)")
        if self.appeals.window_days > self.programme.appeal_window_days:
            # Raw scans are purged after programme.appeal_window_days: never while appeals are open.
            raise ValueError("appeals.window_days is longer than programme.appeal_window_days (raw records are "
                             "purged then)")
        return self

    # -- time: the one place programme dates become instants ---------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.programme.timezone)

    @property
    def cutoff(self) -> datetime:
        return self.programme.cutoff.astimezone(UTC)

    def local_day_start(self, day: date) -> datetime:
        """The UTC instant at which local date ``day`` begins."""
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    def local_day_end(self, day: date) -> datetime:
        """The UTC instant at which local date ``day`` ends (exclusive bound)."""
        return self.local_day_start(day + timedelta(days=1))

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    @property
    def cutoff_day(self) -> date:
        """The last local day before the cutoff — "28 February" for a cutoff of 28 Feb 24:00 — the
        day people are told, and the day a residence permit must still be valid on (P2: a permit
        is valid through its expiry date)."""
        return self.local_date(self.cutoff - timedelta(microseconds=1))

    @property
    def appeals_close(self) -> datetime:
        """The end (exclusive) of the appeal window: the cutoff plus ``[appeals] window_days``."""
        return self.cutoff + timedelta(days=self.appeals.window_days)

    def window_bounds(self, window: EvidenceWindow) -> tuple[datetime, datetime]:
        """[start, end) in UTC; the end never reaches past the cutoff."""
        return self.local_day_start(window.start), min(self.local_day_end(window.end), self.cutoff)

    def window_at(self, instant: datetime) -> EvidenceWindow | None:
        for window in self.evidence_windows:
            start, end = self.window_bounds(window)
            if start <= instant < end:
                return window
        return None

    # -- people -----------------------------------------------------------------------------

    def is_home_region_id(self, id_number: str) -> bool:
        return any(id_number.startswith(prefix) for prefix in self.programme.home_region_prefixes)

    @cached_property
    def home_places(self) -> HomePlaces:
        return HomePlaces(tuple(self.hukou.province), tuple(self.hukou.city), tuple(self.hukou.counties))

    def hukou_status(self, declared_hukou: str | None, id_number: str) -> HukouStatus:
        """户籍 (SPEC §3): the ID number's region prefix decides; a declared hukou is read as a
        place name, and when it disagrees with the prefix the worker is to be reviewed by an
        official (neither counted nor excluded until then)."""
        id_home = self.is_home_region_id(id_number)
        reading = self.home_places.read(declared_hukou)
        if reading is PlaceReading.BLANK or (reading is PlaceReading.HOME) == id_home:
            return HukouStatus.HOME if id_home else HukouStatus.NON_LOCAL
        return HukouStatus.REVIEW

    def carrier_for_phone(self, phone: str) -> str | None:
        for code, carrier in self.data_bonus.carriers.items():
            if any(phone.startswith(prefix) for prefix in carrier.prefixes):
                return code
        return None

    def subsidy_for(self, ownership: str, retained: int) -> tuple[int, int]:
        """(tier threshold, amount) of the retention subsidy; (0, 0) when none applies."""
        if ownership not in self.retention_subsidy.ownership:
            return 0, 0
        reached = [tier for tier in self.retention_subsidy.tiers if retained >= tier.min_retained]
        if not reached:
            return 0, 0
        return reached[-1].min_retained, reached[-1].amount_yuan


def _describe(error: dict) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key '{key}'"
    if error["type"] == "missing":
        return f"missing key '{key}'"
    return f"key '{key}': {error['msg']}"


def parse_programme(text: str, source: str = "<string>") -> Programme:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeError(f"programme file {source}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ProgrammeError(f"programme file {source}: not valid TOML: nested too deeply") from None
    raw.pop("source_path", None)
    try:
        return Programme.model_validate({**raw, "source_path": source})
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ProgrammeError(f"programme file {source}: {problems}") from None
    except (OverflowError, RecursionError) as exc:  # a value the checks above let through; never a traceback
        raise ProgrammeError(f"programme file {source}: a value is out of range ({exc})") from None


def load_programme(path: str | Path) -> Programme:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeError(f"programme file {path}: cannot be read ({exc.strerror})") from exc
    return parse_programme(text, str(path))
