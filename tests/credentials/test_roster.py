"""Roster import: every bad input class, idempotency, corrections, resuming after a failure."""

import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from credentials.accounts import invitations_request, invitations_send
from credentials.models import (
    Attendance,
    Course,
    Credential,
    Membership,
    RosterImport,
    Term,
    User,
)
from credentials.roster.apply import roster_apply
from credentials.roster.imports import (
    roster_check,
    roster_import_apply,
    roster_import_check,
)
from credentials.roster.parse import RosterFileError, roster_rows
from seu_ledger.models import Entry
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db
HEADER = (
    "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,completed"
)


def csv_bytes(*rows, header=HEADER, encoding="utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


GOOD = [
    "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
    "bob@example.com,Bob,Baker,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
    "cy@example.com,Cy,Cole,C-1,CSPO,2025-03-03,2025-03-04,8,no",
    "dee@example.com,Dee,Dale,C-2,CSM,2025-04-01,2025-04-02,14,yes",
]


def apply(data: bytes, batch_size=2):
    report = roster_check(data)
    invite = []
    summary = roster_apply(
        report, batch_size=batch_size, on_batch=lambda d, ids, s: invite.extend(ids)
    )
    invitations_send(invitation_ids=invitations_request(holder_ids=invite))
    return report, summary


def errors_of(data: bytes) -> set[tuple[int, str]]:
    return {(e.line, e.column) for e in roster_check(data).errors}


# --- Reading files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "separator", "encoding", "bom"),
    [
        (HEADER, ",", "utf-8", False),
        (HEADER, ",", "utf-8", True),
        (HEADER, ";", "utf-8", False),
        (HEADER, "\t", "utf-8", False),
        (HEADER, ";", "cp1252", False),
        (
            "Email, First Name ,LAST-NAME,Course Code,Program,"
            "Start Date,End Date,Hours Attended,Completed",
            ",",
            "utf-8",
            False,
        ),
    ],
)
def test_csv_dialects_and_encodings_are_read(header, separator, encoding, bom):
    rows = [
        header.replace(",", separator),
        "zoé@example.com,Zoé,Müller,C-9,CSPO,2025-03-03,2025-03-04,16,yes".replace(",", separator),
    ]
    data = ("\n".join(rows) + "\n").encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    (row,) = roster_rows(data)
    assert row.values["first_name"] == "Zoé"
    assert row.values["last_name"] == "Müller"
    assert row.values["course_code"] == "C-9"
    assert row.line == 2


def xlsx_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_real_dates_and_iso_text_dates():
    data = xlsx_bytes(
        [
            HEADER.split(","),
            [
                "ann@example.com",
                "Ann",
                "Able",
                "X-1",
                "CSPO",
                datetime.datetime(2025, 3, 3),  # noqa: DTZ001 - spreadsheet dates are naive
                datetime.datetime(2025, 3, 4),  # noqa: DTZ001
                16,
                "yes",
            ],
            [
                "bob@example.com",
                "Bob",
                "Baker",
                "X-1",
                "CSPO",
                "2025-03-03",
                "2025-03-04",
                "16",
                "yes",
            ],
        ]
    )
    report = roster_check(data)
    assert report.errors == []
    assert {row.end_date for row in report.rows} == {datetime.date(2025, 3, 4)}
    assert {row.hours_attended for row in report.rows} == {Decimal(16)}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (
            b"email,first_name\nann@example.com,Ann\n",
            "lacks the required column(s): last_name, course_code",
        ),
        (b"\x00\x01\x02binary\x00", "not a CSV or XLSX"),
        (b"PK\x03\x04 this is not really a zip", "damaged"),
    ],
)
def test_files_refused_whole_say_why(data, message):
    with pytest.raises(RosterFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        roster_rows(data)


def test_a_file_over_the_size_limit_is_refused_before_parsing(settings):
    settings.ROSTER_MAX_BYTES = 100
    with pytest.raises(RosterFileError, match="the limit is"):
        roster_rows(csv_bytes(*GOOD))


def test_a_file_over_the_row_limit_is_refused(settings):
    settings.ROSTER_MAX_ROWS = 3
    with pytest.raises(RosterFileError, match="more than 3 rows"):
        roster_rows(csv_bytes(*GOOD))


def test_an_xlsx_that_expands_to_an_absurd_size_is_refused(settings):
    settings.ROSTER_MAX_XLSX_EXPANDED_BYTES = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 5_000_000)
    assert len(buffer.getvalue()) < 50_000  # tiny on disk
    with pytest.raises(RosterFileError, match="expands to"):
        roster_rows(buffer.getvalue())


