"""Accounts room, domain functions: registering and activating workers, staff accounts, log-in
with a back-off (never a lock-out), server-side sessions, disabling accounts and API tokens.

Plain Python: every function takes the session, the vault and ``now``; none commits.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from wzcheckin.accounts import backoff
from wzcheckin.accounts.codes import CodeRefused, issue_code, use_code
from wzcheckin.accounts.facts import record_worker_facts, reviewed_status
from wzcheckin.accounts.models import ApiToken, CodePurpose, OneTimeCode, Role, User, UserSession, Worker
from wzcheckin.codes.keys import new_public_id
from wzcheckin.core.identity import (
    IdNumber,
    InvalidIdentifier,
    mask_phone,
    parse_credit_code,
    parse_id_number,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.enterprises.models import Enterprise
from wzcheckin.programme import AccountsSection, Programme
from wzcheckin.scanning.models import Checkpoint, CheckpointKind

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
# Verified against when the phone is unknown, so a miss costs as long as a wrong password.
_DUMMY_PASSWORD_HASH = generate_password_hash("not-a-real-password-wzcheckin")

CARRIERS = ("china_mobile", "china_unicom", "china_telecom")


class FormErrors(Exception):
    """Field → stable error code, for a form to show each next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(", ".join(f"{key}: {value}" for key, value in errors.items()))
        self.errors = errors


class LoginRefused(Exception):
    def __init__(self, code: str, *, retry_after: timedelta | None = None):
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds to wait, rounded up (at least one when there is a wait)."""
        if not self.retry_after:
            return 0
        return max(1, -int(-self.retry_after.total_seconds() // 1))


# --- look-ups ---------------------------------------------------------------------------------

def phone_hash(vault: PersonalDataVault, phone: str) -> str:
    return vault.lookup_hash("phone", phone)


def id_number_hash(vault: PersonalDataVault, id_number: str) -> str:
    return vault.lookup_hash("id", id_number)


def find_user_by_phone(session: Session, vault: PersonalDataVault, phone: str) -> User | None:
    return session.scalar(sa.select(User).where(User.phone_hash == phone_hash(vault, phone)))


def find_worker_by_id_number(session: Session, vault: PersonalDataVault, id_number: str) -> Worker | None:
    return session.scalar(sa.select(Worker).where(Worker.id_number_hash == id_number_hash(vault, id_number)))


def password_problem(password: str | None, phone: str | None = None) -> str | None:
    if not password:
        return "required"
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password_too_long"
    if phone and phone in password:
        return "password_contains_phone"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, werkzeug's default


# --- workers ----------------------------------------------------------------------------------

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
    """Validate every field; raise :class:`FormErrors` naming each bad one."""
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
        raise FormErrors(errors)
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


def _new_user(vault: PersonalDataVault, role: Role, phone: str, now: datetime, *,
              password: str | None = None, display_name: str = "") -> User:
    return User(
        role=role,
        phone_hash=phone_hash(vault, phone),
        phone_encrypted=vault.encrypt(phone),
        phone_masked=mask_phone(phone),
        password_hash=hash_password(password) if password else None,
        display_name=display_name,
        created_at=now,
        failed_logins=0,
    )


def register_worker(session: Session, vault: PersonalDataVault, programme: Programme,
                    details: WorkerDetails, password: str, now: datetime,
                    form_errors: dict[str, str] | None = None) -> Worker:
    """A worker registers themself on their phone.

    A duplicate ID or phone number gets one and the same answer (``already_registered``) so the
    form does not tell a stranger which of the two is on file. ``form_errors`` are what the
    caller's form found wrong (a password typed differently twice, the pledge not ticked): the
    look-up for duplicates runs only when nothing at all is wrong, so a form with any mistake
    answers the same whether or not the ID number is on file.
    """
    today = programme.local_date(now)
    errors: dict[str, str] = dict(form_errors or {})
    try:
        clean = clean_worker_details(session, details, today, working_age=WorkingAge.of(programme))
    except FormErrors as exc:
        errors.update(exc.errors)
        clean = None
    problem = password_problem(password, clean.phone if clean else None)
    if problem:
        errors["password"] = problem
    if errors:
        raise FormErrors(errors)
    assert clean is not None
    if (find_worker_by_id_number(session, vault, clean.id_number) is not None
            or find_user_by_phone(session, vault, clean.phone) is not None):
        raise FormErrors({"form": "already_registered"})

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
    Raises :class:`FormErrors` when the phone already belongs to somebody else.
    """
    worker = find_worker_by_id_number(session, vault, clean.id_number)
    phone_owner = find_user_by_phone(session, vault, clean.phone)
    created = worker is None
    if created:
        if phone_owner is not None:
            raise FormErrors({"phone": "phone_taken"})
        user = _new_user(vault, Role.WORKER, clean.phone, now, display_name=clean.name)
        worker = Worker(
            user=user, public_id=new_public_id(), id_number_hash=id_number_hash(vault, clean.id_number),
            id_number_encrypted=vault.encrypt(clean.id_number), id_number_tail=clean.id_tail,
            registered_via="roster", created_at=now,
        )
        session.add_all([user, worker])
    else:
        if phone_owner is not None and phone_owner.id != worker.user_id:
            raise FormErrors({"phone": "phone_taken"})
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
        raise FormErrors(errors)
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
        raise FormErrors({"password": problem})
    row = use_code(session, vault, programme, purpose=CodePurpose.ACTIVATE, code_id=code_id, code=code, now=now)
    worker = session.scalar(sa.select(Worker).where(Worker.user_id == row.user_id))
    if worker is None or worker.user.is_activated or worker.user.disabled_at is not None:
        raise CodeRefused("code_invalid")
    if worker.user.phone_hash != row.phone_hash:  # the number changed since the code was sent
        raise CodeRefused("code_invalid")
    if password_problem(password, vault.decrypt(worker.user.phone_encrypted)):
        raise FormErrors({"password": "password_contains_phone"})
    worker.user.password_hash = hash_password(password)
    if pledge and worker.pledged_at is None:
        worker.pledged_at = now
        worker.updated_at = now
    record_worker_facts(session, worker, now=now, source="activation", recorded_by_user_id=worker.user_id)
    return worker


