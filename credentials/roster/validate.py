"""Checking every roster row, against the file and the database, without writing anything.

Rows are checked as they are read, and only the valid ones are kept, in a compact form (a
course's code, title, trainer and dates are stored once, however many rows repeat them).
Database look-ups are one query per table for the whole file (sets, never per row).
"""

import datetime
import operator
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models.functions import Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cspo_tracker import formats
from cspo_tracker.bulk import many

from ..dates import add_months
from ..identity import canonical_email, clean_person_name, validate_person_name
from ..models import Attendance, Course, Credential, Membership, Program, User
from ..organisations import RosterScope, course_trainer_ids
from ..selectors import accounts_for_addresses, today
from .parse import RawRow, RosterFile

QUARTER = Decimal("0.25")
TRUE_WORDS = {"yes", "y", "true", "1", "x", "completed", "complete"}
FALSE_WORDS = {"no", "n", "false", "0", ""}
DEFAULT_PROGRAM = "CSPO"


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str
    email: str = ""  # who the row is about, as the file says: staff find the row by it
    name: str = ""


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid row, with typed values."""

    line: int
    email: str
    first_name: str
    last_name: str
    course_code: str
    course_title: str
    program_code: str
    trainer: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    hours_attended: Decimal
    completed: bool
    member_id: str


@dataclass
class ValidationReport:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    course_hours: dict[str, Decimal] = field(default_factory=dict)
    courses: dict = field(default_factory=dict)  # course code -> CourseDetails
    file: RosterFile | None = None  # how the file was read (set by `imports.roster_check`)
    rows_read: int = 0
    scope: RosterScope | None = None  # an organisation's upload: the courses it may name

    @property
    def rows_checked(self) -> int:
        return self.totals.get("rows", 0)

    @property
    def has_changes(self) -> bool:
        return any(
            self.totals.get(key)
            for key in ("new_holders", "new_courses", "attendances", "credentials_to_issue")
        )


NAME_COLUMNS = ("first_name", "last_name")
# All that checking and applying a roster read of an account: a file imported again finds
# tens of thousands of accounts, lighter loaded with these fields alone.
ACCOUNT_FIELDS = ("first_name", "last_name", "is_staff", "is_superuser", "state", "invited_at")


# The problems a row can have, as the roster's page and its download say them. Row problems
# are stored with the import in English (`imports`: checked with translation off).
STAFF_ACCOUNT = _(
    "{email} is a staff account; a roster import never changes staff accounts. Use the "
    "attendee's own address, or record the course for them in the admin."
)
DEACTIVATED_ACCOUNT = _(
    "{email} belongs to an account staff deactivated; reactivate it in the admin first."
)
OTHER_ORGANISATION = _(
    # Translators: {code} is a course code, {organisation} a training organisation's name.
    "Course {code} is not a course of {organisation}: the code is already used elsewhere "
    "(course codes are unique), and only the course's own organisation reports its attendees. "
    "Check the code, or give your course another one."
)
# An organisation's roster is told nothing of accounts beyond its own courses: whether an
# address is staff's, deactivated, or another address of someone, which member id a holder
# has, whether they exist or hold a program.
UNUSABLE_ADDRESS = _("This address cannot be put on an organisation's roster; ask platform staff.")
# Translators: {line} is a line number of the roster file.
NOT_WITH_LINE = _("This row and line {line} cannot both be imported; ask platform staff.")
PRIVATE_TOTALS = ("new_holders", "credentials_to_issue", "unchanged_rows")
STORED_DATES = _(
    # Translators: {code} is a course code, {start} and {end} are dates.
    "Course {code} is stored as running {start} to {end}; an organisation's roster does not "
    "move a course's dates (its credentials would move with them). Ask platform staff."
)
NO_LONGER_A_MEMBER = _(
    "Whoever uploaded this roster is no longer a member of {organisation}; an organisation "
    "admin can upload it again."
)
NOT_YOUR_COURSE = _(
    # Translators: {code} is a course code, {organisation} a training organisation's name.
    "Course {code} does not name you as its trainer; ask an organisation admin of "
    "{organisation} to add you, or to upload this roster."
)
SAME_PERSON_SAME_COURSE = _(
    # Translators: {line} is a line number of the roster file.
    "Line {line} lists the same person on this course under another of their addresses."
)
SAME_PERSON_OTHER_NAME = _(
    # Translators: {line} is a line number of the roster file.
    "Differs from line {line}, the same person under another of their addresses."
)
EARLIEST_COURSE_DATE = datetime.date(1990, 1, 1)
# Translators: {day} is a date as the file gives it (2026-03-02).
COURSE_DATE_OUT_OF_RANGE = _("{day} is not a plausible course date (from 1990 to two years ahead).")


def _date(
    row: RawRow, column: str, errors: list[RowError], latest: datetime.date, seen: dict
) -> datetime.date | None:
    value = row.values.get(column, "")
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    else:
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        day = seen.get(text)  # rows of a course repeat its dates: one date object each
        if day is None:
            try:
                day = seen[text] = datetime.date.fromisoformat(text[:10])
            except ValueError:
                # Translators: {text} is a cell of the file as written.
                problem = gettext("“{text}” is not a date; use YYYY-MM-DD.").format(text=text)
                errors.append(RowError(row.line, column, problem))
                return None
    if not EARLIEST_COURSE_DATE <= day <= latest:
        errors.append(RowError(row.line, column, COURSE_DATE_OUT_OF_RANGE.format(day=day)))
        return None
    return day


def _hours(row: RawRow, errors: list[RowError], seen: dict) -> Decimal | None:
    value = row.values.get("hours_attended", "")
    text = "" if value is None else str(value).strip().replace(",", ".")
    if not text:
        return None
    hours = seen.get(text)  # a few values repeat across the rows: one Decimal each
    if hours is None:
        try:
            hours = seen[text] = Decimal(text)
        except InvalidOperation:
            # Translators: {text} is a cell of the file as written.
            problem = gettext("“{text}” is not a number of hours.").format(text=text)
            errors.append(RowError(row.line, "hours_attended", problem))
            return None
    if not hours.is_finite() or hours < 0:
        errors.append(RowError(row.line, "hours_attended", gettext("Hours cannot be negative.")))
        return None
    if hours >= 1000:
        errors.append(
            RowError(row.line, "hours_attended", gettext("1000 hours or more in one course."))
        )
        return None
    if hours % QUARTER:
        # Translators: {text} is a cell of the file as written (a number of hours).
        problem = gettext("“{text}” hours: hours go in steps of 0.25.").format(text=text)
        errors.append(RowError(row.line, "hours_attended", problem))
        return None
    return hours


def _completed(row: RawRow, errors: list[RowError]) -> bool:
    value = row.values.get("completed", "")
    text = "" if value is None else str(value).strip().lower()
    if isinstance(value, bool):
        return value
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    # Translators: {text} is a cell of the file as written; yes and no are the words the
    # file's "completed" column takes (kept in English: the file is read in English).
    problem = gettext("“{text}” is not yes or no.").format(text=text)
    errors.append(RowError(row.line, "completed", problem))
    return False


LIMITS = (
    ("email", 254),
    ("first_name", 150),
    ("last_name", 150),
    ("course_code", 64),
    ("course_title", 200),
    ("trainer", 200),
    ("member_id", 64),
)
SHORTEST_LIMIT = min(limit for _, limit in LIMITS)
TEXT_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "course_code",
    "course_title",
    "program",
    "trainer",
    "member_id",
)


def _texts(row: RawRow) -> dict[str, str]:
    """The row's text cells, each read once: stripped, names cleaned (`clean_person_name`)."""
    values = row.values
    text = {
        column: "" if (value := values.get(column, "")) is None else str(value).strip()
        for column in TEXT_COLUMNS
    }
    for column in NAME_COLUMNS:
        text[column] = clean_person_name(text[column])
    return text


