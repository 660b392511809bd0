"""Reading the CSV files officials and enterprises upload (UTF-8, with or without the BOM that
Excel writes). Every bad line is reported with its line number and reason; callers write
nothing when any line is bad. :func:`import_rows` is the row loop every importer shares; the
importers keep their own columns, validation and upsert in their rooms."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

MAX_FIELD_LENGTH = 1000


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "errors": [str(e) for e in self.errors]}


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


def read_text(path_or_bytes: Path | str | bytes) -> str:
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"the file is not UTF-8 (byte {exc.start}); in Excel use 'Save As → CSV UTF-8'"
        ) from None
    if "\x00" in text:  # a binary file, or UTF-16 saved by mistake; PostgreSQL cannot store NUL
        raise CsvFormatError(
            f"the file contains NUL characters (byte {raw.index(0)}); in Excel use 'Save As → CSV UTF-8'")
    return text


def iter_rows(text: str, expected_header: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) after checking the header names exactly the expected columns."""
    expected = list(expected_header)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("the file is empty; the first line must be: " + ",".join(expected)) from None
    header = [column.strip().lower() for column in header]
    missing = [column for column in expected if column not in header]
    unknown = [column for column in header if column not in expected]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown))
        raise CsvFormatError("line 1: " + "; ".join(parts) + ". Expected: " + ",".join(expected))
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank lines, as spreadsheets leave at the end
        if len(values) != len(header):
            yield line, {"__error__": f"expected {len(header)} fields, found {len(values)}"}
            continue
        if any(len(value) > MAX_FIELD_LENGTH for value in values):
            yield line, {"__error__": f"a field is longer than {MAX_FIELD_LENGTH} characters"}
            continue
        if any("\x00" in value for value in values):  # PostgreSQL cannot store it in a text column
            yield line, {"__error__": "a field contains a NUL character"}
            continue
        yield line, {column: value.strip() for column, value in zip(header, values, strict=True)}


def parse_yes_no(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"yes", "y", "true", "1", "是"}:
        return True
    if lowered in {"no", "n", "false", "0", "否", ""}:
        return False
    raise ValueError(f"expected yes or no, got {value!r}")


ProgressFn = Callable[[int], None]


def describe_field_errors(errors: Mapping[str, str]) -> str:
    """A line's field errors (``Refusal.errors``) as a report line says them:
    ``name: required; district: too_long``."""
    return "; ".join(f"{name}: {code}" for name, code in errors.items())


Row = TypeVar("Row")


def import_rows(text: str, columns: Iterable[str], parse: Callable[[dict[str, str]], Row],
                upsert: Callable[[Row], bool], *,
                unique: Sequence[tuple[str | None, Callable[[Row], Hashable]]] = (),
                check: Callable[[Row], None] | None = None,
                check_file: Callable[[list[tuple[int, Row]]], list[RowError]] | None = None,
                progress: ProgressFn | None = None) -> ImportReport:
    """Import a CSV file all or nothing: validate every line, then write them all.

    1. Each line of ``columns`` (see :func:`iter_rows`) is turned into a row by ``parse(row)``,
       which raises ``ValueError`` whose text is the line's reason (``"name: required"``).
    2. A line may not repeat an earlier one: ``unique`` holds (field, key function) pairs, tried
       in order; a repeat is reported as ``"<field>: repeats line N"`` (``"repeats line N"`` when
       the field is None).
    3. ``check(row)``, if given, judges the line further (raise ``ValueError``); a line it refuses
       is not remembered for the repeat check.
    4. ``check_file([(line, row), ...])``, if given and every line was good, judges the file as a
       whole and returns the errors it finds.
    5. Only then is each row written by ``upsert(row)``, which returns True when it created
       something and False when it updated, or raises ``ValueError`` naming the line's fault;
       ``progress(n)`` is called after the n-th row is written.

    Every bad line is in ``report.errors`` with its number. When the report is not ``ok`` the
    caller must keep nothing (the CLI's unit of work rolls back); nothing is written when any
    line fails steps 1–4.
    """
    report = ImportReport()
    rows: list[tuple[int, Row]] = []
    seen: list[dict[Hashable, int]] = [{} for _ in unique]
    for line, raw in iter_rows(text, columns):
        if "__error__" in raw:
            report.errors.append(RowError(line, raw["__error__"]))
            continue
        try:
            row = parse(raw)
        except ValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        keys = [key(row) for _field, key in unique]
        repeat = next(((name, earlier[value]) for (name, _key), earlier, value in zip(unique, seen, keys, strict=True)
                       if value in earlier), None)
        if repeat is not None:
            name, first_line = repeat
            report.errors.append(RowError(line, f"{name}: repeats line {first_line}" if name
                                          else f"repeats line {first_line}"))
            continue
        if check is not None:
            try:
                check(row)
            except ValueError as exc:
                report.errors.append(RowError(line, str(exc)))
                continue
        for earlier, value in zip(seen, keys, strict=True):
            earlier[value] = line
        rows.append((line, row))
    if not report.errors and check_file is not None:
        report.errors.extend(check_file(rows))
    if report.errors:
        return report
    for index, (line, row) in enumerate(rows, start=1):
        try:
            created = upsert(row)
        except ValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
        if progress:
            progress(index)
    return report
