"""Every holder page, and the staff work queue, costs a number of queries that does not grow
with the data.

Each page is opened (or its form sent) for a holder with few records and for one with many,
and must cost the same number of queries both times, within a bound:

- few: a CSPO earned on a course and renewed once, a PMP in its first term, a CSD claim
  staff have not verified, 8 activities (one with evidence, one split between PMI skill
  areas) and the course hours, a fee waived, a secondary address;
- many: a CSPO and a CSM renewing together, renewed twice; a PMP renewed once with PDUs
  carried over and a receipt waiting; a lifetime PSPO I; the CSD claim; 60 activities in
  both issuers' categories (PMI splits, evidence, two voided) and the course hours; a PMI
  membership; three secondary addresses.

Both hold the same kinds of credentials, so what differs is how much there is: activities,
terms, renewals, fees, addresses, credentials. The pages open the same records for both (the
CSPO's renewal group, its terms and renewal, a live activity of the current term). A form is
sent inside a transaction rolled back afterwards, so each holder is measured from the same
state, and every page is opened once before it is measured (what a process caches once is not
the page's cost). The dashboard is measured drawn anew: the page cache is emptied before each
request (`test_the_dashboard_is_measured_drawn_anew` checks it is).

The pages that write a row for each credential renewing together (renewing; adding or
verifying a credential that moves the others' renewal date) may cost a fixed number of
queries more for each such credential (`RENEWED`, `ALIGNED`): never one per activity, term
or renewal.

The staff side: the work queue, its CSV and XLSX exports and its actions with one row in each
list, then with 26; the claim page for each holder's claim. Measured elsewhere and not
repeated here: the dashboard with 3 or 3,000 activities (tests/seu_ledger/test_views.py), the
queue page with the busy day's rows (tests/seu_ledger/test_work_queue.py), bounds on the
activity form's error cases (tests/seu_ledger/test_entry_form.py), the admin
(tests/test_admin_queries.py).
"""

import datetime
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.core import signing
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.tokens import token_create
from credentials.accounts import address_add
from credentials.dates import add_months
from credentials.forms import CredentialClaimForm
from credentials.models import (
    Credential,
    EmailAddress,
    Issuer,
    Membership,
    RosterImport,
    Term,
)
from credentials.services import (
    attendance_record,
    calendar_token_for,
    credential_claim,
    credential_issue,
)
from credentials.tokens import ADDRESS_CONFIRM_SALT
from seu_ledger.models import CarriedUnits, Entry, Reminder, Renewal
from seu_ledger.reminders.selectors import unsubscribe_token
from seu_ledger.services import credential_renew, entry_log, entry_void, fee_submit, fee_waive
from tests.factories import (
    DEFAULT_PASSWORD,
    UserFactory,
    category,
    cspo_course,
    program,
    staff_in,
)

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC)
TODAY = NOW.date()
PDF = b"%PDF-1.4\n%evidence\n"
# In turn: Scrum Alliance categories, each PMI skill area, and Giving Back.
CATEGORIES = (
    "scrum-alliance:learning",
    "pmi:power-skills",
    "pmi:volunteering",
    "pmi:business-acumen",
    "scrum-alliance:events",
    "pmi:ways-of-working",
    "pmi:working-as-practitioner",
    "pmi:creating-knowledge",
)
# What any holder page may cost at most. The dashboard, history and renewal pages load the
# holder's whole ledger in a fixed number of queries (about a dozen); a form that saves adds
# its writes and the audit trail's.
CEILING = 40
# What adding a credential would change is found by adding and verifying it for real inside a
# savepoint rolled back (`alignment_impact`): the page costs those writes and the ledger read
# before and after.
CLAIM_CEILING = 90
# Rows written for each credential renewing together with the CSPO. Renewing: its new term
# (and the term's audit row), its renewal and the activities that renewal used. A claim that
# moves the group's renewal date: each member's term moved, and its audit row. (The dashboard's
# version moves with them, in the database: no query of its own.)
RENEWED = 5
ALIGNED = 2


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@dataclass
class World:
    """One holder's records, and the ones each page opens."""

    holder: object
    cspo: Credential  # the Scrum Alliance renewal group the pages open
    renewal: Renewal  # its latest renewal
    renewed_term: Term  # the term that renewal closed
    current_term: Term
    entry: Entry  # a live activity of the current term, with evidence
    claim: Credential  # a CSD the holder added, waiting for staff
    address: EmailAddress
    group_size: int  # credentials renewing together with the CSPO
    calendar_token: str
    api_token: object  # a personal API token of the holder's (one of three for "many")
    client: Client = field(default_factory=Client)


