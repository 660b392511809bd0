"""Accounts room, workers: the details a worker (or a roster line) gives, checked; registering,
the roster import's upsert, and activating a roster account with a one-time code.

Plain Python: every function takes the session, the vault and ``now``; none commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.codes import issue_code, use_code
from wzcheckin.accounts.errors import AccountError, CodeRefused
from wzcheckin.accounts.facts import record_worker_facts, reviewed_status
from wzcheckin.accounts.lookups import (
    _new_user,
    find_user_by_phone,
    find_worker_by_id_number,
    hash_password,
    id_number_hash,
    password_problem,
    phone_hash,
)
from wzcheckin.accounts.models import CodePurpose, OneTimeCode, Worker
from wzcheckin.core.identity import (
    IdNumber,
    InvalidIdentifier,
    mask_phone,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.public_ids import new_public_id
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme


@dataclass
class WorkerDetails:
    """What a worker (or a roster line) says about themself, as typed."""

    name: str = ""
    id_number: str = ""
    phone: str = ""
    credit_code: str = ""
    hukou: str = ""
    residence_permit_no: str = ""
    residence_permit_expiry: date | None = None
    pledged: bool = False


@dataclass
class CleanWorkerDetails:
    name: str
    id_number: str
    id_tail: str
    phone: str
    enterprise: Enterprise | None
    hukou: str
    residence_permit_no: str | None
    residence_permit_expiry: date | None
    pledged: bool
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WorkingAge:
    """Who may register or be on a roster: aged ``minimum`` to ``maximum`` (completed years,
    both included) on ``on``, the programme's start; the age comes from the ID number."""

    minimum: int
    maximum: int
    on: date

    @classmethod
    def of(cls, programme: Programme) -> WorkingAge:
        section = programme.programme
        return cls(section.min_working_age, section.max_working_age, section.starts)

    def allows(self, id_number: IdNumber) -> bool:
        return self.minimum <= id_number.age_on(self.on) <= self.maximum


def clean_worker_details(session: Session, details: WorkerDetails, today: date,
                         *, working_age: WorkingAge, require_employer: bool = False) -> CleanWorkerDetails:
    """Validate every field; raise a field :class:`~wzcheckin.core.refusals.Refusal` naming each bad one."""
    errors: dict[str, str] = {}
    name = (details.name or "").strip()
    if not name:
        errors["name"] = "required"
    elif len(name) > 50:
        errors["name"] = "too_long"

    id_number = phone = ""
    try:
        parsed_id = parse_id_number(details.id_number, today=today)
        id_number = parsed_id.value
        if not working_age.allows(parsed_id):
            errors["id_number"] = "age_out_of_range"
    except InvalidIdentifier as exc:
        errors["id_number"] = exc.code
    try:
        phone = parse_phone(details.phone)
    except InvalidIdentifier as exc:
        errors["phone"] = exc.code

    enterprise = None
    if details.credit_code and details.credit_code.strip():
        try:
            code = parse_credit_code(details.credit_code)
            enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
            if enterprise is None:
                errors["credit_code"] = "enterprise_unknown"
        except InvalidIdentifier as exc:
            errors["credit_code"] = exc.code
    elif require_employer:
        errors["credit_code"] = "required"

    hukou = (details.hukou or "").strip()
    if len(hukou) > 100:
        errors["hukou"] = "too_long"
    permit_no = (details.residence_permit_no or "").strip().upper() or None
    if permit_no is not None and not (4 <= len(permit_no) <= 32 and permit_no.isalnum()):
        errors["residence_permit_no"] = "permit_format"
    if details.residence_permit_expiry is not None and permit_no is None:
        errors["residence_permit_no"] = "permit_missing"
    if errors:
        raise AccountError.fields(errors)
    return CleanWorkerDetails(
        name=name, id_number=id_number, id_tail=id_number[-4:], phone=phone, enterprise=enterprise,
        hukou=hukou, residence_permit_no=permit_no,
        residence_permit_expiry=details.residence_permit_expiry, pledged=bool(details.pledged),
    )


def retained_worker_problem(worker: Worker) -> str | None:
    """Why a worker is not a retained worker from outside Wenzhou, whom the data bonus (P1) and
    the welfare pack (P3) are for: ``not_pledged``, ``home_hukou``; None when they are one."""
    if not worker.has_pledged:
        return "not_pledged"
    # A hukou still to be reviewed is not refused benefits in kind: only the money waits for the
    # official's decision (the headcount and points read the decided status).
    if worker.hukou_is_home:
        return "home_hukou"
    return None