# --- Validating rows ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (",Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,16,yes", "email", "missing"),
        (
            "ann-at-example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
            "email",
            "not a valid email",
        ),
        ("ann@example.com,,Able,C-1,CSPO,2025-03-03,2025-03-04,16,yes", "first_name", "missing"),
        (
            "ann@example.com,Ann,Able,C-1,CSXX,2025-03-03,2025-03-04,16,yes",
            "program",
            "Unknown program",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-05,2025-03-04,16,yes",
            "end_date",
            "ends before it starts",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,04/03/2025,16,yes",
            "end_date",
            "not a date",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,sixteen,yes",
            "hours_attended",
            "not a number",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,-2,no",
            "hours_attended",
            "negative",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,12,yes",
            "hours_attended",
            "needs at least 16",
        ),
        (
            "ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,16,maybe",
            "completed",
            "not yes or no",
        ),
        (
            "ann@example.com,Ann,Able,C-7,CSPO,2025-03-03,,16,yes",
            "end_date",
            "needed to create course",
        ),
    ],
)
def test_each_bad_row_is_reported_with_line_column_and_reason(row, column, message):
    report = roster_check(csv_bytes(GOOD[1], row))
    (error,) = report.errors
    assert (error.line, error.column) == (3, column)
    assert message in error.message
    assert [r.email for r in report.rows] == ["bob@example.com"]
    assert not User.objects.exists()  # validation writes nothing


def test_a_row_repeated_in_the_file_is_reported_on_the_repeat():
    report = roster_check(csv_bytes(GOOD[0], GOOD[1], GOOD[0].replace("ann@", "ANN@")))
    assert [(e.line, e.column) for e in report.errors] == [(4, "email")]
    assert "Repeats line 2" in report.errors[0].message


def test_course_details_that_differ_within_the_file_are_reported():
    report = roster_check(csv_bytes(GOOD[0], GOOD[1].replace("2025-03-04", "2025-03-05")))
    assert [(e.line, e.column) for e in report.errors] == [(3, "end_date")]


def test_rows_that_conflict_with_stored_data_are_reported():
    Course.objects.create(
        code="C-1",
        program=program("CSM"),
        start_date=datetime.date(2025, 3, 3),
        end_date=datetime.date(2025, 3, 4),
        hours=Decimal(16),
    )
    ann = UserFactory(email="dee@example.com")
    Membership.objects.create(holder=ann, issuer=program("CSM").issuer, member_id="SA-1")
    row = GOOD[3] + ",SA-2"
    header = HEADER + ",member_id"
    report = roster_check(csv_bytes(GOOD[0] + ",", row, header=header))
    assert {(e.line, e.column) for e in report.errors} == {(2, "program"), (3, "member_id")}


def test_totals_count_what_the_file_would_do():
    UserFactory(email="bob@example.com", first_name="Bob", last_name="Baker")
    report = roster_check(csv_bytes(*GOOD))
    assert report.totals == {
        "rows": 4,
        "valid_rows": 4,
        "rows_with_errors": 0,
        "new_holders": 3,
        "new_courses": 2,
        "attendances": 4,
        "credentials_to_issue": 3,
        "unchanged_rows": 0,
    }


# --- Applying ----------------------------------------------------------------------------


