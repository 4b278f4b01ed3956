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
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

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
# What each column holds, for the upload page. The column names (email, end_date, yes/no...)
# are what the file must contain: they stay as they are in every language.
COLUMN_HELP = {
    # Translators: help for a column of the roster file; keep the column names (end_date)
    # and the values a cell may hold (yes/no, YYYY-MM-DD) as they are, here and below.
    "email": _("Required. The attendee's email address; it becomes their login."),
    "first_name": _("Required."),
    "last_name": _("Required."),
    "course_code": _("Required. Your code for the course; rows with the same code are one course."),
    "course_title": _("Optional. Shown in the holder's ledger."),
    "program": _("Optional, default CSPO. The certification the course leads to (CSPO, CSM...)."),
    "trainer": _(
        "Optional. The trainer's name as printed for holders. (A training "
        "organisation's new course names the trainer who uploads its roster as the one who "
        "sees it; its organisation admin names others on the course's page.)"
    ),
    "start_date": _(
        "First day of the course: a spreadsheet date or YYYY-MM-DD. Default: end_date."
    ),
    "end_date": _(
        "Last day of the course: a spreadsheet date or YYYY-MM-DD. Needed for a new "
        "course; the credential is issued on it."
    ),
    "hours_attended": _("Hours the attendee attended, in steps of 0.25. Become Learning units."),
    "completed": _(
        "yes/no (also true/false, 1/0, x). Completed with enough hours issues the credential."
    ),
    "member_id": _("Optional. The attendee's member number with the issuer."),
}
# The encodings staff may choose to read a CSV in (codec name: label).
ENCODINGS = {
    "utf-8": "UTF-8",
    "cp1252": _("Windows-1252 (Western European)"),
    "cp1250": _("Windows-1250 (Central European)"),
    "cp1251": _("Windows-1251 (Cyrillic)"),
    "iso-8859-15": _("ISO-8859-15 (Latin-9)"),
    "mac-roman": _("Mac OS Roman"),
    # Translators: “Unicode text” is the name of a file type in Excel's Save As.
    "utf-16": _("UTF-16 (Excel's “Unicode text”)"),
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
            # Translators: a line of a roster as read: {sample} is a name and address,
            # {title} a course's title.
            shown = gettext("{sample}; course “{title}”").format(sample=shown, title=title)
        if trainer and not trainer.isascii():
            # Translators: a line of a roster as read: {sample} is a name and address (and
            # perhaps a course), {trainer} a trainer's name.
            shown = gettext("{sample}; trainer {trainer}").format(sample=shown, trainer=trainer)
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
    if len(numbers) > limit:
        # Translators: {numbers} are line numbers separated by commas, {more} a number.
        return gettext("lines {numbers} and {more} more").format(
            numbers=", ".join(str(n) for n in numbers[:limit]), more=len(numbers) - limit
        )
    if len(numbers) == 1:
        return gettext("line {number}").format(number=numbers[0])
    # Translators: {numbers} are line numbers separated by commas, {last} the last one.
    return gettext("lines {numbers} and {last}").format(
        numbers=", ".join(str(n) for n in numbers[:-1]), last=numbers[-1]
    )


def _and(items: list[str]) -> str:
    """ "A", "A and B", "A and B and C"."""
    joined = items[0] if items else ""
    for item in items[1:]:
        # Translators: joins two or more things: "A and B" ({items} may already be joined
        # this way: "A and B and C").
        joined = gettext("{items} and {item}").format(items=joined, item=item)
    return joined


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
        # Translators: a column of a file, its place (a number or a letter) and its header
        # as written: 10 (“Email”).
        place = gettext("{column} (“{header}”)")
        # Translators: {name} is a column name (email), {columns} the places it is in:
        # "1 (“email”) and 10 (“Email”)".
        in_columns = gettext("{name} in columns {columns}")
        described = "; ".join(
            in_columns.format(
                name=name,
                columns=_and(
                    [
                        place.format(
                            column=_column_name(i, xlsx),
                            header=clean_cell(str(header[i] or "")),
                        )
                        for i in places
                    ]
                ),
            )
            for name, places in twice.items()
        )
        raise RosterFileError(
            gettext(
                "The header row names a column more than once: {described}. Keep one of each, "
                "so no row is read from the wrong column."
            ).format(described=described)
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in where]
    if missing:
        lacks = ngettext(
            # Translators: {columns} are column names (email, last_name), separated by commas;
            # the English says "column(s)" whatever their number.
            "The header row lacks the required column(s): {columns}. "
            "Download the template to see every column.",
            "The header row lacks the required column(s): {columns}. "
            "Download the template to see every column.",
            len(missing),
        )
        raise RosterFileError(lacks.format(columns=", ".join(missing)))
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
            raise RosterFileError(
                gettext("Unknown encoding “{encoding}”.").format(encoding=encoding)
            )
        codec = "utf-8-sig" if encoding == "utf-8" else encoding
        if encoding not in ("utf-8", "utf-16") and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]  # a UTF-8 mark on a legacy file means nothing
        try:
            return data.decode(codec), encoding
        except UnicodeDecodeError:
            lines = _lines_not_in(data, codec) if encoding != "utf-16" else []
            if lines:
                text = gettext(
                    # Translators: {encoding} names an encoding ("Windows-1252 (Western
                    # European)"), {lines} the lines ("lines 2 and 3").
                    "This file is not {encoding}: some bytes are not valid in it ({lines}). "
                    "Choose another encoding, or save the file as UTF-8."
                )
            else:
                text = gettext(
                    "This file is not {encoding}: some bytes are not valid in it. "
                    "Choose another encoding, or save the file as UTF-8."
                )
            raise RosterEncodingError(
                text.format(encoding=ENCODINGS[encoding], lines=_listed(lines) if lines else "")
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
        # Translators: a line of a file as read: line 4: “Zoë Müller”.
        line = gettext("line {number}: “{text}”")
        preview = "; ".join(
            line.format(
                number=number, text=lines[number - 1].decode("cp1252", "replace").strip()[:80]
            )
            for number in not_utf8[:3]
        )
        # Translators: {lines} are lines of a file ("line 4", "lines 2 and 3").
        are_utf8 = ngettext("{lines} is UTF-8", "{lines} are UTF-8", len(utf8))
        # Translators: {lines} are lines of a file ("line 4", "lines 2 and 3"), that are not
        # UTF-8.
        are_not = ngettext("{lines} is not", "{lines} are not", len(not_utf8))
        mixed = gettext(
            # Translators: {utf8} is "lines 2 and 3 are UTF-8", {not_utf8} "line 4 is not",
            # {preview} lines as read ("line 4: “Zoë”"); “CSV UTF-8” is a file type in Excel.
            "This file mixes two encodings: {utf8}, {not_utf8} (read as Windows-1252: "
            "{preview}). Reading it either way would store some names wrongly. Save the whole "
            "file as UTF-8 (in Excel: Save As, “CSV UTF-8”) and upload it again."
        )
        raise RosterEncodingError(
            mixed.format(
                utf8=are_utf8.format(lines=_listed(utf8)),
                not_utf8=are_not.format(lines=_listed(not_utf8)),
                preview=preview,
            )
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
        raise RosterFileError(str(NOT_CSV_OR_XLSX))
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
        raise RosterFileError(gettext("The file is empty.")) from empty
    except csv.Error as broken:
        raise _broken_line(reader, broken) from broken
    names = _check_header(header)
    roster = RosterFile(format="CSV", encoding=used, header=[clean_cell(cell) for cell in header])
    return roster, _csv_rows(reader, roster, names, max_rows, max_columns, progress)


def _broken_line(reader, broken: csv.Error) -> RosterFileError:
    # Translators: {problem} is what Python's CSV reader said (in English).
    text = gettext("Line {line} cannot be read as CSV: {problem}.")
    return RosterFileError(text.format(line=reader.line_num, problem=broken))


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
                gettext("Line {line} has {cells} cells; a roster row has at most {limit}.").format(
                    line=reader.line_num, cells=f"{len(values):,}", limit=max_columns
                )
            )
        whole = "".join(values)
        # Most lines are plain ASCII, with no NUL and no quote: cleaning a cell is stripping it,
        # and there is nothing to sample.
        plain = whole.isascii() and "\x00" not in whole and "'" not in whole
        cells = tuple(map(str.strip if plain else clean_cell, values))
        if _is_blank(cells):
            continue
        if count >= max_rows:
            raise RosterFileError(_too_many_rows(max_rows))
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
                        gettext(
                            "Line {line} of the sheet has more than {limit} cells; a roster row "
                            "has at most {limit}. Delete the columns you do not need."
                        ).format(line=line, limit=max_cells)
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
                        gettext("The sheet runs past {lines} lines; remove the blank ones.").format(
                            lines=f"{max_lines - 1:,}"
                        )
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
        raise RosterFileError(
            gettext("This XLSX file is damaged and cannot be opened.")
        ) from broken
    if expanded > max_expanded:
        raise RosterFileError(
            gettext(
                # Translators: {size} and {limit} are numbers of megabytes.
                "This XLSX file expands to {size} MB, more than the {limit} MB allowed; save it "
                "as CSV or split it."
            ).format(size=f"{expanded / 2**20:,.0f}", limit=f"{max_expanded / 2**20:,.0f}")
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
            raise RosterFileError(gettext("The first sheet is empty."))
        names = _check_header(header, xlsx=True)
        roster = RosterFile(format="XLSX", header=[_cell(cell) for cell in header])
    except RosterFileError:
        raise
    except Exception as broken:  # openpyxl raises many kinds on malformed parts
        raise _unreadable_xlsx(broken) from broken
    return roster, _xlsx_rows(workbook, sheet, roster, names, max_rows, progress)


def _unreadable_xlsx(broken: Exception) -> RosterFileError:
    # Translators: {problem} is what the spreadsheet library said (in English).
    text = gettext("This XLSX file cannot be read: {problem}")
    return RosterFileError(text.format(problem=broken))


def _too_many_rows(max_rows: int) -> str:
    return gettext("The file has more than {limit} rows; split it.").format(limit=f"{max_rows:,}")


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
                raise RosterFileError(_too_many_rows(max_rows))
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
        raise _unreadable_xlsx(broken) from broken
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
        raise RosterFileError(too_big(len(data), max_bytes))
    if not data.strip():
        raise RosterFileError(gettext("The file is empty."))
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


def too_big(size: int, limit: int) -> str:
    """The file is `size` bytes, more than `limit`, in words."""
    # Translators: {size} and {limit} are numbers of megabytes.
    return gettext("The file is {size} MB; the limit is {limit} MB.").format(
        size=f"{size / 2**20:,.1f}", limit=f"{limit / 2**20:,.0f}"
    )


NOT_CSV_OR_XLSX = _("This is not a CSV or XLSX file (it contains binary data).")
# Files that are plainly not rosters, by their first bytes: refused on the upload form.
NOT_A_ROSTER = {
    b"\x89PNG": _("This is a PNG image, not a roster. Upload a CSV or XLSX file."),
    b"\xff\xd8\xff": _("This is a JPEG image, not a roster. Upload a CSV or XLSX file."),
    b"GIF8": _("This is a GIF image, not a roster. Upload a CSV or XLSX file."),
    b"%PDF": _("This is a PDF document, not a roster. Upload a CSV or XLSX file."),
    b"\xd0\xcf\x11\xe0": _(
        "This is an old Excel (.xls) or Word file; save it as XLSX or CSV, not a roster. "
        "Upload a CSV or XLSX file."
    ),
    b"{\\rtf": _("This is an RTF document, not a roster. Upload a CSV or XLSX file."),
    b"\x1f\x8b": _("This is a compressed (gzip) file, not a roster. Upload a CSV or XLSX file."),
    b"Rar!": _("This is a RAR archive, not a roster. Upload a CSV or XLSX file."),
    b"7z\xbc\xaf": _("This is a 7-Zip archive, not a roster. Upload a CSV or XLSX file."),
}


def not_a_roster(data: bytes) -> str | None:
    """Why these bytes are plainly not a roster (an image, a PDF, a ZIP that is not a
    workbook...), or None when they may be one: checked on the upload form, cheaply."""
    for magic, why in NOT_A_ROSTER.items():
        if data.startswith(magic):
            return str(why)
    if looks_like_xlsx(data):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None  # a damaged workbook: the check says so in detail
        if "xl/workbook.xml" not in names:
            return gettext(
                "This is a ZIP archive (or a Word or OpenDocument file), not an XLSX workbook. "
                "Upload a CSV or XLSX file."
            )
        return None
    head = data[:4096]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return str(NOT_CSV_OR_XLSX)
    return None
