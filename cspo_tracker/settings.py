"""Settings for every machine, read from the environment (12-factor).

With no variable set, everything runs on one laptop with no services installed: a SQLite file,
Celery on kombu's filesystem broker and email printed to the console. Production sets DEBUG=false
and the URLs of its services; see .env.example and the README for every variable.
"""

import datetime
import os
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=True)

# Local state of the embedded defaults (SQLite file, broker queue, beat schedule, uploads).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _debug_secret_key(var_dir: Path) -> str:
    """A random key made once per install and kept in VAR_DIR, for debug runs without
    SECRET_KEY: never a published one, so nobody can forge this install's signed links."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Written whole to a private file, then linked into place: processes starting together
        # either make the link or find the one another made, never a half-written file.
        draft = var_dir / f".secret_key.{os.getpid()}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _debug_secret_key(VAR_DIR)
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    # Refuse to start a production process on a guessable key or an open Host header.
    SECRET_KEY = env.str("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    missing = [
        name
        for name, value in (("SECRET_KEY", SECRET_KEY), ("ALLOWED_HOSTS", ALLOWED_HOSTS))
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            f"DEBUG is off, so {' and '.join(missing)} must be set in the environment."
        )

# Absolute links in emails and calendar feeds point here.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",  # Bootstrap 5 CSS and JS, shipped as a Python package
    "simple_history",  # the audit trail of credentials, terms, entries and fees
    "axes",  # login throttling
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
    "credentials",
    "seu_ledger",
    "badges",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are personal: no browser or proxy keeps a copy of any answer, error pages included
    # (static files are served above).
    "cspo_tracker.middleware.NoStoreMiddleware",
    # API reads: ETags and 304s (inside NoStore, so API answers are private, no-cache instead).
    "api.middleware.ApiConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # A visitor's language: the picker's cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads a posted form (its uploads too): an oversized body
    # for a view with a limit is refused unread.
    "cspo_tracker.middleware.RequestSizeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "credentials.sessions.AuthenticationMiddleware",
    # A signed-in account's saved language and time zone win over the visitor's.
    "cspo_tracker.locale.PreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the audit trail.
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "cspo_tracker.middleware.StaffAreaMiddleware",
    # Last, as django-axes requires: refuses sign-in attempts from a locked-out client.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cspo_tracker.urls"
WSGI_APPLICATION = "cspo_tracker.wsgi.application"

# Django's own date formats (admin, widgets) in the project's one style.
FORMAT_MODULE_PATH = ["cspo_tracker.locale_formats"]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cspo_tracker.context_processors.site",
                "cspo_tracker.context_processors.nav",
            ],
            # Filters every template has unloaded (one date and number style), and tags any
            # app's templates may load (the form error summary, Bootstrap fields); apps keep
            # their own.
            # Every template has the translation tags and the display filters without loading them.
            "builtins": ["django.templatetags.i18n", "cspo_tracker.display"],
            "libraries": {
                "form_errors": "cspo_tracker.templatetags.form_errors",
                "form_fields": "cspo_tracker.templatetags.form_fields",
            },
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks, take the write lock up front, and let
    # readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # A health check is a round trip before each request's first query. Off, a connection the
    # database dropped fails the one request that meets it, and Django then replaces it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
        "DATABASE_CONN_HEALTH_CHECKS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Accounts ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "credentials.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # an invitation or reset link lasts three days
# New passwords are hashed with Argon2id (Django's recommended hasher, with Django's
# parameters); the PBKDF2 hashers stay only to check the hashes stored before it, and a sign-in
# with one of those stores the password again as Argon2id. Every hash this project ever stored
# came from one of these three (accounts without a password store none).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
# django-axes counts failed sign-ins and locks a (address, client) pair out for a while.
# Both count the canonical address (credentials.identity); neither checks a password while it
# refuses the attempt.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "credentials.backends.SignInCeilingBackend",
    "credentials.backends.AccountStateBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The key django-axes files the address under in its credentials, whatever USERNAME_FIELD is.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "cspo_tracker.middleware.axes_username"
# Every failure is logged; the address-only ceiling below counts them over a longer window.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# An address that failed this often from any clients within the window is paused for all of
# them (until the window passes or its owner sets a new password from an emailed link):
# guessing spread over many client addresses stops, and an office behind one address is not
# locked out by one person's typos.
SIGN_IN_ADDRESS_CEILING = 20
SIGN_IN_ADDRESS_WINDOW = datetime.timedelta(hours=24)
# Account emails per (address, client address): sign-up confirmations, password links and
# invitations. Counted in the default cache (Redis in production, shared by all machines).
ACCOUNT_EMAIL_RATES = {
    "sign_up": ("3/h", "10/h"),
    "password": ("3/h", "10/h"),
    "invitation": ("3/d", "300/h"),
    "email_change": ("3/d", "30/h"),
    "address": ("5/d", "30/h"),  # confirmation links for secondary addresses, per account
}
# Account emails (sign-up, password links, address changes) are sent by a worker after the
# request commits: a page's answer and timing never depend on, or tell about, the mail server.
ACCOUNT_EMAILS_FROM_WORKER = True
RATELIMIT_USE_CACHE = "default"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# How many proxies (load balancers) in front of the web processes append the address they saw
# to X-Forwarded-For: the client is the entry the outermost one wrote, never one it was sent.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "cspo_tracker.middleware.client_ip"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The languages every page, email, PDF and calendar feed come in (locale/<code>/LC_MESSAGES).
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The picker's choice for visitors; a signed-in account's saved language wins over it.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Uploads go through the storage API, so several machines can share one store (a shared
    # mount, or an object-store backend set with FILE_STORAGE_BACKEND).
    "default": {
        "BACKEND": env.str(
            "FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# --- PDF fonts --------------------------------------------------------------------------------
# Folders (and their sub-folders) searched by file name for the PDF fonts: DejaVu Sans for the
# text, Noto fonts for the scripts it lacks (seu_ledger.transcript); the first folder listed wins.
PDF_FONT_DIRS = env.list(
    "PDF_FONT_DIRS",
    default=[
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/truetype/noto",
        "/usr/share/fonts/opentype/noto",
    ],
)

# --- Email ------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CSPO Tracker <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Cache ------------------------------------------------------------------------------------
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
    # Rendered dashboards, in each process's memory: their keys carry the holder's data version
    # (read from the database), so no process can serve a stale one, and a hit costs no
    # network round trip.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}
# Sessions live in the database with the account they sign in: one query reads the session,
# the signed-in account and the rules revision (credentials.sessions).
SESSION_ENGINE = "credentials.sessions"

# --- Celery -----------------------------------------------------------------------------------
# The embedded default is kombu's filesystem transport: a real worker and beat with no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("filesystem:"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis redelivers an unacknowledged task after this many seconds: keep it above the
    # longest task so a slow roster import is not run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Beat counts in UTC: an hourly schedule in a zone with daylight saving skips an hour of UTC
# when the clocks fall back, and the reminder run must see every hour once.
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Claimed work (reminders, roster imports, invitations) ---------------------------------------
# A worker's claim on a piece of work expires after this long without progress: the sweep then
# gives it to another worker. Longer than the slowest step (a batch, one email).
CLAIM_EXPIRES = datetime.timedelta(seconds=env.int("CLAIM_EXPIRES_SECONDS", default=600))
# How long writing how a piece of work ended keeps retrying while the database is down.
CLAIM_DURABLE_SECONDS = env.int("CLAIM_DURABLE_SECONDS", default=180)
# First wait before a background job retries after the database (or, for invitations, the mail
# server) did not answer; it doubles, up to 30 times itself.
TASK_RETRY_BASE_SECONDS = env.float("TASK_RETRY_BASE_SECONDS", default=2.0)
if CLAIM_EXPIRES.total_seconds() <= CLAIM_DURABLE_SECONDS:
    # A worker still trying to record "sent" after its claim expired could see the work sent
    # again by another.
    raise ImproperlyConfigured(
        "CLAIM_DURABLE_SECONDS must be shorter than CLAIM_EXPIRES_SECONDS "
        f"({CLAIM_DURABLE_SECONDS} >= {CLAIM_EXPIRES.total_seconds():.0f})."
    )

# --- Reminders ----------------------------------------------------------------------------------
# Reminder emails reach each holder at this local time in the holder's own time zone (the
# site's, TIME_ZONE, for holders without one): beat runs every hour, at this many minutes past
# it, and reminds the holders whose local time it is; one beat process schedules it.
REMINDER_RUN_AT = env.str("REMINDER_RUN_AT", default="06:00")
# Holders per sending task: the unit of work handed to the workers.
REMINDER_BATCH_HOLDERS = env.int("REMINDER_BATCH_HOLDERS", default=100)
# First wait before retrying a failed send; it doubles each time for six tries, after which the
# sweep every 5 minutes keeps trying.
REMINDER_RETRY_SECONDS = env.int("REMINDER_RETRY_SECONDS", default=60)
try:
    _run_hour, _run_minute = (int(part) for part in REMINDER_RUN_AT.split(":"))
    if not (0 <= _run_hour < 24 and 0 <= _run_minute < 60):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(f"REMINDER_RUN_AT must be HH:MM, not {REMINDER_RUN_AT!r}.") from None
REMINDER_RUN_TIME = datetime.time(_run_hour, _run_minute)
CELERY_BEAT_SCHEDULE: dict = {
    "reminders-hourly": {
        "task": "seu_ledger.reminders_run",
        "schedule": crontab(minute=_run_minute),
    },
    # Failed or stuck reminder emails, tried again until they go.
    "reminders-sweep": {"task": "seu_ledger.reminders_sweep", "schedule": 5 * 60},
    # Work claimed by a worker that died, or whose job was lost, taken up again.
    "roster-imports-sweep": {"task": "credentials.roster_imports_sweep", "schedule": 5 * 60},
    "invitations-sweep": {"task": "credentials.invitations_sweep", "schedule": 5 * 60},
    # Evidence files kept while an activity form had errors, deleted once their tokens expire.
    "evidence-kept-sweep": {"task": "seu_ledger.evidence_kept_sweep", "schedule": 60 * 60},
    # Open Badges status bits (grace, suspension, lapse) as each day's status says, right
    # after midnight; credentials a roster created in bulk get theirs.
    # Hourly: each credential's status bits follow its issuer's calendar, whose day starts at
    # a different hour of UTC for each issuer (issuing what is missing finds nothing new on
    # most runs).
    "badges-daily": {"task": "badges.daily", "schedule": crontab(minute=5)},
    # Webhooks: retries that came due, and credential.expiring / grace_started / lapsed (each
    # once: the hourly run only finds what the first run of the day did not).
    "webhook-deliveries-sweep": {"task": "api.deliveries_sweep", "schedule": 60},
    "webhook-dated-events": {"task": "api.dated_events", "schedule": crontab(minute=10)},
}

# --- Open Badges 3.0 ----------------------------------------------------------------------------
# The signing keys: a JWKS of private P-256 keys, newest (signing) first, from secret storage
# as an environment variable; without it, the file `manage.py badge_keys` writes. Every
# machine must read the same keys.
BADGE_SIGNING_KEYS = env.str("BADGE_SIGNING_KEYS", default="")
BADGE_KEYS_FILE = env.path("BADGE_KEYS_FILE", default=VAR_DIR / "badge-keys.json")
# The name of the signing organisation in every credential (its did:web comes from SITE_URL).
BADGE_ISSUER_NAME = env.str("BADGE_ISSUER_NAME", default="CSPO Tracker")
# LinkedIn's numeric id of the organisation a certification is added under; empty: by name.
LINKEDIN_ORGANIZATION_ID = env.str("LINKEDIN_ORGANIZATION_ID", default="")

# --- REST API and webhooks ------------------------------------------------------------------------
# Requests a minute, counted in the shared cache (CACHE_URL): per token (or signed-in person),
# and per client address whatever the token.
API_RATE_PER_TOKEN = env.str("API_RATE_PER_TOKEN", default="600/min")
API_RATE_PER_ADDRESS = env.str("API_RATE_PER_ADDRESS", default="1200/min")
# Webhook endpoints must be https://; allow http:// too (a receiver on a private network).
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
# ...and to private or local addresses (10.x, 192.168.x, localhost, 169.254.x): refused unless
# set, so that webhooks cannot be used to probe the network the workers sit in.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Training organisations' identity providers (OpenID Connect) must be https://; allow http://
# too (a provider on a private network, a local one in development).
OIDC_ALLOW_HTTP = env.bool("OIDC_ALLOW_HTTP", default=False)
# ...and on private or local addresses (refused unless set: the server posts the client's
# secret where the provider's discovery document says).
OIDC_ALLOW_PRIVATE_ADDRESSES = env.bool("OIDC_ALLOW_PRIVATE_ADDRESSES", default=False)
# Starts of a sign-in through an organisation's provider, per client address.
OIDC_START_RATE = env.str("OIDC_START_RATE", default="30/5m")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Per address is counted first, by every API view (api.views.AddressFirst).
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerToken"],
    "DEFAULT_THROTTLE_RATES": {"token": API_RATE_PER_TOKEN, "address": API_RATE_PER_ADDRESS},
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CSPO Tracker API",
    "DESCRIPTION": (
        "Programs, holders, credentials with live status, the holder's own ledger, roster "
        "imports, reminders and webhooks. Authenticate with `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The reference page offers the bearer token only (a signed-in browser is sent its
    # session cookie anyway; offering it there let a token pasted as a cookie look valid).
    "AUTHENTICATION_WHITELIST": ["api.authentication.TokenAuthentication"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {},
}

# --- Forms ------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security ---------------------------------------------------------------------------------
# Content-Security-Policy: scripts, styles, fonts and images from this site only; no inline
# script anywhere. Inline style attributes stay allowed (the admin and emails shown in the
# admin's preview use them); they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    # TLS ends at the load balancer, which sets X-Forwarded-Proto.
    if env.bool("SECURE_PROXY_SSL_HEADER", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]  # load-balancer probes speak plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every successful sign-in at INFO; lockouts come at WARNING.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Roster import ----------------------------------------------------------------------------
ROSTER_MAX_BYTES = env.int("ROSTER_MAX_BYTES", default=20 * 2**20)
ROSTER_MAX_ROWS = env.int("ROSTER_MAX_ROWS", default=100_000)
ROSTER_MAX_XLSX_EXPANDED_BYTES = env.int("ROSTER_MAX_XLSX_EXPANDED_BYTES", default=200 * 2**20)
# Most cells in one row of a roster (our columns are 12; the rest are notes, or a broken file).
ROSTER_MAX_COLUMNS = env.int("ROSTER_MAX_COLUMNS", default=200)
# Uploaded rosters are read and checked by a worker, never in the web request (tests: inline).
ROSTER_CHECK_IN_WORKER = True
ROSTER_BATCH_ROWS = env.int("ROSTER_BATCH_ROWS", default=5000)