def test_applying_creates_holders_courses_attendance_credentials_units_and_invitations():
    _, summary = apply(csv_bytes(*GOOD))
    assert summary["holders_created"] == 4
    assert summary["courses_created"] == 2
    assert summary["credentials_issued"] == 3
    ann = User.objects.get(email="ann@example.com")
    assert not ann.has_usable_password()
    credential = Credential.objects.get(holder=ann)
    assert credential.issued_on == datetime.date(2025, 3, 4)
    assert credential.terms.get().ends_on == datetime.date(2027, 3, 4)
    assert sorted(Entry.objects.filter(holder=ann).values_list("hours", flat=True)) == [8, 8]
    cy = User.objects.get(email="cy@example.com")
    assert not Credential.objects.filter(holder=cy).exists()  # attended, not completed:
    assert not Entry.objects.filter(holder=cy).exists()  # recorded, and issues nothing
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ["ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com"]
    )
    assert all(m.alternatives for m in mail.outbox)


def test_the_same_file_twice_changes_nothing_and_invites_nobody_again():
    apply(csv_bytes(*GOOD))
    counts = lambda: [m.objects.count() for m in (User, Course, Attendance, Credential, Entry)]  # noqa: E731
    before, sent = counts(), len(mail.outbox)
    versions = dict(User.objects.values_list("email", "ledger_version"))
    report, summary = apply(csv_bytes(*GOOD))
    assert counts() == before
    # Nothing changed, so every holder's cached dashboard stays valid.
    assert dict(User.objects.values_list("email", "ledger_version")) == versions
    assert len(mail.outbox) == sent
    assert report.totals["unchanged_rows"] == 4
    assert not report.has_changes
    assert +summary == {}


def test_an_invitation_is_owed_once_and_marked_sent_only_once_it_went(settings):
    from credentials.models import Invitation
    from credentials.selectors import invitations_waiting

    settings.EMAIL_BACKEND = "tests.seu_ledger.test_reminders.RefusingBackend"
    report = roster_check(csv_bytes(*GOOD))
    invite = []
    roster_apply(report, batch_size=10, on_batch=lambda d, ids, s: invite.extend(ids))
    waiting = invitations_request(holder_ids=invite)
    assert invitations_request(holder_ids=invite) == waiting  # asked twice, owed once
    assert Invitation.objects.count() == 4
    with pytest.raises(Exception, match="451"):
        invitations_send(invitation_ids=waiting)
    # The mail server refused: nobody is marked invited, every invitation still waits.
    assert not User.objects.filter(invited_at__isnull=False).exists()
    assert set(Invitation.objects.values_list("sent_at", "attempts", "claim_token")) == {
        (None, 1, "")
    }
    assert "451" in Invitation.objects.first().last_error
    later = timezone.now() + settings.CLAIM_EXPIRES + datetime.timedelta(seconds=1)
    assert invitations_waiting(now=later) == sorted(waiting)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # One holder signed up meanwhile: their invitation is dropped, not sent.
    User.objects.filter(email="dee@example.com").update(state=User.State.ACTIVE)
    assert invitations_send(invitation_ids=waiting) == 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 3
    assert invitations_send(invitation_ids=waiting) == 0  # sent ones are not sent again
    assert len(mail.outbox) == 3
    assert User.objects.filter(invited_at__isnull=False).count() == 3
    assert invitations_waiting(now=later) == []


def test_an_invitation_the_mail_server_keeps_refusing_is_tried_once_a_day_after_twenty():
    from credentials.models import Invitation
    from credentials.selectors import invitations_waiting

    holder = UserFactory(state=User.State.INVITED)
    [waiting] = invitations_request(holder_ids=[holder.pk])
    tried = timezone.now()
    Invitation.objects.update(attempts=20, claimed_at=tried, last_error="451 try later")
    assert invitations_waiting(now=tried + datetime.timedelta(hours=23)) == []
    assert invitations_waiting(now=tried + datetime.timedelta(hours=25)) == [waiting]


def test_a_corrected_file_updates_in_place():
    apply(csv_bytes(*GOOD))
    corrected = [
        GOOD[0].replace(",16,yes", ",20,yes"),
        GOOD[1],
        GOOD[2].replace(",8,no", ",12,no"),
        GOOD[3].replace("Dee,Dale", "Dee,Dalton"),
    ]
    report, summary = apply(csv_bytes(*corrected))
    assert report.totals["unchanged_rows"] == 1
    cy = User.objects.get(email="cy@example.com")
    assert Attendance.objects.get(holder=cy).hours_attended == Decimal(12)
    ann = User.objects.get(email="ann@example.com")
    live = Entry.objects.filter(holder=ann, voided_at__isnull=True)
    assert sorted(live.values_list("hours", flat=True)) == [10, 10]
    assert Entry.objects.filter(holder=ann, voided_at__isnull=False).count() == 2
    assert Course.objects.get(code="C-1").hours == Decimal(20)
    assert User.objects.get(email="dee@example.com").last_name == "Dalton"
    assert User.objects.count() == 4
    assert Credential.objects.count() == 3
    assert summary["attendances_updated"] == 2


