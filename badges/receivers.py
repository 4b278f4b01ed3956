"""Status changes at once when staff act: a revocation, a term added (a renewal) or its dates
corrected (its credentials are issued anew), a credential or term deleted (its credentials are
revoked). Each runs after the change commits, but deletion, which must mark the rows before
they lose their link; if one fails, the daily job catches up."""

import logging

from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from credentials.models import Credential, Term, User
from credentials.signals import credential_revoked

from .keys import KeysMissing
from .services import (
    NotIssuable,
    badge_issue,
    badges_revoke_deleted,
    badges_supersede,
    status_refresh,
)

logger = logging.getLogger(__name__)


@receiver(credential_revoked)
def revoked(sender, credential_id, **kwargs):
    status_refresh(credential_ids=[credential_id])


def _term_changed(term_id: int, credential_id: int, created: bool) -> None:
    try:
        if created:
            term = Term.objects.filter(pk=term_id).first()
            if term is not None:
                badge_issue(term)
        else:
            badges_supersede(term_id=term_id)
    except NotIssuable:
        pass
    except KeysMissing:
        logger.warning("No Open Badges signing key: term %s gets its credential later", term_id)
    status_refresh(credential_ids=[credential_id])


@receiver(post_save, sender=Term)
def term_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    term_id, credential_id = instance.pk, instance.credential_id
    transaction.on_commit(lambda: _term_changed(term_id, credential_id, created), robust=True)


@receiver(post_save, sender=User)
def account_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """Deactivated or reactivated: the account's credentials suspended or restored at once."""
    if raw or created or (update_fields is not None and "is_active" not in update_fields):
        return
    holder_id = instance.pk
    transaction.on_commit(
        lambda: status_refresh(
            credential_ids=list(
                Credential.objects.filter(holder_id=holder_id).values_list("pk", flat=True)
            )
        ),
        robust=True,
    )


@receiver(pre_delete, sender=Credential)
def credential_deleted(sender, instance, **kwargs):
    badges_revoke_deleted(credential_ids=[instance.pk])


@receiver(pre_delete, sender=Term)
def term_deleted(sender, instance, **kwargs):
    badges_revoke_deleted(term_ids=[instance.pk])