COURSE_CODE_CHARACTERS = _(
    "A course code is letters, digits and punctuation, without spaces, line breaks or "
    "invisible characters."
)
COURSE_TEXT_LINK = _("No web addresses here: holders read this in their invitation email.")
COURSE_TEXT_CONTROL = _("Remove the line breaks, control or invisible characters.")
_URL_LIKE = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://|\bwww\.")
_HIDDEN = ("Cc", "Cf", "Zl", "Zp")
# In a code: also combining marks, private-use and unassigned characters, and letters and
# symbols that draw nothing (Hangul fillers, the blank Braille pattern...).
_NOT_IN_CODES = (*_HIDDEN, "Mn", "Me", "Co", "Cn")
_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0")


def _moves_dates(described, course) -> bool:
    """Whether the file gives a stored course other dates than it has."""
    return bool(
        (described.start_date and described.start_date != course.start_date)
        or (described.end_date and described.end_date != course.end_date)
    )


def _course_text(column: str, value: str) -> tuple[str, str]:
    """A course's code, title or trainer from a roster: (the text to keep, the problem or "").
    A code is compared in its NFKC form (fullwidth letters are the same code) and has no
    blank, control or invisible character; a title or trainer (quoted in invitation emails
    to addresses nobody confirmed yet) has no control character and no web address."""
    if column == "course_code":
        if value.isascii() and value.isprintable() and " " not in value:
            return value, ""
        code = unicodedata.normalize("NFKC", value)
        if any(
            char.isspace() or char in _BLANK_LOOKING or unicodedata.category(char) in _NOT_IN_CODES
            for char in code
        ):
            return code, str(COURSE_CODE_CHARACTERS)
        return code, ""
    if not (value.isascii() and value.isprintable()) and any(
        unicodedata.category(char) in _HIDDEN for char in value
    ):
        return value, str(COURSE_TEXT_CONTROL)
    if _URL_LIKE.search(unicodedata.normalize("NFKC", value)):
        return value, str(COURSE_TEXT_LINK)
    return value, ""


