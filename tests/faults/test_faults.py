"""No promise broken under faults: every scenario runs once clean (in this process) and once
through two real Celery workers with a fault injected, and must end with the same emails, each
received once (or, where a sender died between the mail server's acceptance and its record,
a copy with the same Message-ID that receiving systems drop), and the same database content.

The faults: a worker killed mid-send, the database stopped for longer than every retry window
during an import and during a reminder run, a connection killed during COPY, the mail server
down then up, the mail server accepting and the sender then killed, and the scheduler skipping
one day and ten. Timings are shortened (conftest.WORKER_ENV); nothing else is faked.
"""

import datetime
import threading
import time

from django.core import mail
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.test import Client
from django.urls import reverse

from credentials.models import (
    Attendance,
    Course,
    Credential,
    Invitation,
    Membership,
    RosterImport,
    Term,
    User,
)
from credentials.roster.imports import roster_import_check, roster_import_queue
from credentials.selectors import today
from credentials.services import credential_issue
from cspo_tracker import formats
from seu_ledger.models import Allocation, Entry, Reminder
from seu_ledger.reminders.services import reminders_record
from seu_ledger.tasks import reminders_run_task
from tests.factories import StaffFactory, UserFactory, program

from .conftest import CLAIM_EXPIRES_SECONDS, LONG_OUTAGE_SECONDS, wait_until

# Reminders are for today: the sweep, like beat's, sends as of today.
ON = today()
DAY = datetime.timedelta(days=1)
REGISTRAR = "registrar@example.com"


def flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def rows(queryset, *fields) -> list[tuple]:
    return sorted(queryset.values_list(*fields), key=repr)


def database_content() -> dict[str, list]:
    """What the work left in the database, by natural keys: no ids, no timestamps, no retry
    counters (a fault adds attempts; it must not change what was done)."""
    return {
        "holders": rows(
            User.objects.filter(is_staff=False).annotate(invited=flag(Q(invited_at__isnull=False))),
            "email",
            "first_name",
            "last_name",
            "state",
            "invited",
        ),
        "memberships": rows(Membership.objects, "holder__email", "issuer__code", "member_id"),
        "courses": rows(
            Course.objects,
            "code",
            "title",
            "program__code",
            "trainer",
            "start_date",
            "end_date",
            "hours",
        ),
        "attendances": rows(
            Attendance.objects, "holder__email", "course__code", "hours_attended", "completed"
        ),
        "credentials": rows(
            Credential.objects,
            "holder__email",
            "program__code",
            "issued_on",
            "source_course__code",
            "verified",
        ),
        "terms": rows(
            Term.objects,
            "credential__holder__email",
            "credential__program__code",
            "sequence",
            "starts_on",
            "ends_on",
            "aligned_from",
        ),
        "entries": rows(
            Entry.objects.annotate(void=flag(Q(voided_at__isnull=False))),
            "holder__email",
            "activity_date",
            "category__code",
            "title",
            "hours",
            "source_course__code",
            "void",
        ),
        "allocations": rows(
            Allocation.objects, "entry__holder__email", "entry__title", "category__code", "hours"
        ),
        "invitations": rows(
            Invitation.objects.annotate(sent=flag(Q(sent_at__isnull=False))),
            "holder__email",
            "sent",
        ),
        "imports": list(
            RosterImport.objects.order_by("pk").values_list(
                "original_name", "status", "rows_total", "rows_done", "summary", "failure"
            )
        ),
        "reminders": rows(
            Reminder.objects,
            "holder__email",
            "term__credential__program__code",
            "days_before",
            "term_ends_on",
            "kind",
            "status",
            "skip_reason",
        ),
    }


def outbox_subjects() -> dict[str, list[str]]:
    """The clean run's emails: each address's subjects, in order sent."""
    out: dict[str, list[str]] = {}
    for message in mail.outbox:
        for to in message.to:
            out.setdefault(to, []).append(message.subject)
    return out


# --- Rosters ---------------------------------------------------------------------------------


