"""`manage.py seed_demo` gives a newcomer working logins, however often it runs."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from credentials.models import User
from credentials.services import DEMO_STAFF_EMAIL

pytestmark = pytest.mark.django_db


def test_seed_demo_prints_working_staff_and_holder_logins(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    output = out.getvalue()
    assert f"Staff login:  {DEMO_STAFF_EMAIL} / " in output
    password = output.split(f"{DEMO_STAFF_EMAIL} / ")[1].split()[0]
    staff = User.objects.get(email=DEMO_STAFF_EMAIL)
    assert staff.is_staff
    assert staff.is_superuser
    assert staff.check_password(password)
    assert "Holder login:" in output


def test_seed_demo_holders_cover_every_status(settings):
    from credentials.models import Credential
    from credentials.selectors import credential_status

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    credentials = Credential.objects.select_related("program").prefetch_related("terms")
    statuses = {credential_status(c).value for c in credentials}
    assert {"active", "expiring", "in_grace", "lapsed"} <= statuses
    assert any(c.terms.count() == 2 for c in credentials), "a renewed credential"
    assert any(c.program.is_lifetime for c in credentials)
    combined = credentials.filter(holder__email="casey.combo@example.com")
    assert sorted(c.program.code for c in combined) == ["CSM", "CSPO"]


def test_seed_demo_shows_the_pmi_rules(settings):
    """A PMP part-way through the skill areas, a PMI-ACP suspended, one with carry-over."""
    from credentials.models import Credential
    from credentials.selectors import credential_is_valid, credential_status_label
    from seu_ledger.models import CarriedUnits
    from seu_ledger.selectors import renewal_requirements

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    pmp = Credential.objects.get(holder__email="pia.pmp@example.com")
    balance = renewal_requirements(pmp).balance
    assert 0 < balance.counted < balance.required
    assert balance.missing_by_category  # skill areas still short
    suspended = Credential.objects.get(holder__email="sue.suspended@example.com")
    assert credential_status_label(suspended) == "Suspended"
    assert not credential_is_valid(suspended)
    carried = CarriedUnits.objects.filter(entry__holder__email="cam.carry@example.com")
    assert sum(c.units for c in carried) == 6
    renewed = Credential.objects.get(holder__email="cam.carry@example.com")
    assert renewal_requirements(renewed).balance.counted == 6


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    from credentials.models import Term
    from seu_ledger.models import Entry, Fee, Renewal

    def snapshot():
        return (
            list(User.objects.order_by("pk").values_list("pk", "email", "is_staff")),
            list(Term.objects.order_by("pk").values_list("pk", "starts_on", "ends_on")),
            Entry.objects.count(),
            Fee.objects.count(),
            Renewal.objects.count(),
        )

    before = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == before


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
