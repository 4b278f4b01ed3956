"""Open Badges 3.0 credentials as issued, their places in the status lists, and the DID a
holder gives to be named by in them."""

import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials.models import Credential, Term, User

# Bits in one W3C Bitstring Status List: the specification's minimum (16 KB), which hides any
# one credential among at least this many.
STATUS_LIST_SIZE = 131_072


# DID Core's syntax: did:<method-name>:<method-specific-id>, the id of idchars (letters,
# digits, ".", "-", "_", percent-encodings) in colon-separated parts, the last not empty.
DID_SYNTAX = re.compile(
    r"did:[a-z0-9]+:(?:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+"
)


def validate_did(value: str) -> None:
    """A DID in the W3C DID Core syntax (raises ValidationError naming the expected form)."""
    if not DID_SYNTAX.fullmatch(value):
        raise ValidationError(
            _("Enter a DID such as did:key:z6Mk... or did:web:example.com."), code="invalid"
        )


class BadgeSubject(models.Model):
    """How a holder is named in the credentials issued to them: by a DID they control, or
    (without one) by a salted hash of their email address."""

    holder = models.OneToOneField(User, on_delete=models.CASCADE, related_name="badge_subject")
    did = models.CharField(
        _("DID"),
        max_length=500,
        blank=True,
        validators=[validate_did],
        help_text=_("A decentralised identifier from your wallet; empty for none."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.holder}: {self.did or 'email hash'}"


class IssuedBadge(models.Model):
    """One signed OpenBadgeCredential for one term of a credential, kept exactly as issued,
    with its place in the revocation and suspension status lists and the bits published
    there."""

    # Kept when the credential or term is deleted: a credential that is gone is revoked, and
    # its bit is never handed to another.
    credential = models.ForeignKey(
        Credential, on_delete=models.SET_NULL, null=True, related_name="badges"
    )
    term = models.ForeignKey(Term, on_delete=models.SET_NULL, null=True, related_name="badges")
    badge_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issued_at = models.DateTimeField(default=timezone.now, editable=False)
    subject_did = models.CharField(max_length=500, blank=True, editable=False)
    valid_from = models.DateField(editable=False, help_text=_("The term's start, as signed."))
    valid_until = models.DateField(
        null=True, blank=True, editable=False, help_text=_("The last valid day, as signed.")
    )
    key_id = models.CharField(max_length=100, editable=False)
    jwt = models.TextField(editable=False, help_text=_("The credential as issued (vc+jwt)."))
    status_list = models.PositiveIntegerField(default=1, editable=False)
    status_index = models.PositiveIntegerField(editable=False)
    revoked = models.BooleanField(default=False, editable=False)
    suspended = models.BooleanField(default=False, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When staff corrected the term's dates: this one is revoked and a new one "
            "issued with the dates as they are."
        ),
    )

    class Meta:
        ordering = ["credential", "term__sequence", "issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status_list", "status_index"], name="badges_one_badge_per_status_bit"
            ),
            models.UniqueConstraint(
                fields=["term", "subject_did"],
                condition=models.Q(superseded_at__isnull=True),
                name="badges_one_badge_per_term_and_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(status_index__lt=STATUS_LIST_SIZE),
                name="badges_status_index_in_list",
            ),
        ]

    def __str__(self):
        return f"Open Badge {self.badge_id} ({self.term})"

    @property
    def urn(self) -> str:
        return f"urn:uuid:{self.badge_id}"
