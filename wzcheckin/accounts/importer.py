"""Importing an enterprise roster of workers (``wzcheckin import workers``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from wzcheckin.accounts.workers import CleanWorkerDetails, WorkerDetails, WorkingAge, clean_worker_details, upsert_roster_worker
from wzcheckin.core.csv_import import ImportReport, describe_field_errors, import_rows, parse_yes_no
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.refusals import Refusal
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
    today = programme.local_date(now)
    working_age = WorkingAge.of(programme)

    def parse(row: dict[str, str]) -> CleanWorkerDetails:
        try:
            return clean_worker_details(session, _row_details(row), today, working_age=working_age,
                                        require_employer=True)
        except Refusal as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None

    def upsert(clean: CleanWorkerDetails) -> bool:
        try:
            return upsert_roster_worker(session, vault, programme, clean, now)[1]
        except Refusal as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None

    return import_rows(text, WORKER_COLUMNS, parse, upsert,
                       unique=[("id_number", lambda clean: clean.id_number), ("phone", lambda clean: clean.phone)],
                       progress=progress)
