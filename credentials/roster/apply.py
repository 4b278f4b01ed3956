"""Writing validated roster rows, batch by batch, each batch one transaction.

Every write is an upsert on a natural key (email; course code; holder and course; holder and
program), so running the same rows again changes nothing, and a run that died part-way is
finished by running it again.
"""

import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from cspo_tracker.bulk import insert_rows, many, update_rows
from cspo_tracker.history import CREATED, history_record

from ..dates import add_months
from ..models import Attendance, Course, Credential, Membership, Program, Term, User
from ..organisations import course_trainer_ids
from ..selectors import accounts_for_addresses, today
from ..signals import attendances_recorded, credentials_issued
from .validate import ACCOUNT_FIELDS, RosterRow, ValidationReport


def _unusable_password() -> str:
    # What set_unusable_password() stores, without its slow per-user random string.
    return "!" + secrets.token_urlsafe(30)


@dataclass
class _Holders:
    """The accounts of a batch's addresses."""

    ids: dict[str, int] = field(default_factory=dict)  # canonical address -> account id
    # Created by this batch: nobody can have seen them (or have a dashboard) before it commits.
    created: set[int] = field(default_factory=set)
    to_invite: list[int] = field(default_factory=list)  # never signed in, not invited yet


def _users(rows: list[RosterRow], summary: Counter, *, rename: bool = True) -> _Holders:
    """The account of each row's address (a confirmed secondary address finds its account),
    creating invited holders for addresses nobody has; with `rename`, correcting the names of
    existing holders to the file's (an organisation's roster never renames anyone)."""
    wanted = {}
    for row in rows:
        wanted.setdefault(row.email, row)
    users = accounts_for_addresses(wanted, only=ACCOUNT_FIELDS)
    holders = _Holders(ids={email: user.pk for email, user in users.items()})
    for user in {user.pk: user for user in users.values()}.values():
        if user.invited_at is None and user.state == User.State.INVITED:
            holders.to_invite.append(user.pk)
    now = timezone.now()
    missing = [email for email in wanted if email not in users]
    if missing:
        insert_rows(
            User,
            [
                "email",
                "password",
                "first_name",
                "last_name",
                "is_staff",
                "state",
                "is_active",
                "is_superuser",
                "date_joined",
            ],
            [
                (
                    email,
                    _unusable_password(),
                    wanted[email].first_name,
                    wanted[email].last_name,
                    False,
                    User.State.INVITED.value,
                    True,
                    False,
                    now,
                )
                for email in missing
            ],
        )
        # Found by address, which only these rows have: no model instance built for them.
        created = list(
            User.objects.filter(email__in=many(missing, of="text")).values_list("email", "pk")
        )
        holders.ids.update(created)
        holders.created.update(pk for _, pk in created)
        holders.to_invite.extend(pk for _, pk in created)
        summary["holders_created"] += len(missing)
    changed, seen = [], set()
    for email, row in wanted.items() if rename else ():
        user = users.get(email)
        if user is None or user.pk in seen:
            continue  # created above, or another address of an account (same name: validated)
        seen.add(user.pk)
        if user.is_staff or user.is_superuser or user.state == User.State.DEACTIVATED:
            continue  # validation refuses these rows; should one slip through, no rename
        if (user.first_name, user.last_name) != (row.first_name, row.last_name):
            user.first_name, user.last_name = row.first_name, row.last_name
            changed.append(user)
    if changed:
        User.objects.bulk_update(changed, ["first_name", "last_name"], batch_size=1000)
        summary["holders_updated"] += len(changed)
    return holders


def _memberships(rows, holders: _Holders, programs, summary: Counter) -> None:
    wanted = {}
    for row in rows:
        if row.member_id:
            issuer_id = programs[row.program_code].issuer_id
            wanted.setdefault((holders.ids[row.email], issuer_id), row.member_id)
    if not wanted:
        return
    known = {holder_id for holder_id, _ in wanted} - holders.created
    stored = set(
        Membership.objects.filter(holder_id__in=many(known)).values_list("holder_id", "issuer_id")
    )
    new = [
        Membership(holder_id=holder_id, issuer_id=issuer_id, member_id=member_id)
        for (holder_id, issuer_id), member_id in wanted.items()
        if (holder_id, issuer_id) not in stored
    ]
    Membership.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    summary["memberships_created"] += len(new)


