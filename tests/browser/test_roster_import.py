"""Staff import a roster in the browser: check, confirm, watch the progress bar, read the
summary; applied by a real Celery worker."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.credentials.test_roster import GOOD, csv_bytes
from tests.factories import StaffFactory
from tests.services import skip_unless_redis

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_import_a_roster_and_follow_its_progress(
    page, axe, reference_data, celery_worker_process, tmp_path, screenshot_dir
):
    skip_unless_redis()
    StaffFactory(email="registrar@example.com", is_superuser=True)
    roster = tmp_path / "march.csv"
    roster.write_bytes(
        csv_bytes(*GOOD, "broken-address,Eve,E,C-1,CSPO,2025-03-03,2025-03-04,16,yes")
    )
    sign_in(page, "registrar@example.com")
    page.goto("/admin/")
    page.get_by_role("link", name="Import a course roster (CSV or XLSX)").click()
    page.get_by_label("File").set_input_files(str(roster))
    page.get_by_role("button", name="Check the roster").click()

    expect(page.locator(".roster-errors")).to_contain_text("“broken-address” is not a valid email")
    expect(page.locator(".roster-totals")).to_contain_text("Credentials to issue")
    axe("roster checked")
    page.screenshot(path=screenshot_dir / "roster-check.png", full_page=True)
    page.get_by_role("button", name="Import only the 4 valid rows").click()

    expect(page.locator("#roster-progress")).to_be_visible()
    expect(page.locator(".roster-summary")).to_contain_text("Credentials issued", timeout=60_000)
    expect(page.locator("#roster-status")).to_have_text(re.compile("Done"))
    expect(page.locator("#roster-progress")).to_have_attribute("value", "100")
    axe("roster done")
    page.screenshot(path=screenshot_dir / "roster-done.png", full_page=True)


def test_staff_fix_the_rejected_rows_and_upload_them_again(
    page, reference_data, celery_worker_process, tmp_path, settings
):
    """The whole loop on real workers: the upload is checked by a worker (the page says
    "Checking" and follows it), the bad rows come back as a file, staff fix it and upload it
    again, and both imports end done with every holder in."""
    skip_unless_redis()
    settings.ROSTER_CHECK_IN_WORKER = True
    StaffFactory(email="registrar@example.com", is_superuser=True)
    roster = tmp_path / "april.csv"
    roster.write_bytes(
        csv_bytes(
            *GOOD,
            "eve(at)example.com,Eve,Evans,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
            "fay@example.com,Fay,Fox,C-1,CSPO,2025-03-03,2025-03-04,99.1,yes",
        )
    )
    sign_in(page, "registrar@example.com")
    page.goto("/rosters/upload/")
    page.get_by_label("File").set_input_files(str(roster))
    page.get_by_role("button", name="Check the roster").click()
    errors = page.locator(".roster-errors")
    expect(errors).to_contain_text("eve(at)example.com", timeout=60_000)
    expect(errors).to_contain_text("Eve Evans")
    expect(errors).to_contain_text("Fay Fox")
    page.get_by_role("button", name="Import only the 4 valid rows").click()
    expect(page.locator(".roster-summary")).to_contain_text("Holders added", timeout=60_000)
    expect(page.locator(".roster-summary")).to_contain_text("Rows skipped for their problems")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 2 rows to fix and upload again").click()
    to_fix = download.value.path().read_bytes().decode("utf-8-sig")
    assert to_fix.splitlines()[0].endswith(",problem")
    fixed = tmp_path / "april-fixed.csv"
    fixed.write_text(
        to_fix.replace("eve(at)example.com", "eve@example.com").replace("99.1", "16"),
        encoding="utf-8-sig",
    )
    page.goto("/rosters/upload/")
    page.get_by_label("File").set_input_files(str(fixed))
    page.get_by_role("button", name="Check the roster").click()
    expect(page.locator(".roster-totals")).to_contain_text("New holders", timeout=60_000)
    expect(page.locator(".roster-errors")).to_have_count(0)
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator(".roster-summary")).to_contain_text("Holders added", timeout=60_000)
    from credentials.models import User

    assert User.objects.filter(is_staff=False).count() == 6
