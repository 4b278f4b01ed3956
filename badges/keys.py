"""The deployment's signing keys for Open Badges credentials and status lists.

Keys are a JSON Web Key Set of private P-256 keys (ES256), newest first: the first one signs,
every one stays published (JWKS and did:web document) so that credentials signed before a
rotation still verify. They are read from the BADGE_SIGNING_KEYS setting (the key set itself,
for secret storage handed over as an environment variable) or else from the file at
BADGE_KEYS_FILE; `manage.py badge_keys` creates and rotates that file.
"""

import json
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from joserfc.jwk import ECKey

ALGORITHM = "ES256"
CURVE = "P-256"
NO_KEYS = (
    "No Open Badges signing key: set BADGE_SIGNING_KEYS or run `manage.py badge_keys generate` "
    "(it writes BADGE_KEYS_FILE)."
)


class KeysMissing(ImproperlyConfigured):
    """The deployment has no signing key (the message says how to make one)."""


def key_new() -> ECKey:
    """A new P-256 private key, its `kid` the RFC 7638 thumbprint."""
    key = ECKey.generate_key(CURVE, private=True)
    return ECKey.import_key(
        key.as_dict(private=True), {"kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}
    )


def _key_set_text() -> str | None:
    configured = (getattr(settings, "BADGE_SIGNING_KEYS", "") or "").strip()
    if configured:
        return configured
    path = Path(settings.BADGE_KEYS_FILE)
    if path.exists():
        return path.read_text(encoding="utf-8")
    return None


_cache: dict[str, list[ECKey]] = {}


def keys() -> list[ECKey]:
    """Every key, newest (the signing one) first. Raises KeysMissing when there is none, and
    ImproperlyConfigured naming the problem when the key set is not a set of EC private keys."""
    text = _key_set_text()
    if text is None:
        raise KeysMissing(NO_KEYS)
    if text in _cache:
        return _cache[text]
    try:
        members = json.loads(text)["keys"]
        loaded = [ECKey.import_key(member) for member in members]
    except (ValueError, KeyError, TypeError) as bad:
        raise ImproperlyConfigured(f"The Open Badges key set cannot be read: {bad}") from bad
    if not loaded:
        raise KeysMissing(NO_KEYS)
    for key in loaded:
        if not key.is_private or key.kid is None:
            raise ImproperlyConfigured(
                "Every Open Badges signing key needs its private part and a kid."
            )
        if key.as_dict(private=False).get("crv") != CURVE:
            raise ImproperlyConfigured(f"Open Badges signing keys are {CURVE} keys (ES256).")
    _cache.clear()
    _cache[text] = loaded
    return loaded


def signing_key() -> ECKey:
    """The key that signs from now on: the newest."""
    return keys()[0]


def public_jwks() -> dict:
    """The public parts of every key, as a JWKS: what verifiers fetch."""
    return {"keys": [key.as_dict(private=False) for key in keys()]}


def key_by_kid(kid: str) -> ECKey | None:
    """A published key by its kid (the part after '#' in a did:web key id)."""
    return next((key for key in keys() if key.kid == kid), None)


def key_file_write(members: list[ECKey], path: Path | None = None) -> Path:
    """Write the key set to BADGE_KEYS_FILE (or `path`) atomically, readable by its owner only."""
    path = Path(path or settings.BADGE_KEYS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"keys": [key.as_dict(private=True) for key in members]}, indent=2)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".badge-keys-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
    _cache.clear()
    return path


def keys_in_file(path: Path | None = None) -> list[ECKey]:
    path = Path(path or settings.BADGE_KEYS_FILE)
    if not path.exists():
        return []
    return [ECKey.import_key(member) for member in json.loads(path.read_text())["keys"]]


def key_rotate(path: Path | None = None) -> ECKey:
    """A new signing key at the head of the key file; the older ones stay, published, so the
    credentials they signed still verify. Returns the new key."""
    new = key_new()
    key_file_write([new, *keys_in_file(path)], path)
    return new
