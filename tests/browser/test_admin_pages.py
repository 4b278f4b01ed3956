"""Admin pages staff use daily, on a common laptop screen (1366 x 768): the credential list
with every column in view, a course with its attendees, a term, and a reminder's preview."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from credentials.models import Attendance, Course, Term, User
from credentials.selectors import today
from credentials.services import credential_issue
from seu_ledger.services import entry_log
from tests.browser.conftest import sign_in
from tests.factories import UserFactory, category, program, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}

# The right edges of the results table's last column, of the box that scrolls it, and of the
# page, in CSS pixels.
EDGES = """() => {
    const table = document.querySelector('#result_list');
    const box = table.closest('.results') || table.parentElement;
    const cells = [...table.querySelectorAll('tr > :last-child')];
    return {
        lastColumn: Math.max(...cells.map(cell => cell.getBoundingClientRect().right)),
        box: box.getBoundingClientRect().right,
        scrolls: box.scrollWidth > box.clientWidth,
        page: document.documentElement.scrollWidth,
        screen: window.innerWidth,
    };
}"""


def long_named_holders(count=12):
    """Holders with addresses as long as the longest real ones, each with a credential (ended,
    in grace, suspended, expiring, active) and some units."""
    on = today()
    for index in range(count):
        holder = UserFactory(
            email=f"alexandra.vandenberghe-{index}@consulting-partners.example.com",
            first_name="Alexandra",
            last_name="Vandenberghe",
        )
        code = ("CSPO", "PMI-ACP", "CSP-PO")[index % 3]
        credential = credential_issue(
            holder=holder, program=program(code), issued_on=on - datetime.timedelta(days=400)
        )
        Term.objects.filter(credential=credential).update(
            ends_on=on + datetime.timedelta(days=index * 20 - 60)
        )
        entry_log(
            holder=holder,
            activity_date=on - datetime.timedelta(days=5),
            category=category("scrum-alliance:learning"),
            title="Backlog refinement workshop",
            hours="6.5",
        )


def test_the_credential_list_shows_its_last_column_at_1366_pixels(
    page, axe, reference_data, screenshot_dir
):
    long_named_holders()
    staff = staff_in("registrar")
    page.set_viewport_size(LAPTOP)
    sign_in(page, staff.email)
    page.goto("/admin/credentials/credential/")
    edges = page.evaluate(EDGES)
    page.screenshot(path=screenshot_dir / "admin-credentials-1366.png")
    assert edges["lastColumn"] <= edges["box"] + 0.5, edges
    assert not edges["scrolls"], edges
    assert edges["page"] <= edges["screen"], edges
    expect(page.get_by_role("columnheader", name="Units missing")).to_be_in_viewport()
    axe("admin credential list at 1366 px")


def test_a_course_lists_its_attendees_by_name_and_a_term_finds_its_credential(
    page, axe, reference_data
):
    long_named_holders(3)
    course = Course.objects.create(
        code="SPRING-1",
        program=program("CSPO"),
        start_date=datetime.date(2025, 11, 3),
        end_date=datetime.date(2025, 11, 4),
        hours=16,
    )
    for holder in User.objects.filter(email__startswith="alexandra"):
        Attendance.objects.create(holder=holder, course=course, hours_attended=16, completed=True)
    staff = staff_in("registrar")
    page.set_viewport_size(LAPTOP)
    sign_in(page, staff.email)
    page.goto(f"/admin/credentials/course/{course.pk}/change/")
    # Each row's holder box shows the holder, loaded with the row.
    boxes = page.get_by_role("combobox", name=re.compile("@consulting-partners.example.com"))
    expect(boxes).to_have_count(3)
    axe("admin course with its attendees")
    term = Term.objects.order_by("pk").first()
    page.goto(f"/admin/credentials/term/{term.pk}/change/")
    expect(page.get_by_role("combobox", name=re.compile("^Credential"))).to_contain_text("held by")
    axe("admin term")


def test_the_reminder_preview_shows_the_email_in_its_frame(page, axe, reference_data):
    long_named_holders(3)
    email = "alexandra.vandenberghe-2@consulting-partners.example.com"  # 20 days into a grace
    staff = staff_in("registrar")
    page.set_viewport_size(LAPTOP)
    sign_in(page, staff.email)
    page.goto(f"/admin/seu_ledger/reminder/preview/?holder={email}")
    frame = page.frame_locator("iframe.preview-html")
    expect(frame.get_by_text("Hello Alexandra,")).to_be_visible()
    expect(frame.get_by_role("link", name="All your certifications")).to_be_visible()
    axe("admin reminder preview with an email")
