"""Staff roster pages, and the background import on a real Celery worker."""

import datetime
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from credentials.models import Credential, RosterImport, User
from credentials.roster.imports import (
    roster_import_apply,
    roster_import_check,
    roster_import_queue,
    roster_imports_sweep,
)
from tests.credentials.test_roster import GOOD, csv_bytes
from tests.services import skip_unless_redis


def _zip_of(member: str) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(member, "<w/>")
    return out.getvalue()


def upload(client, data: bytes, name="march.csv"):
    return client.post(reverse("roster:upload"), {"file": SimpleUploadedFile(name, data)})


@pytest.mark.django_db
def test_roster_pages_are_for_staff_only(client, holder):
    client.force_login(holder)
    for name in ("roster:upload", "roster:history", "roster:template"):
        assert client.get(reverse(name)).status_code == 403


@pytest.mark.django_db
def test_upload_shows_counts_and_each_bad_row_and_writes_nothing(admin_client):
    data = csv_bytes(*GOOD, "not-an-email,Eve,E,C-1,CSPO,2025-03-03,2025-03-04,16,yes")
    response = upload(admin_client, data)
    record = RosterImport.objects.get()
    assert response["Location"] == reverse("roster:detail", args=[record.pk])
    page = admin_client.get(response["Location"]).content.decode()
    assert 'New holders</dt><dd class="col-5 col-md-3">4' in page
    assert "“not-an-email” is not a valid email address." in page
    assert "Import only the 4 valid rows" in page
    assert User.objects.filter(is_staff=False).count() == 0
    errors = admin_client.get(reverse("roster:errors", args=[record.pk])).content
    assert errors.decode("utf-8-sig").splitlines() == [
        "line,email,name,column,problem",
        "6,not-an-email,Eve E,email,“not-an-email” is not a valid email address.",
    ]


@pytest.mark.django_db
def test_a_roster_with_errors_needs_the_only_valid_rows_choice(admin_client):
    upload(admin_client, csv_bytes(GOOD[0], "bad,Eve,E,C-1,CSPO,2025-03-03,2025-03-04,16,yes"))
    record = RosterImport.objects.get()
    response = admin_client.post(reverse("roster:apply", args=[record.pk]), follow=True)
    assert (
        "Fix them and upload the file again, or import only the valid rows"
        in response.content.decode()
    )
    record.refresh_from_db()
    assert record.status == RosterImport.Status.VALIDATED


@pytest.mark.django_db
def test_files_that_are_not_rosters_get_a_clear_page_not_a_500(admin_client, settings):
    # Plainly not a roster: an error on the form, and nothing in the history.
    for data, message in [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "This is a PNG image, not a roster."),
        (b"%PDF-1.7\n", "This is a PDF document, not a roster."),
        (_zip_of("word/document.xml"), "not an XLSX workbook"),
        (b"\x00\x01\x02binary", "it contains binary data"),
    ]:
        response = upload(admin_client, data, name="weird.bin")
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not RosterImport.objects.exists()
    # A damaged workbook, or a CSV without our columns: checked, and rejected saying why.
    for data, message in [
        (b"PK\x03\x04garbage", "damaged"),
        (b"name,age\nx,1\n", "lacks the required column"),
    ]:
        response = upload(admin_client, data, name="weird.bin")
        page = admin_client.get(response["Location"]).content.decode()
        assert message in page
    settings.ROSTER_MAX_BYTES = 50
    response = upload(admin_client, csv_bytes(*GOOD))
    assert response.status_code == 200
    assert "the limit is" in response.content.decode()


@pytest.mark.django_db
def test_template_and_column_help(admin_client):
    template = admin_client.get(reverse("roster:template")).content
    assert template.startswith(b"\xef\xbb\xbf")
    lines = template.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("email,first_name,last_name,course_code")
    # The examples are nobody: no demo account, and they read as samples.
    from pathlib import Path

    from seu_ledger import demo

    demo_source = Path(demo.__file__).read_text(encoding="utf-8")
    for line in lines[1:]:
        email = line.split(",")[0]
        assert "sample" in email
        assert email not in demo_source
    page = admin_client.get(reverse("roster:upload")).content.decode()
    assert "Download the template" in page
    assert "<code>hours_attended</code>" in page


@pytest.mark.django_db
def test_the_admin_links_to_the_roster_import(admin_client):
    assert reverse("roster:upload") in admin_client.get("/admin/").content.decode()


