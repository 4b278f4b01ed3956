"""Webhook events: written to the outbox (Event, one Delivery per endpoint that wants it) in
the transaction that made the change, so a change that rolls back sends nothing, and sent by
a worker once it commits (`webhooks`). Each event has a key that makes it happen once, however
often a signal or the daily scan repeats it.

Types and when (dates are days in TIME_ZONE):
- credential.issued: a course completion issued it (one, or a roster's), or staff verified
  a credential its holder had claimed.
- credential.renewed: a renewal added its next term (one event per credential renewed).
- credential.expiring: its current term reached a reminder point of its program (90, 60, 30,
  7 days before the end by default, and the last valid day): the latest point reached, once.
- credential.grace_started: the first day after the end, for a program with a grace period
  (Scrum Alliance's grace, PMI's suspension), caught up for 30 days.
- credential.lapsed: the first day after the end and any grace, caught up for 30 days.
- credential.revoked: staff revoked it.
- roster_import.completed: a confirmed roster finished applying.
"""

import datetime
from collections.abc import Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials.models import Credential, Program, RosterImport, Term
from credentials.selectors import today

from .models import Delivery, Event, WebhookEndpoint

ISSUED = "credential.issued"
RENEWED = "credential.renewed"
EXPIRING = "credential.expiring"
GRACE_STARTED = "credential.grace_started"
LAPSED = "credential.lapsed"
REVOKED = "credential.revoked"
ROSTER_COMPLETED = "roster_import.completed"
EVENT_TYPES = {
    ISSUED: _("A credential was issued (a course completion, or a verified claim)."),
    RENEWED: _("A credential was renewed: its next term was added."),
    EXPIRING: _("A credential reached a reminder point before its end."),
    GRACE_STARTED: _("A credential's term ended and its grace period (PMI: suspension) began."),
    LAPSED: _("A credential lapsed: its term and any grace are over."),
    REVOKED: _("Staff revoked a credential."),
    ROSTER_COMPLETED: _("A confirmed roster import finished applying."),
}
# A grace start or a lapse missed because nothing ran (or announced to an endpoint registered
# since) is still announced this long after it; not later.
CATCH_UP_DAYS = 30


def _subscribed(event_type: str) -> list[int]:
    """Endpoints that want `event_type` (a handful: read whole). A paused one gets its
    deliveries too; they wait until it is resumed."""
    return [
        pk
        for pk, events in WebhookEndpoint.objects.values_list("pk", "events")
        if event_type in (events or ())
    ]


