"""Issue 12, item 8: a registrant or roster worker younger than 16 or older than 70 at the
programme's start is refused with a clear message; the bounds live in the programme file."""

from datetime import date

import pytest
import sqlalchemy as sa

from tests.builders import make_enterprise, make_id_number, make_phone, make_worker
from tests.support.web import csrf_token_from, register_with_code
from wzcheckin.accounts.importer import WORKER_COLUMNS, import_workers
from wzcheckin.accounts.models import User, Worker
from wzcheckin.accounts.workers import WorkerDetails, WorkingAge, clean_worker_details
from wzcheckin.core.identity import parse_id_number
from wzcheckin.core.refusals import Refusal

STARTS = date(2021, 1, 12)  # the shipped programme's start


def test_the_bounds_come_from_the_programme_file(programme):
    assert (programme.programme.min_working_age, programme.programme.max_working_age) == (16, 70)
    assert WorkingAge.of(programme) == WorkingAge(16, 70, STARTS)


@pytest.mark.parametrize(("born", "allowed"), [
    (date(2005, 1, 12), True),    # 16 on the programme's first day
    (date(2005, 1, 13), False),   # 16 the day after: younger than 16 at the start
    (date(1950, 1, 13), True),    # 70 (71 the day after the start)
    (date(1950, 1, 12), False),   # 71 on the first day: older than 70
    (date(2004, 2, 29), True),    # born on a leap day: 16 since 2020
])
def test_age_at_the_programme_start_decides(programme, born, allowed):
    assert WorkingAge.of(programme).allows(parse_id_number(make_id_number(born=born))) is allowed


def test_a_worker_younger_than_16_at_the_start_is_refused_when_details_are_cleaned(db, programme):
    details = WorkerDetails(name="小明", id_number=make_id_number(born=date(2005, 6, 1)), phone=make_phone())
    with pytest.raises(Refusal) as refused:
        clean_worker_details(db, details, date(2021, 1, 20), working_age=WorkingAge.of(programme))
    assert refused.value.errors == {"id_number": "age_out_of_range"}


def test_stricter_bounds_in_the_programme_file_apply(db, programme):
    stricter = programme.model_copy(update={"programme": programme.programme.model_copy(
        update={"min_working_age": 18})})
    details = WorkerDetails(name="小明", id_number=make_id_number(born=date(2003, 6, 1)), phone=make_phone())
    clean_worker_details(db, details, date(2021, 1, 20), working_age=WorkingAge.of(programme))  # 17: fine at 16
    with pytest.raises(Refusal, match="age_out_of_range"):
        clean_worker_details(db, details, date(2021, 1, 20), working_age=WorkingAge.of(stricter))


def register(client, db, id_number, language="zh-CN"):
    return register_with_code(client, db, {
        "name": "李娜", "id_number": id_number, "phone": make_phone(),
        "credit_code": "", "hukou": "", "residence_permit_no": "", "residence_permit_expiry": "", "pledge": "y",
        "password": "stay-in-wenzhou", "password_confirm": "stay-in-wenzhou"}, headers={"Accept-Language": language})


def test_registration_refuses_someone_older_than_70_with_a_clear_message(client, db):
    zh = register(client, db, make_id_number(born=date(1949, 3, 1)))
    assert zh.status_code == 200 and "劳动年龄" in zh.text and "16" in zh.text and "70" in zh.text
    en = register(client, db, make_id_number(born=date(2008, 3, 1)), language="en")
    assert "working age: 16 to 70 years old on 2021-01-12" in en.text  # the one date style
    assert db.scalar(sa.select(sa.func.count(User.id))) == 0


def test_activation_refuses_a_roster_worker_outside_the_working_age(client, db, vault, programme):
    # Listed before the bound existed: the roster row is there, the account cannot be activated.
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault), activated=False,
                         id_number=make_id_number(born=date(2006, 5, 1)))
    db.commit()
    page = client.get("/activate")
    response = client.post("/activate", data={
        "csrf_token": csrf_token_from(page.text), "id_number": vault.decrypt(worker.id_number_encrypted),
        "phone": vault.decrypt(worker.user.phone_encrypted), "pledge": "y", "password": "new-password-1",
        "password_confirm": "new-password-1"})
    assert response.status_code == 200 and "劳动年龄" in response.text
    db.rollback()
    assert not db.get(Worker, worker.id).user.is_activated


def test_a_roster_line_outside_the_working_age_is_named_and_nothing_is_written(db, vault, programme):
    from tests.enterprises.test_gate import NOW

    enterprise = make_enterprise(db, vault)
    rows = [(make_id_number(born=date(1988, 4, 2)), make_phone()), (make_id_number(born=date(1940, 4, 2)), make_phone())]
    text = ",".join(WORKER_COLUMNS) + "\n" + "".join(
        f"{enterprise.credit_code},工人{i},{number},{phone},,,,yes\n" for i, (number, phone) in enumerate(rows))
    report = import_workers(db, vault, programme, text, NOW)
    assert [str(error) for error in report.errors] == ["line 3: id_number: age_out_of_range"]
    assert db.scalar(sa.select(sa.func.count(Worker.id))) == 0
