"""The private calendar feed: one set of events per renewal, grace ends, stable UIDs."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from credentials.calendar import calendar_ics
from credentials.models import Term
from credentials.selectors import holder_credentials
from credentials.services import calendar_token_for, credential_issue
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def issue(holder, code, issued_on, ends_on=None, **fields):
    credential = credential_issue(
        holder=holder, program=program(code), issued_on=issued_on, **fields
    )
    if ends_on is not None:
        Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return credential


def events(holder, now=NOW) -> list[dict[str, str]]:
    """The feed's events as {property: value}, lines unfolded (RFC 5545 3.1)."""
    body = calendar_ics(list(holder_credentials(holder.pk)), now=now)
    found, event = [], None
    for line in body.replace("\r\n ", "").split("\r\n"):
        if line == "BEGIN:VEVENT":
            event = {}
        elif line == "END:VEVENT":
            found.append(event)
            event = None
        elif event is not None:
            name, value = line.split(":", 1)
            event[name] = value
    return found


def days(found) -> list[tuple[str, str]]:
    return sorted((event["DTSTART;VALUE=DATE"], event["SUMMARY"]) for event in found)


def test_credentials_that_renew_together_have_one_set_of_events():
    holder = UserFactory()
    issue(holder, "CSPO", datetime.date(2024, 3, 15))
    issue(holder, "CSM", datetime.date(2024, 6, 1))  # aligns the CSPO to 2026-06-01
    assert days(events(holder)) == [
        ("20260303", "CSPO + CSM: 90 days left"),
        ("20260402", "CSPO + CSM: 60 days left"),
        ("20260502", "CSPO + CSM: 30 days left"),
        ("20260525", "CSPO + CSM: 7 days left"),
        ("20260601", "CSPO + CSM valid through today"),
    ]


def test_other_issuers_and_unverified_claims_keep_events_of_their_own():
    holder = UserFactory()
    issue(holder, "CSPO", datetime.date(2024, 3, 15))
    issue(holder, "CSM", datetime.date(2024, 3, 15), verified=False)
    issue(holder, "PSPO I", datetime.date(2024, 3, 15))  # lifetime: nothing to remind
    ends = [summary for _, summary in days(events(holder)) if "valid through" in summary]
    assert sorted(ends) == ["CSM valid through today", "CSPO valid through today"]


def test_a_grace_period_ends_with_an_all_day_event_on_its_last_day():
    holder = UserFactory()
    issue(holder, "CSP-PO", datetime.date(2024, 3, 15), ends_on=datetime.date(2028, 2, 29))
    (grace,) = [event for event in events(holder) if "grace" in event["SUMMARY"]]
    assert grace["SUMMARY"] == "CSP-PO grace period ends: last day to renew"
    assert grace["DTSTART;VALUE=DATE"] == "20280529"  # 90 days after Feb 29
    assert grace["DTEND;VALUE=DATE"] == "20280530"
    assert "29 Feb 2028" in grace["DESCRIPTION"]


def test_a_pmi_suspension_ends_with_an_event_in_pmi_words():
    holder = UserFactory()
    issue(holder, "PMP", datetime.date(2023, 3, 15))  # ends 2026-03-15, suspended for a year
    (last,) = [event for event in events(holder) if "last day to renew" in event["SUMMARY"]]
    assert last["SUMMARY"] == "PMP suspension ends: last day to renew"
    assert last["DTSTART;VALUE=DATE"] == "20270315"


def test_programs_without_grace_have_no_grace_event():
    holder = UserFactory()
    issue(holder, "CSPO", datetime.date(2024, 3, 15))
    assert not [event for event in events(holder) if "renew" in event["SUMMARY"]]


def test_uids_are_unique_and_stable_so_calendar_apps_update_instead_of_duplicating():
    holder = UserFactory()
    cspo = issue(holder, "CSPO", datetime.date(2024, 3, 15))
    issue(holder, "PMP", datetime.date(2023, 3, 15))  # another issuer: a group of its own
    first = events(holder)
    uids = [event["UID"] for event in first]
    assert len(uids) == len(set(uids)) == 2 * 5 + 1  # and the end of the PMP's suspension
    later = events(holder, now=NOW + datetime.timedelta(days=3))
    assert [event["UID"] for event in later] == uids
    alone = {event["UID"] for event in first if not event["SUMMARY"].startswith("PMP")}
    # A CSM earned later renews with the CSPO: the CSPO's events are updated, not doubled.
    issue(holder, "CSM", datetime.date(2024, 3, 15))
    together = {event["UID"] for event in events(holder) if "CSPO + CSM" in event["SUMMARY"]}
    assert together == alone
    assert all(uid.startswith(f"{cspo.verification_code}-20260315-") for uid in together)


def test_the_feed_page_serves_the_grouped_events(client):
    holder = UserFactory()
    issue(holder, "CSPO", datetime.date(2024, 3, 15))
    issue(holder, "CSM", datetime.date(2024, 3, 15))
    body = client.get(reverse("credentials:calendar_feed", args=[calendar_token_for(holder)]))
    text = body.content.decode()
    assert text.count("BEGIN:VEVENT") == 5
    assert "SUMMARY:CSPO + CSM valid through today" in text
