"""Safe defaults: no published secret key, pages kept out of caches, a health probe that tells
outsiders nothing, transcripts that say when a credential is self-reported, and a ledger that
refuses changes to consumed entries from the admin as from anywhere else."""

import datetime
import io
import os
import stat
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from credentials.services import calendar_token_for, credential_claim, credential_issue
from seu_ledger.models import Entry
from seu_ledger.services import credential_renew, entry_log, fee_record
from tests.cspo_tracker.test_settings import run_manage
from tests.factories import StaffFactory, UserFactory, category, program, staff_in

pytestmark = pytest.mark.django_db

PUBLISHED_KEY = "insecure-development-key-only-for-debug-mode"


# --- The secret key ---------------------------------------------------------------------------


def secret_key_in(var_dir) -> str:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = run_manage("shell", "-c", code, env_overrides={"VAR_DIR": str(var_dir)})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_debug_run_without_a_secret_key_makes_its_own_and_keeps_it(tmp_path):
    first = secret_key_in(tmp_path / "one")
    assert first != PUBLISHED_KEY
    assert len(first) >= 50
    assert secret_key_in(tmp_path / "one") == first  # kept: sessions and links survive restarts
    assert secret_key_in(tmp_path / "two") != first  # every install its own
    key_file = tmp_path / "one" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_no_published_key_is_left_in_the_settings():
    from pathlib import Path

    assert PUBLISHED_KEY not in Path("cspo_tracker/settings.py").read_text()


# --- No copies of personal pages in caches ----------------------------------------------------


@pytest.fixture
def holder_with_everything(client):
    holder = UserFactory(email="pat@example.com")
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    entry = entry_log(
        holder=holder,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="Workshop",
        hours=Decimal(4),
        evidence=SimpleUploadedFile("a.pdf", b"%PDF-1.4 a"),
    )
    client.force_login(holder)
    return holder, credential, entry


def test_every_page_and_file_with_personal_data_is_no_store_and_private(
    client, holder_with_everything
):
    holder, credential, entry = holder_with_everything
    term = credential.terms.get()
    urls = [
        reverse("ledger:dashboard"),
        reverse("ledger:history"),
        reverse("ledger:history_csv"),
        reverse("ledger:history_xlsx"),
        reverse("ledger:renewal", args=[credential.pk]),
        reverse("ledger:transcript", args=[credential.pk, term.pk]),
        reverse("ledger:entry_evidence", args=[entry.pk]),
        reverse("ledger:entry_edit", args=[entry.pk]),
        reverse("credentials:calendar"),
        reverse("credentials:calendar_feed", args=[calendar_token_for(holder)]),
        reverse("credentials:verify", args=[credential.verification_code]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        directives = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, (url, response["Cache-Control"])
    # A staff page refused to a holder names the holder in its header: not stored either.
    refused = client.get(reverse("staff:dashboard"))
    assert refused.status_code == 403
    assert "no-store" in refused["Cache-Control"]
    client.force_login(StaffFactory(is_superuser=True))
    for url in (
        reverse("admin:credentials_user_changelist"),
        reverse("staff:at_risk_csv"),
        reverse("staff:at_risk_xlsx"),
    ):
        assert "no-store" in client.get(url)["Cache-Control"], url


# --- The health probe -------------------------------------------------------------------------


def test_health_tells_outsiders_only_ok_or_fail(client, monkeypatch, settings):
    from cspo_tracker import views
    from cspo_tracker.health import ServiceState

    outside = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/healthz", **outside).json() == {"status": "ok"}
    secret = "OperationalError: could not connect to server at 10.0.0.7:6379 as cspo"
    monkeypatch.setattr(views, "broker_state", lambda: ServiceState(ok=False, detail=secret))
    response = client.get("/healthz", **outside)
    assert (response.status_code, response.json()) == (503, {"status": "fail"})
    assert "10.0.0.7" not in response.content.decode()
    # A probe on the machine itself, and staff anywhere, get each service's answer; a forged
    # entry that only starts like a loopback address does not count.
    assert client.get("/healthz").json()["broker"]["detail"] == secret
    settings.TRUSTED_PROXY_COUNT = 1
    forged = client.get("/healthz", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="127.attacker")
    assert forged.json() == {"status": "fail"}
    client.force_login(StaffFactory())
    assert client.get("/healthz", **outside).json()["broker"]["detail"] == secret


# --- Self-reported credentials in transcripts -------------------------------------------------


def pdf_pages(response) -> list[str]:
    reader = PdfReader(io.BytesIO(response.content))
    return [page.extract_text() for page in reader.pages]


def test_a_transcript_of_a_self_reported_credential_says_so_on_every_page(client):
    holder = UserFactory(email="pat@example.com")
    with time_machine.travel(datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC)):
        claimed = credential_claim(
            holder=holder,
            program=program("CSM"),
            issued_on=datetime.date(2024, 6, 1),
            certificate_number="000123",
        )
        for day in range(60):  # enough activities for a second page
            entry_log(
                holder=holder,
                activity_date=datetime.date(2024, 7, 1) + datetime.timedelta(days=day),
                category=category("scrum-alliance:learning"),
                title=f"Meetup {day}",
                hours=Decimal(1),
            )
    client.force_login(holder)
    url = reverse("ledger:transcript", args=[claimed.pk, claimed.terms.get().pk])
    pages = pdf_pages(client.get(url))
    assert len(pages) >= 2
    for text in pages:
        assert "Self-reported, not verified" in text
    claimed.verified = True
    claimed.save()
    assert not any("Self-reported" in text for text in pdf_pages(client.get(url)))


# --- Consumed entries, from the admin ---------------------------------------------------------


@pytest.fixture
def consumed_entry():
    holder = UserFactory()
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)):
        for day in range(3):
            entry_log(
                holder=holder,
                activity_date=datetime.date(2025, 6, 1) + datetime.timedelta(days=day),
                category=category("scrum-alliance:learning"),
                title="Course",
                hours=Decimal(8),
            )
        fee_record(credential=credential, recorded_by=StaffFactory(), reference="R")
        credential_renew(credential=credential)
    entry = Entry.objects.filter(holder=holder).order_by("activity_date").first()
    assert entry.renewals.exists()
    return entry


