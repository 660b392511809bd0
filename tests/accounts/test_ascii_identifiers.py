"""Issue 12, item 7, on both databases: the same ID or phone written in another script's digits
neither registers a second account nor escapes the Wenzhou prefix test; rows stored before that
rule are re-normalised (migration 0002), and duplicates they turn out to be are reported by
masked number only, never merged or crashed on."""

from decimal import Decimal

import sqlalchemy as sa

from tests.builders import make_enterprise, make_id_number, make_phone, make_worker
from tests.enterprises.test_gate import NOW
from tests.scanning.builders import gate_setup
from tests.support.web import register_with_code
from wzcheckin.accounts.importer import WORKER_COLUMNS, import_workers
from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.renormalise import renormalise_identifiers
from wzcheckin.enterprises.models import Enterprise, VisitorRegistration

DEVANAGARI, THAI, ARABIC_INDIC = 0x0966, 0x0E50, 0x0660


def in_script(text: str, zero: int) -> str:
    return "".join(chr(zero + int(char)) if char.isascii() and char.isdigit() else char for char in text)


def register(client, db, id_number, phone):
    # The code goes to a well-formed number; the details then carry the number as typed.
    return register_with_code(client, db, {
        "name": "李娜", "id_number": id_number, "phone": phone,
        "credit_code": "", "hukou": "", "residence_permit_no": "", "residence_permit_expiry": "", "pledge": "y",
        "password": "stay-in-wenzhou", "password_confirm": "stay-in-wenzhou"}, code_phone=make_phone())


def test_the_same_id_in_devanagari_digits_does_not_register_a_second_account(client, db, vault, programme):
    number = make_id_number("330302")
    make_worker(db, vault, programme, id_number=number)
    db.commit()
    again = register(client, db, in_script(number, DEVANAGARI), make_phone())
    assert again.status_code == 200 and "请使用数字 0–9" in again.text
    thai_phone = register(client, db, make_id_number(), in_script(make_phone(), THAI))
    assert thai_phone.status_code == 200 and "请使用数字 0–9" in thai_phone.text
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(Worker.id))) == 1


