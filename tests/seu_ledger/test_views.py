"""The holder's pages, through the real views."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from credentials.services import calendar_token_for, credential_issue, licence_accept
from seu_ledger.models import Entry, Fee
from seu_ledger.services import entry_log, entry_void, fee_record
from tests.factories import StaffFactory, UserFactory, category, program, staff_in

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def pat():
    user = UserFactory(email="pat@example.com", first_name="Pat")
    licence_accept(user=user)
    credential_issue(holder=user, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15))
    return user


@pytest.fixture
def signed_in(client, pat):
    client.force_login(pat)
    return client


def entry_data(**overrides):
    data = {
        "activity_date": "2025-06-01",
        "category": category("scrum-alliance:learning").pk,
        "title": "Story mapping workshop",
        "provider": "Agile Co",
        "hours": "6",
        "description": "",
    }
    data.update(overrides)
    return data


def test_holder_pages_ask_for_the_licence_once(client):
    user = UserFactory(licence_accepted_at=None)
    client.force_login(user)
    response = client.get(reverse("ledger:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("licence"))
    response = client.post(
        reverse("licence"), {"accept_licence": "on", "next": reverse("ledger:history")}
    )
    assert response["Location"] == reverse("ledger:history")
    assert client.get(reverse("ledger:dashboard")).status_code == 200


def test_dashboard_shows_a_card_with_status_days_left_progress_and_next_action(signed_in, pat):
    entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Course",
        hours=Decimal(5),
    )
    html = signed_in.get(reverse("ledger:dashboard")).content.decode()
    assert "CSPO" in html
    assert ">Active</span>" in html  # ends 2026-03-15: 104 days away, outside the 90-day horizon
    assert re.search(r'<dd class="col-7 mb-1 days-left">\s*104\s*</dd>', html)
    assert "5</span> of 20 SEU counted" in html
    assert 'value="25"' in html  # progress bar at 25 %
    assert "Log 15 more SEU to renew." in html
    assert "Log units" in html
    assert "US$100, due by 15 Mar 2026" in html  # never a bare "due"


def test_signed_in_visitors_go_from_home_to_the_dashboard(signed_in):
    assert signed_in.get("/")["Location"] == reverse("ledger:dashboard")


def test_dashboard_queries_do_not_grow_with_entries(client, django_assert_num_queries):
    holder = UserFactory()
    licence_accept(user=holder)
    for code in ("CSM", "CSPO", "PMI-ACP"):
        credential_issue(holder=holder, program=program(code), issued_on=datetime.date(2024, 6, 1))
    client.force_login(holder)

    def add_entries(count):
        Entry.objects.bulk_create(
            Entry(
                holder=holder,
                activity_date=datetime.date(2024, 7, 1) + datetime.timedelta(days=i % 500),
                category=category("scrum-alliance:learning"),
                title=f"Activity {i}",
                hours=Decimal("0.5"),
            )
            for i in range(count)
        )

    add_entries(3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("ledger:dashboard")).status_code == 200
    add_entries(2997)
    # bulk_create moves the holder's page version (a database trigger): the page is redrawn
    with django_assert_num_queries(len(few)):
        response = client.get(reverse("ledger:dashboard"))
    assert "CSPO + CSM" in response.content.decode()
    assert len(few) <= 15


def test_logging_an_activity_says_what_it_counts_toward(signed_in, pat):
    response = signed_in.post(reverse("ledger:entry_create"), entry_data(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("ledger:dashboard")
    assert "all 6 hours count toward CSPO" in response.content.decode()
    assert Entry.objects.get(holder=pat).hours == Decimal(6)


def test_an_activity_outside_every_window_says_it_counts_toward_nothing(signed_in):
    response = signed_in.post(
        reverse("ledger:entry_create"), entry_data(activity_date="2020-01-01"), follow=True
    )
    assert "none of its 6 hours count toward CSPO (dated before the renewal window" in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"hours": "1.3"}, "hours", "steps of 0.25"),
        ({"hours": "-1"}, "hours", "more than zero"),
        ({"activity_date": "2025-12-02"}, "activity_date", "future"),
        ({"title": ""}, "title", "required"),
        ({"hours": "abc"}, "hours", "Enter a number"),
    ],
)
def test_invalid_activity_shows_the_error_next_to_the_field(signed_in, overrides, field, message):
    response = signed_in.post(reverse("ledger:entry_create"), entry_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    html = response.content.decode()
    assert f'id="error_1_id_{field}"' in html
    # The input points screen readers at its error message.
    described = re.search(rf'aria-describedby="([^"]*)"[^>]*id="id_{field}"', html)
    assert described, html
    assert f"id_{field}_error" in described.group(1)
    assert 'aria-invalid="true"' in html
    assert not Entry.objects.exists()


def test_evidence_is_checked_by_content_not_by_name(signed_in):
    fake = SimpleUploadedFile(
        "receipt.pdf", b"just text pretending", content_type="application/pdf"
    )
    response = signed_in.post(reverse("ledger:entry_create"), {**entry_data(), "evidence": fake})
    assert "none of those" in response.context["form"].errors["evidence"][0]
    assert not Entry.objects.exists()
    real = SimpleUploadedFile("scan.png", PNG, content_type="image/png")
    signed_in.post(reverse("ledger:entry_create"), {**entry_data(), "evidence": real})
    entry = Entry.objects.get()
    assert entry.evidence.name.endswith(".png")
    assert "scan" not in entry.evidence.name


def test_evidence_over_ten_megabytes_is_refused(signed_in):
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (10 * 2**20), content_type="application/pdf")
    response = signed_in.post(reverse("ledger:entry_create"), {**entry_data(), "evidence": big})
    assert "at most 10 MB" in response.context["form"].errors["evidence"][0]
    assert not Entry.objects.exists()


def test_evidence_is_served_to_its_owner_and_staff_only(client, signed_in, pat):
    signed_in.post(
        reverse("ledger:entry_create"),
        {**entry_data(), "evidence": SimpleUploadedFile("a.pdf", PDF)},
    )
    entry = Entry.objects.get()
    url = reverse("ledger:entry_evidence", args=[entry.pk])
    response = signed_in.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(staff_in(""))  # staff with no role: not theirs to see
    assert client.get(url).status_code == 404
    client.force_login(staff_in("viewer"))
    assert client.get(url).status_code == 200
    client.logout()
    assert client.get(url).status_code == 302
    assert client.get("/media/" + entry.evidence.name).status_code == 404


def test_edit_and_void_own_entries_and_voided_ones_stay_in_history(signed_in, pat):
    entry = entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Course",
        hours=Decimal(5),
    )
    response = signed_in.post(
        reverse("ledger:entry_edit", args=[entry.pk]), entry_data(title="Course, corrected")
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.title == "Course, corrected"
    response = signed_in.post(reverse("ledger:entry_void", args=[entry.pk]), {"reason": ""})
    assert "required" in response.context["form"].errors["reason"][0]
    signed_in.post(reverse("ledger:entry_void", args=[entry.pk]), {"reason": "Logged twice"})
    html = signed_in.get(reverse("ledger:history")).content.decode()
    assert "<del>Course, corrected</del>" in html
    assert "Logged twice" in html


def test_history_filters_paginates_and_exports_csv_safely(signed_in, pat):
    learning, events = category("scrum-alliance:learning"), category("scrum-alliance:events")
    for day in range(1, 31):
        entry_log(
            holder=pat,
            activity_date=datetime.date(2025, 5, day),
            category=learning if day % 2 else events,
            title='=HYPERLINK("http://evil")' if day == 1 else f"Activity {day}",
            hours=Decimal(1),
        )
    page_one = signed_in.get(reverse("ledger:history"))
    assert len(page_one.context["page"].object_list) == 25
    assert page_one.context["page"].paginator.count == 30
    filtered = signed_in.get(
        reverse("ledger:history"),
        {"category": events.pk, "date_from": "2025-05-10", "date_to": "2025-05-20"},
    )
    assert {e.activity_date.day for e in filtered.context["page"].object_list} == {
        10,
        12,
        14,
        16,
        18,
        20,
    }
    term = pat.credentials.get().terms.get()
    by_term = signed_in.get(reverse("ledger:history"), {"term": term.pk})
    assert by_term.context["page"].paginator.count == 30
    csv_text = signed_in.get(
        reverse("ledger:history_csv"), {"category": learning.pk}
    ).content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("date,issuer,category,title")
    assert len(lines) == 1 + 15
    assert "'=HYPERLINK" in csv_text
    assert ",=HYPERLINK" not in csv_text


def test_history_says_how_many_activities_and_moves_between_pages_keeping_the_filter(
    signed_in, pat
):
    learning, events = category("scrum-alliance:learning"), category("scrum-alliance:events")
    Entry.objects.bulk_create(
        Entry(
            holder=pat,
            activity_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=index),
            category=events if index % 4 == 0 else learning,
            title=f"Activity {index}",
            hours=Decimal(1),
        )
        for index in range(60)
    )
    html = signed_in.get(reverse("ledger:history")).content.decode()
    assert "60 activities: 1 to 25 on this page, newest first." in html
    assert 'aria-describedby="history-count"' in html
    nav = re.search(r'<nav aria-label="Pages of activities">.*?</nav>', html, re.S).group(0)
    assert '<span class="page-link" aria-current="page">Page 1 of 3</span>' in nav
    assert 'rel="next" href="?page=2"' in nav
    assert 'href="?page=3">Last' in nav
    assert "Previous" not in nav
    assert "First" not in nav

    last = signed_in.get(reverse("ledger:history"), {"page": "3"}).content.decode()
    assert "51 to 60 on this page" in last
    assert 'rel="prev" href="?page=2"' in last
    assert 'href="?page=1">First' in last
    assert "Next" not in last.split('aria-label="Pages of activities"')[1]
    assert signed_in.get(reverse("ledger:history"), {"page": "99"}).context["page"].number == 3

    response = signed_in.get(reverse("ledger:history"), {"category": events.pk})
    html = response.content.decode()
    assert "15 activities match the filter." in html  # one page: no page links
    assert 'aria-label="Pages of activities"' not in html
    wide = signed_in.get(
        reverse("ledger:history"), {"category": learning.pk, "page": "2"}
    ).content.decode()
    assert "45 activities match the filter: 26 to 45 on this page" in wide
    assert f'href="?category={learning.pk}&amp;page=1">First' in wide
    # The downloads keep the filter but not the page: they hold every matching activity.
    assert f'href="{reverse("ledger:history_csv")}?category={learning.pk}"' in wide
    csv_text = signed_in.get(
        reverse("ledger:history_csv"), {"category": learning.pk, "page": "2"}
    ).content.decode("utf-8-sig")
    assert len(csv_text.strip().splitlines()) == 1 + 45

    nothing = signed_in.get(reverse("ledger:history"), {"date_from": "2026-01-01"})
    assert "0 activities match the filter." in nothing.content.decode()
    assert "No activities match the filter." in nothing.content.decode()


def test_a_history_page_says_what_counts_for_its_rows_as_the_whole_ledger_does(signed_in, pat):
    """Only the rows shown are put in words, but from counting every activity: the daily
    cap on a day split across pages still reads right."""
    from seu_ledger.selectors import entry_outcomes, holder_ledger

    for index in range(30):
        entry_log(
            holder=pat,
            activity_date=datetime.date(2025, 6, 1) + datetime.timedelta(days=index // 3),
            category=category("scrum-alliance:learning"),
            title=f"Talk {index}",
            hours=Decimal(3),
        )
    whole = entry_outcomes(holder_ledger(pat.pk))
    for number in ("1", "2"):
        page = signed_in.get(reverse("ledger:history"), {"page": number}).context
        for entry, outcomes in page["rows"]:
            assert [o.text for o in outcomes] == [o.text for o in whole[entry.pk]]
    assert any("over the daily cap" in o.text for outs in whole.values() for o in outs)


def test_renewal_page_records_a_fee_reference_then_renews(
    signed_in, pat, django_capture_on_commit_callbacks
):
    credential = pat.credentials.get()
    for day in (1, 2, 3):
        entry_log(
            holder=pat,
            activity_date=datetime.date(2025, 6, day),
            category=category("scrum-alliance:learning"),
            title=f"Day {day}",
            hours=Decimal(8),
        )
    page = signed_in.get(reverse("ledger:renewal", args=[credential.pk])).content.decode()
    assert "renewal fee of US$100 and record the receipt by 15 Mar 2026" in page
    assert 'name="reference"' in page
    response = signed_in.post(
        reverse("ledger:fee_submit", args=[credential.pk]), {"reference": "SA-998877"}, follow=True
    )
    page = response.content.decode()
    assert "Staff will confirm" in page
    # Waiting for staff: no button leads to a page without a form, and no form asks again.
    assert "Waiting for staff to confirm your receipt SA-998877: nothing to do." in page
    assert 'name="reference"' not in page
    dashboard = signed_in.get(reverse("ledger:dashboard")).content.decode()
    assert "Record fee receipt" not in dashboard
    assert "receipt SA-998877 waiting for staff to confirm" in dashboard
    fee = Fee.objects.get()
    assert fee.status == Fee.Status.SUBMITTED
    with django_capture_on_commit_callbacks(execute=True):
        fee_record(credential=credential, recorded_by=StaffFactory())
    assert [m.subject for m in mail.outbox] == ["Your CSPO renewal fee is confirmed"]
    assert "Next: Units and fee are complete: you can renew." in mail.outbox[0].body
    page = signed_in.get(reverse("ledger:renewal", args=[credential.pk])).content.decode()
    assert "Review and renew CSPO" in page
    # The confirmation page lists what the renewal uses before anything happens.
    confirm = signed_in.get(reverse("ledger:renew", args=[credential.pk])).content.decode()
    assert "CSPO: 15 Mar 2026 – 15 Mar 2028" in confirm
    assert "Uses up 24 SEU from 3 activities" in confirm
    assert "Day 1" in confirm
    assert "Day 3" in confirm
    assert "US$100, paid" in confirm
    assert credential.terms.count() == 1
    term = credential.terms.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            reverse("ledger:renew", args=[credential.pk]), {"term": term.pk}, follow=True
        )
    page = response.content.decode()
    assert "Renewed on 1 Dec 2025" in page
    assert "CSPO: new term 15 Mar 2026 – 15 Mar 2028" in page
    assert [m.subject for m in mail.outbox] == ["CSPO renewed: your new term runs to 15 Mar 2028"]
    assert "Units used: 24 of 20 SEU, from 3 activities" in mail.outbox[0].body
    # Straight after: the old term still runs, the new one is next; no receipt form for a fee
    # two years away.
    page = signed_in.get(reverse("ledger:renewal", args=[credential.pk])).content.decode()
    assert "Renewed: the next term runs 15 Mar 2026 – 15 Mar 2028." in page
    assert re.search(
        r"Term 2: 15 Mar 2026 – 15 Mar 2028\s*<span class=\"badge text-bg-info\">next", page
    )
    assert re.search(
        r"Term 1: 15 Mar 2024 – 15 Mar 2026\s*<span class=\"badge text-bg-primary\">current", page
    )
    assert "<details>" in page  # the form for the next fee is there, folded away
    again = signed_in.post(
        reverse("ledger:renew", args=[credential.pk]), {"term": term.pk}, follow=True
    )
    assert "already renewed; nothing changed" in again.content.decode()
    assert credential.terms.count() == 2
    assert len(mail.outbox) == 1


def test_renewing_without_units_says_what_is_missing(signed_in, pat):
    credential = pat.credentials.get()
    response = signed_in.post(
        reverse("ledger:renew", args=[credential.pk]),
        {"term": credential.terms.get().pk},
        follow=True,
    )
    assert "Not renewed: 20 more SEU needed" in response.content.decode()
    assert credential.terms.count() == 1


def test_transcript_is_a_pdf(signed_in, pat):
    credential = pat.credentials.get()
    response = signed_in.get(
        reverse("ledger:transcript", args=[credential.pk, credential.terms.get().pk])
    )
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"


def test_calendar_feed_lists_expiry_and_reminder_days_and_can_be_reset(signed_in, pat):
    from django.test import Client

    page = signed_in.get(reverse("credentials:calendar"))
    feed_url = page.context["feed_url"]
    path = feed_url.removeprefix("http://testserver")
    anonymous = Client()
    feed = anonymous.get(path)
    assert feed.status_code == 200
    body = feed.content.decode()
    assert "BEGIN:VCALENDAR" in body
    assert "DTSTART;VALUE=DATE:20260315" in body  # last valid day
    assert "DTSTART;VALUE=DATE:20251215" in body  # 90 days before
    assert "DTSTART;VALUE=DATE:20260308" in body  # 7 days before
    assert "\r\n" in body
    signed_in.post(reverse("credentials:calendar"))
    assert anonymous.get(path).status_code == 404


def test_the_calendar_feed_answers_head_like_get_without_a_body(client, pat):
    """Calendar apps and link checkers ask with HEAD first; a 405 reads as a dead feed."""
    path = reverse("credentials:calendar_feed", args=[calendar_token_for(pat)])
    feed, head = client.get(path), client.head(path)
    assert (head.status_code, feed.status_code) == (200, 200)
    assert head.content == b""
    assert dict(head.headers) == dict(feed.headers)
    assert head["Content-Type"] == "text/calendar; charset=utf-8"
    assert int(head["Content-Length"]) == len(feed.content)
    assert client.head(path.replace(".ics", "x.ics")).status_code == 404


def test_public_verification_answers_head_like_get_without_a_body(client, pat):
    import uuid

    credential = pat.credentials.get()
    url = reverse("credentials:verify", args=[credential.verification_code])
    page, head = client.get(url), client.head(url)
    assert (head.status_code, page.status_code) == (200, 200)
    assert head.content == b""
    assert head["Content-Type"] == page["Content-Type"] == "text/html; charset=utf-8"
    assert head["X-Robots-Tag"] == "noindex, nofollow"
    assert head["Content-Length"] == page["Content-Length"]
    assert client.head(reverse("credentials:verify", args=[uuid.uuid4()])).status_code == 404


def test_public_verification_shows_only_what_it_should(client, pat):
    credential = pat.credentials.get()
    response = client.get(reverse("credentials:verify", args=[credential.verification_code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pat" in html
    assert "Certified Scrum Product Owner" in html
    assert "15 Mar 2026" in html
    assert "Active" in html
    assert pat.email not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    qr = client.get(reverse("credentials:verify_qr", args=[credential.verification_code]))
    assert qr["Content-Type"] == "image/svg+xml"
    assert b'<svg xmlns="http://www.w3.org/2000/svg"' in qr.content


def test_a_status_has_one_badge_colour_on_every_page(client):
    """In grace (PMI: suspended) looks the same on the dashboard, the renewal page and the
    public verification page."""
    from credentials.selectors import Status
    from credentials.templatetags.credential_status import BADGES

    holder = UserFactory(email="grace@example.com")
    licence_accept(user=holder)
    ended = datetime.date(2023, 11, 20)  # two years before: ended on 2025-11-20
    csp = credential_issue(holder=holder, program=program("CSP-PO"), issued_on=ended)
    pmi = credential_issue(
        holder=holder, program=program("PMI-ACP"), issued_on=datetime.date(2022, 11, 20)
    )
    client.force_login(holder)
    red = BADGES[Status.IN_GRACE]
    for url, label in [
        (reverse("ledger:dashboard"), "In grace"),
        (reverse("ledger:dashboard"), "Suspended"),
        (reverse("ledger:renewal", args=[csp.pk]), "In grace"),
        (reverse("credentials:verify", args=[csp.verification_code]), "In grace"),
        (reverse("credentials:verify", args=[pmi.verification_code]), "Suspended"),
    ]:
        html = client.get(url).content.decode()
        badges = re.findall(r'<span class="badge ([^"]*)">\s*' + label, html)
        assert badges, (url, label)
        assert all(red in classes for classes in badges), (url, label, badges)


def test_public_verification_of_unknown_or_unverified_codes_is_404(client, pat):
    import uuid

    assert client.get(reverse("credentials:verify", args=[uuid.uuid4()])).status_code == 404
    credential = pat.credentials.get()
    credential.verified = False
    credential.save()
    assert (
        client.get(reverse("credentials:verify", args=[credential.verification_code])).status_code
        == 404
    )


def test_invited_holder_sets_a_password_accepts_the_licence_and_lands_on_the_dashboard(client):
    from credentials.accounts import holder_invite
    from credentials.models import User

    invitee = User.objects.create_user("new.holder@example.com", first_name="Nia")
    holder_invite(holder=invitee)
    message = mail.outbox[0]
    assert message.subject == "Your CSPO Tracker account is ready"
    link = re.search(r"http://testserver(\S+/invitation/\S+/)", message.body).group(1)
    assert link in message.alternatives[0][0]
    page = client.get(link)
    assert "Welcome, Nia" in page.content.decode()
    response = client.post(
        link,
        {"new_password1": "a-fresh-pass-2025", "new_password2": "a-fresh-pass-2025"},
    )
    assert "accept_licence" in response.context["form"].errors
    response = client.post(
        link,
        {
            "new_password1": "a-fresh-pass-2025",
            "new_password2": "a-fresh-pass-2025",
            "accept_licence": "on",
        },
    )
    assert response["Location"] == reverse("ledger:dashboard")
    invitee.refresh_from_db()
    assert invitee.check_password("a-fresh-pass-2025")
    assert invitee.licence_accepted_at is not None
    client.logout()
    assert client.get(link).status_code == 400  # used once


def test_self_sign_up_confirms_the_address_then_adds_an_unverified_credential(client):
    from credentials.models import User

    data = {
        "email": "Sol@Example.com",
        "first_name": "Sol",
        "last_name": "Seeker",
        "password1": "sign-up-pass-2025",
        "password2": "sign-up-pass-2025",
        "accept_licence": "on",
    }
    response = client.post(reverse("sign_up"), data, follow=True)
    assert "Check your email" in response.content.decode()
    user = User.objects.get(email="sol@example.com")
    assert (user.state, user.is_active) == (User.State.PENDING, False)
    link = re.search(r"http://testserver(\S+/confirm/\S+/)", mail.outbox[-1].body).group(1)
    # Opening the link changes nothing; the form asks for the password chosen at sign-up.
    page = client.get(link)
    assert page.status_code == 200
    assert "The password you chose when signing up" in page.content.decode()
    user.refresh_from_db()
    assert user.state == User.State.PENDING
    wrong = client.post(link, {"password": "not-the-one-2025"})
    assert "not the password chosen" in wrong.content.decode()
    response = client.post(link, {"password": "sign-up-pass-2025"})
    assert response["Location"] == reverse("credentials:claim")
    user.refresh_from_db()
    assert (user.state, user.is_active) == (User.State.ACTIVE, True)
    response = client.post(
        reverse("credentials:claim"),
        {"program": program("CSM").pk, "certificate_number": "000123", "issued_on": "2025-02-01"},
        follow=True,
    )
    html = response.content.decode()
    assert "Unverified" in html
    credential = user.credentials.get()
    assert (credential.verified, credential.certificate_number) == (False, "000123")
    client.logout()
    assert client.get(link).status_code == 400  # spent


def test_signing_up_with_an_address_in_use_sends_a_note_and_reveals_nothing(client, pat):
    response = client.post(
        reverse("sign_up"),
        follow=True,
        data={
            "email": "pat@example.com",
            "first_name": "Mallory",
            "last_name": "M",
            "password1": "sign-up-pass-2025",
            "password2": "sign-up-pass-2025",
            "accept_licence": "on",
        },
    )
    assert "Check your email" in response.content.decode()
    assert mail.outbox[-1].subject == "Someone tried to sign up to CSPO Tracker with your address"
    pat.refresh_from_db()
    assert pat.first_name == "Pat"
    assert pat.check_password("correct horse battery staple")


def test_a_password_or_invitation_link_cannot_confirm_a_sign_up(client, pat):
    """A link made for another purpose does not confirm a pending sign-up."""
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from credentials.tokens import invitation_tokens, password_tokens

    pat.state = pat.State.PENDING
    pat.save()
    uid = urlsafe_base64_encode(force_bytes(pat.pk))
    for tokens in (password_tokens, invitation_tokens):
        link = reverse("sign_up_confirm", args=[uid, tokens.make_token(pat)])
        assert client.get(link).status_code == 400
        assert client.post(link, {"password": "correct horse battery staple"}).status_code == 400
    pat.refresh_from_db()
    assert (pat.state, pat.is_active) == (pat.State.PENDING, False)


def test_claiming_a_credential_in_the_future_names_the_field(signed_in):
    response = signed_in.post(
        reverse("credentials:claim"),
        {"program": program("CSM").pk, "certificate_number": "1", "issued_on": "2026-01-01"},
    )
    assert "issued_on" in response.context["form"].errors


def test_voided_entries_cannot_be_edited_through_the_page(signed_in, pat):
    entry = entry_log(
        holder=pat,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Course",
        hours=Decimal(5),
    )
    entry_void(entry=entry, reason="Duplicate")
    response = signed_in.post(reverse("ledger:entry_edit", args=[entry.pk]), entry_data())
    assert "already voided" in response.content.decode()


def test_the_activity_form_starts_on_today_and_the_holders_learning_category(signed_in):
    form = signed_in.get(reverse("ledger:entry_create")).context["form"]
    assert form.initial["activity_date"] == datetime.date(2025, 12, 1)
    assert form.initial["category"] == category("scrum-alliance:learning")


def test_a_pmi_holder_splits_an_activity_across_skill_areas_in_the_form(client):
    from seu_ledger.models import Allocation

    holder = UserFactory(email="pia@example.com")
    licence_accept(user=holder)
    credential_issue(holder=holder, program=program("PMP"), issued_on=datetime.date(2024, 6, 1))
    client.force_login(holder)
    page = client.get(reverse("ledger:entry_create")).content.decode()
    assert "How the hours count for PMI (optional)" in page
    power, ways = category("pmi:power-skills"), category("pmi:ways-of-working")
    data = {**entry_data(category=ways.pk, hours="8"), f"hours_in_{ways.pk}": "3"}
    data[f"hours_in_{power.pk}"] = "4"
    refused = client.post(reverse("ledger:entry_create"), data)
    assert "add up to 7" in refused.content.decode()
    assert not Entry.objects.exists()
    data[f"hours_in_{power.pk}"] = "5"
    response = client.post(reverse("ledger:entry_create"), data)
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert sorted(Allocation.objects.values_list("category__code", "hours")) == [
        ("power-skills", Decimal(5)),
        ("ways-of-working", Decimal(3)),
    ]
    # Editing the hours of a split entry asks for a new split; clearing it counts it whole.
    edit = reverse("ledger:entry_edit", args=[entry.pk])
    form = client.get(edit).content.decode()
    assert f'name="hours_in_{power.pk}" value="5' in form
    stale = {**data, "hours": "6"}
    assert "add up to 8" in client.post(edit, stale).content.decode()
    whole = {key: value for key, value in stale.items() if not key.startswith("hours_in_")}
    assert client.post(edit, whole).status_code == 302
    assert not Allocation.objects.exists()


def test_the_activity_form_offers_categories_with_nothing_inside_them(client):
    holder = UserFactory()
    licence_accept(user=holder)
    credential_issue(holder=holder, program=program("PMP"), issued_on=datetime.date(2024, 6, 1))
    client.force_login(holder)
    page = client.get(reverse("ledger:entry_create")).content.decode()
    assert ">Power Skills</option>" in page
    assert ">Education</option>" not in page