# --- password reset ---------------------------------------------------------------------------

def request_password_reset(session: Session, vault: PersonalDataVault, programme: Programme, phone_raw: str,
                           now: datetime, *, address: str | None = None) -> OneTimeCode:
    """Step 1 of a password reset (workers and staff): a code by SMS to the account's phone.
    One answer whether or not the number has an activated, enabled account."""
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        raise FormErrors({"phone": exc.code}) from None
    user = find_user_by_phone(session, vault, phone)
    eligible = user is not None and user.is_activated and user.disabled_at is None
    return issue_code(session, vault, programme, purpose=CodePurpose.RESET, phone=phone,
                      user=user if eligible else None, address=address, now=now)


def reset_password(session: Session, vault: PersonalDataVault, programme: Programme, *, code_id: int | None,
                   code: str | None, password: str, now: datetime) -> User:
    """Step 2: the code and a new password. Every session of the account ends (whoever knew the
    old password is logged out); its API tokens are kept (devices are revoked on their own)."""
    problem = password_problem(password)
    if problem:
        raise FormErrors({"password": problem})
    row = use_code(session, vault, programme, purpose=CodePurpose.RESET, code_id=code_id, code=code, now=now)
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None or user.phone_hash != row.phone_hash:
        raise CodeRefused("code_invalid")
    if password_problem(password, vault.decrypt(user.phone_encrypted)):
        raise FormErrors({"password": "password_contains_phone"})
    user.password_hash = hash_password(password)
    end_all_sessions(session, user)
    return user


# --- a change of phone number -------------------------------------------------------------------

