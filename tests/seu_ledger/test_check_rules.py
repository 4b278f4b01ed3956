"""`manage.py check_rules` and the admin say each program's rules in words."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from seu_ledger.models import RuleVersion

pytestmark = pytest.mark.django_db


def rules_text(*args) -> str:
    out = StringIO()
    call_command("check_rules", *args, stdout=out)
    return out.getvalue()


def test_pmp_rules_in_words_name_every_limit_the_carry_over_and_the_suspension():
    text = rules_text("--program", "pmp")
    for line in (
        "Renew every 36 months with 60 PDU",
        "Education: at least 35 PDU.",
        "Ways of Working (inside Education): at least 8 PDU.",
        "Power Skills (inside Education): at least 8 PDU.",
        "Business Acumen (inside Education): at least 8 PDU.",
        "Giving Back: at most 25 PDU.",
        "Working as a Practitioner (inside Giving Back): at most 8 PDU.",
        "carry over to the next cycle, up to 20.",
        "suspension for 365 days, during which the credential is not valid",
        "only the issuer's examination restores the credential",
    ):
        assert line in text, line


def test_scrum_alliance_rules_depend_on_the_day():
    assert "within the 30 months before the term's end" in rules_text("--program", "CSPO")
    earlier = rules_text("--program", "CSPO", "--date", "2024-06-01")
    assert "within the 24 months before the term's end; at most 8 SEU count" in earlier
    assert "Nothing carries over" in earlier


def test_every_program_is_listed_and_a_bad_argument_is_named():
    text = rules_text()
    for code in ("CSPO", "CSP-PO", "PMP", "PMI-ACP", "CAPM", "PSPO I", "SAFe POPM"):
        assert f"{code}, " in text, code
    with pytest.raises(CommandError, match="--date"):
        rules_text("--date", "2026-02-30")
    with pytest.raises(CommandError, match="No renewal rules"):
        rules_text("--program", "NOPE")


def test_the_admin_shows_a_version_in_words_and_keeps_used_versions_as_they_were(admin_client):
    version = RuleVersion.objects.get(program__code="PMI-ACP")
    page = admin_client.get(reverse("admin:seu_ledger_ruleversion_change", args=[version.pk]))
    assert "Working as a Practitioner (inside Giving Back): at most 4 PDU." in page.content.decode()
    assert 'name="units_required"' in page.content.decode()


def test_a_version_a_renewal_was_judged_by_is_read_only_in_the_admin(admin_client):
    import datetime
    from decimal import Decimal

    import time_machine

    from credentials.services import credential_issue
    from seu_ledger.services import credential_renew, fee_record
    from tests.factories import StaffFactory, UserFactory, learning_entry, program

    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC), tick=False):
        holder = UserFactory()
        cspo = credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
        )
        for day, hours in ((2, "8"), (3, "8"), (4, "4")):
            learning_entry(holder, datetime.date(2026, 2, day), Decimal(hours))
        fee_record(credential=cspo, recorded_by=StaffFactory(), reference="R")
        outcome = credential_renew(credential=cspo)
    version = outcome.renewals[0].rule_version
    url = reverse("admin:seu_ledger_ruleversion_change", args=[version.pk])
    assert 'name="units_required"' not in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"units_required": "1"}).status_code == 403
