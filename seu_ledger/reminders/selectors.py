"""Reads about reminders: which terms fall due on a day, and what one holder's email says."""

import datetime
import hashlib
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.conf import settings
from django.core import signing
from django.db.models import Exists, Expression, F, OuterRef, Q, QuerySet, SmallIntegerField
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from credentials.models import Program, Term, User
from credentials.selectors import Status, grace_ends_on
from cspo_tracker import formats, zones
from cspo_tracker.links import absolute_url

from ..models import Fee, Reminder
from ..selectors import CredentialCard, dashboard_cards, fmt_units, money
from .schedule import PointRange, expiry_point, point_ranges

UNSUBSCRIBE_SALT = "seu_ledger.reminders.unsubscribe"
# Sends the 15-minute sweep tries before leaving a failing reminder to the daily run.
SWEEP_ATTEMPTS = 20

# Most urgent first: the order of cards in an email, and which one names the subject.
URGENCY = (
    Reminder.Kind.IN_GRACE,
    Reminder.Kind.EXPIRY_DAY,
    Reminder.Kind.EXPIRED,
    Reminder.Kind.UNITS_SHORT,
    Reminder.Kind.FEE_UNPAID,
    Reminder.Kind.EXPIRY_APPROACHING,
)

# Why a reminder was not sent: stored in the row (Reminder.skip_reason), so kept in English.
SKIP_RENEWED = "The credential was renewed before the reminder went out."
SKIP_END_MOVED = "The term's end date changed to {ends_on} before the reminder went out."
SKIP_LAPSED = "The credential had lapsed before the reminder went out."
SKIP_SUPERSEDED = "A later reminder for the same term ({point}) went out instead."
SKIP_UNSUBSCRIBED = "The holder unsubscribed from optional reminders."
SKIP_INACTIVE = "The holder's account is deactivated."


class SchedulePoint(Expression):
    """The point a term is at on a day, as one SQL CASE on its program and end date.

    One branch per program, and inside it the program's points from the latest-ending range
    down, so the database stops at the first match and the ORM compiles two column references
    instead of hundreds of lookups. Terms outside every range get NULL.
    """

    output_field = SmallIntegerField()

    def __init__(self, ranges: tuple[PointRange, ...], program="credential__program_id"):
        super().__init__()
        self.ranges = ranges
        self.program, self.ends_on = F(program), F("ends_on")

    def get_source_expressions(self):
        return [self.program, self.ends_on]

    def set_source_expressions(self, exprs):
        self.program, self.ends_on = exprs

    def as_sql(self, compiler, connection):
        program_sql, program_params = compiler.compile(self.program)
        ends_sql, ends_params = compiler.compile(self.ends_on)
        date = connection.ops.adapt_datefield_value
        by_program: dict[int, list[PointRange]] = {}
        for r in self.ranges:
            by_program.setdefault(r.program_id, []).append(r)
        sql, params = ["CASE"], []
        for program_id, ranges in by_program.items():
            ranges.sort(key=lambda r: r.ends_to, reverse=True)
            sql.append(f"WHEN {program_sql} = %s AND {ends_sql} <= %s THEN CASE")
            params += [*program_params, program_id, *ends_params, date(ranges[0].ends_to)]
            for r in ranges:
                sql.append(f"WHEN {ends_sql} >= %s THEN %s")
                params += [*ends_params, date(r.ends_from), r.point]
            sql.append("END")
        sql.append("END")
        return " ".join(sql), params


def point_ranges_of(programs: list[Program], on: datetime.date) -> tuple[PointRange, ...]:
    return tuple(r for program in programs for r in point_ranges(program, on))


def within_ranges(ranges: tuple[PointRange, ...]) -> Q:
    """Terms whose end date puts them at some point: one date range per program."""
    by_program: dict[int, list[PointRange]] = {}
    for r in ranges:
        by_program.setdefault(r.program_id, []).append(r)
    return reduce(
        or_,
        (
            Q(
                credential__program_id=program_id,
                ends_on__gte=min(r.ends_from for r in program_ranges),
                ends_on__lte=max(r.ends_to for r in program_ranges),
            )
            for program_id, program_ranges in by_program.items()
        ),
    )


