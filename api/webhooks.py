"""Sending webhook deliveries: signed per the Standard Webhooks specification (its library),
one worker per attempt (a conditional UPDATE claims it), in event order per endpoint and
subject, retried with backoff for a day, then failed; an endpoint whose delivery fails for a
day is paused and staff are told."""

import datetime
import http.client
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from standardwebhooks.webhooks import Webhook

from credentials.models import User
from cspo_tracker.addresses import private_host
from cspo_tracker.claims import new_owner
from cspo_tracker.emails import email_send

from .events import EVENT_TYPES
from .models import Delivery, DeliveryAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd... failed attempt; then one last attempt a day after the first.
RETRY_DELAYS = (
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
)
GIVE_UP_AFTER = datetime.timedelta(days=1)
# A claim on a delivery older than this is a worker that died while sending it: far above
# what one attempt may take (TIMEOUT_SECONDS for each step of the request).
SENDING_EXPIRES = datetime.timedelta(minutes=10)
TIMEOUT_SECONDS = 10
# Attempts in a day: the first, one after each of RETRY_DELAYS, and the last a day on.
MAX_ATTEMPTS = len(RETRY_DELAYS) + 2
GAVE_UP = "Not sent again: the last attempts never came back (the worker stopped)."
UNDONE = (Delivery.Status.PENDING, Delivery.Status.SENDING, Delivery.Status.RETRYING)

URL_SCHEME = _("URL: a webhook endpoint must be an https:// address.")
URL_INVALID = _("URL: enter a whole web address, such as https://hr.example.com/webhooks.")
URL_CREDENTIALS = _("URL: leave the user name and password out; the signature proves who sends.")
URL_PRIVATE = _(
    "URL: that address is on a private or local network; webhooks go to public addresses."
)
SENDING_REFUSED = "Not sent: {host} is on a private or local network."
EVENTS_REQUIRED = _("Events: choose at least one event to receive.")
EVENT_UNKNOWN = _("Events: “{event}” is not an event type.")
NOT_RESENDABLE = _("A delivery that is being sent now cannot be sent again yet.")
PAUSED_REASON = "Deliveries to it failed for a day (last: {last})."