def roster(rows_count: int, *, prefix="learner") -> bytes:
    """`rows_count` attendees, 25 to a course, CSPO and CSM courses in turn, every one new."""
    lines = [
        "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,"
        "completed"
    ]
    for index in range(rows_count):
        course = index // 25
        code = "CSPO" if course % 2 == 0 else "CSM"
        start = datetime.date(2025, 3, 3) + datetime.timedelta(days=course)
        lines.append(
            f"{prefix}{index:05d}@example.com,Lee,Learner{index},C-{course:03d},{code},"
            f"{start},{start + DAY},16,yes"
        )
    return ("\n".join(lines) + "\n").encode()


def registrar() -> User:
    return StaffFactory(email=REGISTRAR, is_superuser=True)


def import_roster(data: bytes, name: str = "march.csv") -> RosterImport:
    """Staff upload and confirm a roster; the import goes to the workers (or runs eagerly)."""
    record = roster_import_check(
        data=data, name=name, uploaded_by=User.objects.get(email=REGISTRAR)
    )
    assert record.status == RosterImport.Status.VALIDATED, record.errors
    return roster_import_queue(record=record, only_valid_rows=False)


def clean_import(stage, data: bytes) -> tuple[dict, dict]:
    """The same roster imported with no fault: the content and the emails to expect."""
    with stage.clean_run():
        registrar()
        import_roster(data)
        return database_content(), outbox_subjects()


def slow_writes(stage, table: str, seconds: float, *, each: str) -> None:
    """Each statement (each="STATEMENT") or row (each="ROW") written to `table` takes `seconds`
    longer, a trigger sleeping: a test can act while an import is half-way, or while a COPY
    streams. Content is untouched."""
    when, result = ("AFTER", "NULL") if each == "STATEMENT" else ("BEFORE", "NEW")
    stage.sql(
        f"""
        CREATE FUNCTION slow_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep({seconds}); RETURN {result}; END $$;
        CREATE TRIGGER slow_{table} {when} INSERT ON {table}
        FOR EACH {each} EXECUTE FUNCTION slow_{table}();
        """
    )


def import_status(pk: int) -> RosterImport:
    return RosterImport.objects.get(pk=pk)


def wait_done(pk: int, timeout=90) -> RosterImport:
    wait_until(
        lambda: import_status(pk).status == RosterImport.Status.DONE,
        timeout=timeout,
        what=f"roster import {pk} done",
        explain=lambda: str(
            RosterImport.objects.filter(pk=pk).values("status", "rows_done", "failure").get()
        ),
    )
    return import_status(pk)


def wait_invited(stage, count: int, timeout=60):
    """Wait for `count` invitations to be sent, then a little longer to catch a duplicate."""
    wait_until(
        lambda: Invitation.objects.filter(sent_at__isnull=False).count() >= count,
        timeout=timeout,
        what=f"{count} invitations sent",
    )
    time.sleep(1.5)


def assert_same_as_clean(stage, content: dict, subjects: dict) -> None:
    assert database_content() == content
    assert stage.smtp.subjects() == subjects
    # Each email arrived once: not even a copy with the same Message-ID.
    assert set(stage.smtp.copies().values()) == {1}


def test_an_import_outlives_a_database_outage_longer_than_its_retries(stage):
    """Fault 2: the database stops mid-import for longer than the task's retries (and than
    the write of its end); the import must not stay "Applying" for good: once the database
    is back, the sweep takes it over and it ends as a clean run does."""
    from credentials.tasks import roster_imports_sweep_task

    data = roster(600)
    content, subjects = clean_import(stage, data)
    registrar()
    slow_writes(stage, "credentials_attendance", 0.25, each="STATEMENT")
    stage.start_workers(2)
    record = import_roster(data)
    wait_until(lambda: import_status(record.pk).rows_done >= 200, what="200 rows applied")
    stage.outage(LONG_OUTAGE_SECONDS)
    # Every retry has run out by now: the import is left applying, with its claim expiring.
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    stuck = import_status(record.pk)
    assert stuck.status == RosterImport.Status.APPLYING
    assert stuck.is_stuck()
    roster_imports_sweep_task.delay()  # what beat runs every five minutes
    done = wait_done(record.pk)
    assert done.failure == ""
    wait_invited(stage, 600)
    assert_same_as_clean(stage, content, subjects)


