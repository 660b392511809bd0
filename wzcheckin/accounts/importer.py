"""Importing an enterprise roster of workers (``wzcheckin import workers``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from wzcheckin.accounts.services import (
    FormErrors,
    WorkerDetails,
    clean_worker_details,
    upsert_roster_worker,
)
from wzcheckin.core.csv_import import ImportReport, RowError, iter_rows, parse_yes_no
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.programme import Programme

WORKER_COLUMNS = ("credit_code", "name", "id_number", "phone", "hukou", "residence_permit_no",
                  "residence_permit_expiry", "pledged")


def _row_details(row: dict[str, str]) -> WorkerDetails:
    expiry = None
    if row["residence_permit_expiry"]:
        try:
            expiry = date.fromisoformat(row["residence_permit_expiry"])
        except ValueError:
            raise ValueError(
                f"residence_permit_expiry: expected YYYY-MM-DD, got {row['residence_permit_expiry']!r}"
            ) from None
    try:
        pledged = parse_yes_no(row["pledged"])
    except ValueError as exc:
        raise ValueError(f"pledged: {exc}") from None
    return WorkerDetails(
        name=row["name"], id_number=row["id_number"], phone=row["phone"], credit_code=row["credit_code"],
        hukou=row["hukou"], residence_permit_no=row["residence_permit_no"],
        residence_permit_expiry=expiry, pledged=pledged,
    )


def import_workers(session: Session, vault: PersonalDataVault, programme: Programme, text: str,
                   now: datetime, progress=None) -> ImportReport:
    """All or nothing: validate every line (including duplicates within the file), then write."""
    report = ImportReport()
    today = programme.local_date(now)
    cleaned = []
    seen_ids: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    for line, row in iter_rows(text, WORKER_COLUMNS):
        if "__error__" in row:
            report.errors.append(RowError(line, row["__error__"]))
            continue
        try:
            details = _row_details(row)
            clean = clean_worker_details(session, details, today, require_employer=True)
        except ValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        except FormErrors as exc:
            report.errors.append(RowError(line, "; ".join(f"{k}: {v}" for k, v in exc.errors.items())))
            continue
        if clean.id_number in seen_ids:
            report.errors.append(RowError(line, f"id_number: repeats line {seen_ids[clean.id_number]}"))
            continue
        if clean.phone in seen_phones:
            report.errors.append(RowError(line, f"phone: repeats line {seen_phones[clean.phone]}"))
            continue
        seen_ids[clean.id_number] = line
        seen_phones[clean.phone] = line
        cleaned.append((line, clean))
    if report.errors:
        return report
    for index, (line, clean) in enumerate(cleaned, start=1):
        try:
            _worker, created = upsert_roster_worker(session, vault, programme, clean, now)
        except FormErrors as exc:
            report.errors.append(RowError(line, "; ".join(f"{k}: {v}" for k, v in exc.errors.items())))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
        if progress:
            progress(index)
    return report
