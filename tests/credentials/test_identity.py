"""One identity per person: every spelling of an address is one account on every path (sign-in
and its throttling, sign-up, password reset, invitation, roster import, admin), account states
are data, and nothing reopens an account staff closed."""

import csv
import datetime
import io
import re

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import given
from hypothesis import strategies as st

from credentials.accounts import (
    email_change_request,
    holder_invite,
    holder_sign_up,
    licence_accept,
    user_deactivate,
    user_reactivate,
)
from credentials.identity import (
    canonical_email,
    clean_person_name,
    email_throttle_key,
    validate_person_name,
)
from credentials.models import User
from credentials.roster.imports import roster_check
from credentials.tokens import invitation_tokens, password_tokens
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory, staff_in

pytestmark = pytest.mark.django_db

PLAIN = "gia.grace@example.com"
# Spellings of PLAIN that are the same address once canonical.
SAME = {
    "fullwidth": "ｇｉａ.grace@example.com",
    "fullwidth at sign": "gia.grace＠example.com",
    "mixed case": "Gia.GRACE@Example.COM",
    "surrounding spaces": "  gia.grace@example.com ",
}
# Spellings that hide a character or reach the same mailbox another way: refused, never a
# second account.
INVISIBLE = {
    "zero-width space": "gia.grace@example.com\u200b",
    "zero-width non-joiner": "gia\u200c.grace@example.com",
    "word joiner": "gia.gr\u2060ace@example.com",
    "byte-order mark": "\ufeffgia.grace@example.com",
    "soft hyphen": "gia.gra\u00adce@example.com",
    "stray combining mark": "gia.grace@example.\u0301com",
    "quoted local part": '"gia.grace"@example.com',
    "Hangul filler": "gia.grace@example.com\u3164",
    "trailing dot": "gia.grace@example.com\u3002",
}
# What the refusal says, and its code, for each: by default an invisible character.
REFUSED_AS = {
    INVISIBLE["stray combining mark"]: ("mark", "not part of a letter"),
    INVISIBLE["quoted local part"]: ("quoted", "quotes or a backslash"),
    INVISIBLE["trailing dot"]: ("domain", "not a domain that mail can be sent to"),
}


def refused_as(spelling: str) -> tuple[str, str]:
    return REFUSED_AS.get(spelling, ("invisible", "invisible or control character"))


# An internationalised domain written three ways: one address.
IDN = "pat@xn--exmple-cua.com"
IDN_SPELLINGS = {
    "composed accent": "pat@exämple.com",
    "combining accent": "pat@exa\u0308mple.com",
    "ASCII form": "pat@XN--EXMPLE-CUA.com",
}
# A combining accent that joins its letter is that letter; one on no letter is refused.
COMPOSED = ("pat@exa\u0301mple.com", "pat@exámple.com")
STRAY_MARK = "gia.grace@example.\u0301com"


# --- The canonical form -----------------------------------------------------------------------


@pytest.mark.parametrize("spelling", SAME.values(), ids=SAME.keys())
def test_every_visible_spelling_reduces_to_one_address(spelling):
    assert canonical_email(spelling) == PLAIN