def due_terms(
    on: datetime.date, holder_id: int | None = None, time_zones: list[str] | None = None
) -> QuerySet[Term]:
    """Current terms at a point of their schedule on `on` with no reminder recorded for that
    point yet, annotated with `point`. One query, whatever the number of credentials.

    Holders who unsubscribed only get the points on and after the last day; deactivated
    accounts and revoked credentials get none.
    """
    programs = list(
        Program.objects.filter(validity_months__isnull=False).only(
            "pk", "grace_days", "reminder_days_before", "grace_reminder_every_days"
        )
    )
    ranges = point_ranges_of(programs, on)
    if not ranges:
        return Term.objects.none()
    newer = Term.objects.filter(
        credential_id=OuterRef("credential_id"), sequence__gt=OuterRef("sequence")
    )
    recorded = Reminder.objects.filter(
        term_id=OuterRef("pk"), term_ends_on=OuterRef("ends_on"), days_before=OuterRef("point")
    )
    terms = Term.objects.filter(
        within_ranges(ranges),
        credential__holder__is_active=True,
        credential__revoked_at__isnull=True,
    )
    if holder_id is not None:
        terms = terms.filter(credential__holder_id=holder_id)
    if time_zones is not None:
        terms = terms.filter(credential__holder__time_zone__in=time_zones)
    # A point at or after the last day is one whose end date has come.
    optional_allowed = Q(ends_on__lte=on) | Q(
        credential__holder__reminders_unsubscribed_at__isnull=True
    )
    return (
        terms.filter(optional_allowed)
        .exclude(Exists(newer))
        .annotate(point=SchedulePoint(ranges))
        .exclude(Exists(recorded))
    )


def reminder_zones_due(at: datetime.datetime | None = None) -> dict[datetime.date, list[str]]:
    """The holders' time zones whose reminder time (settings.REMINDER_RUN_AT, local) fell in
    the hour that ended at the last run time before `at` (now), by their local date then:
    {date: [zone names]}, "" standing for the site's zone (settings.TIME_ZONE). The hourly run
    reminds those holders, so each gets their email at their own morning hour, once a day.

    One query (the zones in use). The hour is (end - 1 h, end], with `end` the latest instant
    on or before `at` at the run's minute past a UTC hour: a beat that fires a little late
    still covers the same hour, and every wall-clock time of a day falls in exactly one
    hour, on DST change days too (a time a spring-forward skips counts as the same time
    before the change; one a fall-back repeats, at its first occurrence).
    """
    at = (at or timezone.now()).astimezone(datetime.UTC)
    run_time = settings.REMINDER_RUN_TIME
    end = at.replace(minute=run_time.minute, second=0, microsecond=0)
    if end > at:
        end -= datetime.timedelta(hours=1)
    start = end - datetime.timedelta(hours=1)
    names = (
        User.objects.filter(is_active=True)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )
    due: dict[datetime.date, list[str]] = {}
    for name in names:
        where = zones.zone(name)
        local_day = end.astimezone(where).date()
        for day in (local_day, local_day - datetime.timedelta(days=1)):
            send_at = datetime.datetime.combine(day, run_time, tzinfo=where)
            if start < send_at.astimezone(datetime.UTC) <= end:
                due.setdefault(day, []).append(name)
                break
    return due


PENDING_STATUSES = (Reminder.Status.DUE, Reminder.Status.FAILED, Reminder.Status.SENDING)


