"""End to end in Chromium: an invited holder joins, logs units, records the fee, staff confirm
it in the admin, the holder renews, and the public page shows the new valid-through date."""

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from credentials.accounts import holder_invite
from credentials.models import User
from credentials.selectors import today
from credentials.services import credential_issue
from cspo_tracker import formats
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.factories import DEFAULT_PASSWORD, StaffFactory, program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_activity(page, day: datetime.date, title: str, hours: str):
    page.get_by_role("link", name="Log activity").first.click()
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Category").select_option(label="Learning")  # in the Scrum Alliance group
    page.get_by_label("Title").fill(title)
    page.get_by_label("Hours").fill(hours)
    page.get_by_role("button", name="Save activity").click()


def test_invited_holder_renews_and_the_public_page_follows(
    browser, live_server, reference_data, screenshot_dir
):
    holder = User.objects.create_user(
        "nia.holder@example.com", first_name="Nia", last_name="Holder"
    )
    issued = today() - datetime.timedelta(days=700)
    credential = credential_issue(holder=holder, program=program("CSPO"), issued_on=issued)
    old_end = credential.terms.get().ends_on
    new_end = old_end.replace(year=old_end.year + 2)
    holder_invite(holder=holder)
    link = re.search(r"http://\S+(/accounts/invitation/\S+/)", mail.outbox[-1].body).group(1)

    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Joining: set a password and accept the licence agreement.
    page.goto(link)
    assert_accessible(page, "invitation")
    page.locator("#id_new_password1").fill("nia-secret-pass-2026")
    page.locator("#id_new_password2").fill("nia-secret-pass-2026")
    page.get_by_label("I have read and accept the licence agreement").check()
    page.get_by_role("button", name="Set password and continue").click()
    expect(page.get_by_role("heading", name="Your certifications")).to_be_visible()
    progress = page.locator("progress.units-progress")
    expect(progress).to_have_attribute("value", "0")

    # Three activities move the progress bar: 8 + 8 + 4 = 20 SEU.
    for offset, (title, hours, percent) in enumerate(
        [
            ("Backlog workshop", "8", "40"),
            ("Product conference", "8", "80"),
            ("Mentoring", "4", "100"),
        ]
    ):
        log_activity(page, today() - datetime.timedelta(days=30 + offset), title, hours)
        expect(page.get_by_text(f"all {hours} hours count toward CSPO")).to_be_visible()
        expect(progress).to_have_attribute("value", percent)

    # An invalid entry (dated tomorrow): the date input stops at today, so the browser holds
    # the form back (the server refuses it too, naming the date); nothing is saved.
    log_activity(page, today() + datetime.timedelta(days=1), "Next week's meetup", "2")
    expect(page.get_by_label("Date")).to_have_attribute("max", today().isoformat())
    assert page.get_by_label("Date").evaluate("input => input.validity.rangeOverflow")
    expect(page.get_by_label("Title")).to_have_value("Next week's meetup")
    assert_accessible(page, "entry refused")

    # The fee: the holder records the issuer's receipt reference.
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="Record fee").click()
    page.get_by_label("Receipt reference").fill("SA-2026-000417")
    page.get_by_role("button", name="I have paid: record my receipt").click()
    expect(page.get_by_text("Staff will confirm the payment")).to_be_visible()
    expect(page.locator(".fee-status")).to_contain_text(
        "receipt SA-2026-000417 waiting for staff to confirm"
    )
    expect(page.locator(".next-step")).to_contain_text("nothing to do")
    assert_accessible(page, "fee recorded")

    # Staff confirm it in the admin; the holder is told by email.
    StaffFactory(email="staff@example.com", is_superuser=True)
    mail.outbox.clear()
    staff = browser.new_context(viewport=DESKTOP, base_url=live_server.url).new_page()
    staff.goto("/admin/login/")
    staff.get_by_label("Email address").fill("staff@example.com")
    staff.get_by_label("Password").fill(DEFAULT_PASSWORD)
    staff.get_by_role("button", name="Log in").click()
    staff.goto("/admin/seu_ledger/fee/?status__exact=submitted")
    staff.locator("input[name=_selected_action]").first.check()
    staff.locator("select[name=action]").select_option("confirm_paid")
    staff.get_by_role("button", name="Go").click()
    expect(staff.get_by_text("Confirmed 1 fee(s) as paid.")).to_be_visible()
    assert [m.subject for m in mail.outbox] == ["Your CSPO renewal fee is confirmed"]

    # The holder reviews what the renewal uses, confirms, sees the receipt and gets an email.
    page.reload()
    page.get_by_role("link", name="Review and renew CSPO").click()
    expect(page.get_by_text("Uses up 20 SEU from 3 activities")).to_be_visible()
    assert_accessible(page, "renewal confirmation")
    page.get_by_role("button", name="Confirm: renew CSPO").click()
    expect(page.locator(".renewed")).to_contain_text(f"– {formats.day(new_end)}")
    assert_accessible(page, "renewal receipt")
    assert mail.outbox[-1].subject == f"CSPO renewed: your new term runs to {formats.day(new_end)}"
    page.get_by_role("link", name="Back to your certifications").click()
    expect(page.locator(".next-term")).to_contain_text(formats.day(new_end))

    # Anyone with the link sees the new valid-through date.
    public = browser.new_context(viewport=DESKTOP, base_url=live_server.url).new_page()
    public.goto(f"/verify/{credential.verification_code}/")
    expect(public.locator(".valid-through")).to_have_text(formats.day(new_end))
    expect(public.locator(".public-status")).to_have_text("Active")
    expect(
        public.get_by_role("img", name="QR code linking to this verification page")
    ).to_be_visible()
    assert_accessible(public, "verification")
    public.screenshot(path=screenshot_dir / "verify-desktop.png", full_page=True)
    context.close()


def test_dashboard_screenshots_at_desktop_and_phone_width(
    page, axe, reference_data, screenshot_dir
):
    """A holder with several credentials in different states, as the README shows them."""
    from decimal import Decimal

    from seu_ledger.services import entry_log, fee_submit
    from tests.factories import UserFactory, category

    holder = UserFactory(email="casey@example.com", first_name="Casey", last_name="Combo")
    day = today()
    credential_issue(
        holder=holder, program=program("CSM"), issued_on=day - datetime.timedelta(days=650)
    )
    cspo = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=day - datetime.timedelta(days=640)
    )
    credential_issue(
        holder=holder, program=program("PMI-ACP"), issued_on=day - datetime.timedelta(days=400)
    )
    credential_issue(
        holder=holder, program=program("PSPO I"), issued_on=day - datetime.timedelta(days=900)
    )
    for offset, (key, title, hours) in enumerate(
        [
            ("scrum-alliance:learning", "Product discovery course", "8"),
            ("scrum-alliance:events", "Regional Scrum gathering", "6"),
            ("scrum-alliance:volunteering", "Spoke at the local meetup", "3"),
            ("pmi:education", "Agile estimation webinar", "2.5"),
        ]
    ):
        entry_log(
            holder=holder,
            activity_date=day - datetime.timedelta(days=20 + offset * 15),
            category=category(key),
            title=title,
            hours=Decimal(hours),
        )
    fee_submit(credential=cspo, reference="SA-55120")
    sign_in(page, "casey@example.com")
    expect(page.get_by_role("heading", name="Your certifications")).to_be_visible()
    expect(page.locator("article.credential-card")).to_have_count(3)
    axe("dashboard, desktop")
    page.screenshot(path=screenshot_dir / "dashboard-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    axe("dashboard, phone")
    page.screenshot(path=screenshot_dir / "dashboard-phone.png", full_page=True)