def wait_for(record_id: int, timeout: float = 60) -> RosterImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = RosterImport.objects.get(pk=record_id)
        if record.status in (RosterImport.Status.DONE, RosterImport.Status.FAILED):
            return record
        time.sleep(0.2)
    raise AssertionError(f"import {record_id} still {record.status} after {timeout}s")


def test_a_roster_is_applied_by_a_real_worker_and_invites_each_holder_once(
    reference_data, celery_worker_process, settings
):
    skip_unless_redis()
    record = roster_import_check(data=csv_bytes(*GOOD), name="march.csv", uploaded_by=None)
    roster_import_queue(record=record, only_valid_rows=False)
    record = wait_for(record.pk)
    assert record.status == RosterImport.Status.DONE, record.failure
    assert record.rows_done == 4
    assert record.summary["credentials_issued"] == 3
    assert Credential.objects.count() == 3
    deadline = time.monotonic() + 30
    while User.objects.filter(invited_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not User.objects.filter(invited_at__isnull=True).exists()
    invited = dict(User.objects.values_list("email", "invited_at"))
    # The same file again, through the worker: nothing changes, nobody is invited twice.
    again = roster_import_check(data=csv_bytes(*GOOD), name="march-again.csv", uploaded_by=None)
    assert again.totals["unchanged_rows"] == 4
    roster_import_queue(record=again, only_valid_rows=False)
    again = wait_for(again.pk)
    assert again.status == RosterImport.Status.DONE
    assert {k: v for k, v in again.summary.items() if v} == {}
    assert dict(User.objects.values_list("email", "invited_at")) == invited


# --- The truth about a job ------------------------------------------------------------------


def _checked(**fields) -> RosterImport:
    record = roster_import_check(data=csv_bytes(*GOOD), name="march.csv", uploaded_by=None)
    RosterImport.objects.filter(pk=record.pk).update(**fields)
    record.refresh_from_db()
    return record


LONG_AGO = timezone.now() - datetime.timedelta(hours=1)


@pytest.mark.django_db
def test_applying_a_finished_or_running_import_says_so_and_queues_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    done = _checked(status=RosterImport.Status.DONE, rows_done=4)
    running = _checked(status=RosterImport.Status.APPLYING, rows_done=2, claimed_at=timezone.now())
    for record, message in [
        (done, "This roster was applied already; applying it again would change nothing."),
        (
            running,
            "This roster is being applied now (2 of 4 rows); this page follows its progress.",
        ),
    ]:
        with django_capture_on_commit_callbacks() as queued:
            response = admin_client.post(reverse("roster:apply", args=[record.pk]), follow=True)
        page = response.content.decode()
        assert message in page
        assert "Import queued" not in page
        assert queued == []
        assert RosterImport.objects.get(pk=record.pk).status == record.status
    page = admin_client.get(reverse("roster:detail", args=[running.pk])).content.decode()
    assert reverse("roster:apply", args=[running.pk]) not in page  # no button that does nothing
    assert "No progress since" not in page


@pytest.mark.django_db
def test_a_stuck_import_says_so_and_its_button_queues_it_again(
    admin_client, django_capture_on_commit_callbacks
):
    stuck = _checked(status=RosterImport.Status.APPLYING, rows_done=2, claimed_at=LONG_AGO)
    page = admin_client.get(reverse("roster:detail", args=[stuck.pk])).content.decode()
    assert "No progress since" in page
    assert "Run the import again" in page
    assert 'data-stuck="1"' in page  # the progress script reloads once it is taken up
    waiting = _checked(status=RosterImport.Status.QUEUED, claimed_at=LONG_AGO)
    page = admin_client.get(reverse("roster:detail", args=[waiting.pk])).content.decode()
    assert "no worker has started it" in page
    assert "No progress since" not in page
    history = admin_client.get(reverse("roster:history")).content.decode()
    assert history.count(">stuck</span>") == 2
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(reverse("roster:apply", args=[stuck.pk]), follow=True)
    assert "Import queued" in response.content.decode()
    assert len(queued) == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.run_token) == (RosterImport.Status.QUEUED, "")