def activities(holder, count: int, first: datetime.date, last: datetime.date, hours: Decimal):
    """`count` activities spread evenly from `first` to `last`, in the categories in turn;
    every 16th is a PMI Education activity split between two skill areas, and the last one
    (and every 10th) has an evidence file."""
    split = (category("pmi:power-skills"), category("pmi:business-acumen"))
    logged = []
    for index in range(count):
        key = CATEGORIES[index % len(CATEGORIES)]
        evidence = index == count - 1 or index % 10 == 9
        logged.append(
            entry_log(
                holder=holder,
                activity_date=first + datetime.timedelta(days=index * (last - first).days // count),
                category=category(key),
                title=f"Activity {index}",
                hours=hours,
                provider="Agile Co",
                evidence=SimpleUploadedFile(f"a{index}.pdf", PDF) if evidence else None,
                allocations=[(split[0], hours / 2), (split[1], hours / 2)]
                if index % 16 == 5
                else None,
            )
        )
    return logged


def renew_when_due(staff, *credentials) -> None:
    """Renew each credential (with its group) on every end date already past, in date order,
    the fee waived: what a holder who kept their credentials alive has behind them."""
    due = []
    for credential in credentials:
        ends_on = credential.terms.order_by("-sequence").first().ends_on
        while ends_on < TODAY:
            due.append((ends_on, credential.pk))
            ends_on = add_months(ends_on, credential.program.validity_months)
    for day, pk in sorted(due):
        credential = Credential.objects.get(pk=pk)
        fee_waive(credential=credential, recorded_by=staff, reason="Paid at the issuer")
        credential_renew(credential=credential, on=day, renewed_by=staff)


def build_world(size: str, staff) -> World:
    many = size == "many"
    holder = UserFactory(email=f"{size}@example.com", first_name=size.title(), last_name="Holder")
    issued = datetime.date(2020 if many else 2022, 6, 1)
    course = cspo_course(
        f"PQ-{size}", start_date=issued - datetime.timedelta(days=1), end_date=issued
    )
    _, cspo = attendance_record(
        holder=holder, course=course, hours_attended=Decimal(16), completed=True
    )
    # Both hold a PMP (so both see PMI's split of Education hours); the many's was renewed.
    pmp = credential_issue(
        holder=holder,
        program=program("PMP"),
        issued_on=datetime.date(2021, 9, 1) if many else datetime.date(2023, 9, 1),
    )
    if many:
        credential_issue(holder=holder, program=program("CSM"), issued_on=issued)
        credential_issue(
            holder=holder, program=program("PSPO I"), issued_on=datetime.date(2021, 1, 10)
        )
        Membership.objects.create(
            holder=holder, issuer=Issuer.objects.get(code="pmi"), member_id="PMI-7"
        )
    logged = activities(
        holder,
        60 if many else 8,
        issued + datetime.timedelta(days=1),
        TODAY - datetime.timedelta(days=10),
        Decimal(4) if many else Decimal(8),
    )
    renew_when_due(staff, cspo, pmp)
    if many:
        for entry in logged[-9:-7]:
            entry_void(entry=entry, reason="Logged twice")
        fee_submit(credential=pmp, reference="PMI-RECEIPT-1")
    # A claim staff have not verified yet: verifying it moves the CSPO group's renewal date.
    claim = credential_claim(
        holder=holder,
        program=program("CSD"),
        issued_on=datetime.date(2025, 2, 1),
        certificate_number=f"CSD-{size}",
    )
    for index in range(3 if many else 1):
        address = address_add(user=holder, address=f"{size}.{index}@work.example.com")
    for index in range(3 if many else 1):
        api_token = token_create(user=holder, kind="personal", name=f"tool {index}").token
    cspo = Credential.objects.get(pk=cspo.pk)
    renewal = Renewal.objects.filter(closed_term__credential=cspo).latest("renewed_on")
    return World(
        holder=holder,
        cspo=cspo,
        renewal=renewal,
        renewed_term=renewal.closed_term,
        current_term=renewal.new_term,
        entry=logged[-1],
        claim=claim,
        address=address,
        group_size=2 if many else 1,
        calendar_token=calendar_token_for(holder),
        api_token=api_token,
    )


@dataclass
class Worlds:
    few: World
    many: World


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker):
    """Both holders, built once for the module in a transaction rolled back after it."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        transaction.atomic(),
    ):
        staff = staff_in("registrar")
        built = Worlds(few=build_world("few", staff), many=build_world("many", staff))
        assert Entry.objects.filter(holder=built.many.holder).count() > 60
        assert built.many.current_term.sequence == 3
        renewals = Renewal.objects.filter(closed_term__credential__holder=built.many.holder)
        assert renewals.count() == 5
        assert CarriedUnits.objects.filter(entry__holder=built.many.holder).exists()
        yield built
        transaction.set_rollback(True)


@dataclass(frozen=True)
class Page:
    """One request a holder makes: `send(world)` returns the response. `prepare(world)` sets
    up what the request needs, uncounted. `per_member` is what the request may cost more for
    each credential renewing together with the CSPO (rows written for each)."""

    name: str
    send: Callable
    status: int = 200
    prepare: Callable | None = None
    per_member: int = 0
    bound: int = CEILING


def get(name, *args, data=None, **kwargs) -> Callable:
    """A GET of the URL named `name`; `args`, `kwargs` and `data` are functions of the world
    giving its arguments and query."""

    def send(world):
        values = {key: value(world) for key, value in kwargs.items()}
        return world.client.get(
            reverse(name, args=[arg(world) for arg in args], kwargs=values or None),
            data(world) if data else None,
        )

    send.url_name = name
    return send


def post(name, *args, data=None, **kwargs) -> Callable:
    """A POST to the URL named `name`, as `get`."""

    def send(world):
        values = {key: value(world) for key, value in kwargs.items()}
        return world.client.post(
            reverse(name, args=[arg(world) for arg in args], kwargs=values or None),
            data(world) if data else {},
        )

    send.url_name = name
    return send


def dashboard(world):
    caches["pages"].clear()  # drawn anew: never served from the page cache
    return world.client.get(reverse("ledger:dashboard"))


dashboard.url_name = "ledger:dashboard"


def address_token(world) -> str:
    """The token of the link that confirms the holder's secondary address."""
    payload = {
        "user": world.holder.pk,
        "address": world.address.address,
        "address_id": world.address.pk,
    }
    return signing.dumps(payload, salt=ADDRESS_CONFIRM_SALT)


