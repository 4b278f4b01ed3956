"""The claim pattern every job uses: one owner at a time, an expiry, an end that outlasts a
database restart, retries that double."""

import datetime

import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from cspo_tracker.claims import claim, durable, new_owner, retry_countdown
from seu_ledger.models import Reminder
from tests.factories import UserFactory
from tests.seu_ledger.test_reminders import issue

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC)
EXPIRES = datetime.timedelta(minutes=10)


@pytest.fixture
def reminders():
    holder = UserFactory()
    term = issue(holder, "CSPO", datetime.date(2026, 6, 8)).terms.get()
    Reminder.objects.create(
        holder=holder, term=term, days_before=7, term_ends_on=term.ends_on, created_at=NOW
    )
    return Reminder.objects.all()


def test_two_owners_never_hold_the_same_rows(reminders):
    first, second = new_owner(), new_owner()
    assert first != second
    assert claim(reminders, owner=first, expires=EXPIRES, now=NOW) == 1
    assert claim(reminders, owner=second, expires=EXPIRES, now=NOW) == 0
    later = NOW + EXPIRES - datetime.timedelta(seconds=1)
    assert claim(reminders, owner=second, expires=EXPIRES, now=later) == 0
    assert reminders.get().claim_token == first


def test_a_claim_past_its_expiry_goes_to_the_next_owner(reminders):
    first, second = new_owner(), new_owner()
    claim(reminders, owner=first, expires=EXPIRES, now=NOW)
    later = NOW + EXPIRES + datetime.timedelta(seconds=1)
    assert claim(reminders, owner=second, expires=EXPIRES, now=later, attempts=3) == 1
    taken = reminders.get()
    assert (taken.claim_token, taken.claimed_at, taken.attempts) == (second, later, 3)


def test_a_durable_write_outlasts_a_database_that_does_not_answer_for_a_while():
    calls = []

    def write():
        calls.append(timezone.now())
        if len(calls) < 3:
            raise OperationalError("the database system is starting up")
        return "written"

    assert durable(write, what="test", seconds=5) == "written"
    assert len(calls) == 3


def test_a_durable_write_gives_up_when_its_time_is_up_and_never_retries_a_refusal():
    calls = []

    def down():
        calls.append(1)
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        durable(down, what="test", seconds=0.5)
    assert 2 <= len(calls) <= 3  # 0.2 s, then 0.4 s would pass the deadline

    def refused():
        calls.append(1)
        raise IntegrityError("duplicate key")

    calls.clear()
    with pytest.raises(IntegrityError):
        durable(refused, what="test", seconds=5)
    assert calls == [1]


def test_retries_double_from_the_base_up_to_thirty_times_it(settings):
    settings.TASK_RETRY_BASE_SECONDS = 2
    assert [retry_countdown(n) for n in range(8)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert sum(retry_countdown(n) for n in range(8)) == 242  # about four minutes
    assert retry_countdown(0, base=60) == 60


@pytest.mark.django_db(transaction=True)
def test_owners_racing_for_the_same_rows_at_the_same_moment_get_them_once(reference_data):
    """Eight threads, each on its own database connection, claim the same row at once, ten
    times over: each time exactly one wins."""
    import threading

    from django.db import connection

    holder = UserFactory()
    term = issue(holder, "CSPO", datetime.date(2026, 6, 8)).terms.get()
    Reminder.objects.create(
        holder=holder, term=term, days_before=7, term_ends_on=term.ends_on, created_at=NOW
    )
    for _ in range(10):
        Reminder.objects.update(claim_token="", claimed_at=None)
        start = threading.Barrier(8)
        won = []

        def race(start, won):
            try:
                start.wait()
                won.append(claim(Reminder.objects.all(), owner=new_owner()))
            finally:
                connection.close()

        threads = [threading.Thread(target=race, args=(start, won)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(won) == [0] * 7 + [1]
