"""Webhooks end to end, against a real local HTTP receiver: Standard Webhooks signatures
checked with its own library, retries with backoff for a day after 500s and timeouts, the
endpoint paused and staff told, event order per credential, nothing for a rolled-back
change, and exactly one delivery per event and endpoint with two real Celery workers."""

import datetime
import json
import time
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from api import events, webhooks
from api.models import Delivery, Event
from credentials.roster.imports import roster_import_apply, roster_import_check, roster_import_queue
from credentials.services import credential_issue, credential_revoke
from seu_ledger.services import credential_renew, entry_log, fee_waive
from tests.conftest import celery_worker_start, celery_worker_stop
from tests.factories import StaffFactory, UserFactory, category, program

from .receiver import start_receiver

ALL = sorted(events.EVENT_TYPES)


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    server.server.shutdown()


def endpoint_for(receiver, types=ALL, **fields):
    return webhooks.endpoint_create(url=receiver.url, events=list(types), **fields)


def verified(endpoint, received) -> dict:
    """The payload, after the Standard Webhooks library checked its signature."""
    return Webhook(endpoint.secret).verify(received.body, received.headers)


def issue(email="h@example.com", code="CSPO", on=datetime.date(2026, 1, 10)):
    return credential_issue(holder=UserFactory(email=email), program=program(code), issued_on=on)


@pytest.mark.django_db
def test_an_issued_credential_is_delivered_signed(receiver):
    endpoint = endpoint_for(receiver, ["credential.issued"])
    credential = issue()
    [delivery] = Delivery.objects.all()
    webhooks.deliver(delivery.pk)
    [got] = receiver.wait_for(1)
    payload = verified(endpoint, got)
    assert payload["type"] == "credential.issued"
    assert payload["data"]["id"] == credential.pk
    assert payload["data"]["holder"]["email"] == "h@example.com"
    assert payload["data"]["terms"][0]["ends_on"] == "2028-01-10"
    assert got.headers["webhook-id"] == f"msg_{delivery.event_id}"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [t.status_code for t in delivery.tries.all()] == [200]
    # A forged body fails the receiver's check.
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint.secret).verify(got.body.replace(b"h@example", b"x@example"), got.headers)


@pytest.mark.django_db
def test_an_endpoint_only_gets_the_events_it_wants(receiver):
    endpoint_for(receiver, ["credential.revoked"])
    credential = issue()
    assert not Event.objects.exists()  # nobody wanted credential.issued: nothing written
    credential_revoke(credential=credential, reason="Error", by=None)
    credential_revoke(credential=credential, reason="Again", by=None)
    assert list(Event.objects.values_list("type", flat=True)) == ["credential.revoked"]


@transaction.atomic
def _issue_then_fail(email):
    """A request that issued a credential, then failed: its transaction rolls back."""
    issue(email=email)
    raise RuntimeError("the request failed after issuing")


@pytest.mark.django_db
def test_a_rolled_back_change_writes_no_event(receiver):
    endpoint_for(receiver)
    with pytest.raises(RuntimeError):
        _issue_then_fail("h@example.com")
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_retried_after_a_500_and_a_timeout_with_backoff(receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.5)
    receiver.hold_seconds = 1.5
    receiver.script = [500, "timeout"]
    endpoint = endpoint_for(receiver, ["credential.issued"])
    issue()
    [delivery] = Delivery.objects.all()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        webhooks.deliver(delivery.pk)
        verified(endpoint, receiver.wait_for(1)[-1])
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.RETRYING
        assert delivery.next_attempt_at == start + datetime.timedelta(seconds=5)
        assert webhooks.deliver(delivery.pk) is None  # not due yet: nothing sent
        clock.move_to(delivery.next_attempt_at)
        webhooks.deliver(delivery.pk)
        verified(endpoint, receiver.wait_for(2)[-1])
        delivery.refresh_from_db()
        assert delivery.last_error.startswith("No answer")
        assert delivery.next_attempt_at == timezone.now() + datetime.timedelta(minutes=5)
        clock.move_to(delivery.next_attempt_at)
        webhooks.deliver(delivery.pk)
        verified(endpoint, receiver.wait_for(3)[-1])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [t.status_code for t in delivery.tries.order_by("pk")] == [500, None, 200]
    got = receiver.received
    assert len({r.headers["webhook-id"] for r in got}) == 1  # the same message each time


