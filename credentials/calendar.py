"""The private calendar feed: each renewal's last valid day, the reminder days before it and
the end of its grace period."""

import datetime

from django.utils.translation import gettext, ngettext

from cspo_tracker import formats
from cspo_tracker.links import absolute_url

from .models import Credential
from .selectors import grace_ends_on, renewal_groups_of


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Split lines longer than 75 octets (RFC 5545); continuations start with a space."""
    data = line.encode()
    if len(data) <= 75:
        return [line]
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return [parts[0], *(" " + part for part in parts[1:])]


def _event(uid: str, day: datetime.date, summary: str, description: str, stamp: str) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
        f"DTEND;VALUE=DATE:{day + datetime.timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def calendar_ics(credentials: list[Credential], *, now: datetime.datetime) -> str:
    """An iCalendar document with all-day events for each group of credentials that renew
    together (`renewal_groups_of`: a Scrum Alliance CSPO + CSM appears once): the last valid
    day, each reminder day before it, and the last day of the program's grace period or
    suspension where it has one. Lifetime credentials have none.

    An event's UID is the group's top credential's verification code, the end date and the
    kind of day, never anything that changes between two fetches, so calendar apps update the
    events they have instead of adding copies (a renewal's new end date makes new ones).
    """
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CSPO Tracker//Certification calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(gettext('My certifications'))}",
    ]
    # The fee plays no part in the calendar, so no memberships are needed to group.
    for group in renewal_groups_of(credentials, []):
        ends_on = group.ends_on
        if ends_on is None:
            continue
        # The group's renewal page (a URL name of the ledger's; this app never imports it).
        link = absolute_url("ledger:renewal", group.top.pk)
        label, program = group.label, group.top.program
        uid_base = f"{group.top.verification_code}-{ends_on:%Y%m%d}"
        day = formats.day(ends_on)
        # Translators: {label} names certifications that renew together ("CSPO + CSM").
        summary = gettext("{label} valid through today")
        # Translators: {label} names certifications ("CSPO + CSM"), {day} a date, {link} a URL.
        description = gettext("Your {label} is valid through {day}. Renew: {link}")
        lines += _event(
            f"{uid_base}-end@cspo-tracker",
            ends_on,
            summary.format(label=label),
            description.format(label=label, day=day, link=link),
            stamp,
        )
        # The days the reminder emails go out, from the program's schedule.
        for days in program.reminder_days:
            # Translators: the English says "days" whatever the number (the last reminder is
            # the day before at the latest).
            left = ngettext("{label}: {days} days left", "{label}: {days} days left", days)
            lines += _event(
                f"{uid_base}-{days}d@cspo-tracker",
                ends_on - datetime.timedelta(days=days),
                left.format(label=label, days=days),
                gettext("Your {label} ends on {day}. Check units and fee: {link}").format(
                    label=label, day=day, link=link
                ),
                stamp,
            )
        if program.grace_days:
            # What the issuer calls the days after the end ("grace period", "suspension"):
            # data, as staff wrote it.
            period = program.after_end_words
            # Translators: {period} is what the issuer calls the days after the end, as
            # staff wrote it ("grace period", "suspension").
            ends = gettext("{label} {period} ends: last day to renew")
            lines += _event(
                f"{uid_base}-grace@cspo-tracker",
                grace_ends_on(program, ends_on),
                ends.format(label=label, period=period),
                gettext(
                    "Your {label} ended on {day}; today is the last day of its {period}. "
                    "Renew: {link}"
                ).format(label=label, day=day, period=period, link=link),
                stamp,
            )
    lines.append("END:VCALENDAR")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
