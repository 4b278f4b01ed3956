"""The Open Badges pages: the holder's share page and downloads, the public check of a pasted
or uploaded credential, the documents verifiers fetch, and the verification page as data and
as a link preview."""

import datetime
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from badges import documents, images, keys, securing
from badges.models import IssuedBadge
from credentials.accounts import licence_accept
from credentials.services import credential_issue, credential_revoke
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC)


@pytest.fixture
def holder_credential():
    holder = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    licence_accept(user=holder)
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2025, 1, 10)
    )
    credential.certificate_number = "SA-000123"
    credential.save()
    return credential


def text_of(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@time_machine.travel(NOW, tick=False)
def test_the_share_page_links_to_linkedin_with_the_credentials_facts(client, holder_credential):
    client.force_login(holder_credential.holder)
    page = client.get(reverse("badges:share", args=[holder_credential.pk]))
    assert page.status_code == 200
    href = re.search(r'id="linkedin-add" href="([^"]+)"', page.content.decode()).group(1)
    url = urlsplit(href.replace("&amp;", "&"))
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Certified Scrum Product Owner (CSPO)",
        "organizationName": "Scrum Alliance",
        "issueYear": "2025",
        "issueMonth": "1",
        "expirationYear": "2027",
        "expirationMonth": "1",
        "certUrl": f"http://testserver/verify/{holder_credential.verification_code}/",
        "certId": "SA-000123",
    }
    with override_settings(LINKEDIN_ORGANIZATION_ID="1234567"):
        page = client.get(reverse("badges:share", args=[holder_credential.pk]))
    assert "organizationId=1234567" in page.content.decode()
    assert "organizationName" not in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_downloads_hold_the_same_signed_credential(client, holder_credential):
    client.force_login(holder_credential.holder)
    pk = holder_credential.pk
    as_json = client.get(reverse("badges:download", args=[pk, "json"]))
    as_png = client.get(reverse("badges:download", args=[pk, "png"]))
    as_jwt = client.get(reverse("badges:download", args=[pk, "jwt"]))
    badge = IssuedBadge.objects.get()
    assert as_jwt.content.decode() == badge.jwt
    assert as_jwt["Content-Type"] == "application/vc+jwt"
    assert as_json["Content-Disposition"] == 'attachment; filename="CSPO-2025-01-10.json"'
    assert json.loads(as_json.content) == {
        "@context": [documents.VC_CONTEXT],
        "id": f"data:application/vc+jwt,{badge.jwt}",
        "type": "EnvelopedVerifiableCredential",
    }
    image = Image.open(io.BytesIO(as_png.content))
    assert image.format == "PNG"
    assert image.size == (400, 400)
    assert image.text[images.KEYWORD] == badge.jwt
    assert images.unbake(as_png.content) == badge.jwt
    assert client.get(reverse("badges:download", args=[pk, "pdf"])).status_code == 404


def test_another_holders_badge_is_404(client, holder_credential):
    client.force_login(UserFactory(email="b@example.com", licence_accepted_at=NOW))
    for url in (
        reverse("badges:share", args=[holder_credential.pk]),
        reverse("badges:download", args=[holder_credential.pk, "png"]),
    ):
        assert client.get(url).status_code == 404
    assert not IssuedBadge.objects.exists()