def secret_new() -> str:
    """A signing secret in the Standard Webhooks form: whsec_ and 24 random bytes, base64."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_errors(url: str | None, events: list | None) -> dict[str, list[str]]:
    """What is wrong with an endpoint's URL (https only, unless WEBHOOKS_ALLOW_HTTP or DEBUG;
    no user name or password in it; not a private or local address) and events (known
    types, at least one), by field; None skips a field."""
    errors = {}
    if url is not None:
        schemes = ["https", "http"] if settings.DEBUG or settings.WEBHOOKS_ALLOW_HTTP else ["https"]
        parts = urlsplit(url)
        try:
            URLValidator(schemes=schemes)(url)
        except ValidationError:
            errors["url"] = [URL_SCHEME if parts.scheme.lower() not in schemes else URL_INVALID]
        else:
            try:
                port = parts.port
            except ValueError:
                port = 0
            if parts.username or parts.password:
                errors["url"] = [URL_CREDENTIALS]
            elif port == 0 or (port is not None and not 0 < port < 65536):
                errors["url"] = [URL_INVALID]
            elif not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES and private_host(
                parts.hostname or ""
            ):
                errors["url"] = [URL_PRIVATE]
    if events is not None:
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            errors["events"] = [EVENT_UNKNOWN.format(event=unknown[0])]
        elif not events:
            errors["events"] = [EVENTS_REQUIRED]
    return errors


def endpoint_create(
    *, url: str, events: list[str], description: str = "", created_by: User | None = None
) -> WebhookEndpoint:
    """Register an endpoint for `events` (keys of EVENT_TYPES) with a new signing secret.
    Raises ValidationError by field (url, events)."""
    errors = endpoint_errors(url, events)
    if errors:
        raise ValidationError(errors)
    return WebhookEndpoint.objects.create(
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=secret_new(),
        created_by=created_by,
    )


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    paused: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; `paused=False` resumes one (its waiting deliveries go at once),
    `paused=True` stops sending to it. Raises ValidationError by field."""
    errors = endpoint_errors(url, events)
    if errors:
        raise ValidationError(errors)
    fields = []
    if url is not None:
        endpoint.url, fields = url, [*fields, "url"]
    if events is not None:
        endpoint.events, fields = sorted(set(events)), [*fields, "events"]
    if description is not None:
        endpoint.description, fields = description, [*fields, "description"]
    if paused is True and endpoint.paused_at is None:
        endpoint.paused_at, endpoint.paused_reason = timezone.now(), "Paused by staff."
        fields += ["paused_at", "paused_reason"]
    resumed = paused is False and endpoint.paused_at is not None
    if resumed:
        endpoint.paused_at, endpoint.paused_reason = None, ""
        fields += ["paused_at", "paused_reason"]
        # What waited while it was paused, and what failed for a day before it was (the
        # receiver is back), gets a whole day of attempts from now, in order.
        Delivery.objects.filter(
            endpoint=endpoint,
            status__in=(
                Delivery.Status.PENDING,
                Delivery.Status.RETRYING,
                Delivery.Status.FAILED,
            ),
        ).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=timezone.now(),
            claim_token="",
        )
    if fields:
        endpoint.save(update_fields=fields)
    if resumed:
        pk = endpoint.pk
        transaction.on_commit(lambda: deliveries_queue(endpoint_id=pk), robust=True)
    return endpoint


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Send a delivery again (staff's "send again"): a failed or delivered one starts a new
    day of attempts now. Raises ValidationError while it is being sent."""
    now = timezone.now()
    changed = (
        Delivery.objects.filter(pk=delivery.pk)
        .exclude(status=Delivery.Status.SENDING, claimed_at__gte=now - SENDING_EXPIRES)
        .update(
            status=Delivery.Status.PENDING,
            attempts=0,
            first_attempt_at=None,
            next_attempt_at=now,
            claim_token="",
            delivered_at=None,
            last_status_code=None,
            last_error="",
        )
    )
    if not changed:
        raise ValidationError(NOT_RESENDABLE)
    pk = delivery.pk
    transaction.on_commit(lambda: _enqueue([pk]), robust=True)
    delivery.refresh_from_db()
    return delivery


def _enqueue(delivery_ids) -> None:
    from .tasks import deliver

    for pk in delivery_ids:
        deliver.delay(pk)


def _earlier_undone() -> Exists:
    return Exists(
        Delivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"),
            subject=OuterRef("subject"),
            pk__lt=OuterRef("pk"),
            status__in=UNDONE,
        )
    )


def _due(now) -> Q:
    """Deliveries a worker may take now: waiting and due, or held by a worker that died."""
    waiting = Q(status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING)) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=Delivery.Status.SENDING, claimed_at__lt=now - SENDING_EXPIRES)
    return (waiting | abandoned) & Q(endpoint__paused_at__isnull=True)


def retry_at(first_attempt_at, attempts: int):
    """When attempt number `attempts + 1` is due after `attempts` failed ones, or None when
    the day is over. The schedule: RETRY_DELAYS, then one last try a day after the first."""
    if attempts <= len(RETRY_DELAYS):
        return timezone.now() + RETRY_DELAYS[attempts - 1]
    last = first_attempt_at + GIVE_UP_AFTER
    if attempts == len(RETRY_DELAYS) + 1 and last > timezone.now():
        return last
    return None


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer that is not 2xx: the attempt failed


_opener = urllib.request.build_opener(_NoRedirects)


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, now) -> dict[str, str]:
    """The Standard Webhooks headers: webhook-id (the same on every attempt), -timestamp and
    -signature (v1, HMAC-SHA256 of id.timestamp.body with the endpoint's secret)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "CSPO-Tracker-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(msg_id, now, body),
    }


def _post(delivery: Delivery) -> Answer:
    endpoint = delivery.endpoint
    body = json.dumps(delivery.event.payload, separators=(",", ":"))
    now = timezone.now()
    request = urllib.request.Request(  # noqa: S310 -- staff register https endpoints only
        endpoint.url,
        data=body.encode(),
        headers=signed_headers(endpoint, delivery.webhook_id, body, now),
        method="POST",
    )
    host = urlsplit(endpoint.url).hostname or ""
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES and private_host(host):
        # Checked again at each send: a name may point somewhere else since it was registered.
        return Answer(None, SENDING_REFUSED.format(host=host), 0)
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(64 * 1024)
            code, error = response.status, ""
    except urllib.error.HTTPError as answer:
        code, error = answer.code, f"HTTP {answer.code} {answer.reason}"
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as failure:
        reason = getattr(failure, "reason", failure)
        code, error = None, f"No answer: {reason}"
    return Answer(code, error[:500], int((time.monotonic() - started) * 1000))


def deliver(delivery_id: int) -> Delivery | None:
    """Make one attempt at a delivery if it is due and no worker holds it, and none before it
    (to the same endpoint, about the same subject) is undone; record what the receiver
    answered. Returns the delivery, or None when this worker did not take it.

    The attempt is counted when it is claimed, so a delivery whose worker dies while sending
    still reaches its last attempt and fails, instead of blocking its subject for ever."""
    now = timezone.now()
    seen = (
        Delivery.objects.filter(_due(now), pk=delivery_id)
        .exclude(_earlier_undone())
        .values("status", "claim_token", "attempts")
        .first()
    )
    if seen is None:
        return None
    token = new_owner()
    # Compare-and-set on this one row: PostgreSQL checks a one-table condition again on the
    # row version it locked, so of two workers that saw it free, only one takes it.
    taken = Delivery.objects.filter(pk=delivery_id, **seen).update(
        status=Delivery.Status.SENDING,
        claim_token=token,
        claimed_at=now,
        attempts=F("attempts") + 1,
        first_attempt_at=Coalesce("first_attempt_at", Value(now)),
    )
    if not taken:
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    # More attempts than a day has: the last ones never came back (a worker died sending).
    dead = delivery.attempts > MAX_ATTEMPTS
    answer = Answer(None, GAVE_UP, 0) if dead else _post(delivery)
    return _record_answer(delivery, token, answer)


def _record_answer(delivery: Delivery, token: str, answer: Answer) -> Delivery:
    now = timezone.now()
    changes = {
        "last_status_code": answer.status_code,
        "last_error": answer.error,
        "claim_token": "",
    }
    if answer.ok:
        changes.update(status=Delivery.Status.SUCCEEDED, delivered_at=now, next_attempt_at=None)
    else:
        later = retry_at(delivery.first_attempt_at, delivery.attempts)
        if later is None or delivery.attempts > MAX_ATTEMPTS:
            changes.update(status=Delivery.Status.FAILED, next_attempt_at=None)
        else:
            changes.update(status=Delivery.Status.RETRYING, next_attempt_at=later)
    with transaction.atomic():
        held = Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(**changes)
        if held:  # else another worker took it over after SENDING_EXPIRES: its answer counts
            DeliveryAttempt.objects.create(
                delivery=delivery,
                attempted_at=now,
                status_code=answer.status_code,
                error=answer.error,
                duration_ms=answer.duration_ms,
            )
            if changes["status"] == Delivery.Status.FAILED:
                _pause(delivery.endpoint, answer)
    delivery.refresh_from_db()
    if delivery.status in (Delivery.Status.SUCCEEDED, Delivery.Status.FAILED):
        # The next delivery about the same subject was waiting for this one.
        _next_in_line(delivery)
    elif delivery.status == Delivery.Status.RETRYING and delivery.next_attempt_at:
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        if wait < 10 * 60:  # longer waits are left to the sweep, not to a broker's countdown
            from .tasks import deliver as deliver_task

            deliver_task.apply_async((delivery.pk,), countdown=max(wait, 0))
    return delivery


def _next_in_line(delivery: Delivery) -> None:
    following = (
        Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            subject=delivery.subject,
            pk__gt=delivery.pk,
            status__in=(Delivery.Status.PENDING, Delivery.Status.RETRYING),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following:
        _enqueue([following])


def _pause(endpoint: WebhookEndpoint, answer: Answer) -> None:
    last = f"HTTP {answer.status_code}" if answer.status_code else answer.error
    reason = PAUSED_REASON.format(last=last)[:300]
    paused = WebhookEndpoint.objects.filter(pk=endpoint.pk, paused_at__isnull=True).update(
        paused_at=timezone.now(), paused_reason=reason
    )
    if paused:
        pk = endpoint.pk
        transaction.on_commit(lambda: endpoint_paused_notify(endpoint_id=pk), robust=True)


def endpoint_paused_notify(*, endpoint_id: int) -> int:
    """Email the staff who manage webhooks (and whoever registered the endpoint) that it was
    paused, why, and how to resume it. Returns how many were told."""
    endpoint = WebhookEndpoint.objects.select_related("created_by").get(pk=endpoint_id)
    permission = Permission.objects.filter(
        content_type__app_label="api", codename="change_webhookendpoint"
    )
    staff = User.objects.filter(is_active=True, is_staff=True).filter(
        Q(is_superuser=True)
        | Q(user_permissions__in=permission)
        | Q(groups__permissions__in=permission)
        | Q(pk=endpoint.created_by_id)
    )
    addresses = sorted(set(staff.values_list("email", flat=True)))
    for address in addresses:
        email_send(to=address, template="webhook_paused", context={"endpoint": endpoint})
    return len(addresses)


def deliveries_queue(*, endpoint_id: int | None = None, now=None) -> int:
    """Queue the deliveries that are due (the sweep: a minute's beat), of every endpoint or
    of one, at most 5,000 a run, leaving out those waiting for an earlier one about the same
    subject (sent when that one is done). Returns how many were queued."""
    now = now or timezone.now()
    due = Delivery.objects.filter(_due(now)).exclude(_earlier_undone())
    if endpoint_id is not None:
        due = due.filter(endpoint_id=endpoint_id)
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:5000])
    _enqueue(ids)
    return len(ids)
