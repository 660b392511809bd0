"""Accounts room, log-in back-off: brute force is slowed, nobody is locked out.

Failures are counted under three keys: the account (by its phone number's look-up hash, so an
unknown phone number is treated exactly like a known one), the caller's address, and the pair of
both. After a key's free failures each further failure doubles its wait, from one second up to
a maximum (``[accounts] login_*`` in the programme file). A wait is a refusal without a password
check. The account's own wait is capped low (a minute by default): a stranger guessing a
gatekeeper's password from elsewhere can make the gatekeeper wait that long, never lock them out;
the guesser's own address and pair keep doubling up to a quarter of an hour.

The counts live in the database (``login_backoffs``), so every gunicorn worker and host sees the
same ones. Plain Python: functions take the session and ``now``; they flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import LoginBackoff
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.db import is_unique_violation
from wzcheckin.programme import AccountsSection, Programme


@dataclass(frozen=True)
class BackoffKey:
    key: str
    free_failures: int
    max_delay: timedelta


@dataclass(frozen=True)
class BackoffKeys:
    account: BackoffKey | None
    address: BackoffKey
    pair: BackoffKey | None

    def all(self) -> list[BackoffKey]:
        return [key for key in (self.account, self.address, self.pair) if key is not None]


def settings(programme: Programme | None) -> AccountsSection:
    return programme.accounts if programme is not None else AccountsSection()


def backoff_keys(vault: PersonalDataVault, programme: Programme | None, *, phone_hash: str | None,
                 address: str | None) -> BackoffKeys:
    """The keys a log-in attempt is counted under. Addresses are stored as keyed hashes too."""
    rules = settings(programme)
    longest = timedelta(seconds=rules.login_max_delay_seconds)
    address_hash = vault.lookup_hash("login-address", address or "unknown")
    address_key = BackoffKey(f"address:{address_hash}", rules.login_free_failures_per_address, longest)
    if phone_hash is None:
        return BackoffKeys(None, address_key, None)
    return BackoffKeys(
        account=BackoffKey(f"account:{phone_hash}", rules.login_free_failures_per_account,
                           timedelta(seconds=rules.login_max_account_delay_seconds)),
        address=address_key,
        pair=BackoffKey(f"pair:{vault.lookup_hash('login-pair', phone_hash + '|' + address_hash)}",
                        rules.login_free_failures_per_account_and_address, longest),
    )


def delay_after(failures: int, key: BackoffKey) -> timedelta:
    """The wait after ``failures`` recent failures: none while they are free, then 1 s, 2 s,
    4 s … up to the key's maximum."""
    beyond = failures - key.free_failures
    if beyond <= 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(beyond - 1, 30)), key.max_delay)


def wait_remaining(session: Session, keys: BackoffKeys, now: datetime) -> timedelta:
    """How long the caller must still wait before the next attempt is heard (zero: go ahead)."""
    waits = session.scalars(sa.select(LoginBackoff.wait_until).where(
        LoginBackoff.key.in_([key.key for key in keys.all()]), LoginBackoff.wait_until > now))
    longest = max(waits, default=None)
    return longest - now if longest is not None else timedelta(0)


def _count_failure(session: Session, key: BackoffKey, now: datetime, forget_before: datetime) -> int:
    """Add one failure under ``key`` and return the recent count.

    Concurrency: one conditional UPDATE … RETURNING (the count restarts at 1 when the last
    failure is older than the memory), so simultaneous failures in several processes all count;
    the first failure inserts the row in a savepoint, and a concurrent twin's UNIQUE violation
    falls back to the UPDATE.
    """
    stale = LoginBackoff.last_failure_at < forget_before
    bump = (sa.update(LoginBackoff).where(LoginBackoff.key == key.key)
            .values(failures=sa.case((stale, 1), else_=LoginBackoff.failures + 1), last_failure_at=now)
            .returning(LoginBackoff.failures).execution_options(synchronize_session=False))
    count = session.execute(bump).scalar()
    if count is not None:
        return count
    try:
        with session.begin_nested():
            session.add(LoginBackoff(key=key.key, failures=1, last_failure_at=now))
        return 1
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return session.execute(bump).scalar() or 1


def record_failure(session: Session, keys: BackoffKeys, programme: Programme | None, now: datetime) -> None:
    forget_before = now - timedelta(minutes=settings(programme).login_failure_memory_minutes)
    for key in keys.all():
        delay = delay_after(_count_failure(session, key, now, forget_before), key)
        if delay:
            # Never shortens a longer wait a concurrent failure has just set.
            session.execute(
                sa.update(LoginBackoff).where(LoginBackoff.key == key.key,
                                              sa.or_(LoginBackoff.wait_until.is_(None),
                                                     LoginBackoff.wait_until < now + delay))
                .values(wait_until=now + delay).execution_options(synchronize_session=False))


def record_success(session: Session, keys: BackoffKeys) -> None:
    """The owner got in from this address: forget the pair's failures (the account's and the
    address's fade with time, so a guesser elsewhere is not reset by the owner's success)."""
    if keys.pair is not None:
        session.execute(sa.delete(LoginBackoff).where(LoginBackoff.key == keys.pair.key)
                        .execution_options(synchronize_session=False))