def _apply_worker_details(session: Session, worker: Worker, clean: CleanWorkerDetails, vault: PersonalDataVault,
                          programme: Programme, now: datetime) -> None:
    worker.name = clean.name
    worker.hukou = clean.hukou
    worker.hukou_status = reviewed_status(session, worker, programme.hukou_status(clean.hukou, clean.id_number))
    worker.residence_permit_no_encrypted = (
        vault.encrypt(clean.residence_permit_no) if clean.residence_permit_no else None
    )
    worker.residence_permit_expiry = clean.residence_permit_expiry if clean.residence_permit_no else None
    if clean.pledged and worker.pledged_at is None:
        worker.pledged_at = now
    elif not clean.pledged:
        worker.pledged_at = None
    worker.updated_at = now


def request_registration_code(session: Session, vault: PersonalDataVault, programme: Programme, phone_raw: str,
                              now: datetime, *, address: str | None = None) -> OneTimeCode:
    """Self-registration, step 1: a six-digit code by SMS to the phone the worker gives, to prove
    it is in their hand before an account is made on it. Sent to any well-formed number (there is
    no account yet to match), within the code limits of ``[accounts]``; whether the number is
    already registered is told only once the code proves the number is the caller's."""
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        raise AccountError.fields({"phone": exc.code}) from None
    return issue_code(session, vault, programme, purpose=CodePurpose.REGISTER, phone=phone, user=None,
                      address=address, now=now)


def register_worker(session: Session, vault: PersonalDataVault, programme: Programme,
                    details: WorkerDetails, password: str, now: datetime,
                    form_errors: dict[str, str] | None = None, *, code_id: int | None,
                    code: str | None) -> Worker:
    """A worker registers themself on their phone, step 2: the code sent to that phone
    (:func:`request_registration_code`) and their details.

    The phone must be the one the code was sent to (``phone_not_verified``, before any guess is
    counted). A duplicate ID or phone number gets one and the same answer (``already_registered``)
    so the form does not tell a stranger which of the two is on file. ``form_errors`` are what the
    caller's form found wrong (a password typed differently twice, the pledge not ticked): the
    code is tried and the look-up for duplicates runs only when nothing at all is wrong, so a form
    with any mistake answers the same whether or not the ID number is on file. A wrong code raises
    ``code_invalid`` after its guess was counted: the caller commits before answering.
    """
    today = programme.local_date(now)
    errors: dict[str, str] = dict(form_errors or {})
    try:
        clean = clean_worker_details(session, details, today, working_age=WorkingAge.of(programme))
    except Refusal as exc:
        errors.update(exc.errors)
        clean = None
    problem = password_problem(password, clean.phone if clean else None)
    if problem:
        errors["password"] = problem
    if not errors:
        assert clean is not None
        sent = session.get(OneTimeCode, code_id) if isinstance(code_id, int) else None
        if sent is not None and sent.phone_hash != phone_hash(vault, clean.phone):
            errors["phone"] = "phone_not_verified"
    if errors:
        raise AccountError.fields(errors)
    assert clean is not None
    use_code(session, vault, programme, purpose=CodePurpose.REGISTER, code_id=code_id, code=code, now=now)
    if (find_worker_by_id_number(session, vault, clean.id_number) is not None
            or find_user_by_phone(session, vault, clean.phone) is not None):
        raise AccountError.fields({"form": "already_registered"})

    user = _new_user(vault, Role.WORKER, clean.phone, now, password=password, display_name=clean.name)
    worker = Worker(
        user=user, public_id=new_public_id(), id_number_hash=id_number_hash(vault, clean.id_number),
        id_number_encrypted=vault.encrypt(clean.id_number), id_number_tail=clean.id_tail,
        enterprise=clean.enterprise, employment_confirmed=False, registered_via="self",
        created_at=now,
    )
    _apply_worker_details(session, worker, clean, vault, programme, now)
    session.add_all([user, worker])
    session.flush()  # the UNIQUE hashes catch a concurrent duplicate here; callers map it
    record_worker_facts(session, worker, now=now, source="registration", recorded_by_user_id=user.id)
    return worker


