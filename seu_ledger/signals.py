"""Signals other apps listen to (the API's webhook events), without this app importing them."""

from django.dispatch import Signal

# Sent inside the transaction of a renewal, with term_ids=[the new terms, one per credential
# renewed together]: what a listener writes commits or rolls back with the renewal.
credentials_renewed = Signal()
