"""Downloads that people open in spreadsheets: CSV and XLSX from the same header and rows.

Rows hold plain values: text, dates, Decimals and ints. CSV writes dates in ISO form and
neutralises text a spreadsheet would run as a formula; it starts with a UTF-8 byte-order mark,
without which Excel reads UTF-8 as its legacy code page ("CafÃ©" for "Café"). XLSX keeps dates
as dates and numbers as numbers, and stores every text as text, so a leading = is shown, never
run, and needs no quote in front.
"""

import csv
import datetime
import itertools
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import FileResponse, HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import formats

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Column widths (in characters) come from the header and the first rows; the file is written
# as it streams, so later rows cannot widen a column.
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60

Value = str | int | Decimal | datetime.date | None


def csv_safe(value) -> str:
    """Neutralise text a spreadsheet would run as a formula (a leading = + - @, tab or CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_text(value: Value) -> str:
    """A cell as CSV text: ISO dates, numbers in plain notation without trailing zeros (as
    every page shows hours: "2", "7.5"), text made formula-safe."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return formats.units(value)
    if isinstance(value, int):
        return str(value)
    return csv_safe(value)


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence[Value]]):
    """A CSV download that Excel opens as UTF-8."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write(BOM)
    header = [str(name) for name in header]  # lazy translations made text
    writer = csv.writer(response)
    writer.writerow([csv_text(name) for name in header])
    for row in rows:
        writer.writerow([csv_text(value) for value in row])
    return response


def _xlsx_cell(sheet, value: Value, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        # XML cannot carry most control characters; openpyxl refuses them.
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text, even when it starts with "=": never a formula
    else:
        cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    return cell


def _width(value: Value) -> int:
    if isinstance(value, datetime.date):
        return 10
    text = "" if value is None else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def xlsx_response(
    *,
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Value]],
    sheet_title: str,
) -> FileResponse:
    """An XLSX download with one sheet: a bold, frozen header row, then the rows. Written in
    openpyxl's write-only mode to a temporary file that the response streams, so memory stays
    bounded whatever the number of rows."""
    rows = iter(rows)
    header = [str(name) for name in header]  # lazy translations made text
    sample = list(itertools.islice(rows, WIDTH_SAMPLE_ROWS))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(sheet_title)[:31])  # Excel's limit on sheet names
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        widest = max([len(name), *(_width(row[index - 1]) for row in sample)])
        width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.append([_xlsx_cell(sheet, name, bold=True) for name in header])
    for row in itertools.chain(sample, rows):
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    file = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by the response once sent
    workbook.save(file)
    file.seek(0)
    return FileResponse(file, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


def export_response(
    file_format: str,
    *,
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Value]],
    sheet_title: str,
) -> HttpResponse | FileResponse:
    """The download `name`.csv or `name`.xlsx, for views that offer both from one body."""
    if file_format == "csv":
        return csv_response(filename=f"{name}.csv", header=header, rows=rows)
    if file_format == "xlsx":
        return xlsx_response(
            filename=f"{name}.xlsx", header=header, rows=rows, sheet_title=sheet_title
        )
    raise ValueError(f"No export format {file_format!r}.")
