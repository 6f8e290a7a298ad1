"""Settings for the test suite: the real settings plus test-only speed-ups."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("NEWSROOM_ENV_FILE", "")  # a developer's .env (DEBUG=1) never changes the suite
os.environ.setdefault("DB_POOL", "0")  # pytest-django creates and drops test databases per run
os.environ.setdefault("LOG_FORMAT", "text")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP

from newsroom.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
