"""Two renewals of the same credential at the same moment make one new term."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from credentials.models import Term
from credentials.services import credential_issue
from seu_ledger.models import Renewal
from seu_ledger.services import credential_renew, entry_log, fee_record
from tests.factories import StaffFactory, UserFactory, category, program


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_renewals_make_one_new_term(reference_data):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what is under test; SQLite serialises every writer anyway")
    holder = UserFactory()
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 1, 10)
    )
    for day in range(1, 4):
        entry_log(
            holder=holder,
            activity_date=datetime.date(2025, 6, day),
            category=category("scrum-alliance:learning"),
            title=f"Day {day}",
            hours=Decimal(8),
        )
    fee_record(credential=credential, recorded_by=StaffFactory(), reference="R")
    term = credential.terms.get()
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def renew():
        try:
            barrier.wait()
            outcomes.append(credential_renew(credential=credential, term=term))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=renew) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(outcome.created for outcome in outcomes) == [False, True]
    assert Term.objects.filter(credential=credential).count() == 2
    assert Renewal.objects.count() == 1