def pending_condition(now: datetime.datetime | None = None) -> Q:
    """Reminders not sent yet: due, failed (to retry), or claimed by a worker long gone
    (CLAIM_EXPIRES)."""
    stale = (now or timezone.now()) - settings.CLAIM_EXPIRES
    return Q(status__in=[Reminder.Status.DUE, Reminder.Status.FAILED]) | Q(
        status=Reminder.Status.SENDING, claimed_at__lt=stale
    )


def holders_with_pending_reminders(time_zones: list[str] | None = None) -> list[int]:
    """Holders with reminders to send (of these time zones, "" the site's, when given)."""
    pending = Reminder.objects.filter(pending_condition())
    if time_zones is not None:
        pending = pending.filter(holder__time_zone__in=time_zones)
    return list(pending.order_by("holder_id").values_list("holder_id", flat=True).distinct())


# Long enough for an old email to still work; a changed address voids earlier links.
UNSUBSCRIBE_MAX_AGE = datetime.timedelta(days=400)


def _address_tag(holder: User) -> str:
    return hashlib.sha256(holder.email.encode()).hexdigest()[:10]


def holders_with_stuck_reminders(now: datetime.datetime | None = None) -> list[int]:
    """Holders with reminders that should have gone by now: failed (fewer than
    SWEEP_ATTEMPTS times; after that, a mail server that keeps refusing is tried once a day by
    the daily run), claimed by a worker long gone, or due for longer than a claim lasts (their
    sending task was lost)."""
    now = now or timezone.now()
    stale = now - settings.CLAIM_EXPIRES
    stuck = (
        Q(status=Reminder.Status.FAILED, attempts__lt=SWEEP_ATTEMPTS)
        | Q(status=Reminder.Status.SENDING, claimed_at__lt=stale)
        | Q(status=Reminder.Status.DUE, created_at__lt=stale)
    )
    return list(
        Reminder.objects.filter(stuck)
        .order_by("holder_id")
        .values_list("holder_id", flat=True)
        .distinct()
    )


def unsubscribe_token(holder: User) -> str:
    return signing.dumps([holder.pk, _address_tag(holder)], salt=UNSUBSCRIBE_SALT)


def holder_from_unsubscribe_token(token: str) -> User | None:
    try:
        holder_id, tag = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    holder = User.objects.filter(pk=holder_id).first()
    return holder if holder is not None and _address_tag(holder) == tag else None


