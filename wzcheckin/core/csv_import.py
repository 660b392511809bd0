"""Reading the CSV files officials and enterprises upload (UTF-8, with or without the BOM that
Excel writes). Every bad line is reported with its line number and reason; callers write
nothing when any line is bad."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
