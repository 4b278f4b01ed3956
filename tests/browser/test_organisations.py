"""Training organisations in the browser: a trainer imports the roster of a new course and
follows it to the organisation's course page; another trainer of the same organisation, a
trainer of another organisation and the organisation's admin each see what they reach, and
nothing else (404, not 403: another organisation's rows are not even admitted to exist)."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from credentials.dates import add_months
from credentials.models import Course, Organisation, RosterImport
from credentials.organisations import course_trainers_set, organisation_member_add
from credentials.roster.parse import COLUMNS
from credentials.selectors import today
from tests.browser.conftest import sign_in
from tests.factories import UserFactory, cspo_course, staff_in
from tests.services import skip_unless_redis

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A1 = "ann.alpha@example.com"  # trainer of Alpha, uploads the roster
A2 = "abe.alpha@example.com"  # another trainer of Alpha, not named on the course
B1 = "bea.beta@example.com"  # trainer of Beta
ADMIN_A = "ada.admin@example.com"  # organisation admin of Alpha
ATTENDEES = [
    ("kim.learner@example.com", "Kim", "Learner"),
    ("lou.learner@example.com", "Lou", "Learner"),
    ("max.learner@example.com", "Max", "Learner"),
]


@pytest.fixture
def organisations(reference_data):
    """Alpha (two trainers and an organisation admin) and Beta (one trainer, one course)."""
    alpha = Organisation.objects.create(
        name="Alpha Agile Academy", slug="alpha", reply_to="courses@alpha.example"
    )
    beta = Organisation.objects.create(name="Beta Scrum School", slug="beta")
    platform_staff = staff_in("registrar")  # existing accounts are platform staff's to add
    for email, first, last, organisation, role in [
        (A1, "Ann", "Alpha", alpha, "trainer"),
        (A2, "Abe", "Alpha", alpha, "trainer"),
        (ADMIN_A, "Ada", "Admin", alpha, "admin"),
        (B1, "Bea", "Beta", beta, "trainer"),
    ]:
        UserFactory(email=email, first_name=first, last_name=last)
        organisation_member_add(
            organisation=organisation, email=email, role=role, added_by=platform_staff
        )
    beta_course = cspo_course("BETA-CSPO-1", organisation=beta)
    course_trainers_set(course=beta_course, user_ids=[beta.members.get().user_id])
    return alpha, beta


def roster_file(path, rows) -> str:
    """A roster with the template's columns (`credentials.roster.parse.COLUMNS`)."""
    lines = [",".join(COLUMNS)]
    lines += [",".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def course_rows(code, end_date, people, hours=16):
    """Rows of a two-day CSPO course ending on `end_date`, every attendee completed."""
    start = end_date - datetime.timedelta(days=1)
    return [
        (email, first, last, code, "Product Owner course", "CSPO", "Ann Alpha", start,
         end_date, hours, "yes", "")
        for email, first, last in people
    ]  # fmt: skip


def switch_to(page, email):
    """Sign out (forget the session cookie) and sign in as someone else."""
    page.context.clear_cookies()
    sign_in(page, email)


def status_of(page, url) -> int:
    return page.goto(url).status


def test_a_trainer_imports_a_roster_and_only_those_it_concerns_see_it(
    page, axe, organisations, celery_worker_process, tmp_path, screenshot_dir
):
    skip_unless_redis()
    alpha, _ = organisations
    # Ended nearly two years ago: the CSPOs it issues end their first term in 30 days, so the
    # organisation admin's at-risk list has them.
    ended = add_months(today() + datetime.timedelta(days=30), -24)
    roster = roster_file(
        tmp_path / "alpha-march.csv", course_rows("ALPHA-CSPO-1", ended, ATTENDEES)
    )

    # --- A1 imports the roster of a new course ----------------------------------------
    sign_in(page, A1)
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Organisation")).to_be_visible()
    nav.get_by_role("link", name="Rosters").click()
    expect(page.get_by_role("heading", name="Roster imports")).to_be_visible()
    expect(page.locator(".roster-history")).to_contain_text("No roster for you to see yet")
    page.get_by_role("link", name="Import a roster").click()
    organisation = page.get_by_label("For the organisation")
    expect(organisation.locator("option")).to_have_text(["Alpha Agile Academy"])
    page.get_by_label("File").set_input_files(roster)
    page.screenshot(path=tmp_path / "0-upload.png", full_page=True)
    page.get_by_role("button", name="Check the roster").click()

    totals = page.locator(".roster-totals")
    expect(totals).to_contain_text("New courses")
    expect(totals).to_contain_text("New courses")
    # What the check could tell of other accounts is not shown to an organisation.
    expect(totals).not_to_contain_text("New holders")
    expect(totals).not_to_contain_text("Credentials to issue")
    expect(page.locator(".roster-errors")).to_have_count(0)
    expect(page.get_by_text("for Alpha Agile Academy")).to_be_visible()
    axe("trainer's roster checked")
    page.screenshot(path=tmp_path / "1-roster-checked.png", full_page=True)
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.locator(".roster-summary")).to_contain_text("Credentials issued", timeout=60_000)
    expect(page.locator("#roster-status")).to_have_text(re.compile("Done"))
    page.screenshot(path=tmp_path / "2-roster-done.png", full_page=True)

    course = Course.objects.get(code="ALPHA-CSPO-1")
    record = RosterImport.objects.get(original_name="alpha-march.csv")
    assert course.organisation == alpha
    assert [user.email for user in course.trainers.all()] == [A1]
    course_url = f"/org/alpha/courses/{course.pk}/"
    roster_url = f"/rosters/{record.pk}/"

    nav.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", name="Alpha Agile Academy")).to_be_visible()
    courses = page.locator("table.courses")
    expect(courses).to_contain_text("ALPHA-CSPO-1")
    expect(courses.locator("tbody tr")).to_have_count(1)
    expect(page.locator(".rosters")).to_contain_text("alpha-march.csv")
    axe("trainer's organisation page")
    page.screenshot(path=tmp_path / "3-organisation.png", full_page=True)
    courses.get_by_role("link", name="ALPHA-CSPO-1").click()

    expect(page).to_have_url(re.compile(re.escape(course_url) + "$"))
    expect(page.get_by_role("heading", name=re.compile("ALPHA-CSPO-1"))).to_be_visible()
    attendees = page.locator("table.attendees tbody tr")
    expect(attendees).to_have_count(3)
    for email, first, last in ATTENDEES:
        row = attendees.filter(has_text=email)
        expect(row).to_contain_text(f"{first} {last}")
        expect(row.locator("td[data-label=Completed]")).to_have_text("Yes")
        expect(row.locator("td[data-label=Credential]")).to_contain_text("Issued")
    expect(page.get_by_text("Trainers: Ann Alpha.")).to_be_visible()
    axe("trainer's course page")
    page.screenshot(path=tmp_path / "4-course.png", full_page=True)
    page.screenshot(path=screenshot_dir / "organisation-course.png", full_page=True)

    # --- A2: same organisation, not named on the course --------------------------------
    switch_to(page, A2)
    expect(nav.get_by_role("link", name="Organisation")).to_be_visible()
    page.goto("/org/alpha/")
    expect(page.locator("table.courses")).to_contain_text("No course names you as trainer yet")
    expect(page.locator("table.courses")).not_to_contain_text("ALPHA-CSPO-1")
    expect(page.locator(".rosters")).not_to_contain_text("alpha-march.csv")
    page.screenshot(path=tmp_path / "5-other-trainer.png", full_page=True)
    nav.get_by_role("link", name="Rosters").click()
    expect(page.locator(".roster-history")).to_contain_text("No roster for you to see yet")
    assert status_of(page, course_url) == 404
    assert status_of(page, roster_url) == 404
    assert status_of(page, f"{course_url}attendees.csv") == 404

    # --- B1: another organisation --------------------------------------------------------
    switch_to(page, B1)
    expect(nav.get_by_role("link", name="Organisation")).to_be_visible()
    nav.get_by_role("link", name="Organisation").click()
    expect(page.get_by_role("heading", name="Beta Scrum School")).to_be_visible()
    expect(page.locator("table.courses")).not_to_contain_text("ALPHA-CSPO-1")
    assert status_of(page, "/org/alpha/") == 404
    assert status_of(page, course_url) == 404
    assert status_of(page, f"/org/beta/courses/{course.pk}/") == 404
    assert status_of(page, roster_url) == 404
    page.goto("/rosters/")
    expect(page.locator(".roster-history")).not_to_contain_text("alpha-march.csv")

    # --- The organisation admin of Alpha sees the course and the at-risk list ------------
    switch_to(page, ADMIN_A)
    nav.get_by_role("link", name="Organisation").click()
    expect(page.locator("table.courses")).to_contain_text("ALPHA-CSPO-1")
    expect(page.locator(".rosters")).to_contain_text("alpha-march.csv")
    page.get_by_role("link", name="ALPHA-CSPO-1").click()
    expect(page.locator("table.attendees tbody tr")).to_have_count(3)
    expect(page.locator("form.course-trainers")).to_be_visible()
    page.screenshot(path=tmp_path / "6-admin-course.png", full_page=True)
    page.goto("/org/alpha/")
    page.get_by_role("link", name="At risk").click()
    expect(page.get_by_role("heading", name="Credentials at risk")).to_be_visible()
    at_risk = page.locator("table.at-risk tbody tr")
    expect(at_risk).to_have_count(3)
    expect(at_risk.first).to_contain_text("Expiring")
    expect(at_risk.first).to_contain_text("ALPHA-CSPO-1")
    axe("organisation admin's at-risk list")
    page.screenshot(path=tmp_path / "7-at-risk.png", full_page=True)
    assert page.goto(roster_url).status == 200


