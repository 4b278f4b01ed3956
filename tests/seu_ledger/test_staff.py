"""The staff workspace: the dashboard's figures, fee actions, the audit trail and the roles."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from credentials.dates import add_months
from credentials.models import Credential, RosterImport, Term
from credentials.roster.imports import (
    roster_import_apply,
    roster_import_check,
    roster_import_queue,
)
from credentials.selectors import credential_status_label, credential_valid_through
from credentials.services import credential_issue, credential_revoke
from seu_ledger.models import Entry, Fee
from seu_ledger.reports import (
    at_risk,
    expirations_by_month,
    expiry_window,
    holders_on_track,
    status_counts,
)
from seu_ledger.services import fee_submit
from seu_ledger.staff_views import AtRiskFilterForm
from tests.credentials.test_roster import GOOD, csv_bytes
from tests.factories import UserFactory, learning_entry, program, staff_in

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 5, 20)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC), tick=False):
        yield


def holding(code, ends_on, holder=None, **fields):
    holder = holder or UserFactory(**fields)
    prog = program(code)
    credential = credential_issue(
        holder=holder,
        program=prog,
        issued_on=add_months(ends_on, -(prog.validity_months or 24)),
    )
    if not prog.is_lifetime:
        Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return credential


log = learning_entry


# --- The dashboard's figures ----------------------------------------------------------------


def test_the_chart_counts_each_credentials_current_end_from_today_like_a_plain_loop():
    ends = [
        datetime.date(2026, 5, 1),  # this month, already past: not expiring any more
        datetime.date(2026, 5, 19),  # yesterday: not either
        TODAY,  # the last valid day is today: counted
        datetime.date(2026, 5, 31),
        datetime.date(2026, 6, 30),
        datetime.date(2026, 12, 31),
        datetime.date(2027, 1, 1),
        datetime.date(2027, 2, 28),
        datetime.date(2027, 4, 30),
        datetime.date(2027, 5, 1),
        datetime.date(2027, 5, 20),  # twelve months from today: the chart's last day
        datetime.date(2027, 5, 21),  # outside
        datetime.date(2028, 2, 29),
    ]
    for day in ends:
        holding("CSPO", day)
    renewed = holding("CSM", datetime.date(2026, 7, 15))
    Term.objects.create(
        credential=renewed,
        sequence=2,
        starts_on=datetime.date(2026, 7, 15),
        ends_on=datetime.date(2028, 7, 15),
    )  # its old end in July no longer counts
    holding("PSPO I", TODAY)  # lifetime: never
    holding("CSPO", datetime.date(2026, 8, 3), state="deactivated")  # deactivated holders: not
    months = expirations_by_month(TODAY)
    assert expiry_window(TODAY) == (TODAY, datetime.date(2027, 5, 20))
    assert [m.month for m in months][:2] == [datetime.date(2026, 5, 1), datetime.date(2026, 6, 1)]
    assert [m.month for m in months][-1] == datetime.date(2027, 5, 1)
    assert len(months) == 13  # May 2026 from the 20th, through May 2027 to the 20th
    independent = {}
    for credential in Credential.objects.filter(holder__is_active=True):
        end = credential_valid_through(credential)
        if end is None or not TODAY <= end <= datetime.date(2027, 5, 20):
            continue
        key = end.replace(day=1)
        independent[key] = independent.get(key, 0) + 1
    assert {m.month: m.count for m in months if m.count} == independent
    assert sum(m.count for m in months) == 9, [(m.month, m.count) for m in months]


def test_a_credential_that_ended_earlier_this_month_is_not_in_the_expiry_chart(client):
    with time_machine.travel(datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC), tick=False):
        holding("CSPO", datetime.date(2026, 11, 10))
        months = expirations_by_month(datetime.date(2026, 11, 30))
        client.force_login(staff_in("viewer"))
        html = client.get(reverse("staff:dashboard")).content.decode()
    assert sum(m.count for m in months) == 0
    assert 'data-month="2026-11" data-count="0"' in html
    assert "Credentials ending from 30 Nov 2026 through 30 Nov 2027, by month" in html


def test_status_counts_match_each_credentials_status():
    for offset in (-200, -30, 0, 20, 89, 91, 400):
        holding("CSP-PO", TODAY + datetime.timedelta(days=offset))
    holding("PSPO I", TODAY)
    table = status_counts(TODAY)
    expected: dict[tuple[str, str], int] = {}
    for credential in Credential.objects.select_related("program"):
        key = (credential.program.code, credential_status_label(credential, TODAY))
        expected[key] = expected.get(key, 0) + 1
    found = {
        (code, column.label): count
        for code, counts, _ in table.rows
        for column, count in zip(table.statuses, counts, strict=True)
        if count
    }
    assert found == expected
    assert table.total == 8


def test_pmi_suspensions_have_their_own_column_apart_from_scrum_alliance_grace(client):
    holding("CSP-PO", TODAY - datetime.timedelta(days=30))  # in a 90-day grace
    holding("PMI-ACP", TODAY - datetime.timedelta(days=30))  # in a one-year suspension
    holding("PMI-ACP", TODAY - datetime.timedelta(days=400))  # lapsed
    revoked = holding("CSP-PO", TODAY + datetime.timedelta(days=300))
    credential_revoke(credential=revoked, reason="Issued in error", by=None)
    table = status_counts(TODAY)
    labels = [column.label for column in table.statuses]
    assert labels == [
        "Active",
        "Expiring",
        "In grace",
        "Suspended",
        "Lapsed",
        "Not yet valid",
        "Revoked",
    ]
    by_code = {code: dict(zip(labels, counts, strict=True)) for code, counts, _ in table.rows}
    assert by_code["CSP-PO"]["In grace"] == 1
    assert by_code["CSP-PO"]["Suspended"] == 0
    assert by_code["PMI-ACP"]["Suspended"] == 1
    assert by_code["PMI-ACP"]["In grace"] == 0
    assert by_code["PMI-ACP"]["Lapsed"] == 1
    assert (by_code["CSP-PO"]["Revoked"], by_code["CSP-PO"]["Active"]) == (1, 0)
    assert dict(zip(labels, table.totals, strict=True))["Suspended"] == 1
    client.force_login(staff_in("viewer"))
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert '<th scope="col" class="text-end">Suspended</th>' in html
    assert '<td class="text-end" data-label="Suspended">1</td>' in html


def test_the_on_track_card_says_so_when_no_holder_has_a_renewal_running(client):
    holding("PSPO I", TODAY)  # lifetime: nothing to renew
    client.force_login(staff_in("viewer"))
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert "No holders with renewals yet" in html
    assert "of 0" not in html
    assert 'aria-label="Holders on track"' not in html  # no bar full of nobody


def test_at_risk_lists_only_credentials_lapsing_within_the_window_missing_units_or_fee():
    short = holding("CSPO", TODAY + datetime.timedelta(days=30), email="short@example.com")
    unpaid = holding("CSM", TODAY + datetime.timedelta(days=59), email="unpaid@example.com")
    done = holding("CSPO", TODAY + datetime.timedelta(days=10), email="done@example.com")
    later = holding("CSPO", TODAY + datetime.timedelta(days=61), email="later@example.com")
    beyond = holding("CSPO", TODAY + datetime.timedelta(days=91), email="beyond@example.com")
    for credential in (unpaid, done):
        for back in (3, 4, 5):
            log(credential.holder, TODAY - datetime.timedelta(days=back), "8")
    fee_submit(credential=done, reference="R-1")
    Fee.objects.filter(holder=done.holder).update(status=Fee.Status.PAID)
    rows = at_risk(TODAY, within_days=60)
    assert [(r.email, r.missing) for r in rows] == [
        ("short@example.com", ("units", "fee")),
        ("unpaid@example.com", ("fee",)),
    ]
    assert rows[0].units_missing == Decimal(20)
    assert rows[0].days_left == 30
    assert rows[0].status == "Expiring"
    assert [r.email for r in at_risk(TODAY, within_days=60, missing="units")] == [
        "short@example.com"
    ]
    assert [r.email for r in at_risk(TODAY, program="CSM")] == ["unpaid@example.com"]
    assert [r.email for r in at_risk(TODAY, within_days=30)] == ["short@example.com"]
    assert later.pk not in {r.credential_id for r in rows}
    assert short.pk in {r.credential_id for r in rows}
    widest = at_risk(TODAY)  # 90 days: the reminder horizon and a CSP grace
    assert [r.email for r in widest][-1] == "later@example.com"
    assert beyond.pk not in {r.credential_id for r in widest}


def in_grace_and_suspended():
    """Renewals lapsing soon, some past their end: (email, status, days to lapse)."""
    csp = holding("CSP-PO", TODAY - datetime.timedelta(days=20), email="csp@example.com")
    pmi = holding("PMI-ACP", TODAY - datetime.timedelta(days=320), email="pmi@example.com")
    holding("CSPO", TODAY + datetime.timedelta(days=30), email="cspo@example.com")
    holding("CSP-SM", TODAY + datetime.timedelta(days=5), email="soon@example.com")
    holding("CSP-PO", TODAY - datetime.timedelta(days=91), email="lapsed@example.com")
    holding("PMI-ACP", TODAY - datetime.timedelta(days=200), email="far@example.com")
    return csp, pmi


def test_at_risk_lists_holders_in_grace_or_suspended_by_days_to_lapse():
    csp, pmi = in_grace_and_suspended()
    rows = at_risk(TODAY)
    assert [(r.email, r.status, r.days_left) for r in rows] == [
        ("soon@example.com", "Expiring", 5),
        ("cspo@example.com", "Expiring", 30),
        ("pmi@example.com", "Suspended", 45),  # a year after its end
        ("csp@example.com", "In grace", 70),  # 90 days after its end
    ]
    grace = rows[-1]
    assert grace.credential_id == csp.pk
    assert grace.ends_on == TODAY - datetime.timedelta(days=20)
    assert grace.renew_by == TODAY + datetime.timedelta(days=70)
    assert (grace.units_counted, grace.units_required, grace.missing) == (0, 40, ("units", "fee"))
    assert rows[-2].credential_id == pmi.pk
    assert [r.email for r in at_risk(TODAY, within_days=60)] == [
        "soon@example.com",
        "cspo@example.com",
        "pmi@example.com",
    ]
    assert [r.email for r in at_risk(TODAY, program="CSP-PO")] == ["csp@example.com"]
    assert [r.email for r in at_risk(TODAY, program="PMI-ACP")] == ["pmi@example.com"]


def test_the_page_and_both_downloads_list_the_same_renewals_at_risk_in_the_same_order(client):
    from tests.cspo_tracker.test_exports import as_csv_text, xlsx_rows, xlsx_sheet

    in_grace_and_suspended()
    client.force_login(staff_in("viewer"))
    for query in ({}, {"within": "60"}, {"program": "CSP-PO", "missing": "fee"}):
        expected = [r.email for r in at_risk(TODAY, **AtRiskFilterForm(query).filters())]
        page = client.get(reverse("staff:dashboard"), query)
        assert [r.email for r in page.context["at_risk"]] == expected
        csv_export = list(
            csv.reader(
                io.StringIO(
                    client.get(reverse("staff:at_risk_csv"), query).content.decode("utf-8-sig")
                )
            )
        )
        xlsx_export = xlsx_rows(xlsx_sheet(client.get(reverse("staff:at_risk_xlsx"), query)))
        assert [row[0] for row in csv_export[1:]] == expected
        assert [[as_csv_text(v) for v in row] for row in xlsx_export] == csv_export
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert "Holders at risk: lapsing within 90 days with units or the fee missing (4)" in html
    assert '<td data-label="Status">In grace</td>' in html
    assert '<td data-label="Status">Suspended</td>' in html
    header, *rows = csv_export
    assert header[:7] == [
        "email",
        "name",
        "credentials",
        "status",
        "ends_on",
        "renew_by",
        "days_left",
    ]
    assert rows == [
        [
            "csp@example.com",
            rows[0][1],
            "CSP-PO",
            "In grace",
            "2026-04-30",
            "2026-07-29",
            "70",
            "0",
            "40",
            "40",
            "SEU",
            "due",
            "units and fee",
        ]
    ]


def test_the_at_risk_list_costs_the_same_queries_for_2_or_20_holders(django_assert_num_queries):
    counts = []
    for n in (2, 20):
        Credential.objects.all().delete()
        for _ in range(n):
            holding("CSPO", TODAY + datetime.timedelta(days=30))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert len(at_risk(TODAY)) == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_holder_is_on_track_with_units_in_proportion_to_the_time_gone():
    # Terms of two years, exactly half gone: 10 of 20 SEU is on pace.
    start = datetime.date(2025, 5, 20)
    ends_on = datetime.date(2027, 5, 20)
    on_pace = holding("CSPO", ends_on, email="pace@example.com")
    behind = holding("CSPO", ends_on, email="behind@example.com")
    for credential, hours in ((on_pace, ("8", "2.25")), (behind, ("8", "1"))):
        Term.objects.filter(credential=credential).update(starts_on=start)
        for back, h in enumerate(hours, start=1):
            log(credential.holder, TODAY - datetime.timedelta(days=back), h)
    holding("PSPO I", TODAY)  # nothing to renew: not counted
    # CSM + CSPO renew together for 30 SEU: 12 at half-time is behind (15 needed).
    pair = holding("CSPO", ends_on, email="pair@example.com")
    holding("CSM", ends_on, holder=pair.holder)
    Term.objects.filter(credential__holder=pair.holder).update(starts_on=start)
    for back, h in ((1, "8"), (2, "4")):
        log(pair.holder, TODAY - datetime.timedelta(days=back), h)
    result = holders_on_track(TODAY)
    assert (result.on_track, result.holders) == (1, 3)
    assert result.percent == 33


def test_the_dashboard_page_shows_the_figures_and_exports_the_at_risk_csv(client):
    holding("CSPO", TODAY + datetime.timedelta(days=30), email="short@example.com")
    client.force_login(staff_in("viewer"))
    page = client.get(reverse("staff:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-month="2026-06" data-count="1"' in html
    assert "short@example.com" in html
    assert "Holders at risk: lapsing within 90 days with units or the fee missing (1)" in html
    export = client.get(reverse("staff:at_risk_csv"), {"missing": "units"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["email", "name", "credentials", "status", "ends_on"]
    assert rows[1][0] == "short@example.com"
    assert rows[1][3:10] == ["Expiring", "2026-06-19", "2026-06-19", "30", "0", "20", "20"]
    assert rows[1][-1] == "units and fee"
    assert (
        client.get(reverse("staff:at_risk_csv"), {"missing": "fee", "program": "CSM"})
        .content.decode()
        .count("\n")
        == 1
    )


# --- Fees -----------------------------------------------------------------------------------


def test_a_registrar_waives_many_fees_at_once_with_a_reason(client):
    fees = []
    for _ in range(3):
        credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
        fees.append(fee_submit(credential=credential, reference="R"))
    registrar = staff_in("registrar")
    client.force_login(registrar)
    url = reverse("admin:seu_ledger_fee_changelist")
    selected = {"action": "waive", "_selected_action": [fee.pk for fee in fees]}
    asked = client.post(url, selected)
    assert asked.status_code == 200
    assert b"reason" in asked.content
    refused = client.post(url, {**selected, "apply": "1", "reason": ""})
    assert b"This field is required" in refused.content
    assert not Fee.objects.filter(status=Fee.Status.WAIVED).exists()
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, 5, tzinfo=datetime.UTC)):
        done = client.post(url, {**selected, "apply": "1", "reason": "Trainer voucher"})
    assert done.status_code == 302
    assert set(Fee.objects.values_list("status", "note", "recorded_by")) == {
        (Fee.Status.WAIVED, "Trainer voucher", registrar.pk)
    }
    trail = fees[0].history.order_by("history_id")
    assert [(h.status, h.note) for h in trail] == [
        (Fee.Status.DUE, ""),
        (Fee.Status.SUBMITTED, ""),
        (Fee.Status.WAIVED, "Trainer voucher"),
    ]
    assert trail.last().history_user == registrar


def test_staff_record_fees_paid_for_selected_credentials_keeping_the_reference(admin_client):
    credentials = [holding("CSPO", TODAY + datetime.timedelta(days=30)) for _ in range(2)]
    lifetime = holding("PSPO I", TODAY)
    url = reverse("admin:credentials_credential_changelist")
    response = admin_client.post(
        url,
        {
            "action": "record_fee_paid",
            "_selected_action": [c.pk for c in [*credentials, lifetime]],
            "apply": "1",
            "reference": "BANK-42",
        },
        follow=True,
    )
    assert "Record renewal fees as paid: 2 fee(s)." in response.content.decode()
    assert "PSPO I never" in response.content.decode() or "no renewal fee" in (
        response.content.decode().lower()
    )
    assert set(Fee.objects.values_list("status", "reference")) == {(Fee.Status.PAID, "BANK-42")}


# --- The audit trail ------------------------------------------------------------------------


def test_a_roster_import_is_in_the_audit_trail_with_its_uploader_and_file():
    uploader = staff_in("registrar")
    record = roster_import_check(data=csv_bytes(*GOOD), name="march.csv", uploaded_by=uploader)
    roster_import_queue(record=record, only_valid_rows=False)
    roster_import_apply(import_id=record.pk, token="t")
    assert Credential.history.count() == Credential.objects.count() == 3
    assert Term.history.count() == 3
    assert Entry.history.count() == Entry.objects.count() == 6
    for model in (Credential, Term, Entry):
        assert set(model.history.values_list("history_user", "history_change_reason")) == {
            (uploader.pk, "Roster import: march.csv")
        }
        assert set(model.history.values_list("history_type", flat=True)) == {"+"}
    # A corrected file moves a course date: the credential, its term and the hours change.
    corrected = [row.replace("2025-03-03,2025-03-04", "2025-03-10,2025-03-11") for row in GOOD]
    again = roster_import_check(data=csv_bytes(*corrected), name="fixed.csv", uploaded_by=uploader)
    roster_import_queue(record=again, only_valid_rows=False)
    roster_import_apply(import_id=again.pk, token="u")
    ann = Credential.objects.get(holder__email="ann@example.com")
    term_history = list(ann.terms.get().history.order_by("history_date", "history_id"))
    assert [h.ends_on for h in term_history] == [
        datetime.date(2027, 3, 4),
        datetime.date(2027, 3, 11),
    ]
    assert term_history[-1].history_change_reason == "Roster import: fixed.csv"
    voided = Entry.history.filter(voided_at__isnull=False, history_type="~")
    assert voided.count() == 4  # Ann's and Bob's two course days, replaced by the new dates
    assert RosterImport.objects.count() == 2


def test_a_change_in_the_admin_names_who_made_it_and_shows_before_and_after(client):
    credential = holding("CSPO", datetime.date(2027, 1, 31))
    registrar = staff_in("registrar")
    client.force_login(registrar)
    term = credential.terms.get()
    page = client.get(reverse("admin:credentials_term_change", args=[term.pk]))
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None
    }
    data["ends_on"] = "2027-02-28"
    data["credential"] = credential.pk
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, 5, tzinfo=datetime.UTC)):
        response = client.post(reverse("admin:credentials_term_change", args=[term.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = term.history.latest()
    assert change.history_user == registrar
    trail = client.get(reverse("admin:credentials_historicalterm_changelist"))
    assert "ends_on: 2027-01-31 → 2027-02-28" in trail.content.decode()
    history = client.get(reverse("admin:credentials_term_history", args=[term.pk]))
    assert history.status_code == 200


# --- Roles ----------------------------------------------------------------------------------

# Every staff page outside the admin, and what it needs: "read" (viewer and registrar) or
# "write" (registrar). A new staff URL fails test_every_staff_url_is_classified until added.
STAFF_URLS = {
    "staff:queue": ("get", "read"),
    "staff:queue_csv": ("get", "read"),
    "staff:queue_xlsx": ("get", "read"),
    "staff:claim_verify": ("post", "write"),
    "staff:claim_reject": ("post", "write"),
    "staff:receipt_confirm": ("post", "write"),
    "staff:reminder_resend": ("post", "write"),
    "staff:dashboard": ("get", "read"),
    "staff:at_risk_csv": ("get", "read"),
    "staff:at_risk_xlsx": ("get", "read"),
    "staff:transcript": ("get", "read"),
    "roster:history": ("get", "read"),
    "roster:template": ("get", "read"),
    "roster:upload": ("get", "write"),
    "roster:detail": ("get", "read"),
    "roster:progress": ("get", "read"),
    "roster:errors": ("get", "read"),
    "roster:rejected": ("get", "read"),
    "roster:apply": ("post", "write"),
    "roster:recheck": ("post", "write"),
    "roster:discard": ("post", "write"),
}
ROLES = {"superuser": "write", "registrar": "write", "viewer": "read", "": None}


def staff_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace in ("staff", "roster"):
            for inner in pattern.url_patterns:
                yield f"{pattern.namespace}:{inner.name}"
        elif isinstance(pattern, URLPattern):
            continue


def test_every_staff_url_is_classified():
    assert set(staff_patterns()) == set(STAFF_URLS)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("name", sorted(STAFF_URLS))
def test_each_role_on_each_staff_url(client, role, name):
    from credentials.roster.imports import roster_import_check
    from tests.credentials.test_roster import GOOD, csv_bytes

    record = roster_import_check(
        data=csv_bytes(*GOOD, "bad,Eve,E,C-1,CSPO,2025-03-03,2025-03-04,16,yes"),
        name="r.csv",
        uploaded_by=None,
    )
    client.force_login(staff_in(role))
    method, needs = STAFF_URLS[name]
    args = (
        [record.pk]
        if name.startswith("roster:")
        and name
        not in (
            "roster:history",
            "roster:template",
            "roster:upload",
        )
        else []
    )
    if name == "staff:transcript":
        credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
        args = [credential.pk, credential.terms.get().pk]
    if name in ("staff:queue_csv", "staff:queue_xlsx"):
        args = ["claims"]
    if name in ("staff:claim_verify", "staff:claim_reject"):
        from credentials.services import credential_claim

        args = [
            credential_claim(
                holder=UserFactory(),
                program=program("CSM"),
                issued_on=TODAY - datetime.timedelta(days=30),
                certificate_number="C-1",
            ).pk
        ]
    if name == "staff:receipt_confirm":
        from seu_ledger.services import fee_submit

        credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
        args = [fee_submit(credential=credential, reference="R-1").pk]
    if name == "staff:reminder_resend":
        from seu_ledger.models import Reminder

        credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
        args = [
            Reminder.objects.create(
                holder=credential.holder,
                term=credential.terms.get(),
                days_before=30,
                term_ends_on=credential.terms.get().ends_on,
                kind=Reminder.Kind.EXPIRY_APPROACHING,
                status=Reminder.Status.FAILED,
                created_at=timezone.now(),
            ).pk
        ]
    data = {"reason": "Not on the issuer's register."} if name == "staff:claim_reject" else {}
    response = getattr(client, method)(reverse(name, args=args), data)
    allowed = ROLES[role] == "write" or (ROLES[role] == "read" and needs == "read")
    if allowed:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302:
            assert "/admin/login/" not in response["Location"]
    else:
        assert response.status_code == 403


def test_a_holder_gets_403_from_the_staff_pages(client):
    client.force_login(UserFactory())
    for name in ("staff:dashboard", "staff:at_risk_csv", "staff:at_risk_xlsx"):
        assert client.get(reverse(name)).status_code == 403


def admin_actions():
    """(model admin, action name) for every action of every registered model admin."""
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or ():
            name = action if isinstance(action, str) else action.__name__
            yield model, name


# Every admin action: who may run it, and what it must have changed when they do.
ACTION_NEEDS = {
    ("user", "send_invitation"): "write",
    ("user", "deactivate"): "write",
    ("user", "reactivate"): "write",
    ("user", "preview_reminder"): "read",
    ("user", "merge_holders"): "superuser",  # needs credentials.merge_user, no role has it
    ("credential", "mark_verified"): "write",
    ("credential", "revoke"): "write",
    ("credential", "record_fee_paid"): "write",
    ("credential", "waive_fee"): "write",
    ("fee", "confirm_paid"): "write",
    ("fee", "waive"): "write",
    ("entry", "void_entries"): "write",
    ("accessattempt", "cleanup_expired_attempts"): "superuser",  # django-axes' own
    # API tokens and webhooks: no role has them; superusers grant them.
    ("apitoken", "revoke"): "superuser",
    ("delivery", "send_again"): "superuser",
}
APPS = {
    "fee": "seu_ledger",
    "entry": "seu_ledger",
    "accessattempt": "axes",
    "apitoken": "api",
    "delivery": "api",
}
# The user each user action is tried on, in the state it starts from.
USER_STATES = {"send_invitation": "invited", "reactivate": "deactivated"}
EFFECTS = {
    "send_invitation": lambda o: o["holder"].invited_at is not None,
    "deactivate": lambda o: o["holder"].state == "deactivated",
    "reactivate": lambda o: o["holder"].state == "active",
    "preview_reminder": lambda o: True,
    "mark_verified": lambda o: o["credential"].verified,
    "revoke": lambda o: o["credential"].revoked_at is not None,
    "record_fee_paid": lambda o: o["fee"].status == Fee.Status.PAID,
    "waive_fee": lambda o: o["fee"].status == Fee.Status.WAIVED,
    "confirm_paid": lambda o: o["fee"].status == Fee.Status.PAID,
    "waive": lambda o: o["fee"].status == Fee.Status.WAIVED,
    "void_entries": lambda o: o["entry"].voided_at is not None,
}


def test_every_admin_action_is_classified():
    found = {(model._meta.model_name, name) for model, name in admin_actions()}
    assert found == set(ACTION_NEEDS)


@pytest.mark.parametrize("role", ["registrar", "viewer", ""])
@pytest.mark.parametrize(("model_name", "action"), sorted(ACTION_NEEDS))
def test_each_role_on_each_admin_action(client, role, model_name, action):
    holder = UserFactory(state=USER_STATES.get(action, "active"))
    credential = holding("CSPO", TODAY + datetime.timedelta(days=30), holder=holder)
    Credential.objects.filter(pk=credential.pk).update(verified=False)
    fee = fee_submit(credential=credential, reference="R-2")
    entry = log(holder, TODAY - datetime.timedelta(days=3), "2")
    targets = {"user": holder, "credential": credential, "fee": fee, "entry": entry}
    before = type(holder).objects.get(pk=holder.pk)
    client.force_login(staff_in(role))
    app = APPS.get(model_name, "credentials")
    response = client.post(
        reverse(f"admin:{app}_{model_name}_changelist"),
        {
            "action": action,
            "_selected_action": [targets[model_name].pk] if model_name in targets else [1],
            "apply": "1",
            "reason": "Scholarship",
            "reference": "BANK-1",
        },
    )
    needs = ACTION_NEEDS[(model_name, action)]
    objects = {
        "holder": type(holder).objects.get(pk=holder.pk),
        "credential": Credential.objects.get(pk=credential.pk),
        "fee": Fee.objects.get(pk=fee.pk),
        "entry": Entry.objects.get(pk=entry.pk),
    }
    if role and (needs == "read" or (needs == "write" and role == "registrar")):
        assert response.status_code == 302, response.status_code
        assert EFFECTS[action](objects)
    else:
        assert response.status_code == 403
        assert objects["fee"].status == Fee.Status.SUBMITTED
        assert not objects["credential"].verified
        assert objects["credential"].revoked_at is None
        assert objects["entry"].voided_at is None
        assert (objects["holder"].state, objects["holder"].invited_at) == (
            before.state,
            before.invited_at,
        )


def test_viewers_read_the_admin_but_cannot_change_anything(client):
    credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
    client.force_login(staff_in("viewer"))
    change = reverse("admin:credentials_credential_change", args=[credential.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"certificate_number": "X"}).status_code == 403
    assert client.get(reverse("admin:credentials_credential_add")).status_code == 403
    assert client.get(reverse("admin:seu_ledger_historicalfee_changelist")).status_code == 200


def test_the_roles_are_groups_with_the_permissions_the_migration_gave():
    registrar = set(
        Group.objects.get(name="registrar").permissions.values_list("codename", flat=True)
    )
    viewer = set(Group.objects.get(name="viewer").permissions.values_list("codename", flat=True))
    assert {"add_rosterimport", "change_fee", "change_credential", "change_term"} <= registrar
    assert {"view_credential", "view_fee", "view_reminder", "view_historicalcredential"} <= viewer
    assert not any(code.split("_")[0] in ("add", "change", "delete") for code in viewer)
    assert not any(code.startswith("delete_") for code in registrar)


def test_a_viewer_cannot_go_back_to_an_earlier_version_through_the_history_page(client):
    credential = holding("CSPO", TODAY + datetime.timedelta(days=30))
    version = credential.history.earliest()
    client.force_login(staff_in("viewer"))
    url = reverse(
        "admin:credentials_credential_simple_history", args=[credential.pk, version.history_id]
    )
    assert client.get(url).status_code == 200
    response = client.post(url, {"certificate_number": "FORGED", "holder": credential.holder_id})
    assert response.status_code == 403
    assert Credential.objects.get(pk=credential.pk).certificate_number == ""


def test_a_registrar_corrects_a_holder_but_grants_no_privilege(client):
    holder = UserFactory(first_name="Pat")
    registrar = staff_in("registrar")
    superuser = staff_in("superuser")
    client.force_login(registrar)
    url = reverse("admin:credentials_user_change", args=[holder.pk])
    page = client.get(url)
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None and key not in ("groups", "user_permissions", "password")
    }
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
    data.update(first_name="Patricia", is_staff="on", is_superuser="on")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    holder.refresh_from_db()
    assert (holder.first_name, holder.is_staff, holder.is_superuser) == ("Patricia", False, False)
    own = reverse("admin:credentials_user_change", args=[registrar.pk])
    assert client.post(own, {**data, "email": registrar.email}).status_code == 403
    registrar.refresh_from_db()
    assert not registrar.is_superuser
    password = reverse("admin:auth_user_password_change", args=[superuser.pk])
    password = password.replace("auth/user", "credentials/user")
    assert client.get(password).status_code == 403


def test_every_row_a_roster_import_writes_has_its_audit_record_on_a_running_clock():
    with time_machine.travel(datetime.datetime(2026, 5, 20, 12, tzinfo=datetime.UTC), tick=True):
        record = roster_import_check(data=csv_bytes(*GOOD), name="live.csv", uploaded_by=None)
        roster_import_queue(record=record, only_valid_rows=False)
        roster_import_apply(import_id=record.pk, token="live")
    assert Entry.history.count() == Entry.objects.count() == 6
    assert Credential.history.count() == Credential.objects.count() == 3