def _record(event_type: str, items: Iterable[tuple[str, str, dict]], now=None) -> int:
    """Write events of one type, each (key, subject, data), and their deliveries to every
    endpoint that wants them; queue the sending once the transaction commits. An event whose
    key exists is not written again. Returns how many events were new."""
    endpoints = _subscribed(event_type)
    items = list(items)
    if not endpoints or not items:
        return 0
    now = now or timezone.now()
    stamp = now.isoformat().replace("+00:00", "Z")
    keys = [key for key, _, _ in items]
    known = set(Event.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = [
        Event(
            type=event_type,
            key=key,
            subject=subject,
            payload={"type": event_type, "timestamp": stamp, "data": data},
            occurred_at=now,
        )
        for key, subject, data in items
        if key not in known
    ]
    if not fresh:
        return 0
    with transaction.atomic():  # events and their deliveries, or neither (the daily scan too)
        Event.objects.bulk_create(fresh, ignore_conflicts=True)
        written = list(
            Event.objects.filter(key__in=[e.key for e in fresh], occurred_at=now)
            .order_by("pk")
            .values_list("pk", "subject")
        )
        Delivery.objects.bulk_create(
            [
                Delivery(
                    event_id=event_id,
                    endpoint_id=endpoint_id,
                    subject=subject,
                    next_attempt_at=now,
                )
                for event_id, subject in written
                for endpoint_id in endpoints
            ],
            ignore_conflicts=True,
        )
    event_ids = [event_id for event_id, _ in written]
    transaction.on_commit(lambda: _queue(event_ids), robust=True)
    return len(event_ids)


def _queue(event_ids: list[int]) -> None:
    from .tasks import deliver

    for pk in Delivery.objects.filter(event_id__in=event_ids).values_list("pk", flat=True):
        deliver.delay(pk)


def _json(data) -> dict:
    """The API's representation as plain JSON (dates and decimals as strings)."""
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _credentials(credential_ids) -> list[Credential]:
    from .serializers import credentials_for_representation

    return list(credentials_for_representation().filter(pk__in=list(credential_ids)))


def _credential_data(credential: Credential, **extra) -> dict:
    from .serializers import CredentialSerializer

    return _json({**CredentialSerializer(credential).data, **extra})


def _subject(credential: Credential) -> str:
    return f"credential:{credential.verification_code}"


def credentials_issued_record(*, credential_ids: list[int]) -> int:
    """credential.issued for each of these credentials (once per credential)."""
    if not _subscribed(ISSUED):
        return 0
    return _record(
        ISSUED,
        (
            (f"{ISSUED}:{c.pk}", _subject(c), _credential_data(c))
            for c in _credentials(credential_ids)
        ),
    )


def credentials_renewed_record(*, term_ids: list[int]) -> int:
    """credential.renewed for each new term (a renewal of a group: one per credential)."""
    if not _subscribed(RENEWED):
        return 0
    terms = dict(Term.objects.filter(pk__in=term_ids).values_list("credential_id", "pk"))
    items = []
    for credential in _credentials(terms):
        term_id = terms[credential.pk]
        data = _credential_data(credential)
        new = next(t for t in data["terms"] if t["id"] == term_id)
        items.append((f"{RENEWED}:{term_id}", _subject(credential), {**data, "new_term": new}))
    return _record(RENEWED, items)


def credential_revoked_record(*, credential_id: int) -> int:
    """credential.revoked, once (revocation is final)."""
    if not _subscribed(REVOKED):
        return 0
    return _record(
        REVOKED,
        (
            (f"{REVOKED}:{c.pk}", _subject(c), _credential_data(c))
            for c in _credentials([credential_id])
        ),
    )


def roster_import_completed_record(*, import_id: int) -> int:
    """roster_import.completed, once per import."""
    if not _subscribed(ROSTER_COMPLETED):
        return 0
    from .serializers import RosterImportSerializer

    record = RosterImport.objects.select_related("uploaded_by").get(pk=import_id)
    data = _json(RosterImportSerializer(record).data)
    return _record(
        ROSTER_COMPLETED, [(f"{ROSTER_COMPLETED}:{import_id}", f"roster:{import_id}", data)]
    )


def _current_terms(condition: Q) -> Iterable[Term]:
    newer = Term.objects.filter(
        credential_id=OuterRef("credential_id"), sequence__gt=OuterRef("sequence")
    )
    return (
        Term.objects.filter(
            condition,
            credential__revoked_at__isnull=True,
            credential__verified=True,
            credential__holder__is_active=True,
        )
        .exclude(Exists(newer))
        .select_related("credential__program")
        .only(
            "pk",
            "ends_on",
            "credential_id",
            "credential__program__grace_days",
            "credential__program__reminder_days_before",
        )
        .iterator(chunk_size=2000)
    )


def _dated(event_type: str, found: list[tuple[Term, str, dict]]) -> int:
    """Record one dated event per (term, key suffix, extra data): the keys are worked out
    first, and only the events not recorded yet have their payload built."""
    by_key = {f"{event_type}:{term.pk}:{suffix}": (term, extra) for term, suffix, extra in found}
    keys = list(by_key)
    for start in range(0, len(keys), 5000):
        for known in Event.objects.filter(key__in=keys[start : start + 5000]).values_list(
            "key", flat=True
        ):
            del by_key[known]
    wanted = {term.credential_id: (key, extra) for key, (term, extra) in by_key.items()}
    items = []
    ids = list(wanted)
    for start in range(0, len(ids), 2000):
        for credential in _credentials(ids[start : start + 2000]):
            key, extra = wanted[credential.pk]
            items.append((key, _subject(credential), _credential_data(credential, **extra)))
    return _record(event_type, items)


def dated_events_record(*, on: datetime.date | None = None) -> dict[str, int]:
    """credential.expiring, credential.grace_started and credential.lapsed for every current
    term that reached one on `on` (today): for each event type an endpoint wants, one query
    for the terms in its date windows, one for the keys already recorded, and the payloads
    of the new ones only; nothing is written twice (the keys). Returns the new counts."""
    on = on or today()
    counts = {EXPIRING: 0, GRACE_STARTED: 0, LAPSED: 0}
    programs = list(Program.objects.filter(validity_months__isnull=False))
    if not programs:
        return counts
    if _subscribed(EXPIRING):
        windows = Q(pk__in=[])
        points = {}
        for program in programs:
            schedule = tuple(sorted({*(d for d in program.reminder_days if d > 0), 0}))
            points[program.pk] = schedule
            windows |= Q(
                credential__program_id=program.pk,
                ends_on__gte=on,
                ends_on__lte=on + datetime.timedelta(days=max(schedule)),
            )
        found = []
        for term in _current_terms(windows):
            days_left = (term.ends_on - on).days
            point = min(p for p in points[term.credential.program_id] if p >= days_left)
            found.append(
                (
                    term,
                    f"{term.ends_on.isoformat()}:{point}",
                    {"reminder_point_days": point, "days_left": days_left},
                )
            )
        counts[EXPIRING] = _dated(EXPIRING, found)
    if _subscribed(GRACE_STARTED):
        windows = Q(pk__in=[])
        for program in programs:
            if program.grace_days:
                windows |= Q(
                    credential__program_id=program.pk,
                    ends_on__lt=on,
                    ends_on__gte=on
                    - datetime.timedelta(days=min(program.grace_days, CATCH_UP_DAYS)),
                )
        found = [
            (
                term,
                term.ends_on.isoformat(),
                {
                    "grace_ends_on": (
                        term.ends_on + datetime.timedelta(days=term.credential.program.grace_days)
                    ).isoformat()
                },
            )
            for term in _current_terms(windows)
        ]
        counts[GRACE_STARTED] = _dated(GRACE_STARTED, found)
    if _subscribed(LAPSED):
        windows = Q(pk__in=[])
        for program in programs:
            last_valid = on - datetime.timedelta(days=program.grace_days + 1)
            windows |= Q(
                credential__program_id=program.pk,
                ends_on__lte=last_valid,
                ends_on__gte=last_valid - datetime.timedelta(days=CATCH_UP_DAYS),
            )
        found = [(term, term.ends_on.isoformat(), {}) for term in _current_terms(windows)]
        counts[LAPSED] = _dated(LAPSED, found)
    return counts