def test_the_did_form_names_the_field_and_keeps_nothing_on_a_bad_did(client, holder_credential):
    client.force_login(holder_credential.holder)
    url = reverse("badges:share", args=[holder_credential.pk])
    for bad in ("did:key:<script>", 'did:key:a"b', "did:key:a\u202eb", "did:key:::"):
        assert client.post(url, {"did": bad}).status_code == 400, bad
    refused = client.post(url, {"did": "not a did"})
    assert refused.status_code == 400
    assert "Enter a DID such as did:key:z6Mk" in text_of(refused)
    assert "There is 1 problem with your DID" in text_of(refused)
    saved = client.post(url, {"did": "did:web:ada.example"}, follow=True)
    assert "Download your credential again to carry one that names you by that DID" in (
        text_of(saved)
    )
    badge = IssuedBadge.objects.get(subject_did="did:web:ada.example")
    assert securing.open_signed(badge.jwt).document["credentialSubject"]["id"] == (
        "did:web:ada.example"
    )


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("form", ["jwt", "json", "png"])
def test_the_check_page_verifies_a_pasted_or_uploaded_credential(client, holder_credential, form):
    owner = client
    owner.force_login(holder_credential.holder)
    download = owner.get(reverse("badges:download", args=[holder_credential.pk, form])).content
    visitor = type(client)()
    if form == "png":
        data = {"file": SimpleUploadedFile("badge.png", download, content_type="image/png")}
    else:
        data = {"credential": download.decode()}
    page = visitor.post(reverse("badges:check"), data)
    assert page.status_code == 200
    text = text_of(page)
    assert "Verified Genuine and valid today" in text
    assert "Signed by this site" in text
    assert "Neither revoked nor suspended" in text
    assert "Awarded to Ada Lovelace" in text
    assert f"/verify/{holder_credential.verification_code}/" in text


@time_machine.travel(NOW, tick=False)
def test_the_check_page_says_what_is_wrong(client, holder_credential):
    client.force_login(holder_credential.holder)
    token = client.get(reverse("badges:download", args=[holder_credential.pk, "jwt"])).content
    token = token.decode()
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    page = client.post(reverse("badges:check"), {"credential": tampered})
    assert "Not verified Not a genuine credential of this site" in text_of(page)
    assert "The signature does not match" in text_of(page)

    credential_revoke(credential=holder_credential, reason="Fraud", by=None)
    from badges.services import status_refresh

    status_refresh()
    page = client.post(reverse("badges:check"), {"credential": token})
    assert "Not verified Genuine, but not valid today" in text_of(page)
    assert "Revoked: it is no longer valid." in text_of(page)

    for bad, message in [
        ("", "Paste a credential or choose a file."),
        ("hello", "This is neither a signed credential"),
        ('{"type": ["VerifiableCredential"]}', "carries no signature"),
    ]:
        page = client.post(reverse("badges:check"), {"credential": bad})
        assert page.status_code == 400, bad
        assert message in text_of(page)
    not_png = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\nrubbish", content_type="image/png")
    page = client.post(reverse("badges:check"), {"file": not_png})
    assert page.status_code == 400
    assert "The file is not a PNG image that can be read." in text_of(page)
    plain = SimpleUploadedFile("plain.png", images.achievement_png(holder_credential.program))
    page = client.post(reverse("badges:check"), {"file": plain})
    assert "The image has no Open Badges credential baked in." in text_of(page)


def test_documents_for_verifiers(client, holder_credential):
    did = client.get("/.well-known/did.json")
    assert did["Content-Type"] == "application/did+json"
    document = did.json()
    assert document["id"] == "did:web:testserver"
    kid = keys.signing_key().kid
    assert document["assertionMethod"] == [f"did:web:testserver#{kid}"]
    assert document["verificationMethod"][0]["publicKeyJwk"]["kty"] == "EC"
    assert "d" not in document["verificationMethod"][0]["publicKeyJwk"]
    jwks = client.get("/.well-known/jwks.json").json()
    assert [key["kid"] for key in jwks["keys"]] == [kid]
    assert "d" not in jwks["keys"][0]
    listed = client.get(reverse("badges:status_list", args=["suspension", 1]))
    assert listed["Content-Type"] == "application/vc+jwt"
    assert (
        securing.open_signed(listed.content.decode()).document["credentialSubject"]["statusPurpose"]
        == "suspension"
    )
    assert client.get(reverse("badges:status_list", args=["other", 1])).status_code == 404
    achievement = client.get(reverse("badges:achievement", args=["CSPO"])).json()
    assert achievement["achievementType"] == "Certification"
    issuer = client.get(reverse("badges:issuer", args=["pmi"])).json()
    assert issuer["name"] == "PMI"
    png = client.get(reverse("badges:achievement_image", args=["PSPO I"]))
    assert png["Content-Type"] == "image/png"
    assert client.get(reverse("badges:achievement", args=["NOPE"])).status_code == 404