def test_a_second_credential_from_a_roster_aligns_the_renewal_dates():
    UserFactory(email="ann@example.com")
    apply(csv_bytes(GOOD[0]))
    apply(csv_bytes("ann@example.com,Ann,Able,C-3,CSM,2025-09-01,2025-09-02,14,yes"))
    ends = {
        c.program.code: c.terms.get().ends_on
        for c in Credential.objects.filter(holder__email="ann@example.com")
    }
    assert ends == {"CSPO": datetime.date(2027, 9, 2), "CSM": datetime.date(2027, 9, 2)}


def test_two_credentials_of_a_new_holder_in_one_roster_end_together():
    apply(
        csv_bytes(
            "eve@example.com,Eve,Eck,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
            "eve@example.com,Eve,Eck,C-3,CSM,2025-09-01,2025-09-02,14,yes",
        ),
        batch_size=10,
    )
    terms = {
        t.credential.program.code: t
        for t in Term.objects.filter(credential__holder__email="eve@example.com")
    }
    assert {code: t.ends_on for code, t in terms.items()} == {
        "CSPO": datetime.date(2027, 9, 2),
        "CSM": datetime.date(2027, 9, 2),
    }
    assert terms["CSPO"].aligned_from == datetime.date(2027, 3, 4)
    # The audit trail has the CSPO term as issued, then as aligned.
    assert [h.ends_on for h in terms["CSPO"].history.order_by("history_id")] == [
        datetime.date(2027, 3, 4),
        datetime.date(2027, 9, 2),
    ]


def _block_inserts_for(email: str):
    """A database trigger that refuses one holder: a failure from outside our code."""
    table = User._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_holder() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.email = '{email}' THEN RAISE EXCEPTION 'disk full'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse_holder BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_holder()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse_holder BEFORE INSERT ON {table} "
                f"WHEN NEW.email = '{email}' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )


def _unblock():
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TRIGGER refuse_holder ON {User._meta.db_table}"
            if connection.vendor == "postgresql"
            else "DROP TRIGGER refuse_holder"
        )
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION refuse_holder()")


def test_an_import_that_dies_mid_way_finishes_on_a_rerun_without_duplicates(settings):
    settings.ROSTER_BATCH_ROWS = 2
    data = csv_bytes(*GOOD)
    record = roster_import_check(data=data, name="march.csv", uploaded_by=None)
    record.status = RosterImport.Status.QUEUED
    record.save()
    _block_inserts_for("dee@example.com")  # in the second batch
    with pytest.raises(Exception, match="disk full"):
        roster_import_apply(import_id=record.pk, token="task-1#0")
    record.refresh_from_db()
    assert (record.status, record.rows_done) == (RosterImport.Status.APPLYING, 2)
    assert User.objects.count() == 2  # the first batch is in, whole
    _unblock()
    # Another run (a second task, or a copy of the same message) finds the import held and
    # leaves it alone...
    for other in ("task-2#0", "task-1#0"):
        assert roster_import_apply(import_id=record.pk, token=other).status == "applying"
    assert User.objects.count() == 2
    # ...while the retry of the task that failed takes over and finishes it.
    record = roster_import_apply(import_id=record.pk, token="task-1#1")
    assert record.status == RosterImport.Status.DONE
    assert record.rows_done == 4
    assert User.objects.count() == 4
    assert Credential.objects.count() == 3
    assert Entry.objects.count() == 6  # two course days for each of the three completions
    assert record.summary["holders_created"] == 4


