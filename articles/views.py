"""Public pages: only what readers may see now, read from `Publication.objects.current()`.

Every list, page, feed (articles/feeds.py), sitemap (articles/sitemaps.py), the API
(articles/api.py) and search (articles/search.py) starts from that one queryset; none of
them restates when a publication is live, and none of them writes to the database.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from urllib.parse import urlencode

from django.db import connections, router
from django.db.models import Exists, OuterRef, Prefetch, Subquery
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from taggit.models import Tag

from articles import fragments, links
from articles import search as story_search
from articles.caching import db_datetime
from articles.models import Article, Desk, Publication, Section, SlugRedirect
from articles.paging import PageNotFound, page_from, page_of
from articles.previews import PreviewLinkExpired, PreviewLinkInvalid, link_is_current, preview_target
from articles.snapshots import article_snapshot

PAGE_SIZE = 20
FRONT_PAGE_SIZE = PAGE_SIZE
# What a story page needs of its publication besides the content (snapshots.story_view).
PUBLISHED_FIELDS = ("published_at", "updated_at", "changes", "renditions")


def current():
    """The publications readers see now (the one door, Publication.objects.current())."""
    return Publication.objects.current()


def newest_first(publications, now=None):
    """These publications newest first. A current publication was first published no later
    than now: saying so lets the database walk the (published_at, id) index from now
    backwards, past versions scheduled for later, instead of from the far end."""
    return publications.filter(published_at__lte=now or timezone.now()).order_by("-published_at", "-id")


def listed():
    """Current publications, newest first: the front page, feeds, API and sitemaps."""
    return newest_first(current())


def tagged(**tag):
    """Current publications with a tag (`tag=` a Tag, `tag__slug=` its slug), newest first,
    found by walking the tag's own (tag, published_at) index (PublicationTag) and joining
    each to its publication, not by walking every current publication."""
    tagging = {f"taggings__{name}": value for name, value in tag.items()}
    return (
        current()
        .filter(taggings__published_at__lte=timezone.now(), **tagging)
        .order_by("-taggings__published_at", "-taggings__publication_id")
    )


def header_desks() -> list[dict]:
    """The desks in the site header: those with a current publication, by name, each with its
    address. One query, whatever the number of desks (each desk's look-up is an index probe of
    publication_desk_idx). A desk without live stories is left out: its page would be empty."""
    live_here = current().filter(desk=OuterRef("pk"))
    desks = Desk.objects.filter(Exists(live_here)).order_by("name").values_list("name", "slug")
    return [{"name": name, "url": links.desk_path(slug)} for name, slug in desks]


def _list_page(request, publications, template: str, **context):
    """A page of story cards: the page's publication ids (from the index), then their cards'
    kept HTML (the cards themselves are read only for those not kept yet). A page that is not
    there (past the end, or not a page number) is 404, "no such page"."""
    try:
        page = page_of(publications.values_list("pk", flat=True), request.GET.get("page"), PAGE_SIZE)
    except PageNotFound as error:
        return no_such_page(request, error)
    page.object_list = fragments.cards(page.object_list)
    return render(request, template, {"page": page, **context})


def no_such_page(request, error: PageNotFound, first_page: str = ""):
    """404 for a page of a list that does not exist, saying so (not "no stories yet", which is
    what an empty first page says) and linking to the list's first page."""
    context = {"message": str(error), "first_page": f"{request.path}{first_page}"}
    return render(request, "articles/no_such_page.html", context, status=404)


def _published(publication_id: int):
    """The snapshot of a publication and what the page shows of the publication itself
    (one query), or None if it went away since it was found."""
    row = Publication.objects.filter(pk=publication_id).values("revision__data", *PUBLISHED_FIELDS).first()
    if row is None:
        return None
    return row.pop("revision__data"), row