def activity_form(world, **changes):
    return {
        "activity_date": "2026-04-02",
        "category": category("scrum-alliance:learning").pk,
        "title": "Backlog refinement clinic",
        "provider": "Agile Co",
        "hours": "3",
        "description": "",
        **changes,
    }


def waive_fee(world):
    fee_waive(credential=world.cspo, recorded_by=staff_in(""), reason="Paid at the issuer")


CSPO = lambda world: world.cspo.pk  # noqa: E731 - the page tables read better with these
ENTRY = lambda world: world.entry.pk  # noqa: E731

HOLDER_PAGES = [
    Page("dashboard", dashboard),
    Page("history", get("ledger:history")),
    Page("history, page 2", get("ledger:history", data=lambda w: {"page": 2})),
    Page(
        "history, current term",
        get("ledger:history", data=lambda w: {"term": w.current_term.pk}),
    ),
    Page(
        "history, renewed term",
        get("ledger:history", data=lambda w: {"term": w.renewed_term.pk}),
    ),
    Page(
        "history, category and dates",
        get(
            "ledger:history",
            data=lambda w: {
                "category": category("scrum-alliance:learning").pk,
                "date_from": "2021-01-01",
                "date_to": "2026-05-01",
            },
        ),
    ),
    Page("history CSV", get("ledger:history_csv")),
    Page("history XLSX", get("ledger:history_xlsx")),
    Page("log an activity", get("ledger:entry_create")),
    Page("log an activity, saved", post("ledger:entry_create", data=activity_form), status=302),
    Page(
        "log an activity, refused",
        post("ledger:entry_create", data=lambda w: activity_form(w, title="", hours="0.3")),
    ),
    Page("edit an activity", get("ledger:entry_edit", ENTRY)),
    Page(
        "edit an activity, saved",
        post("ledger:entry_edit", ENTRY, data=lambda w: activity_form(w, hours="2")),
        status=302,
    ),
    Page("void an activity", get("ledger:entry_void", ENTRY)),
    Page(
        "void an activity, voided",
        post("ledger:entry_void", ENTRY, data=lambda w: {"reason": "Logged twice"}),
        status=302,
    ),
    Page("evidence file", get("ledger:entry_evidence", ENTRY)),
    Page("renewal", get("ledger:renewal", CSPO)),
    Page(
        "fee receipt",
        post("ledger:fee_submit", CSPO, data=lambda w: {"reference": "SA-77"}),
        status=302,
    ),
    Page("renew, confirm", get("ledger:renew", CSPO)),
    Page(
        "renew, refused",
        post("ledger:renew", CSPO, data=lambda w: {"term": w.current_term.pk}),
        status=302,
    ),
    Page(
        "renew, renewed",
        post("ledger:renew", CSPO, data=lambda w: {"term": w.current_term.pk}),
        status=302,
        prepare=waive_fee,
        per_member=RENEWED,
    ),
    Page(
        "renewed receipt",
        get("ledger:renewed", pk=CSPO, renewal_pk=lambda w: w.renewal.pk),
    ),
    Page(
        "transcript, renewed term",
        get("ledger:transcript", pk=CSPO, term_pk=lambda w: w.renewed_term.pk),
    ),
    Page(
        "transcript, current term",
        get("ledger:transcript", pk=CSPO, term_pk=lambda w: w.current_term.pk),
    ),
    Page(
        "reminders unsubscribe",
        get("ledger:reminders_unsubscribe", token=lambda w: unsubscribe_token(w.holder)),
    ),
    Page(
        "reminders unsubscribe, sent",
        post("ledger:reminders_unsubscribe", token=lambda w: unsubscribe_token(w.holder)),
    ),
    Page("add a credential", get("credentials:claim")),
    Page(
        "add a credential, what changes",
        post("credentials:claim", data=lambda w: claim_form()),
        per_member=ALIGNED,
        bound=CLAIM_CEILING,
    ),
    Page(
        "add a credential, added",
        post("credentials:claim", data=lambda w: claim_form(confirmed=True)),
        status=302,
        per_member=ALIGNED,
        bound=CLAIM_CEILING,
    ),
    Page("calendar", get("credentials:calendar")),
    Page("calendar, new link", post("credentials:calendar"), status=302),
    Page("calendar feed", get("credentials:calendar_feed", token=lambda w: w.calendar_token)),
    Page(
        "verification",
        get("credentials:verify", code=lambda w: w.cspo.verification_code),
    ),
    Page(
        "verification QR code",
        get("credentials:verify_qr", code=lambda w: w.cspo.verification_code),
    ),
    Page(
        "verification as data",
        get("credentials:verify_json", code=lambda w: w.cspo.verification_code),
    ),
    Page("share a credential", get("badges:share", pk=CSPO)),
    Page(
        "share, DID saved",
        post("badges:share", pk=CSPO, data=lambda w: {"did": "did:web:holder.example"}),
        status=302,
    ),
    Page("Open Badge, baked image", get("badges:download", pk=CSPO, fmt=lambda w: "png")),
    Page("Open Badge, JSON", get("badges:download", pk=CSPO, fmt=lambda w: "json")),
    Page("Open Badges issuer", get("badges:issuer", code=lambda w: "scrum-alliance")),
    Page("Open Badges achievement", get("badges:achievement", code=lambda w: "CSPO")),
    Page("Open Badges image", get("badges:achievement_image", code=lambda w: "CSPO")),
    Page(
        "Open Badges status list",
        get("badges:status_list", purpose=lambda w: "revocation", number=lambda w: 1),
    ),
    Page("licence, accepted", get("licence"), status=302),
    Page("profile", get("account_profile")),
    Page("language and time zone", get("account_preferences")),
    Page(
        "language and time zone, saved",
        post(
            "account_preferences",
            data=lambda w: {"language": "de", "time_zone": "Europe/Berlin"},
        ),
        status=302,
    ),
    Page(
        "language picker",
        post("set_language", data=lambda w: {"language": "es", "next": "/dashboard/"}),
        status=302,
    ),
    Page("API tokens", get("api_tokens")),
    Page(
        "API tokens, one made",
        post("api_tokens", data=lambda w: {"name": "My script"}),
        status=302,
    ),
    Page(
        "API tokens, one revoked",
        post("api_token_revoke", pk=lambda w: w.api_token.pk),
        status=302,
    ),
    Page(
        "profile, saved",
        post(
            "account_profile",
            data=lambda w: {
                "first_name": "Renamed",
                "last_name": w.holder.last_name,
                "email": w.holder.email,
            },
        ),
        status=302,
    ),
    Page(
        "profile, address added",
        post("address_add", data=lambda w: {"address": f"{w.holder.first_name}@new.example"}),
        status=302,
    ),
    Page(
        "profile, address removed",
        post("address_remove", pk=lambda w: w.address.pk),
        status=302,
    ),
    Page(
        "profile, address confirmed",
        get("address_confirm", token=address_token),
    ),
    Page(
        "profile, address confirmed, sent",
        post("address_confirm", token=address_token),
        status=302,
    ),
    Page("password change", get("password_change")),
    Page("password change, done", get("password_change_done")),
    Page(
        "password change, changed",
        post(
            "password_change",
            data=lambda w: {
                "old_password": DEFAULT_PASSWORD,
                "new_password1": "a new and long passphrase 2026",
                "new_password2": "a new and long passphrase 2026",
            },
        ),
        status=302,
        # Changing the password gives the session a new key, which the rollback forgets.
        prepare=lambda w: w.client.force_login(w.holder),
    ),
    Page("home", get("home"), status=302),
]


