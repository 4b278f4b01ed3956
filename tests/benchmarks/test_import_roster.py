"""Benchmark: a 50,000-row roster over 2,000 courses imported into PostgreSQL.

(Named so that it runs before the reminder scan: after that benchmark's 300,000 rolled-back
rows in the same database, the same import measured two to four times slower while the COPY
baseline did not move.)

Run with `make bench`. The import (`roster_check`, then `roster_apply`) runs in a fresh
process (`roster_import_process`), which measures its time, the SQL statements it issues and
its memory: how far the process's resident set rose above what it held just before the
import (see that module for how). The baseline, measured in the same run: PostgreSQL COPY
writing the same rows (holders, courses, attendances, credentials, terms, ledger entries) and
their audit trail into the same tables. Prints seconds for each, the ratio, the memory increase
and the statements, and records them for the table at the end of `make bench`
(`summary.record`). Figures are printed, never asserted.
"""

import csv
import datetime
import io
import json
import os
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from credentials.dates import add_months
from credentials.models import Attendance, Course, Credential, Program, Term, User
from credentials.roster.imports import roster_check
from seu_ledger.models import Category, Entry
from tests.benchmarks.summary import record
from tests.conftest import PROJECT_ROOT, database_url_for_subprocess

ROWS = 50_000
COURSES = 2_000
START = datetime.date(2025, 3, 3)


