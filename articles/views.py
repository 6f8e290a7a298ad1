"""Public pages: only live stories, through `Article.objects.live()`."""

from types import SimpleNamespace

from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render

from articles.models import Article, Section
from articles.snapshots import article_snapshot, story_view
from articles.text import html_to_text

FRONT_PAGE_SIZE = 20


def article_detail(request, slug):
    """A story laid out as a news article, with its source attribution at the foot."""
    queryset = Article.objects.live().select_related("source", "desk", "take").prefetch_related(
        "key_facts",
        Prefetch("sections", queryset=Section.objects.prefetch_related("points")),
        "take__points",
        "tags",
    )
    article = get_object_or_404(queryset, slug=slug)
    story = story_view(article_snapshot(article), published_at=article.published_at)
    context = {"article": story, "canonical_url": request.build_absolute_uri(story.url)}
    return render(request, "articles/article_detail.html", context)


def _card(article: Article) -> SimpleNamespace:
    """What a story list shows of one story."""
    return SimpleNamespace(
        title=article.title,
        url=article.get_absolute_url(),
        desk=article.desk,
        lede_text=html_to_text(article.lede_html),
        published_at=article.published_at,
        tags=sorted(article.tags.all(), key=lambda tag: tag.name),
        image=article.image or None,
        image_alt=article.image_alt,
    )


def front_page(request):
    """The latest live stories, newest first."""
    stories = Article.objects.live().select_related("desk").prefetch_related("tags").order_by("-published_at", "-pk")
    page = Paginator(stories, FRONT_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [_card(article) for article in page.object_list]
    return render(request, "articles/front_page.html", {"page": page})
