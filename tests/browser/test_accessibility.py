"""Every page, public, holder and staff, passes axe-core's WCAG 2.1 AA rules at desktop and
phone width, in the states that show the most: credentials in each status, a form with its
errors, a history with a voided entry, a roster with bad rows and one applied."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from credentials.dates import add_months
from credentials.models import RosterImport
from credentials.roster.imports import (
    roster_import_apply,
    roster_import_check,
    roster_import_discard,
)
from credentials.selectors import today
from credentials.services import credential_claim, credential_issue
from seu_ledger.services import entry_log, entry_void, fee_submit
from tests.browser.axe import axe_violations, violations_report
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.credentials.test_roster import GOOD, csv_bytes
from tests.factories import UserFactory, category, program, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


class Sweep:
    """Visits pages in one browser context and collects every page's violations, so one run
    reports them all rather than stopping at the first page."""

    def __init__(self, browser, live_server, viewport):
        self.context = browser.new_context(viewport=viewport, base_url=live_server.url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.csp = []
        self.page.on(
            "console",
            lambda message: (
                self.csp.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        self.reports: list[str] = []

    def check(self, label: str) -> None:
        """Check the page as it is now: axe-core's rules, and no sideways scrolling of the
        page itself (WCAG 1.4.10, reflow; a wide table may scroll inside its own box)."""
        violations = axe_violations(self.page)
        if violations:
            self.reports.append(violations_report(violations, label))
        page_width, screen = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        if page_width > screen:
            self.reports.append(f"{label}: the page is {page_width}px wide on a {screen}px screen")

    def visit(self, url: str, label: str | None = None) -> None:
        response = self.page.goto(url)
        assert response.ok, (url, response.status)
        self.check(label or url)

    def finish(self) -> None:
        self.context.close()
        assert self.csp == [], self.csp
        assert not self.reports, "accessibility violations:\n" + "\n".join(self.reports)


@pytest.fixture
def sweep(browser, live_server):
    """`sweep(viewport)` opens a context to visit pages in; each reports when the test ends."""
    sweeps = []

    def start(viewport):
        sweeps.append(Sweep(browser, live_server, viewport))
        return sweeps[-1]

    yield start
    for each in sweeps:
        each.finish()


def submit_empty(page) -> None:
    """Send the page's form as it is, past the browser's own checks of required fields, so
    the page shows the server's error messages."""
    form = page.locator("main form").first
    form.evaluate("form => { form.noValidate = true; }")
    form.locator("[type=submit]").first.click()


def holder_with_everything():
    """A holder whose dashboard shows a credential in each state, with a history that has a
    voided entry and evidence. Returns the holder, the credential in grace and an entry."""
    holder = UserFactory(email="casey@example.com", first_name="Casey", last_name="Combo")
    day = today()

    def years_ago(years: int, days: int = 0) -> datetime.date:
        return add_months(day, -12 * years) - datetime.timedelta(days=days)

    # In grace: a CSP-PO that ended ten days ago (90 days of grace).
    in_grace = credential_issue(
        holder=holder, program=program("CSP-PO"), issued_on=years_ago(2, 10)
    )
    # Active, PMI: three years, one gone.
    pmi = credential_issue(holder=holder, program=program("PMI-ACP"), issued_on=years_ago(1))
    # Expiring: a one-year SAFe POPM ending in three weeks.
    credential_issue(holder=holder, program=program("SAFe POPM"), issued_on=years_ago(1, -21))
    # Lifetime.
    credential_issue(holder=holder, program=program("PSPO I"), issued_on=years_ago(3))
    # Lapsed: a PMP that ended two years ago (one year of suspension).
    credential_issue(holder=holder, program=program("PMP"), issued_on=years_ago(5))
    # Claimed and not yet verified.
    credential_claim(
        holder=holder,
        program=program("CAPM"),
        issued_on=years_ago(0, 100),
        certificate_number="C-9",
    )
    entries = []
    for offset, (key, title, hours) in enumerate(
        [
            ("scrum-alliance:learning", "Product discovery course", "8"),
            ("scrum-alliance:events", "Regional Scrum gathering", "6"),
            ("scrum-alliance:volunteering", "Spoke at the local meetup", "3"),
            ("pmi:education", "Agile estimation webinar", "2.5"),
        ]
    ):
        entries.append(
            entry_log(
                holder=holder,
                activity_date=day - datetime.timedelta(days=20 + offset * 15),
                category=category(key),
                title=title,
                hours=Decimal(hours),
                evidence=SimpleUploadedFile("certificate.pdf", b"%PDF-1.4 x") if offset else None,
            )
        )
    entry_void(entry=entries[2], reason="Logged twice")
    fee_submit(credential=pmi, reference="PMI-1")
    return holder, in_grace, entries[0]


