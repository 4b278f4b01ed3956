"""Three calendars: validity on the issuer's, the holder's own for their pages and their
"today", the site's for everything else.

The fault that started it: at 17:00 in Los Angeles on a credential's last valid day, with the
server on UTC (already the next day), the public page said "Lapsed".
"""

import datetime

import pytest
import time_machine
from django.urls import reverse

from credentials.models import Program, Term
from credentials.selectors import issuer_today, today
from credentials.services import credential_issue
from seu_ledger.selectors import dashboard_cards
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
LAST_DAY = datetime.date(2026, 5, 14)


def cspo_ending(holder, ends_on=LAST_DAY):
    with time_machine.travel(datetime.datetime(2024, 5, 20, tzinfo=UTC), tick=False):
        credential = credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 5, 14)
        )
    Term.objects.filter(credential=credential).update(ends_on=ends_on)
    credential.refresh_from_db()
    return credential


@pytest.mark.parametrize(
    ("moment", "status", "valid"),
    [
        # 17:00 in Los Angeles on the last day: midnight UTC has passed, Denver's has not.
        (datetime.datetime(2026, 5, 15, 0, 0, tzinfo=UTC), "Active", True),
        # 23:59 in Denver on the last day (05:59 UTC the next day): still valid.
        (datetime.datetime(2026, 5, 15, 5, 59, tzinfo=UTC), "Active", True),
        # Midnight in Denver: the term is over (a CSPO has no grace).
        (datetime.datetime(2026, 5, 15, 6, 0, tzinfo=UTC), "Lapsed", False),
    ],
)
def test_the_public_page_decides_validity_on_the_issuers_calendar(
    client, settings, moment, status, valid
):
    settings.TIME_ZONE = "UTC"
    credential = cspo_ending(UserFactory())
    credential.verified = True
    credential.save(update_fields=["verified"])
    assert credential.program.time_zone == "America/Denver"
    with time_machine.travel(moment, tick=False):
        page = client.get(reverse("credentials:verify", args=[credential.verification_code]))
        data = client.get(
            reverse("credentials:verify_json", args=[credential.verification_code])
        ).json()
    html = page.content.decode()
    assert f">{status}</span>" in html
    assert "America/Denver" in html
    assert data["valid"] is valid
    assert data["time_zone"] == "America/Denver"
    assert data["checked_on"] == issuer_today(credential.program, moment).isoformat()


def test_staff_change_the_issuers_zone_and_the_answer_follows(client):
    credential = cspo_ending(UserFactory())
    credential.verified = True
    credential.save(update_fields=["verified"])
    Program.objects.filter(code="CSPO").update(time_zone="Pacific/Kiritimati")  # UTC+14
    # 11:00 UTC on the last day is already the next day in Kiritimati.
    with time_machine.travel(datetime.datetime(2026, 5, 14, 11, tzinfo=UTC), tick=False):
        data = client.get(
            reverse("credentials:verify_json", args=[credential.verification_code])
        ).json()
    assert (data["status"], data["time_zone"]) == ("lapsed", "Pacific/Kiritimati")


def test_the_dashboard_card_follows_the_issuers_calendar_not_the_servers():
    holder = UserFactory()
    cspo_ending(holder)
    with time_machine.travel(datetime.datetime(2026, 5, 15, 3, tzinfo=UTC), tick=False):
        assert today() == datetime.date(2026, 5, 15)  # the site's (UTC) day
        (card,) = dashboard_cards(holder.pk)
    assert (card.status, card.days_left) == ("expiring", 0)


def test_a_holder_ahead_of_the_server_logs_an_activity_dated_their_today(client):
    east = UserFactory(time_zone="Pacific/Kiritimati")  # UTC+14
    west = UserFactory(time_zone="Pacific/Honolulu")  # UTC-10
    # 12:00 UTC on 2 June: 3 June, 02:00 in Kiritimati; 2 June, 02:00 in Honolulu.
    with time_machine.travel(datetime.datetime(2026, 6, 2, 12, tzinfo=UTC), tick=False):
        answers = {}
        for holder in (east, west):
            client.force_login(holder)
            form = client.get(reverse("ledger:entry_create"))
            assert (
                'max="{}"'.format("2026-06-03" if holder is east else "2026-06-02")
                in form.content.decode()
            )
            answers[holder.time_zone] = client.post(
                reverse("ledger:entry_create"),
                {
                    "activity_date": "2026-06-03",
                    "category": category("scrum-alliance:learning").pk,
                    "title": "Story mapping",
                    "hours": "2",
                },
            )
    assert answers["Pacific/Kiritimati"].status_code == 302
    assert answers["Pacific/Honolulu"].status_code == 200  # refused: tomorrow there
    assert east.entries.count() == 1
    assert west.entries.count() == 0


def test_pages_show_times_in_the_holders_zone(client):
    from api.tokens import token_create

    holder = UserFactory(time_zone="Asia/Kolkata")  # UTC+05:30
    with time_machine.travel(datetime.datetime(2026, 6, 2, 20, 45, tzinfo=UTC), tick=False):
        token_create(user=holder, kind="personal", name="Sync")
    client.force_login(holder)
    html = client.get(reverse("api_tokens")).content.decode()
    assert "3 Jun 2026, 02:15" in html  # 20:45 UTC on 2 June
    holder.time_zone = ""  # the site's zone (UTC in the tests)
    holder.save(update_fields=["time_zone"])
    html = client.get(reverse("api_tokens")).content.decode()
    assert "2 Jun 2026, 20:45" in html


@pytest.mark.parametrize(
    "name", ["localtime", "Factory", "EST5EDT", "Etc/GMT+10", "US/Pacific", "posix/UTC"]
)
def test_only_place_names_are_kept_as_a_zone(name):
    """Names the preferences list does not offer (the machine's own "localtime", legacy
    aliases) were stored at sign-up, then silently dropped on the next save."""
    from django.core.exceptions import ValidationError

    from cspo_tracker import zones

    assert zones.guess(name) == ""
    with pytest.raises(ValidationError):
        zones.validate_time_zone(name)
    assert zones.guess("Asia/Kolkata") == "Asia/Kolkata"
