"""Signed, expiring links for accounts: one kind per purpose, never interchangeable."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class AccountTokenGenerator(PasswordResetTokenGenerator):
    """Links for one purpose (sign-up confirmation, invitation, password reset) that stop
    working once used: the hash covers the password, the last sign-in, the address, the
    account state and when that state last changed, so setting a password, confirming,
    deactivating (even followed by reactivating) or changing the address spends every
    outstanding link. They last PASSWORD_RESET_TIMEOUT."""

    def __init__(self, purpose: str):
        self.key_salt = f"cspo_tracker.credentials.accounts.{purpose}"
        super().__init__()

    def _make_hash_value(self, user, timestamp):
        changed = "" if user.state_changed_at is None else user.state_changed_at.isoformat()
        return f"{super()._make_hash_value(user, timestamp)}{user.state}{changed}"


sign_up_tokens = AccountTokenGenerator("sign-up")
invitation_tokens = AccountTokenGenerator("invitation")
password_tokens = AccountTokenGenerator("password")

# Address changes are signed (django.core.signing) with these salts; a link lasts as long as
# the other account links.
EMAIL_CHANGE_SALT = "cspo_tracker.credentials.email-change"
EMAIL_CHANGE_CANCEL_SALT = "cspo_tracker.credentials.email-change-cancel"
# A secondary address is confirmed from a link signed with this salt, naming the account, the
# address and its row (removing or adding it again spends the link).
ADDRESS_CONFIRM_SALT = "cspo_tracker.credentials.address-confirm"
