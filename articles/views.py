"""Public pages: only live stories, through `Article.objects.live()`."""

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from articles.models import Article, Point, Section, TakePoint

FRONT_PAGE_SIZE = 20


def _story_queryset():
    return Article.objects.live().select_related("source", "desk", "take").prefetch_related(
        "key_facts",
        Prefetch("sections", queryset=Section.objects.prefetch_related(
            Prefetch("points", queryset=Point.objects.order_by("position"))
        )),
        Prefetch("take__points", queryset=TakePoint.objects.order_by("position")),
        "tags",
    )


def article_detail(request, slug):
    """A story laid out as a news article, with its source attribution at the foot."""
    article = get_object_or_404(_story_queryset(), slug=slug)
    return render(request, "articles/article_detail.html", {"article": article})


def front_page(request):
    """The latest live stories, newest first."""
    stories = Article.objects.live().select_related("desk", "source").prefetch_related("tags")
    page = Paginator(stories, FRONT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "articles/front_page.html", {"page": page})