class _Parser:
    """Turns raw rows into typed ones, one at a time, noting each bad row's problems.

    Values that repeat from row to row (a course's code, title, trainer and dates, the hours)
    are kept once: 50,000 rows over 2,000 courses hold 2,000 of each, not 50,000."""

    def __init__(self, programs: dict[str, Program], errors: list[RowError]):
        self.programs = programs
        self.errors = errors
        self.latest = add_months(today(), 24)  # the last plausible course date
        self.on = today()
        self.shared: dict = {}
        self.dates: dict = {}
        self.hours: dict = {}
        self.who: dict[int, tuple[str, str]] = {}  # line -> email, name as written (bad rows)
        self.course_texts: dict[tuple[str, str], tuple[str, str]] = {}  # (column, text) -> seen

    def _failed(self, row: RawRow, text: dict) -> None:
        name = " ".join(filter(None, (text["first_name"], text["last_name"])))
        self.who[row.line] = (text["email"], name)

    def parse(self, row: RawRow) -> tuple[RosterRow | None, str]:
        """The typed row (None if it has errors, added to `errors`) and its address as the
        file wrote it."""
        errors, programs, share = self.errors, self.programs, self.shared.setdefault
        start = len(errors)
        text = _texts(row)
        email = ""
        if not text["email"]:
            errors.append(RowError(row.line, "email", gettext("The email address is missing.")))
        else:
            try:
                email = canonical_email(text["email"])
            except ValidationError as refused:
                shown = text["email"]
                if refused.code == "invalid":
                    # Translators: {email} is an address as the file wrote it.
                    problem = gettext("“{email}” is not a valid email address.")
                else:
                    # Translators: {email} is an address as the file wrote it, {reason} why it
                    # is refused (a sentence or more).
                    problem = gettext("“{email}” is refused: {reason}")
                reason = " ".join(refused.messages)
                errors.append(
                    RowError(row.line, "email", problem.format(email=shown, reason=reason))
                )
        for column in ("first_name", "last_name", "course_code"):
            if not text[column]:
                # Translators: {column} is a column name of the file (first_name).
                problem = gettext("{column} is missing.").format(column=column)
                errors.append(RowError(row.line, column, problem))
        for column in ("first_name", "last_name"):
            try:
                validate_person_name(text[column])
            except ValidationError as refused:
                errors.append(RowError(row.line, column, " ".join(refused.messages)))
        for column in ("course_code", "course_title", "trainer"):
            value = text[column]
            if value:
                checked = self.course_texts.get((column, value))
                if checked is None:
                    checked = self.course_texts[(column, value)] = _course_text(column, value)
                cleaned, problem = checked
                if problem:
                    errors.append(RowError(row.line, column, problem))
                text[column] = cleaned
        if max(map(len, text.values())) > SHORTEST_LIMIT:
            for column, limit in LIMITS:
                if len(text[column]) > limit:
                    problem = gettext("Longer than {limit} characters.").format(limit=limit)
                    errors.append(RowError(row.line, column, problem))
        program_code = text["program"] or DEFAULT_PROGRAM
        program = programs.get(program_code.upper())
        if program is None:
            # Translators: {program} is a certification's code as the file wrote it.
            problem = gettext("Unknown program “{program}”.").format(program=program_code)
            errors.append(RowError(row.line, "program", problem))
        start_date = _date(row, "start_date", errors, self.latest, self.dates)
        end_date = _date(row, "end_date", errors, self.latest, self.dates)
        if start_date and end_date and end_date < start_date:
            errors.append(
                RowError(row.line, "end_date", gettext("The course ends before it starts."))
            )
        hours = _hours(row, errors, self.hours)
        completed = _completed(row, errors)
        if len(errors) > start:
            self._failed(row, text)
            return None, text["email"]
        if hours is None:
            hours = (program.min_course_hours or Decimal(0)) if completed else Decimal(0)
        if completed and program.min_course_hours is not None and hours < program.min_course_hours:
            problem = gettext(
                # Translators: {hours} and {needed} are numbers of hours, {program} a
                # certification's code.
                "Marked completed with {hours} hours; {program} needs at least {needed}."
            ).format(
                hours=f"{hours.normalize():f}",
                program=program.code,
                needed=f"{program.min_course_hours.normalize():f}",
            )
            errors.append(RowError(row.line, "hours_attended", problem))
            self._failed(row, text)
            return None, text["email"]
        if completed and end_date and end_date > self.on:
            errors.append(
                RowError(
                    row.line,
                    "end_date",
                    gettext("Completed on a course that ends in the future."),
                )
            )
            self._failed(row, text)
            return None, text["email"]
        typed = RosterRow(
            line=row.line,
            email=email,
            first_name=text["first_name"],
            last_name=text["last_name"],
            # Course codes are compared and stored without regard to letter case.
            course_code=share(code := text["course_code"].upper(), code),
            course_title=share(text["course_title"], text["course_title"]),
            program_code=program.code,
            trainer=share(text["trainer"], text["trainer"]),
            start_date=start_date,
            end_date=end_date,
            hours_attended=hours,
            completed=completed,
            member_id=share(text["member_id"], text["member_id"]),
        )
        return typed, text["email"]


