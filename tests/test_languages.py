"""Which language a reader gets: the browser's for visitors, the picker's choice, the account's
saved language for its pages, emails, PDF transcripts and calendar feed, whoever causes them;
the admin in the staff member's own. Formatting follows the language."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from credentials.services import calendar_token_for, credential_issue
from cspo_tracker import formats
from seu_ledger.services import fee_submit, fee_waive
from tests.factories import UserFactory, program, staff_in

pytestmark = pytest.mark.django_db


def german(text: str) -> str:
    with translation.override("de"):
        translated = gettext(text)
    assert translated != text
    return translated


def cspo_of(holder):
    with time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        return credential_issue(
            holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 5, 14)
        )


def test_a_visitor_gets_the_browsers_language_and_the_picker_keeps_a_choice(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert '<html lang="de">' in page.content.decode()
    assert page["Content-Language"] == "de"
    # A language not offered falls back to English.
    assert '<html lang="en">' in client.get(
        reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-FR"
    ).content.decode("utf-8")
    # Simplified Chinese from the browser's zh-CN.
    assert '<html lang="zh-hans">' in client.get(
        reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"
    ).content.decode("utf-8")

    chosen = client.post(reverse("set_language"), {"language": "es", "next": "/accounts/login/"})
    assert chosen.status_code == 302
    assert chosen["Location"] == "/accounts/login/"
    # The cookie wins over the browser's language from then on.
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de-DE")
    assert '<html lang="es">' in page.content.decode()


def test_the_picker_refuses_other_sites_and_unknown_languages(client):
    away = client.post(reverse("set_language"), {"language": "de", "next": "https://evil.test/"})
    assert away["Location"] == "/"
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert '<html lang="de">' in client.get(reverse("login")).content.decode()
    assert client.get(reverse("set_language")).status_code == 405


def test_a_signed_in_choice_is_saved_and_follows_the_account(client):
    holder = UserFactory()
    client.force_login(holder)
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    holder.refresh_from_db()
    assert holder.language == "pt-br"
    # Another browser (no cookie, another Accept-Language) signs in: the account's language.
    other = client.__class__()
    other.force_login(holder)
    page = other.get(reverse("ledger:dashboard"), HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="pt-br">' in page.content.decode()


def test_the_preferences_page_saves_language_and_zone_and_refuses_others(client):
    holder = UserFactory()
    client.force_login(holder)
    saved = client.post(
        reverse("account_preferences"), {"language": "zh-hans", "time_zone": "Asia/Shanghai"}
    )
    assert saved.status_code == 302
    holder.refresh_from_db()
    assert (holder.language, holder.time_zone) == ("zh-hans", "Asia/Shanghai")
    refused = client.post(
        reverse("account_preferences"), {"language": "de", "time_zone": "../../etc/passwd"}
    )
    assert refused.status_code == 400
    holder.refresh_from_db()
    assert (holder.language, holder.time_zone) == ("zh-hans", "Asia/Shanghai")


def test_the_admin_speaks_the_staff_members_language(client):
    staff = staff_in("registrar")
    staff.language = "de"
    staff.save(update_fields=["language"])
    client.force_login(staff)
    page = client.get(reverse("admin:index")).content.decode()
    assert '<html lang="de"' in page
    with translation.override("de"):
        assert gettext("Log out") in page  # Django's own admin catalog


def test_emails_go_in_the_holders_language_whoever_causes_them(
    client, django_capture_on_commit_callbacks
):
    holder = UserFactory(language="de")
    credential = cspo_of(holder)
    fee_submit(credential=credential, reference="SA-1")
    staff = staff_in("registrar")  # reads English
    with django_capture_on_commit_callbacks(execute=True):
        fee_waive(recorded_by=staff, reason="Goodwill", credential=credential)
    (message,) = mail.outbox
    assert message.to == [holder.email]
    with translation.override("de"):
        amount = formats.money(Decimal(100), "USD")
    assert amount == "100\N{NO-BREAK SPACE}$"
    assert 'lang="de"' in message.alternatives[0][0]
    # The next step is worked out for the holder, in German, though English staff waived it.
    assert "Erfassen Sie noch 20 SEU" in message.body
    assert "Your" not in message.subject


def test_the_transcript_and_the_calendar_speak_the_holders_language(client):
    holder = UserFactory(language="de")
    credential = cspo_of(holder)
    term = credential.terms.get()
    staff = staff_in("registrar")
    client.force_login(staff)  # staff download it: still in the holder's language
    pdf = client.get(reverse("staff:transcript", args=[credential.pk, term.pk]))
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert german("Certificate number") in text
    with translation.override("de"):
        assert formats.day(term.ends_on) in text
    feed = client.get(reverse("credentials:calendar_feed", args=[calendar_token_for(holder)]))
    with translation.override("de"):
        ends = formats.day(term.ends_on)
    assert ends in feed.content.decode().replace("\r\n ", "")


def test_numbers_dates_and_money_follow_the_language():
    day = datetime.date(2026, 5, 14)
    # CLDR puts a no-break space between an amount and a symbol after it.
    nbsp = "\N{NO-BREAK SPACE}"
    expected = {
        "en": ("14 May 2026", "7.5", "US$100", "US$175.50"),
        "de": ("14. Mai 2026", "7,5", f"100{nbsp}$", f"175,50{nbsp}$"),
        "es": ("14 may 2026", "7,5", f"100{nbsp}US$", f"175,50{nbsp}US$"),
        "pt-br": ("14 de mai. de 2026", "7,5", f"US${nbsp}100", f"US${nbsp}175,50"),
        "zh-hans": ("2026年5月14日", "7.5", "US$100", "US$175.50"),
    }
    for language, (date, units, fee, cents) in expected.items():
        with translation.override(language):
            assert formats.day(day) == date
            assert formats.units(Decimal("7.50")) == units
            assert formats.money(Decimal(100), "USD") == fee
            assert formats.money(Decimal("175.5"), "USD") == cents
    # The currency is the fee row's.
    with translation.override("de"):
        assert formats.money(Decimal(100), "EUR") == f"100{nbsp}€"


def test_date_fields_keep_the_browsers_iso_date_in_every_language(client):
    """A date input reads only YYYY-MM-DD: a German or Chinese page wrote "01.06.2026" or
    "2026/06/01" into it and the browser showed it empty (the edit page lost the date)."""
    holder = UserFactory(language="de")
    client.force_login(holder)
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=False):
        for language in ("de", "zh-hans", "pt-br"):
            holder.language = language
            holder.save(update_fields=["language"])
            page = client.get(reverse("ledger:entry_create")).content.decode()
            assert 'type="date"' in page
            assert 'value="2026-06-01"' in page, language


def test_the_password_link_email_is_in_the_accounts_language(client):
    from credentials.accounts import password_link_send

    holder = UserFactory(email="mei@example.com", language="zh-hans")
    assert password_link_send(email="mei@example.com") == 1
    (message,) = mail.outbox
    assert 'lang="zh-hans"' in message.alternatives[0][0]
    with translation.override("zh-hans"):
        assert gettext("Hello,") in message.body or holder.first_name in message.body
    assert "Someone" not in message.body


def test_beat_counts_in_utc(settings):
    """An hourly crontab in a zone with daylight saving skips an hour of UTC when the clocks
    fall back: the reminder run would miss the holders whose morning is that hour."""
    assert settings.CELERY_TIMEZONE == "UTC"


def test_signing_in_keeps_the_language_of_an_account_that_had_none(client, password):
    invited = UserFactory(email="ana@example.com")  # registered by a roster: nothing saved
    assert invited.language == ""
    client.post(
        reverse("login"),
        {"username": "ana@example.com", "password": password},
        HTTP_ACCEPT_LANGUAGE="es-ES",
    )
    invited.refresh_from_db()
    assert invited.language == "es"
    # A saved choice is never overwritten by the browser of the moment.
    client.post(reverse("logout"))
    client.post(
        reverse("login"),
        {"username": "ana@example.com", "password": password},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    invited.refresh_from_db()
    assert invited.language == "es"
