"""Status changes at once when staff act: a revocation, a term added (a renewal) or its dates
corrected. Each runs after the change commits; if it fails, the daily job catches up."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from credentials.models import Term
from credentials.signals import credential_revoked

from .keys import KeysMissing
from .services import NotIssuable, badge_issue, status_refresh

logger = logging.getLogger(__name__)


@receiver(credential_revoked)
def revoked(sender, credential_id, **kwargs):
    status_refresh(credential_ids=[credential_id])


def _term_changed(term_id: int, credential_id: int, created: bool) -> None:
    status_refresh(credential_ids=[credential_id])
    if not created:
        return
    try:
        term = Term.objects.get(pk=term_id)
        badge_issue(term)
    except (NotIssuable, Term.DoesNotExist):
        return
    except KeysMissing:
        logger.warning("No Open Badges signing key: term %s gets its badge later", term_id)


@receiver(post_save, sender=Term)
def term_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    term_id, credential_id = instance.pk, instance.credential_id
    transaction.on_commit(lambda: _term_changed(term_id, credential_id, created), robust=True)
