"""Reading a roster file (CSV or XLSX) into rows of text, refusing what is too big, broken or
ambiguous before anything is stored.

The rules are the same for both formats: the header names each column once; cells lose
surrounding whitespace and invisible characters (a zero-width space pasted after an address,
a byte-order mark); a row whose cells are all blank that way is skipped. A CSV is decoded
strictly: UTF-8 (with or without a byte-order mark), UTF-16 with its mark, or, when no line
is UTF-8, Windows-1252; a file that mixes encodings is refused naming its lines, and staff may
read a file in another encoding from `ENCODINGS`. An XLSX is read whatever size its sheet
declares, and a row with more cells than `ROSTER_MAX_COLUMNS` is refused while streaming.

Rows are read one at a time (`roster_stream`): a large file is never held as rows in memory,
and a refusal found part-way (too many rows, a broken line) is raised when that row is reached.
"""

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from defusedxml.ElementTree import iterparse
from django.conf import settings

from cspo_tracker.spreadsheets import FORMULA_PREFIXES

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
# Other names trainers' files use for our columns (after `normalise_header`).
ALIASES = {
    "email_address": "email",
    "e_mail": "email",
    "e_mail_address": "email",
    "given_name": "first_name",
    "firstname": "first_name",
    "surname": "last_name",
    "family_name": "last_name",
    "lastname": "last_name",
    "course": "course_code",
    "hours": "hours_attended",
}
COLUMN_HELP = {
    "email": "Required. The attendee's email address; it becomes their login.",
    "first_name": "Required.",
    "last_name": "Required.",
    "course_code": "Required. Your code for the course; rows with the same code are one course.",
    "course_title": "Optional. Shown in the holder's ledger.",
    "program": "Optional, default CSPO. The certification the course leads to (CSPO, CSM...).",
    "trainer": "Optional. The trainer's name as printed for holders. (A training "
    "organisation's new course names the trainer who uploads its roster as the one who sees "
    "it; its organisation admin names others on the course's page.)",
    "start_date": "First day of the course: a spreadsheet date or YYYY-MM-DD. Default: end_date.",
    "end_date": "Last day of the course: a spreadsheet date or YYYY-MM-DD. Needed for a new "
    "course; the credential is issued on it.",
    "hours_attended": "Hours the attendee attended, in steps of 0.25. Become Learning units.",
    "completed": "yes/no (also true/false, 1/0, x). Completed with enough hours issues the "
    "credential.",
    "member_id": "Optional. The attendee's member number with the issuer.",
}
# The encodings staff may choose to read a CSV in (codec name: label).
ENCODINGS = {
    "utf-8": "UTF-8",
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "iso-8859-15": "ISO-8859-15 (Latin-9)",
    "mac-roman": "Mac OS Roman",
    "utf-16": "UTF-16 (Excel's “Unicode text”)",
}
DETECTED_LEGACY = "cp1252"  # what a CSV with no UTF-8 line is read as, unless staff choose
SAMPLES = 8  # lines with accented text shown to staff, to judge the encoding
SAMPLED_COLUMNS = ("first_name", "last_name", "email", "course_title", "trainer")


class RosterFileError(Exception):
    """The whole file is refused; the message says why, for staff."""


class RosterEncodingError(RosterFileError):
    """Refused because its bytes do not read in one encoding: choosing another may help."""


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int  # line number in the file as staff see it (header is line 1)
    values: dict  # column -> str, datetime.date, number or None
    cells: tuple = ()  # every cell of the row as read, for the rejected-rows file