def test_a_failed_import_can_be_run_again_by_staff(settings):
    from credentials.roster.imports import roster_import_fail, roster_import_queue

    record = roster_import_check(data=csv_bytes(*GOOD), name="march.csv", uploaded_by=None)
    roster_import_fail(import_id=record.pk, token="", failure=RuntimeError("worker lost"))
    record.refresh_from_db()
    assert record.status == RosterImport.Status.FAILED
    assert "worker lost" in record.failure
    roster_import_queue(record=record, only_valid_rows=False)
    record.refresh_from_db()
    assert record.status == RosterImport.Status.QUEUED
    record = roster_import_apply(import_id=record.pk, token="again")
    assert record.status == RosterImport.Status.DONE
    assert User.objects.count() == 4


# --- The command -------------------------------------------------------------------------


def test_import_roster_dry_run_writes_nothing(tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(*GOOD))
    call_command("import_roster", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "new holders 4" in out
    assert "Dry run: nothing was written." in out
    assert not User.objects.exists()


def test_import_roster_rejects_a_file_with_errors_with_a_non_zero_exit(tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(GOOD[0], "broken,Bo,B,C-1,CSPO,2025-03-03,2025-03-04,16,yes"))
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_roster", str(path))
    assert "line 3, email:" in capsys.readouterr().out
    assert not User.objects.exists()


def test_import_roster_imports_and_says_when_nothing_changed(tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(*GOOD))
    call_command("import_roster", str(path))
    assert "credentials issued 3" in capsys.readouterr().out
    call_command("import_roster", str(path))
    assert "nothing changed" in capsys.readouterr().out


# --- Hostile and tricky files (found in review) ---------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            csv_bytes(
                "a@example.com,A," + "x" * 200_000 + ",C-1,CSPO,2025-03-03,2025-03-04,16,yes"
            ),
            "cannot be read as CSV",
        ),
        (csv_bytes(*GOOD) + b"x" * 5000 + b"\x00tail", "binary data"),
    ],
)
def test_hostile_csv_files_are_refused_whole(data, message):
    with pytest.raises(RosterFileError, match=message):
        roster_rows(data)


def test_a_byte_order_mark_on_windows_1252_text_is_still_read():
    data = b"\xef\xbb\xbf" + csv_bytes(
        "j\xe9r\xf4me@example.com,J\xe9r\xf4me,D,C-1,CSPO,2025-03-03,2025-03-04,16,yes".encode(
            "latin-1"
        ).decode("latin-1"),
        encoding="cp1252",
    )
    (row,) = roster_rows(data)
    assert row.values["first_name"] == "Jérôme"


def test_an_xlsx_with_a_far_away_cell_is_refused_quickly(settings):
    settings.ROSTER_MAX_ROWS = 1000
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(
        ["ann@example.com", "Ann", "A", "X-1", "CSPO", "2025-03-03", "2025-03-04", 16, "yes"]
    )
    sheet["XFD200000"] = "far"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(RosterFileError, match="blank ones"):
        roster_rows(buffer.getvalue())


@pytest.mark.parametrize(
    ("rows", "line", "column"),
    [
        # one person, two names
        (
            [GOOD[0], GOOD[0].replace("C-1", "C-9").replace("Ann,Able", "Anne,Able")],
            3,
            "first_name",
        ),
        # one person, two member ids with the same issuer
        ([GOOD[0] + ",111", GOOD[0].replace("C-1", "C-9") + ",222"], 3, "member_id"),
        # an email longer than the column
        (["a" * 250 + "@example.com,A,B,C-1,CSPO,2025-03-03,2025-03-04,16,yes"], 2, "email"),
        # 1000 hours do not fit
        (["ann@example.com,Ann,Able,C-1,CSPO,2025-03-03,2025-03-04,1000,yes"], 2, "hours_attended"),
    ],
)
def test_rows_that_would_fail_when_applied_are_caught_when_checked(rows, line, column):
    header = HEADER + ",member_id" if any(r.count(",") == 9 for r in rows) else HEADER
    rows = [r if r.count(",") == header.count(",") else r + "," for r in rows]
    report = roster_check(csv_bytes(*rows, header=header))
    assert (line, column) in {(e.line, e.column) for e in report.errors}, report.errors