@pytest.mark.django_db
def test_failing_for_a_day_fails_the_delivery_pauses_the_endpoint_and_tells_staff(
    receiver, django_capture_on_commit_callbacks
):
    receiver.script = [500] * 20
    manager = StaffFactory(email="ops@example.com", is_superuser=True)
    endpoint = endpoint_for(receiver, ["credential.issued"], created_by=manager)
    issue()
    [delivery] = Delivery.objects.all()
    start = timezone.now()
    times = []
    with time_machine.travel(start, tick=False) as clock:
        while True:
            times.append(timezone.now())
            with django_capture_on_commit_callbacks(execute=True):
                webhooks.deliver(delivery.pk)
            delivery.refresh_from_db()
            if delivery.status == Delivery.Status.FAILED:
                break
            clock.move_to(delivery.next_attempt_at)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert gaps[:6] == list(webhooks.RETRY_DELAYS)
    assert times[-1] - times[0] == datetime.timedelta(days=1)  # the last try, a day on
    assert delivery.attempts == 8
    endpoint.refresh_from_db()
    assert endpoint.paused_at is not None
    assert "failed for a day" in endpoint.paused_reason
    [told] = [m for m in mail.outbox if "paused" in m.subject]
    assert told.to == ["ops@example.com"]
    assert receiver.url in told.body
    # While paused, new events wait in the log instead of being sent.
    issue(email="second@example.com")
    waiting = Delivery.objects.exclude(pk=delivery.pk).get()
    assert webhooks.deliver(waiting.pk) is None
    # Staff resume it once the receiver is back: what failed and what waited both go.
    receiver.script = []
    with django_capture_on_commit_callbacks(execute=False):
        webhooks.endpoint_update(endpoint=endpoint, paused=False)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 0)
    webhooks.deliver(delivery.pk)
    webhooks.deliver(waiting.pk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}


def _renewable(holder):
    """A CSPO with 24 SEU logged and its fee waived: ready to renew on 1 March 2026."""
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    for day in range(1, 4):
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 6, day),
            category=category("scrum-alliance:learning"),
            title=f"Day {day}",
            hours=Decimal(8),
        )
    fee_waive(credential=credential, recorded_by=StaffFactory(), reason="test")
    return credential


@pytest.mark.django_db
def test_issued_goes_before_renewed_for_one_credential(receiver):
    endpoint = endpoint_for(receiver, ["credential.issued", "credential.renewed"])
    receiver.script = [503]
    with time_machine.travel(datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC), tick=False):
        credential = _renewable(UserFactory())
        credential_renew(credential=credential, on=datetime.date(2026, 3, 1))
    issued, renewed = Delivery.objects.order_by("pk")
    assert issued.event.type == "credential.issued"
    webhooks.deliver(issued.pk)  # 503: it will be retried
    assert webhooks.deliver(renewed.pk) is None  # waits for the issued one
    assert webhooks.deliver(renewed.pk) is None
    Delivery.objects.filter(pk=issued.pk).update(next_attempt_at=timezone.now())
    webhooks.deliver(issued.pk)
    webhooks.deliver(renewed.pk)
    got = receiver.wait_for(3)
    types = [verified(endpoint, r)["type"] for r in got]
    assert types == ["credential.issued", "credential.issued", "credential.renewed"]
    renewed_payload = verified(endpoint, got[-1])["data"]
    assert renewed_payload["new_term"]["sequence"] == 2
    assert renewed_payload["new_term"]["starts_on"] == "2026-03-15"


@pytest.mark.django_db
def test_revoked_and_roster_completed_events(receiver):
    endpoint_for(receiver, ["credential.revoked", "roster_import.completed", "credential.issued"])
    roster = (
        "email,first_name,last_name,course_code,end_date,hours_attended,completed\n"
        "r1@example.com,Rae,One,HOOK-R,2026-01-05,16,yes\n"
        "r2@example.com,Ray,Two,HOOK-R,2026-01-05,16,yes\n"
    )
    record = roster_import_check(data=roster.encode(), name="r.csv", uploaded_by=None)
    roster_import_queue(record=record, only_valid_rows=False)
    roster_import_apply(import_id=record.pk)
    roster_import_apply(import_id=record.pk)  # a second run changes nothing
    types = sorted(Event.objects.values_list("type", flat=True))
    assert types == ["credential.issued", "credential.issued", "roster_import.completed"]
    completed = Event.objects.get(type="roster_import.completed").payload["data"]
    assert completed["summary"]["credentials_issued"] == 2


