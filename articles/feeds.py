"""RSS and Atom feeds of current publications (all, per desk, per tag), each item with its
attribution.

Django's Feed does the work through its own hooks: `items` reads the newest current
publications' cards (one query), and each item's description (the lede and the credit line,
rendered by a template) is kept in the "fragments" cache under the publication's id and the
language: a publication never changes what it shows, so a kept description is never stale.
"""

from io import StringIO
from types import SimpleNamespace

from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.translation import get_language

from articles import links
from articles.cards import card_view, moment
from articles.models import Desk
from articles.views import current, current_tag_or_404, listed, newest_first, tagged

FEED_SIZE = 30


class WrittenWhole:
    """A feed generator that hands the response its XML in one piece: written straight into
    the response, a feed went out as some 1,200 small writes."""

    def write(self, outfile, encoding):
        whole = StringIO()
        super().write(whole, encoding)
        outfile.write(whole.getvalue())


class RssFeed(WrittenWhole, Rss201rev2Feed):
    pass


class AtomFeed(WrittenWhole, Atom1Feed):
    pass


class StoryFeed(Feed):
    """The latest stories, as RSS 2.0."""

    title = "Newsroom: latest stories"
    description = "The latest stories, each with its source's credit."
    item_template = "articles/feed_item.html"
    feed_type = RssFeed

    def link(self, obj=None):
        return reverse("articles:front")

    def publications(self, obj):
        """The feed's current publications, newest first."""
        return listed()

    def items(self, obj=None):
        rows = self.publications(obj).values_list("pk", "card")[:FEED_SIZE]
        return [feed_item(pk, card) for pk, card in rows]

    def item_description(self, item):
        """The lede and the credit line: rendered once per publication and language."""
        key = f"feed-item:{item.publication_id}:{get_language()}"
        return caches["fragments"].get_or_set(
            key, lambda: render_to_string(self.item_template, {"obj": card_view(item.card)})
        )

    def item_title(self, item):
        return item.title

    def item_link(self, item):
        return item.url

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at or item.published_at

    def item_author_name(self, item):
        return item.author

    def item_categories(self, item):
        return item.categories


def feed_item(publication_id: int, card: dict) -> SimpleNamespace:
    """What a feed shows of a publication's card (the description is rendered from the whole
    card, only when it is not kept yet)."""
    source = card.get("source")
    return SimpleNamespace(
        publication_id=publication_id,
        card=card,
        title=card["title"],
        url=links.story_path(card["slug"]),
        published_at=moment(card.get("published_at")),
        updated_at=moment(card.get("updated_at")),
        author=card["byline"] or (source["name"] if source else None),
        categories=[tag["name"] for tag in card["tags"]],
    )


class AtomStoryFeed(StoryFeed):
    feed_type = AtomFeed
    subtitle = StoryFeed.description


class DeskFeed(StoryFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Desk, slug=slug)

    def title(self, obj):
        return f"Newsroom: {obj.name}"

    def link(self, obj):
        return reverse("articles:desk", args=[obj.slug])

    def publications(self, obj):
        return newest_first(current().filter(desk=obj))


class TagFeed(StoryFeed):
    def get_object(self, request, slug):
        return current_tag_or_404(slug)

    def title(self, obj):
        return f"Newsroom: tagged {obj.name}"

    def link(self, obj):
        return reverse("articles:tag", args=[obj.slug])

    def publications(self, obj):
        return tagged(tag=obj)


class AtomDeskFeed(DeskFeed):
    feed_type = AtomFeed
    subtitle = StoryFeed.description


class AtomTagFeed(TagFeed):
    feed_type = AtomFeed
    subtitle = StoryFeed.description