@dataclass
class ReminderCard:
    """One credential (or group renewing together) in a reminder email."""

    card: CredentialCard
    kind: str
    reminders: list[Reminder] = field(default_factory=list)

    @property
    def group(self):
        return self.card.group

    @property
    def days_left(self) -> int:
        return self.card.days_left

    @property
    def days_ago(self) -> int:
        return -self.card.days_left

    @property
    def grace_days_left(self) -> int:
        return self.group.top.program.grace_days + self.card.days_left

    @property
    def grace_ends_on(self) -> datetime.date:
        return grace_ends_on(self.group.top.program, self.group.ends_on)

    @property
    def units_missing(self) -> str | None:
        balance = self.card.balance
        if balance is None or balance.counted >= balance.required:
            return None
        return fmt_units(balance.required - balance.counted)

    @property
    def units_counted(self) -> str:
        return fmt_units(self.card.balance.counted)

    @property
    def units_required(self) -> str:
        return fmt_units(self.card.balance.required)

    @property
    def category_messages(self) -> list[str]:
        """Per-category shortfalls (PMI's Education minimum...); the total has its own line."""
        messages = self.card.requirements.reasons.get("units", [])
        return messages[1:] if self.units_missing else messages

    @property
    def fee_text(self) -> str:
        requirements = self.card.requirements
        status = requirements.fee_status
        amount = money(self.group.fee_amount, self.group.currency)
        if status == "not_required":
            return gettext("No renewal fee.")
        if status == Fee.Status.DUE:
            if amount:
                return gettext("Renewal fee of {amount}: not paid yet.").format(amount=amount)
            return gettext("Renewal fee: not paid yet.")
        if status == Fee.Status.SUBMITTED:
            return gettext("Renewal fee: paid (reference {reference}), being confirmed.").format(
                reference=requirements.fee.reference
            )
        if status == Fee.Status.PAID:
            return gettext("Renewal fee: paid.")
        if status == Fee.Status.WAIVED:
            return gettext("Renewal fee: waived.")
        return gettext("Renewal fee: {status}.").format(
            status=requirements.fee.get_status_display().lower()
        )

    @property
    def action(self) -> tuple[str, str]:
        """What to do next, and the absolute address of the page that does it."""
        renewal = absolute_url("ledger:renewal", self.group.top.pk)
        step = self.card.next_action
        next_step = self.card.next_step
        if next_step is not None and next_step.kind == "log_before":
            return (
                gettext("Log activities dated on or before {day}").format(
                    day=formats.day(next_step.until)
                ),
                absolute_url("ledger:entry_create") + f"?dated_by={next_step.until.isoformat()}",
            )
        if step == "log":
            return gettext("Log your activities"), absolute_url("ledger:entry_create")
        if step == "fee" and self.card.requirements.fee_status == Fee.Status.SUBMITTED:
            return gettext("See your renewal"), renewal
        if step == "fee":
            return gettext("Pay and record the renewal fee"), renewal
        if step == "renew":
            return gettext("Renew now"), renewal
        return gettext("See your certifications"), absolute_url("ledger:dashboard")

    @property
    def reinstate(self) -> str:
        """How an expired credential comes back, in words (for the expiry email)."""
        term = self.card.requirements.reasons.get("term")
        if term:
            return " ".join(term)
        return gettext(
            "You can still renew it late, with the units and the fee below; the new term keeps "
            "its anniversary."
        )

    @property
    def expired_on(self) -> datetime.date:
        """The first day the credential is not renewable in grace any more."""
        return self.grace_ends_on + datetime.timedelta(days=1)

    @property
    def headline(self) -> str:
        label = self.group.label
        ended = formats.day(self.group.ends_on)
        if self.kind == Reminder.Kind.EXPIRED:
            if self.group.top.program.lapse_is_final:
                return gettext("{label} has expired: only a new examination restores it").format(
                    label=label
                )
            return gettext("{label} has expired: here is how to reinstate it").format(label=label)
        if self.kind == Reminder.Kind.IN_GRACE and self.card.status == Status.LAPSED:
            return gettext("{label} ended on {day}").format(label=label, day=ended)
        if self.kind == Reminder.Kind.IN_GRACE:
            program = self.group.top.program
            if not program.valid_after_end:
                # Translators: {status} is the issuer's word for the state after the end, in
                # lower case ("suspended").
                return gettext("{label} ended on {day} and is {status}: renew by {last}").format(
                    label=label,
                    day=ended,
                    status=program.after_end_label.lower(),
                    last=formats.day(self.grace_ends_on),
                )
            # Translators: {period} is the issuer's word for the time after the end ("grace
            # period").
            return gettext("{label} ended on {day}: renew within the {period}").format(
                label=label, day=ended, period=program.after_end_words
            )
        if self.kind == Reminder.Kind.EXPIRY_DAY:
            return gettext("{label} expires today").format(label=label)
        values = {"label": label, "days": self.days_left}
        if self.kind == Reminder.Kind.UNITS_SHORT:
            values.update(missing=self.units_missing, unit=self.group.unit_name)
            if values["missing"] is None:
                values["message"] = self.category_messages[0]
        return self._ends_headline().format(**values)

    def _ends_headline(self) -> str:
        """The headline of a term that ends tomorrow or in {days} days, to format with {label}
        and, for units short, {missing} and {unit} or the category's {message}."""
        tomorrow, days = self.days_left == 1, self.days_left
        if self.kind == Reminder.Kind.UNITS_SHORT:
            if self.units_missing is None:
                if tomorrow:
                    # Translators: {message} says what a category lacks ("2 more PDU of
                    # Business Acumen needed (at least 4).").
                    text = gettext("{label} ends tomorrow: {message}")
                else:
                    text = ngettext(
                        "{label} ends in {days} day: {message}",
                        "{label} ends in {days} days: {message}",
                        days,
                    )
                return text
            if tomorrow:
                text = gettext("{label} ends tomorrow: {missing} {unit} to go")
            else:
                text = ngettext(
                    "{label} ends in {days} day: {missing} {unit} to go",
                    "{label} ends in {days} days: {missing} {unit} to go",
                    days,
                )
            return text
        if self.kind == Reminder.Kind.FEE_UNPAID:
            if tomorrow:
                return gettext("{label} ends tomorrow: the renewal fee is unpaid")
            return ngettext(
                "{label} ends in {days} day: the renewal fee is unpaid",
                "{label} ends in {days} days: the renewal fee is unpaid",
                days,
            )
        if self.card.next_action == "fee":  # paid, and staff have not confirmed it yet
            if tomorrow:
                return gettext("{label} ends tomorrow: your fee is being confirmed")
            return ngettext(
                "{label} ends in {days} day: your fee is being confirmed",
                "{label} ends in {days} days: your fee is being confirmed",
                days,
            )
        if tomorrow:
            return gettext("{label} ends tomorrow: ready to renew")
        return ngettext(
            "{label} ends in {days} day: ready to renew",
            "{label} ends in {days} days: ready to renew",
            days,
        )