def test_a_trainer_s_roster_naming_another_organisation_s_course_is_refused_on_its_line(
    page, organisations, tmp_path
):
    """Checked in the web request (ROSTER_CHECK_IN_WORKER is off in the tests): no worker."""
    ended = today() - datetime.timedelta(days=10)
    rows = course_rows("ALPHA-CSPO-2", ended, ATTENDEES[:1]) + course_rows(
        "BETA-CSPO-1", ended, ATTENDEES[1:2]
    )
    roster = roster_file(tmp_path / "mixed.csv", rows)
    sign_in(page, A1)
    page.goto("/rosters/upload/")
    page.get_by_label("File").set_input_files(roster)
    page.get_by_role("button", name="Check the roster").click()

    errors = page.locator(".roster-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.locator("td[data-label=Line]")).to_have_text("3")
    expect(errors.locator("td[data-label=Column]")).to_have_text("course_code")
    expect(errors.locator("td[data-label=Problem]")).to_contain_text(
        "Course BETA-CSPO-1 is not a course of Alpha Agile Academy"
    )
    expect(page.get_by_role("button", name="Import only the 1 valid row")).to_be_visible()
    page.screenshot(path=tmp_path / "other-organisation-course.png", full_page=True)
    assert not Course.objects.filter(code="ALPHA-CSPO-2").exists()  # nothing written yet

    # The roster pages stay closed to a holder who is no organisation's member.
    UserFactory(email="hal.holder@example.com")
    switch_to(page, "hal.holder@example.com")
    expect(page.get_by_role("link", name="Organisation")).to_have_count(0)
    assert status_of(page, "/rosters/") == 403
    assert status_of(page, "/org/alpha/") == 403  # no organisation page is for them