def claim_form(confirmed=False) -> dict:
    """An A-CSPO from last October: it would move the CSPO group's renewal date. Confirmed:
    the holder accepts those changes (the button carries the values it was shown for)."""
    data = {
        "program": program("A-CSPO").pk,
        "issued_on": "2025-10-01",
        "certificate_number": "ACSPO-2025",
    }
    if confirmed:
        values = [data["program"], data["issued_on"]]
        data["confirm"] = signing.dumps(values, salt=CredentialClaimForm.CONFIRM_SALT)
    return data


def queries(world, page, bound=None) -> int:
    """The queries `page` costs for `world`'s holder (within `bound`, a context that checks
    them), from a state rolled back afterwards."""
    with transaction.atomic():
        if page.prepare:
            page.prepare(world)
        with bound or nullcontext(), CaptureQueriesContext(connection) as captured:
            response = page.send(world)
        assert response.status_code == page.status, (page.name, response.status_code)
        assert response.wsgi_request.user.is_authenticated, f"{page.name}: signed out"
        transaction.set_rollback(True)
    return len(captured)


@pytest.mark.parametrize("page", HOLDER_PAGES, ids=[page.name for page in HOLDER_PAGES])
def test_each_holder_page_costs_the_same_queries_for_few_or_many_records(
    worlds, page, django_assert_max_num_queries
):
    for world in (worlds.few, worlds.many):
        world.client.force_login(world.holder)
    queries(worlds.few, page)  # opened once first: what a process caches once is not counted
    few = queries(worlds.few, page)
    many = queries(worlds.many, page, django_assert_max_num_queries(page.bound, info=page.name))
    extra = page.per_member * (worlds.many.group_size - worlds.few.group_size)
    assert many == few + extra, f"{page.name}: {few} queries with few records, {many} with many"