def test_a_roster_line_with_arabic_indic_digits_is_named_and_nothing_is_written(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    text = ",".join(WORKER_COLUMNS) + "\n" + (
        f"{enterprise.credit_code},甲,{make_id_number()},{make_phone()},,,,yes\n"
        f"{enterprise.credit_code},乙,{in_script(make_id_number('330302'), ARABIC_INDIC)},{make_phone()},,,,yes\n")
    report = import_workers(db, vault, programme, text, NOW)
    assert [str(error) for error in report.errors] == ["line 3: id_number: digits_not_ascii"]
    assert db.scalar(sa.select(sa.func.count(Worker.id))) == 0


# --- re-normalising rows stored before the rule ------------------------------------------------------

def store_as_legacy(db, vault, worker, id_number: str) -> None:
    """Write the worker's ID as the old parser stored it: another script's digits, hashed so."""
    worker.id_number_hash = vault.lookup_hash("id", id_number)
    worker.id_number_encrypted = vault.encrypt(id_number)
    worker.id_number_tail = id_number[-4:]
    db.flush()


def test_a_stored_id_in_another_script_is_rewritten_in_ascii_with_its_hash(db, vault, programme):
    number = make_id_number("330302")
    worker = make_worker(db, vault, programme)
    store_as_legacy(db, vault, worker, in_script(number, DEVANAGARI))
    phone = make_phone()
    worker.user.phone_hash = vault.lookup_hash("phone", in_script(phone, THAI))
    worker.user.phone_encrypted = vault.encrypt(in_script(phone, THAI))
    db.flush()
    report = renormalise_identifiers(db.connection(), vault)
    db.expire_all()
    assert worker.id_number_hash == vault.lookup_hash("id", number)
    assert vault.decrypt(worker.id_number_encrypted) == number and worker.id_number_tail == number[-4:]
    assert worker.user.phone_hash == vault.lookup_hash("phone", phone)
    assert worker.user.phone_masked == phone[:3] + "****" + phone[-4:]
    assert report.renormalised == 2 and report.collisions == []
    # Found now by the number as typed in ASCII; a second run changes nothing.
    from wzcheckin.accounts.lookups import find_worker_by_id_number

    assert find_worker_by_id_number(db, vault, number).id == worker.id
    assert renormalise_identifiers(db.connection(), vault).renormalised == 0


def test_a_stored_duplicate_is_left_unchanged_and_reported_by_masked_number_only(db, vault, programme):
    number = make_id_number()
    first = make_worker(db, vault, programme, id_number=number)
    second = make_worker(db, vault, programme)
    store_as_legacy(db, vault, second, in_script(number, THAI))
    legacy_hash = second.id_number_hash
    report = renormalise_identifiers(db.connection(), vault)
    db.expire_all()
    assert second.id_number_hash == legacy_hash  # not merged, not crashed: for an official to decide
    [collision] = report.collisions
    assert (collision.table, collision.row_id, collision.other_row_id) == ("workers", second.id, first.id)
    printed = "\n".join(report.lines())
    assert "*" * 14 + number[-4:] in printed
    assert number not in printed and in_script(number, THAI) not in printed and number[:14] not in printed
    assert "workers.id_number_hash: 2 rows, 0 re-normalised, 1 duplicates left unchanged" in printed


def test_two_stored_variants_of_one_phone_keep_one_account_and_list_the_other(db, vault, programme):
    phone = make_phone()
    thai, devanagari = make_worker(db, vault, programme), make_worker(db, vault, programme)
    for worker, zero in ((thai, THAI), (devanagari, DEVANAGARI)):
        worker.user.phone_hash = vault.lookup_hash("phone", in_script(phone, zero))
        worker.user.phone_encrypted = vault.encrypt(in_script(phone, zero))
    db.flush()
    report = renormalise_identifiers(db.connection(), vault)
    db.expire_all()
    hashes = {thai.user.phone_hash, devanagari.user.phone_hash}
    assert vault.lookup_hash("phone", phone) in hashes and len(hashes) == 2
    assert [(c.table, c.masked) for c in report.collisions] == [("users", phone[:3] + "****" + phone[-4:])]


def test_visitors_and_enterprise_admin_phones_are_re_normalised_too(db, vault, programme):
    enterprise, gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    number, phone = make_id_number(), make_phone()
    foreign_number, foreign_phone = in_script(number, ARABIC_INDIC), in_script(phone, DEVANAGARI)
    db.add(VisitorRegistration(
        enterprise_id=enterprise.id, checkpoint_id=gate.id, name="访客", id_number_hash=vault.lookup_hash("id", foreign_number),
        id_number_encrypted=vault.encrypt(foreign_number), id_number_tail=foreign_number[-4:],
        phone_hash=vault.lookup_hash("phone", foreign_phone), phone_encrypted=vault.encrypt(foreign_phone),
        phone_masked="x", reason="送货", mask=True, temperature=Decimal("36.5"), symptoms=False, outcome="entry_allowed",
        registered_by_user_id=gatekeeper.id, registered_at=NOW))
    enterprise.admin_phone_hash = vault.lookup_hash("phone", foreign_phone)
    enterprise.admin_phone_encrypted = vault.encrypt(foreign_phone)
    db.flush()
    report = renormalise_identifiers(db.connection(), vault)
    db.expire_all()
    visitor = db.scalar(sa.select(VisitorRegistration))
    assert visitor.id_number_hash == vault.lookup_hash("id", number) and visitor.id_number_tail == number[-4:]
    assert visitor.phone_hash == vault.lookup_hash("phone", phone)
    assert db.get(Enterprise, enterprise.id).admin_phone_hash == vault.lookup_hash("phone", phone)
    assert report.renormalised == 3


def test_an_empty_database_is_re_normalised_without_a_change(db, vault):
    report = renormalise_identifiers(db.connection(), vault)
    assert report.renormalised == 0 and report.collisions == []
    assert {column.name for column in report.columns} >= {"workers.id_number_hash", "users.phone_hash"}
    # Only the signing key the fixture made exists: no user rows were touched.
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_migration_0002_re_normalises_stored_rows_and_reports_duplicates_masked(backend, new_database_url):
    from datetime import UTC, datetime

    from tests.support.servers import TEST_ENV, run_cli
    from wzcheckin.core.personal_data import PersonalDataVault

    vault = PersonalDataVault(TEST_ENV["WZCHECKIN_DATA_KEYS"], TEST_ENV["WZCHECKIN_LOOKUP_KEY"])
    url = new_database_url(backend)
    run_cli(url, "db", "upgrade", "0001")
    number, duplicate = make_id_number("330302"), make_id_number()
    stored = [("13900000001", in_script(number, DEVANAGARI)), ("13900000002", duplicate),
              ("13900000003", in_script(duplicate, THAI))]
    engine = sa.create_engine(url)
    now = datetime(2021, 1, 20, tzinfo=UTC)
    with engine.begin() as connection:
        users, workers = sa.Table("users", sa.MetaData(), autoload_with=connection), sa.Table(
            "workers", sa.MetaData(), autoload_with=connection)
        for index, (phone, id_number) in enumerate(stored):
            user_id = connection.execute(sa.insert(users).values(
                role="worker", phone_hash=vault.lookup_hash("phone", phone), phone_encrypted=vault.encrypt(phone),
                phone_masked=phone[:3] + "****" + phone[-4:], display_name="", failed_logins=0, created_at=now)
            ).inserted_primary_key[0]
            connection.execute(sa.insert(workers).values(
                user_id=user_id, public_id=f"{index:016x}", name="工人", id_number_hash=vault.lookup_hash("id", id_number),
                id_number_encrypted=vault.encrypt(id_number), id_number_tail=id_number[-4:], hukou="",
                hukou_is_home=False, employment_confirmed=False, registered_via="roster", created_at=now, updated_at=now))
    result = run_cli(url, "init")
    assert '"database": "ready"' in result.stdout.splitlines()[-1]
    with engine.connect() as connection:
        hashes = dict(connection.execute(sa.text("SELECT id, id_number_hash FROM workers ORDER BY id")).all())
        statuses = dict(connection.execute(sa.text("SELECT id, hukou_status FROM workers ORDER BY id")).all())
    engine.dispose()
    # The Wenzhou ID number stored in Devanagari digits escaped the prefix test; re-normalised, the
    # hukou is decided again from it (migration 0003): Wenzhou, not counted.
    assert statuses[1] == "home" and statuses[2] == "non_local"
    assert hashes[1] == vault.lookup_hash("id", number)                              # re-normalised
    assert hashes[3] == vault.lookup_hash("id", in_script(duplicate, THAI))           # a duplicate: unchanged
    assert "0002: workers.id_number_hash: 3 rows, 1 re-normalised, 1 duplicates left unchanged" in result.stderr
    assert "workers #3 (" + "*" * 14 + duplicate[-4:] + ") is the same number as workers #2" in result.stderr
    for secret in (number, duplicate, in_script(duplicate, THAI), in_script(number, DEVANAGARI)):
        assert secret not in result.stderr and secret not in result.stdout