@pytest.mark.parametrize("viewport", WIDTHS)
def test_public_pages_pass_axe(sweep, reference_data, viewport):
    _, credential, _ = holder_with_everything()
    visit = sweep(viewport)
    for url in ["/", "/accounts/login/", "/accounts/sign-up/", "/accounts/password/reset/"]:
        visit.visit(url)
    visit.visit(f"/verify/{credential.verification_code}/", "verification page")
    visit.visit("/verify/check/", "check a credential")
    visit.page.get_by_role("button", name="Check").click()
    expect(visit.page.locator(".error-summary")).to_be_visible()
    visit.check("check a credential, empty submit")
    visit.page.get_by_label("Paste a credential").fill("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
    visit.page.get_by_role("button", name="Check").click()
    expect(visit.page.locator(".check-verdict")).to_have_text("Not verified")
    visit.check("check a credential, not verified")
    # The sign-in form with its error shown.
    visit.page.goto("/accounts/login/")
    visit.page.get_by_label("Email address").fill("casey@example.com")
    visit.page.get_by_label("Password").fill("not the password")
    visit.page.get_by_role("button", name="Sign in").click()
    expect(visit.page.get_by_text("do not match an active account")).to_be_visible()
    visit.check("sign in, wrong password")
    # The sign-up form with its errors shown.
    visit.page.goto("/accounts/sign-up/")
    submit_empty(visit.page)
    expect(visit.page.locator(".invalid-feedback").first).to_be_visible()
    visit.check("sign up, empty submit")
    visit.page.goto("/accounts/password/reset/")
    visit.page.locator("#id_email").fill("casey@example.com")
    submit_empty(visit.page)
    visit.check("password reset sent")
    visit.page.goto("/no-such-page/")
    visit.check("not found")
    visit.visit("/status/", "service status")


@pytest.mark.parametrize("viewport", WIDTHS)
def test_holder_pages_pass_axe(sweep, reference_data, viewport):
    holder, credential, entry = holder_with_everything()
    visit = sweep(viewport)
    sign_in(visit.page, holder.email)
    expect(visit.page.get_by_role("heading", name="Your certifications")).to_be_visible()
    visit.check("dashboard")
    visit.visit("/activities/new/", "log activity")
    visit.page.get_by_label("Date").fill("")
    submit_empty(visit.page)
    expect(visit.page.locator(".invalid-feedback").first).to_be_visible()
    visit.check("log activity, empty submit")
    visit.visit("/activities/", "history")
    visit.visit(f"/activities/{entry.pk}/edit/", "edit activity")
    visit.visit(f"/activities/{entry.pk}/void/", "void activity")
    visit.visit(f"/credentials/{credential.pk}/renewal/", "renewal")
    visit.visit("/calendar/", "calendar")
    visit.visit(f"/credentials/{credential.pk}/badge/", "share a credential")
    visit.page.get_by_label("DID").fill("not a did")
    visit.page.get_by_role("button", name="Save DID").click()
    expect(visit.page.locator(".error-summary")).to_be_visible()
    visit.check("share a credential, bad DID")
    visit.visit("/credentials/add/", "claim")
    visit.visit("/accounts/profile/", "profile")
    visit.visit("/accounts/api-tokens/", "API tokens")
    visit.page.get_by_label("Name").fill("My spreadsheet")
    visit.page.get_by_role("button", name="Make a token").click()
    expect(visit.page.get_by_label("Token “My spreadsheet”")).to_be_visible()
    visit.check("API tokens, one made")
    visit.visit("/accounts/password/change/", "password change")
    visit.visit("/accounts/licence/", "licence")
    if viewport == PHONE:
        # The collapsed navigation, opened.
        visit.page.get_by_role("button", name="Toggle navigation").click()
        expect(visit.page.locator("#main-nav")).to_be_visible()
        visit.check("navigation opened")
    newcomer = UserFactory(email="new@example.com")
    empty = sweep(viewport)
    sign_in(empty.page, newcomer.email)
    expect(empty.page.get_by_role("heading", name="Your certifications")).to_be_visible()
    empty.check("dashboard without credentials")


def roster_imports(staff):
    """Rosters in three states: checked with bad rows (and an accented name), applied, and
    discarded."""
    bad = roster_import_check(
        data=csv_bytes(
            *GOOD,
            "broken-address,Eve,E,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
            "zoe@example.com,Zoë,Ångström,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
        ),
        name="march.csv",
        uploaded_by=staff,
    )
    applied = roster_import_check(data=csv_bytes(*GOOD), name="april.csv", uploaded_by=staff)
    RosterImport.objects.filter(pk=applied.pk).update(status=RosterImport.Status.QUEUED)
    applied = roster_import_apply(import_id=applied.pk)
    assert applied.status == RosterImport.Status.DONE
    discarded = roster_import_check(data=csv_bytes(*GOOD), name="may.csv", uploaded_by=staff)
    return bad, applied, roster_import_discard(record=discarded)


@pytest.mark.parametrize("viewport", WIDTHS)
def test_staff_pages_pass_axe(sweep, reference_data, viewport):
    _, credential, _ = holder_with_everything()
    staff = staff_in("superuser")
    bad, applied, discarded = roster_imports(staff)
    visit = sweep(viewport)
    sign_in(visit.page, staff.email)
    visit.visit("/staff/", "staff work queue")
    visit.visit("/staff/program/", "program dashboard")
    visit.visit("/rosters/upload/", "roster upload")
    visit.visit(f"/rosters/{bad.pk}/", "roster with bad rows")
    visit.visit(f"/rosters/{applied.pk}/", "roster applied")
    visit.visit(f"/rosters/{discarded.pk}/", "roster discarded")
    visit.visit("/rosters/", "roster history")
    visit.visit("/admin/", "admin index")
    visit.visit("/admin/credentials/credential/", "admin changelist")
    visit.visit(
        f"/admin/credentials/credential/{credential.pk}/change/", "admin credential change form"
    )
    # The autocomplete boxes are named after their label (static/js/admin-names.js).
    expect(visit.page.get_by_role("combobox", name=re.compile("^Source course"))).to_be_visible()
    expect(visit.page.get_by_role("combobox", name=re.compile("^Holder"))).to_be_visible()
    visit.visit("/admin/seu_ledger/fee/", "admin fees")
    visit.visit("/admin/seu_ledger/reminder/", "admin reminders")
    visit.visit("/admin/seu_ledger/reminder/preview/", "admin reminder preview")


@pytest.mark.parametrize("viewport", WIDTHS)
def test_organisation_pages_pass_axe(sweep, reference_data, viewport):
    """An organisation admin's pages, with a course of attendees (one at risk)."""
    from credentials.models import Attendance
    from credentials.organisations import organisation_branding_update
    from tests.factories import cspo_course, member_of, organisation

    north = organisation("north", name="Northwind Agile Academy")
    organisation_branding_update(
        organisation=north, reply_to="courses@northwind.example", website="", logo=None
    )
    admin = member_of(north, "admin", email="nina@northwind.example")
    trainer = member_of(north, email="tara@northwind.example")
    course = cspo_course("NW-1", organisation=north, title="CSPO, two days")
    course.trainers.add(trainer)
    for index in range(2):
        holder = UserFactory(email=f"attendee{index}@example.com")
        Attendance.objects.create(holder=holder, course=course, hours_attended=16, completed=True)
        credential_issue(
            holder=holder,
            program=program("CSPO"),
            issued_on=add_months(today(), -24) + datetime.timedelta(days=20 + index),
            source_course=course,
        )
    visit = sweep(viewport)
    sign_in(visit.page, admin.email)
    visit.visit("/org/north/", "organisation courses")
    visit.visit(f"/org/north/courses/{course.pk}/", "organisation course")
    visit.visit("/org/north/members/", "organisation members")
    visit.visit("/org/north/branding/", "organisation branding")
    visit.visit("/org/north/at-risk/", "organisation at risk")
    visit.visit("/rosters/upload/", "roster upload for an organisation")


# Every visible button, and where it is across the screen.
BUTTONS_OUTSIDE = """() => [...document.querySelectorAll(
    'main .btn, main button, main [type=submit], main summary'
)].filter(element => element.getClientRects().length).map(element => {
    const box = element.getBoundingClientRect();
    const text = (element.innerText || element.value || '').trim();
    return {text, left: box.left, right: box.right};
}).filter(box => box.left < 0 || box.right > window.innerWidth)"""


def test_staff_and_roster_pages_fit_a_phone_without_sideways_scrolling(
    browser, live_server, reference_data
):
    """On a phone the staff and roster tables stack into cards: the page never scrolls
    sideways, and every button is on the screen."""
    holder_with_everything()
    for index in range(3):
        holder = UserFactory(email=f"long.address.of.learner{index}@example-academy.com")
        credential_issue(
            holder=holder,
            program=program("SAFe POPM"),
            issued_on=add_months(today(), -12) + datetime.timedelta(days=10 + index),
        )
    staff = staff_in("superuser")
    bad, applied, _ = roster_imports(staff)
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, staff.email)
    for url in [
        "/staff/",
        "/staff/program/",
        "/rosters/upload/",
        f"/rosters/{bad.pk}/",
        f"/rosters/{applied.pk}/",
        "/rosters/",
    ]:
        page.goto(url)
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (url, widths)
        assert page.evaluate(BUTTONS_OUTSIDE) == [], url
    # Stacked: each cell shows its column's name, and the column headings are hidden.
    cell = page.locator(".roster-history td[data-label=File]").first
    expect(cell).to_be_visible()
    assert (
        page.evaluate("cell => getComputedStyle(cell, '::before').content", cell.element_handle())
        == '"File"'
    )
    expect(page.locator(".roster-history thead")).to_have_css("position", "absolute")
    context.close()


FOCUS_RING = """() => {
    const style = getComputedStyle(document.activeElement);
    return {
        tag: document.activeElement.tagName,
        text: (document.activeElement.innerText || document.activeElement.name || '').trim(),
        outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(' '),
    };
}"""


def test_keyboard_focus_shows_a_clear_ring_on_links_buttons_and_fields(page):
    """Tabbing through the sign-in page: the skip link, the navigation, the fields, the
    button and the links below all show the same solid ring."""
    page.goto("/accounts/login/")  # the email field has the focus
    seen = []
    for _ in range(14):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring["tag"] == "BODY":  # past the last link, before the first
            continue
        seen.append(ring["text"])
        assert ring["outline"] == "solid 3px rgb(10, 88, 202)", ring
    for text in ("password", "submit", "Service status", "Skip to content", "Home", "username"):
        assert text in seen, seen
