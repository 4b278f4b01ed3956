"""The apps' domain signals, written to the webhook outbox in the same transaction."""

from django.dispatch import receiver

from credentials.signals import (
    credential_revocation_recorded,
    credentials_issued,
    roster_import_completed,
)
from seu_ledger.signals import credentials_renewed

from . import events


@receiver(credentials_issued)
def issued(sender, credential_ids, **kwargs):
    events.credentials_issued_record(credential_ids=credential_ids)


@receiver(credentials_renewed)
def renewed(sender, term_ids, **kwargs):
    events.credentials_renewed_record(term_ids=term_ids)


@receiver(credential_revocation_recorded)
def revoked(sender, credential_id, **kwargs):
    events.credential_revoked_record(credential_id=credential_id)


@receiver(roster_import_completed)
def roster_completed(sender, import_id, **kwargs):
    events.roster_import_completed_record(import_id=import_id)
