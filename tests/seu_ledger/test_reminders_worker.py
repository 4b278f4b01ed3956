"""Reminders through real Celery workers on Redis, sending to a local SMTP server."""

import datetime
import time
from decimal import Decimal

import pytest

from credentials.models import Term
from credentials.services import credential_issue
from seu_ledger.models import Reminder
from seu_ledger.services import entry_log
from seu_ledger.tasks import reminders_run_task
from tests.conftest import celery_worker_start, celery_worker_stop
from tests.factories import UserFactory, category, program
from tests.services import skip_unless_redis

ON = datetime.date(2026, 6, 1)


@pytest.fixture
def workers(reference_data, smtp_sink):
    """Start n workers that send through the sink and retry a failed send after 1 s, 2 s..."""
    skip_unless_redis()
    started = []

    def start(n=1):
        for _ in range(n):
            started.append(
                celery_worker_start(TEST_WORKER_EMAIL_URL=smtp_sink.url, REMINDER_RETRY_SECONDS="1")
            )

    yield start
    for process in started:
        celery_worker_stop(process)


def holder_with_cspo(ends_on, code="CSPO", **fields):
    holder = UserFactory(**fields)
    credential = credential_issue(
        holder=holder, program=program(code), issued_on=ends_on - datetime.timedelta(days=730)
    )
    Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return holder, credential


def wait_until(condition, timeout=45, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(sink, expected, quiet=1.5):
    """Wait for `expected` messages, then a little longer to catch any duplicate."""
    wait_until(lambda: len(sink.messages) >= expected, what=f"{expected} message(s)")
    time.sleep(quiet)
    return sink.messages


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_two_runs_at_once_on_two_workers_send_each_reminder_once(workers, smtp_sink):
    holders = [holder_with_cspo(ON + datetime.timedelta(days=7))[0] for _ in range(12)]
    workers(2)
    reminders_run_task.delay(ON.isoformat())
    reminders_run_task.delay(ON.isoformat())
    messages = settled(smtp_sink, len(holders))
    assert sorted(m["To"] for m in messages) == sorted(h.email for h in holders)
    wait_until(lambda: not Reminder.objects.exclude(status=Reminder.Status.SENT).exists())
    assert Reminder.objects.count() == len(holders)
    # And a third run, the same day, sends nothing more.
    reminders_run_task.delay(ON.isoformat())
    time.sleep(3)
    assert len(smtp_sink.messages) == len(holders)


def test_a_mail_server_failing_twice_then_accepting_gets_the_reminder_once(workers, smtp_sink):
    holder, _ = holder_with_cspo(ON + datetime.timedelta(days=30))
    smtp_sink.refuse_next = 2
    workers(1)
    reminders_run_task.delay(ON.isoformat())
    messages = settled(smtp_sink, 1, quiet=4)
    assert smtp_sink.refused == 2
    assert [m["To"] for m in messages] == [holder.email]
    reminder = Reminder.objects.get()
    assert reminder.status == Reminder.Status.SENT
    assert reminder.attempts == 3
    assert reminder.last_error == ""


def test_after_ten_missed_days_one_run_sends_the_single_right_reminder(workers, smtp_sink):
    ends_on = ON + datetime.timedelta(days=30)
    holder, _ = holder_with_cspo(ends_on, code="CSP-PO")  # 90 days of grace
    workers(1)
    reminders_run_task.delay(ON.isoformat())
    settled(smtp_sink, 1, quiet=0)
    # Nothing runs from 9 days before the end to 1 day after: the 7-day and last-day points
    # are missed. The next run sends one email, about where the holder is now: in grace.
    reminders_run_task.delay((ends_on + datetime.timedelta(days=1)).isoformat())
    first, second = settled(smtp_sink, 2)
    assert first["Subject"] == "CSP-PO ends in 30 days: 40 SEU to go"
    assert second["Subject"] == "CSP-PO ended on 1 Jul 2026: renew within the grace period"
    assert "89 days left in the grace period" in parts(second)[0]
    rows = Reminder.objects.order_by("-days_before").values_list("days_before", "kind", "status")
    assert list(rows) == [
        (30, Reminder.Kind.UNITS_SHORT, Reminder.Status.SENT),
        (0, Reminder.Kind.IN_GRACE, Reminder.Status.SENT),
    ]


def test_an_unsubscribed_holder_still_gets_the_expiry_day_email(workers, smtp_sink):
    ends_on = ON + datetime.timedelta(days=7)
    holder, _ = holder_with_cspo(
        ends_on, reminders_unsubscribed_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    workers(1)
    reminders_run_task.delay(ON.isoformat())  # 7 days before: optional, not sent
    reminders_run_task.delay(ends_on.isoformat())  # the last day: sent anyway
    [message] = settled(smtp_sink, 1)
    assert message["To"] == holder.email
    assert message["Subject"] == "CSPO expires today"
    text, html = parts(message)
    assert "You unsubscribed from optional reminders" in text
    assert list(Reminder.objects.values_list("days_before", flat=True)) == [0]


def test_both_parts_of_the_email_carry_the_figures_and_the_links(workers, smtp_sink):
    holder, credential = holder_with_cspo(ON + datetime.timedelta(days=30), first_name="Robin")
    for day, hours in ((ON - datetime.timedelta(days=40), "8"), (ON, "3.25")):
        entry_log(
            holder=holder,
            activity_date=day,
            category=category("scrum-alliance:learning"),
            title="Backlog refinement workshop",
            hours=Decimal(hours),
        )
    workers(1)
    reminders_run_task.delay(ON.isoformat())
    [message] = settled(smtp_sink, 1)
    assert message["Subject"] == "CSPO ends in 30 days: 8.75 SEU to go"
    assert (
        message["List-Unsubscribe"].strip().startswith("<http://testserver/reminders/unsubscribe/")
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    for part in (text, html):
        assert "Hello Robin" in part
        assert "30 days left" in part
        assert "11.25 of 20 counted" in part
        assert "8.75 missing" in part
        assert "Renewal fee of US$100: not paid yet." in part
        assert "http://testserver/activities/new/" in part
        assert "http://testserver/dashboard/" in part
        assert "http://testserver/reminders/unsubscribe/" in part
    assert '<a href="http://testserver/activities/new/"' in html