def test_a_connection_killed_during_copy_is_retried_and_the_import_completes(stage):
    """Fault 3: the connection dies while COPY streams rows in; the driver's error must be
    retried like any other database error, not fail the import."""
    data = roster(400)
    content, subjects = clean_import(stage, data)
    registrar()
    slow_writes(stage, "credentials_term", 0.01, each="ROW")  # a COPY of 100 terms lasts a second
    stage.start_workers(2)
    killed = []

    def kill_first_copy():
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            killed.extend(
                stage.sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{stage.database}' AND state = 'active' "
                    "AND query LIKE 'COPY %credentials_term%'"
                )
            )
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_copy)
    killer.start()
    record = import_roster(data)
    killer.join()
    assert killed == [(True,)]
    done = wait_done(record.pk)
    assert done.failure == ""
    wait_invited(stage, 400)
    assert_same_as_clean(stage, content, subjects)


def test_running_an_import_again_after_its_worker_died_counts_both_runs(stage):
    """Fault 4 (and a worker killed mid-import): both workers are killed half-way; staff run
    the import again. The page says the truth at each step, and the summary counts everything
    the import changed, as a clean run does, not only the second run's share."""
    data = roster(600)
    content, subjects = clean_import(stage, data)
    staff = registrar()
    slow_writes(stage, "credentials_attendance", 0.25, each="STATEMENT")
    stage.start_workers(2)
    record = import_roster(data)
    browser = Client()
    browser.force_login(staff)
    apply_url = reverse("roster:apply", args=[record.pk])
    detail_url = reverse("roster:detail", args=[record.pk])
    wait_until(lambda: import_status(record.pk).rows_done >= 200, what="200 rows applied")
    stage.kill_all()
    done_before = import_status(record.pk).rows_done
    # Before its claim expires, "run again" says it is being applied, and queues nothing.
    page = browser.post(apply_url, follow=True).content.decode()
    assert f"being applied now ({done_before} of 600 rows)" in page
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    page = browser.get(detail_url).content.decode()
    assert "No progress since" in page
    assert "Run the import again" in page
    stage.start_workers(2)
    page = browser.post(apply_url, follow=True).content.decode()
    assert "Import queued" in page
    done = wait_done(record.pk)
    assert done.rows_done == 600
    assert done.summary == content["imports"][0][4]
    assert done.summary["holders_created"] == 600
    page = browser.post(apply_url, follow=True).content.decode()
    assert "This roster was applied already" in page
    wait_invited(stage, 600)
    assert_same_as_clean(stage, content, subjects)


def test_an_invitation_is_sent_once_when_the_sender_dies_while_sending(stage):
    """Fault 5: the worker dies while the mail server holds its first invitation at RCPT;
    nothing went, and the sweep sends every invitation exactly once."""
    from credentials.tasks import invitations_sweep_task

    data = roster(6)
    content, subjects = clean_import(stage, data)
    registrar()
    stage.smtp.hold_rcpt = 30
    stage.start_workers(2)
    record = import_roster(data)
    wait_until(lambda: stage.smtp.held_peers, what="an invitation held at RCPT")
    stage.kill(stage.worker_on_port(stage.smtp.held_peers[0]))
    stage.smtp.hold_rcpt = 0
    assert wait_done(record.pk).status == RosterImport.Status.DONE
    assert stage.smtp.messages == []
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    invitations_sweep_task.delay()
    wait_invited(stage, 6)
    assert stage.smtp.per_recipient() == {
        f"learner{index:05d}@example.com": 1 for index in range(6)
    }
    assert_same_as_clean(stage, content, subjects)


# --- Reminders -------------------------------------------------------------------------------


