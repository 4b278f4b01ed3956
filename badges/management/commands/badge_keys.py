"""Open Badges signing keys: generate the key file, rotate it, or print the published keys."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from badges.keys import key_file_write, key_new, key_rotate, keys, keys_in_file, public_jwks


class Command(BaseCommand):
    help = (
        "generate: write a first signing key to BADGE_KEYS_FILE (--if-missing: only when there "
        "is none); rotate: a new signing key, the old ones kept and published so credentials "
        "they signed still verify; show: the public keys verifiers see; new: print a new key set "
        "for secret storage (BADGE_SIGNING_KEYS; with one set, the new key first and the old ones "
        "after it) without writing a file."
    )

    # Making the first key is what the signing-key check asks for: it must not warn first.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["generate", "rotate", "show", "new"])
        parser.add_argument("--if-missing", action="store_true")

    def handle(self, *args, action, if_missing, **options):
        path = settings.BADGE_KEYS_FILE
        if action == "new":
            # With BADGE_SIGNING_KEYS set, the set to store next: the new key first, the old
            # ones after it (still published).
            members = [key_new(), *(keys() if settings.BADGE_SIGNING_KEYS else [])]
            self.stdout.write(json.dumps({"keys": [key.as_dict(private=True) for key in members]}))
            return
        if action == "show":
            self.stdout.write(json.dumps(public_jwks(), indent=2))
            return
        if settings.BADGE_SIGNING_KEYS:
            raise CommandError(
                "BADGE_SIGNING_KEYS is set: keys come from secret storage, not the file. "
                "Rotate there: store what `badge_keys new` prints (the new key first)."
            )
        if action == "generate":
            if keys_in_file(path):
                if if_missing:
                    return
                raise CommandError(f"{path} has keys already: use `rotate` for a new one.")
            key = key_new()
            key_file_write([key], path)
            self.stdout.write(f"Wrote a new signing key {key.kid} to {path}.")
            return
        key = key_rotate(path)
        kept = len(keys_in_file(path)) - 1
        self.stdout.write(
            f"New signing key {key.kid}; {kept} older key(s) stay published for the credentials "
            "they signed."
        )
