"""Sitemaps of current publications: an index of story pages by blocks of story ids, and a
Google News sitemap of the last two days.

Items are plain rows (slug and dates), not model instances, and addresses come from
`links`: a page of URLs is built from one query.

The index must cost the same with a hundred stories or a million. Paging by position needs
a count of every current story, so the stories are paged by blocks of story (Article) ids
instead: page k+1 lists the current publications of stories k*BLOCK <= id < (k+1)*BLOCK,
and the number of pages comes from the highest such id, one index look-up. A story keeps its
page for life whatever else is published or taken down. A block whose stories are all gone
is an empty page (a valid sitemap), never a missing one. The index gives no lastmod: it
would need an aggregate over every story.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from django.contrib.sitemaps import Sitemap
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.utils import timezone

from articles import links
from articles.views import current, newest_first

BLOCK = 5_000  # story ids per page: a page is built in well under a second (the protocol allows 50,000)
_ROW = ("slug", "published_at", "updated_at")


@dataclass
class Block:
    object_list: list


class BlockPaginator:
    """What Django's sitemap views ask of a paginator (num_pages, page(n)), paging current
    publications by blocks of BLOCK story ids."""

    def __init__(self, publications):
        self.publications = publications

    @cached_property
    def num_pages(self) -> int:
        highest = self.publications.order_by("-article_id").values_list("article_id", flat=True).first()
        return 1 if highest is None else highest // BLOCK + 1

    def page(self, number) -> Block:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1 or (number > 1 and number > self.num_pages):
            raise EmptyPage("That page contains no results")
        lowest = (number - 1) * BLOCK
        rows = self.publications.filter(article_id__gte=lowest, article_id__lt=lowest + BLOCK).order_by("article_id")
        return Block(list(rows.values(*_ROW)))


class StorySitemap(Sitemap):
    changefreq = "daily"

    @property
    def paginator(self):
        return BlockPaginator(current())

    def location(self, item):
        return links.story_path(item["slug"])

    def lastmod(self, item):
        return item["updated_at"] or item["published_at"]

    def get_latest_lastmod(self):
        """None: the newest date of all stories is an aggregate over all of them (see above)."""
        return None


class NewsSitemap(Sitemap):
    """Stories first published in the last two days, with the news: extension."""

    limit = 1000  # Google News' limit

    def items(self):
        since = timezone.now() - timedelta(days=2)
        return newest_first(current().filter(published_at__gte=since)).values(*_ROW, "card__title")

    def location(self, item):
        return links.story_path(item["slug"])

    def lastmod(self, item):
        return item["updated_at"] or item["published_at"]


SITEMAPS = {"stories": StorySitemap}
