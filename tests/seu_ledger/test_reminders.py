"""Reminders: the schedule, the set-based scan, one email per holder, exactly once."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from credentials.models import Program, Term
from credentials.services import credential_issue
from cspo_tracker import formats
from seu_ledger.models import Reminder, RuleVersion
from seu_ledger.reminders.schedule import point_on, point_ranges, reminder_points
from seu_ledger.reminders.selectors import (
    SKIP_RENEWED,
    SKIP_SUPERSEDED,
    SKIP_UNSUBSCRIBED,
    due_terms,
    holders_with_pending_reminders,
    holders_with_stuck_reminders,
    reminder_preview,
    unsubscribe_token,
)
from seu_ledger.reminders.services import (
    reminders_record,
    reminders_send,
    reminders_send_to_holder,
)
from seu_ledger.services import credential_renew, fee_record
from tests.factories import StaffFactory, UserFactory, learning_entry, program

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def later_than_every_date_here():
    # Entries and renewals refuse dates in the future; every date in these tests is past.
    with time_machine.travel(datetime.datetime(2030, 1, 1, 9, tzinfo=datetime.UTC), tick=False):
        yield


def issue(holder, code, ends_on):
    """A credential whose current term ends on `ends_on`."""
    prog = program(code)
    credential = credential_issue(
        holder=holder,
        program=prog,
        issued_on=ends_on - datetime.timedelta(days=365 * (prog.validity_months or 24) // 12),
    )
    Term.objects.filter(credential=credential).update(ends_on=ends_on)
    return credential


def run(on):
    """The daily job, in process: record, then send to everyone with something pending."""
    reminders_record(on=on)
    return reminders_send(holder_ids=holders_with_pending_reminders(), on=on)


log = learning_entry


# --- The schedule ---------------------------------------------------------------------------


def test_default_points_are_90_60_30_7_the_last_day_weekly_in_grace_and_expiry():
    assert reminder_points(program("CSPO")) == (90, 60, 30, 7, 0, -1)
    assert reminder_points(program("CSP-PO")) == (90, 60, 30, 7, 0, *range(-7, -91, -7), -91)
    pmi = reminder_points(program("PMI-ACP"))  # a year of suspension, weekly, then expiry
    assert (pmi[4], pmi[5], pmi[-2], pmi[-1]) == (0, -7, -364, -366)


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (91, None),
        (90, 90),
        (61, 90),
        (60, 60),
        (31, 60),
        (8, 30),
        (7, 7),
        (1, 7),
        (0, 0),
        (-1, 0),  # a missed last day is caught up in grace...
        (-6, 0),
        (-7, -7),
        (-13, -7),
        (-90, -84),
        (-91, -91),  # expired for good: how to reinstate it...
        (-121, -91),  # ...caught up for 30 days after
        (-122, None),
    ],
)
def test_a_term_is_at_the_latest_point_that_has_come(days_left, expected):
    points = (90, 60, 30, 7, 0, *range(-7, -91, -7), -91)
    assert point_on(days_left, points, grace_days=90) == expected


@pytest.mark.parametrize(
    ("days_left", "expected"), [(0, 0), (-1, -1), (-2, -1), (-31, -1), (-32, None)]
)
def test_without_grace_the_day_after_the_end_is_the_expiry_point(days_left, expected):
    assert point_on(days_left, (90, 60, 30, 7, 0, -1), grace_days=0) == expected


def test_a_program_overrides_its_schedule():
    prog = Program(reminder_days_before="45, 14", grace_days=30, grace_reminder_every_days=10)
    assert reminder_points(prog) == (45, 14, 0, -10, -20, -30, -31)
    prog.full_clean(exclude=["issuer", "code", "name"])
    with pytest.raises(Exception, match="whole numbers of days"):
        Program(reminder_days_before="ninety").clean_fields(exclude=["issuer", "code", "name"])


@given(
    days=st.lists(st.integers(1, 400), min_size=1, max_size=6),
    grace=st.integers(0, 120),
    every=st.integers(0, 30),
    days_left=st.integers(-150, 450),
)
def test_the_date_ranges_the_scan_uses_agree_with_the_rule(days, grace, every, days_left):
    prog = Program(
        pk=1,
        reminder_days_before=",".join(map(str, days)),
        grace_days=grace,
        grace_reminder_every_days=every,
    )
    on = datetime.date(2028, 2, 29)
    ends_on = on + datetime.timedelta(days=days_left)
    matching = [r.point for r in point_ranges(prog, on) if r.ends_from <= ends_on <= r.ends_to]
    expected = point_on(days_left, reminder_points(prog), grace)
    assert matching == ([] if expected is None else [expected])


# --- The scan -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "on",
    [
        datetime.date(2028, 2, 29),  # leap day
        datetime.date(2026, 12, 31),  # year end
        datetime.date(2027, 1, 1),
        datetime.date(2027, 3, 1),
    ],
)
def test_the_scan_selects_exactly_the_terms_the_rule_says(on):
    holder = UserFactory()
    csp = program("CSP-PO")
    offsets = [120, 91, 90, 75, 60, 31, 30, 8, 7, 1, 0, -1, -6, -7, -8, -84, -90, -91, -121]
    offsets += [-122, -200]
    expected = {}
    for offset in offsets:
        other = UserFactory()
        credential = issue(other, "CSP-PO", on + datetime.timedelta(days=offset))
        point = point_on(offset, reminder_points(csp), csp.grace_days)
        if point is not None:
            expected[credential.terms.get().pk] = point
    issue(holder, "PSPO I", on)  # lifetime: never reminded
    found = {term.pk: term.point for term in due_terms(on)}
    assert found == expected


def test_recording_twice_records_once_and_a_renewed_term_is_not_scanned():
    on = datetime.date(2026, 6, 1)
    holder = UserFactory()
    credential = issue(holder, "CSPO", on + datetime.timedelta(days=30))
    assert reminders_record(on=on) == 1
    assert reminders_record(on=on) == 0
    assert Reminder.objects.get().days_before == 30
    Term.objects.create(
        credential=credential,
        sequence=2,
        starts_on=on + datetime.timedelta(days=30),
        ends_on=on + datetime.timedelta(days=760),
    )
    assert reminders_record(on=on + datetime.timedelta(days=23)) == 0


def test_the_scan_is_two_queries_however_many_credentials(django_assert_num_queries):
    on = datetime.date(2026, 6, 1)
    for offset in (90, 60, 30, 7, 0):
        issue(UserFactory(), "CSPO", on + datetime.timedelta(days=offset))
    with django_assert_num_queries(2):  # the programs' schedules, then INSERT ... SELECT
        assert reminders_record(on=on) == 5


def test_unsubscribed_and_deactivated_holders_are_not_scanned_for_optional_points():
    on = datetime.date(2026, 6, 1)
    stopped = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    issue(UserFactory(reminders_unsubscribed_at=stopped), "CSPO", on + datetime.timedelta(days=30))
    last_day = issue(UserFactory(reminders_unsubscribed_at=stopped), "CSPO", on)
    issue(UserFactory(state="deactivated"), "CSPO", on)
    assert {(t.credential_id, t.point) for t in due_terms(on)} == {(last_day.pk, 0)}


# --- Sending --------------------------------------------------------------------------------


def test_one_email_per_holder_sums_up_every_credential_with_figures_and_links(settings):
    settings.SITE_URL = "https://cspo.example.com"
    on = datetime.date(2026, 6, 1)
    holder = UserFactory(first_name="Pat", email="pat@example.com")
    cspo = issue(holder, "CSPO", on + datetime.timedelta(days=30))
    log(holder, on - datetime.timedelta(days=10), "8")
    log(holder, on - datetime.timedelta(days=9), "4.5")
    acp = issue(holder, "PMI-ACP", on + datetime.timedelta(days=7))
    UserFactory()  # someone with nothing due gets nothing
    outcomes = run(on)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.com"]
    # Learning counts as PMI Education too: 12.5 of PMI-ACP's 30 PDU.
    assert message.subject == "PMI-ACP ends in 7 days: 17.5 PDU to go (and 1 more)"
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    for part in (message.body, html):
        assert "Hello Pat" in part
        assert "CSPO ends in 30 days: 7.5 SEU to go" in part
        assert "12.5 of 20 counted" in part
        assert "7.5 missing" in part
        assert "Renewal fee of US$100: not paid yet." in part
        assert "PMI-ACP ends in 7 days" in part
        assert "5.5 more PDU of Education needed (at least 18)" in part
        assert "https://cspo.example.com/activities/new/" in part
        assert "https://cspo.example.com/dashboard/" in part
        assert "https://cspo.example.com/reminders/unsubscribe/" in part
    token = unsubscribe_token(holder)
    assert message.extra_headers["List-Unsubscribe"] == (
        f"<https://cspo.example.com/reminders/unsubscribe/{token}/>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sent = {r.term.credential_id: r for r in Reminder.objects.select_related("term")}
    assert sent[cspo.pk].kind == Reminder.Kind.UNITS_SHORT
    assert sent[acp.pk].kind == Reminder.Kind.UNITS_SHORT
    assert all(r.status == Reminder.Status.SENT and r.sent_at for r in sent.values())
    assert sum(len(o.sent) for o in outcomes) == 2
    run(on)  # again the same day: nothing new
    assert len(mail.outbox) == 1


def test_the_fee_reminder_comes_once_the_units_are_complete_then_ready_to_renew(settings):
    on = datetime.date(2026, 6, 1)
    holder = UserFactory()
    credential = issue(holder, "CSPO", on + datetime.timedelta(days=60))
    for back in (12, 11, 10):
        log(holder, on - datetime.timedelta(days=back), "8")
    run(on)
    assert mail.outbox[-1].subject == "CSPO ends in 60 days: the renewal fee is unpaid"
    assert f"/credentials/{credential.pk}/renewal/" in mail.outbox[-1].body
    assert Reminder.objects.get().kind == Reminder.Kind.FEE_UNPAID
    fee_record(credential=credential, recorded_by=StaffFactory(), reference="R-1")
    run(on + datetime.timedelta(days=30))
    assert mail.outbox[-1].subject == "CSPO ends in 30 days: ready to renew"
    assert "Renew now" in mail.outbox[-1].body


def test_a_term_is_reminded_on_each_point_of_its_life_once_and_never_after_renewal():
    holder = UserFactory()
    ends_on = datetime.date(2028, 2, 29)
    issue(holder, "CSP-PO", ends_on)
    sent_on = []
    day = ends_on - datetime.timedelta(days=100)
    while day <= ends_on + datetime.timedelta(days=100):
        before = len(mail.outbox)
        run(day)
        if len(mail.outbox) > before:
            sent_on.append((ends_on - day).days)
        day += DAY
    assert sent_on == [90, 60, 30, 7, 0, *range(-7, -91, -7), -91]
    assert len(mail.outbox) == len(sent_on)
    kinds = list(Reminder.objects.order_by("-days_before").values_list("kind", flat=True))
    assert kinds[:4] == [Reminder.Kind.UNITS_SHORT] * 4
    assert kinds[4] == Reminder.Kind.EXPIRY_DAY
    assert set(kinds[5:-1]) == {Reminder.Kind.IN_GRACE}
    assert kinds[-1] == Reminder.Kind.EXPIRED
    assert mail.outbox[-1].subject == "CSP-PO has expired: here is how to reinstate it"
    assert "CSP-PO expires today" in mail.outbox[4].subject
    assert "ended on 29 Feb 2028" in mail.outbox[5].subject
    assert "83 days left in the grace period" in mail.outbox[5].body


def test_renewing_early_stops_the_reminders_of_the_closed_term(settings):
    holder = UserFactory()
    on = datetime.date(2026, 12, 31)
    credential = issue(holder, "CSPO", on + datetime.timedelta(days=7))
    reminders_record(on=on)  # due, not sent yet...
    for back in (12, 11, 10):
        log(holder, on - datetime.timedelta(days=back), "8")
    fee_record(credential=credential, recorded_by=StaffFactory(), reference="R-9")
    credential_renew(credential=credential, renewed_by=holder, on=on)
    reminders_send_to_holder(holder_id=holder.pk, on=on)  # ...and renewed before it went
    assert mail.outbox == []
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.skip_reason) == (Reminder.Status.SKIPPED, SKIP_RENEWED)
    run(on + datetime.timedelta(days=7))
    assert mail.outbox == []


def test_after_ten_missed_days_one_run_sends_only_the_most_urgent_point():
    holder = UserFactory()
    ends_on = datetime.date(2027, 1, 5)
    issue(holder, "CSP-PO", ends_on)
    run(ends_on - datetime.timedelta(days=30))
    # No run from 9 days before the end to 1 day after: the 7-day and last-day points are
    # missed. The next run sends one email, about the most urgent: the grace that has begun.
    run(ends_on + datetime.timedelta(days=1))
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == ("CSP-PO ended on 5 Jan 2027: renew within the grace period")
    points = Reminder.objects.order_by("-days_before").values_list("days_before", "kind")
    assert list(points) == [(30, Reminder.Kind.UNITS_SHORT), (0, Reminder.Kind.IN_GRACE)]


def test_a_pmi_credential_after_its_end_is_reminded_as_suspended_with_its_last_day():
    holder = UserFactory()
    ends_on = datetime.date(2027, 6, 1)
    issue(holder, "PMI-ACP", ends_on)
    run(ends_on + datetime.timedelta(days=7))
    [message] = mail.outbox
    assert message.subject == ("PMI-ACP ended on 1 Jun 2027 and is suspended: renew by 31 May 2028")
    assert "358 days left in the suspension" in message.body


def test_a_failed_send_is_recorded_stays_pending_and_is_superseded_by_a_later_point(settings):
    settings.EMAIL_BACKEND = "tests.seu_ledger.test_reminders.RefusingBackend"
    holder = UserFactory()
    ends_on = datetime.date(2027, 1, 5)
    issue(holder, "CSPO", ends_on)
    [outcome] = run(ends_on - datetime.timedelta(days=30))
    assert "451 try later" in outcome.error
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts) == (Reminder.Status.FAILED, 1)
    assert "451 try later" in reminder.last_error
    run(ends_on - datetime.timedelta(days=29))
    assert Reminder.objects.get().attempts == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(ends_on - datetime.timedelta(days=7))  # the 30-day reminder never got out
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("CSPO ends in 7 days")
    statuses = dict(Reminder.objects.values_list("days_before", "status"))
    assert statuses == {30: Reminder.Status.SKIPPED, 7: Reminder.Status.SENT}


class RefusingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        import smtplib

        raise smtplib.SMTPDataError(451, b"451 try later")


def test_unsubscribed_holders_get_only_the_last_day_and_grace(client):
    holder = UserFactory()
    ends_on = datetime.date(2027, 1, 5)
    issue(holder, "CSPO", ends_on)
    url = reverse("ledger:reminders_unsubscribe", args=[unsubscribe_token(holder)])
    page = client.get(url)  # a link scanner: changes nothing
    assert page.status_code == 200
    assert b"Stop the optional reminders" in page.content
    holder.refresh_from_db()
    assert holder.reminders_unsubscribed_at is None
    # The mail client's one-click POST (RFC 8058), without a session or CSRF token.
    client.post(url, {"List-Unsubscribe": "One-Click"})
    holder.refresh_from_db()
    assert holder.reminders_unsubscribed_at is not None
    for back in (90, 60, 30, 7):
        run(ends_on - datetime.timedelta(days=back))
    assert mail.outbox == []
    run(ends_on)
    assert [m.subject for m in mail.outbox] == ["CSPO expires today"]
    assert "You unsubscribed from optional reminders" in mail.outbox[0].body
    client.post(url, {"action": "resubscribe"})
    holder.refresh_from_db()
    assert holder.reminders_unsubscribed_at is None


def test_a_damaged_unsubscribe_link_is_404(client):
    holder = UserFactory()
    token = unsubscribe_token(holder)
    assert client.get(f"/reminders/unsubscribe/{token[:-2]}xx/").status_code == 404
    assert client.post(f"/reminders/unsubscribe/{token}x/").status_code == 404


def test_sending_costs_the_same_queries_with_3_or_300_entries(django_assert_max_num_queries):
    on = datetime.date(2026, 6, 1)
    counts = []
    for entries in (3, 300):
        holder = UserFactory()
        issue(holder, "CSPO", on + datetime.timedelta(days=30))
        for n in range(entries):
            log(holder, on - datetime.timedelta(days=1 + n % 600), "0.25")
        reminders_record(on=on)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            reminders_send_to_holder(holder_id=holder.pk, on=on)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 20


# --- Staff and the command ------------------------------------------------------------------


def test_staff_see_every_reminder_and_preview_a_holders_email_without_writing(client):
    on = datetime.date(2026, 6, 1)
    holder = UserFactory(email="pat@example.com")
    issue(holder, "CSPO", on + datetime.timedelta(days=30))
    staff = StaffFactory(is_superuser=True)
    client.force_login(staff)
    preview = client.get(
        reverse("admin:seu_ledger_reminder_preview"), {"holder": "PAT@example.com", "on": on}
    )
    assert preview.status_code == 200
    assert b"CSPO ends in 30 days: 20 SEU to go" in preview.content
    assert Reminder.objects.count() == 0
    assert mail.outbox == []
    run(on)
    listing = client.get(reverse("admin:seu_ledger_reminder_changelist"))
    assert b"30 days before the end" in listing.content
    assert b"Sent" in listing.content
    nothing = client.get(
        reverse("admin:seu_ledger_reminder_preview"), {"holder": "pat@example.com", "on": on}
    )
    assert b"Nothing is due for this holder" in nothing.content
    unknown = client.get(reverse("admin:seu_ledger_reminder_preview"), {"holder": "x@example.com"})
    assert b"No one signs in with x@example.com" in unknown.content


def test_the_preview_of_a_holder_shows_what_the_next_run_sends():
    on = datetime.date(2026, 6, 1)
    holder = UserFactory()
    issue(holder, "CSPO", on)
    plan = reminder_preview(holder, on)
    assert plan.subject == "CSPO expires today"
    assert Reminder.objects.count() == 0


@pytest.mark.parametrize(("code", "after"), [("CSPO", 1), ("CSP-PO", 91)])
def test_the_preview_and_the_run_record_the_expiry_point_alike(code, after):
    on = datetime.date(2028, 3, 1)
    holder = UserFactory()
    issue(holder, code, on - after * DAY)
    [previewed] = reminder_preview(holder, on).cards[0].reminders
    assert (previewed.kind, previewed.point_label) == (Reminder.Kind.EXPIRED, "on expiry")
    reminders_record(on=on)
    recorded = Reminder.objects.get()
    assert (recorded.days_before, recorded.kind) == (previewed.days_before, previewed.kind)


@time_machine.travel(datetime.datetime(2026, 6, 1, 6, tzinfo=datetime.UTC), tick=False)
def test_send_reminders_command_dry_run_writes_nothing_then_sends(capsys):
    on = datetime.date(2026, 6, 1)
    holder = UserFactory(email="pat@example.com")
    issue(holder, "CSPO", on + datetime.timedelta(days=7))
    call_command("send_reminders", "--dry-run", "--date", "2026-06-01")
    out = capsys.readouterr().out
    assert "would send pat@example.com: CSPO ends in 7 days: 20 SEU to go" in out
    assert "1 email(s); nothing written" in out
    assert Reminder.objects.count() == 0
    assert mail.outbox == []
    call_command("send_reminders", "--date", "2026-06-01")
    out = capsys.readouterr().out
    assert "1 reminder(s) fell due" in out
    assert "sent   pat@example.com: CSPO ends in 7 days" in out
    assert len(mail.outbox) == 1
    with pytest.raises(CommandError, match="not a date"):
        call_command("send_reminders", "--date", "2026-02-30")
    with pytest.raises(CommandError, match="in the future"):
        call_command("send_reminders", "--date", "2026-06-02")
    call_command("send_reminders", "--dry-run", "--date", "2026-06-03")  # still the 7-day point
    assert "would send" not in capsys.readouterr().out  # already sent: nothing twice


def test_unsubscribed_holder_is_skipped_at_sending_if_they_stop_after_the_scan():
    on = datetime.date(2026, 6, 1)
    holder = UserFactory()
    issue(holder, "CSPO", on + datetime.timedelta(days=60))
    reminders_record(on=on)
    holder.reminders_unsubscribed_at = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)
    holder.save()
    reminders_send_to_holder(holder_id=holder.pk, on=on)
    assert mail.outbox == []
    assert Reminder.objects.get().skip_reason == SKIP_UNSUBSCRIBED


# --- What the first review found ------------------------------------------------------------


def test_a_term_whose_end_moves_is_reminded_again_on_its_new_schedule():
    holder = UserFactory()
    credential = issue(holder, "CSPO", datetime.date(2026, 8, 1))
    run(datetime.date(2026, 5, 3))  # 90 days before the first end date
    Term.objects.filter(credential=credential).update(ends_on=datetime.date(2027, 8, 1))
    run(datetime.date(2027, 5, 3))  # 90 days before the corrected one
    assert [m.subject[:20] for m in mail.outbox] == ["CSPO ends in 90 days"] * 2


def test_an_unexpected_error_for_one_holder_does_not_stop_the_others(monkeypatch):
    on = datetime.date(2026, 6, 1)
    broken, fine = UserFactory(), UserFactory()
    issue(broken, "CSPO", on)
    issue(fine, "CSPO", on)
    import seu_ledger.reminders.services as services

    real_plan = services.reminder_plan

    def plan(holder, reminders, day):
        if holder.pk == broken.pk:
            raise RuntimeError("ledger unreadable")
        return real_plan(holder, reminders, day)

    monkeypatch.setattr(services, "reminder_plan", plan)
    outcomes = run(on)
    assert [m.to for m in mail.outbox] == [[fine.email]]
    assert [o.holder_id for o in outcomes if o.error] == [broken.pk]
    failed = Reminder.objects.get(holder=broken)
    assert failed.status == Reminder.Status.FAILED
    assert failed.last_error == "RuntimeError: ledger unreadable"
    assert holders_with_stuck_reminders() == [broken.pk]
    # A mail server that keeps refusing is left to the daily run after 20 tries.
    Reminder.objects.filter(holder=broken).update(attempts=20)
    assert holders_with_stuck_reminders() == []
    assert broken.pk in holders_with_pending_reminders()


def test_a_claim_left_by_a_dead_worker_is_taken_back_once_it_expires():
    on = datetime.date(2026, 6, 1)
    holder = UserFactory()
    issue(holder, "CSPO", on)
    reminders_record(on=on)
    claimed_at = datetime.datetime(2030, 1, 1, 8, 55, tzinfo=datetime.UTC)  # 5 minutes ago
    Reminder.objects.update(status=Reminder.Status.SENDING, claim_token="x", claimed_at=claimed_at)
    assert holders_with_stuck_reminders() == []
    reminders_send_to_holder(holder_id=holder.pk, on=on)
    assert mail.outbox == []
    with time_machine.travel(datetime.datetime(2030, 1, 1, 9, 6, tzinfo=datetime.UTC)):
        assert holders_with_stuck_reminders() == [holder.pk]
        reminders_send_to_holder(holder_id=holder.pk, on=on)
    assert len(mail.outbox) == 1
    assert Reminder.objects.get().status == Reminder.Status.SENT


@pytest.mark.parametrize("gap_from", [datetime.date(2027, 12, 24), datetime.date(2028, 2, 22)])
@pytest.mark.parametrize("ends_after", range(1, 10))
def test_a_no_grace_term_that_ended_in_a_ten_day_gap_gets_the_expiry_email_once(
    gap_from, ends_after
):
    """Nothing ran for ten days (over a year end; over Feb 29) while a CSPO term ended; its 7-
    or 30-day reminder was recorded before the gap and never sent. The next run sends one
    email, that it expired and how to reinstate it; the older reminder is superseded."""
    holder = UserFactory()
    ends_on = gap_from + ends_after * DAY
    issue(holder, "CSPO", ends_on)
    reminders_record(on=gap_from)
    earlier = Reminder.objects.get()
    assert earlier.days_before == (7 if ends_after <= 7 else 30)
    run(gap_from + 11 * DAY)
    run(gap_from + 12 * DAY)  # and the day after: nothing more
    [message] = mail.outbox
    assert message.subject == "CSPO has expired: here is how to reinstate it"
    assert formats.day(ends_on) in message.body
    rows = Reminder.objects.order_by("-days_before").values_list(
        "days_before", "status", "kind", "skip_reason"
    )
    assert list(rows) == [
        (
            earlier.days_before,
            Reminder.Status.SKIPPED,
            earlier.kind,
            SKIP_SUPERSEDED.format(point="on expiry"),
        ),
        (-1, Reminder.Status.SENT, Reminder.Kind.EXPIRED, ""),
    ]


def test_the_expiry_email_is_caught_up_for_thirty_days_then_not_at_all():
    holder, late = UserFactory(), UserFactory()
    ends_on = datetime.date(2028, 2, 29)
    issue(holder, "CSPO", ends_on)
    issue(late, "CSPO", ends_on - DAY)
    run(ends_on + 31 * DAY)  # day 31 after the end of the first, day 32 of the other
    assert [m.to for m in mail.outbox] == [[holder.email]]
    assert not Reminder.objects.filter(holder=late).exists()


def test_a_last_day_reminder_that_could_not_go_in_time_still_goes_after_the_end(settings):
    settings.EMAIL_BACKEND = "tests.seu_ledger.test_reminders.RefusingBackend"
    holder = UserFactory()
    ends_on = datetime.date(2026, 6, 1)
    issue(holder, "CSPO", ends_on)  # no grace
    run(ends_on)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reminders_send_to_holder(holder_id=holder.pk, on=ends_on + DAY)
    [message] = mail.outbox
    assert message.subject == "CSPO has expired: here is how to reinstate it"
    assert "You can still renew until" not in message.body
    assert "List-Unsubscribe" not in message.extra_headers  # essential: always sent


def test_subjects_are_plain_text_and_a_submitted_fee_is_not_asked_for_again():
    on = datetime.date(2026, 6, 1)
    issuer = program("CSPO").issuer
    rd = Program.objects.create(issuer=issuer, code="R&D PO's", name="R&D", validity_months=24)
    RuleVersion.objects.create(
        program=rd, effective_from=datetime.date(2000, 1, 1), units_required=0
    )
    holder = UserFactory()
    credential = credential_issue(holder=holder, program=rd, issued_on=datetime.date(2024, 7, 1))
    from seu_ledger.services import fee_submit

    fee_submit(credential=credential, reference="RCPT-7")
    run(on)
    [message] = mail.outbox
    assert message.subject == "R&D PO's ends in 30 days: your fee is being confirmed"
    assert "See your renewal" in message.body
    assert "R&amp;D PO&#x27;s" in message.alternatives[0][0]  # escaped in HTML only


def test_an_unsubscribe_link_stops_working_for_a_changed_address_and_after_400_days(client):
    holder = UserFactory(email="old@example.com")
    url = reverse("ledger:reminders_unsubscribe", args=[unsubscribe_token(holder)])
    assert client.get(url).status_code == 200
    with time_machine.travel(datetime.datetime(2031, 2, 6, tzinfo=datetime.UTC)):
        assert client.get(url).status_code == 404
    holder.email = "new@example.com"
    holder.save()
    assert client.get(url).status_code == 404


def test_the_scan_agrees_with_the_rule_for_odd_schedules_in_sql():
    issuer = program("CSPO").issuer
    schedules = [("45,14,3", 10, 4), ("5", 20, 30), ("400", 3, 7), ("90,60,30,7", 0, 7)]
    on = datetime.date(2028, 2, 29)
    expected = {}
    for index, (days, grace, every) in enumerate(schedules):
        prog = Program.objects.create(
            issuer=issuer,
            code=f"ODD-{index}",
            name="Odd",
            validity_months=24,
            reminder_days_before=days,
            grace_days=grace,
            grace_reminder_every_days=every,
        )
        for offset in range(-25, 50, 1):
            credential = credential_issue(
                holder=UserFactory(), program=prog, issued_on=datetime.date(2026, 1, 1)
            )
            Term.objects.filter(credential=credential).update(
                ends_on=on + datetime.timedelta(days=offset)
            )
            point = point_on(offset, reminder_points(prog), grace)
            if point is not None:
                expected[credential.pk] = point
    assert {t.credential_id: t.point for t in due_terms(on)} == expected
