"""Public pages: only live stories, through `Article.objects.live()`, shown as their live revision."""

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils.cache import add_never_cache_headers

from articles.models import Article, Section
from articles.previews import PreviewLinkExpired, PreviewLinkInvalid, preview_target
from articles.snapshots import article_snapshot, story_view

FRONT_PAGE_SIZE = 20


def live_stories():
    """Live stories with the revision readers see, newest first."""
    return Article.objects.live().select_related("live_revision").order_by("-published_at", "-pk")


def article_detail(request, slug):
    """A story laid out as a news article, with its source attribution at the foot."""
    article = get_object_or_404(live_stories(), slug=slug)
    story = story_view(article.live_revision.data)
    context = {"article": story, "canonical_url": request.build_absolute_uri(story.url)}
    return render(request, "articles/article_detail.html", context)


def front_page(request):
    """The latest live stories, newest first."""
    page = Paginator(live_stories(), FRONT_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [story_view(article.live_revision.data) for article in page.object_list]
    return render(request, "articles/front_page.html", {"page": page})


def working_copy(pk: int, **filters) -> Article:
    """A story's working copy with all its parts, for previews."""
    queryset = Article.objects.select_related("source", "desk", "take").prefetch_related(
        "key_facts", Prefetch("sections", queryset=Section.objects.prefetch_related("points")), "take__points", "tags"
    )
    return get_object_or_404(queryset, pk=pk, **filters)


def render_preview(request, article: Article, *, banner: str):
    """The working copy in the public template: never indexed, never cached."""
    story = story_view(article_snapshot(article), published_at=article.published_at)
    context = {
        "article": story,
        "canonical_url": request.build_absolute_uri(article.get_absolute_url()),
        "preview_banner": banner,
    }
    response = render(request, "articles/article_detail.html", context)
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
        return render(request, "404.html", status=404)
    article = working_copy(target["id"], slug=target["slug"])
    return render_preview(request, article, banner="Shared preview: this version is not published.")