def test_without_keys_pages_still_work_and_say_so(client, holder_credential, tmp_path):
    client.force_login(holder_credential.holder)
    with override_settings(BADGE_SIGNING_KEYS="", BADGE_KEYS_FILE=tmp_path / "none.json"):
        page = client.get(reverse("badges:share", args=[holder_credential.pk]))
        assert "Open Badges are not set up on this site yet" in text_of(page)
        assert client.get("/.well-known/jwks.json").status_code == 404
        assert (
            client.get(reverse("badges:download", args=[holder_credential.pk, "png"])).status_code
            == 404
        )
    keys._cache.clear()


@time_machine.travel(NOW, tick=False)
def test_the_verification_page_previews_and_answers_as_data(client, holder_credential):
    code = holder_credential.verification_code
    page = client.get(reverse("credentials:verify", args=[code])).content.decode()
    assert '<meta property="og:title" content="Ada Lovelace: CSPO, Active">' in page
    assert '<meta name="twitter:card" content="summary">' in page
    assert (
        '<meta property="og:image" content="http://testserver/badges/achievements/CSPO.png">'
        in (page)
    )
    data = client.get(reverse("credentials:verify_json", args=[code])).json()
    assert data["status"] == "active"
    assert data["valid"] is True
    assert data["valid_through"] == "2027-01-10"
    assert data["holder_name"] == "Ada Lovelace"
    assert "email" not in json.dumps(data)
    credential_revoke(credential=holder_credential, reason="Fraud", by=None)
    data = client.get(reverse("credentials:verify_json", args=[code])).json()
    assert (data["status"], data["valid"], data["revoked_on"]) == ("revoked", False, "2025-06-01")
    assert "Fraud" not in json.dumps(data)
    page = text_of(client.get(reverse("credentials:verify", args=[code])))
    assert "Revoked on 1 Jun 2025: it is no longer valid." in page
    assert "Fraud" not in page
    missing = client.get("/verify/00000000-0000-0000-0000-000000000000.json")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_the_check_page_refuses_what_is_too_big_before_reading_it(client):
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (3 * 2**20))
    page = client.post(reverse("badges:check"), {"file": big})
    assert page.status_code == 413
    assert "too large to be one of our credentials" in text_of(page)
    proof = json.dumps({"type": ["VerifiableCredential"], "proof": {"type": "DataIntegrityProof"}})
    page = client.post(reverse("badges:check"), {"credential": proof})
    assert page.status_code == 400
    assert "carries an embedded proof" in text_of(page)


def b64(data) -> str:
    import base64

    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def png_with_chunk(chunk_type: bytes, body: bytes, after_image=True) -> bytes:
    """Our plain badge image with one more chunk, after the image data or before it."""
    import struct
    import zlib

    data = images.achievement_png(program("CSPO"))
    chunk = struct.pack(">I", len(body)) + chunk_type + body
    chunk += struct.pack(">I", zlib.crc32(chunk_type + body))
    at = data.rindex(b"IEND") - 4 if after_image else data.index(b"IDAT") - 4
    return data[:at] + chunk + data[at:]