def test_the_admin_cannot_change_revert_or_void_a_consumed_entry(client, consumed_entry):
    entry = consumed_entry
    client.force_login(staff_in("registrar"))
    change = reverse("admin:seu_ledger_entry_change", args=[entry.pk])
    page = client.get(change)
    assert page.status_code == 200  # shown read-only
    assert 'name="hours"' not in page.content.decode()
    response = client.post(
        change,
        {
            "activity_date": "2025-06-01",
            "category": entry.category_id,
            "title": "Edited",
            "hours": "1",
        },
    )
    assert response.status_code == 403
    version = entry.history.order_by("history_id").first()
    revert = reverse("admin:seu_ledger_entry_simple_history", args=[entry.pk, version.history_id])
    assert client.post(revert, {"title": "Reverted", "hours": "1"}).status_code == 403
    client.post(
        reverse("admin:seu_ledger_entry_changelist"),
        {"action": "void_entries", "_selected_action": [entry.pk], "apply": "1", "reason": "x"},
    )
    fresh = Entry.objects.get(pk=entry.pk)
    assert (fresh.title, fresh.hours, fresh.voided_at) == ("Course", Decimal(8), None)


def test_staff_correct_a_live_entry_under_the_holders_rules(client, consumed_entry):
    live = entry_log(
        holder=consumed_entry.holder,
        activity_date=datetime.date(2026, 1, 5),
        category=category("scrum-alliance:learning"),
        title="Meetup",
        hours=Decimal(2),
    )
    client.force_login(staff_in("registrar"))
    change = reverse("admin:seu_ledger_entry_change", args=[live.pk])
    data = {"activity_date": "2099-01-01", "category": live.category_id, "title": "M", "hours": "2"}
    response = client.post(change, data)
    assert response.status_code == 200
    assert "Date: 1 Jan 2099 is in the future" in response.content.decode()
    response = client.post(change, {**data, "activity_date": "2026-01-06", "hours": "2.5"})
    assert response.status_code == 302
    live.refresh_from_db()
    assert (live.activity_date, live.hours) == (datetime.date(2026, 1, 6), Decimal("2.5"))