def request_phone_change(session: Session, vault: PersonalDataVault, programme: Programme, user: User,
                         new_phone_raw: str, now: datetime, *,
                         address: str | None = None) -> tuple[OneTimeCode, OneTimeCode]:
    """Step 1 of changing an account's phone number: one code to the old number, one to the new.
    A new number already taken by another account is sent nothing (and the change cannot
    succeed), answered alike."""
    try:
        new_phone = parse_phone(new_phone_raw)
    except InvalidIdentifier as exc:
        raise FormErrors({"new_phone": exc.code}) from None
    if phone_hash(vault, new_phone) == user.phone_hash:
        raise FormErrors({"new_phone": "phone_unchanged"})
    taken = find_user_by_phone(session, vault, new_phone) is not None
    old = issue_code(session, vault, programme, purpose=CodePurpose.PHONE_OLD,
                     phone=vault.decrypt(user.phone_encrypted), user=user, address=address, now=now)
    new = issue_code(session, vault, programme, purpose=CodePurpose.PHONE_NEW, phone=new_phone,
                     user=None if taken else user, address=address, now=now)
    return old, new


def set_phone(session: Session, vault: PersonalDataVault, user: User, phone: str) -> None:
    """Write a new phone number on the account. The UNIQUE phone hash refuses a number another
    account took meanwhile (an IntegrityError at the flush, mapped by the caller)."""
    user.phone_hash = phone_hash(vault, phone)
    user.phone_encrypted = vault.encrypt(phone)
    user.phone_masked = mask_phone(phone)
    session.flush()


def change_phone(session: Session, vault: PersonalDataVault, programme: Programme, user: User, *,
                 new_phone_raw: str, old_code_id: int | None, old_code: str | None, new_code_id: int | None,
                 new_code: str | None, now: datetime) -> str:
    """Step 2: both codes, and the new number typed again. Returns the new number (normalised).
    Refusals: ``code_invalid`` (after the guesses are counted: commit before answering)."""
    try:
        new_phone = parse_phone(new_phone_raw)
    except InvalidIdentifier as exc:
        raise FormErrors({"new_phone": exc.code}) from None
    old_row = use_code(session, vault, programme, purpose=CodePurpose.PHONE_OLD, code_id=old_code_id,
                       code=old_code, now=now)
    new_row = use_code(session, vault, programme, purpose=CodePurpose.PHONE_NEW, code_id=new_code_id,
                       code=new_code, now=now)
    if (old_row.user_id != user.id or new_row.user_id != user.id or old_row.phone_hash != user.phone_hash
            or new_row.phone_hash != phone_hash(vault, new_phone)):
        raise CodeRefused("code_invalid")
    set_phone(session, vault, user, new_phone)
    return new_phone


# --- staff ------------------------------------------------------------------------------------

STAFF_CHECKPOINT_KIND = {
    Role.GATEKEEPER: CheckpointKind.GATE,
    Role.ENTERPRISE_ADMIN: CheckpointKind.GATE,
    Role.VENUE_STAFF: CheckpointKind.VENUE,
    Role.PICKUP_STAFF: CheckpointKind.PICKUP,
}
# Other kinds a role may also be bound to: venue staff scan attendance at offline training
# classes (checkpoints ``training:<course code>``, benefits room).
STAFF_EXTRA_CHECKPOINT_KINDS = {
    Role.VENUE_STAFF: (CheckpointKind.TRAINING,),
}


