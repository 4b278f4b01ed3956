"""`manage.py badge_keys`: generate, rotate, show and new; a deployment without keys is told."""

import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from badges import keys
from badges.checks import signing_key_present


def run(*args) -> str:
    out = io.StringIO()
    call_command("badge_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys" / "badge-keys.json"
    with override_settings(BADGE_SIGNING_KEYS="", BADGE_KEYS_FILE=path):
        yield path
    keys._cache.clear()


def test_generate_once_then_rotate_keeping_the_old_keys_published(key_file):
    assert signing_key_present(None)[0].id == "badges.W001"
    assert "Wrote a new signing key" in run("generate")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = keys.signing_key().kid
    assert signing_key_present(None) == []
    assert run("generate", "--if-missing") == ""
    with pytest.raises(CommandError, match="use `rotate`"):
        run("generate")
    assert "1 older key(s) stay published" in run("rotate")
    second = keys.signing_key().kid
    assert second != first
    shown = json.loads(run("show"))
    assert [key["kid"] for key in shown["keys"]] == [second, first]
    assert all("d" not in key for key in shown["keys"])


def test_keys_from_secret_storage_are_rotated_there(key_file):
    current = json.loads(run("new"))
    assert len(current["keys"]) == 1
    assert "d" in current["keys"][0]
    with override_settings(BADGE_SIGNING_KEYS=json.dumps(current)):
        with pytest.raises(CommandError, match="BADGE_SIGNING_KEYS is set"):
            run("rotate")
        rotated = json.loads(run("new"))
    assert [key["kid"] for key in rotated["keys"]][1:] == [current["keys"][0]["kid"]]
    assert not key_file.exists()
