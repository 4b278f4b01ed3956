"""Settings come from the environment; production refuses to start half-configured."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k3y-for-tests-" + "x9Qv2Lm7Rt4Wz8Bn1Yc6Hd3Jf5Ks0Pg" * 2,
    "ALLOWED_HOSTS": "cspo.example.com",
    "SITE_URL": "https://cspo.example.com",
    "DATABASE_URL": "postgres://cspo:secret@db.internal:5432/cspo",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    # Production keeps its Open Badges keys in secret storage (without them, check warns).
    "BADGE_SIGNING_KEYS": (Path(__file__).parents[1] / "badges" / "test-keys.json").read_text(),
}


def run_manage(*args, env_overrides):
    """Run manage.py in a fresh process with only the given configuration in its environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "VAR_DIR", "MEDIA_ROOT")
    }
    env["DJANGO_SETTINGS_MODULE"] = "cspo_tracker.settings"
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}
    result = run_manage("check", env_overrides=env)
    assert result.returncode != 0
    assert f"DEBUG is off, so {missing} must be set" in result.stderr


def test_production_check_deploy_is_clean():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_environment_switches_database_broker_and_email():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], "
        "s.CELERY_BROKER_URL, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_USE_TLS, s.SITE_URL)"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.internal",
        "redis://redis.internal:6379/0",
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "True",
        "https://cspo.example.com",
    ]


def test_laptop_defaults_need_no_services(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", code, env_overrides={"VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.mail.backends.console.EmailBackend",
    ]
    assert (tmp_path / "broker" / "queue").is_dir()


def test_env_example_documents_every_variable_the_settings_read():
    settings_source = (PROJECT_ROOT / "cspo_tracker" / "settings.py").read_text()
    example = (PROJECT_ROOT / ".env.example").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_source))
    assert read, "the settings read no variables?"
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.M))
    assert read - documented == set(), "missing from .env.example"
    assert {name for name in read if f"`{name}`" not in readme} == set(), "missing from README"
