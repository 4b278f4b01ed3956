"""In Chromium, the moments a holder needs the product most: in grace, claiming a credential
that aligns another, units over the daily cap, a fee through staff to the renewal email, the
history on a phone and a history of several pages. axe-core checks every page these walks open
(WCAG 2.1 AA)."""

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from credentials.dates import add_months
from credentials.models import Credential
from credentials.selectors import issuer_today, today
from credentials.services import credential_issue, licence_accept
from cspo_tracker import formats
from seu_ledger.services import fee_waive
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.factories import StaffFactory, UserFactory, learning_entry, program, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_page(browser, live_server, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def holder(email: str, code: str, issued_on: datetime.date):
    person = UserFactory(email=email, first_name="Gia", last_name="Grace")
    licence_accept(user=person)
    credential = credential_issue(holder=person, program=program(code), issued_on=issued_on)
    return person, credential


def test_a_holder_in_grace_logs_a_dated_activity_and_renews(
    browser, live_server, reference_data, screenshot_dir
):
    # Days counted on the issuer's calendar (Scrum Alliance: Denver), as the dashboard counts.
    ends_on = issuer_today(program("CSP-PO")) - datetime.timedelta(days=20)
    person, credential = holder("gia@example.com", "CSP-PO", add_months(ends_on, -24))
    assert credential.terms.get().ends_on == ends_on
    for back in range(1, 5):  # 32 of the 40 SEU, dated inside the term
        learning_entry(person, ends_on - datetime.timedelta(days=back), 8, f"Workshop {back}")
    fee_waive(credential=credential, recorded_by=StaffFactory(), reason="Trainer scholarship")
    mail.outbox.clear()
    context, page = open_page(browser, live_server)
    sign_in(page, person.email)

    card = page.locator("article.credential-card")
    expect(card.get_by_text("In grace")).to_be_visible()
    expect(card.locator(".grace-countdown")).to_have_text("70 days left to renew")
    last = formats.day(ends_on)
    expect(card.locator(".next-step")).to_contain_text(f"dated on or before {last}")
    expect(card.get_by_role("link", name="Log units")).to_have_count(0)
    assert_accessible(page, "dashboard in grace")
    page.screenshot(path=str(screenshot_dir / "grace-card.png"), full_page=True)

    card.get_by_role("link", name=f"Log activities dated by {last}").click()
    expect(page.locator(".dated-by")).to_contain_text(f"on or before {last} count")
    expect(page.get_by_label("Date")).to_have_value(ends_on.isoformat())
    assert_accessible(page, "activity form in grace")
    page.get_by_label("Title").fill("Backlog refinement clinic")
    page.get_by_label("Hours").fill("8")
    page.get_by_role("button", name="Save activity").click()
    expect(page.get_by_text("all 8 hours count toward CSP-PO")).to_be_visible()

    expect(card.locator(".next-step")).to_have_text("Units and fee are complete: you can renew.")
    card.get_by_role("link", name="Renew CSP-PO").click()
    expect(page.get_by_role("heading", name="Renew CSP-PO?")).to_be_visible()
    new_end = add_months(ends_on, 24)
    expect(page.get_by_text(f"CSP-PO: {last} – {formats.day(new_end)}")).to_be_visible()
    expect(page.get_by_text("Uses up 40 SEU from 5 activities")).to_be_visible()
    assert_accessible(page, "renewal confirmation")
    page.get_by_role("button", name="Confirm: renew CSP-PO").click()
    expect(page.locator(".renewed")).to_contain_text(f"new term {last} – {formats.day(new_end)}")
    assert_accessible(page, "renewal receipt")
    page.screenshot(path=str(screenshot_dir / "renewed.png"), full_page=True)
    context.close()
    assert [m.subject for m in mail.outbox] == [
        f"CSP-PO renewed: your new term runs to {formats.day(new_end)}"
    ]


def test_claiming_a_csm_next_to_a_cspo_shows_the_impact_first(
    browser, live_server, reference_data, screenshot_dir
):
    issued = today() - datetime.timedelta(days=300)
    person, cspo = holder("cam@example.com", "CSPO", issued)
    old_entry_day = issued - datetime.timedelta(days=60)  # counts now, not after alignment
    learning_entry(person, old_entry_day, 8, "Early workshop")
    learning_entry(person, today() - datetime.timedelta(days=10), 7.5, "Recent meetup")
    context, page = open_page(browser, live_server)
    sign_in(page, person.email)
    expect(page.locator(".units-counted")).to_have_text("15.5")

    page.get_by_role("link", name="Add a credential").first.click()
    page.get_by_label("Program").select_option(label=str(program("CSM")))
    page.get_by_label("Certificate number").fill("CSM-000123")
    csm_issued = today() - datetime.timedelta(days=30)
    page.get_by_label("Issue date").fill(csm_issued.isoformat())
    page.get_by_role("button", name="Add credential").click()
    impact = page.locator("section.impact")
    expect(impact).to_contain_text("CSPO renews together with CSM (CSPO + CSM)")
    expect(impact).to_contain_text("SEU required: 20 → 30")
    expect(impact).to_contain_text("SEU counted: 15.5 → 7.5")
    expect(impact).to_contain_text(f"{formats.day(old_entry_day)} Early workshop: 8 → 0 SEU")
    assert not Credential.objects.filter(holder=person, program__code="CSM").exists()
    assert_accessible(page, "claim impact")
    page.screenshot(path=str(screenshot_dir / "claim-impact.png"), full_page=True)
    page.get_by_role("button", name="Add CSM and accept these changes").click()
    expect(page.locator(".unverified-badge")).to_have_text("Unverified claim")
    assert_accessible(page, "dashboard with an unverified claim")
    context.close()

    # Staff see the same figures before verifying; the holder is told after.
    claimed = Credential.objects.get(holder=person, program__code="CSM")
    staff = staff_in("registrar")
    mail.outbox.clear()
    context, page = open_page(browser, live_server)
    page.goto("/admin/login/")
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/credentials/credential/?id__exact={claimed.pk}")
    page.locator(f"input[name=_selected_action][value='{claimed.pk}']").check()
    page.locator("select[name=action]").select_option("mark_verified")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".verify-confirm")).to_contain_text("SEU counted: 15.5 → 7.5")
    assert_accessible(page, "staff: verify with impact")
    page.get_by_role("button", name="Verify 1 credential").click()
    expect(page.get_by_text("Marked 1 credential(s) verified.")).to_be_visible()
    context.close()
    [email] = mail.outbox
    assert email.subject == "CSM is verified: your renewal dates changed"
    assert "SEU counted: 15.5 → 7.5" in email.body


