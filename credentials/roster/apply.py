"""Writing validated roster rows, batch by batch, each batch one transaction.

Every write is an upsert on a natural key (email; course code; holder and course; holder and
program), so running the same rows again changes nothing, and a run that died part-way is
finished by running it again.
"""

import secrets
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction

from ..dates import add_months
from ..models import Attendance, Course, Credential, Membership, Program, Term, User
from ..services import renewal_dates_align
from ..signals import attendances_recorded
from .validate import RosterRow, ValidationReport


def _unusable_password() -> str:
    # What set_unusable_password() stores, without its slow per-user random string.
    return "!" + secrets.token_urlsafe(30)


def _users(rows: list[RosterRow], summary: Counter) -> dict[str, User]:
    wanted = {}
    for row in rows:
        wanted.setdefault(row.email, row)
    users = {u.email: u for u in User.objects.filter(email__in=wanted)}
    missing = [
        User(
            email=email,
            first_name=row.first_name,
            last_name=row.last_name,
            password=_unusable_password(),
        )
        for email, row in wanted.items()
        if email not in users
    ]
    if missing:
        User.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
        users = {u.email: u for u in User.objects.filter(email__in=wanted)}
        summary["holders_created"] += len(missing)
    changed = []
    for email, row in wanted.items():
        user = users[email]
        if (user.first_name, user.last_name) != (row.first_name, row.last_name):
            user.first_name, user.last_name = row.first_name, row.last_name
            changed.append(user)
    if changed:
        User.objects.bulk_update(changed, ["first_name", "last_name"], batch_size=1000)
        summary["holders_updated"] += len(changed)
    return users


def _memberships(rows, users, programs, summary: Counter) -> None:
    wanted = {}
    for row in rows:
        if row.member_id:
            issuer_id = programs[row.program_code].issuer_id
            wanted.setdefault((users[row.email].pk, issuer_id), row.member_id)
    if not wanted:
        return
    holders = {holder_id for holder_id, _ in wanted}
    stored = set(
        Membership.objects.filter(holder_id__in=holders).values_list("holder_id", "issuer_id")
    )
    new = [
        Membership(holder_id=holder_id, issuer_id=issuer_id, member_id=member_id)
        for (holder_id, issuer_id), member_id in wanted.items()
        if (holder_id, issuer_id) not in stored
    ]
    Membership.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    summary["memberships_created"] += len(new)


def _courses(rows, programs, course_hours, summary: Counter) -> dict[str, Course]:
    wanted: dict[str, RosterRow] = {}
    for row in rows:
        wanted.setdefault(row.course_code, row)
    courses = {c.code: c for c in Course.objects.filter(code__in=wanted)}
    missing = [
        Course(
            code=code,
            title=row.course_title,
            program=programs[row.program_code],
            trainer=row.trainer,
            start_date=row.start_date or row.end_date,
            end_date=row.end_date,
            hours=course_hours[code],
        )
        for code, row in wanted.items()
        if code not in courses
    ]
    if missing:
        Course.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
        courses = {c.code: c for c in Course.objects.filter(code__in=wanted)}
        summary["courses_created"] += len(missing)
    changed = []
    for code, row in wanted.items():
        course = courses[code]
        new = {
            "title": row.course_title or course.title,
            "trainer": row.trainer or course.trainer,
            "start_date": row.start_date or course.start_date,
            "end_date": row.end_date or course.end_date,
            "hours": max(course.hours, course_hours[code]),
        }
        if any(getattr(course, name) != value for name, value in new.items()):
            for name, value in new.items():
                setattr(course, name, value)
            changed.append(course)
    if changed:
        Course.objects.bulk_update(
            changed, ["title", "trainer", "start_date", "end_date", "hours"], batch_size=1000
        )
        summary["courses_updated"] += len(changed)
    return courses


