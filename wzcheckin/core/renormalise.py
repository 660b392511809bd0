"""Re-normalising stored ID and phone numbers (migration 0002): values written before the parsers
refused other scripts' digits may hold Devanagari, Thai or Arabic-Indic digits. Their canonical
form is the same number in ASCII digits (:func:`~wzcheckin.core.identity.fold_foreign_digits`);
this rewrites such a value — its keyed look-up hash, its ciphertext and its masked form — so the
number is found, and counted once, whichever way it was written.

Two rows that turn out to be the same number (an ASCII row and a re-normalised one, or two
re-normalised ones) are *not* merged: that is for an official to decide. The later row keeps
its hash unchanged and is listed in the report, by table, row id and masked number only — never
the number itself.

Plain Python over a :class:`sqlalchemy.Connection`; it never commits (the migration's
transaction, or the caller's, decides). Tables are named here with only the columns it needs,
not through the models, so later migrations that add columns do not break the migration that
calls it. Like ``core.rekey`` it knows the rooms' tables by name only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from wzcheckin.core.identity import (
    InvalidIdentifier,
    fold_foreign_digits,
    mask_id_tail,
    mask_phone,
    parse_id_number,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault

DEFAULT_BATCH = 1000


@dataclass(frozen=True)
class StoredIdentifier:
    """Where one kind of identifier is stored: its hash, ciphertext and masked column."""

    table: str
    kind: str              # "id" or "phone": the look-up hash's kind
    hash_column: str
    encrypted_column: str
    masked_column: str     # the ID's last four characters, or the masked phone
    unique: bool           # a UNIQUE hash: one row per number (accounts)

    def sa_table(self) -> sa.TableClause:
        return sa.table(self.table, sa.column("id"), sa.column(self.hash_column),
                        sa.column(self.encrypted_column), sa.column(self.masked_column))

    @property
    def name(self) -> str:
        return f"{self.table}.{self.hash_column}"


STORED_IDENTIFIERS = (
    StoredIdentifier("workers", "id", "id_number_hash", "id_number_encrypted", "id_number_tail", unique=True),
    StoredIdentifier("users", "phone", "phone_hash", "phone_encrypted", "phone_masked", unique=True),
    StoredIdentifier("visitor_registrations", "id", "id_number_hash", "id_number_encrypted", "id_number_tail",
                     unique=False),
    StoredIdentifier("visitor_registrations", "phone", "phone_hash", "phone_encrypted", "phone_masked", unique=False),
    StoredIdentifier("enterprises", "phone", "admin_phone_hash", "admin_phone_encrypted", "admin_phone_masked",
                     unique=False),
)


@dataclass
class Collision:
    """A re-normalised number another row already holds: left unchanged, for an official."""

    table: str
    row_id: int
    masked: str
    other_row_id: int

    def __str__(self) -> str:
        return f"{self.table} #{self.row_id} ({self.masked}) is the same number as {self.table} #{self.other_row_id}"


@dataclass
class ColumnReport:
    name: str
    rows: int = 0
    renormalised: int = 0
    collisions: list[Collision] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)   # row ids: cannot decrypt, or not a valid number
    # ASCII rows whose hash is not what the configured WZCHECKIN_LOOKUP_KEY gives: a wrong key in
    # this environment. They are counted, never rewritten (that would lose the real hashes).
    key_mismatch: int = 0

    def summary(self) -> str:
        return (f"{self.name}: {self.rows} rows, {self.renormalised} re-normalised, "
                f"{len(self.collisions)} duplicates left unchanged, {len(self.unreadable)} unreadable, "
                f"{self.key_mismatch} hashed with another key")


@dataclass
class RenormaliseReport:
    columns: list[ColumnReport] = field(default_factory=list)

    @property
    def renormalised(self) -> int:
        return sum(column.renormalised for column in self.columns)

    @property
    def collisions(self) -> list[Collision]:
        return [collision for column in self.columns for collision in column.collisions]

    def lines(self) -> list[str]:
        """What the migration prints: counts and masked rows only."""
        out = []
        for column in self.columns:
            out.append(column.summary())
            out.extend(f"  duplicate: {collision}" for collision in column.collisions)
            if column.unreadable:
                out.append(f"  unreadable row ids: {', '.join(str(row_id) for row_id in column.unreadable[:50])}"
                           + (" …" if len(column.unreadable) > 50 else ""))
        return out


def _canonical(kind: str, stored: str) -> tuple[str, str]:
    """(canonical value, its masked form); raises InvalidIdentifier if it is no valid number."""
    folded = fold_foreign_digits(stored)
    if kind == "id":
        parsed = parse_id_number(folded)
        return parsed.value, parsed.tail
    phone = parse_phone(folded)
    return phone, mask_phone(phone)


def _masked(kind: str, value: str) -> str:
    return mask_id_tail(value[-4:]) if kind == "id" else mask_phone(value)


def renormalise_column(connection: sa.Connection, vault: PersonalDataVault, stored: StoredIdentifier, *,
                       batch_size: int = DEFAULT_BATCH) -> ColumnReport:
    report = ColumnReport(stored.name)
    table = stored.sa_table()
    key, hash_col, encrypted_col = table.c.id, table.c[stored.hash_column], table.c[stored.encrypted_column]
    after = None
    while True:
        query = (sa.select(key, hash_col, encrypted_col).where(encrypted_col.is_not(None))
                 .order_by(key).limit(batch_size))
        if after is not None:
            query = query.where(key > after)
        rows = connection.execute(query).all()
        if not rows:
            return report
        after = rows[-1][0]
        for row_id, old_hash, ciphertext in rows:
            report.rows += 1
            try:
                value = vault.decrypt(ciphertext)
                canonical, masked = _canonical(stored.kind, value)
            except (ValueError, InvalidIdentifier):
                report.unreadable.append(row_id)
                continue
            new_hash = vault.lookup_hash(stored.kind, canonical)
            if canonical == value:
                report.key_mismatch += new_hash != old_hash
                continue
            if stored.unique:
                # The UNIQUE index would refuse the update; look first, so a duplicate is listed,
                # not a crash. (The migration runs before the app serves: nobody inserts meanwhile.)
                holder = connection.execute(sa.select(key).where(hash_col == new_hash, key != row_id)).scalar()
                if holder is not None:
                    report.collisions.append(Collision(stored.table, row_id, _masked(stored.kind, canonical), holder))
                    continue
            # Conditional on the old hash: a row rewritten meanwhile is left as it was written.
            changed = connection.execute(
                sa.update(table).where(key == row_id, hash_col == old_hash).values({
                    stored.hash_column: new_hash,
                    stored.encrypted_column: vault.encrypt(canonical),
                    stored.masked_column: masked,
                })).rowcount
            report.renormalised += changed


def renormalise_identifiers(connection: sa.Connection, vault: PersonalDataVault, *,
                            batch_size: int = DEFAULT_BATCH,
                            progress: Callable[[str], None] | None = None) -> RenormaliseReport:
    """Every stored ID and phone number in its canonical (ASCII) form, hash recomputed; tables
    that do not exist yet are skipped (an empty database upgrades cleanly)."""
    report = RenormaliseReport()
    existing = set(sa.inspect(connection).get_table_names())
    for stored in STORED_IDENTIFIERS:
        if stored.table not in existing:
            continue
        column = renormalise_column(connection, vault, stored, batch_size=batch_size)
        report.columns.append(column)
        if progress is not None:
            progress(column.summary())
    return report