def roster_csv() -> bytes:
    """25 attendees a course; one in ten attends a second course (a CSM after a CSPO)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "email",
            "first_name",
            "last_name",
            "course_code",
            "course_title",
            "program",
            "trainer",
            "start_date",
            "end_date",
            "hours_attended",
            "completed",
        ]
    )
    per_course = ROWS // COURSES
    for index in range(ROWS):
        course = index // per_course
        program = "CSPO" if course % 2 == 0 else "CSM"
        # one in ten attended the previous course too (a CSM after a CSPO, or the other way)
        person = index if index % 10 or course == 0 else index - per_course
        start = START + datetime.timedelta(days=(course % 300))
        writer.writerow(
            [
                f"holder{max(person, 0)}@example.com",
                f"First{person}",
                f"Last{person}",
                f"BENCH-{course:05d}",
                f"{program} course {course}",
                program,
                "Dana Trainer",
                start.isoformat(),
                (start + datetime.timedelta(days=1)).isoformat(),
                "16",
                "yes" if index % 7 else "no",
            ]
        )
    return out.getvalue().encode()


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
    )


def copy_baseline(report) -> None:
    """The same rows as our import writes, with ids chosen here, loaded with COPY."""
    now = datetime.datetime.now(datetime.UTC).isoformat()
    programs = {p.code: p for p in Program.objects.all()}
    learning = Category.objects.get(issuer__code="scrum-alliance", code="learning").pk
    users, courses, attendances, credentials, entries = {}, {}, [], {}, []
    for row in report.rows:
        users.setdefault(row.email, (len(users) + 1, row))
        if row.course_code not in courses:
            courses[row.course_code] = (len(courses) + 1, row)
        user_id, course_id = users[row.email][0], courses[row.course_code][0]
        attendances.append(
            (
                user_id,
                course_id,
                row.hours_attended,
                row.completed,
                row.email,
                f"{row.first_name} {row.last_name}",
            )
        )
        if row.completed:
            program = programs[row.program_code]
            if (user_id, program.pk) not in credentials:
                credentials[(user_id, program.pk)] = (len(credentials) + 1, row, course_id)
                for day in range(2):
                    entries.append(
                        (user_id, row.start_date + datetime.timedelta(days=day), course_id, row)
                    )
    with connection.cursor() as cursor:
        _copy(
            cursor,
            User._meta.db_table,
            [
                "id",
                "email",
                "password",
                "first_name",
                "last_name",
                "is_staff",
                "is_active",
                "is_superuser",
                "date_joined",
            ],
            (
                (pk, email, "!x", r.first_name, r.last_name, "f", "t", "f", now)
                for email, (pk, r) in users.items()
            ),
        )
        _copy(
            cursor,
            Course._meta.db_table,
            [
                "id",
                "code",
                "title",
                "program_id",
                "trainer",
                "start_date",
                "end_date",
                "hours",
                "delivery",
            ],
            (
                (
                    pk,
                    code,
                    r.course_title,
                    programs[r.program_code].pk,
                    r.trainer,
                    r.start_date,
                    r.end_date,
                    report.course_hours[code],
                    "online",
                )
                for code, (pk, r) in courses.items()
            ),
        )
        _copy(
            cursor,
            Attendance._meta.db_table,
            [
                "holder_id",
                "course_id",
                "hours_attended",
                "completed",
                "reported_email",
                "reported_name",
            ],
            ((u, c, h, "t" if done else "f", e, n) for u, c, h, done, e, n in attendances),
        )
        _copy(
            cursor,
            Credential._meta.db_table,
            [
                "id",
                "holder_id",
                "program_id",
                "issued_on",
                "source_course_id",
                "verification_code",
                "created_at",
                "certificate_number",
                "verified",
            ],
            (
                (pk, u, p, r.end_date, c, f"00000000-0000-4000-8000-{pk:012d}", now, "", "t")
                for (u, p), (pk, r, c) in credentials.items()
            ),
        )
        _copy(
            cursor,
            Term._meta.db_table,
            ["credential_id", "sequence", "starts_on", "ends_on"],
            (
                (pk, 1, r.end_date, add_months(r.end_date, 24))
                for (pk, r, _) in credentials.values()
            ),
        )
        _copy(
            cursor,
            Entry._meta.db_table,
            [
                "holder_id",
                "activity_date",
                "category_id",
                "title",
                "provider",
                "hours",
                "description",
                "evidence",
                "source_course_id",
                "void_reason",
                "created_at",
                "updated_at",
            ],
            (
                (u, d, learning, r.course_title, r.trainer, Decimal(8), "", "", c, "", now, now)
                for u, d, c, r in entries
            ),
        )
        # The audit trail of the same rows, written server-side in one statement per table:
        # the cheapest way PostgreSQL has to copy rows it already holds.
        for model in (Credential, Term, Entry):
            history = model.history.model
            columns = [
                f.column for f in history._meta.concrete_fields if not f.name.startswith("history_")
            ]
            names = ", ".join(columns)
            cursor.execute(
                f"INSERT INTO {history._meta.db_table} ({names}, history_date, "
                f"history_change_reason, history_type) "
                f"SELECT {names}, now(), 'Roster import: bench', '+' FROM {model._meta.db_table}"
            )


def wipe() -> None:
    """Empty the tables the import writes. TRUNCATE also forgets their statistics (PostgreSQL
    marks a truncated table's size unknown), as a fresh database has them: what earlier
    benchmarks left in the same database (200,000 credentials for the reminder scan) does not
    steer the planner for either the COPY baseline or the import. They are not analyzed empty
    either: statistics saying "empty" are what no fresh database has (autovacuum analyzes a
    table only after rows change), and they make the planner scan a growing table whole."""
    history = ", ".join(m.history.model._meta.db_table for m in (Credential, Term, Entry))
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {Entry._meta.db_table}, {Term._meta.db_table}, "
            f"{Credential._meta.db_table}, {Attendance._meta.db_table}, "
            f"{Course._meta.db_table}, {User._meta.db_table}, {history} RESTART IDENTITY CASCADE"
        )
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)",
            [[Course._meta.db_table, User._meta.db_table, Credential._meta.db_table]],
        )
        assert all(tuples < 0 for _, tuples in cursor.fetchall())  # size unknown


def row_counts() -> list[int]:
    models = (User, Course, Attendance, Credential, Term, Entry)
    return [m.objects.count() for m in models] + [
        m.history.count() for m in (Credential, Term, Entry)
    ]


def import_in_fresh_process(data: bytes, tmp_path) -> dict:
    """Run the import alone in a new process on the test database; returns its figures."""
    roster, figures = tmp_path / "roster.csv", tmp_path / "figures.json"
    roster.write_bytes(data)
    subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.roster_import_process", roster, figures],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cspo_tracker.test_settings",
            "DATABASE_URL": database_url_for_subprocess(),
            # As in production (and as pytest runs tests): no SQL kept or formatted for debugging.
            "DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
        },
        check=True,
    )
    return json.loads(figures.read_text())


@pytest.mark.django_db(transaction=True)
def test_roster_import_against_copy(reference_data, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY baseline needs PostgreSQL")
    data = roster_csv()
    report = roster_check(data)
    assert not report.errors

    wipe()  # both start from empty tables and their statistics
    began = time.perf_counter()
    copy_baseline(report)
    copy_seconds = time.perf_counter() - began
    baseline_counts = row_counts()
    wipe()
    del report

    ours = import_in_fresh_process(data, tmp_path)
    seconds, memory_mb = ours["seconds"], ours["memory_mb"]
    ours_counts = row_counts()
    ratio = seconds / copy_seconds
    print(
        f"\nroster import: {ROWS:,} rows, {COURSES:,} courses -> holders, courses, attendances, "
        f"credentials, terms, entries, and the audit trail of the last three {ours_counts} "
        f"(COPY wrote {baseline_counts})"
        f"\n  import: {seconds:.2f} s (check {ours['check_seconds']:.2f} s, apply "
        f"{seconds - ours['check_seconds']:.2f} s), {ROWS / seconds:,.0f} rows/s, "
        f"{ours['statements']:,} SQL statements (COPY included)"
        f"\n  COPY baseline: {copy_seconds:.2f} s"
        f"\n  ratio: {ratio:.2f}x the COPY baseline"
        f"\n  memory: +{memory_mb:,.0f} MB during the import ({ours['memory_method']}; "
        f"{ours['memory_before_mb']:,.0f} MB before it, in a fresh process)"
        f"\n  summary: {ours['summary']}"
    )
    section = "roster import"
    record(section, "import seconds", f"{seconds:.2f}", f"{ROWS:,} rows, check + apply")
    record(section, "COPY seconds", f"{copy_seconds:.2f}", "the same rows written with COPY")
    record(section, "ratio", f"{ratio:.2f}x", "import / COPY; target <= 2.0x")
    record(
        section, "memory increase MB", f"{memory_mb:.0f}", "over the process before; target < 150"
    )
    record(section, "SQL statements", f"{ours['statements']:,}", "COPY included")
    wipe()
