"""The dashboard's cards are cached per holder; every write they depend on refreshes them."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from credentials.models import Membership, Term
from credentials.roster.imports import roster_import_apply, roster_import_check, roster_import_queue
from credentials.services import credential_issue, licence_accept
from seu_ledger.models import RuleVersion
from seu_ledger.services import credential_renew, entry_void, fee_record
from tests.credentials.test_roster import GOOD, csv_bytes
from tests.factories import StaffFactory, UserFactory, learning_entry, program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=True):
        yield


@pytest.fixture
def pat(client):
    holder = UserFactory(email="pat@example.com")
    licence_accept(user=holder)
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    client.force_login(holder)
    return holder, credential


def cards(client) -> str:
    page = client.get(reverse("ledger:dashboard")).content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def counted(client) -> list[tuple[str, str]]:
    return re.findall(r'units-counted">([^<]+)</span> of (\S+)', cards(client))


def test_an_unchanged_dashboard_costs_one_query(client, pat, django_assert_num_queries):
    cards(client)  # the first visit sets the CSRF cookie the cached page is keyed by
    first = cards(client)
    with django_assert_num_queries(1):  # the session with its account, nothing else
        assert cards(client) == first


def test_each_kind_of_write_refreshes_the_cards(client, pat, django_capture_on_commit_callbacks):
    holder, credential = pat
    assert counted(client) == [("0", "20")]
    entry = learning_entry(holder, datetime.date(2026, 2, 1), "8")
    assert counted(client) == [("8", "20")]
    entry_void(entry=entry, reason="duplicate")
    assert counted(client) == [("0", "20")]
    for day, hours in ((2, "8"), (3, "8"), (4, "4")):
        learning_entry(holder, datetime.date(2026, 2, day), hours)
    assert counted(client) == [("20", "20")]
    assert "US$100, due" in cards(client)
    fee_record(credential=credential, recorded_by=StaffFactory(), reference="R-1")
    assert "US$100, paid" in cards(client)
    credential_renew(credential=credential, renewed_by=holder, on=datetime.date(2026, 3, 1))
    assert counted(client) == [("0", "20")]  # the next term starts from nothing
    # Staff change the rules: every dashboard follows.
    rules = RuleVersion.objects.filter(program__code="CSPO").order_by("effective_from").last()
    rules.units_required = 25
    with django_capture_on_commit_callbacks(execute=True):
        rules.save()
    assert counted(client) == [("0", "25")]
    # A term corrected in the admin, a membership, and a roster adding a credential.
    term = Term.objects.get(credential=credential, sequence=2)
    term.ends_on = datetime.date(2028, 3, 31)
    term.save()
    assert "31 Mar 2028" in cards(client)
    before = type(holder).objects.get(pk=holder.pk).ledger_version
    Membership.objects.create(holder=holder, issuer=program("PMI-ACP").issuer)
    assert type(holder).objects.get(pk=holder.pk).ledger_version != before
    roster = csv_bytes(GOOD[0].replace("ann@example.com", "pat@example.com"))
    record = roster_import_check(data=roster, name="r.csv", uploaded_by=None)
    roster_import_queue(record=record, only_valid_rows=False)
    before = cards(client)
    roster_import_apply(import_id=record.pk, token="t")
    assert cards(client) != before


def test_moving_a_record_to_another_holder_refreshes_both_dashboards(client, pat):
    holder, credential = pat
    other = UserFactory(email="other@example.com")
    licence_accept(user=other)
    assert "CSPO" in cards(client)
    credential.holder = other
    credential.save()
    assert counted(client) == []
    client.force_login(other)
    assert counted(client) == [("0", "20")]
