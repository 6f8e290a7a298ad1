"""Admin login throttling: repeated failures for one account or from one address lock
further attempts for a while, with a message that says so. Counts live in the shared cache,
so every app server agrees; if the cache is down, logins still work (and it is logged)."""

import hashlib
import logging

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError

logger = logging.getLogger("newsroom.security")


def _keys(request, username: str) -> list[str]:
    address = request.META.get("REMOTE_ADDR", "") if request else ""
    digest = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    return [f"newsroom:login-fail:user:{digest}", f"newsroom:login-fail:ip:{address}"]


def _failures(keys) -> int:
    try:
        return max((cache.get(key, 0) for key in keys), default=0)
    except Exception:  # noqa: BLE001 - a cache outage must not lock everyone out
        logger.warning("login throttle: cache unavailable, not throttling")
        return 0


def _record_failure(keys) -> None:
    window = settings.NEWSROOM_LOGIN_WINDOW_SECONDS
    try:
        for key in keys:
            if cache.add(key, 1, timeout=window) is False:
                cache.incr(key)
    except Exception:  # noqa: BLE001
        logger.warning("login throttle: cache unavailable, failure not counted")


def _clear(keys) -> None:
    try:
        cache.delete_many(keys[:1])  # a success clears the account's count, not the address's
    except Exception:  # noqa: BLE001
        pass


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin login form, refusing attempts while an account or address is locked."""

    def clean(self):
        username = self.cleaned_data.get("username", "")
        keys = _keys(self.request, username)
        if _failures(keys) >= settings.NEWSROOM_LOGIN_MAX_FAILURES:
            minutes = max(settings.NEWSROOM_LOGIN_WINDOW_SECONDS // 60, 1)
            logger.warning("login locked", extra={"username": username[:150]})
            raise ValidationError(
                f"Too many failed login attempts. Logging in is locked for {minutes} minutes; "
                "try again later or ask an administrator to reset your password.",
                code="locked",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            _record_failure(keys)
            raise
        _clear(keys)
        return cleaned