@dataclass
class RosterFile:
    """What was read: the format, the encoding a CSV was decoded with, the header as written,
    the rows (`roster_read`; `roster_stream` leaves the list empty), and a few lines with
    accented text as decoded (for staff to check; complete once every row was read)."""

    format: str
    encoding: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[RawRow] = field(default_factory=list)
    samples: list[tuple[int, str]] = field(default_factory=list)
    accented_rows: int = 0  # rows with non-ASCII names or titles (samples shows a few)

    def sample(self, row: RawRow) -> None:
        """Count `row` if its names or titles hold non-ASCII letters, and keep the first
        `SAMPLES` of them as read ("Zoë Müller <zoe@example.com>; course “Café Scrum”"): staff
        see at a glance whether the file was read in the right encoding."""
        texts = [str(row.values.get(column) or "") for column in SAMPLED_COLUMNS]
        if all(text.isascii() for text in texts):
            return
        self.accented_rows += 1
        if len(self.samples) == SAMPLES:
            return
        first, last, email, title, trainer = texts
        shown = " ".join(filter(None, (first, last))) + (f" <{email}>" if email else "")
        if title and not title.isascii():
            shown += f"; course “{title}”"
        if trainer and not trainer.isascii():
            shown += f"; trainer {trainer}"
        self.samples.append((row.line, shown))


def normalise_header(name) -> str:
    return "_".join(clean_cell(str(name or "")).lower().replace("-", " ").split())


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def clean_cell(text: str) -> str:
    """A cell's text without surrounding whitespace and invisible characters (zero-width
    spaces, byte-order marks, bidirectional marks, controls), in composed form (NFC), and
    without NUL bytes."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
        text = text[1:]  # the quote our downloads put before text a spreadsheet would run
    if text.isascii():
        return text.strip()
    text = unicodedata.normalize("NFC", text)
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_blank(cells) -> bool:
    """One rule for both formats: a row is blank when every cell is empty once cleaned."""
    return not any(
        cell not in (None, "") and (not isinstance(cell, str) or clean_cell(cell)) for cell in cells
    )


def _limits():
    return (
        settings.ROSTER_MAX_BYTES,
        settings.ROSTER_MAX_ROWS,
        settings.ROSTER_MAX_XLSX_EXPANDED_BYTES,
        settings.ROSTER_MAX_COLUMNS,
    )


def _listed(numbers: list[int], limit: int = 10) -> str:
    """ "line 4", "lines 2 and 3", "lines 2, 3, 5 and 9", "lines 1, 2, ... and 40 more"."""
    noun = "line" if len(numbers) == 1 else "lines"
    if len(numbers) > limit:
        return (
            f"{noun} {', '.join(str(n) for n in numbers[:limit])} and {len(numbers) - limit} more"
        )
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    return f"{noun} {', '.join(str(n) for n in numbers[:-1])} and {numbers[-1]}"


def _are(numbers: list[int]) -> str:
    return "is" if len(numbers) == 1 else "are"


def _column_name(index: int, xlsx: bool) -> str:
    if xlsx:
        from openpyxl.utils import get_column_letter

        return get_column_letter(index + 1)
    return str(index + 1)


def _check_header(header: list, *, xlsx: bool = False) -> list[str | None]:
    """Our column name for each cell of the header (None for a column we do not read).
    Raises RosterFileError for a missing required column, or one named twice (two spellings
    of one name count as twice: "Email" and "E-mail")."""
    names: list[str | None] = []
    where: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        name = normalise_header(cell)
        name = ALIASES.get(name, name)
        if name in COLUMNS:
            where.setdefault(name, []).append(index)
            names.append(name)
        else:
            names.append(None)
    twice = {name: places for name, places in where.items() if len(places) > 1}
    if twice:
        described = "; ".join(
            f"{name} in columns "
            + " and ".join(
                f"{_column_name(i, xlsx)} (“{clean_cell(str(header[i] or ''))}”)" for i in places
            )
            for name, places in twice.items()
        )
        raise RosterFileError(
            f"The header row names a column more than once: {described}. Keep one of each, "
            "so no row is read from the wrong column."
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in where]
    if missing:
        raise RosterFileError(
            f"The header row lacks the required column(s): {', '.join(missing)}. "
            "Download the template to see every column."
        )
    return names


# --- CSV ---------------------------------------------------------------------------------


def _lines_not_in(data: bytes, encoding: str) -> list[int]:
    """Numbers of the lines of `data` that do not decode in `encoding`."""
    bad = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            bad.append(number)
    return bad


def decode_csv(data: bytes, encoding: str = "") -> tuple[str, str]:
    """The text of a CSV file and the codec it was read with (`encoding` if staff chose one).

    Strict: a byte that is not valid in the encoding refuses the file, naming its lines. With
    no choice made, a byte-order mark decides (UTF-8 or UTF-16); otherwise UTF-8; a file with
    no UTF-8 line but other non-ASCII bytes is read as Windows-1252; a file with both UTF-8
    lines and lines in another encoding (rows appended by another program) is refused: no
    single reading of it is right. Raises RosterFileError."""
    if encoding:
        if encoding not in ENCODINGS:
            raise RosterFileError(f"Unknown encoding “{encoding}”.")
        codec = "utf-8-sig" if encoding == "utf-8" else encoding
        if encoding not in ("utf-8", "utf-16") and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]  # a UTF-8 mark on a legacy file means nothing
        try:
            return data.decode(codec), encoding
        except UnicodeDecodeError:
            lines = _lines_not_in(data, codec) if encoding != "utf-16" else []
            where = f" ({_listed(lines)})" if lines else ""
            raise RosterEncodingError(
                f"This file is not {ENCODINGS[encoding]}: some bytes are not valid in it"
                f"{where}. Choose another encoding, or save the file as UTF-8."
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_csv(data, "utf-16")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    lines = body.split(b"\n")
    not_utf8 = _lines_not_in(body, "utf-8")
    utf8 = [
        number
        for number, line in enumerate(lines, start=1)
        if not line.isascii() and number not in set(not_utf8)
    ]
    if utf8:
        preview = "; ".join(
            f"line {number}: “{lines[number - 1].decode('cp1252', 'replace').strip()[:80]}”"
            for number in not_utf8[:3]
        )
        raise RosterEncodingError(
            f"This file mixes two encodings: {_listed(utf8)} {_are(utf8)} UTF-8, "
            f"{_listed(not_utf8)} {_are(not_utf8)} not (read as Windows-1252: {preview}). "
            "Reading it either way would store some names wrongly. Save the whole file as UTF-8 "
            "(in Excel: Save As, “CSV UTF-8”) and upload it again."
        )
    # No line is UTF-8 (a byte-order mark alone does not make it so): a legacy encoding.
    return decode_csv(body, DETECTED_LEGACY)


# A line as a file opened with newline="" gives it (what the csv module expects): up to and
# including "\r\n", "\r" or "\n", the last one possibly without.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time (io.StringIO would hold a copy four times its size)."""
    for line in _LINE.finditer(text):
        yield line.group()


