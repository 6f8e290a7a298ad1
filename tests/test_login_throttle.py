"""Admin login throttling: the limit holds under real concurrency (gunicorn, 4 workers,
Redis), the client address comes from the trusted-proxy setting only, a locked account
still signs in from its usual addresses, and `manage.py unlock_login` lifts a lock. The
in-process tests run on both caches the counts can live in (local memory and Redis)."""

import http.cookiejar
import io
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from ops.processes import free_port
from tests.factories import make_user

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_LOGIN_REDIS_URL", "redis://127.0.0.1:6379/11")
RIGHT_PASSWORD = "right-horse-battery"
CHECKS_KEY = "test:password-checks"  # tests/login_server_settings.py counts password checks here


def sign_in(username, password, address, forwarded_for=None):
    """One admin sign-in attempt from a fresh browser; the response."""
    extra = {"REMOTE_ADDR": address}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Client().post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def signed_in(response) -> bool:
    return response.status_code == 302 and response.url == "/admin/"


def fail(username, address, *, times=None, forwarded_for=None):
    for _ in range(times or settings.NEWSROOM_LOGIN_MAX_FAILURES):
        assert not signed_in(sign_in(username, "wrong", address, forwarded_for))


def fail_for_other_accounts(address, forwarded_for=None):
    """The limit's worth of failures from one address, each for a different (unknown) account."""
    for n in range(settings.NEWSROOM_LOGIN_MAX_FAILURES):
        assert not signed_in(sign_in(f"nobody{n}", "wrong", address, forwarded_for))


@pytest.fixture(scope="module")
def redis_db():
    redis = pytest.importorskip("redis")
    try:
        db = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        db.ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    return db


@pytest.fixture(params=["local memory", "Redis"])
def throttle(request, db, settings):
    """Run the test on each cache the throttle keeps its counts in: local memory (development,
    two-step counting) and Redis (production, one atomic script)."""
    if request.param == "Redis":
        request.getfixturevalue("redis_db").flushdb()
        settings.CACHES = {
            **settings.CACHES,
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        }
    return request.param


# Locking and its reset


def test_an_account_locks_after_the_limit_of_failures(throttle):
    make_user("Editors", username="target")
    fail("target", "10.0.0.1")
    response = sign_in("target", "pw", "10.0.0.1")
    assert not signed_in(response)
    assert "Too many failed login attempts" in response.content.decode()


def test_one_accounts_lock_leaves_other_accounts_at_other_addresses_alone(throttle):
    make_user("Editors", username="target")
    fail("target", "10.0.0.1")
    make_user("Editors", username="bystander")
    assert signed_in(sign_in("bystander", "pw", "10.0.0.2"))


def test_a_success_resets_the_accounts_count(throttle):
    make_user("Editors", username="forgetful")
    fail("forgetful", "10.0.0.1", times=settings.NEWSROOM_LOGIN_MAX_FAILURES - 1)
    assert signed_in(sign_in("forgetful", "pw", "10.0.0.1"))
    fail("forgetful", "10.0.0.9", times=settings.NEWSROOM_LOGIN_MAX_FAILURES - 1)
    assert signed_in(sign_in("forgetful", "pw", "10.0.0.9"))


def test_a_success_does_not_reset_its_addresss_count(throttle):
    """Signing in to one's own account between guesses must not reopen the address."""
    make_user("Editors", username="insider")
    for n in range(settings.NEWSROOM_LOGIN_MAX_FAILURES - 1):
        sign_in(f"nobody{n}", "wrong", "10.4.4.4")
    assert signed_in(sign_in("insider", "pw", "10.4.4.4"))
    sign_in("nobody", "wrong", "10.4.4.4")
    assert not signed_in(sign_in("insider", "pw", "10.4.4.4"))


def test_successes_do_not_use_up_an_addresss_attempts(throttle):
    make_user("Editors", username="regular")
    for _ in range(settings.NEWSROOM_LOGIN_MAX_FAILURES + 2):
        assert signed_in(sign_in("regular", "pw", "10.5.5.5"))


# The client address and the trusted proxies


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(throttle, settings):
    settings.NEWSROOM_TRUSTED_PROXIES = 0
    for n in range(settings.NEWSROOM_LOGIN_MAX_FAILURES):
        sign_in(f"nobody{n}", "wrong", "10.0.0.1", forwarded_for=f"198.51.100.{n}")
    make_user("Editors", username="reporter")
    assert not signed_in(sign_in("reporter", "pw", "10.0.0.1", forwarded_for="198.51.100.99"))