def create_or_update_staff(session: Session, vault: PersonalDataVault, *, role: Role, phone_raw: str,
                           password: str, now: datetime, checkpoint_ref: str | None = None,
                           carrier: str | None = None, display_name: str = "") -> tuple[User, bool]:
    """Staff and official accounts (``wzcheckin user create``). Returns (user, created)."""
    errors: dict[str, str] = {}
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        raise FormErrors({"phone": exc.code}) from None
    if role is Role.WORKER:
        errors["role"] = "worker_via_registration"
    problem = password_problem(password, phone)
    if problem:
        errors["password"] = problem
    checkpoint = None
    needed_kind = STAFF_CHECKPOINT_KIND.get(role)
    if needed_kind is not None:
        if not checkpoint_ref:
            errors["checkpoint"] = "required"
        else:
            checkpoint = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == checkpoint_ref))
            if checkpoint is None:
                errors["checkpoint"] = "checkpoint_unknown"
            elif checkpoint.kind != needed_kind and checkpoint.kind not in STAFF_EXTRA_CHECKPOINT_KINDS.get(role, ()):
                errors["checkpoint"] = "checkpoint_wrong_kind"
    elif checkpoint_ref:
        errors["checkpoint"] = "checkpoint_not_applicable"
    if role is Role.CARRIER:
        if carrier not in CARRIERS:
            errors["carrier"] = "required" if not carrier else "carrier_unknown"
    elif carrier:
        errors["carrier"] = "carrier_not_applicable"
    if errors:
        raise FormErrors(errors)

    user = find_user_by_phone(session, vault, phone)
    created = user is None
    if user is None:
        user = _new_user(vault, role, phone, now, display_name=display_name)
        session.add(user)
    elif user.role is Role.WORKER and user.worker is not None:
        raise FormErrors({"phone": "phone_taken"})
    user.role = role
    user.password_hash = hash_password(password)
    user.checkpoint = checkpoint
    user.carrier = carrier if role is Role.CARRIER else None
    if display_name:
        user.display_name = display_name
    session.flush()
    return user, created


# --- log-in and sessions -----------------------------------------------------------------------

def authenticate(session: Session, vault: PersonalDataVault, phone_raw: str, password: str,
                 now: datetime, *, address: str | None = None, programme: Programme | None = None) -> User:
    """Phone + password, with a back-off instead of a lock-out (``accounts.backoff``): while a
    wait is running for the account, the address or the pair, the attempt is refused
    (``slow_down``, with the seconds left) without checking the password.

    One answer (``invalid_credentials``) for an unknown phone, a wrong password and a roster
    account not yet activated, each costing one password-hash check, so neither the words nor
    the time tell a stranger which phone numbers have accounts."""
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier:
        phone = None
    keys = backoff.backoff_keys(vault, programme, phone_hash=phone_hash(vault, phone) if phone else None,
                                address=address)
    wait = backoff.wait_remaining(session, keys, now)
    if wait > timedelta(0):
        raise LoginRefused("slow_down", retry_after=wait)
    user = find_user_by_phone(session, vault, phone) if phone else None
    stored_hash = user.password_hash if user is not None else None
    if not check_password_hash(stored_hash or _DUMMY_PASSWORD_HASH, password or "") or stored_hash is None:
        backoff.record_failure(session, keys, programme, now)
        raise LoginRefused("invalid_credentials")
    if user.disabled_at is not None:
        raise LoginRefused("disabled")
    backoff.record_success(session, keys)
    user.last_login_at = now
    return user


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user: User, now: datetime) -> str:
    """A new server-side session; the returned secret goes into the (signed) cookie only."""
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(secret_hash=_secret_hash(secret), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return secret


@dataclass(frozen=True)
class SessionPolicy:
    staff_idle: timedelta
    staff_absolute: timedelta
    worker_absolute: timedelta


def load_session(session: Session, secret: str, now: datetime,
                 policy: SessionPolicy) -> tuple[User, UserSession] | None:
    """The user behind a session secret, or None when it ended, expired or was disabled."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalar(sa.select(UserSession).where(UserSession.secret_hash == _secret_hash(secret)))
    if row is None:
        return None
    user = row.user
    if user.disabled_at is not None:
        return None
    age, idle = now - row.created_at, now - row.last_seen_at
    if user.role is Role.WORKER:
        if age > policy.worker_absolute:
            return None
    elif age > policy.staff_absolute or idle > policy.staff_idle:
        return None
    user.login_session_id = secret
    return user, row


def end_session(session: Session, secret: str) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.secret_hash == _secret_hash(secret)))


def end_all_sessions(session: Session, user: User) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))


class AccountError(Exception):
    """A refused account action (``already_disabled``, ``not_disabled``, ``token_unknown`` ...)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def disable_user(session: Session, user: User, now: datetime, reason: str = "") -> int:
    """The account loses access at its next request: its sessions end and its API tokens are
    revoked now (every request re-reads the account, so a cached object elsewhere does not help
    it). Returns how many tokens were revoked."""
    user.disabled_at = now
    user.disabled_reason = reason[:500] or None
    end_all_sessions(session, user)
    return session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def enable_user(session: Session, user: User) -> None:
    """A disabled account may log in again. Its old sessions and tokens stay ended: new ones are
    made by logging in and by ``wzcheckin token create``."""
    if user.disabled_at is None:
        raise AccountError("not_disabled")
    user.disabled_at = None
    user.disabled_reason = None


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "wzt_"  # noqa: S105 - a public prefix, not a secret
def token_lifetime(user: User, programme: Programme | None) -> timedelta:
    """How long a new API token of this account lives: staff and officials less than workers
    (``[accounts] api_token_days_*``; the section's defaults for callers without a programme)."""
    accounts = programme.accounts if programme is not None else AccountsSection()
    days = accounts.api_token_days_staff if user.role.is_staff else accounts.api_token_days_worker
    return timedelta(days=days)


def issue_api_token(session: Session, user: User, now: datetime, label: str = "", *,
                    programme: Programme | None = None) -> str:
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_secret_hash(plaintext), user_id=user.id, label=label[:100], created_at=now,
                         expires_at=now + token_lifetime(user, programme)))
    session.flush()
    return plaintext


