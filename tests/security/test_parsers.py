"""Every validator and parser against arbitrary input (hypothesis): what people type (ID numbers,
credit codes, phones — full-width, lower case, spaced as phones and Excel produce them), signed
codes, every CSV importer and programme files. The only outcomes allowed are a value that is
really valid, or the parser's own refusal with a stable code — never another exception (which
would be a 500 on a page, or a traceback in the command line).

Bounded for CI; ``python -m bench.fuzz`` runs the same properties much longer.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import make_credit_code, make_enterprise, make_unique_id_number, make_worker
from wzcheckin.codes import tokens
from wzcheckin.codes.tokens import TokenError, TokenKind
from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.core.csv_import import CsvFormatError, ImportReport
from wzcheckin.core.identity import (
    InvalidIdentifier,
    credit_check_character,
    id_check_character,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)
from wzcheckin.programme import Programme, ProgrammeError, parse_programme

# A long run (bench/fuzz.py) sets WZCHECKIN_FUZZ_EXAMPLES; CI keeps each property small.
EXAMPLES = int(os.environ.get("WZCHECKIN_FUZZ_EXAMPLES", "150"))
DB_EXAMPLES = max(10, EXAMPLES // 6)
FAST = settings(max_examples=EXAMPLES, deadline=None)
DB = settings(max_examples=DB_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])

# Other scripts' digits (Devanagari, Thai...) are refused as such: only ASCII digits are accepted.
ID_CODES = {"required", "too_long", "id_15_digit", "id_length", "id_format", "id_birth_date", "id_check",
            "digits_not_ascii"}
CREDIT_CODES = {"required", "too_long", "credit_length", "credit_format", "credit_check", "digits_not_ascii"}
PHONE_CODES = {"required", "too_long", "phone_format", "digits_not_ascii"}
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-()"}

# Characters people and spreadsheets really produce, plus the awkward ones.
NASTY = ["\x00", "\u200b", "\ufeff", "²", "١٢٣", "Ⅻ", "ｘ", "Ｘ", "\u3000", "\n", "\r", "\t", ",", '"', "'", ";",
         "9" * 40, "-1", "1e999", "NaN", "Infinity", "0x10", "0001-01-01", "9999-12-31", "2021-02-30", "是", "否",
         "<script>", "../", "%00", "\\", "🙂", "ß", "İ"]


@st.composite
def typed(draw, canonical: str) -> str:
    """``canonical`` as a person might type it: lower case, full width, spaces and hyphens."""
    out = []
    for char in canonical:
        form = draw(st.sampled_from(["plain", "plain", "lower", "full"]))
        char = char.lower() if form == "lower" else FULL_WIDTH.get(char, char) if form == "full" else char
        out.append(char)
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([" ", "-", "\u3000", "\t"])))
    return "".join(out)


def junk(max_size: int = 40):
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet="0123456789Xx ０１２３４５６７８９Ｘｘ-+()", max_size=max_size),
        st.sampled_from(NASTY),
    )


# --- ID numbers --------------------------------------------------------------------------------

@st.composite
def id_numbers(draw) -> str:
    region = draw(st.sampled_from(["110105", "330302", "510122", "330304", "411523"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)))
    first17 = f"{region}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + id_check_character(first17)


@FAST
@given(st.data())
def test_an_id_number_typed_any_way_parses_to_itself(data):
    number = data.draw(id_numbers())
    assert parse_id_number(data.draw(typed(number))).value == number


@FAST
@given(junk(80))
def test_anything_accepted_as_an_id_number_is_one(text):
    try:
        parsed = parse_id_number(text)
    except InvalidIdentifier as error:
        assert error.code in ID_CODES
        return
    value = parsed.value
    assert re.fullmatch(r"[1-9][0-9]{16}[0-9X]", value) and id_check_character(value[:17]) == value[17]


# --- credit codes ------------------------------------------------------------------------------

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def credit_codes(draw) -> str:
    head = "".join(draw(st.sampled_from(CREDIT_CHARSET)) for _ in range(2))
    region = f"{draw(st.integers(0, 999999)):06d}"
    body = "".join(draw(st.sampled_from(CREDIT_CHARSET)) for _ in range(9))
    first17 = head + region + body
    return first17 + credit_check_character(first17)


@FAST
@given(st.data())
def test_a_credit_code_typed_any_way_parses_to_itself(data):
    code = data.draw(credit_codes())
    assert parse_credit_code(data.draw(typed(code))) == code


@FAST
@given(st.one_of(junk(60), st.text(alphabet=CREDIT_CHARSET + "IOZSVio", min_size=17, max_size=19)))
def test_anything_accepted_as_a_credit_code_is_one(text):
    try:
        code = parse_credit_code(text)
    except InvalidIdentifier as error:
        assert error.code in CREDIT_CODES
        return
    assert len(code) == 18 and set(code) <= set(CREDIT_CHARSET) and credit_check_character(code[:17]) == code[17]


# --- phones ------------------------------------------------------------------------------------

@FAST
@given(st.integers(3, 9), st.integers(0, 999_999_999), st.sampled_from(["", "+86", "0086", "86", "+86 ", "(+86)"]),
       st.data())
def test_a_mobile_number_typed_any_way_parses_to_itself(second, rest, prefix, data):
    phone = f"1{second}{rest:09d}"
    assert parse_phone(data.draw(typed(prefix + phone))) == phone


@FAST
@given(junk(70))
def test_anything_accepted_as_a_phone_is_a_mainland_mobile(text):
    try:
        phone = parse_phone(text)
    except InvalidIdentifier as error:
        assert error.code in PHONE_CODES
        return
    assert re.fullmatch(r"1[3-9][0-9]{9}", phone)


# --- signed codes ------------------------------------------------------------------------------

KEY = Ed25519PrivateKey.generate()
KEYS = {3: KEY.public_key()}
NOW = datetime(2021, 2, 5, 1, 0, tzinfo=UTC)
VALID = tokens.sign(KEY, 3, TokenKind.PASS, "0123456789abcdef", NOW + timedelta(minutes=5), issued_at=NOW)
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@FAST
@given(st.one_of(junk(300), st.text(alphabet=BASE32 + "=abc01 ", min_size=120, max_size=140)))
def test_arbitrary_text_is_never_a_valid_code(text):
    with pytest.raises(TokenError) as error:
        tokens.verify(text, KEYS, NOW)
    assert error.value.reason in {"invalid_token", "unknown_key", "expired"}


@FAST
@given(st.integers(0, len(VALID) - 1), st.sampled_from(BASE32))
def test_a_code_altered_in_one_place_never_verifies(position, replacement):
    altered = VALID[:position] + replacement + VALID[position + 1:]
    if altered == VALID:
        return
    with pytest.raises(TokenError):
        tokens.verify(altered, KEYS, NOW)


@FAST
@given(st.data())
def test_a_code_typed_in_lower_case_or_with_spaces_around_still_verifies(data):
    text = "".join(c.lower() if data.draw(st.booleans()) else c for c in VALID)
    text = data.draw(st.sampled_from(["", " ", "\n"])) + text + data.draw(st.sampled_from(["", " ", "\r\n"]))
    assert tokens.verify(text, KEYS, NOW).subject == "0123456789abcdef"


# --- programme files ---------------------------------------------------------------------------

SHIPPED = Path(DEFAULT_PROGRAMME).read_text(encoding="utf-8")
# The calendar's edges (and offsets that push an instant over them) next to ordinary dates.
EDGE_DATES = st.sampled_from([date.min, date.max, date(1, 1, 2), date(9999, 12, 30), date(1899, 12, 31)])
DATES = st.one_of(st.dates(), EDGE_DATES)
OFFSETS = st.sampled_from([UTC, None, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
INSTANTS = st.one_of(st.datetimes(timezones=OFFSETS),
                     st.builds(lambda d, tz: datetime.combine(d, datetime.min.time(), tzinfo=tz), EDGE_DATES, OFFSETS))
TOML_SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.text(max_size=20), DATES, INSTANTS, st.times(),
)
TOML_VALUES = st.recursive(TOML_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                  st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4)), max_leaves=8)
VALUE_LINE = re.compile(r"^(\s*[A-Za-z_][A-Za-z0-9_]*\s*=\s*)(.+?)(\s*#.*)?$", re.M)
SHIPPED_VALUES = list(VALUE_LINE.finditer(SHIPPED))


def assert_programme_or_refusal(text: str) -> None:
    try:
        programme = parse_programme(text, "fuzz.toml")
    except ProgrammeError as error:
        assert "fuzz.toml" in str(error)
        return
    assert isinstance(programme, Programme)
    # A programme that loads must be usable: the instants the app derives from it exist.
    for window in programme.evidence_windows:
        programme.window_bounds(window)
    programme.local_date(programme.cutoff)


@FAST
@given(st.integers(0, len(SHIPPED_VALUES) - 1), TOML_VALUES)
def test_the_shipped_programme_with_one_value_changed_loads_or_is_refused_by_name(index, value):
    line = SHIPPED_VALUES[index]
    rendered = tomli_w.dumps({"v": value}).split("=", 1)[1].strip() if not isinstance(value, dict) else "{}"
    assert_programme_or_refusal(SHIPPED[:line.start(2)] + rendered + SHIPPED[line.end(2):])


@FAST
@given(DATES, DATES, st.integers(0, 2))
def test_evidence_windows_at_any_dates_load_or_are_refused_by_name(start, end, which):
    names = ["节前", "春节假期", "节后"]
    text = re.sub(rf'(name = "{names[which]}"\nname_en = "[^"]*"\n)start = [0-9-]+\nend = [0-9-]+',
                  rf"\g<1>start = {start.isoformat()}\nend = {end.isoformat()}", SHIPPED)
    assert_programme_or_refusal(text)


@FAST
@given(st.dictionaries(st.sampled_from(["programme", "evidence_windows", "points", "entry_checks", "x"]),
                       TOML_VALUES, max_size=5))
def test_arbitrary_documents_are_refused_by_name(document):
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):
        return  # not representable as TOML (a list of mixed tables, say)
    assert_programme_or_refusal(text)


@FAST
@given(st.one_of(st.text(max_size=200), st.sampled_from(["[" * 5000, "a = " + "[" * 5000, "a = {" * 2000, "\x00"])))
def test_arbitrary_text_is_refused_by_name(text):
    assert_programme_or_refusal(text)


# --- every CSV importer ------------------------------------------------------------------------

def _examples(column: str, enterprise_code: str, course_code: str) -> list[str]:
    """Plausible values per column, so lines get past the first field often."""
    today = date(2021, 2, 5)
    return {
        "credit_code": [enterprise_code, make_credit_code(), ""],
        "name": ["张三", "温州市图书馆", "A" * 201, "张\x00三"],
        "id_number": [make_unique_id_number(), make_unique_id_number("330302"), ""],
        "phone": ["13957700001", "+86 139 5770 0002", ""],
        "admin_phone": ["13957700003", ""],
        "hukou": ["四川成都", "温州", ""],
        "residence_permit_no": ["ZJ330300001", ""],
        "residence_permit_expiry": [(today + timedelta(days=90)).isoformat(), ""],
        "pledged": ["yes", "no", "是"],
        "district": ["鹿城区", "瓯海区"],
        "ownership": ["private", "state", "foreign"],
        "industrial": ["yes", "no"],
        "code": ["wz-lib-1", "PP-1", course_code],
        "kind": ["library", "canteen", "landmark", "childcare"],
        "address": ["五马街 1 号", ""],
        "stock": ["10", "0", "1000001"],
        "title": ["数控车床", ""],
        "mode": ["online", "offline"],
        "provider": ["温州职业技能培训中心"],
        "class_hours": ["80", "0", "1.5"],
        "cost_yuan": ["1000", "1000.555", "-1"],
        "starts_on": ["2021-02-11"], "ends_on": ["2021-02-20", "2021-02-01"],
        "opens_on": ["2021-02-11", ""], "closes_on": ["2021-02-20", ""],
        "capacity": ["", "30", "-3"],
        "hours": ["08:00-20:00"], "contact": ["88996871"], "notes": [""],
        "completed_on": ["2021-02-04", "2021-03-01"],
        "claim_id": ["1", "999999999999", "0"],
        "result": ["fulfilled", "failed", "pending"],
        "reason": ["号码已停机", ""],
    }.get(column, [""])


@st.composite
def csv_text(draw, columns, enterprise_code: str, course_code: str) -> str:
    header = list(columns)
    if draw(st.integers(0, 9)) == 0:  # a wrong header now and then
        header = draw(st.permutations(header))[: draw(st.integers(0, len(header)))] + draw(
            st.lists(st.text(max_size=6), max_size=2))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(st.one_of(st.sampled_from(_examples(column, enterprise_code, course_code)), junk(30)))
               for column in columns]
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        writer.writerow(row)
    text = buffer.getvalue()
    if draw(st.integers(0, 9)) == 0:
        text += draw(st.text(max_size=40))  # a ragged tail
    return draw(st.sampled_from(["", "\ufeff"])) + text


def _importers(session, vault, programme, now):
    """(name, columns, function(text) -> report) for every importer the app has."""
    from tests.benefits.builders import make_course
    from wzcheckin.accounts.importer import WORKER_COLUMNS, import_workers
    from wzcheckin.benefits.attendance import COMPLETION_COLUMNS, upload_completions
    from wzcheckin.benefits.courses import COURSE_COLUMNS, import_courses
    from wzcheckin.benefits.data_bonus import RESULTS_HEADER, apply_results
    from wzcheckin.benefits.directory import SERVICE_COLUMNS, import_services
    from wzcheckin.enterprises.services import ENTERPRISE_COLUMNS, import_enterprises
    from wzcheckin.venues.services import VENUE_COLUMNS, import_venues
    from wzcheckin.welfare.services import PICKUP_POINT_COLUMNS, import_pickup_points

    enterprise = make_enterprise(session, vault)
    worker = make_worker(session, vault, programme, enterprise=enterprise)
    course = make_course(session, enterprise=enterprise, mode="online", starts_on=date(2021, 1, 20))
    session.commit()
    importers = [
        ("enterprises", ENTERPRISE_COLUMNS, lambda text: import_enterprises(session, vault, text, now)),
        ("workers", WORKER_COLUMNS, lambda text: import_workers(session, vault, programme, text, now)),
        ("venues", VENUE_COLUMNS, lambda text: import_venues(session, text, now)),
        ("pickup points", PICKUP_POINT_COLUMNS, lambda text: import_pickup_points(session, text, now)),
        ("courses", COURSE_COLUMNS, lambda text: import_courses(session, text, now)),
        ("services", SERVICE_COLUMNS, lambda text: import_services(session, text, now)),
        ("completions", COMPLETION_COLUMNS,
         lambda text: upload_completions(session, vault, programme, course, text, now)),
        ("carrier results", RESULTS_HEADER, lambda text: apply_results(session, "china_mobile", text, now)),
    ]
    return importers, enterprise.credit_code, course.code, worker


@DB
@given(st.data())
def test_every_importer_answers_every_file_with_a_report_or_a_file_error(db, vault, programme, data):
    now = datetime(2021, 2, 5, 2, 0, tzinfo=UTC)
    if not hasattr(db, "_fuzz_importers"):
        db._fuzz_importers = _importers(db, vault, programme, now)
    importers, credit_code, course_code, _worker = db._fuzz_importers
    name, columns, run = data.draw(st.sampled_from(importers))
    text = data.draw(csv_text(columns, credit_code, course_code))
    try:
        report = run(text)
    except CsvFormatError as error:
        assert str(error)
    else:
        assert isinstance(report, ImportReport) or hasattr(report, "errors"), name
        assert all(str(e).startswith("line ") for e in report.errors), name
        if report.errors:
            assert all(e.line >= 2 for e in report.errors), name
    finally:
        db.rollback()


# The nastiest values, each put deterministically into every column of an otherwise plausible
# line of every importer (hypothesis above explores; this makes sure the worst are always tried).
WORST = ["\x00", "²", "9" * 40, "1e999", "9999-12-31", "0001-01-01", "-1", "\u3000"]


def test_the_worst_values_in_every_column_of_every_importer(db, vault, programme):
    now = datetime(2021, 2, 5, 2, 0, tzinfo=UTC)
    importers, credit_code, course_code, _worker = _importers(db, vault, programme, now)
    tried = 0
    for name, columns, run in importers:
        plausible = [_examples(column, credit_code, course_code)[0] for column in columns]
        for index, column in enumerate(columns):
            for value in WORST:
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerow(columns)
                writer.writerow([*plausible[:index], value, *plausible[index + 1:]])
                try:
                    report = run(buffer.getvalue())
                    db.flush()
                except CsvFormatError:
                    pass
                except Exception as error:  # the assertion names the importer, column and value
                    raise AssertionError(f"{name}: {column}={value!r}: {type(error).__name__}: {error}") from error
                else:
                    assert all(str(e).startswith("line 2:") for e in report.errors), (name, column, value)
                finally:
                    db.rollback()
                tried += 1
    assert tried == sum(len(columns) for _name, columns, _run in importers) * len(WORST)