def _attendances(rows, users, courses, summary: Counter) -> list[tuple]:
    """Upsert attendance; return (holder_id, course, hours, completed) for changed rows."""
    keys = {(users[r.email].pk, courses[r.course_code].pk): r for r in rows}
    stored = {
        (a.holder_id, a.course_id): a
        for a in Attendance.objects.filter(
            holder_id__in={h for h, _ in keys}, course_id__in={c for _, c in keys}
        )
    }
    new, changed, recorded = [], [], []
    for (holder_id, course_id), row in keys.items():
        attendance = stored.get((holder_id, course_id))
        course = courses[row.course_code]
        if attendance is None:
            new.append(
                Attendance(
                    holder_id=holder_id,
                    course_id=course_id,
                    hours_attended=row.hours_attended,
                    completed=row.completed,
                )
            )
        elif (attendance.hours_attended, attendance.completed) != (
            row.hours_attended,
            row.completed,
        ):
            attendance.hours_attended, attendance.completed = row.hours_attended, row.completed
            changed.append(attendance)
        else:
            continue
        recorded.append((holder_id, course, row.hours_attended, row.completed))
    Attendance.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    if changed:
        Attendance.objects.bulk_update(changed, ["hours_attended", "completed"], batch_size=1000)
    summary["attendances_created"] += len(new)
    summary["attendances_updated"] += len(changed)
    return recorded


def _credentials(rows, users, courses, programs, summary: Counter) -> None:
    wanted = {}
    for row in rows:
        if row.completed:
            program = programs[row.program_code]
            wanted.setdefault((users[row.email].pk, program.pk), courses[row.course_code])
    if not wanted:
        return
    held = set(
        Credential.objects.filter(holder_id__in={h for h, _ in wanted}).values_list(
            "holder_id", "program_id"
        )
    )
    new = [
        Credential(holder_id=h, program_id=p, issued_on=course.end_date, source_course=course)
        for (h, p), course in wanted.items()
        if (h, p) not in held
    ]
    if not new:
        return
    Credential.objects.bulk_create(new, batch_size=1000)
    by_program = {program.pk: program for program in programs.values()}
    terms = []
    for credential in new:
        program = by_program[credential.program_id]
        ends_on = (
            None
            if program.is_lifetime
            else add_months(credential.issued_on, program.validity_months)
        )
        terms.append(
            Term(credential=credential, sequence=1, starts_on=credential.issued_on, ends_on=ends_on)
        )
    Term.objects.bulk_create(terms, batch_size=1000)
    summary["credentials_issued"] += len(new)
    # Alignment only matters for holders with more than one credential of a combined issuer.
    combined = {p.pk for p in by_program.values() if p.issuer.combined_renewal}
    touched = {c.holder_id for c in new if c.program_id in combined}
    if touched:
        crowded = (
            Credential.objects.filter(holder_id__in=touched, program_id__in=combined)
            .values_list("holder_id", "program__issuer_id")
            .order_by()
        )
        counts = Counter(crowded)
        for (holder_id, issuer_id), count in counts.items():
            if count > 1:
                renewal_dates_align(holder=User(pk=holder_id), issuer_id=issuer_id)


def roster_apply_batch(
    rows: list[RosterRow], course_hours: dict[str, Decimal], summary: Counter
) -> list[int]:
    """Write one batch of valid rows in one transaction; return the ids of its holders who still
    need an invitation (never signed in, no password, not invited yet)."""
    programs = {p.code: p for p in Program.objects.select_related("issuer")}
    with transaction.atomic():
        users = _users(rows, summary)
        _memberships(rows, users, programs, summary)
        courses = _courses(rows, programs, course_hours, summary)
        recorded = _attendances(rows, users, courses, summary)
        _credentials(rows, users, courses, programs, summary)
        if recorded:
            responses = attendances_recorded.send(sender=Attendance, attendances=recorded)
            summary["units_entries_logged"] += sum(count or 0 for _, count in responses)
    return [
        user.pk
        for user in users.values()
        if user.invited_at is None and user.last_login is None and not user.has_usable_password()
    ]


def roster_apply(
    report: ValidationReport,
    *,
    batch_size: int,
    start_at: int = 0,
    on_batch: Callable[[int, list[int], Counter], None] | None = None,
) -> Counter:
    """Apply every valid row from `start_at`, in batches; `on_batch(rows_done, new_holder_ids,
    summary)` runs inside each batch's transaction (to save progress atomically)."""
    summary: Counter = Counter()
    rows = report.rows
    for offset in range(start_at, len(rows), batch_size):
        batch = rows[offset : offset + batch_size]
        with transaction.atomic():
            created = roster_apply_batch(batch, report.course_hours, summary)
            if on_batch:
                on_batch(offset + len(batch), created, summary)
    return summary