# Every API request asks, so the statement is built once (options and all): building it per
# request cost more than running it. The user comes with their checkpoint (the scan path needs
# it), never the checkpoint's enterprise unless somebody looks at it.
_TOKEN_USER = (
    sa.select(User, ApiToken.id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None),
           ApiToken.expires_at > sa.bindparam("now"), User.disabled_at.is_(None))
    .options(joinedload(User.checkpoint).lazyload(Checkpoint.enterprise))
)


def authenticate_api_token(session: Session, plaintext: str, now: datetime, *,
                           with_columns: tuple = ()) -> tuple[User, int, tuple] | None:
    """The account behind a bearer token and the token's id, or None when the token is unknown,
    revoked or expired, or its account is disabled — read afresh on every request, in one query.
    ``with_columns``: more scalar columns to read in the same round trip (the signing keys'
    fingerprint, say); their values come back as the third item."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 128:
        return None
    statement = _TOKEN_USER.add_columns(*with_columns) if with_columns else _TOKEN_USER
    row = session.execute(statement, {"token_hash": _secret_hash(plaintext), "now": now}).first()
    if row is None:
        return None
    return row[0], row[1], tuple(row[2:])


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The account's tokens, newest first (the token itself is never stored: only its hash)."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def token_state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def revoke_api_tokens(session: Session, user: User, now: datetime, *, token_id: int | None = None) -> list[int]:
    """Revoke one token of the account (by its id) or, with ``token_id=None``, all its live
    ones. Returns the ids revoked. A conditional UPDATE (``revoked_at IS NULL``) makes a
    concurrent second revocation a no-op rather than a new revocation time."""
    condition = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)]
    if token_id is not None:
        exists = session.scalar(sa.select(ApiToken.id).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
        if exists is None:
            raise AccountError("token_unknown")
        condition.append(ApiToken.id == token_id)
    ids = list(session.scalars(sa.select(ApiToken.id).where(*condition)))
    if ids:
        session.execute(sa.update(ApiToken).where(ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now).execution_options(synchronize_session=False))
    return ids
