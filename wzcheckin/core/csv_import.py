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
from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MAX_FIELD_LENGTH = 1000


def source_text(template: Any) -> str:
    """The English source of a ``lazy_gettext`` template (what the CLI and the API say, whatever the
    reader's language); a plain string is its own source."""
    args = getattr(template, "_args", None)
    return args[0] if args else str(template)


def _fill(text: str, params: dict) -> str:
    try:
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return text


@dataclass
class RowError:
    """A bad line: ``message`` in English (the CLI, the API's ``lines``); with a stable ``code``, its
    translatable ``template`` and ``params``, a page says it in the reader's language (:meth:`localised`)."""

    line: int
    message: str
    code: str = ""
    params: dict = field(default_factory=dict)
    template: Any = None

    @classmethod
    def of(cls, line: int, code: str, template: Any, **params) -> RowError:
        return cls(line, _fill(source_text(template), params), code, params, template)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def localised(self) -> str:
        text = _fill(str(self.template), self.params) if self.template is not None else self.message
        return _("line %(line)s: %(message)s", line=self.line, message=text)


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


FILE_PROBLEMS = {
    "not_utf8": _l("the file is not UTF-8 (byte %(byte)s); in Excel use 'Save As → CSV UTF-8'"),
    "nul_in_file": _l("the file contains NUL characters (byte %(byte)s); in Excel use 'Save As → CSV UTF-8'"),
    "empty_file": _l("the file is empty; the first line must be: %(expected)s"),
    "missing_columns": _l("line 1: missing column(s): %(missing)s. Expected: %(expected)s"),
    "unknown_columns": _l("line 1: unknown column(s): %(unknown)s. Expected: %(expected)s"),
    "bad_columns": _l("line 1: missing column(s): %(missing)s; unknown column(s): %(unknown)s. Expected: %(expected)s"),
    "no_file": _l("no file was chosen"),
    "field_count": _l("expected %(expected)s fields, found %(found)s"),
    "field_too_long": _l("a field is longer than %(limit)s characters"),
    "nul_in_field": _l("a field contains a NUL character"),
}


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (encoding, header): ``str()`` in English, :meth:`localised`
    in the reader's language, ``code`` stable."""

    def __init__(self, code: str, **params):
        self.code = code
        self.params = params
        super().__init__(_fill(source_text(FILE_PROBLEMS[code]), params))

    def localised(self) -> str:
        return _fill(str(FILE_PROBLEMS[self.code]), self.params)


class LineProblem(str):
    """A line's reason as :func:`iter_rows` yields it (``row["__error__"]``): English text that also
    carries its code and parameters, so ``RowError.of`` can translate it later."""

    code: str
    params: dict

    def __new__(cls, code: str, **params) -> LineProblem:
        text = super().__new__(cls, _fill(source_text(FILE_PROBLEMS[code]), params))
        text.code, text.params = code, params
        return text

    def row_error(self, line: int) -> RowError:
        return RowError.of(line, self.code, FILE_PROBLEMS[self.code], **self.params)


def read_text(path_or_bytes: Path | str | bytes) -> str:
    raw = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError("not_utf8", byte=exc.start) from None
    if "\x00" in text:  # a binary file, or UTF-16 saved by mistake; PostgreSQL cannot store NUL
        raise CsvFormatError("nul_in_file", byte=raw.index(0))
    return text


def iter_rows(text: str, expected_header: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) after checking the header names exactly the expected columns."""
    expected = list(expected_header)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFormatError("empty_file", expected=",".join(expected)) from None
    header = [column.strip().lower() for column in header]
    missing = [column for column in expected if column not in header]
    unknown = [column for column in header if column not in expected]
    if missing or unknown:
        code = "bad_columns" if missing and unknown else "missing_columns" if missing else "unknown_columns"
        raise CsvFormatError(code, missing=", ".join(missing), unknown=", ".join(unknown), expected=",".join(expected))
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue  # blank lines, as spreadsheets leave at the end
        if len(values) != len(header):
            yield line, {"__error__": LineProblem("field_count", expected=len(header), found=len(values))}
            continue
        if any(len(value) > MAX_FIELD_LENGTH for value in values):
            yield line, {"__error__": LineProblem("field_too_long", limit=MAX_FIELD_LENGTH)}
            continue
        if any("\x00" in value for value in values):  # PostgreSQL cannot store it in a text column
            yield line, {"__error__": LineProblem("nul_in_field")}
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
            report.errors.append(raw["__error__"].row_error(line))
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