def _stored_courses(codes) -> dict[str, Course]:
    """Courses by upper-case code: codes are compared without regard to letter case."""
    return {
        course.code.upper(): course
        for course in Course.objects.annotate(code_upper=Upper("code"))
        .filter(code_upper__in=list(codes))
        .select_related("program__issuer")
    }


def _in_scope(scope, course: Course, trainers: dict[int, set[int]]) -> bool:
    """Whether an organisation's roster may write to this course: one of its courses, and for
    a trainer's roster one naming them."""
    if course.organisation_id != scope.organisation_id:
        return False
    return scope.trainer_id is None or scope.trainer_id in trainers.get(course.pk, ())


def _courses(rows, programs, report: ValidationReport, summary: Counter) -> dict[str, Course]:
    """The rows' courses, created (for an organisation's roster: as its courses, naming the
    trainer who uploaded it) or corrected to the file's details. For an organisation's
    roster, a course out of its reach now (another organisation's, or a colleague's, made or
    changed since the check) is neither created, corrected nor returned: its rows are left."""
    scope = report.scope
    wanted: dict[str, RosterRow] = {}
    for row in rows:
        wanted.setdefault(row.course_code, row)
    courses = _stored_courses(wanted)
    if scope:
        trainers = course_trainer_ids(course.pk for course in courses.values())
        for code in [code for code, c in courses.items() if not _in_scope(scope, c, trainers)]:
            del wanted[code]
            del courses[code]
    missing = []
    for code, row in wanted.items():
        if code in courses:
            continue
        described = report.courses[code]
        missing.append(
            Course(
                code=code,
                title=described.title or "",
                program=programs[row.program_code],
                trainer=described.trainer or "",
                start_date=described.start_date or described.end_date,
                end_date=described.end_date,
                hours=report.course_hours[code],
                organisation_id=scope.organisation_id if scope else None,
            )
        )
    if missing:
        Course.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
        stored = _stored_courses(wanted)
        summary["courses_created"] += len(missing)
        if scope:
            # Someone else may have made one of these codes meanwhile: only courses of this
            # organisation that name no trainer yet are this roster's (a trainer is named).
            made = {course.code.upper() for course in missing}
            trainers = course_trainer_ids(stored[code].pk for code in made)
            for code in made:
                course = stored[code]
                if course.organisation_id != scope.organisation_id or (
                    scope.trainer_id is not None and trainers.get(course.pk)
                ):
                    del wanted[code]
                    del stored[code]
            if scope.trainer_id:
                Course.trainers.through.objects.bulk_create(
                    [
                        Course.trainers.through(course_id=stored[code].pk, user_id=scope.trainer_id)
                        for code in made
                        if code in stored
                    ],
                    ignore_conflicts=True,
                )
        courses = {code: stored[code] for code in wanted}
    changed = []
    moved = set()
    for code in wanted:
        course, described = courses[code], report.courses[code]
        new = {
            "title": described.title or course.title,
            "trainer": described.trainer or course.trainer,
            # An organisation's roster never moves a stored course (validation refuses it).
            "start_date": course.start_date if scope else described.start_date or course.start_date,
            "end_date": course.end_date if scope else described.end_date or course.end_date,
            "hours": max(course.hours, report.course_hours[code]),
        }
        if any(getattr(course, name) != value for name, value in new.items()):
            if (course.start_date, course.end_date) != (new["start_date"], new["end_date"]):
                moved.add(course.pk)
            for name, value in new.items():
                setattr(course, name, value)
            changed.append(course)
    if changed:
        Course.objects.bulk_update(
            changed, ["title", "trainer", "start_date", "end_date", "hours"], batch_size=1000
        )
        summary["courses_updated"] += len(changed)
    if moved:
        _redate_credentials(moved, summary)
    return courses, moved


def _redate_credentials(course_ids: set[int], summary: Counter) -> None:
    """A corrected course date moves the credentials it issued, while their first term is
    untouched by renewals or alignment (otherwise staff correct them in the admin)."""
    terms = (
        Term.objects.filter(
            credential__source_course_id__in=course_ids,
            sequence=1,
            aligned_from__isnull=True,
            renewal__isnull=True,
        )
        .exclude(credential__terms__sequence=2)
        .select_related("credential__program", "credential__source_course")
    )
    moved_terms, moved_credentials = [], []
    for term in terms:
        credential, course = term.credential, term.credential.source_course
        if credential.issued_on == course.end_date:
            continue
        credential.issued_on = term.starts_on = course.end_date
        if not credential.program.is_lifetime:
            term.ends_on = add_months(course.end_date, credential.program.validity_months)
        moved_terms.append(term)
        moved_credentials.append(credential)
    Credential.objects.bulk_update(moved_credentials, ["issued_on"], batch_size=1000)
    Term.objects.bulk_update(moved_terms, ["starts_on", "ends_on"], batch_size=1000)
    history_record(Credential.objects.filter(pk__in=[c.pk for c in moved_credentials]))
    history_record(Term.objects.filter(pk__in=[t.pk for t in moved_terms]))
    summary["credentials_redated"] += len(moved_credentials)


