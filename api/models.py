"""API tokens, webhook endpoints, and the outbox of webhook events with their deliveries."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an integration token may do, on top of its owner's staff permissions. Personal
    tokens have none of these: they reach their holder's own records only."""

    HOLDERS_READ = "holders:read", _("Read holders")
    HOLDERS_WRITE = "holders:write", _("Create and update holders")
    CREDENTIALS_READ = "credentials:read", _("Read credentials and their status")
    CREDENTIALS_WRITE = "credentials:write", _("Issue and revoke credentials")
    ROSTERS_WRITE = "rosters:write", _("Upload, check and confirm rosters")
    REMINDERS_READ = "reminders:read", _("Read reminders")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhook endpoints and deliveries")


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 digest is stored; the token itself is shown once."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal (a holder's own records)")
        INTEGRATION = "integration", _("Integration (staff, by scope)")

    kind = models.CharField(max_length=12, choices=Kind)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text=_(
            "Personal: the holder. Integration: the staff member it acts for, whose "
            "permissions bound what its scopes allow."
        ),
    )
    name = models.CharField(max_length=100, help_text=_("What it is for: “Moodle sync”."))
    scopes = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=16, editable=False, help_text=_("Its first characters."))
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class WebhookEndpoint(models.Model):
    """Where staff want events sent, signed with the endpoint's secret (Standard Webhooks)."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text=_("The event types it receives."))
    secret = models.CharField(
        max_length=100, editable=False, help_text=_("whsec_…: the receiver verifies with it.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    paused_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Set when deliveries kept failing (or by staff); no event is sent while set."),
    )
    paused_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.url


class Event(models.Model):
    """One thing that happened, written in the transaction that made it happen (the outbox):
    nothing exists for a change that rolled back. `key` makes it happen once."""

    type = models.CharField(max_length=40)
    key = models.CharField(max_length=120, unique=True)
    subject = models.CharField(
        max_length=60, help_text=_("What it is about (credential:<code>): sent in this order.")
    )
    payload = models.JSONField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.type} {self.subject}"


class Delivery(models.Model):
    """An event owed to one endpoint: sent, retried with backoff for a day, then failed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        RETRYING = "retrying", _("Failed, will be retried")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed for a day; not retried")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    subject = models.CharField(
        max_length=60, editable=False, help_text=_("The event's: deliveries about it go in order.")
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("Attempts made in this day of attempts, counted as each starts.")
    )
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="api_delivery_once")
        ]
        indexes = [
            models.Index(fields=["endpoint", "status"]),
            # "Is an earlier one about the same subject undone?", asked before every attempt.
            models.Index(
                fields=["endpoint", "subject", "id"],
                condition=models.Q(status__in=["pending", "sending", "retrying"]),
                name="api_delivery_undone",
            ),
        ]

    def __str__(self):
        return f"{self.event} to {self.endpoint}"

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks message id: the event's, the same on every attempt."""
        return f"msg_{self.event_id}"


class DeliveryAttempt(models.Model):
    """One try: what the receiver answered (its status code) or why nothing was answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