def test_without_trusted_proxies_a_claimed_address_is_not_locked_by_anothers_failures(throttle, settings):
    settings.NEWSROOM_TRUSTED_PROXIES = 0
    fail_for_other_accounts("10.0.0.1", forwarded_for="10.0.0.2")
    make_user("Editors", username="reporter")
    assert signed_in(sign_in("reporter", "pw", "10.0.0.2"))


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(throttle, settings):
    settings.NEWSROOM_TRUSTED_PROXIES = 1
    for n in range(settings.NEWSROOM_LOGIN_MAX_FAILURES):  # the leading entries are the client's own
        sign_in(f"nobody{n}", "wrong", "10.9.9.9", forwarded_for=f"192.0.2.{n}, 203.0.113.7")
    make_user("Editors", username="reporter")
    assert not signed_in(sign_in("reporter", "pw", "10.9.9.9", forwarded_for="192.0.2.77, 203.0.113.7"))


def test_behind_one_proxy_failures_from_one_client_do_not_lock_out_another(throttle, settings):
    settings.NEWSROOM_TRUSTED_PROXIES = 1
    fail_for_other_accounts("10.9.9.9", forwarded_for="203.0.113.7")
    make_user("Editors", username="reporter")
    assert signed_in(sign_in("reporter", "pw", "10.9.9.9", forwarded_for="203.0.113.8"))


def test_behind_two_proxies_the_client_is_second_from_the_right(throttle, settings):
    settings.NEWSROOM_TRUSTED_PROXIES = 2  # the CDN appends the client, the load balancer the CDN
    fail_for_other_accounts("10.9.9.9", forwarded_for="192.0.2.1, 203.0.113.7, 10.8.8.8")
    make_user("Editors", username="reporter")
    assert not signed_in(sign_in("reporter", "pw", "10.9.9.9", forwarded_for="203.0.113.7, 10.8.8.8"))
    assert signed_in(sign_in("reporter", "pw", "10.9.9.9", forwarded_for="203.0.113.8, 10.8.8.8"))


def test_an_ipv6_client_is_counted_by_its_network(throttle):
    """One IPv6 client holds a whole /64: new addresses from it are not new clients."""
    for n in range(settings.NEWSROOM_LOGIN_MAX_FAILURES):
        sign_in(f"nobody{n}", "wrong", f"2001:db8:1:2::{n + 1:x}")
    make_user("Editors", username="reporter")
    assert not signed_in(sign_in("reporter", "pw", "2001:db8:1:2::ff"))
    assert signed_in(sign_in("reporter", "pw", "2001:db8:1:3::1"))


# A locked account and its usual addresses


@pytest.fixture
def columnist(throttle):
    """An editor who has signed in from 10.1.1.1, whose account 10.2.2.2 then locked."""
    user = make_user("Editors", username="columnist")
    assert signed_in(sign_in("columnist", "pw", "10.1.1.1"))
    fail("columnist", "10.2.2.2")
    return user


def test_a_locked_account_still_signs_in_from_an_address_it_signed_in_from_before(columnist):
    assert signed_in(sign_in("columnist", "pw", "10.1.1.1"))


def test_a_locked_account_is_refused_from_a_new_address(columnist):
    assert not signed_in(sign_in("columnist", "pw", "10.3.3.3"))


def test_the_failing_address_stays_locked_while_the_owner_signs_in(columnist):
    assert signed_in(sign_in("columnist", "pw", "10.1.1.1"))
    assert not signed_in(sign_in("columnist", "pw", "10.2.2.2"))


def test_an_address_lock_applies_at_an_accounts_usual_address(columnist):
    fail_for_other_accounts("10.1.1.1")
    assert not signed_in(sign_in("columnist", "pw", "10.1.1.1"))


# Unlocking


def test_unlock_login_lifts_an_account_lock(columnist):
    call_command("unlock_login", "columnist", stdout=io.StringIO())
    assert signed_in(sign_in("columnist", "pw", "10.3.3.3"))


def test_unlock_login_by_address_lifts_an_address_lock(throttle):
    fail_for_other_accounts("10.2.2.2")
    make_user("Editors", username="reporter")
    call_command("unlock_login", "--address", "10.2.2.2", stdout=io.StringIO())
    assert signed_in(sign_in("reporter", "pw", "10.2.2.2"))


def test_unlock_login_refuses_something_that_is_not_an_address(db):
    with pytest.raises(CommandError, match="not an IP address"):
        call_command("unlock_login", "--address", "10.2.2")


def test_unlock_login_needs_an_account_or_an_address(db):
    with pytest.raises(CommandError, match="Name an account"):
        call_command("unlock_login")


# The cache down


