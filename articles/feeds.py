"""RSS and Atom feeds of current publications (all, per desk, per tag), each item with its
attribution.

Each item's id (RSS <guid isPermaLink="false">, Atom <id>) is a tag URI naming the story, not
its address: a story keeps it when its address changes or a new version is approved, so feed
readers never show it twice (story_id).

Django's Feed does the work through its own hooks: `items` reads the newest current
publications' cards (one query), and each item's description (the lede and the credit line,
rendered by a template) is kept in the "fragments" cache under the publication's id and the
language: a publication never changes what it shows, so a kept description is never stale.
"""

import hashlib
from io import StringIO
from types import SimpleNamespace

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, get_tag_uri
from django.utils.translation import get_language

from articles import links
from articles.cards import card_view, moment
from articles.models import Desk
from articles.views import current, current_tag_or_404, listed, newest_first, tagged

FEED_SIZE = 30


class KeptFeed:
    """A feed already written, as Feed.__call__ uses a generator: its XML, content type and
    latest date."""

    def __init__(self, xml: str, content_type: str, latest):
        self.xml, self.content_type, self.latest = xml, content_type, latest

    def write(self, outfile, encoding):
        outfile.write(self.xml)

    def latest_post_date(self):
        return self.latest


class StoryFeed(Feed):
    """The latest stories, as RSS 2.0."""

    title = "Newsroom: latest stories"
    description = "The latest stories, each with its source's credit."
    item_template = "articles/feed_item.html"
    feed_type = Rss201rev2Feed

    def link(self, obj=None):
        return reverse("articles:front")

    def publications(self, obj):
        """The feed's current publications, newest first."""
        return listed()

    def get_feed(self, obj, request):
        """The feed written once per list of publications (Feed's own hook for the generator).

        Kept in the "fragments" cache under the publication ids it lists and what else it
        shows (address, language, its desk's or tag's name): the same publications always make
        the same XML, so a kept feed is never stale, and a publish or unpublish changes the
        ids. A kept feed costs one query (the ids); written afresh it is about 30 items of XML.
        """
        ids = list(self.publications(obj).values_list("pk", flat=True)[:FEED_SIZE])
        shown = (request.build_absolute_uri(request.path), get_language(), (obj.name, obj.slug) if obj else None, ids)
        key = f"feed:{type(self).__name__}:{hashlib.blake2b(repr(shown).encode(), digest_size=16).hexdigest()}"
        kept = caches["fragments"].get(key)
        if kept is None:
            feed = super().get_feed(obj, request)
            whole = StringIO()
            feed.write(whole, "utf-8")
            kept = KeptFeed(whole.getvalue(), feed.content_type, feed.latest_post_date())
            # Kept only if it lists the ids of its key (a story can go live or away between
            # the two reads) and is not empty (its date is then the time of writing).
            if ids and [item["publication_id"] for item in feed.items] == ids:
                caches["fragments"].set(key, kept)
        return kept

    item_guid_is_permalink = False  # the guid names the story; its link is the address

    def item_guid(self, item):
        return story_id(item.article_id, item.published_at)

    def item_extra_kwargs(self, item):
        return {"publication_id": item.publication_id}

    def items(self, obj=None):
        rows = self.publications(obj).values_list("pk", "article_id", "card")[:FEED_SIZE]
        return [feed_item(pk, card, article_id=article_id) for pk, article_id, card in rows]

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


def story_id(article_id: int, published_at) -> str:
    """A story's lasting id in feeds: a tag URI (RFC 4151, Django's get_tag_uri) of the site's
    public address (NEWSROOM_BASE_URL), the story's first publication day and its number, e.g.
    tag:news.example.org,2026-11-27:/story/42/. Addresses change; this does not."""
    return get_tag_uri(f"{settings.NEWSROOM_BASE_URL.rstrip('/')}/story/{article_id}", published_at)


def feed_item(publication_id: int, card: dict, *, article_id: int) -> SimpleNamespace:
    """What a feed shows of a publication's card (the description is rendered from the whole
    card, only when it is not kept yet)."""
    source = card.get("source")
    return SimpleNamespace(
        publication_id=publication_id,
        article_id=article_id,
        card=card,
        title=card["title"],
        url=links.story_path(card["slug"]),
        published_at=moment(card.get("published_at")),
        updated_at=moment(card.get("updated_at")),
        author=card["byline"] or (source["name"] if source else None),
        categories=[tag["name"] for tag in card["tags"]],
    )


class AtomStoryFeed(StoryFeed):
    feed_type = Atom1Feed
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
    feed_type = Atom1Feed
    subtitle = StoryFeed.description


class AtomTagFeed(TagFeed):
    feed_type = Atom1Feed
    subtitle = StoryFeed.description
