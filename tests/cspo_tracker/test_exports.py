"""CSV and XLSX downloads open right in Excel: accents intact, dates as dates, hours as numbers,
and text that looks like a formula stays text."""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from credentials.services import credential_issue
from seu_ledger.models import Fee
from seu_ledger.services import entry_log, entry_void, fee_submit
from tests.factories import UserFactory, category, program, staff_in
from tests.seu_ledger.test_staff import holding

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 5, 20)
BOM = b"\xef\xbb\xbf"
ACCENTED = "Café Scrum – Zoë Müller"
FORMULA = '=HYPERLINK("http://x")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def holder(client):
    holder = UserFactory(email="zoe@example.com", first_name="Zoë", last_name="Müller")
    credential_issue(holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 3, 15))
    client.force_login(holder)
    return holder


def log(holder, day, hours, title, **fields):
    return entry_log(
        holder=holder,
        activity_date=day,
        category=category(fields.pop("category", "scrum-alliance:learning")),
        title=title,
        hours=Decimal(hours),
        **fields,
    )


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_bytes(response) -> bytes:
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    return response.getvalue()  # a streamed file: read once


def xlsx_sheet(response):
    return openpyxl.load_workbook(io.BytesIO(xlsx_bytes(response))).active


def xlsx_rows(sheet) -> list[list]:
    """The sheet's values; openpyxl reads a date cell as a datetime at midnight."""
    return [
        [value.date() if isinstance(value, datetime.datetime) else value for value in row]
        for row in sheet.iter_rows(values_only=True)
    ]