def test_course_codes_in_any_letter_case_are_one_course():
    apply(csv_bytes(GOOD[0].replace("C-1", "c-1"), GOOD[1]))
    assert Course.objects.count() == 1
    apply(csv_bytes(GOOD[0]))
    ann = User.objects.get(email="ann@example.com")
    assert Attendance.objects.filter(holder=ann).count() == 1
    assert Entry.objects.filter(holder=ann).count() == 2


def test_a_blank_start_date_keeps_the_stored_one():
    apply(csv_bytes(*GOOD))
    report, _ = apply(csv_bytes(GOOD[0].replace("2025-03-03", "")))
    assert report.errors == []
    course = Course.objects.get(code="C-1")
    assert (course.start_date, course.end_date) == (
        datetime.date(2025, 3, 3),
        datetime.date(2025, 3, 4),
    )


def test_completion_on_a_stored_course_that_ends_in_the_future_is_refused():
    apply(csv_bytes("ann@example.com,Ann,Able,C-9,CSPO,2099-01-01,2099-01-02,16,no"))
    report = roster_check(csv_bytes("ann@example.com,Ann,Able,C-9,CSPO,,,16,yes"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "end_date")]


def test_text_that_looks_like_null_is_stored_as_text():
    apply(csv_bytes(r"nul@example.com,\N,Null,C-1,CSPO,2025-03-03,2025-03-04,16,yes"))
    assert User.objects.get(email="nul@example.com").first_name == r"\N"


def test_a_roster_completion_verifies_a_claimed_credential():
    from credentials.services import credential_claim

    ann = UserFactory(email="ann@example.com", first_name="Ann", last_name="Able")
    claimed = credential_claim(
        holder=ann,
        program=program("CSPO"),
        issued_on=datetime.date(2025, 3, 4),
        certificate_number="9",
    )
    _, summary = apply(csv_bytes(GOOD[0]))
    claimed.refresh_from_db()
    assert claimed.verified
    assert claimed.source_course.code == "C-1"
    assert summary["claims_verified"] == 1


def test_a_corrected_course_date_moves_the_credential_term_and_units():
    apply(csv_bytes(GOOD[0]))
    moved = GOOD[0].replace("2025-03-03,2025-03-04", "2025-03-10,2025-03-11")
    _, summary = apply(csv_bytes(moved))
    ann = User.objects.get(email="ann@example.com")
    credential = Credential.objects.get(holder=ann)
    assert credential.issued_on == datetime.date(2025, 3, 11)
    term = credential.terms.get()
    assert (term.starts_on, term.ends_on) == (
        datetime.date(2025, 3, 11),
        datetime.date(2027, 3, 11),
    )
    live = Entry.objects.filter(holder=ann, voided_at__isnull=True)
    assert sorted(live.values_list("activity_date", flat=True)) == [
        datetime.date(2025, 3, 10),
        datetime.date(2025, 3, 11),
    ]
    assert summary["credentials_redated"] == 1


def test_the_problems_csv_names_who_and_neutralises_formulas(admin_client):
    from django.urls import reverse

    record = RosterImport.objects.create(
        original_name="march.csv",
        errors=[
            {
                "line": 3,
                "column": "email",
                "message": "=HYPERLINK(1)",
                "email": "zoë@example.com",
                "name": "Zoë Müller",
            }
        ],
    )
    body = admin_client.get(reverse("roster:errors", args=[record.pk])).content
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    assert body.decode("utf-8-sig").splitlines() == [
        "line,email,name,column,problem",
        "3,zoë@example.com,Zoë Müller,email,'=HYPERLINK(1)",
    ]


def test_checking_a_roster_of_known_holders_costs_the_same_queries_for_few_or_many():
    from django.test.utils import CaptureQueriesContext

    def rows(count):
        return [
            f"p{n}@example.com,Pat,Number{n},C-9,CSPO,2025-03-03,2025-03-04,16,yes"
            for n in range(count)
        ]

    apply(csv_bytes(*rows(20)), batch_size=50)
    counts = []
    for count in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            report = roster_check(csv_bytes(*rows(count)))
        assert report.totals["unchanged_rows"] == count
        counts.append(len(queries))
    assert counts[0] == counts[1]
