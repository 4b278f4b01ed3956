"""Rosters as trainers really save them: encodings, sheet sizes, headers, invisible characters,
blank-looking rows, absurd rows; each built here as a small file."""

import codecs
import io
import re
import tracemalloc
import zipfile

import openpyxl
import pytest
from django.core import mail
from django.urls import reverse

from credentials.models import Credential, Invitation, RosterImport, User
from credentials.roster.imports import roster_import_check, roster_import_queue
from credentials.roster.parse import RosterFileError, roster_read, roster_rows
from tests.credentials.test_roster import GOOD, HEADER, apply, csv_bytes

pytestmark = pytest.mark.django_db

ROW = "{email},{first},{last},C-1,CSPO,2025-03-03,2025-03-04,16,yes"


def row(email, first, last="Garcia"):
    return ROW.format(email=email, first=first, last=last)


COLUMN_NAMES = HEADER.split(",")


def xlsx(rows, *, header=COLUMN_NAMES, dimension: str | None = None) -> bytes:
    """An XLSX of `rows`; `dimension` rewrites the size the sheet declares, as some programs
    write it wrongly."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    if dimension is None:
        return out.getvalue()
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    rewritten = io.BytesIO()
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                declared = f'<dimension ref="{dimension}"/>'.encode()
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', declared, data)
                assert f'ref="{dimension}"'.encode() in data
            target.writestr(item, data)
    return rewritten.getvalue()


def cells(text_row: str) -> list:
    return text_row.split(",")


# --- Encodings -------------------------------------------------------------------------------


def test_a_file_mixing_utf8_and_windows_1252_is_refused_naming_the_lines():
    utf8 = [row("jose@example.com", "José"), row("zoe@example.com", "Zoë", "Müller")]
    legacy = row("ana@example.com", "Ana María", "García")
    data = "\n".join([HEADER, *utf8]).encode("utf-8") + b"\n" + legacy.encode("cp1252") + b"\n"
    with pytest.raises(RosterFileError) as refused:
        roster_rows(data)
    message = str(refused.value)
    assert "lines 2 and 3 are UTF-8, line 4 is not" in message
    assert "Ana María" in message  # how the odd line reads in Windows-1252, for staff
    record = roster_import_check(data=data, name="mixed.csv", uploaded_by=None)
    assert record.status == RosterImport.Status.REJECTED
    assert not User.objects.exists()  # and no "JosÃ©" anywhere


def test_a_windows_1252_file_is_read_as_such_and_staff_see_the_names_as_read():
    data = csv_bytes(row("jose@example.com", "José", "García"), encoding="cp1252")
    record = roster_import_check(data=data, name="legacy.csv", uploaded_by=None)
    assert record.status == RosterImport.Status.VALIDATED
    assert record.read_as["encoding"] == "cp1252"
    assert record.read_as["samples"] == [[2, "José García <jose@example.com>"]]
    assert record.read_as["accented_rows"] == 1
    roster_import_queue(record=record, only_valid_rows=False)
    from credentials.roster.imports import roster_import_apply

    roster_import_apply(import_id=record.pk)
    assert User.objects.get().get_full_name() == "José García"


def test_staff_read_a_file_again_in_the_encoding_it_was_saved_in(admin_client):
    # A Polish name saved as Windows-1250 reads as "£ukasz" in Windows-1252.
    data = csv_bytes(row("lukasz@example.com", "Łukasz", "Żółć"), encoding="cp1250")
    record = roster_import_check(data=data, name="pl.csv", uploaded_by=None)
    assert "£ukasz" in record.read_as["samples"][0][1]
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "Read the file in another encoding" in page
    assert "Windows-1250 (Central European)" in page
    admin_client.post(reverse("roster:recheck", args=[record.pk]), {"encoding": "cp1250"})
    record.refresh_from_db()
    assert record.status == RosterImport.Status.VALIDATED
    assert record.encoding == "cp1250"
    assert record.read_as["samples"][0][1] == "Łukasz Żółć <lukasz@example.com>"


def test_bytes_no_encoding_can_read_are_refused_naming_the_line():
    data = csv_bytes(row("a@example.com", "A"), encoding="utf-8") + b"b@example.com,B\x81,C,C-1\n"
    with pytest.raises(RosterFileError, match=r"not Windows-1252.*\(line 3\)"):
        roster_rows(data)


def test_excel_unicode_text_is_read():
    text = "\n".join([HEADER, row("zoe@example.com", "Zoë", "Müller")]).replace(",", "\t")
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    (only,) = roster_rows(data)
    assert only.values["first_name"] == "Zoë"


# --- XLSX sizes ------------------------------------------------------------------------------

FIVE = [cells(row(f"p{n}@example.com", f"P{n}")) for n in range(5)]


@pytest.mark.parametrize("dimension", ["A1", "A1:I3"])
def test_every_row_of_an_xlsx_is_read_whatever_size_it_declares(dimension):
    rows = roster_rows(xlsx(FIVE, dimension=dimension))
    assert [r.values["email"] for r in rows] == [f"p{n}@example.com" for n in range(5)]


def test_a_row_with_more_cells_than_a_roster_has_is_refused(settings):
    wide = cells(row("a@example.com", "A")) + ["x"] * 300
    with pytest.raises(RosterFileError, match="Line 2 of the sheet has more than 200 cells"):
        roster_rows(xlsx([wide]))
    with pytest.raises(RosterFileError, match="Line 2 has 309 cells"):
        roster_rows(csv_bytes(",".join(wide)))


def test_a_row_of_twelve_million_cells_is_refused_in_bounded_time_and_memory():
    """The 371 KB file that kept a web process busy for minutes: one row, twelve million
    cells. It is refused after reading the first 201 cells."""
    book = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx([]))) as source,
        zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.partition(b"</row>")
                data = head + b'</row><row r="2">' + b"<c/>" * 12_000_000 + b"</row>" + tail
            target.writestr(item.filename, data)
    data = book.getvalue()
    assert len(data) < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(RosterFileError, match="more than 200 cells"):
            roster_read(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


# --- Headers ---------------------------------------------------------------------------------


def test_a_header_naming_a_column_twice_is_refused_naming_both():
    data = csv_bytes(row("a@example.com", "A") + ",b@example.com", header=HEADER + ",Email")
    with pytest.raises(RosterFileError, match=r"email in columns 1 \(“email”\) and 10"):
        roster_rows(data)
    spelled = HEADER.replace("email", "E-mail") + ",Email Address"
    with pytest.raises(RosterFileError, match="more than once"):
        roster_rows(csv_bytes(row("a@example.com", "A") + ",b@example.com", header=spelled))
    with pytest.raises(RosterFileError, match=r"email in columns A \(“email”\) and J \(“Email”\)"):
        roster_rows(
            xlsx([cells(row("a@example.com", "A")) + ["b"]], header=[*HEADER.split(","), "Email"])
        )


def test_common_other_names_of_our_columns_are_understood():
    header = "Email Address,First Name,Surname,Course,program,start_date,end_date,hours,completed"
    (only,) = roster_rows(csv_bytes(row("a@example.com", "Ann"), header=header))
    assert only.values["email"] == "a@example.com"
    assert only.values["last_name"] == "Garcia"
    assert only.values["hours_attended"] == "16"


# --- Invisible characters and blank-looking rows ----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_invisible_characters_around_an_address_do_not_make_a_second_holder(fmt):
    apply(csv_bytes(row("ann@example.com", "Ann", "Able")))
    pasted = [row("ann@example.com\u200b", "\u200bAnn\u2060", "Able\ufeff")]
    data = csv_bytes(*pasted) if fmt == "csv" else xlsx([cells(pasted[0])])
    report, _ = apply(data)
    assert report.errors == []
    assert list(User.objects.values_list("email", "first_name", "last_name")) == [
        ("ann@example.com", "Ann", "Able")
    ]
    assert report.totals["unchanged_rows"] == 1


def test_names_are_cleaned_of_control_and_format_characters():
    name = "Zo\u200bë\u202e\u00ad"  # a zero-width space, a right-to-left override, a soft hyphen
    report, _ = apply(csv_bytes(row("zoe@example.com", name, "Mül\u0007ler")))
    assert report.errors == []
    assert User.objects.get().get_full_name() == "Zoë Müller"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_rows_that_only_look_blank_are_skipped_in_both_formats(fmt):
    good = cells(row("a@example.com", "A"))
    blank_looking = [[" "] + [""] * 8, ["\u200b", "", "\t"] + [""] * 6]
    if fmt == "csv":
        data = csv_bytes(",".join(good), *(",".join(r) for r in blank_looking))
    else:
        data = xlsx([good, *blank_looking])
    report, _ = apply(data)
    assert report.errors == []
    assert report.totals["rows"] == 1


# --- Checked in the worker, never in the web request ------------------------------------------


def test_an_upload_is_checked_by_a_worker_and_the_page_says_checking(
    admin_client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    import credentials.roster.imports as imports

    settings.ROSTER_CHECK_IN_WORKER = True
    read = []
    monkeypatch.setattr(imports, "roster_stream", lambda *a, **k: read.append(1) or 1 / 0)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            reverse("roster:upload"),
            {"file": SimpleUploadedFile("march.csv", csv_bytes(*GOOD))},
        )
    assert read == []  # the web request parsed nothing
    assert len(queued) == 1
    record = RosterImport.objects.get()
    assert record.status == RosterImport.Status.CHECKING
    page = admin_client.get(response["Location"]).content.decode()
    assert "Checking the file…" in page
    assert 'data-status="checking"' in page
    monkeypatch.undo()
    from credentials.roster.imports import roster_import_run_check

    roster_import_run_check(import_id=record.pk)
    record.refresh_from_db()
    assert (record.status, record.rows_total) == (RosterImport.Status.VALIDATED, 4)


# --- The staff pages -------------------------------------------------------------------------


def test_each_problem_names_its_row_and_the_rejected_rows_come_back_as_a_file_to_fix(
    admin_client,
):
    bad = "not-an-address,Eve,Evans,C-1,CSPO,2025-03-03,2025-03-04,16,yes"
    record = roster_import_check(data=csv_bytes(*GOOD, bad), name="march.csv", uploaded_by=None)
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert '<td data-label="Email">not-an-address</td><td data-label="Name">Eve Evans</td>' in page
    assert "Download the 1 row to fix and upload again" in page
    body = admin_client.get(reverse("roster:rejected", args=[record.pk])).content
    assert body.startswith(codecs.BOM_UTF8)
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER + ",problem"
    assert lines[1].startswith(bad + ",email: “not-an-address” is not a valid email address.")
    # Fixed and uploaded again, the file is a roster like any other (its note column ignored).
    fixed = body.replace(b"not-an-address", b"eve@example.com")
    again = roster_import_check(data=fixed, name="march-fixed.csv", uploaded_by=None)
    assert (again.status, again.errors, again.rows_total) == (RosterImport.Status.VALIDATED, [], 1)


def test_a_checked_upload_can_be_discarded_and_its_file_is_deleted(
    admin_client, django_capture_on_commit_callbacks
):
    record = roster_import_check(data=csv_bytes(*GOOD), name="march.csv", uploaded_by=None)
    storage, name = record.file.storage, record.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("roster:discard", args=[record.pk]), follow=True)
    page = response.content.decode()
    assert "Discarded: nothing from this file was imported" in page
    record.refresh_from_db()
    assert record.status == RosterImport.Status.DISCARDED
    assert not storage.exists(name)
    response = admin_client.post(reverse("roster:apply", args=[record.pk]), follow=True)
    assert "This roster was discarded" in response.content.decode()
    assert not User.objects.filter(is_staff=False).exists()


def test_a_re_upload_that_changes_nothing_says_so_and_offers_no_import(admin_client):
    apply(csv_bytes(*GOOD))
    record = roster_import_check(data=csv_bytes(*GOOD), name="again.csv", uploaded_by=None)
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "importing this file would change nothing" in page
    assert reverse("roster:apply", args=[record.pk]) not in page
    assert "Discard this upload…" in page


def test_after_applying_the_page_and_history_say_what_was_done_in_plain_words(admin_client):
    from credentials.roster.imports import roster_import_apply

    bad = "not-an-address,Eve,Evans,C-1,CSPO,2025-03-03,2025-03-04,16,yes"
    record = roster_import_check(data=csv_bytes(*GOOD, bad), name="march.csv", uploaded_by=None)
    roster_import_queue(record=record, only_valid_rows=True)
    roster_import_apply(import_id=record.pk)
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "What the import did" in page
    assert "What the file would do" not in page
    assert "Rows skipped for their problems" in page
    assert "Credentials issued" in page
    history = admin_client.get(reverse("roster:history")).content.decode()
    assert "Holders added: 4" in history
    assert "Rows skipped for their problems: 1" in history
    for jargon in ("Memberships created", "Units entries", "units_entries", "memberships_created"):
        assert jargon not in page
        assert jargon not in history


def test_the_invitation_names_the_credential_the_course_earned(settings):
    apply(csv_bytes(*GOOD))
    [ann] = [m for m in mail.outbox if m.to == ["ann@example.com"]]
    assert ann.subject == "Your CSPO is in CSPO Tracker: set your password"
    assert "Certified Scrum Product Owner (CSPO), issued 4 Mar 2025" in ann.body
    assert "valid until 4 Mar 2027" in ann.body
    [cy] = [m for m in mail.outbox if m.to == ["cy@example.com"]]  # attended, not completed
    assert cy.subject == "Your CSPO Tracker account is ready"
    assert "recorded your attendance at the CSPO course" in cy.body
    assert Credential.objects.filter(holder__email="ann@example.com").exists()
    assert Invitation.objects.filter(sent_at__isnull=False).count() == 4


def test_a_file_to_fix_fixed_wrongly_comes_back_with_only_its_new_problems(admin_client):
    bad = "eve@example.com,Eve,Evans,C-1,CSPO,2025-03-03,2025-03-04,15.3,yes"
    first = roster_import_check(data=csv_bytes(*GOOD, bad), name="m.csv", uploaded_by=None)
    to_fix = admin_client.get(reverse("roster:rejected", args=[first.pk])).content
    assert "“15.3” hours: hours go in steps of 0.25." in to_fix.decode("utf-8-sig")
    # Fixed to a valid step, but too few hours for a completion: a new problem.
    second = roster_import_check(
        data=to_fix.replace(b"15.3", b"15.25"), name="m-fixed.csv", uploaded_by=None
    )
    again = admin_client.get(reverse("roster:rejected", args=[second.pk])).content
    header, line = again.decode("utf-8-sig").splitlines()
    assert header == HEADER + ",problem"
    assert line.endswith(
        "hours_attended: Marked completed with 15.25 hours; CSPO needs at least 16."
    )
    assert "steps of 0.25" not in line


def test_reading_a_file_again_in_another_encoding_says_how_it_was_read(admin_client):
    marked = codecs.BOM_UTF8 + csv_bytes(row("ana@example.com", "Ana María"), encoding="cp1252")
    mixed = marked + row("jose@example.com", "José").encode() + b"\n"
    record = roster_import_check(data=mixed, name="mixed.csv", uploaded_by=None)
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "mixes two encodings" in page
    assert '<details class="mb-3 roster-recheck" open>' in page
    admin_client.post(reverse("roster:recheck", args=[record.pk]), {"encoding": "cp1252"})
    record.refresh_from_db()
    # Read as Windows-1252, the UTF-8 mark is no part of the header: the header is fine, and
    # the page says which encoding gave which reading.
    assert record.status == RosterImport.Status.VALIDATED, record.errors
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "Read as CSV in Windows-1252 (Western European)." in page
    assert "JosÃ©" in page  # the preview shows what this reading would store


def test_the_encoding_choice_is_offered_where_it_can_help_only(admin_client):
    header_problem = roster_import_check(
        data=csv_bytes(row("a@example.com", "A"), header=HEADER + ",Email"),
        name="h.csv",
        uploaded_by=None,
    )
    page = admin_client.get(reverse("roster:detail", args=[header_problem.pk])).content.decode()
    assert "Read the file in another encoding" not in page
    workbook = roster_import_check(
        data=xlsx([cells(row("zoe@example.com", "Zoë", "Müller"))]), name="z.xlsx", uploaded_by=None
    )
    page = admin_client.get(reverse("roster:detail", args=[workbook.pk])).content.decode()
    assert "Read the file in another encoding" not in page
    assert 'Line 2: <span lang="">Zoë Müller &lt;zoe@example.com&gt;</span>' in page


def test_staff_see_how_many_more_accented_rows_there_are(admin_client):
    rows = [row(f"p{n}@example.com", f"Zoë{chr(97 + n)}") for n in range(11)]
    record = roster_import_check(data=csv_bytes(*rows), name="z.csv", uploaded_by=None)
    assert record.read_as["accented_rows"] == 11
    page = admin_client.get(reverse("roster:detail", args=[record.pk])).content.decode()
    assert "…and 3 more rows like these." in page
    history = admin_client.get(reverse("roster:history")).content.decode()
    assert 'aria-current="page" href="/activities/"' not in history  # not the holder's History
