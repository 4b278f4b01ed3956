"""Password hashers for tests: one that counts how often it hashes (fast, for tests that pin
equal work), and a counter of the hashes the production hashers compute."""

import functools
from collections import Counter
from contextlib import ExitStack, contextmanager
from unittest import mock

from django.conf import global_settings, settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils.module_loading import import_string

from cspo_tracker import settings as project_settings

# What production hashes with: the project's list, or Django's own where it sets none.
PRODUCTION_HASHERS = getattr(project_settings, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)

# A hasher's methods that compute a hash: a new one (a password set, an old hash upgraded, or
# the stand-in an unknown address costs), checking one, and PBKDF2's extra rounds after a wrong
# password against a hash of fewer rounds.
HASHING_METHODS = ("encode", "verify", "harden_runtime")


class CountingHasher(MD5PasswordHasher):
    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@contextmanager
def hasher_calls():
    """Count the hashes the configured PASSWORD_HASHERS compute inside the block, as a Counter
    of (algorithm, method) such as ("argon2", "verify"). A method another calls (PBKDF2's verify
    encodes) counts once, as the outer call: the count is of hashes computed, not of calls."""
    calls = Counter()
    depth = []

    def counting(name, original):
        @functools.wraps(original)
        def wrapper(self, *args, **kwargs):
            if not depth:
                calls[self.algorithm, name] += 1
            depth.append(name)
            try:
                return original(self, *args, **kwargs)
            finally:
                depth.pop()

        return wrapper

    with ExitStack() as stack:
        for path in settings.PASSWORD_HASHERS:
            hasher = import_string(path)
            for name in HASHING_METHODS:
                original = getattr(hasher, name)
                stack.enter_context(mock.patch.object(hasher, name, counting(name, original)))
        yield calls