def _attendances(rows, holders: _Holders, courses, moved: set[int], summary: Counter):
    """Upsert attendance; return (holder_id, course, hours, completed) for changed rows."""
    keys = {(holders.ids[r.email], courses[r.course_code].pk): r for r in rows}
    known = {h for h, _ in keys} - holders.created  # new holders attended nothing yet
    # (holder, course) -> (id, hours attended, completed): plain values, not model instances.
    stored = {
        (holder_id, course_id): (pk, hours, completed, email, name)
        for pk, holder_id, course_id, hours, completed, email, name in Attendance.objects.filter(
            holder_id__in=many(known), course_id__in={c for _, c in keys}
        ).values_list(
            "pk",
            "holder_id",
            "course_id",
            "hours_attended",
            "completed",
            "reported_email",
            "reported_name",
        )
    }
    new, changed, relabelled, recorded = [], [], [], []
    for (holder_id, course_id), row in keys.items():
        attendance = stored.get((holder_id, course_id))
        course = courses[row.course_code]
        # As the roster gave them: what a training organisation is shown of its attendee.
        reported = (row.email, f"{row.first_name} {row.last_name}".strip())
        if attendance is None:
            new.append((holder_id, course_id, row.hours_attended, row.completed, *reported))
        elif attendance[1:3] != (row.hours_attended, row.completed):
            changed.append((attendance[0], row.hours_attended, row.completed, *reported))
        else:
            if attendance[3:] != reported:
                relabelled.append((attendance[0], row.hours_attended, row.completed, *reported))
            if course_id not in moved:
                continue  # unchanged; a moved course re-dates its hours below
        recorded.append((holder_id, course, row.hours_attended, row.completed))
    columns = ["hours_attended", "completed", "reported_email", "reported_name"]
    insert_rows(Attendance, ["holder_id", "course_id", *columns], new)
    update_rows(Attendance, columns, changed + relabelled)
    summary["attendances_created"] += len(new)
    summary["attendances_updated"] += len(changed)
    return recorded


def _credentials(rows, holders: _Holders, courses, programs, summary: Counter) -> None:
    wanted = {}
    for row in rows:
        if row.completed:
            program = programs[row.program_code]
            wanted.setdefault((holders.ids[row.email], program.pk), courses[row.course_code])
    if not wanted:
        return
    known = {h for h, _ in wanted} - holders.created  # new holders hold nothing yet
    stored = Credential.objects.filter(holder_id__in=many(known)).values_list(
        "pk", "holder_id", "program_id", "verified", "source_course_id"
    )
    held, claims = set(), []
    for pk, holder_id, program_id, verified, source_course_id in stored:
        held.add((holder_id, program_id))
        course = wanted.get((holder_id, program_id))
        if course is not None and not verified and source_course_id is None:
            claims.append(Credential(pk=pk, verified=True, source_course=course))
    if claims:
        # A completion on a roster proves a credential the holder had only claimed.
        Credential.objects.bulk_update(claims, ["verified", "source_course"], batch_size=1000)
        history_record(Credential.objects.filter(pk__in=[c.pk for c in claims]))
        summary["claims_verified"] += len(claims)
        credentials_issued.send(sender=Credential, credential_ids=[c.pk for c in claims])
    new = [(h, p, course) for (h, p), course in wanted.items() if (h, p) not in held]
    if not new:
        return
    now = timezone.now()
    insert_rows(
        Credential,
        [
            "holder_id",
            "program_id",
            "issued_on",
            "source_course_id",
            "verification_code",
            "created_at",
            "certificate_number",
            "verified",
        ],
        [(h, p, course.end_date, course.pk, uuid.uuid4(), now, "", True) for h, p, course in new],
    )
    by_program = {program.pk: program for program in programs.values()}
    created = Credential.objects.filter(
        holder_id__in=many({h for h, _, _ in new}), program_id__in={p for _, p, _ in new}
    ).values_list("pk", "holder_id", "program_id", "issued_on")
    fresh = {(h, p) for h, p, _ in new}
    terms, fresh_ids = [], []
    for pk, holder_id, program_id, issued_on in created:
        if (holder_id, program_id) not in fresh:
            continue
        fresh_ids.append(pk)
        program = by_program[program_id]
        ends_on = None if program.is_lifetime else add_months(issued_on, program.validity_months)
        terms.append((pk, 1, issued_on, ends_on))
    insert_rows(Term, ["credential_id", "sequence", "starts_on", "ends_on"], terms)
    history_record(Credential.objects.filter(pk__in=many(fresh_ids)), history_type=CREATED)
    history_record(Term.objects.filter(credential_id__in=many(fresh_ids)), history_type=CREATED)
    summary["credentials_issued"] += len(new)
    # Alignment only matters for holders with more than one credential of a combined issuer;
    # it is done for all of them at once, with the same rule as renewal_dates_align.
    combined = {p.pk for p in by_program.values() if p.issuer.combined_renewal}
    touched = {h for h, p, _ in new if p in combined}
    if touched:
        # What each holder now holds: what was stored (one per program) and what was issued.
        counts = Counter(
            (holder_id, by_program[program_id].issuer_id)
            for holder_id, program_id in (*held, *((h, p) for h, p, _ in new))
            if holder_id in touched and program_id in combined
        )
        crowded = {holder_id for (holder_id, _), count in counts.items() if count > 1}
        if crowded:
            _align(crowded, combined)
    # After alignment: the event carries the dates the credentials end up with.
    credentials_issued.send(sender=Credential, credential_ids=fresh_ids)


