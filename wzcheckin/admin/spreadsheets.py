"""Admin room, writing CSV and XLSX files safely and without holding a big export in memory.

Formula injection: a spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula, so a worker registering as ``=HYPERLINK(...)``
could plant one in an official's export. In CSV such text gets a leading apostrophe; in XLSX it
is typed as text (an inline string with the quote-prefix style), never as a formula. Numbers
stay numbers.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, the header row included
CSV_CHUNK_ROWS = 500


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def plain_cell(value) -> str | int | float:
    """What a file's cell holds, CSV or XLSX: yes/no, numbers as numbers, ISO dates, else text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_cell(value) -> str | int | float:
    if value is None:
        return ""
    plain = plain_cell(value)
    return "'" + plain if isinstance(plain, str) and is_formula_like(plain) else plain


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence], *, bom: bool = True) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel opens Chinese correctly), CRLF line ends, a few hundred rows per
    chunk: a generator for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if bom:
        buffer.write("\ufeff")
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        pending += 1
        if pending >= CSV_CHUNK_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence]) -> tuple[tempfile.SpooledTemporaryFile, int]:
    """An XLSX workbook written row by row (openpyxl write-only mode) into a temporary file
    (in memory up to a few MB, then on disk); (the file, rewound, and the number of rows).

    A list longer than a sheet can hold continues on a second sheet (``title 2``), and so on.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet_number = 1
    sheet = workbook.create_sheet(_sheet_title(title, sheet_number))
    sheet.append(list(header))
    in_sheet = 1
    count = 0

    def cell(value):
        if value is None:
            return None
        text = plain_cell(value)
        if not isinstance(text, str) or not is_formula_like(text):
            return text
        typed = WriteOnlyCell(sheet, value=text)
        typed.data_type = "s"      # text, whatever openpyxl guessed from the "="
        typed.quotePrefix = True   # and Excel keeps it text if the cell is edited
        return typed

    for row in rows:
        if in_sheet >= XLSX_MAX_ROWS:
            sheet_number += 1
            sheet = workbook.create_sheet(_sheet_title(title, sheet_number))
            sheet.append(list(header))
            in_sheet = 1
        sheet.append([cell(value) for value in row])
        in_sheet += 1
        count += 1
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - the response closes it
    workbook.save(output)
    output.seek(0)
    return output, count


def file_chunks(handle, size: int = 64 * 1024) -> Iterator[bytes]:
    """A written file, read back in chunks for a streamed response; closed (and so deleted) at
    the end, or when the server closes the response early."""
    try:
        while chunk := handle.read(size):
            yield chunk
    finally:
        handle.close()


def _sheet_title(title: str, number: int) -> str:
    # Sheet names: at most 31 characters, none of []:*?/\ .
    clean = "".join(char for char in title if char not in "[]:*?/\\")[:28] or "export"
    return clean if number == 1 else f"{clean} {number}"