def _rows_from_csv(
    data: bytes, max_rows: int, max_columns: int, encoding: str, progress
) -> tuple[RosterFile, Iterator[RawRow]]:
    if b"\x00" in data and not (
        encoding == "utf-16" or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ):
        raise RosterFileError("This is not a CSV or XLSX file (it contains binary data).")
    text, used = decode_csv(data, encoding)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_lines(text), dialect)
    try:
        header = next(reader)
    except StopIteration as empty:
        raise RosterFileError("The file is empty.") from empty
    except csv.Error as broken:
        raise _broken_line(reader, broken) from broken
    names = _check_header(header)
    roster = RosterFile(format="CSV", encoding=used, header=[clean_cell(cell) for cell in header])
    return roster, _csv_rows(reader, roster, names, max_rows, max_columns, progress)


def _broken_line(reader, broken: csv.Error) -> RosterFileError:
    return RosterFileError(f"Line {reader.line_num} cannot be read as CSV: {broken}.")


def _csv_rows(
    reader, roster: RosterFile, names: list, max_rows: int, max_columns: int, progress
) -> Iterator[RawRow]:
    wanted = [(index, name) for index, name in enumerate(names) if name]
    count = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as broken:
            raise _broken_line(reader, broken) from broken
        if len(values) > max_columns:
            raise RosterFileError(
                f"Line {reader.line_num} has {len(values):,} cells; a roster row has at most "
                f"{max_columns}."
            )
        whole = "".join(values)
        # Most lines are plain ASCII, with no NUL and no quote: cleaning a cell is stripping it,
        # and there is nothing to sample.
        plain = whole.isascii() and "\x00" not in whole and "'" not in whole
        cells = tuple(map(str.strip if plain else clean_cell, values))
        if _is_blank(cells):
            continue
        if count >= max_rows:
            raise RosterFileError(f"The file has more than {max_rows:,} rows; split it.")
        count += 1
        row = RawRow(
            line=reader.line_num,
            values={name: (cells[index] if index < len(cells) else "") for index, name in wanted},
            cells=cells,
        )
        if not plain:
            roster.sample(row)
        if progress and count % 5000 == 0:
            progress(count)
        yield row