def holder_with(email: str, code: str, ends_on: datetime.date) -> User:
    """A holder whose credential of `code` has a term ending on `ends_on`."""
    holder = UserFactory(email=email, first_name="Pat", last_name="Owner")
    credential = credential_issue(
        holder=holder, program=program(code), issued_on=ends_on - datetime.timedelta(days=730)
    )
    Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return holder


def reminder_holders(count: int, ends_on=ON + 7 * DAY) -> list[str]:
    emails = [f"holder{index}@example.com" for index in range(count)]
    for address in emails:
        holder_with(address, "CSPO", ends_on)
    return emails


def clean_reminders(stage, make, *days) -> tuple[dict, dict]:
    """The daily run on each of `days`, with no fault: content and emails to expect."""
    with stage.clean_run():
        make()
        for day in days:
            reminders_run_task.delay(day.isoformat())
        return database_content(), outbox_subjects()


def settled_reminders(stage, count: int, timeout=60) -> None:
    """Wait until every reminder is sent or skipped and `count` emails arrived, then a little
    longer to catch a duplicate."""
    wait_until(
        lambda: (
            len(stage.smtp.messages) >= count
            and not Reminder.objects.exclude(
                status__in=[Reminder.Status.SENT, Reminder.Status.SKIPPED]
            ).exists()
        ),
        timeout=timeout,
        what=f"{count} reminder emails and every reminder settled",
        explain=lambda: (
            f"received {[str(message['To']) for message in stage.smtp.messages]}, reminders "
            f"{list(Reminder.objects.values_list('holder__email', 'status', 'last_error'))}"
        ),
    )
    time.sleep(1.5)


def test_no_grace_program_holders_hear_of_the_end_when_the_scheduler_skips_days(stage):
    """Fault 1: a CSPO (no grace) whose last day the scheduler skipped must still hear, once,
    that it expired and how to reinstate it; so must the nine whose terms ended in a 10-day gap,
    even with a 7- or 30-day reminder still pending for them. A CSP-PO (grace) beside them gets
    its grace email as before."""
    skip_to = ON + 120 * DAY
    gap = [f"gap{index}@example.com" for index in range(9)]

    def make():
        holder_with("one-day@example.com", "CSPO", ON + DAY)
        holder_with("grace@example.com", "CSP-PO", ON + DAY)
        for index, address in enumerate(gap):
            holder_with(address, "CSPO", skip_to + (index + 1) * DAY)

    def schedule(run):
        run(ON)
        run(ON + 2 * DAY)  # nothing ran on the last day of the two terms ending ON + 1
        # On skip_to the beat recorded the 7- and 30-day reminders, and their sending jobs were
        # lost; then nothing ran for ten days, while the nine terms ended.
        reminders_record(on=skip_to)
        run(skip_to + 11 * DAY)

    sent_after_each_run = []

    def in_process(day):
        reminders_run_task.delay(day.isoformat())
        sent_after_each_run.append(len(mail.outbox))

    with stage.clean_run():
        make()
        schedule(in_process)
        content, subjects = database_content(), outbox_subjects()
    make()
    stage.start_workers(2)
    expected = iter(sent_after_each_run)

    def through_workers(day):
        reminders_run_task.delay(day.isoformat())
        settled_reminders(stage, next(expected))

    schedule(through_workers)
    expired = "CSPO has expired: here is how to reinstate it"
    assert subjects["one-day@example.com"][-1] == expired
    assert len(subjects["one-day@example.com"]) == 2
    assert {address: subjects[address] for address in gap} == {
        address: [expired] for address in gap
    }
    ended = ON + DAY
    assert subjects["grace@example.com"][1].startswith(f"CSP-PO ended on {formats.day(ended)}")
    assert_same_as_clean(stage, content, subjects)


