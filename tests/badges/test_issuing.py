"""Issuing Open Badges 3.0 credentials: the document, its signature (checked by our code and by
an independent implementation in Node.js), its status bits, and keys that rotate."""

import base64
import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings

from badges import bitstring, documents, keys, securing
from badges.models import STATUS_LIST_SIZE, IssuedBadge
from badges.selectors import credential_check, status_list_token
from badges.services import NotIssuable, badge_issue, status_refresh, subject_set
from credentials.models import Course, Program
from credentials.services import credential_issue, credential_revoke
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db


def issue(code="CSPO", on=datetime.date(2025, 1, 10), **holder):
    holder = UserFactory(first_name="Ada", last_name="Lovelace", **holder)
    return credential_issue(holder=holder, program=program(code), issued_on=on)


def opened(badge):
    return securing.open_signed(badge.jwt).document


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_the_credential_is_an_open_badge_of_the_term():
    course = Course.objects.create(
        code="C-1",
        title="CSPO in Berlin",
        program=program("CSPO"),
        trainer="Grace Hopper",
        start_date=datetime.date(2025, 1, 8),
        end_date=datetime.date(2025, 1, 10),
        hours=Decimal(16),
    )
    credential = issue()
    credential.source_course = course
    credential.save()
    badge = badge_issue(credential.terms.get())
    document = opened(badge)
    assert document["@context"] == [documents.VC_CONTEXT, documents.OB_CONTEXT]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"urn:uuid:{badge.badge_id}"
    assert document["issuer"]["id"] == "did:web:testserver"
    # Days on Scrum Alliance's calendar (America/Denver, UTC-7 in January).
    assert credential.program.time_zone == "America/Denver"
    assert document["validFrom"] == "2025-01-10T07:00:00Z"
    # CSPO's term ends 10 Jan 2027; Scrum Alliance keeps it valid through its grace days,
    # until the end of the last one in Denver.
    grace = credential.program.grace_days
    assert document["validUntil"] == (
        f"{datetime.date(2027, 1, 11) + datetime.timedelta(days=grace)}T06:59:59Z"
    )
    subject = document["credentialSubject"]
    assert "id" not in subject
    email_id, name_id = subject["identifier"]
    assert email_id["identityHash"] == documents.identity_hash(
        credential.holder.email, email_id["salt"]
    )
    assert email_id["hashed"] is True
    assert len(email_id["salt"]) == 32
    assert credential.holder.email not in badge.jwt.split(".")[1]
    assert name_id == {
        "type": "IdentityObject",
        "identityHash": "Ada Lovelace",
        "identityType": "name",
        "hashed": False,
    }
    achievement = subject["achievement"]
    assert achievement["humanCode"] == "CSPO"
    assert achievement["creator"]["name"] == "Scrum Alliance"
    assert "20 SEU" in achievement["criteria"]["narrative"]
    assert document["evidence"][0]["name"] == "CSPO in Berlin"
    assert "16 hours" in document["evidence"][0]["description"]
    assert [entry["statusPurpose"] for entry in document["credentialStatus"]] == [
        "revocation",
        "suspension",
    ]
    header = json.loads(base64.urlsafe_b64decode(badge.jwt.split(".")[0] + "=="))
    assert header == {
        "alg": "ES256",
        "typ": "vc+jwt",
        "kid": f"did:web:testserver#{keys.signing_key().kid}",
    }


def test_a_holders_did_names_them_in_credentials_issued_after():
    credential = issue()
    before = badge_issue(credential.terms.get())
    subject_set(
        holder=credential.holder, did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    )
    after = badge_issue(credential.terms.get())
    assert after.pk != before.pk
    assert opened(after)["credentialSubject"]["id"].startswith("did:key:z6Mk")
    assert "id" not in opened(before)["credentialSubject"]
    assert badge_issue(credential.terms.get()).pk == after.pk  # issued once per subject


@pytest.mark.parametrize(
    "bad", ["z6Mk", "did:", "did:key", "did:KEY:x", "did:web:a b", "did:key:" + "z" * 600]
)
def test_a_did_that_is_not_one_is_refused_naming_the_field(bad):
    from django.core.exceptions import ValidationError

    from badges.models import BadgeSubject

    credential = issue()
    with pytest.raises(ValidationError) as refused:
        subject_set(holder=credential.holder, did=bad)
    assert "did" in refused.value.message_dict
    assert not BadgeSubject.objects.exists()  # nothing stored