# Holder URLs not measured above: links from an email that open one account's sign-in page
# before any ledger data is read (each reads that account by its signed token).
NOT_MEASURED = {
    "invitation_accept",
    "sign_up_confirm",
    "email_change_confirm",
    "email_change_cancel",
    "password_reset_confirm",
    # An organisation's public logo, and the sign-in through its identity provider: they read
    # the organisation alone (tests/credentials/test_organisations.py, test_oidc_sign_in.py).
    "organisations:logo",
    "oidc_start",
    "oidc_callback",
}


def test_every_holder_url_is_measured():
    """A new holder page fails here until it has a line in HOLDER_PAGES (the URLs are those
    the authorization suite classifies as a holder's)."""
    from tests.test_authorization import HOLDER_URLS, ID_URLS, TOKEN_URLS

    measured = {page.send.url_name for page in HOLDER_PAGES}
    holder_urls = HOLDER_URLS | set(ID_URLS) | TOKEN_URLS
    assert holder_urls - measured == NOT_MEASURED


def test_the_dashboard_is_measured_drawn_anew(worlds):
    """The page cache would answer with the session and the user alone: the dashboard above
    is measured doing its work."""
    world = worlds.many
    world.client.force_login(world.holder)
    drawn = queries(world, HOLDER_PAGES[0])
    world.client.get(reverse("ledger:dashboard"))
    with CaptureQueriesContext(connection) as cached:
        assert world.client.get(reverse("ledger:dashboard")).status_code == 200
    assert len(cached) < drawn


# --- The staff work queue -------------------------------------------------------------------