@pytest.mark.django_db
def test_a_failing_import_shows_its_next_attempt_and_a_failed_one_its_reason(admin_client):
    retrying = _checked(
        status=RosterImport.Status.APPLYING,
        claimed_at=timezone.now(),
        retry_at=timezone.now() + datetime.timedelta(seconds=8),
    )
    page = admin_client.get(reverse("roster:detail", args=[retrying.pk])).content.decode()
    assert "The database did not answer; the next attempt is at" in page
    progress = admin_client.get(reverse("roster:progress", args=[retrying.pk])).json()
    assert "next attempt at" in progress["status_label"]
    assert (progress["finished"], progress["stuck"]) == (False, False)
    # Once that time has passed with no attempt (retries ran out), the page does not promise one.
    RosterImport.objects.filter(pk=retrying.pk).update(retry_at=LONG_AGO)
    page = admin_client.get(reverse("roster:detail", args=[retrying.pk])).content.decode()
    assert "next attempt" not in page
    assert "Run the import again" not in page
    failed = _checked(status=RosterImport.Status.FAILED, failure="ValueError: bad course date")
    page = admin_client.get(reverse("roster:detail", args=[failed.pk])).content.decode()
    assert "Failed: ValueError: bad course date." in page
    assert "Run the import again" in page


@pytest.mark.django_db
def test_a_run_that_lost_its_claim_says_nothing_about_the_run_that_took_over():
    from credentials.roster.imports import roster_import_fail, roster_import_retry_at

    record = _checked(status=RosterImport.Status.APPLYING, run_token="b#0", claimed_at=LONG_AGO)
    # Run "a#0" was superseded by "b#0"; its late failure and retry notice change nothing.
    roster_import_fail(import_id=record.pk, token="a#0", failure=RuntimeError("duplicate key"))
    roster_import_retry_at(import_id=record.pk, token="a#0", retry_at=timezone.now())
    record.refresh_from_db()
    assert (record.status, record.run_token, record.failure, record.retry_at) == (
        RosterImport.Status.APPLYING,
        "b#0",
        "",
        None,
    )
    roster_import_fail(import_id=record.pk, token="b#0", failure=RuntimeError("disk full"))
    record.refresh_from_db()
    assert (record.status, record.failure) == (
        RosterImport.Status.FAILED,
        "RuntimeError: disk full",
    )


@pytest.mark.django_db
def test_the_sweep_queues_again_only_the_imports_stuck_queued_or_applying(
    django_capture_on_commit_callbacks,
):
    stuck_queued = _checked(status=RosterImport.Status.QUEUED, claimed_at=LONG_AGO)
    stuck_applying = _checked(status=RosterImport.Status.APPLYING, claimed_at=LONG_AGO)
    _checked(status=RosterImport.Status.APPLYING, claimed_at=timezone.now())
    _checked(status=RosterImport.Status.DONE, claimed_at=LONG_AGO)
    _checked(status=RosterImport.Status.FAILED, claimed_at=LONG_AGO)
    _checked(status=RosterImport.Status.VALIDATED)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert roster_imports_sweep() == [stuck_queued.pk, stuck_applying.pk]
    assert len(queued) == 2


@pytest.mark.django_db
def test_a_run_taking_over_a_dead_one_counts_what_both_changed(monkeypatch):
    """A run dies after its first batch; the one that takes over finds those rows in and
    counts only the rest: the summary adds both, and equals a run that never died."""
    from django.db import transaction

    import credentials.roster.imports as imports

    with transaction.atomic():
        clean = _checked(status=RosterImport.Status.QUEUED)
        expected = roster_import_apply(import_id=clean.pk, token="clean").summary
        transaction.set_rollback(True)
    record = _checked(status=RosterImport.Status.QUEUED)
    original = imports.roster_apply

    def dies_after_one_batch(report, batch_size, on_batch):
        batches = []

        def first_only(rows_done, invite_ids, summary):
            batches.append(rows_done)
            if len(batches) > 1:  # the second batch's transaction is rolled back
                raise ConnectionResetError("the worker died")
            on_batch(rows_done, invite_ids, summary)

        return original(report, batch_size=2, on_batch=first_only)

    monkeypatch.setattr(imports, "roster_apply", dies_after_one_batch)
    with pytest.raises(ConnectionResetError):
        roster_import_apply(import_id=record.pk, token="first")
    record.refresh_from_db()
    assert (record.status, record.rows_done) == (RosterImport.Status.APPLYING, 2)
    assert 0 < record.summary["holders_created"] < expected["holders_created"]
    monkeypatch.setattr(imports, "roster_apply", original)
    # The first run's claim is still fresh: another run leaves it alone...
    assert roster_import_apply(import_id=record.pk, token="second").status == "applying"
    # ...until it expires.
    RosterImport.objects.filter(pk=record.pk).update(claimed_at=LONG_AGO)
    record = roster_import_apply(import_id=record.pk, token="second")
    assert record.status == RosterImport.Status.DONE
    assert record.summary == expected
