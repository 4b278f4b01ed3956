"""Secondary addresses: added on the profile page, confirmed from the link sent there, then a
roster row or a sign-in with one finds the primary account; unconfirmed ones find nothing, and
an address another account has is refused without saying whose."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from credentials.accounts import address_add, address_confirm
from credentials.models import ADDRESS_TAKEN, Attendance, EmailAddress, User
from credentials.roster.apply import roster_apply
from credentials.roster.imports import roster_check
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PRIMARY = "pat@example.com"
WORK = "pat.owner@work.example"
HEADER = (
    "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,completed"
)


@pytest.fixture
def pat():
    return UserFactory(email=PRIMARY, first_name="Pat", last_name="Owner")


def roster_of(email: str, course: str = "C-1") -> bytes:
    row = f"{email},Pat,Owner,{course},CSPO,2025-03-03,2025-03-04,16,yes"
    return f"{HEADER}\n{row}\n".encode()


def confirm_link(message) -> str:
    return re.search(r"http://testserver(/accounts/address/confirm/\S+/)", message.body).group(1)


def sign_in(client, email, password=DEFAULT_PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def add_on_profile(client, address):
    return client.post(reverse("address_add"), {"address": address}, follow=True)


def test_an_address_added_on_the_profile_counts_once_confirmed_from_the_emailed_link(client, pat):
    client.force_login(pat)
    page = add_on_profile(client, "Pat.Owner@WORK.example")
    assert "We sent a link to pat.owner@work.example" in page.content.decode()
    assert "Waiting for you to follow the link" in page.content.decode()
    (message,) = mail.outbox
    assert message.to == [WORK]
    assert PRIMARY in message.body
    link = confirm_link(message)

    client.logout()
    assert sign_in(client, WORK).status_code == 200  # not yet: it matches nothing
    opened = client.get(link)
    assert opened.status_code == 200
    assert not EmailAddress.objects.get(address=WORK).is_confirmed  # opening changes nothing
    client.post(link, {})
    assert EmailAddress.objects.get(address=WORK).is_confirmed
    assert client.get(link).status_code == 400  # spent

    # A roster row under the secondary address attaches to the primary account.
    report = roster_check(roster_of("PAT.OWNER@work.example"))
    assert report.errors == []
    assert report.totals["new_holders"] == 0
    summary = roster_apply(report, batch_size=10)
    assert summary["holders_created"] == 0
    assert User.objects.count() == 1
    assert Attendance.objects.get().holder == pat
    assert pat.credentials.get().program.code == "CSPO"

    # Signing in with it signs in to the primary account.
    response = sign_in(client, "Pat.Owner@work.example")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(pat.pk)


def test_an_unconfirmed_address_matches_nothing(client, pat):
    address_add(user=pat, address=WORK)
    assert sign_in(client, WORK).status_code == 200
    assert "_auth_user_id" not in client.session
    report = roster_check(roster_of(WORK))
    assert report.totals["new_holders"] == 1
    roster_apply(report, batch_size=10)
    assert User.objects.get(email=WORK) != pat
    # ...and once someone holds it, the waiting request can no longer be confirmed.
    client.post(confirm_link(mail.outbox[0]), {})
    assert not EmailAddress.objects.get(user=pat).is_confirmed


@pytest.mark.parametrize("held_as", ["sign-in address", "confirmed secondary address"])
def test_an_address_another_account_has_is_refused_without_saying_whose(client, pat, held_as):
    other = UserFactory(email="robin@example.com", first_name="Robin", last_name="Marsh")
    if held_as == "sign-in address":
        taken = other.email
    else:
        taken = "robin@work.example"
        address_add(user=other, address=taken)
        address_confirm(token=re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    mail.outbox.clear()
    client.force_login(pat)
    response = client.post(reverse("address_add"), {"address": taken.upper()})
    assert response.status_code == 400
    assert response.context["address_form"].errors["address"] == [ADDRESS_TAKEN]
    html = response.content.decode()
    assert ADDRESS_TAKEN in html
    assert "robin@example.com" not in html
    assert "Robin" not in html
    assert "Marsh" not in html
    assert mail.outbox == []
    assert not EmailAddress.objects.filter(user=pat).exists()


def test_the_own_sign_in_address_and_a_refused_spelling_are_named_on_the_field(client, pat):
    client.force_login(pat)
    own = client.post(reverse("address_add"), {"address": "PAT@example.com"})
    assert own.context["address_form"].errors["address"] == [
        "That is already the address you sign in with."
    ]
    hidden = client.post(reverse("address_add"), {"address": "pat\u200b@work.example"})
    assert "invisible or control character" in hidden.context["address_form"].errors["address"][0]
    assert mail.outbox == []


def test_failures_under_a_secondary_address_count_toward_the_account(client, pat):
    """Sign-in throttling counts per account: guesses spread over the primary and a secondary
    spelling share one counter."""
    address_add(user=pat, address=WORK)
    address_confirm(token=re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    from axes.models import AccessAttempt

    for address in (WORK, PRIMARY, WORK, PRIMARY):
        assert sign_in(client, address, "wrong password").status_code == 200
    sign_in(client, WORK, "wrong password")  # the fifth locks the account out
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.failures_since_start) == (PRIMARY, 5)
    for address in (PRIMARY, WORK):
        assert sign_in(client, address).status_code == 429
        assert "_auth_user_id" not in client.session


def test_a_removed_address_stops_matching_and_only_its_owner_can_remove_it(client, pat):
    row = address_add(user=pat, address=WORK)
    link = confirm_link(mail.outbox[-1])
    other = UserFactory()
    client.force_login(other)
    assert client.post(reverse("address_remove", args=[row.pk])).status_code == 404
    client.force_login(pat)
    client.post(link, {})
    page = client.post(reverse("address_remove", args=[row.pk]), follow=True)
    assert f"{WORK} is no longer on your account" in page.content.decode()
    client.logout()
    assert sign_in(client, WORK).status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get(link).status_code == 400


def test_a_password_link_asked_for_a_secondary_address_goes_to_the_sign_in_address(client, pat):
    address_add(user=pat, address=WORK)
    address_confirm(token=re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": WORK})
    assert [message.to for message in mail.outbox] == [[PRIMARY]]


def test_signing_up_with_a_secondary_address_tells_its_owner_and_creates_nobody(client, pat):
    address_add(user=pat, address=WORK)
    address_confirm(token=re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    mail.outbox.clear()
    client.post(
        reverse("sign_up"),
        {
            "email": WORK,
            "first_name": "Mallory",
            "last_name": "Mole",
            "password1": "attackers-pass-2026",
            "password2": "attackers-pass-2026",
            "accept_licence": "on",
        },
    )
    assert User.objects.count() == 1
    assert [message.to for message in mail.outbox] == [[PRIMARY]]


def test_one_person_under_two_of_their_addresses_on_one_course_is_a_row_error(pat):
    address_add(user=pat, address=WORK)
    address_confirm(token=re.search(r"/confirm/(\S+)/", mail.outbox[-1].body).group(1))
    rows = [
        f"{PRIMARY},Pat,Owner,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
        f"{WORK},Pat,Owner,C-1,CSPO,2025-03-03,2025-03-04,16,yes",
    ]
    report = roster_check(f"{HEADER}\n{chr(10).join(rows)}\n".encode())
    assert [(error.line, error.column) for error in report.errors] == [(3, "email")]
    assert "another of their addresses" in report.errors[0].message