COURSE_FIELDS = ("program_code", "course_title", "trainer", "start_date", "end_date")


@dataclass(frozen=True)
class CourseDetails:
    """A course as the file describes it: the first non-blank value of each field."""

    title: str
    trainer: str
    start_date: datetime.date | None
    end_date: datetime.date | None


def _clash(row: RosterRow, first: RosterRow, fields) -> str | None:
    """The first of `fields` that both rows fill in, differently; None if there is none."""
    values = operator.attrgetter(*fields)
    if values(row) == values(first):
        return None  # the common case, answered without looking field by field
    return next(
        (
            name
            for name in fields
            if getattr(row, name)
            and getattr(first, name)
            and getattr(row, name) != getattr(first, name)
        ),
        None,
    )


def roster_validate(
    raw_rows: Iterable[RawRow], scope: RosterScope | None = None
) -> ValidationReport:
    """Check every row, read one at a time from `raw_rows`; nothing is written. Errors name
    the line, the column, the reason and who the row is about; the report keeps the valid
    rows. With an organisation's `scope`, a row naming a course of another organisation (or
    of none), or for a trainer a course that does not name them, is an error of its line.
    A RosterFileError raised while reading the rows goes through."""
    report = ValidationReport(scope=scope)
    errors = report.errors
    programs = {p.code.upper(): p for p in Program.objects.select_related("issuer")}
    parser = _Parser(programs, errors)
    who = parser.who
    written: dict[int, str] = {}  # line -> the address as written, where it is not canonical

    def refuse(row: RosterRow, column: str, message: str) -> None:
        errors.append(RowError(row.line, column, message))
        name = " ".join(filter(None, (row.first_name, row.last_name)))
        who[row.line] = (written.get(row.line, row.email), name)

    # Within the file: one course has one set of details, a person one name and one member id
    # per issuer, and there is one row per attendee.
    first_of_course: dict[str, RosterRow] = {}
    first_of_person: dict[str, RosterRow] = {}
    member_ids: dict[tuple[str, int], RosterRow] = {}
    seen: dict[tuple[str, str], int] = {}
    candidates = []
    rows_read = 0
    for raw in raw_rows:
        rows_read += 1
        row, email_as_written = parser.parse(raw)
        if row is None:
            continue
        if scope and row.member_id:
            row = replace(row, member_id="")  # an organisation's roster records no member ids
        if email_as_written != row.email:
            written[row.line] = email_as_written
        key = (row.course_code, row.email)
        if key in seen:
            # Translators: {line} is a line number of the roster file.
            repeats = gettext("Repeats line {line} (same course and email).")
            refuse(row, "email", repeats.format(line=seen[key]))
            continue
        first = first_of_course.setdefault(row.course_code, row)
        person = first_of_person.setdefault(row.email, row)
        issuer_id = programs[row.program_code.upper()].issuer_id
        member = member_ids.setdefault((row.email, issuer_id), row) if row.member_id else row
        problem = None
        if clash := _clash(row, first, COURSE_FIELDS):
            differs = gettext(
                # Translators: {line} is a line number of the roster file, {value} and {other}
                # the two values as the file wrote them.
                "Differs from line {line} for the same course (“{value}” against “{other}”)."
            )
            problem = (
                clash.replace("_code", ""),
                differs.format(
                    line=first.line, value=getattr(row, clash), other=getattr(first, clash)
                ),
            )
        elif clash := _clash(row, person, ("first_name", "last_name")):
            # Translators: {line} is a line number of the roster file.
            differs = gettext("Differs from line {line} for the same email address.")
            problem = (clash, differs.format(line=person.line))
        elif member.member_id != row.member_id:
            # Translators: {line} is a line number of the roster file.
            differs = gettext("Differs from line {line} for the same issuer.")
            problem = ("member_id", differs.format(line=member.line))
        if problem:
            refuse(row, *problem)
            continue
        seen[key] = row.line
        candidates.append(row)

    by_course: dict[str, list[RosterRow]] = defaultdict(list)
    for row in candidates:
        by_course[row.course_code].append(row)
    details = {}
    for code, rows_of_course in by_course.items():
        details[code] = CourseDetails(
            *(
                next((getattr(r, name) for r in rows_of_course if getattr(r, name)), None)
                for name in ("course_title", "trainer", "start_date", "end_date")
            )
        )

    # Against the database, one query per table; course codes without regard to letter case.
    # A confirmed secondary address finds its account, as the sign-in address does.
    emails = {row.email for row in candidates}
    users = accounts_for_addresses(emails, only=ACCOUNT_FIELDS)
    courses = {
        c.code.upper(): c
        for c in Course.objects.annotate(code_upper=Upper("code"))
        .filter(code_upper__in=list(details))
        .select_related("program")
    }
    user_ids = many({user.pk for user in users.values()})
    trainers = (
        course_trainer_ids(course.pk for course in courses.values())
        if scope and scope.trainer_id is not None
        else {}
    )
    memberships = {
        (holder_id, issuer_id): member_id
        for holder_id, issuer_id, member_id in Membership.objects.filter(
            holder_id__in=user_ids
        ).values_list("holder_id", "issuer_id", "member_id")
    }
    # (holder, course) -> (hours attended, completed), as stored: a file imported again finds
    # one per row, so plain values rather than model instances.
    attendances = {
        (holder_id, course_id): (hours, completed)
        for holder_id, course_id, hours, completed in Attendance.objects.filter(
            holder_id__in=user_ids, course__in=courses.values()
        ).values_list("holder_id", "course_id", "hours_attended", "completed")
    }
    held = set(
        Credential.objects.filter(holder_id__in=user_ids).values_list("holder_id", "program_id")
    )

    hours_by_course: dict[str, Decimal] = defaultdict(Decimal)
    on = today()
    # Rows under two addresses of one account are one person: one row per course, one name.
    account_on_course: dict[tuple[str, int], RosterRow] = {}
    account_first: dict[int, RosterRow] = {}
    for row in candidates:
        course = courses.get(row.course_code)
        described = details[row.course_code]
        program = programs[row.program_code.upper()]
        user = users.get(row.email)
        start = described.start_date or (course.start_date if course else described.end_date)
        end = described.end_date or (course.end_date if course else None)
        problem = None
        if scope and scope.left:
            problem = (
                "course_code",
                NO_LONGER_A_MEMBER.format(organisation=scope.organisation_name),
            )
        elif scope and course and course.organisation_id != scope.organisation_id:
            problem = (
                "course_code",
                OTHER_ORGANISATION.format(code=course.code, organisation=scope.organisation_name),
            )
        elif (
            scope
            and course
            and scope.trainer_id is not None
            and scope.trainer_id not in trainers.get(course.pk, ())
        ):
            problem = (
                "course_code",
                NOT_YOUR_COURSE.format(code=course.code, organisation=scope.organisation_name),
            )
        elif scope and course and _moves_dates(described, course):
            problem = (
                "end_date" if described.end_date != course.end_date else "start_date",
                STORED_DATES.format(
                    code=course.code,
                    start=formats.day(course.start_date),
                    end=formats.day(course.end_date),
                ),
            )
        elif user and (user.is_staff or user.is_superuser):
            problem = (
                "email",
                str(UNUSABLE_ADDRESS) if scope else STAFF_ACCOUNT.format(email=row.email),
            )
        elif user and user.state == User.State.DEACTIVATED:
            problem = (
                "email",
                str(UNUSABLE_ADDRESS) if scope else DEACTIVATED_ACCOUNT.format(email=row.email),
            )
        elif course and course.program_id != program.pk:
            # Translators: {code} is a course code, {program} a certification's code.
            stored_as = gettext("Course {code} is stored as {program}.")
            problem = ("program", stored_as.format(code=course.code, program=course.program.code))
        elif end is None:
            # Translators: end_date is a column name of the file; {code} a course code.
            needed = gettext("end_date is needed to create course {code}.")
            problem = ("end_date", needed.format(code=row.course_code))
        elif start and start > end:
            # Translators: {code} is a course code, {end} a date (2026-03-02).
            after = gettext("Course {code} would start after it ends ({end}).")
            problem = ("start_date", after.format(code=row.course_code, end=end))
        elif row.completed and end > on:
            # Translators: {code} is a course code, {end} a date (2026-03-02).
            future = gettext("Completed on course {code}, which ends on {end}.")
            problem = ("end_date", future.format(code=row.course_code, end=end))
        elif user and row.member_id:
            stored = memberships.get((user.pk, program.issuer_id))
            if stored and stored != row.member_id:
                # Translators: {email} is an address, {member_id} a membership number.
                stored_id = gettext("{email} is stored with member id {member_id}.")
                problem = ("member_id", stored_id.format(email=row.email, member_id=stored))
        if not problem and user:
            same = account_on_course.get((row.course_code, user.pk))
            first_row = account_first.get(user.pk)
            if same is not None:
                said = NOT_WITH_LINE if scope else SAME_PERSON_SAME_COURSE
                problem = ("email", said.format(line=same.line))
            elif first_row and (clash := _clash(row, first_row, ("first_name", "last_name"))):
                said = NOT_WITH_LINE if scope else SAME_PERSON_OTHER_NAME
                problem = (clash, said.format(line=first_row.line))
        if not problem and user and course:
            _, completed = attendances.get((user.pk, course.pk), (None, False))
            if completed and not row.completed:
                problem = (
                    "completed",
                    gettext(
                        "Already completed and the credential issued; correct it in the admin."
                    ),
                )
        if problem:
            refuse(row, *problem)
            continue
        if user:
            account_on_course[(row.course_code, user.pk)] = row
            account_first.setdefault(user.pk, row)
        report.rows.append(row)
        hours_by_course[row.course_code] = max(hours_by_course[row.course_code], row.hours_attended)

    # Course hours: the most anyone attended, and at least the program's minimum.
    for row in report.rows:
        program = programs[row.program_code.upper()]
        floor = program.min_course_hours or Decimal(1)
        report.course_hours[row.course_code] = max(hours_by_course[row.course_code], floor)
        report.courses[row.course_code] = details[row.course_code]

    report.totals = _totals(report, rows_read, users, courses, attendances, held, programs)
    if scope:
        for key in PRIVATE_TOTALS:
            report.totals.pop(key, None)
    # Each error names who its row is about, as the file wrote it.
    report.errors = sorted(
        (RowError(e.line, e.column, e.message, *who.get(e.line, ("", ""))) for e in errors),
        key=lambda error: (error.line, error.column),
    )
    return report


