"""What a review of the webhook outbox found, each a test that failed before its fix: two
workers both claiming one delivery, a worker dying mid-send blocking its credential for
ever, events without deliveries, a roster's event carrying dates from before alignment, a
resumed endpoint paused again at once, tokens acting for someone with more reach, and the
daily scan rebuilding every payload."""

import datetime
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone

from api import events, webhooks
from api.models import ApiToken, Delivery, Event, Scope
from api.tokens import token_create
from credentials.models import Term
from credentials.roster.imports import roster_import_apply, roster_import_check, roster_import_queue
from credentials.services import credential_issue
from tests.factories import StaffFactory, UserFactory, program

from .receiver import start_receiver


@pytest.fixture
def receiver():
    server = start_receiver()
    yield server
    server.server.shutdown()


def one_delivery(receiver, email="h@example.com"):
    webhooks.endpoint_create(url=receiver.url, events=["credential.issued"])
    credential_issue(
        holder=UserFactory(email=email),
        program=program("CSPO"),
        issued_on=datetime.date(2026, 1, 2),
    )
    return Delivery.objects.get()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_another_worker_is_claiming_is_not_taken_twice(receiver, reference_data):
    delivery = one_delivery(receiver)
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=delivery.pk, status="pending", claim_token="").update(
                    status="sending", claim_token="other", claimed_at=timezone.now(), attempts=1
                )
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    threading.Timer(1.0, release.set).start()  # the other worker commits while we wait
    started = time.monotonic()
    assert webhooks.deliver(delivery.pk) is None
    assert time.monotonic() - started >= 0.5  # it did wait for the other claim
    thread.join()
    assert receiver.received == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claim_token, delivery.attempts) == ("sending", "other", 1)


@pytest.mark.django_db
def test_a_worker_dying_on_every_attempt_still_ends_in_failed(receiver):
    delivery = one_delivery(receiver)
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending",
        claim_token="dead",
        claimed_at=long_ago,
        attempts=webhooks.MAX_ATTEMPTS,
        first_attempt_at=long_ago - datetime.timedelta(days=1),
    )
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == webhooks.GAVE_UP
    assert receiver.received == []  # not sent again
    delivery.endpoint.refresh_from_db()
    assert delivery.endpoint.paused_at is not None


@pytest.mark.django_db
def test_attempts_are_counted_when_they_start(receiver, monkeypatch):
    delivery = one_delivery(receiver)

    def dies(_delivery):
        raise SystemExit("the worker was killed while sending")

    monkeypatch.setattr(webhooks, "_post", dies)
    with pytest.raises(SystemExit):
        webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sending", 1)
    assert delivery.first_attempt_at is not None


@pytest.mark.django_db
def test_an_event_is_written_with_its_deliveries_or_not_at_all(receiver, monkeypatch):
    webhooks.endpoint_create(url=receiver.url, events=["credential.lapsed"])
    UserFactory()
    credential_issue(
        holder=UserFactory(email="l@example.com"),
        program=program("CSPO"),
        issued_on=datetime.date(2023, 1, 2),
    )

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Delivery.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        events.dated_events_record(on=datetime.date(2025, 1, 10))
    assert not Event.objects.exists()
    monkeypatch.undo()
    assert events.dated_events_record(on=datetime.date(2025, 1, 10))["credential.lapsed"] == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_a_rosters_issued_event_carries_the_aligned_dates(receiver):
    webhooks.endpoint_create(url=receiver.url, events=["credential.issued"])
    holder = UserFactory(email="both@example.com")
    csm = credential_issue(
        holder=holder, program=program("CSM"), issued_on=datetime.date(2025, 10, 31)
    )
    Event.objects.all().delete()
    roster = (
        "email,first_name,last_name,course_code,program,end_date,hours_attended,completed\n"
        "both@example.com,Bo,Th,ALIGN-1,CSPO,2025-05-14,16,yes\n"
    )
    record = roster_import_check(data=roster.encode(), name="r.csv", uploaded_by=None)
    roster_import_queue(record=record, only_valid_rows=False)
    roster_import_apply(import_id=record.pk)
    payload = Event.objects.get(type="credential.issued").payload["data"]
    stored = Term.objects.get(credential_id=payload["id"]).ends_on
    assert stored == csm.terms.get().ends_on  # aligned with the CSM
    assert payload["valid_through"] == stored.isoformat()
    assert payload["terms"][0]["ends_on"] == stored.isoformat()