def test_units_over_the_daily_cap_are_explained_where_they_are_logged_and_listed(
    browser, live_server, reference_data
):
    person, _ = holder("cap@example.com", "CSPO", today() - datetime.timedelta(days=200))
    context, page = open_page(browser, live_server)
    sign_in(page, person.email)
    day = today() - datetime.timedelta(days=3)
    for title, hours in (("Hackathon", "10"), ("Evening talk", "1")):
        page.get_by_role("link", name="Log activity").first.click()
        page.get_by_label("Date").fill(day.isoformat())
        page.get_by_label("Title").fill(title)
        page.get_by_label("Hours").fill(hours)
        page.get_by_role("button", name="Save activity").click()
    expect(page.locator(".alert").first).to_contain_text("does not count toward CSPO")
    page.get_by_role("link", name="History").click()
    rows = page.locator("tr.entry-row")
    expect(rows.filter(has_text="Hackathon").locator(".what-counts")).to_contain_text(
        "CSPO: 8 of 10 count; 2 over the daily cap of 8 SEU a day"
    )
    expect(rows.filter(has_text="Evening talk").locator(".what-counts")).to_contain_text(
        "CSPO: none count; 1 over the daily cap of 8 SEU a day"
    )
    assert_accessible(page, "history with capped units")
    context.close()


def test_the_history_fits_a_phone_with_every_action_in_reach(
    browser, live_server, reference_data, screenshot_dir
):
    person, _ = holder("phone@example.com", "CSPO", today() - datetime.timedelta(days=200))
    for back in range(1, 6):
        learning_entry(
            person,
            today() - datetime.timedelta(days=back),
            3,
            f"A rather long activity title number {back} that would widen a table",
        )
    context, page = open_page(browser, live_server, viewport=PHONE)
    sign_in(page, person.email)
    page.goto("/activities/")
    expect(page.locator("tr.entry-row")).to_have_count(5)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for button in page.locator("tr.entry-row .actions a").all():
        box = button.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], button.inner_text()
    assert_accessible(page, "history on a phone")
    page.screenshot(path=str(screenshot_dir / "history-phone.png"), full_page=True)
    context.close()


def test_a_long_history_says_how_many_activities_and_pages_through_them(
    browser, live_server, reference_data
):
    person, _ = holder("long@example.com", "CSPO", today() - datetime.timedelta(days=400))
    for back in range(1, 31):
        learning_entry(person, today() - datetime.timedelta(days=back), 1, f"Meetup {back}")
    context, page = open_page(browser, live_server)
    sign_in(page, person.email)
    page.goto("/activities/")
    expect(page.locator("#history-count")).to_have_text(
        "30 activities: 1 to 25 on this page, newest first."
    )
    expect(page.locator("tr.entry-row")).to_have_count(25)
    pages = page.get_by_role("navigation", name="Pages of activities")
    expect(pages.locator("[aria-current=page]")).to_have_text("Page 1 of 2")
    assert_accessible(page, "history, first of two pages")
    pages.get_by_role("link", name="Next page").click()
    expect(page.locator("#history-count")).to_contain_text("26 to 30 on this page")
    expect(page.locator("tr.entry-row")).to_have_count(5)
    expect(page.locator("tr.entry-row").last).to_contain_text("Meetup 30")
    expect(pages.get_by_role("link", name="First page")).to_be_visible()
    assert_accessible(page, "history, last page")
    context.close()


def test_unverified_claims_never_wear_the_plain_active_badge(browser, live_server, reference_data):
    from credentials.services import credential_claim

    person, _ = holder("claim@example.com", "PSPO I", today() - datetime.timedelta(days=10))
    credential_claim(
        holder=person,
        program=program("PMP"),
        issued_on=today() - datetime.timedelta(days=100),
        certificate_number="PMP-9",
    )
    context, page = open_page(browser, live_server)
    sign_in(page, person.email)
    pmp = page.locator("article.credential-card").filter(has_text="PMP")
    expect(pmp.locator(".unverified-badge")).to_have_text("Unverified claim")
    pmp.get_by_role("link", name=re.compile("Renewal details")).click()
    expect(page.locator(".unverified-badge")).to_have_text("Unverified claim")
    assert_accessible(page, "renewal page of an unverified claim")
    context.close()
