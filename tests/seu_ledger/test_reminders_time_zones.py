"""Reminders at each holder's local hour: the hourly run across UTC-10, UTC+14, DST change days
and the site's own zone, each reminder exactly once."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail

from credentials.models import Term
from credentials.services import credential_issue
from seu_ledger.models import Reminder
from seu_ledger.reminders.selectors import reminder_zones_due
from seu_ledger.reminders.services import reminders_due_now, reminders_record, reminders_send
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
UTC = datetime.UTC


def holder_in(zone: str, point_day: datetime.date, **fields):
    """A holder in `zone` whose CSPO reaches its 7-days-before reminder on `point_day` (their
    local date), with every earlier reminder already sent."""
    holder = UserFactory(time_zone=zone, **fields)
    ends_on = point_day + datetime.timedelta(days=7)
    with time_machine.travel(datetime.datetime(2020, 1, 2, tzinfo=UTC), tick=False):
        credential = credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2020, 1, 1)
        )
    Term.objects.filter(credential=credential).update(ends_on=ends_on)
    # The 30-days-before reminder went out long ago: only the 7-day one is left to send.
    reminders_record(on=point_day - DAY)
    Reminder.objects.filter(holder=holder).update(status=Reminder.Status.SENT)
    return holder


def hourly_runs(start: datetime.datetime, hours: int, *, twice: bool = False):
    """Run the hourly job (in process: record, then send to the batch) at minute 0 of every
    hour from `start`, the clock moved there; with `twice`, two runs each hour (two beats).
    Returns [(UTC instant, recipient)] for every email sent."""
    sent = []
    for hour in range(hours):
        at = start + hour * HOUR
        with time_machine.travel(at + datetime.timedelta(seconds=7), tick=False):
            for _ in range(2 if twice else 1):
                before = len(mail.outbox)
                for batch in reminders_due_now():
                    reminders_send(holder_ids=batch.holder_ids, on=batch.on)
                sent += [(at, message.to[0]) for message in mail.outbox[before:]]
    return sent


def local(at: datetime.datetime, zone: str) -> datetime.datetime:
    return at.astimezone(zoneinfo.ZoneInfo(zone))


@pytest.mark.parametrize(
    ("zone", "point_day"),
    [
        ("Pacific/Honolulu", datetime.date(2026, 6, 3)),  # UTC-10: 06:00 is 16:00 UTC
        (
            "Pacific/Kiritimati",
            datetime.date(2026, 6, 3),
        ),  # UTC+14: 06:00 is 16:00 UTC the day before
        ("America/New_York", datetime.date(2026, 3, 8)),  # clocks spring forward at 02:00
        ("Europe/Berlin", datetime.date(2026, 10, 25)),  # clocks fall back at 03:00
        ("Australia/Lord_Howe", datetime.date(2026, 10, 4)),  # a half-hour DST change
        ("Asia/Kathmandu", datetime.date(2026, 6, 3)),  # UTC+05:45
    ],
)
def test_each_holder_gets_the_reminder_once_at_six_local_on_their_own_date(zone, point_day):
    holder = holder_in(zone, point_day)
    start = datetime.datetime.combine(point_day - 2 * DAY, datetime.time(), tzinfo=UTC)
    sent = hourly_runs(start, hours=4 * 24, twice=True)

    assert [to for _at, to in sent] == [holder.email]
    at = sent[0][0]
    when = local(at, zone)
    assert when.date() == point_day
    # At the hour's start for whole-hour zones; within the hour after 06:00 for the others.
    assert datetime.time(6) <= when.time() < datetime.time(7)
    (reminder,) = Reminder.objects.filter(holder=holder, status=Reminder.Status.SENT, days_before=7)
    assert reminder.sent_at == at + datetime.timedelta(seconds=7)
    body = mail.outbox[-1].body
    assert "7 days left" in body


def test_holders_on_both_sides_of_the_date_line_get_the_same_point_a_day_apart():
    point_day = datetime.date(2026, 6, 3)
    west = holder_in("Pacific/Honolulu", point_day)  # UTC-10
    east = holder_in("Pacific/Kiritimati", point_day)  # UTC+14
    site = holder_in("", point_day)  # the site's zone: UTC in the tests
    start = datetime.datetime(2026, 6, 1, tzinfo=UTC)
    sent = {to: at for at, to in hourly_runs(start, hours=4 * 24)}

    assert sent == {
        # 06:00 on 3 June in Kiritimati is 16:00 UTC on 2 June ...
        east.email: datetime.datetime(2026, 6, 2, 16, tzinfo=UTC),
        # ... in the site's zone, 06:00 UTC on 3 June ...
        site.email: datetime.datetime(2026, 6, 3, 6, tzinfo=UTC),
        # ... and in Honolulu, 16:00 UTC on 3 June: a whole day after Kiritimati.
        west.email: datetime.datetime(2026, 6, 3, 16, tzinfo=UTC),
    }


def test_a_late_beat_covers_the_same_hour_and_a_missed_day_is_caught_up_the_next():
    point_day = datetime.date(2026, 6, 3)
    holder = holder_in("Pacific/Honolulu", point_day)
    six_local = datetime.datetime(2026, 6, 3, 16, tzinfo=UTC)

    # The beat fires 40 minutes late: that run still covers 15:00-16:00 UTC.
    assert reminder_zones_due(six_local + datetime.timedelta(minutes=40)) == {
        point_day: ["Pacific/Honolulu"]
    }
    # A run exactly at 16:00 covers it too; the next hour's run does not.
    assert reminder_zones_due(six_local) == {point_day: ["Pacific/Honolulu"]}
    assert reminder_zones_due(six_local + HOUR) == {}

    # The workers were down through that hour: nothing sent that day; the next morning the
    # missed point is caught up, once.
    sent = hourly_runs(six_local + HOUR, hours=2 * 24)
    assert [(local(at, "Pacific/Honolulu"), to) for at, to in sent] == [
        (
            datetime.datetime(2026, 6, 4, 6, tzinfo=zoneinfo.ZoneInfo("Pacific/Honolulu")),
            holder.email,
        )
    ]
    assert Reminder.objects.filter(holder=holder, status=Reminder.Status.SENT).count() == 2


def test_a_holder_who_moves_zone_is_not_reminded_twice_the_same_day():
    point_day = datetime.date(2026, 6, 3)
    holder = holder_in("Pacific/Kiritimati", point_day)
    start = datetime.datetime(2026, 6, 2, 12, tzinfo=UTC)
    first = hourly_runs(start, hours=6)  # 06:00 in Kiritimati: sent
    assert [to for _at, to in first] == [holder.email]

    holder.time_zone = "Pacific/Honolulu"  # 24 hours behind: its 06:00 on 3 June is yet to come
    holder.save(update_fields=["time_zone"])
    assert hourly_runs(start + 6 * HOUR, hours=2 * 24) == []


def test_the_reminder_email_is_in_the_holders_language_and_dates():
    point_day = datetime.date(2026, 6, 3)
    holder = holder_in("Europe/Berlin", point_day, language="de")
    hourly_runs(datetime.datetime(2026, 6, 3, 3, tzinfo=UTC), hours=3)

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert "10. Juni 2026" in message.body  # the last day, in German
    assert 'lang="de"' in html
    assert holder.email in message.to
