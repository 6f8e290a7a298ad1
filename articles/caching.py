"""Caching of public reads, made fresh at once by every publish, unpublish and go-live.

PublicPageCacheMiddleware keeps the pages that views mark with @public_page. Every
cached page is stored with the *publication generation* it was built in, a counter kept in
the shared cache (Redis when REDIS_URL is set): publishing bumps it, so every app server
stops serving its old pages at once. One round trip reads the page, the generation and the
next scheduled moment together. Scheduled go-live and expiry times need no worker: the next such
moment is kept in the cache too, and the first request after it bumps the generation. Deleting
a story readers had bumps it too, however the story is deleted (story_deleted).

A page is kept under its address's path and only the query parameters its view reads (declared
with public_page(view, params=...)): other parameters are served the same page, so they cannot
fill the cache with copies of it.
"""

import hashlib
import logging
from datetime import datetime
from functools import lru_cache, wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from django.http import QueryDict
from django.urls import Resolver404, get_urlconf, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag

logger = logging.getLogger("newsroom.cache")

GENERATION_KEY = "newsroom:generation"
NEXT_CHANGE_KEY = "newsroom:next-change"
_NONE = "none"
CACHEABLE_STATUS = {200, 301, 410}


class CacheDown(Exception):
    """The cache backend did not answer; pages are served uncached meanwhile."""


def _safely(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any backend error means "no cache", never a failed page
        logger.warning("cache unavailable: %s", error)
        raise CacheDown from error


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY, 1)
    return value


def bump() -> None:
    """Make every cached public page stale, on every app server sharing the cache."""
    try:
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:
            cache.set(GENERATION_KEY, 2, timeout=None)
        cache.delete(NEXT_CHANGE_KEY)
    except Exception as error:  # noqa: BLE001 - the publication itself must not fail
        logger.error("cache unavailable, pages not cleared on publish: %s", error)


def story_deleted(*, instance, using, **kwargs) -> None:
    """Clear cached pages when a story that readers had (or were scheduled to have) is deleted.

    A post_delete receiver for Article, connected in ArticlesConfig.ready(): deletes come
    from Django's own admin (the delete page, the "delete selected" action), from querysets
    and from cascades, none of which pass through our workflow, so a signal is the one place
    that sees them all. As in the workflow, the pages are cleared now and again once the
    delete is committed (a request in between still reads the story and could cache it).
    """
    if instance.live_revision_id is None:
        return  # never on a public page: nothing cached shows it
    bump()
    transaction.on_commit(bump, using=using)


def _next_change():
    """The next moment a scheduled story goes live or an expiring one goes away.

    One query of three index lookups (the earliest future go-live, expiry and scheduled
    update), so it costs the same with a hundred stories or a million: it runs whenever
    that moment passes or a publish clears it.
    """
    from articles.models import Article

    now = timezone.now()
    live = Article.objects.filter(live_revision__isnull=False)

    def earliest(queryset, field):
        return Subquery(queryset.order_by(field).values(field)[:1])

    moments = (
        Article.objects.order_by()
        .annotate(
            start=earliest(live.filter(live_from__gt=now), "live_from"),
            end=earliest(live.filter(live_until__gt=now), "live_until"),
            update=earliest(Article.objects.filter(next_revision__isnull=False, next_from__isnull=False), "next_from"),
        )
        .values_list("start", "end", "update")
        .first()
    )
    upcoming = [m for m in moments or () if m is not None]
    return min(upcoming) if upcoming else None


def forget_schedule() -> None:
    """Look for the next scheduled moment again (after a schedule changed)."""
    try:
        cache.delete(NEXT_CHANGE_KEY)
    except Exception as error:  # noqa: BLE001
        logger.warning("cache unavailable: %s", error)


_UNREAD = object()


def refresh_schedule(upcoming=_UNREAD) -> bool:
    """Apply what has become due since the last look: scheduled updates go live, and
    cached pages are cleared when a story's go-live or expiry time has passed.

    `upcoming` is the stored next moment if the caller already read it. Returns whether
    the pages were cleared.
    """
    if upcoming is _UNREAD:
        try:
            upcoming = _safely(cache.get, NEXT_CHANGE_KEY)
        except CacheDown:
            upcoming = None
    if upcoming is None:
        found = _next_change()
        if found is not None and found <= timezone.now():
            _apply_due()
            found = _next_change()
        try:
            _safely(
                cache.set,
                NEXT_CHANGE_KEY,
                found.isoformat() if found else _NONE,
                timeout=max(settings.NEWSROOM_PAGE_CACHE_SECONDS, 60),
            )
        except CacheDown:
            pass
        return False
    if upcoming != _NONE and timezone.now() >= datetime.fromisoformat(upcoming):
        _apply_due()
        return True
    return False