def upsert_roster_worker(session: Session, vault: PersonalDataVault, programme: Programme,
                         clean: CleanWorkerDetails, now: datetime) -> tuple[Worker, bool]:
    """An enterprise roster line: create the worker (not yet activated) or update them.

    Returns (worker, created). Employment is confirmed: the employer itself listed them.
    Raises a field :class:`~wzcheckin.core.refusals.Refusal` when the phone already belongs to somebody else.
    """
    worker = find_worker_by_id_number(session, vault, clean.id_number)
    phone_owner = find_user_by_phone(session, vault, clean.phone)
    created = worker is None
    if created:
        if phone_owner is not None:
            raise AccountError.fields({"phone": "phone_taken"})
        user = _new_user(vault, Role.WORKER, clean.phone, now, display_name=clean.name)
        worker = Worker(
            user=user, public_id=new_public_id(), id_number_hash=id_number_hash(vault, clean.id_number),
            id_number_encrypted=vault.encrypt(clean.id_number), id_number_tail=clean.id_tail,
            registered_via="roster", created_at=now,
        )
        session.add_all([user, worker])
    else:
        if phone_owner is not None and phone_owner.id != worker.user_id:
            raise AccountError.fields({"phone": "phone_taken"})
        if phone_owner is None:  # the worker changed their number
            worker.user.phone_hash = phone_hash(vault, clean.phone)
            worker.user.phone_encrypted = vault.encrypt(clean.phone)
            worker.user.phone_masked = mask_phone(clean.phone)
    if worker.enterprise_id != (clean.enterprise.id if clean.enterprise else None) or not worker.employment_confirmed:
        worker.enterprise = clean.enterprise
        worker.employment_confirmed = clean.enterprise is not None
        worker.employment_confirmed_at = now if clean.enterprise is not None else None
    _apply_worker_details(session, worker, clean, vault, programme, now)
    session.flush()
    record_worker_facts(session, worker, now=now, source="roster_import")
    return worker, created


def request_activation_code(session: Session, vault: PersonalDataVault, programme: Programme,
                            id_number_raw: str, phone_raw: str, now: datetime, *,
                            address: str | None = None) -> OneTimeCode:
    """Step 1 of activating a roster-imported worker: the ID and phone number the employer listed.
    The code goes by SMS to that phone only, so whoever supplied the roster (the employer) cannot
    take the account over with the numbers it knows. One answer whether or not they match: the
    code row is written either way, a message is sent only when they do."""
    errors: dict[str, str] = {}
    id_number = phone = ""
    try:
        parsed_id = parse_id_number(id_number_raw, today=programme.local_date(now))
        id_number = parsed_id.value
        # A roster imported before the bound existed may hold such a worker: they cannot join.
        if not WorkingAge.of(programme).allows(parsed_id):
            errors["id_number"] = "age_out_of_range"
    except InvalidIdentifier as exc:
        errors["id_number"] = exc.code
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        errors["phone"] = exc.code
    if errors:
        raise AccountError.fields(errors)
    worker = find_worker_by_id_number(session, vault, id_number)
    matched = (worker is not None and worker.user.phone_hash == phone_hash(vault, phone)
               and not worker.user.is_activated and worker.user.disabled_at is None)
    return issue_code(session, vault, programme, purpose=CodePurpose.ACTIVATE, phone=phone,
                      user=worker.user if matched else None, address=address, now=now)


def activate_worker(session: Session, vault: PersonalDataVault, programme: Programme, *, code_id: int | None,
                    code: str | None, password: str, now: datetime, pledge: bool = False) -> Worker:
    """Step 2: the code sent to the listed phone, and a password; the worker may pledge to stay
    (留温承诺) as they do. Refusals: ``password`` problems (before the code is tried),
    ``code_invalid`` (raised after the guess is counted: commit before answering)."""
    problem = password_problem(password)
    if problem:
        raise AccountError.fields({"password": problem})
    row = use_code(session, vault, programme, purpose=CodePurpose.ACTIVATE, code_id=code_id, code=code, now=now)
    worker = session.scalar(sa.select(Worker).where(Worker.user_id == row.user_id))
    if worker is None or worker.user.is_activated or worker.user.disabled_at is not None:
        raise CodeRefused("code_invalid")
    if worker.user.phone_hash != row.phone_hash:  # the number changed since the code was sent
        raise CodeRefused("code_invalid")
    if password_problem(password, vault.decrypt(worker.user.phone_encrypted)):
        raise AccountError.fields({"password": "password_contains_phone"})
    worker.user.password_hash = hash_password(password)
    if pledge and worker.pledged_at is None:
        worker.pledged_at = now
        worker.updated_at = now
    record_worker_facts(session, worker, now=now, source="activation", recorded_by_user_id=worker.user_id)
    return worker
