"""Settings for the gunicorn servers that tests/test_login_throttle.py starts: the real
settings, with a password hasher that counts every password check in Redis and takes as
long as a real hash (without burning the shared CPU), and static files served unhashed."""

import os
import time

import redis
from django.contrib.auth.hashers import MD5PasswordHasher

from newsroom.settings import *  # noqa: F403

CHECKS_KEY = "test:password-checks"
CHECK_SECONDS = 0.2  # about what PBKDF2 at Django's default iterations costs on one core


class CountedSlowHasher(MD5PasswordHasher):
    """MD5 (fast, test-only) that records each password check and then waits like a real hash."""

    algorithm = "counted_slow_md5"

    def verify(self, password, encoded):
        redis.Redis.from_url(os.environ["REDIS_URL"]).incr(CHECKS_KEY)
        time.sleep(CHECK_SECONDS)
        return super().verify(password, encoded)


PASSWORD_HASHERS = ["tests.login_server_settings.CountedSlowHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