@pytest.mark.django_db
def test_resuming_an_endpoint_gives_what_waited_a_new_day(receiver):
    delivery = one_delivery(receiver)
    endpoint = delivery.endpoint
    webhooks.endpoint_update(endpoint=endpoint, paused=True)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="retrying",
        attempts=7,
        first_attempt_at=timezone.now() - datetime.timedelta(days=2),
    )
    webhooks.endpoint_update(endpoint=endpoint, paused=False)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.first_attempt_at) == (0, None)
    receiver.script = [500]
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RETRYING  # not failed, not paused again
    endpoint.refresh_from_db()
    assert endpoint.paused_at is None


@pytest.mark.django_db
def test_only_a_superuser_makes_a_token_acting_for_someone_else():
    maker = StaffFactory()
    boss = StaffFactory(is_superuser=True)
    with pytest.raises(ValidationError) as refused:
        token_create(
            user=boss,
            kind=ApiToken.Kind.INTEGRATION,
            name="mine",
            scopes=[Scope.HOLDERS_READ],
            created_by=maker,
        )
    assert "user" in refused.value.message_dict
    made = token_create(
        user=maker, kind="integration", name="ok", scopes=[Scope.HOLDERS_READ], created_by=boss
    )
    assert made.token.user == maker


@pytest.mark.django_db
def test_the_daily_scan_builds_no_payload_for_what_it_recorded_already(
    receiver, django_assert_max_num_queries
):
    webhooks.endpoint_create(url=receiver.url, events=["credential.expiring"])
    for n in range(25):
        credential_issue(
            holder=UserFactory(email=f"e{n}@example.com"),
            program=program("CSPO"),
            issued_on=datetime.date(2024, 12, 1) + datetime.timedelta(days=n),
        )
    on = datetime.date(2026, 11, 30)
    assert events.dated_events_record(on=on)["credential.expiring"] == 25
    with django_assert_max_num_queries(8):
        assert events.dated_events_record(on=on)["credential.expiring"] == 0


@pytest.mark.django_db
def test_sending_again_forgets_the_last_answer(receiver):
    delivery = one_delivery(receiver)
    webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    webhooks.delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.delivered_at, delivery.last_status_code) == (
        "pending",
        None,
        None,
    )


@pytest.mark.django_db
def test_resuming_sends_again_what_failed_first_in_order(receiver):
    """A failed "issued" is not skipped by the "revoked" that waited behind the pause."""
    from credentials.services import credential_revoke

    delivery = one_delivery(receiver)
    webhooks.endpoint_update(
        endpoint=delivery.endpoint, events=["credential.issued", "credential.revoked"]
    )
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8)
    webhooks.endpoint_update(endpoint=delivery.endpoint, paused=True)
    credential_revoke(credential=_credential(), reason="x", by=None)
    revoked = Delivery.objects.exclude(pk=delivery.pk).get()
    webhooks.endpoint_update(endpoint=delivery.endpoint, paused=False)
    assert webhooks.deliver(revoked.pk) is None  # the issued one goes first
    webhooks.deliver(delivery.pk)
    webhooks.deliver(revoked.pk)
    types = [r.body for r in receiver.wait_for(2)]
    assert b"credential.issued" in types[0]
    assert b"credential.revoked" in types[1]


def _credential():
    from credentials.models import Credential

    return Credential.objects.get()
