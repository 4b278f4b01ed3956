"""A holder only ever sees or changes their own records: every holder URL that takes an id or a
token answers 404 with someone else's, for reading and for writing."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from credentials.services import calendar_token_for, credential_issue
from seu_ledger.services import entry_log
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_holders_objects():
    """Holder B's credential, term, entry (with evidence) and calendar token."""
    other = UserFactory(email="b@example.com")
    credential = credential_issue(
        holder=other, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    entry = entry_log(
        holder=other,
        activity_date=datetime.date(2024, 6, 1),
        category=category("scrum-alliance:learning"),
        title="B's workshop",
        hours=Decimal(4),
        evidence=SimpleUploadedFile("b.pdf", b"%PDF-1.4 b"),
    )
    return {
        "credential": credential,
        "term": credential.terms.get(),
        "entry": entry,
        "token": calendar_token_for(other),
    }


# URL name -> the kwargs that point at holder B's objects.
ID_URLS = {
    "ledger:entry_edit": lambda o: {"pk": o["entry"].pk},
    "ledger:entry_void": lambda o: {"pk": o["entry"].pk},
    "ledger:entry_evidence": lambda o: {"pk": o["entry"].pk},
    "ledger:renewal": lambda o: {"pk": o["credential"].pk},
    "ledger:fee_submit": lambda o: {"pk": o["credential"].pk},
    "ledger:renew": lambda o: {"pk": o["credential"].pk},
    "ledger:transcript": lambda o: {"pk": o["credential"].pk, "term_pk": o["term"].pk},
}
# Staff pages with an id: a holder never gets past the staff check.
STAFF_ID_URLS = {"roster:detail", "roster:apply", "roster:progress", "roster:errors"}
# URLs that take a secret or a public code by design, tested in their own modules.
TOKEN_URLS = {
    "credentials:calendar_feed",  # the token is the key; a wrong one is 404 (test_views)
    "credentials:verify",  # public by design
    "credentials:verify_qr",
    "invitation_accept",  # signed, expiring tokens
    "sign_up_confirm",
    "password_reset_confirm",
    "ledger:reminders_unsubscribe",  # signed holder id; a damaged one is 404 (test_reminders)
}


def named_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            space = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from named_patterns(pattern, space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


def test_every_url_with_an_id_or_token_is_covered():
    with_params = {
        name
        for name, pattern in named_patterns()
        if pattern.pattern.regex.groupindex or "<" in str(pattern.pattern)
    }
    assert with_params == set(ID_URLS) | TOKEN_URLS | STAFF_ID_URLS


@pytest.mark.parametrize("name", sorted(STAFF_ID_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_pages_with_ids_refuse_holders(client, name, method):
    from credentials.models import RosterImport

    record = RosterImport.objects.create(original_name="r.csv", file="rosters/x/r.csv")
    client.force_login(UserFactory())
    response = getattr(client, method)(reverse(name, args=[record.pk]))
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert "/admin/login/" in response["Location"]
    record.refresh_from_db()
    assert record.status == RosterImport.Status.VALIDATED


@pytest.mark.parametrize("name", sorted(ID_URLS))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_holders_ids_answer_404(client, other_holders_objects, name, method):
    me = UserFactory(email="a@example.com")
    credential_issue(holder=me, program=program("CSM"), issued_on=datetime.date(2024, 3, 15))
    client.force_login(me)
    url = reverse(name, kwargs=ID_URLS[name](other_holders_objects))
    data = {"term": other_holders_objects["term"].pk, "reason": "x", "reference": "x"}
    response = getattr(client, method)(url, data) if method == "post" else client.get(url)
    assert response.status_code in (404, 405), (url, response.status_code)
    other_holders_objects["entry"].refresh_from_db()
    assert other_holders_objects["entry"].voided_at is None
    assert other_holders_objects["credential"].terms.count() == 1


@pytest.mark.parametrize("name", sorted(ID_URLS))
def test_signed_out_visitors_are_sent_to_sign_in(client, other_holders_objects, name):
    url = reverse(name, kwargs=ID_URLS[name](other_holders_objects))
    response = client.get(url)
    assert response.status_code in (302, 405)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))