def test_unverified_and_revoked_credentials_get_none():
    credential = issue()
    credential.verified = False
    credential.save()
    with pytest.raises(NotIssuable, match="not verified"):
        badge_issue(credential.terms.get())
    credential.verified = True
    credential.save()
    credential_revoke(credential=credential, reason="Issued in error", by=None)
    with pytest.raises(NotIssuable, match="revoked"):
        badge_issue(credential.terms.get())


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_our_check_passes_a_genuine_credential_and_fails_a_tampered_one():
    badge = badge_issue(issue().terms.get())
    good = credential_check(badge.jwt)
    assert good.ok, good.problems
    assert good.signature_ok
    assert good.recorded
    assert good.revoked is False
    header, payload, signature = badge.jwt.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["validUntil"] = "2099-12-31T23:59:59Z"
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    tampered = credential_check(f"{header}.{forged}.{signature}")
    assert not tampered.ok
    assert not tampered.signature_ok
    assert tampered.problems == ["The signature does not match: the credential was changed."]


def test_the_check_says_when_a_credential_is_not_valid_yet_or_expired():
    with time_machine.travel(datetime.datetime(2025, 6, 2, 12, tzinfo=datetime.UTC), tick=False):
        badge = badge_issue(issue(on=datetime.date(2025, 6, 2)).terms.get())
    with time_machine.travel(datetime.datetime(2025, 6, 1, 23, tzinfo=datetime.UTC), tick=False):
        early = credential_check(badge.jwt)
    assert early.problems == ["Not valid yet: valid from 2 Jun 2025."]
    with time_machine.travel(datetime.datetime(2027, 9, 1, tzinfo=datetime.UTC), tick=False):
        late = credential_check(badge.jwt)
    # CSPO ends 2 Jun 2027; the suspension bit was set by the daily job only, not here.
    assert late.problems == ["Expired: it was valid through 2 Jun 2027."]
    assert late.signature_ok
    assert not late.ok


def test_a_credential_signed_by_another_key_is_not_ours():
    badge = badge_issue(issue().terms.get())
    stranger = keys.key_new()
    token = securing.jws.serialize_compact(
        {"alg": "ES256", "typ": "vc+jwt", "kid": f"did:web:testserver#{stranger.kid}"},
        securing.open_signed(badge.jwt).document.__repr__().encode(),
        stranger,
        algorithms=["ES256"],
    )
    assert credential_check(token).problems == [
        "The credential names a signing key this site never published."
    ]


@time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_an_independent_implementation_verifies_ours_and_refuses_a_tampered_one(
    node_verifier, tmp_path
):
    """panva's jose in Node.js, with only what we publish: the JWKS and the status lists."""
    badge = badge_issue(issue().terms.get())
    lists = [status_list_token(purpose, badge.status_list) for purpose in documents.PURPOSES]
    code, result = node_verifier(keys.public_jwks(), badge.jwt, lists, tmp=tmp_path)
    assert code == 0, result
    assert result["credential"]["id"] == f"urn:uuid:{badge.badge_id}"
    assert result["status"] == {"revocation": False, "suspension": False}
    # The same with the key found through the did:web document, as a wallet resolves it.
    did_document = documents.did_document(keys.public_jwks()["keys"])
    assert node_verifier(did_document, badge.jwt, lists, tmp=tmp_path)[0] == 0
    # Checked in 2027, after its validUntil (exp), it fails there.
    code, result = node_verifier(
        keys.public_jwks(), badge.jwt, lists, now="2027-02-01T00:00:00Z", tmp=tmp_path
    )
    assert code == 1
    assert result["errors"] == ['"exp" claim timestamp check failed']

    header, payload, signature = badge.jwt.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["credentialSubject"]["achievement"]["name"] = "Certified Scrum Trainer"
    forged = base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")
    code, result = node_verifier(
        keys.public_jwks(), f"{header}.{forged}.{signature}", lists, tmp=tmp_path
    )
    assert code == 1
    assert result["errors"] == ["signature verification failed"]

    # A revoked credential verifies as signed, and fails there on its published bit.
    credential_revoke(credential=badge.credential, reason="Issued in error", by=None)
    status_refresh(credential_ids=[badge.credential_id])
    lists = [status_list_token(purpose, badge.status_list) for purpose in documents.PURPOSES]
    code, result = node_verifier(keys.public_jwks(), badge.jwt, lists, tmp=tmp_path)
    assert code == 1
    assert result["status"] == {"revocation": True, "suspension": False}