def article_detail(request, slug):
    """A story laid out as a news article, with its source attribution at the foot.

    One query finds the current publication at this address; its page's own parts are kept
    under the publication's id (articles/fragments.py), so its revision is read (a second
    query) only when they are not kept yet. Old addresses redirect; a story taken down is
    410 Gone (see _not_current).
    """
    found = current().filter(slug=slug).values_list("pk", flat=True).first()
    if found is None:
        return _not_current(request, slug)
    story = fragments.publication_parts(request, found, partial(_published, found))
    if story is None:  # deleted a moment ago
        raise Http404("No live story at this address.")
    return render(request, "articles/article_detail.html", {"story": story})


def _not_current(request, slug):
    """No current publication at this address: the newest publication that started under it
    names the story. If that story is current under another address, a permanent redirect
    there; if it is not current at all, 410 Gone. Addresses from before publications are in
    SlugRedirect, answered the same way; anything else is 404. At most three queries."""
    now_at = Subquery(current().filter(article_id=OuterRef("article_id")).values("slug")[:1])
    # Publications that have started (live now or once): not the live condition, the history.
    started = Publication.objects.started()
    history = started.filter(slug=slug).order_by("-live_from").annotate(now_at=now_at)
    named = history.values_list("now_at", flat=True)[:1]
    if not named:
        legacy = SlugRedirect.objects.filter(old_slug=slug).annotate(
            now_at=now_at, started=Exists(started.filter(article_id=OuterRef("article_id")))
        )
        named = [now_at for now_at, was_live in legacy.values_list("now_at", "started")[:1] if now_at or was_live]
    if not named:
        raise Http404("No live story at this address.")
    if named[0]:
        return HttpResponsePermanentRedirect(links.story_path(named[0]))
    return render(request, "articles/gone.html", status=410)


def front_page(request):
    """The latest stories, newest first."""
    return _list_page(request, listed(), "articles/front_page.html")


def desk_page(request, slug):
    desk = get_object_or_404(Desk, slug=slug)
    return _list_page(
        request,
        newest_first(current().filter(desk=desk)),
        "articles/list_page.html",
        heading=desk.name,
        feed_url=reverse("articles:desk_feed", args=[desk.slug]),
    )


def current_tag_or_404(slug: str) -> Tag:
    """The tag at this address if a current publication carries it, else 404: a tag only
    drafts, scheduled or ended versions carry is not shown. One query."""
    carried = Tag.objects.filter(Exists(tagged(tag=OuterRef("pk"))))
    return get_object_or_404(carried, slug=slug)


def tag_page(request, slug):
    tag = current_tag_or_404(slug)
    return _list_page(
        request,
        tagged(tag=tag),
        "articles/list_page.html",
        heading=f"Tagged “{tag.name}”",
        feed_url=reverse("articles:tag_feed", args=[tag.slug]),
    )


def _month_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return timezone.make_aware(datetime(local.year, local.month, 1))


# Stand for "now" and for the cursor in the month look-up, compiled once per process.
_NOW_MARK = datetime(2000, 1, 1, tzinfo=UTC)
_CURSOR_MARK = datetime(2000, 1, 2, tzinfo=UTC)


@lru_cache(maxsize=4)
def _newest_before(vendor: str):
    """The statement (SQL, parameters) reading the newest current publication's first
    publication time before a cursor, as Django generates it from the door's queryset
    (Publication.objects.current(), newest first). Generated once: the archive index runs it
    once per month, and compiling it cost more than running it (0.8 ms against 0.1 ms)."""
    before = newest_first(Publication.objects.current(_NOW_MARK), now=_NOW_MARK).filter(published_at__lt=_CURSOR_MARK)
    return before.values_list("published_at", flat=True)[:1].query.sql_with_params()