def test_with_the_cache_down_signing_in_still_works_and_says_so_in_the_log(db, caplog):
    make_user("Editors", username="reporter")
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
        "fragments": settings.CACHES["fragments"],
    }
    with override_settings(CACHES=dead_redis), caplog.at_level(logging.WARNING, logger="newsroom.security"):
        fail("reporter", "10.0.0.1")
        assert signed_in(sign_in("reporter", "pw", "10.0.0.1"))
    assert "cache unavailable" in caplog.text


# Real concurrency: gunicorn with 4 workers (8 threads each) sharing Redis


@pytest.fixture(scope="module")
def server(redis_db, tmp_path_factory):
    """A gunicorn server behind one (pretend) proxy: each request names its client in
    X-Forwarded-For. Its database is an SQLite file of its own (so this runs on either CI
    database); its users' passwords are checked by tests/login_server_settings.py's hasher."""
    folder = tmp_path_factory.mktemp("login-server")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}},
        "DJANGO_SETTINGS_MODULE": "tests.login_server_settings",
        "DEBUG": "0",
        "SECRET_KEY": "login-throttle-test",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "DB_POOL": "0",
        # 4 workers of 8 threads: 32 requests in flight at once, room for any race to show.
        "WEB_CONCURRENCY": "4",
        "GUNICORN_THREADS": "8",
        "NEWSROOM_TRUSTED_PROXIES": "1",
        "LOG_LEVEL": "ERROR",
        "MEDIA_ROOT": str(folder / "media"),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth.models import User\n"
            "for name in ('crowd', 'spread', 'burst'):\n"
            f"    User.objects.create_user(name, password={RIGHT_PASSWORD!r}, is_staff=True)",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    log = open(folder / "gunicorn.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(folder / 'gunicorn.log').read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def checks(redis_db):
    """How many passwords the server has checked since the test began (Redis emptied first)."""
    redis_db.flushdb()
    return lambda: int(redis_db.get(CHECKS_KEY) or 0)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Outcome:
    status: int
    location: str

    @property
    def signed_in(self) -> bool:
        return self.status == 302 and self.location == "/admin/"


def login_form(base: str, client_address: str):
    """Open the login page as one browser (its own CSRF cookie and token) behind the proxy;
    return a function that submits the form once."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirects)
    headers = {"X-Forwarded-For": client_address}
    page = opener.open(urllib.request.Request(f"{base}/admin/login/", headers=headers), timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def submit(username: str, password: str) -> Outcome:
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(f"{base}/admin/login/?next=/admin/", data, headers=headers)
        try:
            with opener.open(request, timeout=60) as response:
                return Outcome(response.status, "")
        except urllib.error.HTTPError as error:
            return Outcome(error.code, error.headers.get("Location", ""))

    return submit


def login_forms(base: str, client_addresses: list[str]):
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda address: login_form(base, address), client_addresses))


def all_at_once(submits, username, password) -> list[Outcome]:
    barrier = threading.Barrier(len(submits))

    def go(submit):
        barrier.wait()
        return submit(username, password)

    with ThreadPoolExecutor(len(submits)) as pool:
        return list(pool.map(go, submits))


def test_forty_concurrent_wrong_passwords_from_one_address_get_at_most_the_limit_of_checks(server, checks):
    forms = login_forms(server, ["203.0.113.10"] * 40)
    outcomes = all_at_once(forms, "crowd", "wrong")
    assert not any(outcome.signed_in for outcome in outcomes)
    assert checks() <= settings.NEWSROOM_LOGIN_MAX_FAILURES, f"{checks()} of 40 passwords were checked"


def test_forty_concurrent_wrong_passwords_from_forty_addresses_get_at_most_the_limit_of_checks(server, checks):
    forms = login_forms(server, [f"198.51.100.{n}" for n in range(1, 41)])
    all_at_once(forms, "spread", "wrong")
    assert checks() <= settings.NEWSROOM_LOGIN_MAX_FAILURES, f"{checks()} of 40 passwords were checked"


def test_the_right_password_sent_once_a_burst_reached_the_limit_does_not_sign_in(server, checks):
    wrong = login_forms(server, ["203.0.113.30"] * 24)
    right = login_form(server, "203.0.113.30")
    with ThreadPoolExecutor(len(wrong)) as pool:
        burst = [pool.submit(submit, "burst", "wrong") for submit in wrong]
        deadline = time.monotonic() + 30
        while checks() < settings.NEWSROOM_LOGIN_MAX_FAILURES:
            assert time.monotonic() < deadline, f"the burst made only {checks()} password checks"
            time.sleep(0.005)
        outcome = right("burst", RIGHT_PASSWORD)  # while the burst's checks are still running
        assert not any(future.result().signed_in for future in burst)
    assert not outcome.signed_in
    assert checks() <= settings.NEWSROOM_LOGIN_MAX_FAILURES
