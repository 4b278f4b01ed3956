"""The REST API through real requests: each resource, its rules (the services' messages), its
errors (JSON naming the field), pages, ETags and rate limits."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from api.models import ApiToken
from credentials.models import Credential, RosterImport, User
from credentials.services import credential_issue
from seu_ledger.models import Entry
from seu_ledger.services import entry_log
from tests.factories import category, cspo_course, program

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC), tick=False):
        yield


def errors_of(response) -> list[tuple]:
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


def test_programs_are_readable_by_any_token_and_carry_units_required(api_a):
    response = api_a.get("/api/v1/programs/CSPO/")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"]["code"] == "scrum-alliance"
    assert body["unit_name"] == "SEU"
    assert Decimal(body["units_required"]) == Decimal(20)
    assert body["validity_months"] == 24


def test_signed_out_is_401_json_with_a_bearer_challenge(anonymous):
    response = anonymous.get("/api/v1/programs/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_a_revoked_or_expired_token_stops_at_once(api_a, holder_a):
    assert api_a.get("/api/v1/me/credentials/").status_code == 200
    ApiToken.objects.filter(user=holder_a).update(revoked_at=timezone.now())
    response = api_a.get("/api/v1/me/credentials/")
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]


def test_a_token_records_when_it_was_last_used(api_a, holder_a):
    token = ApiToken.objects.get(user=holder_a)
    assert token.last_used_at is None
    api_a.get("/api/v1/me/entries/")
    token.refresh_from_db()
    assert token.last_used_at == timezone.now()
    assert len(token.digest) == 64
    assert not ApiToken.objects.filter(digest=api_a.token).exists()


def test_holder_registered_with_a_canonical_email_and_invited(api_staff):
    response = api_staff.post(
        "/api/v1/holders/",
        {"email": "  Ｎｅｗ.Person@Example.COM ", "first_name": "New", "last_name": "Person"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["state"] == "invited"
    user = User.objects.get(pk=body["id"])
    assert not user.has_usable_password()


def test_holder_registered_twice_names_the_email_field(api_staff, holder_a):
    response = api_staff.post("/api/v1/holders/", {"email": "A@EXAMPLE.com"})
    assert response.status_code == 400
    assert errors_of(response) == [("email", "Someone already signs in with this email address.")]
    assert User.objects.filter(email="a@example.com").count() == 1


def test_holder_update_goes_through_the_account_services(api_staff, holder_a):
    response = api_staff.patch(
        f"/api/v1/holders/{holder_a.pk}/", {"first_name": "Adeline", "email": "ada@work.example"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["first_name"] == "Adeline"
    # The address changes only once its owner follows the link sent to it.
    assert body["email"] == "a@example.com"
    assert body["pending_email"] == "ada@work.example"
    assert {m.to[0] for m in mail.outbox} == {"ada@work.example", "a@example.com"}
    bad = api_staff.patch(f"/api/v1/holders/{holder_a.pk}/", {"last_name": "x\u202eevil"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "last_name"


def test_credential_issued_from_an_attendance_then_revoked(api_staff, holder_a):
    course = cspo_course("API-1", end_date=datetime.date(2026, 5, 2))
    response = api_staff.post(
        "/api/v1/credentials/",
        {"holder": holder_a.pk, "course": course.code, "hours_attended": "16"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["program"] == "CSPO"
    assert body["issued_on"] == "2026-05-02"
    assert body["status"] == "active"
    assert body["valid"] is True
    assert body["terms"] == [
        {
            "id": body["terms"][0]["id"],
            "sequence": 1,
            "starts_on": "2026-05-02",
            "ends_on": "2028-05-02",
        }
    ]
    again = api_staff.post(
        "/api/v1/credentials/",
        {"holder": holder_a.pk, "course": course.code, "hours_attended": "16"},
    )
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    refused = api_staff.post(f"/api/v1/credentials/{body['id']}/revoke/", {"reason": " "})
    assert refused.status_code == 400
    assert errors_of(refused) == [
        ("reason", "Reason: say why the credential is revoked; staff read it later.")
    ]
    revoked = api_staff.post(f"/api/v1/credentials/{body['id']}/revoke/", {"reason": "Fraud"})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["valid"] is False


def test_issuing_with_too_few_hours_is_the_services_refusal_and_writes_nothing(api_staff, holder_a):
    course = cspo_course("API-2", end_date=datetime.date(2026, 5, 2))
    response = api_staff.post(
        "/api/v1/credentials/",
        {"holder": holder_a.pk, "course": course.code, "hours_attended": "3"},
    )
    assert response.status_code == 400
    assert errors_of(response)[0][0] == "hours_attended"
    assert not Credential.objects.exists()
    unknown = api_staff.post(
        "/api/v1/credentials/", {"holder": holder_a.pk, "course": "NOPE", "hours_attended": "16"}
    )
    assert errors_of(unknown) == [("course", "Course: no course has the code “NOPE”.")]


def test_credentials_filter_by_status_program_and_dates(api_staff, holder_a, holder_b):
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2024, 7, 1))
    credential_issue(holder=holder_b, program=program("CSPO"), issued_on=datetime.date(2022, 1, 1))
    credential_issue(
        holder=holder_b, program=program("PSPO I"), issued_on=datetime.date(2023, 1, 1)
    )
    ids = lambda r: sorted(c["holder"]["email"] + ":" + c["program"] for c in r.json()["results"])  # noqa: E731
    assert ids(api_staff.get("/api/v1/credentials/", {"status": "expiring"})) == [
        "a@example.com:CSPO"
    ]
    assert ids(api_staff.get("/api/v1/credentials/", {"status": "lapsed"})) == [
        "b@example.com:CSPO"
    ]
    assert ids(api_staff.get("/api/v1/credentials/", {"program": "PSPO I"})) == [
        "b@example.com:PSPO I"
    ]
    assert ids(api_staff.get("/api/v1/credentials/", {"issued_after": "2023-01-01"})) == [
        "a@example.com:CSPO",
        "b@example.com:PSPO I",
    ]
    assert ids(api_staff.get("/api/v1/credentials/", {"valid_through_before": "2026-12-31"})) == [
        "a@example.com:CSPO",
        "b@example.com:CSPO",
    ]
    bad = api_staff.get("/api/v1/credentials/", {"status": "shiny", "issued_after": "soon"})
    assert bad.status_code == 400
    assert {field for field, _ in errors_of(bad)} == {"status", "issued_after"}


def test_list_pages_by_cursor(api_staff):
    for n in range(5):
        credential_issue(
            holder=User.objects.create(email=f"p{n}@example.com"),
            program=program("CSPO"),
            issued_on=datetime.date(2025, 1, 1 + n),
        )
    seen, url = [], "/api/v1/credentials/?page_size=2"
    while url:
        body = api_staff.get(url).json()
        seen += [c["id"] for c in body["results"]]
        url = body["next"]
    assert len(seen) == 5 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert api_staff.get("/api/v1/credentials/", {"cursor": "bogus"}).status_code == 404


def test_reads_carry_an_etag_and_answer_304_when_unchanged(api_a):
    first = api_a.get("/api/v1/programs/")
    assert first.status_code == 200
    assert first["ETag"]
    assert "no-cache" in first["Cache-Control"]
    assert "private" in first["Cache-Control"]
    again = api_a.get("/api/v1/programs/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    program("CSPO").__class__.objects.filter(code="CSPO").update(name="Certified SPO")
    changed = api_a.get("/api/v1/programs/", headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200


def test_my_ledger_logs_with_allocations_and_says_how_each_entry_counts(api_a, holder_a):
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2025, 1, 10))
    learning = category("scrum-alliance:learning")
    response = api_a.post(
        "/api/v1/me/entries/",
        {
            "activity_date": "2026-03-02",
            "category": learning.pk,
            "title": "Two-day workshop",
            "hours": "10",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["hours"] == "10.00"
    [counts] = body["counts"]
    assert counts["renewal"] == "CSPO"
    assert counts["counted"] == "8.00"
    assert counts["not_counted"] == ["2 over the daily cap of 8 SEU a day"]
    listed = api_a.get("/api/v1/me/entries/").json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    voided = api_a.post(f"/api/v1/me/entries/{body['id']}/void/", {"reason": "Duplicate"})
    assert voided.status_code == 200
    assert voided.json()["voided_at"]
    again = api_a.post(f"/api/v1/me/entries/{body['id']}/void/", {"reason": "Duplicate"})
    assert errors_of(again) == [(None, "This entry is already voided.")]


def test_my_entry_refusals_name_the_field_and_write_nothing(api_a, holder_a):
    credential_issue(holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2025, 1, 10))
    learning = category("scrum-alliance:learning")
    future = api_a.post(
        "/api/v1/me/entries/",
        {"activity_date": "2026-07-01", "category": learning.pk, "title": "Later", "hours": "0.3"},
    )
    assert future.status_code == 400
    assert {field for field, _ in errors_of(future)} == {"activity_date", "hours"}
    split = api_a.post(
        "/api/v1/me/entries/",
        {
            "activity_date": "2026-03-02",
            "category": learning.pk,
            "title": "Split",
            "hours": "4",
            "allocations": [{"category": learning.pk, "hours": "3"}],
        },
    )
    assert split.status_code == 400
    assert errors_of(split)[0][0] == "allocations"
    assert not Entry.objects.exists()


def test_roster_upload_check_confirm_and_progress(api_staff, settings):
    settings.ROSTER_CHECK_IN_WORKER = False
    rows = (
        "email,first_name,last_name,course_code,end_date,hours_attended,completed\n"
        "r1@example.com,Rae,One,API-R,2026-05-01,16,yes\n"
        "not-an-email,Bad,Row,API-R,2026-05-01,16,yes\n"
    )
    response = api_staff.post(
        "/api/v1/roster-imports/", {"file": SimpleUploadedFile("r.csv", rows.encode())}
    )
    assert response.status_code == 201, response.json()
    record = response.json()
    assert record["status"] == "validated"
    assert record["row_errors_total"] == 1
    assert record["row_errors"][0]["line"] == 3
    refused = api_staff.post(f"/api/v1/roster-imports/{record['id']}/confirm/", {})
    assert refused.status_code == 400
    queued = api_staff.post(
        f"/api/v1/roster-imports/{record['id']}/confirm/", {"only_valid_rows": True}
    )
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    from credentials.roster.imports import roster_import_apply

    roster_import_apply(import_id=record["id"])
    done = api_staff.get(f"/api/v1/roster-imports/{record['id']}/").json()
    assert done["status"] == "done"
    assert done["percent_done"] == 100
    assert done["summary"]["credentials_issued"] == 1
    empty = api_staff.post(
        "/api/v1/roster-imports/", {"file": SimpleUploadedFile("e.csv", b"  \n")}
    )
    assert errors_of(empty) == [("file", "The file is empty.")]
    assert RosterImport.objects.count() == 1


@pytest.fixture
def rates():
    """Set the rate limits for one test (the suite's are high)."""
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES

    def set_rates(**changed):
        SimpleRateThrottle.THROTTLE_RATES = {**original, **changed}

    yield set_rates
    SimpleRateThrottle.THROTTLE_RATES = original


def test_rate_limit_per_token_answers_429_with_retry_after(api_a, api_b, rates):
    rates(token="3/min")
    answers = [api_a.get("/api/v1/programs/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["errors"][0]["code"] == "throttled"
    assert api_b.get("/api/v1/programs/").status_code == 200  # another token has its own count


def test_rate_limit_per_address_holds_across_tokens(api_a, api_b, anonymous, rates):
    rates(address="3/min")
    codes = [c.get("/api/v1/programs/").status_code for c in (api_a, api_b, anonymous, api_b)]
    assert codes == [200, 200, 401, 429]


def test_unknown_api_address_is_json_404(api_a):
    response = api_a.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_a_holder_logs_entries_in_a_personal_token_only(api_staff, holder_a):
    learning = category("scrum-alliance:learning")
    entry_log(
        holder=holder_a,
        activity_date=datetime.date(2026, 3, 1),
        category=learning,
        title="x",
        hours=Decimal(1),
    )
    response = api_staff.get("/api/v1/me/entries/")
    assert response.status_code == 403


def test_the_fast_credential_representation_is_the_declared_one(holder_a):
    """The credentials list builds its rows directly; they must stay what the declared fields
    (and so the schema) say, for a lifetime credential, a revoked one and one with terms."""
    from api.serializers import CredentialSerializer, credentials_for_representation
    from credentials.services import credential_revoke

    credential_issue(
        holder=holder_a, program=program("PSPO I"), issued_on=datetime.date(2025, 2, 1)
    )
    revoked = credential_issue(
        holder=holder_a, program=program("CSPO"), issued_on=datetime.date(2024, 2, 29)
    )
    credential_revoke(credential=revoked, reason="Fraud", by=None)
    course = cspo_course("FAST-1", end_date=datetime.date(2026, 5, 2))
    from credentials.services import attendance_record

    attendance_record(holder=holder_a, course=course, hours_attended=Decimal(16), completed=True)
    rows = list(credentials_for_representation().filter(holder=holder_a))
    assert len(rows) == 2
    assert any(c.source_course_id for c in rows)
    for credential in rows:
        serializer = CredentialSerializer()
        assert serializer.to_representation(credential) == serializer.declared_representation(
            credential
        )


def test_categories_filter_by_issuer_and_my_credentials_take_no_holder(api_a, holder_a):
    pmi = api_a.get("/api/v1/categories/", {"issuer": "pmi", "page_size": 50}).json()["results"]
    assert pmi
    assert {c["issuer"] for c in pmi} == {"pmi"}
    schema = api_a.get("/api/v1/schema/", {"format": "json"}).json()
    mine = schema["paths"]["/api/v1/me/credentials/"]["get"]["parameters"]
    assert "holder" not in {p["name"] for p in mine}
    assert "session" not in schema["components"]["securitySchemes"]
