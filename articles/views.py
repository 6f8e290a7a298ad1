"""Public pages: only live stories, through `Article.objects.live()`, shown as their live revision."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from articles.models import Article
from articles.snapshots import story_view

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