def _totals(report, rows_read, users, courses, attendances, held, programs) -> dict:
    new_holders = {row.email for row in report.rows if row.email not in users}
    new_courses = {row.course_code for row in report.rows if row.course_code not in courses}
    attendance_changes = unchanged = 0
    to_issue = set()
    for row in report.rows:
        user, course = users.get(row.email), courses.get(row.course_code)
        program = programs[row.program_code.upper()]
        if row.completed and (user is None or (user.pk, program.pk) not in held):
            to_issue.add((row.email, program.pk))
        stored = attendances.get((user.pk, course.pk)) if user and course else None
        same_attendance = stored == (row.hours_attended, row.completed)
        same_holder = user is not None and (user.first_name, user.last_name) == (
            row.first_name,
            row.last_name,
        )
        described = report.courses[row.course_code]
        same_course = course is not None and (
            (described.title or course.title) == course.title
            and (described.trainer or course.trainer) == course.trainer
            and (described.start_date or course.start_date) == course.start_date
            and (described.end_date or course.end_date) == course.end_date
        )
        if same_attendance and same_holder and same_course:
            unchanged += 1
        elif not same_attendance:
            attendance_changes += 1
    return {
        "rows": rows_read,
        "valid_rows": len(report.rows),
        "rows_with_errors": len({error.line for error in report.errors}),
        "new_holders": len(new_holders),
        "new_courses": len(new_courses),
        "attendances": attendance_changes,
        "credentials_to_issue": len(to_issue),
        "unchanged_rows": unchanged,
    }