def archive_months() -> list[datetime]:
    """The months (their first moment, local time) that have current publications, newest
    first. Each month is one index look-up: the newest publication before a cursor, then the
    cursor moves to the start of that publication's month. So the cost grows with the number
    of months, not with the number of stories (grouping every story by month read them all)."""
    connection = connections[router.db_for_read(Publication)]  # a replica for anonymous readers
    sql, params = _newest_before(connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    now_mark, cursor_mark, now = adapt(_NOW_MARK), adapt(_CURSOR_MARK), timezone.now()
    months, cursor = [], now + timedelta(days=1)
    with connection.cursor() as db:
        while True:
            values = {now_mark: adapt(now), cursor_mark: adapt(cursor)}
            db.execute(sql, [values.get(value, value) for value in params])
            row = db.fetchone()
            if row is None:
                return months
            cursor = _month_start(db_datetime(row[0]))
            months.append(cursor)


def archive_index(request):
    """Months that have stories, newest first. No counts per month: counting read every
    story, and the index is to stay as cheap with a million stories as with a hundred."""
    return render(request, "articles/archive_index.html", {"months": archive_months()})


def archive_month(request, year, month):
    try:
        # A range on published_at (not its year and month parts) walks the index.
        start = timezone.make_aware(datetime(year, month, 1))
        end = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
    except (ValueError, OverflowError):
        raise Http404("No such month.") from None
    publications = newest_first(current().filter(published_at__gte=start, published_at__lt=end))
    return _list_page(request, publications, "articles/list_page.html", heading=f"{start:%B %Y}")


def search_page(request):
    """Full-text search of current publications; empty and hostile queries give an empty result."""
    query = story_search.clean_query(request.GET.get("q"))
    hits, page = [], None
    if query:
        try:
            page = page_from(partial(story_search.results, query), request.GET.get("page"), PAGE_SIZE)
        except PageNotFound as error:
            return no_such_page(request, error, first_page=f"?{urlencode({'q': query})}")
        heads = fragments.search_heads([hit["publication_id"] for hit in page.object_list])
        hits = [
            (heads[hit["publication_id"]], story_search.excerpt(hit, query))
            for hit in page.object_list
            if hit["publication_id"] in heads
        ]
    return render(
        request,
        "articles/search.html",
        {"query": query, "raw_query": request.GET.get("q", ""), "hits": hits, "page": page},
    )


def working_copy(pk: int, **filters) -> Article:
    """A story's working copy with all its parts, for previews."""
    queryset = Article.objects.select_related("source", "desk", "take").prefetch_related(
        "key_facts", Prefetch("sections", queryset=Section.objects.prefetch_related("points")), "take__points", "tags"
    )
    return get_object_or_404(queryset, pk=pk, **filters)


def render_preview(request, article: Article, *, banner: str):
    """The working copy in the public template: never indexed, never cached."""
    publication = article.publication  # the approved version's first-publication date, if any
    published = {"published_at": publication.published_at} if publication else None
    story = fragments.story_parts(request, article_snapshot(article), published=published, preview_banner=banner)
    response = render(request, "articles/article_detail.html", {"story": story, "preview_banner": banner})
    response["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response


def shared_preview(request, token):
    """A signed, expiring, read-only link to a draft, for someone without an account."""
    try:
        target = preview_target(token)
    except PreviewLinkExpired:
        response = render(request, "articles/preview_expired.html", status=410)
        add_never_cache_headers(response)
        return response
    except PreviewLinkInvalid:
        return _preview_not_found(request)
    try:
        article = working_copy(target["id"], slug=target["slug"])
    except Http404:  # the story was deleted (or its slug changed)
        return _preview_not_found(request)
    if not link_is_current(target, article):  # revoked, unpublished or archived since
        return _preview_not_found(request)
    return render_preview(request, article, banner="Shared preview: this version is not published.")


def _preview_not_found(request):
    """A dead share link: the same answer whether it was forged, revoked or its story taken down."""
    response = render(request, "404.html", status=404)
    add_never_cache_headers(response)
    return response


def favicon(request):
    """/favicon.ico, which browsers and feed readers ask for whatever a page links: the icon's
    static file (hashed name in production, so the redirect itself is what may be kept a day)."""
    response = HttpResponseRedirect(static("img/favicon.ico"))
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response


def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap-index"))
    news = request.build_absolute_uri(reverse("news-sitemap"))
    body = f"User-agent: *\nDisallow: /admin/\nDisallow: /preview/\n\nSitemap: {sitemap}\nSitemap: {news}\n"
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