def _days(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


@pytest.mark.django_db
def test_dated_events_for_a_term_from_feb_29_each_once(receiver):
    """CSP-PO issued 29 Feb 2024 ends 28 Feb 2026 (no 29th), 90 days of grace to 29 May."""
    endpoint_for(receiver, ["credential.expiring", "credential.grace_started", "credential.lapsed"])
    credential = issue(code="CSP-PO", on=datetime.date(2024, 2, 29))
    assert credential.terms.get().ends_on == datetime.date(2026, 2, 28)
    found = []
    for day in _days(datetime.date(2025, 11, 25), datetime.date(2026, 7, 1)):
        events.dated_events_record(on=day)  # (run again, it writes nothing: test_webhook_review)
        for event in Event.objects.exclude(pk__in=[e[2] for e in found]):
            found.append((day, event.type, event.pk, event.payload["data"]))
    assert [(day, kind) for day, kind, _, _ in found] == [
        (datetime.date(2025, 11, 30), "credential.expiring"),  # 90 days before
        (datetime.date(2025, 12, 30), "credential.expiring"),  # 60
        (datetime.date(2026, 1, 29), "credential.expiring"),  # 30
        (datetime.date(2026, 2, 21), "credential.expiring"),  # 7
        (datetime.date(2026, 2, 28), "credential.expiring"),  # the last valid day
        (datetime.date(2026, 3, 1), "credential.grace_started"),
        (datetime.date(2026, 5, 30), "credential.lapsed"),
    ]
    assert [data.get("reminder_point_days") for _, _, _, data in found[:5]] == [90, 60, 30, 7, 0]
    assert found[5][3]["grace_ends_on"] == "2026-05-29"
    assert found[6][3]["status"] == "lapsed"


@pytest.mark.django_db
def test_dated_events_stop_for_a_renewed_or_revoked_credential(receiver):
    endpoint_for(receiver, ["credential.expiring", "credential.grace_started", "credential.lapsed"])
    holder = UserFactory()
    credential = _renewable(holder)
    with time_machine.travel(datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC), tick=False):
        credential_renew(credential=credential, on=datetime.date(2026, 3, 1))  # early
    revoked = issue(email="r@example.com", on=datetime.date(2024, 3, 20))
    credential_revoke(credential=revoked, reason="Fraud", by=None)
    for day in _days(datetime.date(2026, 3, 10), datetime.date(2026, 4, 30)):
        events.dated_events_record(on=day)
    assert not Event.objects.filter(type__in=["credential.grace_started", "credential.lapsed"])


@pytest.mark.django_db(transaction=True)
def test_exactly_one_delivery_per_event_and_endpoint_with_two_workers(receiver, reference_data):
    """Two real workers, every delivery queued several times over: each event reaches each
    endpoint once; a transaction that rolled back sends nothing."""
    first = endpoint_for(receiver, ["credential.issued"])
    second = endpoint_for(receiver, ["credential.issued"])
    workers = [celery_worker_start(), celery_worker_start()]
    try:
        with transaction.atomic():
            issued = [issue(email=f"w{n}@example.com") for n in range(6)]
        with pytest.raises(RuntimeError):
            _issue_then_fail("rolled-back@example.com")
        for _ in range(3):  # the sweep queues them again, as a lost job would be
            webhooks.deliveries_queue()
        got = receiver.wait_for(12, seconds=60)
        time.sleep(2)  # anything sent twice would arrive now
        got = list(receiver.received)
    finally:
        for worker in workers:
            celery_worker_stop(worker)
    assert len(got) == 12
    pairs = set()
    for received in got:
        endpoint = first if _signed_by(first, received) else second
        payload = verified(endpoint, received)
        pairs.add((endpoint.pk, payload["data"]["id"]))
    assert pairs == {(e.pk, c.pk) for e in (first, second) for c in issued}
    emails = {json.loads(r.body)["data"]["holder"]["email"] for r in got}
    assert "rolled-back@example.com" not in emails
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}
    assert all(d.attempts == 1 for d in Delivery.objects.all())


def _signed_by(endpoint, received) -> bool:
    try:
        Webhook(endpoint.secret).verify(received.body, received.headers)
    except Exception:  # noqa: BLE001
        return False
    return True
