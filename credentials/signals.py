"""Signals other apps listen to. The ledger logs course hours as Learning units when attendance
is recorded, without this app importing the ledger."""

from django.dispatch import Signal

# Sent inside the transaction that records attendance, with
# attendances=[(holder_id, course, hours_attended, completed), ...]
attendances_recorded = Signal()

# Sent after the transaction that revoked a credential commits, with credential_id=...
credential_revoked = Signal()
