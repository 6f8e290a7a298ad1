"""RSS and Atom feeds of live stories (all, per desk, per tag), each item with its attribution."""

import hashlib
from io import StringIO
from types import SimpleNamespace

from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.xmlutils import SimplerXMLGenerator

from articles import fragments, links
from articles.cards import card_view, moment
from articles.models import Desk
from articles.views import live_stories, live_tag_or_404, tagged_stories

FEED_SIZE = 30


class KeptItems:
    """For Django's feed generators: each item's XML is written once and kept per process.

    An item shows one live revision (immutable) at one address, so its XML, written by the
    generator's own `add_item_elements`, is kept under both (the "fragments" cache, as the
    cards are) and a feed of thirty items writes thirty kept strings. Most of a feed's time
    went into writing its items' XML piece by piece.
    """

    item_element = "item"

    def write_items(self, handler):
        keys = [f"feed-xml:{type(self).__name__}:{item['kept_as']}:{_digest(item['link'])}" for item in self.items]
        item_of = dict(zip(keys, self.items, strict=True))
        found = fragments.kept_or_rendered(keys, lambda missing: {key: self._item_xml(item_of[key]) for key in missing})
        for key in keys:
            handler.ignorableWhitespace(found[key])  # written as it is: XML already

    def _item_xml(self, item) -> str:
        out = StringIO()
        handler = SimplerXMLGenerator(out, "utf-8", short_empty_elements=True)
        handler.startElement(self.item_element, self.item_attributes(item))
        self.add_item_elements(handler, item)
        handler.endElement(self.item_element)
        return out.getvalue()


def _digest(text: str) -> str:
    """A short stand-in for an address (or a feed's whole description) in a cache key."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class KeptRssFeed(KeptItems, Rss201rev2Feed):
    pass


class KeptAtomFeed(KeptItems, Atom1Feed):
    item_element = "entry"


class StoryFeed(Feed):
    """The latest live stories, as RSS 2.0."""

    title = "Newsroom: latest stories"
    description = "The latest stories, each with its source's credit."
    item_template = "articles/feed_item.html"
    feed_type = KeptRssFeed

    def __call__(self, request, *args, **kwargs):
        """As Django's Feed.__call__, but with the feed kept whole, and written into one string
        (written into the response, it went out as some 1,200 small pieces).

        A feed is kept per process (the "fragments" cache, as the cards are) under the live
        revisions it lists and what else it shows: its address, its desk's or tag's name and
        slug, the language. The same revisions make the same XML, so a kept feed is never
        stale: a publication changes the revisions, and the next request writes the feed
        again (from its kept items). Until then a feed costs one query for its revisions.
        """
        try:
            obj = self.get_object(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise Http404("Feed object does not exist.") from None
        revisions = list(self.stories(obj).values_list("live_revision_id", flat=True)[:FEED_SIZE])
        shown = (request.build_absolute_uri(request.path), get_language(), (obj.name, obj.slug) if obj else None)
        key = f"feed:{type(self).__name__}:{_digest(repr((shown, revisions)))}"
        kept = caches["fragments"].get(key)
        if kept is None:
            feed = self.get_feed(obj, request)
            kept = (feed.writeString("utf-8"), feed.content_type, http_date(feed.latest_post_date().timestamp()))
            # Kept only if it lists the revisions of its key (a story can go live or away
            # between the two reads) and is not empty (then its date is the time of writing).
            if revisions and [item["revision_id"] for item in feed.items] == revisions:
                caches["fragments"].set(key, kept)
        xml, content_type, last_modified = kept
        response = HttpResponse(xml, content_type=content_type)
        response.headers["Last-Modified"] = last_modified
        return response

    def link(self, obj=None):
        return reverse("articles:front")

    def stories(self, obj):
        return live_stories()

    def items(self, obj=None):
        rows = self.stories(obj).values_list("live_revision_id", "live_card")[:FEED_SIZE]
        return [feed_item(revision_id, card) for revision_id, card in rows]

    def item_description(self, item):
        """The lede and the credit line: rendered once per live revision (immutable) in each
        worker, like the cards of the list pages."""
        key = f"feed-item:{item.revision_id}:{get_language()}"
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

    def item_extra_kwargs(self, item):
        # What the item's kept XML depends on besides its address (see KeptItems).
        return {"kept_as": f"{item.revision_id}:{get_language()}", "revision_id": item.revision_id}


def feed_item(revision_id: int, card: dict) -> SimpleNamespace:
    """What a feed shows of a story's card (the description is rendered from the whole card,
    only when it is not kept yet)."""
    source = card.get("source")
    return SimpleNamespace(
        revision_id=revision_id,
        card=card,
        title=card["title"],
        url=links.story_path(card["slug"]),
        published_at=moment(card.get("published_at")),
        updated_at=moment(card.get("updated_at")),
        author=card["byline"] or (source["name"] if source else None),
        categories=[tag["name"] for tag in card["tags"]],
    )


class AtomStoryFeed(StoryFeed):
    feed_type = KeptAtomFeed
    subtitle = StoryFeed.description


class DeskFeed(StoryFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Desk, slug=slug)

    def title(self, obj):
        return f"Newsroom: {obj.name}"

    def link(self, obj):
        return reverse("articles:desk", args=[obj.slug])

    def stories(self, obj):
        return live_stories().filter(live_desk=obj)


class TagFeed(StoryFeed):
    def get_object(self, request, slug):
        return live_tag_or_404(slug)

    def title(self, obj):
        return f"Newsroom: tagged {obj.name}"

    def link(self, obj):
        return reverse("articles:tag", args=[obj.slug])

    def stories(self, obj):
        return tagged_stories(tag=obj)


class AtomDeskFeed(DeskFeed):
    feed_type = KeptAtomFeed
    subtitle = StoryFeed.description


class AtomTagFeed(TagFeed):
    feed_type = KeptAtomFeed
    subtitle = StoryFeed.description
