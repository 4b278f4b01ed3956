"""Reading a roster file (CSV or XLSX) into rows of text, refusing what is too big or broken
before reading it in full."""

import csv
import datetime
import io
import zipfile
from dataclasses import dataclass

from django.conf import settings

REQUIRED_COLUMNS = ("email", "first_name", "last_name", "course_code")
OPTIONAL_COLUMNS = (
    "course_title",
    "program",
    "trainer",
    "start_date",
    "end_date",
    "hours_attended",
    "completed",
    "member_id",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
COLUMN_HELP = {
    "email": "Required. The attendee's email address; it becomes their login.",
    "first_name": "Required.",
    "last_name": "Required.",
    "course_code": "Required. Your code for the course; rows with the same code are one course.",
    "course_title": "Optional. Shown in the holder's ledger.",
    "program": "Optional, default CSPO. The certification the course leads to (CSPO, CSM...).",
    "trainer": "Optional. The trainer's name.",
    "start_date": "First day of the course: a spreadsheet date or YYYY-MM-DD. Default: end_date.",
    "end_date": "Last day of the course: a spreadsheet date or YYYY-MM-DD. Needed for a new "
    "course; the credential is issued on it.",
    "hours_attended": "Hours the attendee attended, in steps of 0.25. Become Learning units.",
    "completed": "yes/no (also true/false, 1/0, x). Completed with enough hours issues the "
    "credential.",
    "member_id": "Optional. The attendee's member number with the issuer.",
}


class RosterFileError(Exception):
    """The whole file is refused; the message says why, for staff."""


@dataclass(frozen=True)
class RawRow:
    line: int  # line number in the file as staff see it (header is line 1)
    values: dict  # column -> str, datetime.date, number or None


def normalise_header(name) -> str:
    return "_".join(str(name or "").strip().lower().replace("-", " ").split())


def _limits():
    return (
        settings.ROSTER_MAX_BYTES,
        settings.ROSTER_MAX_ROWS,
        settings.ROSTER_MAX_XLSX_EXPANDED_BYTES,
    )


def _check_header(header: list[str]) -> list[str]:
    names = [normalise_header(name) for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise RosterFileError(
            f"The header row lacks the required column(s): {', '.join(missing)}. "
            "Download the template to see every column."
        )
    return names


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows_from_csv(data: bytes, max_rows: int) -> list[RawRow]:
    if b"\x00" in data:
        raise RosterFileError("This is not a CSV or XLSX file (it contains binary data).")
    text = _decode(data)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        return _read_csv(reader, max_rows)
    except csv.Error as broken:
        raise RosterFileError(
            f"Line {reader.line_num} cannot be read as CSV: {broken}."
        ) from broken


def _read_csv(reader, max_rows: int) -> list[RawRow]:
    try:
        header = next(reader)
    except StopIteration as empty:
        raise RosterFileError("The file is empty.") from empty
    names = _check_header(header)
    rows = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= max_rows:
            raise RosterFileError(f"The file has more than {max_rows:,} rows; split it.")
        rows.append(
            RawRow(
                line=reader.line_num,
                values={
                    name: (values[index].strip() if index < len(values) else "")
                    for index, name in enumerate(names)
                    if name in COLUMNS
                },
            )
        )
    return rows


def _cell(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\x00", "").strip()
    return value


def _rows_from_xlsx(data: bytes, max_rows: int, max_expanded: int) -> list[RawRow]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as broken:
        raise RosterFileError("This XLSX file is damaged and cannot be opened.") from broken
    if expanded > max_expanded:
        raise RosterFileError(
            f"This XLSX file expands to {expanded / 2**20:,.0f} MB, more than the "
            f"{max_expanded / 2**20:,.0f} MB allowed; save it as CSV or split it."
        )
    import openpyxl  # imported here: only XLSX uploads pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        header = next(sheet.iter_rows(max_row=1, max_col=len(COLUMNS) * 4, values_only=True), None)
        if header is None:
            raise RosterFileError("The first sheet is empty.")
        header = list(header)
        while header and header[-1] in (None, ""):
            header.pop()
        names = _check_header(header)
        # Read only the header's columns, and count blank lines too: a sheet padded to a million
        # empty rows is refused instead of read.
        iterator = sheet.iter_rows(min_row=2, max_col=len(names), values_only=True)
        rows = []
        for line, values in enumerate(iterator, start=2):
            if line > max_rows * 2 + 1:
                raise RosterFileError(
                    f"The sheet runs past {max_rows * 2:,} lines; remove the blank ones."
                )
            if not any(value not in (None, "") for value in values):
                continue
            if len(rows) >= max_rows:
                raise RosterFileError(f"The file has more than {max_rows:,} rows; split it.")
            rows.append(
                RawRow(
                    line=line,
                    values={
                        name: _cell(values[index]) if index < len(values) else ""
                        for index, name in enumerate(names)
                        if name in COLUMNS
                    },
                )
            )
        workbook.close()
    except RosterFileError:
        raise
    except Exception as broken:  # openpyxl raises many kinds on malformed parts
        raise RosterFileError(f"This XLSX file cannot be read: {broken}") from broken
    return rows


def roster_rows(data: bytes) -> list[RawRow]:
    """Rows of a CSV (UTF-8 with or without BOM, or Windows-1252; comma, semicolon or tab) or
    an XLSX file. Raises RosterFileError for a file that is refused as a whole."""
    max_bytes, max_rows, max_expanded = _limits()
    if len(data) > max_bytes:
        raise RosterFileError(
            f"The file is {len(data) / 2**20:,.1f} MB; the limit is {max_bytes / 2**20:,.0f} MB."
        )
    if not data.strip():
        raise RosterFileError("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        return _rows_from_xlsx(data, max_rows, max_expanded)
    return _rows_from_csv(data, max_rows)
