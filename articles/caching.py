"""The public page cache: a page is served from it only while what it shows cannot have changed.

What readers see changes in two ways only, and a cached page notes both when it is built:

- the *publication generation*, the one row `PublicationGeneration(pk=1)`, which
  articles.publications moves in the same transaction as every publish and unpublish (and
  story_deleted below when a story with publications is deleted). Being a database row, every
  process sees the new number the moment the change commits, with or without Redis: the
  development server, gunicorn workers and `manage.py workflow` all agree at once;
- the *next window boundary*: the earliest `live_from` or `live_until` after now among the
  publications. A scheduled go-live or an expiry needs no worker and no write: a page built
  before that moment is simply not served at or after it.

A page is kept as (generation, valid until, response). A hit reads the generation (one query of
one row by its key) and needs it equal and the moment not reached; a miss reads the generation
and the next boundary together (one query of three index look-ups) *before* the page is built,
so a page can only ever be stored under a generation older than its content, never newer.
Nothing is written to the database on a GET. docs/caching.md lists every cache that remains.

A page is kept under its address's path and only the query parameters its view reads (declared
with public_page(view, params=...)): other parameters are served the same page, so they cannot
fill the cache with copies of it.
"""

import hashlib
import logging
from datetime import UTC, datetime
from functools import lru_cache, wraps
from typing import NamedTuple
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import QueryDict
from django.urls import Resolver404, get_urlconf, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag

logger = logging.getLogger("newsroom.cache")

CACHEABLE_STATUS = {200, 301, 410}


class CacheDown(Exception):
    """The cache backend did not answer; pages are served uncached meanwhile."""


def _safely(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any backend error means "no cache", never a failed page
        logger.warning("cache unavailable: %s", error)
        raise CacheDown from error


# What the database says ---------------------------------------------------------------------


class State(NamedTuple):
    """What a page built now depends on: the generation, and the moment it stops being true."""

    generation: int
    valid_until: datetime | None  # None: no publication starts or ends later


def _generation_rows():
    from articles.models import PublicationGeneration

    return PublicationGeneration.objects.filter(pk=1).values("value")


def generation() -> int:
    """The publication generation now (0 before anything was ever published; never written here)."""
    value = _generation_rows().first()
    return value["value"] if value else 0


def _next_boundaries(now: datetime):
    """The earliest start and the earliest end after `now`, each one index look-up
    (publication_from_idx, publication_until_idx)."""
    from articles.models import Publication

    starts = Publication.objects.filter(live_from__gt=now).order_by("live_from").values("live_from")[:1]
    ends = Publication.objects.filter(live_until__gt=now).order_by("live_until").values("live_until")[:1]
    return starts, ends


def state(now: datetime | None = None) -> State:
    """The generation and the next window boundary after `now`, in one query.

    Written as `SELECT (generation), (next start), (next end)`: with no FROM the statement
    returns its one row even when the generation row is missing. Each part is SQL that Django
    generates from the querysets above, nothing restated by hand.
    """
    now = now or timezone.now()
    parts, params = [], []
    for queryset in (_generation_rows()[:1], *_next_boundaries(now)):
        sql, part_params = queryset.query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        value, start, end = cursor.fetchone()
    moments = [_as_datetime(moment) for moment in (start, end) if moment is not None]
    return State(value or 0, min(moments) if moments else None)


def _as_datetime(value) -> datetime:
    """A raw cursor's value as an aware datetime (SQLite returns text for a subquery's column)."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    return _as_datetime(datetime.fromisoformat(str(value)))


# Moving the generation when a story is deleted -------------------------------------------------


def story_deleted(*, instance, **kwargs) -> None:
    """Move the generation when a story that had publications is deleted.

    A pre_delete receiver for Article (ArticlesConfig.ready()): deletes come from the admin's
    delete page and "delete selected" action, from querysets and from cascades, none of which
    pass through articles.publications, so a signal is the one place that sees them all. It is
    pre_delete, not post_delete, because by post_delete the story's publications have already
    been deleted with it and there is no telling whether readers had it. Django sends pre_delete
    inside the delete's own transaction, so the move commits (or rolls back) with the delete.
    Any publication counts, an ended one too: it answers its old address with 410. A story
    that never went live (a draft) leaves cached pages alone.
    """
    from articles.publications import generation_move

    if instance.pk is not None and instance.publications.exists():
        generation_move()


# Marking public views ---------------------------------------------------------------------------

PUBLIC_PAGE = "newsroom_public_page"
# On a public view: the query parameters it reads (a tuple), or None for the whole query string.
PAGE_PARAMS = "newsroom_page_params"
# Addresses that are never public pages, so not worth a cache lookup.
_NOT_PUBLIC = ("/admin/", "/_nested_admin/", "/static/", "/media/", "/preview/")


def public_page(view, *, params=None):
    """Mark a public view's responses as shareable: CDN headers, and PublicPageCacheMiddleware
    keeps them (see the module's docstring).

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
    # Kept per address: resolving one costs about as much as the rest of a cache hit
    # (docs/caching.md). The URL configuration never changes while a process runs.
    try:
        view = resolve(path, urlconf).func
    except Resolver404:
        return False, None
    return hasattr(view, PAGE_PARAMS), getattr(view, PAGE_PARAMS, None)


# The middleware ----------------------------------------------------------------------------------


def _fresh(stored, now: datetime) -> bool:
    """Whether a stored (generation, valid_until, response) may still be served."""
    kept_generation, valid_until, _ = stored
    return (valid_until is None or now < valid_until) and kept_generation == generation()


def _timeout(valid_until: datetime | None, now: datetime) -> int:
    """How long the cache backend keeps a page: never past the moment it stops being true."""
    seconds = settings.NEWSROOM_PAGE_CACHE_SECONDS
    if valid_until is not None:
        seconds = min(seconds, int((valid_until - now).total_seconds()) + 1)
    return max(seconds, 1)


class PublicPageCacheMiddleware:
    """Serves public pages from the cache, early in the middleware stack.

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
        key, now = page_key(request, params), timezone.now()
        try:
            stored = _safely(cache.get, key)
        except CacheDown:
            return self.get_response(request)  # the cache degrades; content does not
        if stored is not None and _fresh(stored, now):
            response = stored[2]
            return get_conditional_response(request, etag=response.get("ETag"), response=response)
        built_in = state(now)  # read before the page is built: see the module's docstring
        response = self.get_response(request)
        if self._keepable(response):
            if not response.has_header("ETag"):
                set_response_etag(response)  # computed once, stored with the page
            try:
                entry = (built_in.generation, built_in.valid_until, response)
                _safely(cache.set, key, entry, timeout=_timeout(built_in.valid_until, now))
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

    @staticmethod
    def _keepable(response) -> bool:
        return (
            getattr(response, PUBLIC_PAGE, False)
            and response.status_code in CACHEABLE_STATUS
            and not response.streaming
            and not response.cookies
        )


def _headers(response):
    if response.status_code in CACHEABLE_STATUS and not response.has_header("Cache-Control"):
        # Browsers and CDNs may reuse a page briefly; our own cache is what publishing clears.
        patch_cache_control(response, public=True, max_age=settings.NEWSROOM_CDN_MAX_AGE, stale_while_revalidate=30)
    return response
