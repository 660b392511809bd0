"""Rotating the personal-data key (``wzcheckin keys reencrypt``): every encrypted column of every
room re-encrypted under the first key of ``WZCHECKIN_DATA_KEYS`` (``MultiFernet.rotate``), so the
older keys can then be removed from the environment.

Which columns: by convention every column named ``*_encrypted`` holds vault ciphertext (ID and
phone numbers, residence permits, the signing keys' private halves, the SMS outbox's copies) —
a room adding one is covered without editing this file. The look-up hashes do not change: they
are keyed with ``WZCHECKIN_LOOKUP_KEY``, which is never rotated, so duplicates are still found.

:func:`reencrypt_all` is an outer-layer runner like the cutoff's: it commits one batch of rows at
a time (keyset pagination on the primary key), so it can run beside the app, and after a crash
a rerun goes on where it stopped — a value the first key already decrypts is skipped. Each
update is conditional on the old ciphertext (``WHERE pk = :pk AND col = :old``), so a value the
app rewrote meanwhile is left as the app wrote it (under the first key too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.db import Base, unit_of_work

ENCRYPTED_SUFFIX = "_encrypted"
DEFAULT_BATCH = 500


@dataclass
class RekeyReport:
    columns: list[str] = field(default_factory=list)
    rows: int = 0                  # non-null values seen
    rotated: int = 0               # re-encrypted by this run
    already_current: int = 0       # the first key already decrypted them (an earlier run, new rows)
    changed_meanwhile: int = 0     # rewritten by the app between our read and our write
    not_current: int = 0           # after the run: values the first key alone cannot decrypt

    @property
    def old_keys_removable(self) -> bool:
        return self.not_current == 0

    def as_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows, "rotated": self.rotated,
                "already_current": self.already_current, "changed_meanwhile": self.changed_meanwhile,
                "not_current": self.not_current, "old_keys_removable": self.old_keys_removable}


def encrypted_columns(metadata: sa.MetaData = Base.metadata) -> list[tuple[sa.Table, sa.Column]]:
    """Every ``*_encrypted`` column, with its table (which must have a one-column primary key)."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith(ENCRYPTED_SUFFIX):
                if len(table.primary_key.columns) != 1:
                    raise RuntimeError(f"{table.name}.{column.name}: re-encryption needs a one-column primary key")
                found.append((table, column))
    return found


def _batches(session: Session, table: sa.Table, column: sa.Column, batch_size: int):
    """(primary key, value) rows with a value, ``batch_size`` at a time, in key order."""
    key = next(iter(table.primary_key.columns))
    after = None
    while True:
        query = sa.select(key, column).where(column.is_not(None)).order_by(key).limit(batch_size)
        if after is not None:
            query = query.where(key > after)
        rows = session.execute(query).all()
        session.rollback()  # end the read: each batch writes in its own transaction
        if not rows:
            return
        yield key, rows
        after = rows[-1][0]


def reencrypt_batch(session: Session, vault: PersonalDataVault, table: sa.Table, column: sa.Column, key: sa.Column,
                    rows: list, report: RekeyReport) -> None:
    """Re-encrypt one batch under the first key. Flushes nothing of its own; the caller commits."""
    for primary_key, value in rows:
        report.rows += 1
        if vault.is_current(value):
            report.already_current += 1
            continue
        changed = session.execute(
            sa.update(table).where(key == primary_key, column == value).values({column.name: vault.rotate(value)}))
        if changed.rowcount == 1:
            report.rotated += 1
        else:
            report.changed_meanwhile += 1


def count_not_current(session: Session, vault: PersonalDataVault, batch_size: int = DEFAULT_BATCH) -> int:
    """Values the first key alone cannot decrypt (0: the older keys can be removed)."""
    missing = 0
    for table, column in encrypted_columns():
        for _key, rows in _batches(session, table, column, batch_size):
            missing += sum(1 for _pk, value in rows if not vault.is_current(value))
    return missing


def reencrypt_all(session: Session, vault: PersonalDataVault, *, batch_size: int = DEFAULT_BATCH,
                  progress: Callable[[str], None] | None = None) -> RekeyReport:
    """Re-encrypt every encrypted column, one committed batch at a time, then prove the result."""
    say = progress or (lambda _message: None)
    report = RekeyReport()
    for table, column in encrypted_columns():
        name = f"{table.name}.{column.name}"
        report.columns.append(name)
        for key, rows in _batches(session, table, column, batch_size):
            with unit_of_work(session):
                reencrypt_batch(session, vault, table, column, key, rows, report)
            say(f"  {name}: up to id {rows[-1][0]} — {report.rotated} re-encrypted so far")
    report.not_current = count_not_current(session, vault, batch_size)
    return report
