"""Newsroom settings: everything comes from the environment, with safe defaults.

DEBUG is off unless asked for, and with DEBUG off the site refuses to start without a
SECRET_KEY. For development, `make run` (and `make migrate`) writes a git-ignored `.env`
holding DEBUG=1 once, read here when present, so `manage.py` commands run by hand get the
same settings; a variable set in the environment always wins over the file.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

from newsroom.media_origins import media_origins

BASE_DIR = Path(__file__).resolve().parent.parent

# The development file of settings (`make run` writes DEBUG=1 into it). Values are taken
# literally (no ${...} expansion) and never override the environment; NEWSROOM_ENV_FILE names
# another file, or none when empty (the test suite's choice).
ENV_FILE = os.environ.get("NEWSROOM_ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE:
    load_dotenv(ENV_FILE, override=False, interpolate=False)


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable into a list, dropping blanks."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable in production; for local development "
            "run `make run` (or `make migrate`) once, which writes DEBUG=1 into the git-ignored .env file."
        )
    # Development only: a random key per checkout, made on first run and kept in the
    # git-ignored file .secret_key (never a constant, which anyone could sign links with).
    from newsroom.secret_key import development_secret_key

    SECRET_KEY = development_secret_key(BASE_DIR / ".secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "newsroom.apps.NewsroomAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "nested_admin",
    "taggit",
    "django_tasks_db",  # the database task backend's results table, and their pages in the admin
    "articles",
]

MIDDLEWARE = [
    "newsroom.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "articles.caching.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "newsroom.middleware.FormTooLargeMiddleware",  # reads the form before the CSRF check does
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "newsroom.middleware.NotificationFailuresMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if env_bool("NEWSROOM_QUERY_COUNT_HEADER"):
    MIDDLEWARE.insert(0, "newsroom.middleware.QueryCountHeaderMiddleware")

ROOT_URLCONF = "newsroom.urls"

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
                "articles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "newsroom.wsgi.application"

# The covering index article_live_listing_idx carries extra columns on PostgreSQL; SQLite
# makes the same index without them, which is all this warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL", default=not DEBUG):
    # psycopg 3's connection pool, through Django (one pool per worker process).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "8")),
        "timeout": 10,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent saves wait their turn instead of failing with "database is locked": each
    # transaction takes the write lock as it begins (a read cannot then fail to upgrade) and
    # waits up to SQLITE_TIMEOUT seconds for it, while WAL lets readers read meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": float(os.environ.get("SQLITE_TIMEOUT", "20")),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# Streaming read replicas of a PostgreSQL primary (DATABASE_REPLICA_URL, comma-separated), as
# "replica1", "replica2", ...: anonymous readers' public pages are read from one that has replayed
# the latest publish, everything else from the primary (newsroom/db_router.py,
# articles/replica_reads.py). One that does not connect within DATABASE_REPLICA_CONNECT_TIMEOUT
# seconds, fails a query or takes longer than DATABASE_REPLICA_STATEMENT_TIMEOUT seconds for one
# is left alone for DATABASE_REPLICA_RETRY_SECONDS in that process.
DATABASE_REPLICA_RETRY_SECONDS = float(os.environ.get("DATABASE_REPLICA_RETRY_SECONDS", "5"))
_replica_timeout = int(os.environ.get("DATABASE_REPLICA_CONNECT_TIMEOUT", "2"))
# A query on a replica that runs longer than this is cancelled by the replica (a stuck or
# overloaded replica, a recovery conflict wait): the page is then built from the primary.
_replica_statement_ms = round(float(os.environ.get("DATABASE_REPLICA_STATEMENT_TIMEOUT", "5")) * 1000)
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URL", ""), start=1):
    _replica = dj_database_url.parse(_url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    if "postgresql" not in _replica["ENGINE"] or "postgresql" not in DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL: replica {_number} ({_replica['ENGINE'].rsplit('.', 1)[-1]} at "
            f"{_replica.get('HOST') or _replica.get('NAME')}) is not PostgreSQL, or DATABASE_URL is not: "
            "read replicas are PostgreSQL streaming replicas of a PostgreSQL primary."
        )
    _server_options = f"{_replica.get('OPTIONS', {}).get('options', '')} -c statement_timeout={_replica_statement_ms}"
    _options = {"connect_timeout": _replica_timeout, "options": _server_options.strip()}
    if "pool" in DATABASES["default"].get("OPTIONS", {}):
        # A pool waits this long for a connection before giving up on a replica that is down.
        _options["pool"] = {**DATABASES["default"]["OPTIONS"]["pool"], "timeout": _replica_timeout}
    _replica["OPTIONS"] = {**_replica.get("OPTIONS", {}), **_options}
    _replica["TEST"] = {"MIRROR": "default"}  # a test run reads its one test database through it
    DATABASES[f"replica{_number}"] = _replica
DATABASE_ROUTERS = ["newsroom.db_router.ReplicaRouter"] if env_list("DATABASE_REPLICA_URL", "") else []

# The default cache holds the public pages (articles/caching.py, docs/caching.md) and the login
# throttle's counts: Redis, with Django's own backend as shipped, when REDIS_URL is set; else
# each process's memory. Either way a publish is seen at once: the generation that a cached
# page must match is a database row, not a cache key.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "newsroom"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered story cards and story pages' own parts, in each process: keyed by the live
# revision (immutable), so they are never stale and nothing needs clearing (see
# articles/fragments.py). At most 10,000 pieces (a card is about 1 KB, a story about 10 KB).
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "newsroom-fragments",
    "TIMEOUT": 24 * 3600,
    "OPTIONS": {"MAX_ENTRIES": 10_000},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# Media: local files by default; object storage by setting MEDIA_STORAGE_BACKEND (e.g.
# "storages.backends.s3.S3Storage") and its options as JSON in MEDIA_STORAGE_OPTIONS. Nothing
# reads media by path: every read, write, listing and delete goes through the storage API.
MEDIA_STORAGE_BACKEND = os.environ.get("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")
try:
    MEDIA_STORAGE_OPTIONS = json.loads(os.environ.get("MEDIA_STORAGE_OPTIONS") or "{}")
except json.JSONDecodeError as error:
    raise ImproperlyConfigured(f"MEDIA_STORAGE_OPTIONS is not valid JSON: {error}") from None
if not isinstance(MEDIA_STORAGE_OPTIONS, dict):
    raise ImproperlyConfigured("MEDIA_STORAGE_OPTIONS must be a JSON object of the storage's options.")
if MEDIA_STORAGE_BACKEND == "storages.backends.s3.S3Storage":
    # Public, unsigned URLs (a signed one changes every time, so a cached page would carry one
    # that expires); and never overwrite an object under an existing name: a live version may show it.
    MEDIA_STORAGE_OPTIONS = {"querystring_auth": False, "file_overwrite": False, **MEDIA_STORAGE_OPTIONS}

# The origins media URLs point at, which pages must allow images from (Content-Security-Policy).
MEDIA_ORIGINS = env_list("MEDIA_ORIGINS", "") or media_origins(MEDIA_STORAGE_BACKEND, MEDIA_STORAGE_OPTIONS)
STORAGES = {
    "default": {"BACKEND": MEDIA_STORAGE_BACKEND, "OPTIONS": MEDIA_STORAGE_OPTIONS},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security. Production (DEBUG off) is HTTPS-only unless told otherwise (behind a proxy that
# terminates TLS, set SECURE_PROXY_SSL_HEADER=1).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict Content-Security-Policy (Django's own): no inline script anywhere, no plugins,
# no framing; the admin's own scripts and styles come from our origin.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *MEDIA_ORIGINS],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Admin login throttling (newsroom/login_throttle.py): after this many failed attempts for
# one account, or from one address, within the window, further attempts are refused until
# the window (counted from the first attempt) ends or `manage.py unlock_login` lifts it. The
# account's lock does not apply at addresses it signed in from within the last
# NEWSROOM_LOGIN_KNOWN_ADDRESS_DAYS days; the address lock applies everywhere.
NEWSROOM_LOGIN_MAX_FAILURES = int(os.environ.get("NEWSROOM_LOGIN_MAX_FAILURES", "5"))
NEWSROOM_LOGIN_WINDOW_SECONDS = int(os.environ.get("NEWSROOM_LOGIN_WINDOW_SECONDS", "900"))
NEWSROOM_LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("NEWSROOM_LOGIN_KNOWN_ADDRESS_DAYS", "30"))
# The client's address is REMOTE_ADDR unless proxies are in front: set NEWSROOM_TRUSTED_PROXIES
# to how many (each appending the address it was reached from to X-Forwarded-For; 1 for one
# TLS proxy), and the client is that many entries from the right of X-Forwarded-For. With 0
# the header is ignored; a number larger than the real one lets clients choose their address.
NEWSROOM_TRUSTED_PROXIES = int(os.environ.get("NEWSROOM_TRUSTED_PROXIES", "0"))
if NEWSROOM_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("NEWSROOM_TRUSTED_PROXIES is the number of proxies in front (0 or more).")

# Hero image uploads.
NEWSROOM_MAX_IMAGE_BYTES = int(os.environ.get("NEWSROOM_MAX_IMAGE_BYTES", str(10 * 1024 * 1024)))
NEWSROOM_MAX_IMAGE_PIXELS = int(os.environ.get("NEWSROOM_MAX_IMAGE_PIXELS", str(40_000_000)))
# A form's fields, uploaded files apart: a larger form gets a page that says these limits
# (newsroom.middleware.FormTooLargeMiddleware). A story with very many sections and points
# can need more fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(float(os.environ.get("NEWSROOM_MAX_FORM_MB", "5")) * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = int(os.environ.get("NEWSROOM_MAX_FORM_FIELDS", "5000"))

# django-taggit: tags are case-insensitive ("AI" and "ai" are one tag).
TAGGIT_CASE_INSENSITIVE = True

NEWSROOM_SITE_NAME = os.environ.get("NEWSROOM_SITE_NAME", "Newsroom")
# The public address, for links in emails and feeds.
NEWSROOM_BASE_URL = os.environ.get("NEWSROOM_BASE_URL", "http://127.0.0.1:8000")
# Four-eyes rule: a moderator may not approve their own submission unless this is off.
NEWSROOM_FOUR_EYES = env_bool("NEWSROOM_FOUR_EYES", default=True)
# Public pages are cached for this long (seconds; 0 turns page caching off); publishing
# clears them at once. Browsers and CDNs are told they may reuse a page for NEWSROOM_CDN_MAX_AGE.
NEWSROOM_PAGE_CACHE_SECONDS = int(os.environ.get("NEWSROOM_PAGE_CACHE_SECONDS", "300"))
NEWSROOM_CDN_MAX_AGE = int(os.environ.get("NEWSROOM_CDN_MAX_AGE", "60"))
# How long a shared preview link works, in seconds (default three days).
NEWSROOM_PREVIEW_MAX_AGE = int(os.environ.get("NEWSROOM_PREVIEW_MAX_AGE", str(3 * 24 * 3600)))

# Workflow emails: printed to the console in development; in production sent over SMTP to
# EMAIL_HOST (a local mail server on port 25 by default).
_email_host = os.environ.get("EMAIL_HOST", "" if DEBUG else "localhost")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": int(os.environ.get("EMAIL_PORT", "587" if os.environ.get("EMAIL_HOST") else "25")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", default=bool(os.environ.get("EMAIL_HOST"))),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
if os.environ.get("EMAIL_BACKEND"):  # e.g. the dummy backend for load tests
    MAILERS = {"default": {"BACKEND": os.environ["EMAIL_BACKEND"]}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "newsroom@localhost")

# Work that need not finish inside an editor's request (workflow e-mails, hero image
# renditions) runs as tasks (articles/tasks.py). The immediate backend, the default, runs
# each at once in the process that asks (so `make run` needs no worker); with
# TASKS_BACKEND=django_tasks_db.DatabaseBackend they are rows in the database that
# `manage.py db_worker` (`make worker`) runs. There a failed attempt is tried again after
# NEWSROOM_TASK_RETRY_SECONDS, then twice as long each time, up to NEWSROOM_TASK_ATTEMPTS attempts.
TASKS = {"default": {"BACKEND": os.environ.get("TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")}}
NEWSROOM_TASK_ATTEMPTS = int(os.environ.get("NEWSROOM_TASK_ATTEMPTS", "5"))
NEWSROOM_TASK_RETRY_SECONDS = float(os.environ.get("NEWSROOM_TASK_RETRY_SECONDS", "30"))
if NEWSROOM_TASK_ATTEMPTS < 1 or NEWSROOM_TASK_RETRY_SECONDS < 0:
    raise ImproperlyConfigured(
        "NEWSROOM_TASK_ATTEMPTS is how many times a task is tried (1 or more); "
        "NEWSROOM_TASK_RETRY_SECONDS the first wait before trying again (0 or more)."
    )

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "newsroom.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (on with DEBUG) would print "django" records a second
        # time beside the root's: they go through the root's handler only.
        "django": {"handlers": [], "level": os.environ.get("LOG_LEVEL", "INFO"), "propagate": True},
        "django.tasks": {"level": "WARNING"},
    },
}
