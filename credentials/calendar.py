"""The private calendar feed: each credential's last valid day and the reminder days before it."""

import datetime

from cspo_tracker.links import absolute_url

from .models import Credential
from .selectors import credential_valid_through


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
    """An iCalendar document with an all-day event on each credential's last valid day and on
    each reminder day before it. Lifetime credentials have none."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//CSPO Tracker//Certification calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:My certifications",
    ]
    link = absolute_url("home")
    for credential in credentials:
        ends_on = credential_valid_through(credential)
        if ends_on is None:
            continue
        code = credential.program.code
        uid_base = f"{credential.verification_code}-{ends_on:%Y%m%d}"
        lines += _event(
            f"{uid_base}-end@cspo-tracker",
            ends_on,
            f"{code} valid through today",
            f"Your {code} is valid through {ends_on.isoformat()}. Renew: {link}",
            stamp,
        )
        # The days the reminder emails go out, from the program's schedule.
        for days in credential.program.reminder_days:
            lines += _event(
                f"{uid_base}-{days}d@cspo-tracker",
                ends_on - datetime.timedelta(days=days),
                f"{code}: {days} days left",
                f"Your {code} ends on {ends_on.isoformat()}. Check units and fee: {link}",
                stamp,
            )
    lines.append("END:VCALENDAR")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
