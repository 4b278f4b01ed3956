"""The claims the test provider puts in id_tokens and the userinfo answer."""

from oauth2_provider.oauth2_validators import OAuth2Validator

# Members of this group have an email address the provider has not verified.
UNVERIFIED_GROUP = "unverified-email"


class ClaimsValidator(OAuth2Validator):
    # Taking no request makes these claims listed in discovery's claims_supported; each value is
    # computed per token. DOT adds `sub` (the user's pk as a string) and hands out each claim
    # only with its scope: email and email_verified with "email", the names with "profile".
    def get_additional_claims(self):
        return {
            "email": lambda request: request.user.email,
            "email_verified": lambda request: (
                not request.user.groups.filter(name=UNVERIFIED_GROUP).exists()
            ),
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
            "name": lambda request: request.user.get_full_name(),
        }