@time_machine.travel(NOW, tick=False)
def test_crafted_input_on_the_check_page_is_refused_never_a_500(client, holder_credential):
    """Each of these made the public check page answer 500 when an attacker tried them."""
    kid = keys.signing_key().kid
    crafted = [
        {"credential": '{"a":' + "[" * 5000},  # deeper than the JSON parser goes
        {"credential": "[" * 100_000},
        {
            "credential": b64(
                {"alg": "ES256", "typ": "vc+jwt", "kid": f"did:web:testserver#{kid}", "crit": 5}
            )
            + ".e30.AAAA"
        },
        {"credential": b64({"alg": "ES256", "crit": [[1]]}) + ".e30.AAAA"},
        {"credential": b64([1, 2]) + ".e30.AAAA"},
        {"credential": "eyJhbGciOiJub25lIn0.eyJmb28iOjF9."},
    ]
    bad_pngs = [
        png_with_chunk(b"zTXt", b"key\x00\x07garbage"),  # unknown compression, after the image
        png_with_chunk(b"IHDR", b"\x00" * 13),  # a second header after the image
        png_with_chunk(b"iTXt", b"openbadgecredential\x00\x01\x00\x00\x00notzlib", False),
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    ]
    crafted += [{"file": SimpleUploadedFile("x.png", data)} for data in bad_pngs]
    for data in crafted:
        page = client.post(reverse("badges:check"), data)
        assert page.status_code in (200, 400), (page.status_code, str(data)[:80])
        if page.status_code == 200:
            assert "Not verified" in text_of(page)


@time_machine.travel(NOW, tick=False)
def test_a_credential_pasted_with_line_breaks_or_quotes_still_checks(client, holder_credential):
    client.force_login(holder_credential.holder)
    token = client.get(reverse("badges:download", args=[holder_credential.pk, "jwt"]))
    token = token.content.decode()
    wrapped = "\n".join(token[i : i + 60] for i in range(0, len(token), 60))
    curly = f"\u201c{token}\u201d"
    for pasted in (wrapped, f'"{token}"', f"  {token}\r\n", curly, f"\ufeff{token}\u200b"):
        page = client.post(reverse("badges:check"), {"credential": pasted})
        assert "Verified Genuine and valid today" in text_of(page)


def test_the_baked_chunk_is_uncompressed_itxt_before_the_image_data(client, holder_credential):
    client.force_login(holder_credential.holder)
    data = client.get(reverse("badges:download", args=[holder_credential.pk, "png"])).content
    token = IssuedBadge.objects.get().jwt
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language and translated keyword.
    chunk = b"iTXt" + b"openbadgecredential\x00\x00\x00\x00\x00" + token.encode()
    assert chunk in data
    assert data.index(chunk) < data.index(b"IDAT")
    assert data.count(b"openbadgecredential") == 1


def test_an_oversized_post_is_refused_before_the_csrf_check_reads_it():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (3 * 2**20))
    page = strict.post(reverse("badges:check"), {"file": big})
    assert page.status_code == 413  # not 403: nothing read the form
    assert "refused before it was read" in text_of(page)
    small = strict.post(reverse("badges:check"), {"credential": "x"})
    assert small.status_code == 403  # the CSRF check still applies below the limit


@time_machine.travel(NOW, tick=False)
def test_a_deleted_credentials_copy_checks_as_revoked(client, holder_credential):
    client.force_login(holder_credential.holder)
    token = client.get(reverse("badges:download", args=[holder_credential.pk, "jwt"]))
    holder_credential.delete()
    page = client.post(reverse("badges:check"), {"credential": token.content.decode()})
    assert page.status_code == 200
    text = text_of(page)
    assert "The credential was deleted here: it is revoked." in text
    assert "Revoked: it is no longer valid." in text


def test_linkedin_gets_the_terms_end_not_the_grace_period(client):
    holder = UserFactory(email="gia@example.com")
    licence_accept(user=holder)
    with time_machine.travel(datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.UTC)):
        credential = credential_issue(
            holder=holder, program=program("CSP-PO"), issued_on=datetime.date(2024, 11, 10)
        )
        client.force_login(holder)
        page = client.get(reverse("badges:share", args=[credential.pk])).content.decode()
    assert "expirationYear=2026&amp;expirationMonth=11" in page
    # The credential itself stays valid through the grace Scrum Alliance counts as valid.
    assert "valid from 10 Nov 2024 through 8 Feb 2027 (the term ends 10 Nov 2026" in (
        " ".join(page.split())
    )
