"""Sitemaps of live stories: an index paginated by the protocol's 50,000-URL limit, and a
Google News sitemap of the last two days."""

from datetime import timedelta

from django.contrib.sitemaps import Sitemap
from django.utils import timezone

from articles.models import Article


class StorySitemap(Sitemap):
    limit = 50_000  # the protocol's maximum per sitemap; the index pages past it
    changefreq = "daily"

    def items(self):
        return Article.objects.live().only("live_slug", "slug", "published_at", "public_updated_at").order_by("pk")

    def lastmod(self, article):
        return article.public_updated_at or article.published_at


class NewsSitemap(StorySitemap):
    """Stories published in the last two days, with the news: extension."""

    limit = 1000  # Google News' limit

    def items(self):
        since = timezone.now() - timedelta(days=2)
        return (
            Article.objects.live().filter(published_at__gte=since)
            .only("live_slug", "slug", "published_at", "public_updated_at", "live_card").order_by("-published_at")
        )


SITEMAPS = {"stories": StorySitemap}