@pytest.mark.parametrize("spelling", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_hidden_spelling_is_refused_saying_why(spelling):
    with pytest.raises(ValidationError) as refused:
        canonical_email(spelling)
    code, text = refused_as(spelling)
    assert refused.value.code == code
    assert text in refused.value.messages[0]
    # ...and throttling counts it under the same key as the plain address.
    assert email_throttle_key(spelling) == PLAIN


def test_combining_marks_join_their_letter_or_are_refused():
    assert canonical_email(COMPOSED[0]) == canonical_email(COMPOSED[1])
    with pytest.raises(ValidationError) as refused:
        canonical_email(STRAY_MARK)
    assert refused.value.code == "mark"


@pytest.mark.parametrize("value", ["", "   ", "pat @example.com", "pat", "a" * 250 + "@x.com"])
def test_blank_spaced_and_malformed_addresses_are_refused(value):
    with pytest.raises(ValidationError):
        canonical_email(value)


FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
spellings = st.builds(
    lambda email, upper, wide, hidden: (
        (email.upper() if upper else email).translate(FULLWIDTH if wide else {}) + hidden
    ),
    st.emails(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", " ", "\u200b", "\u00ad"]),
)


@given(st.one_of(spellings, st.text(max_size=40)))
def test_the_canonical_form_of_a_canonical_form_is_itself(text):
    try:
        once = canonical_email(text)
    except ValidationError:
        return
    assert canonical_email(once) == once
    assert email_throttle_key(text) == once


@pytest.mark.parametrize(
    "name",
    ["Pat. Click http://evil.test to verify", "www.evil.test", "Pat evil.support", "a@b", "\u202e"],
)
def test_a_name_carrying_an_address_or_a_control_is_refused(name):
    with pytest.raises(ValidationError):
        validate_person_name(name)


@pytest.mark.parametrize("name", ["Pat", "J. R. R. Tolkien", "Zoë O'Brien-Núñez", "王 小明"])
def test_ordinary_names_pass(name):
    validate_person_name(name)


# Plain ASCII takes a shorter path than other text: its controls and spaces are still caught.
@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("pat\t@example.com", "invisible"),
        ("pat@exa\x00mple.com", "invisible"),
        ("pat\x7f@example.com", "invisible"),
        ("pat\x1f@example.com", "invisible"),
        ("pat @example.com", "space"),
    ],
)
def test_ascii_controls_and_spaces_in_an_address_are_refused_like_any_other(spelling, code):
    with pytest.raises(ValidationError) as refused:
        canonical_email(spelling)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("written", "cleaned"),
    [
        ("  Ann   Marie ", "Ann Marie"),
        ("Ann\tMarie\r\n", "Ann Marie"),
        ("An\x07n\x7f", "Ann"),
        ("Zoë\u200b  Núñez", "Zoë Núñez"),
    ],
)
def test_a_name_from_a_file_loses_controls_and_repeated_spaces(written, cleaned):
    assert clean_person_name(written) == cleaned


@pytest.mark.parametrize("name", ["Ann\x07", "Ann\x00", "Ann\x7f", "Ann\tMarie"])
def test_an_ascii_control_in_a_name_is_refused(name):
    with pytest.raises(ValidationError) as refused:
        validate_person_name(name)
    assert refused.value.code == "control"


def test_the_database_keeps_one_account_per_canonical_address():
    from django.db import IntegrityError, connection, transaction

    UserFactory(email=PLAIN)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {User._meta.db_table} (email, password, first_name, last_name, "
            "is_staff, is_active, state, is_superuser, date_joined, pending_email) VALUES "
            "(%s, '', '', '', false, true, 'active', false, CURRENT_TIMESTAMP, '')",
            ["Gia.Grace@example.com"],
        )


def test_saving_a_user_stores_the_canonical_address_and_refuses_hidden_characters():
    user = UserFactory(email=SAME["fullwidth"])
    assert user.email == PLAIN
    with pytest.raises(ValidationError):
        UserFactory(email=INVISIBLE["zero-width space"].replace("gia", "other"))


# --- Sign-in and its throttling ---------------------------------------------------------------


def sign_in(client, email, password, url=None, **extra):
    return client.post(url or reverse("login"), {"username": email, "password": password}, **extra)