def test_rotated_keys_still_verify_what_they_signed(tmp_path):
    path = tmp_path / "keys.json"
    old = keys.key_new()
    keys.key_file_write([old], path)
    with override_settings(BADGE_KEYS_FILE=path, BADGE_SIGNING_KEYS=""):
        first = badge_issue(issue().terms.get())
        new = keys.key_rotate(path)
        assert keys.signing_key().kid == new.kid
        assert [key["kid"] for key in keys.public_jwks()["keys"]] == [new.kid, old.kid]
        second = badge_issue(issue(code="PSPO I").terms.get())
        assert first.key_id == old.kid
        assert second.key_id == new.kid
        assert securing.open_signed(first.jwt).kid == old.kid
        assert securing.open_signed(second.jwt).kid == new.kid
    keys._cache.clear()


def test_keys_come_from_the_setting_before_the_file(tmp_path):
    key = keys.key_new()
    text = json.dumps({"keys": [key.as_dict(private=True)]})
    with override_settings(BADGE_SIGNING_KEYS=text, BADGE_KEYS_FILE=tmp_path / "none.json"):
        assert keys.signing_key().kid == key.kid
    with (
        override_settings(BADGE_SIGNING_KEYS="", BADGE_KEYS_FILE=tmp_path / "none.json"),
        pytest.raises(keys.KeysMissing, match="badge_keys generate"),
    ):
        keys.signing_key()
    public_only = json.dumps({"keys": [key.as_dict(private=False)]})
    with (
        override_settings(BADGE_SIGNING_KEYS=public_only),
        pytest.raises(keys.ImproperlyConfigured, match="private part"),
    ):
        keys.signing_key()
    keys._cache.clear()


def test_the_bitstring_encoding_is_the_w3c_one():
    # Bit 0 is the left-most bit of the first byte; the list is GZIP, base64url, prefix "u".
    encoded = bitstring.encode([0, 9, STATUS_LIST_SIZE - 1])
    raw = bitstring.decode(encoded)
    assert len(raw) == STATUS_LIST_SIZE // 8
    assert raw[0] == 0x80
    assert raw[1] == 0x40
    assert raw[-1] == 0x01
    assert encoded.startswith("u")
    assert "=" not in encoded
    with pytest.raises(ValueError, match="outside a list"):
        bitstring.encode([STATUS_LIST_SIZE])


def test_two_credentials_never_share_a_bit():
    badges = [badge_issue(issue(code=code).terms.get()) for code in ("CSPO", "CSM", "PSPO I")]
    assert len({(b.status_list, b.status_index) for b in badges}) == 3


def contexts_loader():
    folder = Path(documents.__file__).parent / "contexts"
    known = {
        documents.VC_CONTEXT: folder / "credentials-v2.jsonld",
        documents.OB_CONTEXT: folder / "ob-v3p0-context-3.0.3.json",
    }

    def load(url, options=None):
        if url not in known:
            raise AssertionError(f"would fetch {url}")
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": json.loads(known[url].read_text()),
        }

    return load


def properties(node, expanded: bool) -> int:
    """How many properties a JSON-LD node has, nested ones included: in the compact document
    every key but @context, id and type; in the expanded one every key that is an IRI."""
    if isinstance(node, list):
        return sum(properties(item, expanded) for item in node)
    if not isinstance(node, dict):
        return 0
    count = 0
    for key, value in node.items():
        if expanded and key.startswith("http"):
            count += 1
            assert "issuer-dependent" not in key, f"{key}: a term no context defines"
        elif not expanded and key not in ("@context", "id", "type"):
            count += 1
        count += properties(value, expanded)
    return count


def expand(document):
    from pyld import jsonld

    return jsonld.expand(document, {"documentLoader": contexts_loader()})