def queue_rows(count: int, staff, tag: str) -> dict:
    """`count` rows in each list of the work queue: claims to verify, fee receipts to
    confirm, credentials in grace and suspended, roster imports waiting, failed reminders.
    Returns the first of each."""
    first = {}
    for index in range(count):
        person = UserFactory(email=f"{tag}{index}@example.com", last_name=f"Queue{index}")
        claimed = credential_claim(
            holder=person,
            program=program("CSM"),
            issued_on=datetime.date(2025, 8, 20),
            certificate_number=f"CSM-{tag}{index}",
        )
        cspo = credential_issue(
            holder=person, program=program("CSPO"), issued_on=datetime.date(2024, 9, 1)
        )
        fee = fee_submit(credential=cspo, reference=f"SA-{tag}{index}")
        grace = credential_issue(
            holder=person, program=program("CSP-PO"), issued_on=datetime.date(2024, 5, 1)
        )
        credential_issue(
            holder=person, program=program("PMI-ACP"), issued_on=datetime.date(2023, 5, 1)
        )
        RosterImport.objects.create(
            original_name=f"{tag}{index}.csv", file=f"rosters/{tag}/{index}.csv", uploaded_by=staff
        )
        reminder = Reminder.objects.create(
            holder=person,
            term=grace.terms.get(),
            days_before=-14,
            term_ends_on=datetime.date(2026, 5, 1),
            kind=Reminder.Kind.IN_GRACE,
            status=Reminder.Status.FAILED,
            attempts=3,
            last_error="SMTP 451 try later",
            created_at=timezone.now(),
        )
        first = first or {"claim": claimed, "fee": fee, "reminder": reminder}
    return first


@dataclass
class Desk:
    """A registrar's client and the rows the queue's actions are tried on."""

    client: Client
    rows: dict
    claim: Credential  # a claim whose holder has other credentials to align


LISTS = ("claims", "receipts", "after_end", "imports", "reminders")
STAFF_PAGES = [
    Page("work queue", lambda desk: desk.client.get(reverse("staff:queue"))),
    Page(
        "work queue, filtered",
        lambda desk: desk.client.get(reverse("staff:queue"), {"program": "CSPO", "q": "queue"}),
    ),
    *(
        Page(
            f"work queue {name} {file_format.upper()}",
            lambda desk, name=name, file_format=file_format: desk.client.get(
                reverse(f"staff:queue_{file_format}", args=[name])
            ),
        )
        for name in LISTS
        for file_format in ("csv", "xlsx")
    ),
    Page(
        "verify a claim, what changes",
        lambda desk: desk.client.get(reverse("staff:claim_verify", args=[desk.claim.pk])),
        per_member=ALIGNED,
        bound=CLAIM_CEILING,
    ),
    Page(
        "verify a claim, verified",
        lambda desk: desk.client.post(reverse("staff:claim_verify", args=[desk.claim.pk])),
        status=302,
        per_member=2 * ALIGNED,  # the change worked out for the holder's email, then made
        bound=CLAIM_CEILING,
    ),
    Page(
        "reject a claim",
        lambda desk: desk.client.post(
            reverse("staff:claim_reject", args=[desk.rows["claim"].pk]),
            {"reason": "No such certificate at the issuer"},
        ),
        status=302,
    ),
    Page(
        "confirm a receipt",
        lambda desk: desk.client.post(reverse("staff:receipt_confirm", args=[desk.rows["fee"].pk])),
        status=302,
    ),
    Page(
        "send a failed reminder again",
        lambda desk: desk.client.post(
            reverse("staff:reminder_resend", args=[desk.rows["reminder"].pk])
        ),
        status=302,
    ),
]


def test_the_work_queue_costs_the_same_queries_with_1_or_26_rows_in_each_list(
    worlds, django_assert_max_num_queries
):
    """Each list of the queue, its exports and its actions, with one row in each list and
    then with 26; the claim page first for the holder with few records, then for the one with
    many (whose claim moves two credentials' renewal date, not one)."""
    staff = staff_in("registrar")
    client = Client()
    client.force_login(staff)
    rows = queue_rows(1, staff, "a")
    few_desk = Desk(client, rows, worlds.few.claim)
    for page in STAFF_PAGES:
        queries(few_desk, page)  # opened once first: what a process caches once is not counted
    few = {page.name: queries(few_desk, page) for page in STAFF_PAGES}
    queue_rows(25, staff, "b")
    many_desk = Desk(client, rows, worlds.many.claim)
    for page in STAFF_PAGES:
        many = queries(many_desk, page, django_assert_max_num_queries(page.bound, info=page.name))
        extra = page.per_member * (worlds.many.group_size - worlds.few.group_size)
        assert many == few[page.name] + extra, (
            f"{page.name}: {few[page.name]} queries with 1 row in each list, {many} with 26"
        )