def as_csv_text(value) -> str:
    """An XLSX value as the CSV writes it, to compare the two downloads."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return f"{Decimal(str(value)).normalize():f}"
    return "" if value is None else value


# --- The holder's activity history -----------------------------------------------------------


def test_the_history_csv_starts_with_a_byte_order_mark_so_excel_reads_utf8(client, holder):
    log(holder, datetime.date(2026, 4, 2), "3", ACCENTED, provider=ACCENTED)
    response = client.get(reverse("ledger:history_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="activities.csv"'
    assert response.content.startswith(BOM)
    assert not response.content.startswith(BOM * 2)
    header, row = csv_rows(response)
    assert header[0] == "date"  # the mark is not part of the first column's name
    assert row[3:5] == [ACCENTED, ACCENTED]


def test_the_history_xlsx_holds_the_same_rows_with_dates_and_hours_as_values(client, holder):
    log(holder, datetime.date(2026, 4, 2), "3", ACCENTED, provider=ACCENTED)
    voided = log(holder, datetime.date(2026, 3, 1), "2.25", "Meetup", description="Two\nlines")
    entry_void(entry=voided, reason="Duplicate")
    response = client.get(reverse("ledger:history_xlsx"))
    assert response["Content-Disposition"] == 'attachment; filename="activities.xlsx"'
    sheet = xlsx_sheet(response)
    rows = xlsx_rows(sheet)
    assert rows[0] == csv_rows(client.get(reverse("ledger:history_csv")))[0]
    assert rows[1:] == [
        [
            datetime.date(2026, 4, 2),
            "Scrum Alliance",
            rows[1][2],
            ACCENTED,
            ACCENTED,
            3,
            None,
            "no",
            None,
            "CSPO: 3",
            None,
            "you",
        ],
        [
            datetime.date(2026, 3, 1),
            "Scrum Alliance",
            rows[2][2],
            "Meetup",
            None,
            2.25,
            "Two\nlines",
            "yes",
            "Duplicate",
            "CSPO: 0",
            "CSPO: 2.25 voided",
            "you",
        ],
    ]
    assert sheet["A2"].is_date
    assert sheet["A2"].number_format == "yyyy-mm-dd"
    assert sheet["F3"].data_type == "n"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["D"].width > sheet.column_dimensions["A"].width
    from_csv = csv_rows(client.get(reverse("ledger:history_csv")))[1:]
    assert [[as_csv_text(value) for value in row[:5]] for row in rows[1:]] == [
        row[:5] for row in from_csv
    ]
    assert [Decimal(str(row[5])) for row in rows[1:]] == [Decimal(row[5]) for row in from_csv]


def test_a_title_like_a_formula_is_text_in_the_csv_and_the_xlsx(client, holder):
    log(holder, datetime.date(2026, 4, 2), "1", FORMULA, provider="+1 555", description="@x")
    [_, row] = csv_rows(client.get(reverse("ledger:history_csv")))
    assert row[3:5] == ["'" + FORMULA, "'+1 555"]
    content = xlsx_bytes(client.get(reverse("ledger:history_xlsx")))
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [sheet[f"{column}2"].value for column in "DEG"] == [FORMULA, "+1 555", "@x"]
    assert {sheet[f"{column}2"].data_type for column in "DEG"} == {"s"}


def test_the_history_xlsx_drops_control_characters_xml_cannot_carry(client, holder):
    log(holder, datetime.date(2026, 4, 2), "1", "Page\x0cbreak", description="bell\x07")
    sheet = xlsx_sheet(client.get(reverse("ledger:history_xlsx")))
    assert (sheet["D2"].value, sheet["G2"].value) == ("Pagebreak", "bell")


def test_the_history_xlsx_applies_the_same_filters_as_the_csv(client, holder):
    log(holder, datetime.date(2026, 4, 2), "1", "Learning")
    log(holder, datetime.date(2026, 4, 3), "1", "Event", category="scrum-alliance:events")
    log(holder, datetime.date(2025, 1, 3), "1", "Old")
    learning = category("scrum-alliance:learning").pk
    for query in ({}, {"category": learning}, {"date_from": "2026-01-01"}):
        from_csv = [row[3] for row in csv_rows(client.get(reverse("ledger:history_csv"), query))]
        sheet = xlsx_sheet(client.get(reverse("ledger:history_xlsx"), query))
        assert [row[3] for row in xlsx_rows(sheet)] == from_csv, query
    assert len(from_csv) == 1 + 2


def test_the_history_downloads_are_the_holders_own(client, holder):
    other = UserFactory(email="other@example.com")
    log(other, datetime.date(2026, 4, 2), "1", "Not mine")
    log(holder, datetime.date(2026, 4, 2), "1", "Mine")
    sheet = xlsx_sheet(client.get(reverse("ledger:history_xlsx")))
    assert [row[3] for row in xlsx_rows(sheet)] == ["title", "Mine"]


# --- The staff at-risk report ----------------------------------------------------------------


@pytest.fixture
def at_risk_holders():
    """Three holders ending soon: one missing units and fee, one only the fee (CSM), one
    missing only units (fee paid), ending in 10 days."""
    zoe = holding("CSPO", TODAY + datetime.timedelta(days=30), email="zoe@example.com")
    zoe.holder.first_name, zoe.holder.last_name = "Café Scrum –", "Zoë Müller"
    zoe.holder.save()
    unpaid = holding("CSM", TODAY + datetime.timedelta(days=45), email="unpaid@example.com")
    for back in (3, 4, 5):
        log(unpaid.holder, TODAY - datetime.timedelta(days=back), "8", "Course")
    paid = holding("CSPO", TODAY + datetime.timedelta(days=10), email="paid@example.com")
    log(paid.holder, TODAY - datetime.timedelta(days=3), "2.5", "Meetup")
    fee_submit(credential=paid, reference="R-1")
    Fee.objects.filter(holder=paid.holder).update(status=Fee.Status.PAID)


def test_the_at_risk_csv_starts_with_a_byte_order_mark(client, at_risk_holders):
    client.force_login(staff_in("viewer"))
    response = client.get(reverse("staff:at_risk_csv"))
    assert response.content.startswith(BOM)
    assert response["Content-Disposition"] == 'attachment; filename="at-risk-2026-05-20.csv"'
    rows = csv_rows(response)
    assert rows[0][:2] == ["email", "name"]
    assert [row[1] for row in rows if row[0] == "zoe@example.com"] == [ACCENTED]


def test_the_at_risk_xlsx_holds_the_csv_rows_with_dates_and_units_as_values(
    client, at_risk_holders
):
    client.force_login(staff_in("viewer"))
    response = client.get(reverse("staff:at_risk_xlsx"))
    assert response["Content-Disposition"] == 'attachment; filename="at-risk-2026-05-20.xlsx"'
    rows = xlsx_rows(xlsx_sheet(response))
    paid = next(row for row in rows if row[0] == "paid@example.com")
    ends_on = datetime.date(2026, 5, 30)
    assert paid[3:10] == ["Expiring", ends_on, ends_on, 10, 2.5, 20, 17.5]
    assert [row[1] for row in rows if row[0] == "zoe@example.com"] == [ACCENTED]
    from_csv = csv_rows(client.get(reverse("staff:at_risk_csv")))
    assert [[as_csv_text(value) for value in row] for row in rows] == from_csv


@pytest.mark.parametrize(
    ("query", "emails"),
    [
        ({}, {"zoe@example.com", "unpaid@example.com", "paid@example.com"}),
        ({"missing": "units"}, {"zoe@example.com", "paid@example.com"}),
        ({"missing": "fee"}, {"zoe@example.com", "unpaid@example.com"}),
        ({"program": "CSM"}, {"unpaid@example.com"}),
        ({"within": "14"}, {"paid@example.com"}),
        ({"within": "30", "missing": "fee"}, {"zoe@example.com"}),
    ],
)
def test_the_at_risk_xlsx_applies_the_same_filters_as_the_csv(
    client, at_risk_holders, query, emails
):
    client.force_login(staff_in("viewer"))
    from_csv = csv_rows(client.get(reverse("staff:at_risk_csv"), query))
    rows = xlsx_rows(xlsx_sheet(client.get(reverse("staff:at_risk_xlsx"), query)))
    assert [[as_csv_text(value) for value in row] for row in rows] == from_csv
    assert {row[0] for row in rows[1:]} == emails


def test_the_dashboards_offer_both_downloads_with_the_filters(client, holder):
    history = client.get(reverse("ledger:history"), {"date_from": "2026-01-01"})
    html = history.content.decode()
    assert f'href="{reverse("ledger:history_xlsx")}?date_from=2026-01-01"' in html
    assert f'href="{reverse("ledger:history_csv")}?date_from=2026-01-01"' in html
    client.force_login(staff_in("viewer"))
    html = client.get(reverse("staff:dashboard"), {"missing": "fee"}).content.decode()
    assert f'href="{reverse("staff:at_risk_xlsx")}?missing=fee"' in html
    assert f'href="{reverse("staff:at_risk_csv")}?missing=fee"' in html