def test_a_sender_killed_after_the_mail_server_accepted_resends_with_the_same_message_id(stage):
    """Fault 6: the worker dies right after the mail server accepted a reminder, before it
    could record it. The copy sent after its claim expires carries the same Message-ID, so
    the holder's mail system keeps one; everyone else gets exactly one email."""
    from seu_ledger.tasks import reminders_sweep_task

    content, subjects = clean_reminders(stage, lambda: reminder_holders(4), ON)
    emails = reminder_holders(4)
    stage.smtp.on_accept = lambda port: stage.kill(stage.worker_on_port(port))
    stage.start_workers(2)
    reminders_run_task.delay(ON.isoformat())
    wait_until(lambda: stage.smtp.messages, what="the first reminder accepted")
    first = str(stage.smtp.messages[0]["To"])
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    reminders_sweep_task.delay()
    settled_reminders(stage, 5)
    assert stage.smtp.per_recipient() == {
        address: 2 if address == first else 1 for address in emails
    }
    assert stage.smtp.ids_per_recipient() == dict.fromkeys(emails, 1)
    assert database_content() == content
    assert stage.smtp.subjects() == subjects


def test_a_sender_killed_mid_send_leaves_nothing_half_way(stage):
    """The worker dies while the mail server holds its message at RCPT: nothing was sent;
    the sweep sends it, and each holder gets exactly one email."""
    from seu_ledger.tasks import reminders_sweep_task

    content, subjects = clean_reminders(stage, lambda: reminder_holders(4), ON)
    reminder_holders(4)
    stage.smtp.hold_rcpt = 30
    stage.start_workers(2)
    reminders_run_task.delay(ON.isoformat())
    wait_until(lambda: stage.smtp.held_peers, what="a reminder held at RCPT")
    stage.kill(stage.worker_on_port(stage.smtp.held_peers[0]))
    stage.smtp.hold_rcpt = 0
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    reminders_sweep_task.delay()
    settled_reminders(stage, 4)
    assert_same_as_clean(stage, content, subjects)


def test_a_mail_server_down_then_up_gets_each_reminder_once(stage):
    content, subjects = clean_reminders(stage, lambda: reminder_holders(3), ON)
    reminder_holders(3)
    stage.smtp.stop()
    stage.start_workers(2)
    reminders_run_task.delay(ON.isoformat())
    wait_until(
        lambda: Reminder.objects.filter(status=Reminder.Status.FAILED).count() == 3,
        what="every send refused",
    )
    stage.smtp.start()
    settled_reminders(stage, 3)
    assert_same_as_clean(stage, content, subjects)
    assert min(Reminder.objects.values_list("attempts", flat=True)) >= 2


def test_a_database_outage_during_a_reminder_run_sends_each_email_once(stage):
    """The database stops right after the mail server accepted a reminder, for longer than
    the write of its record and the task's retries. Nothing is lost and nothing sent again
    under a new Message-ID: the email in flight is sent again with the same one (receiving
    systems drop it), every other holder gets exactly one."""
    from seu_ledger.tasks import reminders_sweep_task

    content, subjects = clean_reminders(stage, lambda: reminder_holders(5), ON)
    emails = reminder_holders(5)
    stopped = threading.Event()

    def stop_database(port):
        stage.smtp.label = "database down"
        stage.stop_database()
        stopped.set()

    stage.smtp.on_accept = stop_database
    stage.start_workers(2)
    reminders_run_task.delay(ON.isoformat())
    assert stopped.wait(60)
    time.sleep(LONG_OUTAGE_SECONDS)
    stage.start_database()
    stage.smtp.label = ""
    time.sleep(CLAIM_EXPIRES_SECONDS + 0.5)
    reminders_sweep_task.delay()
    settled_reminders(stage, 5)
    in_flight = {str(stage.smtp.messages[0]["To"])} | {
        str(message["To"])
        for message, label in zip(stage.smtp.messages, stage.smtp.accepted_while, strict=True)
        if label
    }
    assert stage.smtp.per_recipient() == {
        address: 2 if address in in_flight else 1 for address in emails
    }
    assert stage.smtp.ids_per_recipient() == dict.fromkeys(emails, 1)
    assert database_content() == content
    assert stage.smtp.subjects() == subjects
