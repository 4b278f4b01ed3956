"""Every model change has its migration."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_account_states_come_from_the_old_facts_and_colliding_addresses_are_reported(
    capsys, reference_data
):
    """Migration 0010: every account gets its state; addresses become canonical; accounts that
    are one address once canonical are reported, and the shadow is deactivated, not lost."""
    import datetime

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("credentials", "0009_dashboard_version")]
    after = [("credentials", "0010_account_states_and_canonical_email")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("credentials", "User")
    signed_in = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)

    def make(email, *, active=True, password="md5$x$y", last_login=None):  # noqa: S107
        return old.objects.create(
            email=email, is_active=active, password=password, last_login=last_login
        ).pk

    real = make("gia.grace@example.com", last_login=signed_in)
    shadow = make("gia.grace@example.com\u200b")
    wide = make("ｐａｔ@example.com", last_login=signed_in)
    # A sign-up never confirmed, spelled canonically, does not win over the real account.
    squatter = make("pat@example.com", active=False)
    invited = make("ivy@example.com", password="!unusable")
    pending = make("pen@example.com", active=False)
    closed = make("cal@example.com", active=False, last_login=signed_in)
    old_inactive = make("old@example.com", active=False)
    old.objects.filter(pk=old_inactive).update(
        date_joined=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("credentials", "User")
    rows = {row.pk: (row.email, row.state, row.is_active) for row in new.objects.all()}
    # And back: the states go, the canonical addresses stay.
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # the rest of the suite needs them all
    assert rows[real] == ("gia.grace@example.com", "active", True)
    assert rows[shadow] == (
        f"gia.grace+duplicate-{shadow}@example.com.invalid",
        "deactivated",
        False,
    )
    assert rows[wide] == ("pat@example.com", "active", True)
    assert rows[squatter] == (f"pat+duplicate-{squatter}@example.com.invalid", "deactivated", False)
    assert rows[old_inactive][1:] == ("deactivated", False)  # not a sign-up still waiting
    assert rows[invited][1:] == ("invited", True)
    assert rows[pending][1:] == ("pending", False)
    assert rows[closed][1:] == ("deactivated", False)
    report = capsys.readouterr().out
    assert f"account #{shadow}" in report
    assert f"as #{real} (gia.grace@example.com)" in report