def test_every_term_of_the_credential_is_defined_by_the_shipped_contexts():
    """Expanded with the contexts shipped with the app (nothing fetched): JSON-LD drops a
    property no context defines (or files it under the VC context's issuer-dependent
    vocabulary), so every property must come through as a defined IRI."""
    badge = badge_issue(issue().terms.get())
    for signed in (
        opened(badge),
        securing.open_signed(status_list_token("revocation", 1)).document,
    ):
        # The JWT's registered claims (iss, jti...) sit beside the credential, outside JSON-LD.
        document = {k: v for k, v in signed.items() if k not in documents.JWT_CLAIMS}
        assert properties(expand(document), True) == properties(document, False)
    # The check catches a term no context defines.
    made_up = {**opened(badge), "madeUpTerm": 1}
    with pytest.raises(AssertionError):
        assert properties(expand(made_up), True) == properties(made_up, False)


@pytest.mark.django_db(transaction=True)
def test_two_requests_issuing_at_once_make_one_credential(reference_data):
    """Two processes open the share page of a new term at the same moment: one credential."""
    import threading

    from django.db import connection

    term = issue().terms.get()
    barrier = threading.Barrier(2)
    issued, errors = [], []

    def open_share_page():
        try:
            barrier.wait()
            issued.append(badge_issue(term).pk)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_share_page) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(issued)) == 1
    assert IssuedBadge.objects.count() == 1


@pytest.mark.parametrize(
    ("site", "did"),
    [
        ("https://cspo.example.com", "did:web:cspo.example.com"),
        ("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000"),
        ("https://cspo.example.com/", "did:web:cspo.example.com"),
    ],
)
def test_the_issuer_did_is_the_sites_host_and_port(site, did):
    with override_settings(SITE_URL=site):
        assert securing.issuer_did() == did


@pytest.mark.parametrize(
    ("zone", "valid_from", "valid_until"),
    [
        ("UTC", "2024-02-29T00:00:00Z", "2026-02-28T23:59:59Z"),
        # Validity is decided on the issuer's calendar (Program.time_zone), wherever the site
        # is: its days start and end there.
        ("America/Los_Angeles", "2024-02-29T08:00:00Z", "2026-03-01T07:59:59Z"),
        ("Pacific/Kiritimati", "2024-02-28T10:00:00Z", "2026-02-28T09:59:59Z"),
    ],
)
def test_a_feb_29_term_is_valid_from_its_first_to_its_last_day_in_the_issuers_zone(
    zone, valid_from, valid_until
):
    Program.objects.filter(code="CSPO").update(time_zone=zone)
    with override_settings(TIME_ZONE="Asia/Tokyo"):  # the site's zone plays no part
        with time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC)):
            badge = badge_issue(issue(on=datetime.date(2024, 2, 29)).terms.get())
        document = opened(badge)
    assert (document["validFrom"], document["validUntil"]) == (valid_from, valid_until)
    assert document["nbf"] == int(datetime.datetime.fromisoformat(valid_from).timestamp())
    assert document["exp"] == int(datetime.datetime.fromisoformat(valid_until).timestamp())
    assert document["awardedDate"] == valid_from
    assert (document["iss"], document["jti"]) == ("did:web:testserver", document["id"])
    assert "sub" not in document


def test_the_signature_header_must_be_ours():
    badge = badge_issue(issue().terms.get())
    header, payload, signature = badge.jwt.split(".")
    key = keys.signing_key()

    def signed(head):
        return securing.jws.serialize_compact(
            head, base64.urlsafe_b64decode(payload + "=="), key, algorithms=["ES256"]
        )

    ours = f"did:web:testserver#{key.kid}"
    for head, message in [
        ({"alg": "ES256", "typ": "JWT", "kid": ours}, r"not a vc\+jwt"),
        ({"alg": "ES256", "typ": "vc+jwt"}, "not signed by this site"),
        (
            {"alg": "ES256", "typ": "vc+jwt", "kid": f"did:web:evil.example#{key.kid}"},
            "not signed by this site",
        ),
        (
            {"alg": "ES256", "typ": "vc+jwt", "kid": ours, "jku": "https://evil.example"},
            "header is not the one",
        ),
    ]:
        with pytest.raises(securing.NotOurs, match=message):
            securing.open_signed(signed(head))
    assert securing.open_signed(badge.jwt).kid == key.kid