@pytest.mark.parametrize("spelling", SAME.values(), ids=SAME.keys())
def test_every_visible_spelling_signs_in_to_the_one_account(client, spelling):
    user = UserFactory(email=PLAIN)
    response = sign_in(client, spelling, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("spelling", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_hidden_character_in_the_sign_in_address_is_named_and_no_password_is_checked(
    client, spelling
):
    from axes.models import AccessAttempt

    UserFactory(email=PLAIN)
    response = sign_in(client, spelling, DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert refused_as(spelling)[1] in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
@pytest.mark.parametrize("spelling", [SAME["fullwidth"], SAME["mixed case"]])
def test_failures_in_any_spelling_lock_every_spelling(client, url_name, spelling):
    """The fullwidth bypass: five failures typed one way lock the address typed any way,
    and the right password is not checked while it is locked."""
    StaffFactory(email=PLAIN)
    url = reverse(url_name)
    for _ in range(5):
        sign_in(client, spelling, "wrong password", url=url)
    for attempt in (spelling, PLAIN, SAME["fullwidth"], SAME["mixed case"]):
        response = sign_in(client, attempt, DEFAULT_PASSWORD, url=url)
        assert response.status_code == 429, attempt
        assert "_auth_user_id" not in client.session
    for attempt in INVISIBLE.values():
        sign_in(client, attempt, DEFAULT_PASSWORD, url=url)
        assert "_auth_user_id" not in client.session


def test_guesses_spread_over_many_clients_hit_the_address_ceiling(client, settings):
    """Four guesses each from many client addresses never trip the per-client pause, but the
    address-only ceiling stops them, for every client, and checks no password meanwhile."""
    user = UserFactory(email=PLAIN)
    start = datetime.datetime(2026, 3, 1, 9, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        for n in range(settings.SIGN_IN_ADDRESS_CEILING):
            ip = f"198.51.100.{n // 4}"
            response = sign_in(client, PLAIN, f"guess {n}", REMOTE_ADDR=ip)
            assert response.status_code == 200, n
        fresh = sign_in(client, PLAIN, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.99")
        assert fresh.status_code == 429
        assert "from more than one place" in fresh.content.decode()
        assert "_auth_user_id" not in client.session
        # Another person behind the same office address is not paused.
        UserFactory(email="colleague@example.com")
        ok = sign_in(client, "colleague@example.com", DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.0")
        assert ok.status_code == 302
        client.logout()
    with time_machine.travel(start + datetime.timedelta(hours=25), tick=False):
        later = sign_in(client, PLAIN, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.99")
        assert later.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)


def test_a_new_password_from_the_emailed_link_lifts_the_address_ceiling(client, settings):
    user = UserFactory(email=PLAIN)
    for n in range(settings.SIGN_IN_ADDRESS_CEILING):
        sign_in(client, PLAIN, "guess", REMOTE_ADDR=f"198.51.100.{n // 4}")
    assert sign_in(client, PLAIN, DEFAULT_PASSWORD, REMOTE_ADDR="203.0.113.1").status_code == 429
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, password_tokens.make_token(user)])
    form = client.get(link, follow=True)
    new = "a much longer new secret 42"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert sign_in(client, PLAIN, new, REMOTE_ADDR="203.0.113.1").status_code == 302


# --- Sign-up ----------------------------------------------------------------------------------


def sign_up(client, data, **extra):
    """Post the sign-up form and follow to the page it answers with."""
    return client.post(reverse("sign_up"), data, follow=True, **extra)


def sign_up_data(email, **overrides):
    return {
        "email": email,
        "first_name": "Mallory",
        "last_name": "Mole",
        "password1": "attackers-pass-2026",
        "password2": "attackers-pass-2026",
        "accept_licence": "on",
        **overrides,
    }


@pytest.mark.parametrize("spelling", [*SAME.values(), *INVISIBLE.values()])
def test_sign_up_never_makes_a_second_account_for_one_address(client, spelling):
    pat = UserFactory(email=PLAIN, first_name="Gia")
    response = sign_up(client, sign_up_data(spelling))
    assert response.status_code == 200
    assert User.objects.count() == 1
    pat.refresh_from_db()
    assert pat.check_password(DEFAULT_PASSWORD)
    html = response.content.decode()
    if spelling in INVISIBLE.values():
        assert refused_as(spelling)[1] in html  # named next to the field
        assert mail.outbox == []
    else:
        assert "Check your email" in html
        assert [m.to for m in mail.outbox] == [[PLAIN]]
        assert "already has an account" in mail.outbox[0].body


@pytest.mark.parametrize("state", ["pending", "invited", "active", "deactivated"])
def test_a_second_sign_up_changes_nothing_and_tells_the_owner(client, state):
    owner = UserFactory(email=PLAIN, state=state, first_name="Gia")
    before = User.objects.values().get(pk=owner.pk)
    response = sign_up(client, sign_up_data(SAME["mixed case"]))
    assert "Check your email" in response.content.decode()
    assert User.objects.values().get(pk=owner.pk) == before  # password, names, state
    (message,) = mail.outbox
    assert message.to == [PLAIN]
    assert message.subject == "Someone tried to sign up to CSPO Tracker with your address"
    assert "Mallory" not in message.body  # nothing the visitor typed reaches the owner
    assert ("does not reactivate it" in message.body) == (state == "deactivated")


def test_sign_up_hashes_a_password_whether_or_not_the_address_is_known(client, settings):
    """Same work in both branches, so the answer's timing tells nothing."""
    from tests.hashers import CountingHasher

    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    UserFactory(email=PLAIN)
    counts = {}
    for label, email in (("known", SAME["fullwidth"]), ("new", "someone.new@example.com")):
        CountingHasher.calls = 0
        response = sign_up(client, sign_up_data(email))
        assert response.status_code == 200
        counts[label] = CountingHasher.calls
    assert counts["known"] == counts["new"] >= 1


def test_signing_up_a_known_address_in_fullwidth_is_not_a_server_error(client):
    UserFactory(email=PLAIN)
    response = sign_up(client, sign_up_data(SAME["fullwidth"]))
    assert response.status_code == 200


def test_the_confirmation_link_alone_neither_activates_nor_signs_in(client):
    """Pre-registering someone's address: the owner clicking the link does not hand the
    attacker's password an active account."""
    sign_up(client, sign_up_data(PLAIN))
    link = re.search(r"http://testserver(\S+/confirm/\S+/)", mail.outbox[-1].body).group(1)
    assert client.get(link).status_code == 200
    assert client.post(link, {}).status_code == 200
    assert client.post(link, {"password": "owner-does-not-know-it"}).status_code == 200
    user = User.objects.get(email=PLAIN)
    assert user.state == User.State.PENDING
    assert "_auth_user_id" not in client.session


def test_a_name_with_a_link_is_refused_at_sign_up_and_sign_up_emails_quote_no_name(client):
    phishing = sign_up_data("victim@example.com", first_name="Pat. Verify at http://evil.test")
    response = sign_up(client, phishing)
    assert "cannot contain a web or email address" in response.content.decode()
    assert mail.outbox == []
    sign_up(client, sign_up_data("victim@example.com", first_name="Mallory"))
    (message,) = mail.outbox
    assert "Mallory" not in message.body
    assert "Mallory" not in message.alternatives[0][0]


def test_passwords_shorter_than_12_characters_are_refused(client):
    response = sign_up(
        client, sign_up_data("new@example.com", password1="Tr0ub4dor&3", password2="Tr0ub4dor&3")
    )
    assert "at least 12 characters" in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_emails_are_limited_per_address_and_per_client(client):
    for _ in range(3):
        assert sign_up(client, sign_up_data(PLAIN)).status_code == 200
    refused = sign_up(client, sign_up_data(SAME["fullwidth"]))
    assert refused.status_code == 429
    assert len(mail.outbox) == 3
    for n in range(7):
        sign_up(client, sign_up_data(f"other{n}@example.com"))
    assert sign_up(client, sign_up_data("one.more@example.com")).status_code == 429
    elsewhere = sign_up(client, sign_up_data("one.more@example.com"), REMOTE_ADDR="203.0.113.8")
    assert elsewhere.status_code == 200


# --- Password reset ---------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", SAME.values(), ids=SAME.keys())
def test_a_reset_asked_in_any_spelling_goes_to_the_one_account(client, spelling):
    UserFactory(email=PLAIN)
    client.post(reverse("password_reset"), {"email": spelling})
    assert [m.to for m in mail.outbox] == [[PLAIN]]


@pytest.mark.parametrize("spelling", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_a_reset_for_a_hidden_spelling_is_named_and_sends_nothing(client, spelling):
    UserFactory(email=PLAIN)
    response = client.post(reverse("password_reset"), {"email": spelling})
    assert response.status_code == 200
    assert refused_as(spelling)[1] in response.content.decode()
    assert mail.outbox == []


def test_reset_emails_are_limited_per_address(client):
    UserFactory(email=PLAIN)
    for spelling in (PLAIN, SAME["fullwidth"], SAME["mixed case"]):
        assert client.post(reverse("password_reset"), {"email": spelling}).status_code == 302
    assert client.post(reverse("password_reset"), {"email": PLAIN}).status_code == 429
    assert len(mail.outbox) == 3


def test_a_deactivated_account_gets_no_reset_and_an_old_reset_link_does_not_reopen_it(client):
    user = UserFactory(email=PLAIN)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, password_tokens.make_token(user)])
    user_deactivate(user=user)
    client.post(reverse("password_reset"), {"email": PLAIN})
    assert mail.outbox == []
    assert "no longer works" in client.get(link, follow=True).content.decode()
    user.refresh_from_db()
    assert user.state == User.State.DEACTIVATED


def test_a_reset_link_proves_the_mailbox_and_activates_a_pending_or_invited_account(client):
    for state in ("pending", "invited"):
        user = UserFactory(email=f"{state}@example.com", state=state)
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        link = reverse("password_reset_confirm", args=[uid, password_tokens.make_token(user)])
        form = client.get(link, follow=True)
        new = "the owner's own pass 2026"
        client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
        user.refresh_from_db()
        assert (user.state, user.check_password(new)) == (User.State.ACTIVE, True)


# --- Invitations ------------------------------------------------------------------------------


def test_an_outstanding_invitation_link_does_not_reopen_a_deactivated_account(client):
    user = User.objects.create_user(PLAIN, first_name="Gia")
    holder_invite(holder=user)
    link = re.search(r"http://testserver(\S+/invitation/\S+/)", mail.outbox[-1].body).group(1)
    user_deactivate(user=user)
    assert client.get(link).status_code == 400
    response = client.post(
        link, {"new_password1": "x-long-pass-2026", "new_password2": "x-long-pass-2026"}
    )
    assert response.status_code == 400
    user.refresh_from_db()
    assert (user.state, user.has_usable_password()) == (User.State.DEACTIVATED, False)


def test_invitation_emails_are_limited_per_address(client):
    user = User.objects.create_user(PLAIN)
    client.force_login(staff_in("registrar"))
    for _ in range(4):
        client.post(
            reverse("admin:credentials_user_changelist"),
            {"action": "send_invitation", "_selected_action": [user.pk]},
        )
    assert len(mail.outbox) == 3
    with pytest.raises(ValidationError):  # only an invited account gets an invitation
        holder_invite(holder=UserFactory(email="active@example.com"))


def test_only_staff_reactivate_an_account(client):
    user = UserFactory(email=PLAIN)
    user_deactivate(user=user)
    sign_up(client, sign_up_data(PLAIN))
    holder_sign_up(email=PLAIN, first_name="A", last_name="B", password="another-pass-2026")
    user.refresh_from_db()
    assert user.state == User.State.DEACTIVATED
    client.force_login(staff_in("registrar"))
    client.post(
        reverse("admin:credentials_user_changelist"),
        {"action": "reactivate", "_selected_action": [user.pk]},
    )
    user.refresh_from_db()
    assert (user.state, user.is_active) == (User.State.ACTIVE, True)


# --- Roster import ----------------------------------------------------------------------------

ROSTER_HEADER = (
    "email,first_name,last_name,course_code,program,start_date,end_date,hours_attended,completed"
)


def roster(*emails) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_HEADER.split(","))
    for email in emails:
        writer.writerow(
            [email, "Gia", "Grace", "C-1", "CSPO", "2025-03-03", "2025-03-04", "16", "yes"]
        )
    return out.getvalue().encode()


@pytest.mark.parametrize("spelling", SAME.values(), ids=SAME.keys())
def test_a_roster_row_in_another_spelling_is_the_existing_holder(spelling):
    UserFactory(email=PLAIN)
    report = roster_check(roster(spelling))
    assert report.errors == []
    assert report.rows[0].email == PLAIN
    assert report.totals["new_holders"] == 0


# A roster cell loses the invisible characters around its text, as it loses spaces (pasted
# from a web page): what is left is the address. Inside the address they are refused.
AROUND = ("zero-width space", "byte-order mark")


@pytest.mark.parametrize("name", AROUND)
def test_a_roster_address_with_invisible_characters_around_it_is_the_existing_holder(name):
    UserFactory(email=PLAIN)
    report = roster_check(roster(INVISIBLE[name]))
    assert report.errors == []
    assert report.totals["new_holders"] == 0


@pytest.mark.parametrize(
    "spelling",
    [spelling for name, spelling in INVISIBLE.items() if name not in AROUND],
    ids=[name for name in INVISIBLE if name not in AROUND],
)
def test_a_roster_row_with_a_hidden_character_is_a_row_error(spelling):
    UserFactory(email=PLAIN)
    report = roster_check(roster(spelling))
    ((line, column, message),) = [(e.line, e.column, e.message) for e in report.errors]
    assert (line, column) == (2, "email")
    assert refused_as(spelling)[1] in message


def test_a_roster_never_changes_a_staff_or_deactivated_account():
    StaffFactory(email="trainer@example.com", first_name="Tess")
    closed = UserFactory(email="closed@example.com")
    user_deactivate(user=closed)
    report = roster_check(roster("Trainer@example.com", "closed@example.com"))
    assert [(e.line, e.column) for e in report.errors] == [(2, "email"), (3, "email")]
    assert "staff account" in report.errors[0].message
    assert "deactivated" in report.errors[1].message


def test_a_roster_name_carrying_a_link_is_a_row_error():
    row = "new@example.com,Visit www.evil.test,Grace,C-1,CSPO,2025-03-03,2025-03-04,16,yes"
    data = f"{ROSTER_HEADER}\n{row}\n".encode()
    report = roster_check(data)
    assert [(e.line, e.column) for e in report.errors] == [(2, "first_name")]


# --- Changing an address ----------------------------------------------------------------------


def change_email(client, user, new_email):
    from django.forms.models import model_to_dict

    data = {
        key: value
        for key, value in model_to_dict(user).items()
        if value is not None and key not in ("password", "groups", "user_permissions")
    }
    data.update({"email": new_email, "password": user.password})
    for prefix in ("credentials", "memberships", "entries"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return client.post(reverse("admin:credentials_user_change", args=[user.pk]), data)


def link_in(message, path: str) -> str:
    return re.search(rf"http://testserver({path}\S+/)", message.body).group(1)


def test_a_registrar_cannot_move_a_holder_to_another_address(client):
    """Moving an account to another address hands it to whoever holds that mailbox."""
    holder = UserFactory(email=PLAIN, first_name="Gia")
    client.force_login(staff_in("registrar"))
    page = client.get(reverse("admin:credentials_user_change", args=[holder.pk]))
    assert 'name="email"' not in page.content.decode()
    response = change_email(client, holder, "registrar-controlled@evil.example")
    assert response.status_code == 302
    holder.refresh_from_db()
    assert (holder.email, holder.pending_email) == (PLAIN, "")
    assert mail.outbox == []


def test_an_email_change_in_the_admin_waits_for_the_new_address_and_the_old_can_stop_it(
    client, django_capture_on_commit_callbacks
):
    holder = UserFactory(email=PLAIN, first_name="Gia")
    client.force_login(StaffFactory(is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = change_email(client, holder, "Gia.New@Example.org")
    assert response.status_code == 302
    holder.refresh_from_db()
    assert (holder.email, holder.pending_email) == (PLAIN, "gia.new@example.org")
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == [PLAIN, "gia.new@example.org"]
    notice = next(m for m in mail.outbox if m.to == [PLAIN])
    assert "reply" not in notice.body
    # A password reset asked now still goes to the old address only.
    client.logout()
    client.post(reverse("password_reset"), {"email": "gia.new@example.org"})
    assert len(mail.outbox) == 2
    # The old address stops it: opening the link changes nothing, its button does.
    cancel = link_in(notice, "/accounts/email/cancel/")
    assert client.get(cancel).status_code == 200
    holder.refresh_from_db()
    assert holder.pending_email == "gia.new@example.org"
    client.post(cancel, {})
    holder.refresh_from_db()
    assert (holder.email, holder.pending_email) == (PLAIN, "")
    confirm = link_in(next(m for m in mail.outbox if m.to != [PLAIN]), "/accounts/email/confirm/")
    assert client.get(confirm).status_code == 400  # cancelled: the confirmation is dead too


def test_a_confirmed_email_change_moves_the_account_and_tells_the_old_address(client):
    holder = UserFactory(email=PLAIN, first_name="Gia")
    client.force_login(StaffFactory(is_superuser=True))
    change_email(client, holder, "gia.new@example.org")
    confirm = link_in(mail.outbox[0], "/accounts/email/confirm/")
    client.logout()
    assert client.get(confirm).status_code == 200
    holder.refresh_from_db()
    assert holder.email == PLAIN  # opening the link changes nothing
    client.post(confirm, {})
    holder.refresh_from_db()
    assert (holder.email, holder.pending_email) == ("gia.new@example.org", "")
    done = mail.outbox[-1]
    assert (done.to, done.subject) == ([PLAIN], "Your CSPO Tracker address has changed")
    page = client.get(confirm)
    assert page.status_code == 400  # spent
    assert "sign in with the new address" in page.content.decode()


@pytest.mark.parametrize(
    "spelling", [SAME["fullwidth"], *INVISIBLE.values(), *IDN_SPELLINGS.values()]
)
def test_the_admin_refuses_another_spelling_of_a_taken_address(client, spelling):
    taken = IDN if spelling in IDN_SPELLINGS.values() else PLAIN
    UserFactory(email=taken)
    other = UserFactory(email="other@example.com")
    client.force_login(StaffFactory(is_superuser=True))
    response = change_email(client, other, spelling)
    assert response.status_code == 200
    other.refresh_from_db()
    assert (other.email, other.pending_email) == ("other@example.com", "")
    assert mail.outbox == []
    assert "other@example.com" in response.content.decode().split("<h2")[0]  # the title


def test_a_holder_changes_their_own_address_with_their_password(client):
    holder = UserFactory(email=PLAIN, first_name="Gia")
    licence_accept(user=holder)
    client.force_login(holder)
    url = reverse("account_profile")
    data = {"first_name": "Gia", "last_name": "Grace", "email": "gia@new.example"}
    refused = client.post(url, data)
    assert "Enter your current password" in refused.content.decode()
    response = client.post(url, {**data, "current_password": DEFAULT_PASSWORD}, follow=True)
    assert "your address changes when you follow it" in response.content.decode()
    holder.refresh_from_db()
    assert (holder.email, holder.pending_email, holder.last_name) == (
        PLAIN,
        "gia@new.example",
        "Grace",
    )


def test_a_deactivated_account_cannot_change_address_and_deactivating_drops_a_waiting_one():
    holder = UserFactory(email=PLAIN)
    email_change_request(user=holder, new_email="gia@new.example")
    user_deactivate(user=holder)
    holder.refresh_from_db()
    assert holder.pending_email == ""
    with pytest.raises(ValidationError) as refused:
        email_change_request(user=holder, new_email="gia@other.example")
    assert "email" in refused.value.message_dict


def test_the_admin_adds_a_person_under_the_canonical_address_only_once(admin_client):
    UserFactory(email=PLAIN)
    response = admin_client.post(
        reverse("admin:credentials_user_add"),
        {
            "email": SAME["fullwidth"],
            "password1": "a-strong-pass-4-admin",
            "password2": "a-strong-pass-4-admin",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(email=PLAIN).count() == 1
    assert "Someone already signs in with this email address." in response.content.decode()


# --- What a review and an attack found ---------------------------------------------------------


@pytest.mark.parametrize("spelling", IDN_SPELLINGS.values(), ids=IDN_SPELLINGS.keys())
def test_an_internationalised_domain_is_one_address_on_every_path(client, spelling):
    user = UserFactory(email=IDN)
    assert sign_in(client, spelling, DEFAULT_PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    sign_up(client, sign_up_data(spelling))
    assert User.objects.count() == 1
    client.post(reverse("password_reset"), {"email": spelling})
    assert [m.to for m in mail.outbox] == [[IDN], [IDN]]  # the "someone tried" note, the link
    assert roster_check(roster(spelling)).rows[0].email == IDN


def test_one_client_cannot_pause_an_address_for_everyone(client, settings):
    """Attempts refused while a client is locked out do not count toward the address-wide
    ceiling: only guesses that were checked do."""
    UserFactory(email=PLAIN)
    for n in range(settings.SIGN_IN_ADDRESS_CEILING):
        sign_in(client, PLAIN, f"guess {n}", REMOTE_ADDR="10.50.0.1")
    elsewhere = sign_in(client, PLAIN, DEFAULT_PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("state", ["pending", "deactivated"])
def test_the_right_password_for_an_account_that_cannot_sign_in_says_why(client, state):
    UserFactory(email=PLAIN, state=state)
    right = sign_in(client, PLAIN, DEFAULT_PASSWORD).content.decode()
    expected = "not confirmed yet" if state == "pending" else "Staff deactivated this account"
    assert expected in right
    wrong = sign_in(client, PLAIN, "not the password").content.decode()
    assert expected not in wrong
    assert "do not match an active account" in wrong
    for _ in range(4):
        sign_in(client, PLAIN, "not the password")
    locked = sign_in(client, PLAIN, DEFAULT_PASSWORD)
    assert locked.status_code == 429
    assert expected not in locked.content.decode()


def test_links_voided_by_deactivation_stay_void_after_reactivation(client):
    invited = User.objects.create_user("ivy@example.com")
    active = UserFactory(email=PLAIN)
    links = [
        reverse(
            "invitation_accept",
            args=[
                urlsafe_base64_encode(force_bytes(invited.pk)),
                invitation_tokens.make_token(invited),
            ],
        ),
        reverse(
            "password_reset_confirm",
            args=[
                urlsafe_base64_encode(force_bytes(active.pk)),
                password_tokens.make_token(active),
            ],
        ),
    ]
    with time_machine.travel(datetime.datetime(2026, 5, 1, 9, tzinfo=datetime.UTC), tick=False):
        for user in (invited, active):
            user_deactivate(user=user)
    with time_machine.travel(datetime.datetime(2026, 5, 1, 10, tzinfo=datetime.UTC), tick=False):
        for user in (invited, active):
            user_reactivate(user=user)
    assert client.get(links[0]).status_code == 400
    assert "no longer works" in client.get(links[1], follow=True).content.decode()


def test_reactivating_restores_the_state_before_deactivation():
    pending = UserFactory(email="pen@example.com", state="pending")
    invited = User.objects.create_user("ivy@example.com")
    for user in (pending, invited):
        user_deactivate(user=user)
        user_reactivate(user=user)
        user.refresh_from_db()
    assert (pending.state, invited.state) == ("pending", "invited")


def test_the_sign_up_service_refuses_names_with_links_whoever_calls_it():
    with pytest.raises(ValidationError) as refused:
        holder_sign_up(
            email="new@example.com",
            first_name="Visit http://evil.test",
            last_name="X",
            password="a-long-pass-2026",
        )
    assert "first_name" in refused.value.message_dict
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["evil\u200b.com", "evil\u3002com", "evil\uff61com", "Pat\u200f", "Pat\u2028Line", "ㅤ"],
)
def test_names_that_hide_a_link_or_a_character_are_refused(name):
    with pytest.raises(ValidationError):
        validate_person_name(name)


def test_a_password_link_that_takes_over_a_pending_sign_up_drops_the_names_it_was_given(client):
    sign_up(client, sign_up_data(PLAIN, first_name="Mallory", last_name="Pre"))
    user = User.objects.get(email=PLAIN)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, password_tokens.make_token(user)])
    form = client.get(link, follow=True)
    new = "the owner's own pass 2026"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    user.refresh_from_db()
    assert (user.state, user.first_name, user.last_name) == ("active", "", "")


def test_reloading_the_sign_up_answer_sends_nothing_again(client):
    response = sign_up(client, sign_up_data(PLAIN))
    assert response.redirect_chain[-1][0] == reverse("sign_up_sent")
    assert PLAIN in response.content.decode()
    client.get(reverse("sign_up_sent"))
    assert len(mail.outbox) == 1


def test_a_password_link_request_hands_one_job_to_a_worker_whatever_the_address(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The request never sends mail itself, so its timing says nothing about the address."""
    from credentials import tasks

    settings.ACCOUNT_EMAILS_FROM_WORKER = True
    queued = []
    monkeypatch.setattr(tasks.password_link_task, "delay", queued.append)
    UserFactory(email=PLAIN)
    for address in (PLAIN, "nobody@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("password_reset"), {"email": address})
        assert response.status_code == 302
    assert queued == [PLAIN, "nobody@example.com"]
    assert mail.outbox == []
    assert tasks.password_link_task(PLAIN) == 1  # what the worker then does
    assert tasks.password_link_task("nobody@example.com") == 0
    assert [m.to for m in mail.outbox] == [[PLAIN]]