def card_kind(card: CredentialCard) -> str:
    """What a reminder about this card is about, from the facts on the day."""
    if card.status == Status.LAPSED:
        return Reminder.Kind.EXPIRED
    if card.days_left < 0:
        return Reminder.Kind.IN_GRACE
    if card.days_left == 0:
        return Reminder.Kind.EXPIRY_DAY
    reasons = card.requirements.reasons
    if "units" in reasons:
        return Reminder.Kind.UNITS_SHORT
    if "fee" in reasons and card.requirements.fee_status == Fee.Status.DUE:
        return Reminder.Kind.FEE_UNPAID
    return Reminder.Kind.EXPIRY_APPROACHING


@dataclass
class ReminderPlan:
    """What one holder's email on a day says, which reminders it sends and which it drops."""

    holder: User
    on: datetime.date
    cards: list[ReminderCard]
    skipped: dict[int, str]  # reminder id -> why it is not sent

    @property
    def to_send(self) -> list[Reminder]:
        return [reminder for card in self.cards for reminder in card.reminders]

    @property
    def essential_only(self) -> bool:
        return all(card.kind in Reminder.ESSENTIAL_KINDS for card in self.cards)

    @property
    def subject(self) -> str:
        if not self.cards:
            return ""
        more = len(self.cards) - 1
        headline = self.cards[0].headline
        if not more:
            return headline
        return ngettext(
            # Translators: an email's subject: the most urgent reminder's headline, and how
            # many other credentials the email is about.
            "{headline} (and {count} more)",
            "{headline} (and {count} more)",
            more,
        ).format(headline=headline, count=more)

    def unsubscribe_url(self) -> str:
        return absolute_url("ledger:reminders_unsubscribe", unsubscribe_token(self.holder))

    def context(self) -> dict:
        return {
            "holder": self.holder,
            "subject": self.subject,
            "cards": self.cards,
            "on": self.on,
            "dashboard_url": absolute_url("ledger:dashboard"),
            "unsubscribe_url": self.unsubscribe_url(),
            "unsubscribed": self.holder.reminders_unsubscribed_at is not None,
        }

    def headers(self) -> dict:
        """RFC 8058 one-click unsubscribe, which mail clients POST to; only on an email that
        carries an optional reminder, since the last-day and grace ones come regardless."""
        if self.essential_only:
            return {}
        return {
            "List-Unsubscribe": f"<{self.unsubscribe_url()}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }


def reminder_plan(holder: User, reminders: list[Reminder], on: datetime.date) -> ReminderPlan:
    """Decide, from the holder's records on `on`, what their pending reminders become: one card
    per credential (or group renewing together) at its most urgent point, the rest dropped with
    a reason. Queries: the holder's dashboard, a fixed number however many reminders."""
    skipped: dict[int, str] = {}
    if not holder.is_active:
        return ReminderPlan(holder, on, [], {r.pk: SKIP_INACTIVE for r in reminders})
    cards = dashboard_cards(holder.pk, on)
    card_of = {credential.pk: card for card in cards for credential in card.group.credentials}
    latest: dict[int, Reminder] = {}
    for reminder in sorted(reminders, key=lambda r: r.days_before):
        if reminder.term_id in latest:
            # Stored in the row: in English, whatever the language of the request.
            with translation.override(None):
                point = latest[reminder.term_id].point_label
            skipped[reminder.pk] = SKIP_SUPERSEDED.format(point=point)
        else:
            latest[reminder.term_id] = reminder
    by_card: dict[int, ReminderCard] = {}
    for reminder in latest.values():
        card = card_of.get(reminder.term.credential_id)
        reason = _skip_reason(reminder, card, holder)
        if reason:
            skipped[reminder.pk] = reason
            continue
        key = id(card)
        if key not in by_card:
            by_card[key] = ReminderCard(card=card, kind=card_kind(card))
        by_card[key].reminders.append(reminder)
    chosen = sorted(by_card.values(), key=lambda c: (URGENCY.index(c.kind), c.days_left))
    return ReminderPlan(holder, on, chosen, skipped)


def _skip_reason(reminder: Reminder, card: CredentialCard | None, holder: User) -> str | None:
    if card is None:
        return SKIP_RENEWED
    terms = {credential.pk: credential for credential in card.group.credentials}
    credential = terms[reminder.term.credential_id]
    current = max(credential.terms.all(), key=lambda term: term.sequence)
    if current.pk != reminder.term_id:
        return SKIP_RENEWED
    if current.ends_on != reminder.term_ends_on:
        return SKIP_END_MOVED.format(ends_on=current.ends_on)
    if card.status == Status.LAPSED and reminder.days_before > 0:
        # Too late to say "N days left"; a last-day or grace reminder that could not go out
        # in time still goes, saying the credential ended.
        return SKIP_LAPSED
    if holder.reminders_unsubscribed_at is not None and card.days_left > 0:
        return SKIP_UNSUBSCRIBED
    return None


def reminders_unrecorded(on: datetime.date, holder_id: int) -> list[Reminder]:
    """The reminders the next run would record for one holder, as unsaved rows (for previews)."""
    now = timezone.now()
    return [
        Reminder(
            pk=-term.pk,
            holder_id=holder_id,
            term=term,
            days_before=term.point,
            term_ends_on=term.ends_on,
            kind=point_kind(term.point, term.credential.program.grace_days),
            created_at=now,
        )
        for term in due_terms(on, holder_id).select_related("credential__program")
    ]


def point_kind(point: int, grace_days: int) -> str:
    """The kind a reminder is recorded with, before the facts on the day refine it (the same
    rule as the CASE in `reminders_record`)."""
    if point > 0:
        return Reminder.Kind.EXPIRY_APPROACHING
    if point == 0:
        return Reminder.Kind.EXPIRY_DAY
    if point == expiry_point(grace_days):
        return Reminder.Kind.EXPIRED
    return Reminder.Kind.IN_GRACE


def reminder_preview(holder: User, on: datetime.date) -> ReminderPlan:
    """The email the holder would get if the job ran on `on`: their pending reminders and the
    ones that fall due that day. Writes nothing."""
    pending = list(
        Reminder.objects.filter(pending_condition(), holder_id=holder.pk).select_related(
            "term__credential"
        )
    )
    return reminder_plan(holder, pending + reminders_unrecorded(on, holder.pk), on)