def _apply_due() -> None:
    from articles.workflow import promote_due_updates

    promote_due_updates()
    bump()


PUBLIC_PAGE = "newsroom_public_page"
# On a public view: the query parameters it reads (a tuple), or None for the whole query string.
PAGE_PARAMS = "newsroom_page_params"
# Addresses that are never public pages, so not worth a cache lookup.
_NOT_PUBLIC = ("/admin/", "/_nested_admin/", "/static/", "/media/", "/preview/")


def public_page(view, *, params=None):
    """Mark a public view's responses as shareable: CDN headers, and PublicPageCacheMiddleware
    keeps them under the current generation.

    `params` names the query parameters the view reads: the view sees only those, and the
    page is kept under them alone, so any other parameter (a tracking tag, a cache-buster)
    is served the same page and makes no new entry. Left out (None), the view gets the whole
    query string and every different one is kept apart, as for views that are not ours.
    """
    read = None if params is None else tuple(params)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if read is not None:
            request.GET = read_params(request.GET, read)
        response = _headers(view(request, *args, **kwargs))
        setattr(response, PUBLIC_PAGE, True)
        return response

    setattr(wrapper, PAGE_PARAMS, read)
    return wrapper


def read_params(query: QueryDict, params) -> QueryDict:
    """Only the parameters of `query` named in `params`, each with the value a view reads."""
    return QueryDict(_read_query(query, params))


def _read_query(query: QueryDict, params) -> str:
    # Sorted, and each with its last value (what query[name] reads): one form per page.
    return urlencode([(name, query[name]) for name in sorted(params) if name in query])


def page_key(request, params=None) -> str:
    """The cache key of a page: its host, path and the query parameters it reads (`params`,
    as public_page declared them; None: the whole query string)."""
    query = request.META.get("QUERY_STRING", "") if params is None else _read_query(request.GET, params)
    address = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()
    return f"newsroom:page:{request.get_host()}:{address}"


def public_params(request):
    """(whether the address is a public page, the query parameters it reads), as Django will
    resolve the address: only public pages cost a cache lookup."""
    return _public_params_at(get_urlconf() or settings.ROOT_URLCONF, request.path_info)


@lru_cache(maxsize=4096)
def _public_params_at(urlconf: str, path: str):
    # Kept per address: resolving one costs more (about 0.1 ms) than the rest of a cache hit.
    try:
        view = resolve(path, urlconf).func
    except Resolver404:
        return False, None
    return hasattr(view, PAGE_PARAMS), getattr(view, PAGE_PARAMS, None)


def cached_page(key: str):
    """(the current generation, the page stored under `key` if it was built in it, else None).

    One round trip reads the page, the generation and the next scheduled moment.
    """
    state = _safely(cache.get_many, [GENERATION_KEY, NEXT_CHANGE_KEY, key])
    cleared = refresh_schedule(state.get(NEXT_CHANGE_KEY))
    current = (state.get(GENERATION_KEY) if not cleared else None) or _safely(generation)
    stored = state.get(key)
    if stored is not None and stored[0] == current:
        return current, stored[1]
    return current, None


class PublicPageCacheMiddleware:
    """Serves public pages from the shared cache, early in the middleware stack.

    Placed right after WhiteNoise, a hit skips sessions, CSRF, authentication and the rest;
    the stored response already carries what those added. Requests with a session cookie
    (editors) and non-public addresses always go through.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._eligible(request):
            return self.get_response(request)
        public, params = public_params(request)
        if not public:
            return self.get_response(request)
        try:
            key = page_key(request, params)
            current, cached = cached_page(key)
        except CacheDown:
            refresh_schedule()
            return self.get_response(request)  # the cache degrades; content does not
        if cached is not None:
            return get_conditional_response(request, etag=cached.get("ETag"), response=cached)
        response = self.get_response(request)
        if (
            getattr(response, PUBLIC_PAGE, False)
            and response.status_code in CACHEABLE_STATUS
            and not response.streaming
            and not response.cookies
        ):
            if not response.has_header("ETag"):
                set_response_etag(response)  # computed once, stored with the page
            try:
                _safely(cache.set, key, (current, response), timeout=settings.NEWSROOM_PAGE_CACHE_SECONDS)
            except CacheDown:
                pass
        return response

    @staticmethod
    def _eligible(request) -> bool:
        return (
            request.method in ("GET", "HEAD")
            and settings.NEWSROOM_PAGE_CACHE_SECONDS > 0
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith(_NOT_PUBLIC)
        )


def _headers(response):
    if response.status_code in CACHEABLE_STATUS and not response.has_header("Cache-Control"):
        # Browsers and CDNs may reuse a page briefly; our own cache is what publishing clears.
        patch_cache_control(response, public=True, max_age=settings.NEWSROOM_CDN_MAX_AGE, stale_while_revalidate=30)
    return response
