"""A registrar reads the program dashboard: the figures, the chart, the at-risk list."""

import datetime

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from credentials.models import Term
from credentials.selectors import today
from credentials.services import credential_issue
from seu_ledger.demo import demo_data_seed
from tests.browser.conftest import DESKTOP, sign_in
from tests.factories import StaffFactory, UserFactory, program

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def spread_expirations(count=36):
    """Holders whose CSPO or CSM ends at different points of the next year."""
    on = today()
    for index in range(count):
        holder = UserFactory(email=f"learner{index}@example.com")
        code = "CSPO" if index % 3 else "CSM"
        credential = credential_issue(
            holder=holder, program=program(code), issued_on=on - datetime.timedelta(days=400)
        )
        ends_on = on + datetime.timedelta(days=5 + (index * 53) % 360)
        Term.objects.filter(credential=credential).update(ends_on=ends_on)


def test_a_registrar_reads_the_dashboard_and_filters_the_holders_at_risk(
    page, axe, reference_data, screenshot_dir
):
    demo_data_seed()
    spread_expirations()
    registrar = StaffFactory(email="registrar@example.com")
    registrar.groups.add(Group.objects.get(name="registrar"))
    page.set_viewport_size(DESKTOP)
    sign_in(page, "registrar@example.com")
    page.goto("/admin/")
    page.get_by_role("link", name="Program dashboard").click()

    expect(page.get_by_role("heading", name="Program dashboard")).to_be_visible()
    # From today through the same day next year: 13 calendar months, the first and last in part.
    expect(page.locator(".expirations-chart rect.bar")).to_have_count(13)
    expect(page.locator(".status-table")).to_contain_text("CSPO")
    expect(page.locator(".at-risk")).to_contain_text("learner")
    page.screenshot(path=screenshot_dir / "staff-dashboard.png", full_page=True)

    page.get_by_label("Program").select_option("CSM")
    page.get_by_label("Missing").select_option("units")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator(".at-risk tbody tr")
    expect(rows.first).to_contain_text("CSM")
    for text in rows.all_inner_texts():
        assert "CSPO" not in text or "CSM" in text
    axe("at-risk list filtered")