def _align(holder_ids: set[int], combined_program_ids: set[int]) -> None:
    """Move the current terms of each holder's credentials of one combined issuer to end
    together, on the latest end among them (the holders' dashboards are marked stale by the
    batch, whose credentials brought this about)."""
    current = {}
    for term in (
        Term.objects.filter(
            credential__holder_id__in=many(holder_ids),
            credential__program_id__in=combined_program_ids,
            credential__verified=True,
        )
        .order_by("credential_id", "sequence")
        .values_list(
            "pk",
            "credential_id",
            "credential__holder_id",
            "credential__program__issuer_id",
            "ends_on",
            "aligned_from",
        )
    ):
        current[term[1]] = term  # the last one per credential is the current term
    on = today()
    groups: dict[tuple[int, int], list[tuple]] = {}
    for pk, _, holder_id, issuer_id, ends_on, aligned_from in current.values():
        if ends_on is not None and ends_on >= on:
            groups.setdefault((holder_id, issuer_id), []).append((pk, ends_on, aligned_from))
    moved = []
    for group in groups.values():
        target = max(ends_on for _, ends_on, _ in group)
        moved.extend(
            (pk, target, aligned_from or ends_on)
            for pk, ends_on, aligned_from in group
            if ends_on < target
        )
    if moved:
        update_rows(Term, ["ends_on", "aligned_from"], moved)
        history_record(Term.objects.filter(pk__in=many([pk for pk, _, _ in moved])))


def roster_apply_batch(
    rows: list[RosterRow], report: ValidationReport, summary: Counter
) -> list[int]:
    """Write one batch of valid rows in one transaction; return the ids of its holders who still
    need an invitation (never signed in, no password, not invited yet)."""
    programs = {p.code: p for p in Program.objects.select_related("issuer")}
    with transaction.atomic():
        courses, moved = _courses(rows, programs, report, summary)
        if report.scope:
            # Rows of a course out of the organisation's reach now are left, and counted.
            kept = [row for row in rows if row.course_code in courses]
            summary["rows_out_of_reach"] += len(rows) - len(kept)
            rows = kept
        holders = _users(rows, summary, rename=report.scope is None)
        _memberships(rows, holders, programs, summary)
        recorded = _attendances(rows, holders, courses, moved, summary)
        _credentials(rows, holders, courses, programs, summary)
        if recorded:
            responses = attendances_recorded.send(sender=Attendance, attendances=recorded)
            summary["units_entries_logged"] += sum(count or 0 for _, count in responses)
    return holders.to_invite


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
            created = roster_apply_batch(batch, report, summary)
            if on_batch:
                on_batch(offset + len(batch), created, summary)
    return summary
