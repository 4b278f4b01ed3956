"""In Chromium: staff sign in, land on the work queue, verify a claim and confirm a receipt,
and the holder's dashboard shows both at once. axe-core checks each page on the way."""

import datetime

import pytest
from django.core import mail
from playwright.sync_api import expect

from credentials.selectors import today
from credentials.services import credential_claim, credential_issue, licence_accept
from seu_ledger.services import fee_submit
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.factories import UserFactory, learning_entry, program, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_work_the_queue_and_the_holder_sees_it(
    browser, live_server, reference_data, screenshot_dir
):
    holder = UserFactory(email="ann@example.com", first_name="Ann", last_name="Owner")
    licence_accept(user=holder)
    cspo = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=today() - datetime.timedelta(days=700)
    )
    for back in range(40, 43):
        learning_entry(holder, today() - datetime.timedelta(days=back), 8, f"Workshop {back}")
    fee_submit(credential=cspo, reference="SA-2026-77")
    credential_claim(
        holder=holder,
        program=program("CSM"),
        issued_on=today() - datetime.timedelta(days=20),
        certificate_number="CSM-000555",
    )
    staff = staff_in("registrar")
    mail.outbox.clear()

    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, staff.email)
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    expect(page.locator(".queue-count[data-list=claims]")).to_have_text("1")
    expect(page.locator(".queue-count[data-list=receipts]")).to_have_text("1")
    assert_accessible(page, "work queue")
    page.screenshot(path=str(screenshot_dir / "staff-queue.png"), full_page=True)

    # The claim: its impact first, then verified.
    page.locator("#claims").get_by_role("link", name="Verify… CSM of ann@example.com").click()
    expect(page.locator(".impact")).to_contain_text("CSPO renews together with CSM (CSPO + CSM)")
    assert_accessible(page, "verify a claim")
    page.get_by_role("button", name="Verify CSM").click()
    expect(page.get_by_text("Verified CSM for ann@example.com.")).to_be_visible()
    expect(page.locator(".queue-count[data-list=claims]")).to_have_text("0")

    # The receipt: confirmed behind a second click.
    receipts = page.locator("#receipts")
    receipts.locator("summary").click()
    receipts.get_by_role("button", name="Yes, confirm as paid").click()
    expect(page.get_by_text("Confirmed the receipt SA-2026-77 of ann@example.com.")).to_be_visible()
    expect(page.locator(".queue-count[data-list=receipts]")).to_have_text("0")
    context.close()
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "CSM is verified: your renewal dates changed",
        "Your CSPO + CSM renewal fee is confirmed",
    ]

    # The holder's card shows both at once.
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, holder.email)
    card = page.locator("article.credential-card")
    expect(card.get_by_role("heading", name="CSPO + CSM")).to_be_visible()
    expect(card.locator(".fee-words")).to_contain_text("paid")
    expect(card.locator(".unverified-badge")).to_have_count(0)
    assert_accessible(page, "holder after staff acted")
    context.close()
