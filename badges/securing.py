"""VC-JOSE securing (W3C "Securing Verifiable Credentials using JOSE and COSE"): a credential
is the payload of a compact JWS with `typ: vc+jwt`, signed ES256 by the deployment's key and
naming that key by its did:web verification method. joserfc does the cryptography and the
encoding; this module only says which header and which key."""

import json
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils.translation import gettext
from joserfc import jws
from joserfc.errors import JoseError

from . import keys

MEDIA_TYPE = "application/vc+jwt"
TYP = "vc+jwt"


class NotOurs(ValueError):
    """The JWS was not signed by one of this deployment's keys, or does not parse; the message
    says which, for a verifier to read."""


def issuer_did() -> str:
    """This deployment's did:web, from SITE_URL's host and port (a port percent-encoded, as
    the did:web method says). It resolves to /.well-known/did.json on that host, so the site
    must be served at the host's root."""
    return "did:web:" + quote(urlsplit(settings.SITE_URL).netloc, safe="")


def verification_method(kid: str) -> str:
    return f"{issuer_did()}#{kid}"


def sign(document: dict, key=None) -> str:
    """The compact JWS (vc+jwt) of a credential or status list credential (a JSON object), by
    `key` (the current signing key by default)."""
    key = key or keys.signing_key()
    header = {"alg": keys.ALGORITHM, "typ": TYP, "kid": verification_method(key.kid)}
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[keys.ALGORITHM])


@dataclass(frozen=True)
class Opened:
    """A vc+jwt whose signature checked out: its protected header, the credential, the kid."""

    header: dict
    document: dict
    kid: str


def open_signed(token: str) -> Opened:
    """Check the signature of a vc+jwt against this deployment's published keys and return
    its content. Raises NotOurs with the reason: not a compact JWS, not vc+jwt, a key that is
    not ours, a signature that does not match (the content was changed)."""
    token = token.strip()
    if token.count(".") != 2:
        raise NotOurs(gettext("This is not a signed credential (a vc+jwt has three parts)."))
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError, RecursionError) as bad:
        raise NotOurs(gettext("The credential's signature block cannot be read.")) from bad
    if not isinstance(header, dict) or set(header) - {"alg", "typ", "kid"}:
        # We sign with these three and nothing else; "crit" and the rest are not ours.
        raise NotOurs(gettext("The credential's header is not the one this site signs with."))
    if header.get("typ") != TYP:
        raise NotOurs(gettext("The credential is not a vc+jwt, the kind this site signs."))
    if header.get("alg") != keys.ALGORITHM:
        raise NotOurs(gettext("The credential is signed with an algorithm this site does not use."))
    method = str(header.get("kid", ""))
    did, _, kid = method.partition("#")
    if did != issuer_did():
        raise NotOurs(gettext("The credential was not signed by this site."))
    key = keys.key_by_kid(kid)
    if key is None:
        raise NotOurs(gettext("The credential names a signing key this site never published."))
    try:
        verified = jws.deserialize_compact(token, key, algorithms=[keys.ALGORITHM])
    except (JoseError, ValueError, TypeError) as bad:
        raise NotOurs(gettext("The signature does not match: the credential was changed.")) from bad
    try:
        document = json.loads(verified.payload)
    except (ValueError, RecursionError) as bad:
        raise NotOurs(gettext("The signed content is not JSON.")) from bad
    if not isinstance(document, dict):
        raise NotOurs(gettext("The signed content is not a credential."))
    if document.get("iss") != did:
        raise NotOurs(gettext("The credential's iss claim does not name this site."))
    return Opened(header=dict(verified.headers()), document=document, kid=kid)
