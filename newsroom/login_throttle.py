"""Admin login throttling: too many failures for one account, or from one address, lock
further attempts for a while.

An attempt is counted *before* its password is checked: one atomic step in the shared
cache (a script in Redis) refuses it if its account or address has had its limit of
attempts in the window, and otherwise counts it against both; so however many attempts
arrive at once, at most NEWSROOM_LOGIN_MAX_FAILURES passwords are checked per account and
per address in a window. A success takes its own attempt back off the address's count and
clears the account's. The account's lock does not apply at its usual addresses (where it
signed in within NEWSROOM_LOGIN_KNOWN_ADDRESS_DAYS), so an attacker elsewhere cannot lock
an editor out of their own desk; the address lock applies everywhere. The client address
is REMOTE_ADDR, or behind NEWSROOM_TRUSTED_PROXIES proxies the entry of X-Forwarded-For
that the outermost one appended; an IPv6 client counts by its /64. `manage.py
unlock_login` lifts a lock. If the cache is down, logins still work (and it is logged).

Why not django-axes: 8.3.1, tried with its cache handler on the same Redis and gunicorn
(4 workers of 8 threads, tests/test_login_throttle.py), let 24 of 40 concurrent wrong
passwords from one address and 22 of 40 from forty addresses reach the password check, let
the right password in after the fifth check of a burst had started (it checks the count
before authenticating and records the failure after), and with Redis down the login page
raised an error instead of signing in.
"""

import hashlib
import ipaddress
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError

logger = logging.getLogger("newsroom.security")

# Redis, in one step: refuse if any counter has reached the limit, else add one to each,
# creating it with the window as its lifetime. (Checking and then adding in two steps is
# the race this module exists to close; and Django's incr checks that a key exists before
# adding to it, so a key expiring in between would come back with no lifetime: locked for ever.)
_RESERVE = """
for _, key in ipairs(KEYS) do
    if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2]) then return 0 end
end
for _, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
    redis.call('INCR', key)
end
return 1
"""
_RELEASE = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or with N trusted proxies in front, the entry of
    X-Forwarded-For N from the right (entries left of it are whatever the client sent)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.NEWSROOM_TRUSTED_PROXIES
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if proxies <= 0 or not hops:
        return remote
    hop = hops[max(len(hops) - proxies, 0)]  # fewer entries: every one came from our proxies
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        logger.warning(
            "login throttle: X-Forwarded-For entry is not an address, using REMOTE_ADDR", extra={"entry": hop[:64]}
        )
        return remote


def _client(address: str) -> str:
    """What a count is kept for: the address, or for IPv6 its /64 (one client's network)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _account(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _account_key(username: str) -> str:
    return f"login-throttle:account:{_account(username)}"


def _address_key(address: str) -> str:
    return f"login-throttle:address:{_client(address)}"


def _known_key(username: str, address: str) -> str:
    return f"login-throttle:known:{_account(username)}:{_client(address)}"


def _cache():
    return caches["default"]  # the backend itself (django.core.cache.cache is a proxy to it)


def _reserve(keys: list[str]) -> bool:
    """Count one attempt on each counter unless one of them has reached the limit; whether
    it was counted. Counters last the window from their first attempt."""
    window, limit = settings.NEWSROOM_LOGIN_WINDOW_SECONDS, settings.NEWSROOM_LOGIN_MAX_FAILURES
    cache = _cache()
    if isinstance(cache, RedisCache):  # Django's own Redis client, as its backend uses it
        full_keys = [cache.make_and_validate_key(key) for key in keys]
        client = cache._cache.get_client(full_keys[0], write=True)
        return bool(client.eval(_RESERVE, len(full_keys), *full_keys, window, limit))
    # Other caches (local memory in development: each process counts on its own) in two steps.
    if max(cache.get(key, 0) for key in keys) >= limit:
        return False
    for key in keys:
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:  # it expired in between
                cache.add(key, 1, timeout=window)
    return True


def _release(key: str) -> None:
    """Take one attempt back off a counter, if it still exists."""
    cache = _cache()
    if isinstance(cache, RedisCache):
        full_key = cache.make_and_validate_key(key)
        cache._cache.get_client(full_key, write=True).eval(_RELEASE, 1, full_key)
        return
    try:
        cache.decr(key)
    except ValueError:
        pass


@dataclass
class LoginAttempt:
    """One sign-in attempt, counted before its password is checked."""

    username: str
    address: str
    counted: list[str] = field(default_factory=list)
    refused: bool = False


def login_attempt_begin(*, request, username: str) -> LoginAttempt:
    """Count an attempt against its address (and its account, unless the address is one the
    account signs in from), or refuse it if either has had its limit of attempts."""
    attempt = LoginAttempt(username=username, address=client_address(request))
    try:
        keys = [_address_key(attempt.address)]
        if not _cache().get(_known_key(username, attempt.address)):
            keys.append(_account_key(username))
        attempt.refused = not _reserve(keys)
    except Exception:  # noqa: BLE001 - a cache outage must not lock everyone out
        logger.warning("login throttle: cache unavailable, not throttling")
        return attempt
    if attempt.refused:
        logger.warning("login locked", extra={"username": username[:150], "address": attempt.address})
    else:
        attempt.counted = keys
    return attempt


def login_attempt_succeeded(*, attempt: LoginAttempt) -> None:
    """A right password: the attempt comes off its address's count, the account's count is
    cleared, and the address becomes one the account signs in from."""
    try:
        if _address_key(attempt.address) in attempt.counted:
            _release(_address_key(attempt.address))
        _cache().delete(_account_key(attempt.username))
        _cache().set(
            _known_key(attempt.username, attempt.address),
            1,
            timeout=settings.NEWSROOM_LOGIN_KNOWN_ADDRESS_DAYS * 24 * 3600,
        )
    except Exception:  # noqa: BLE001
        logger.warning("login throttle: cache unavailable, success not recorded")


def login_unlock(*, username: str | None = None, address: str | None = None) -> None:
    """Lift the lock on an account (everywhere) and/or on an address (for every account)."""
    keys = ([_account_key(username)] if username else []) + ([_address_key(address)] if address else [])
    _cache().delete_many(keys)
    logger.warning("login unlocked", extra={"username": (username or "")[:150], "address": address or ""})


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin login form, refusing attempts while an account or address is locked."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # an incomplete form checks no password
        attempt = login_attempt_begin(request=self.request, username=username)
        if attempt.refused:
            minutes = max(settings.NEWSROOM_LOGIN_WINDOW_SECONDS // 60, 1)
            raise ValidationError(
                f"Too many failed login attempts. Logging in is locked for up to {minutes} minutes; "
                "try again later or ask an administrator to unlock your account.",
                code="locked",
            )
        cleaned = super().clean()  # a wrong password raises here and stays counted
        login_attempt_succeeded(attempt=attempt)
        return cleaned
