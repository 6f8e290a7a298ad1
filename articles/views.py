"""Public pages: only live stories, through `Article.objects.live()`, shown as their live revision."""

from datetime import datetime
from functools import partial

from django.db.models import Count, Exists, OuterRef, Prefetch
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from taggit.models import Tag

from articles import fragments
from articles import search as story_search
from articles.caching import refresh_schedule
from articles.models import Article, Desk, Revision, Section, SlugRedirect
from articles.paging import page_from, page_of
from articles.previews import PreviewLinkExpired, PreviewLinkInvalid, link_is_current, preview_target
from articles.snapshots import article_snapshot

PAGE_SIZE = 20
FRONT_PAGE_SIZE = PAGE_SIZE


def live_stories():
    """Live stories, newest first (after applying any scheduled update whose time has come)."""
    refresh_schedule()
    # A live story was first published no later than now: saying so lets the database walk
    # the published_at index from now backwards, past drafts (NULL) and scheduled stories.
    return Article.objects.live().filter(published_at__lte=timezone.now()).order_by("-published_at", "-pk")


def tagged_stories(**tag):
    """Live stories with a tag (`tag=` a Tag, or `tag__slug=`), newest first: found through
    the tag's own (tag, published_at) index (see LiveTag), not by walking every live story."""
    tagging = {f"live_taggings__{name}": value for name, value in tag.items()}
    return (
        live_stories()
        .filter(live_taggings__published_at__lte=timezone.now(), **tagging)
        .order_by("-live_taggings__published_at", "-live_taggings__article_id")
    )


def live_cards(stories):
    """The cards of these live stories (one small JSON column each; no revision is read)."""
    return stories.values_list("live_card", flat=True)


def _list_page(request, stories, template: str, **context):
    """A page of story cards: the live revisions of the page, then their cards' kept HTML (the
    cards themselves are read only for those not kept yet)."""
    page = page_of(stories.values_list("live_revision_id", flat=True), request.GET.get("page"), PAGE_SIZE)
    page.object_list = fragments.cards(page.object_list)
    return render(request, template, {"page": page, **context})


def article_detail(request, slug):
    """A story laid out as a news article, with its source attribution at the foot.

    Old addresses of a live story redirect permanently; an unpublished story is 410 Gone.
    The page's own parts are rendered once per live revision (articles/fragments.py), so
    the revision itself is read only when they are not kept yet.
    """
    found = list(live_stories().filter(live_slug=slug).values_list("live_revision_id", flat=True)[:1])
    if not found:
        return _not_live(request, slug)
    revision_id = found[0]

    def revision_data() -> dict:
        data = Revision.objects.filter(pk=revision_id).values_list("data", flat=True).first()
        if data is None:  # the story was deleted a moment ago
            raise Http404("No live story at this address.")
        return data

    story = fragments.live_story_parts(request, revision_id, revision_data)
    return render(request, "articles/article_detail.html", {"story": story})


def _not_live(request, slug):
    moved = SlugRedirect.objects.filter(old_slug=slug).select_related("article").first()
    if moved is not None and Article.objects.live().filter(pk=moved.article_id).exists():
        return HttpResponsePermanentRedirect(moved.article.get_absolute_url())
    target = moved.article if moved else Article.objects.filter(slug=slug).first()
    if target is not None and target.unpublished_at is not None and target.live_revision_id is None:
        return render(request, "articles/gone.html", status=410)
    raise Http404("No live story at this address.")


def front_page(request):
    """The latest live stories, newest first."""
    return _list_page(request, live_stories(), "articles/front_page.html")


def desk_page(request, slug):
    desk = get_object_or_404(Desk, slug=slug)
    return _list_page(
        request,
        live_stories().filter(live_desk=desk),
        "articles/list_page.html",
        heading=desk.name,
        feed_url=reverse("articles:desk_feed", args=[desk.slug]),
    )


def live_tag_or_404(slug: str) -> Tag:
    """The tag at this address if a live story carries it (found through its live tag links),
    else 404: a tag only drafts, scheduled or unpublished stories carry is not shown. One query,
    in place of the tag's own lookup."""
    carried = Tag.objects.filter(Exists(tagged_stories(tag=OuterRef("pk"))))
    return get_object_or_404(carried, slug=slug)


def tag_page(request, slug):
    tag = live_tag_or_404(slug)
    return _list_page(
        request,
        tagged_stories(tag=tag),
        "articles/list_page.html",
        heading=f"Tagged “{tag.name}”",
        feed_url=reverse("articles:tag_feed", args=[tag.slug]),
    )


def archive_index(request):
    """Months that have live stories, newest first, with counts."""
    months = (
        Article.objects.live()
        .annotate(month=TruncMonth("published_at"))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by("-month")
    )
    return render(request, "articles/archive_index.html", {"months": months})


def archive_month(request, year, month):
    try:
        # A range on published_at (not its year and month parts) walks the index.
        start = timezone.make_aware(datetime(year, month, 1))
        end = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
    except (ValueError, OverflowError):
        raise Http404("No such month.") from None
    stories = live_stories().filter(published_at__gte=start, published_at__lt=end)
    return _list_page(request, stories, "articles/list_page.html", heading=f"{start:%B %Y}")


def search_page(request):
    """Full-text search of live stories; empty and hostile queries give an empty result."""
    query = story_search.clean_query(request.GET.get("q"))
    hits, page = [], None
    if query:
        refresh_schedule()  # as live_stories() does for the lists
        page = page_from(partial(story_search.results, query), request.GET.get("page"), PAGE_SIZE)
        heads = fragments.search_heads([hit["live_revision_id"] for hit in page.object_list])
        hits = [
            (heads[hit["live_revision_id"]], story_search.excerpt(hit, query))
            for hit in page.object_list
            if hit["live_revision_id"] in heads
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
    story = fragments.story_parts(
        request, article_snapshot(article), preview_banner=banner, view={"published_at": article.published_at}
    )
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


def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("sitemap-index"))
    news = request.build_absolute_uri(reverse("news-sitemap"))
    body = f"User-agent: *\nDisallow: /admin/\nDisallow: /preview/\n\nSitemap: {sitemap}\nSitemap: {news}\n"
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