# --- XLSX --------------------------------------------------------------------------------

_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xlsx_bounds(source, max_cells: int, max_lines: int) -> None:
    """Stream the sheet's XML and refuse, as soon as it is seen, a row with more than
    `max_cells` cells or a row past `max_lines`: bounded time and memory whatever the file
    declares (one row of twelve million cells is refused after reading `max_cells` + 1)."""
    row_tag, cell_tag = f"{_SHEET_NS}row", f"{_SHEET_NS}c"
    cells = rows = 0
    line = 0
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            if element.tag == cell_tag:
                cells += 1
                if cells > max_cells:
                    raise RosterFileError(
                        f"Line {line} of the sheet has more than {max_cells} cells; a roster row "
                        f"has at most {max_cells}. Delete the columns you do not need."
                    )
            elif element.tag == row_tag:
                rows += 1
                cells = 0
                try:
                    line = int(element.get("r") or rows)
                except ValueError:
                    line = rows
                if line > max_lines:
                    raise RosterFileError(
                        f"The sheet runs past {max_lines - 1:,} lines; remove the blank ones."
                    )
        elif element.tag == row_tag:
            element.clear()


def _cell(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_cell(value)
    return value


def _rows_from_xlsx(
    data: bytes, max_rows: int, max_expanded: int, max_columns: int, progress
) -> tuple[RosterFile, Iterator[RawRow]]:
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
        max_lines = max_rows * 2 + 1  # blank lines count too: a padded sheet is refused
        with sheet._get_source() as source:  # the sheet's XML, streamed
            _xlsx_bounds(source, max_columns, max_lines)
        # Programs write wrong sizes ("A1", or fewer rows than there are): read every row.
        sheet.reset_dimensions()
        header = next(sheet.iter_rows(max_row=1, max_col=max_columns, values_only=True), None)
        header = list(header or ())
        while header and header[-1] in (None, ""):
            header.pop()
        if not header:
            raise RosterFileError("The first sheet is empty.")
        names = _check_header(header, xlsx=True)
        roster = RosterFile(format="XLSX", header=[_cell(cell) for cell in header])
    except RosterFileError:
        raise
    except Exception as broken:  # openpyxl raises many kinds on malformed parts
        raise RosterFileError(f"This XLSX file cannot be read: {broken}") from broken
    return roster, _xlsx_rows(workbook, sheet, roster, names, max_rows, progress)


def _xlsx_rows(workbook, sheet, roster: RosterFile, names: list, max_rows: int, progress):
    wanted = [(index, name) for index, name in enumerate(names) if name]
    count = 0
    try:
        iterator = sheet.iter_rows(min_row=2, max_col=len(names), values_only=True)
        for line, values in enumerate(iterator, start=2):
            cells = tuple(_cell(value) for value in values)
            if _is_blank(cells):
                continue
            if count >= max_rows:
                raise RosterFileError(f"The file has more than {max_rows:,} rows; split it.")
            count += 1
            row = RawRow(
                line=line,
                values={name: cells[index] if index < len(cells) else "" for index, name in wanted},
                cells=cells,
            )
            roster.sample(row)
            if progress and count % 5000 == 0:
                progress(count)
            yield row
    except RosterFileError:
        raise
    except Exception as broken:  # openpyxl raises many kinds on malformed parts
        raise RosterFileError(f"This XLSX file cannot be read: {broken}") from broken
    finally:
        workbook.close()


def looks_like_xlsx(data: bytes) -> bool:
    return data.startswith(b"PK\x03\x04")


def roster_stream(
    data: bytes, *, encoding: str = "", progress: Callable[[int], None] | None = None
) -> tuple[RosterFile, Iterator[RawRow]]:
    """Open a roster: a CSV (see `decode_csv`; comma, semicolon or tab) or the first sheet of
    an XLSX file, and return what was read of it so far and its rows, one at a time.
    `encoding` reads a CSV in that encoding (one of ENCODINGS) instead of detecting it;
    `progress(rows)` is called every 5,000 rows read.

    Raises RosterFileError for a file refused as a whole: at once when it is too big
    (ROSTER_MAX_BYTES, ROSTER_MAX_XLSX_EXPANDED_BYTES, or an XLSX row of more than
    ROSTER_MAX_COLUMNS cells), empty, binary, damaged, in mixed or undecodable encodings, or
    with a missing or repeated column; while the rows are read when a CSV line has more than
    ROSTER_MAX_COLUMNS cells or cannot be read, or there are more than ROSTER_MAX_ROWS rows.
    The RosterFile's samples are complete once every row was read."""
    max_bytes, max_rows, max_expanded, max_columns = _limits()
    if len(data) > max_bytes:
        raise RosterFileError(
            f"The file is {len(data) / 2**20:,.1f} MB; the limit is {max_bytes / 2**20:,.0f} MB."
        )
    if not data.strip():
        raise RosterFileError("The file is empty.")
    if looks_like_xlsx(data):
        return _rows_from_xlsx(data, max_rows, max_expanded, max_columns, progress)
    return _rows_from_csv(data, max_rows, max_columns, encoding, progress)


def roster_read(
    data: bytes, *, encoding: str = "", progress: Callable[[int], None] | None = None
) -> RosterFile:
    """Read a roster whole (see `roster_stream`), its rows in `rows`. Raises RosterFileError
    for a file refused as a whole."""
    roster, rows = roster_stream(data, encoding=encoding, progress=progress)
    roster.rows = list(rows)
    return roster


def roster_rows(data: bytes, encoding: str = "") -> list[RawRow]:
    """The rows of a roster file (see `roster_read`)."""
    return roster_read(data, encoding=encoding).rows


# Files that are plainly not rosters, by their first bytes: refused on the upload form.
NOT_A_ROSTER = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Word file; save it as XLSX or CSV",
    b"{\\rtf": "an RTF document",
    b"\x1f\x8b": "a compressed (gzip) file",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
}


def not_a_roster(data: bytes) -> str | None:
    """Why these bytes are plainly not a roster (an image, a PDF, a ZIP that is not a
    workbook...), or None when they may be one: checked on the upload form, cheaply."""
    for magic, what in NOT_A_ROSTER.items():
        if data.startswith(magic):
            return f"This is {what}, not a roster. Upload a CSV or XLSX file."
    if looks_like_xlsx(data):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None  # a damaged workbook: the check says so in detail
        if "xl/workbook.xml" not in names:
            return (
                "This is a ZIP archive (or a Word or OpenDocument file), not an XLSX workbook. "
                "Upload a CSV or XLSX file."
            )
        return None
    head = data[:4096]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "This is not a CSV or XLSX file (it contains binary data)."
    return None
