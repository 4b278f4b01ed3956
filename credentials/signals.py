"""Signals other apps listen to. The ledger logs course hours as Learning units when attendance
is recorded, and the API writes webhook events, without this app importing either."""

from django.dispatch import Signal

# Sent inside the transaction that records attendance, with
# attendances=[(holder_id, course, hours_attended, completed), ...]
attendances_recorded = Signal()

# Sent after the transaction that revoked a credential commits, with credential_id=...
credential_revoked = Signal()

# Sent inside the transaction that issued credentials, with credential_ids=[...]: a course
# completion (one, or a roster's), or staff verifying a credential a holder had claimed. What a
# listener writes commits or rolls back with the issue.
credentials_issued = Signal()

# Sent inside the transaction that revoked a credential, with credential_id=...
credential_revocation_recorded = Signal()

# Sent inside the transaction that marks a roster import done, with import_id=...
roster_import_completed = Signal()
