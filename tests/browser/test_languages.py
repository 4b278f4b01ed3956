"""The holder's journey in German and in Simplified Chinese, in Chromium: a browser that asks for
the language signs up (its time zone kept), confirms from the email, sees the dashboard, logs an
activity, downloads the PDF transcript and gets a reminder email, all in its language.

The expected texts come from the catalogs (gettext in the language), so the test checks that
the page shows the translation, not a copy of it kept here; each must differ from the English.
"""

import datetime
import io
import re

import pypdfium2
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect
from pypdf import PdfReader

from credentials.models import Term, User
from credentials.selectors import today
from credentials.services import credential_issue
from cspo_tracker import formats
from seu_ledger.reminders.services import reminders_record, reminders_send
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP
from tests.factories import program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOURNEYS = [
    # Django's code, the browser's locale, its time zone, a word of the language's script.
    (
        "de",
        "de-DE",
        "Europe/Berlin",
        re.compile(r"[äöüßÄÖÜ]|\b(der|die|das|und|Sie|Ihre?|endet|Tagen?|noch)\b"),
    ),
    ("zh-hans", "zh-CN", "Asia/Shanghai", re.compile(r"[\u4e00-\u9fff]")),
]


def said(language: str, text: str, **values) -> str:
    """`text` as the catalog says it in `language`; it must be translated."""
    with translation.override(language):
        translated = gettext(text)
        result = translated.format(**values) if values else translated
    assert translated != text, f"{text!r} is not translated into {language}"
    return result


@pytest.mark.parametrize(("language", "locale", "zone", "script"), JOURNEYS)
def test_a_holder_lives_in_their_language(
    browser, live_server, reference_data, screenshot_dir, language, locale, zone, script
):
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, locale=locale, timezone_id=zone
    )
    page = context.new_page()
    page.set_default_timeout(15_000)

    # A visitor: the browser's Accept-Language picks the language.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_role("link", name=said(language, "Sign up"), exact=True).first.click()

    # Signing up: the hidden time zone field carries the browser's zone.
    page.locator("#id_email").fill("mei.holder@example.com")
    page.locator("#id_first_name").fill("Mei")
    page.locator("#id_last_name").fill("Holder")
    page.locator("#id_password1").fill("mei-secret-pass-2026")
    page.locator("#id_password2").fill("mei-secret-pass-2026")
    page.locator("#id_accept_licence").check()
    expect(page.locator("input[name=time_zone]")).to_have_value(zone)
    page.locator("form [type=submit]").last.click()
    holder = User.objects.get(email="mei.holder@example.com")
    assert (holder.language, holder.time_zone) == (language, zone)

    # The confirmation email is in the language; its link signs in.
    (confirm,) = mail.outbox
    assert script.search(confirm.subject + confirm.body), confirm.subject
    link = re.search(r"http://\S+(/accounts/sign-up/confirm/\S+/)", confirm.body).group(1)
    page.goto(link)
    page.locator("#id_password").fill("mei-secret-pass-2026")
    page.locator("form [type=submit]").last.click()
    # Signed in, the new holder is asked for the credentials they hold, in the language.
    expect(page.locator("h1")).to_have_text(said(language, "Add a credential you hold"))

    # A CSPO from a course two years ago ends in a month: the card says so in the language.
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=today() - datetime.timedelta(days=700)
    )
    ends_on = credential.terms.get().ends_on
    page.get_by_role("link", name=said(language, "Dashboard")).first.click()
    expect(page.get_by_role("heading", name=said(language, "Your certifications"))).to_be_visible()
    card = page.locator("article.credential-card")
    expect(card).to_contain_text(formats_in(language, ends_on))

    # Logging an activity.
    page.get_by_role("link", name=said(language, "Log activity")).first.click()
    page.locator("#id_activity_date").fill((today() - datetime.timedelta(days=3)).isoformat())
    page.locator("#id_category").select_option(label="Learning")
    page.locator("#id_title").fill("Story mapping")
    page.locator("#id_hours").fill("7.5")
    page.locator("form [type=submit]").last.click()
    expect(page.locator("progress.units-progress")).to_have_attribute("value", "37")
    units = formats_units(language, "7.5")
    expect(page.locator(".alert")).to_contain_text(units)
    assert_accessible(page, f"dashboard in {language}")
    page.screenshot(path=screenshot_dir / f"dashboard-{language}.png", full_page=True)

    # The PDF transcript, downloaded through the renewal page, in the language.
    page.goto(reverse("ledger:renewal", args=[credential.pk]))
    transcript = page.locator("a[href$='/transcript.pdf']").first
    pdf = context.request.get(transcript.get_attribute("href")).body()
    # (pypdf reads the CJK fallback font's text with a NUL before each character.)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\0", "")
    assert said(language, "Certificate number") in text
    assert formats_in(language, ends_on) in text
    assert "Story mapping" in text
    picture = pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil()
    picture.save(screenshot_dir / f"transcript-{language}.png")

    # A reminder email a week before the end, at 06:00 in the holder's zone, in the language.
    mail.outbox.clear()
    Term.objects.filter(credential=credential).update(ends_on=today() + datetime.timedelta(days=7))
    reminders_record(on=today())
    reminders_send(holder_ids=[holder.pk], on=today())
    (reminder,) = mail.outbox
    html = reminder.alternatives[0][0]
    assert script.search(reminder.subject), reminder.subject
    assert f'lang="{language}"' in html
    email = context.new_page()
    email.set_content(html)
    expect(email.locator("body")).to_contain_text(
        formats_in(language, today() + datetime.timedelta(days=7))
    )
    email.screenshot(path=screenshot_dir / f"reminder-email-{language}.png", full_page=True)

    # The picker: English for this account from now on, its emails too.
    page.locator("#language-picker").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    holder.refresh_from_db()
    assert holder.language == "en"
    context.close()


def formats_in(language: str, day: datetime.date) -> str:
    with translation.override(language):
        return formats.day(day)


def formats_units(language: str, value: str) -> str:
    from decimal import Decimal

    with translation.override(language):
        return formats.units(Decimal(value))


@pytest.mark.parametrize("language", ["de", "es", "pt-br"])
def test_the_staff_navigation_fits_in_longer_languages(page, live_server, language):
    """German staff's seven links pushed the picker and their account menu off the page."""
    from tests.browser.conftest import sign_in
    from tests.factories import DEFAULT_PASSWORD, staff_in

    staff = staff_in("superuser")
    staff.language = language
    staff.save(update_fields=["language"])
    sign_in(page, staff.email, DEFAULT_PASSWORD)
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(reverse("staff:queue"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (language, width)
        expect(page.locator("#language-picker")).to_be_in_viewport()
