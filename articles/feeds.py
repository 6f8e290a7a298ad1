"""RSS and Atom feeds of live stories (all, per desk, per tag), each item with its attribution."""

from django.contrib.syndication.views import Feed
from django.core.cache import caches
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import get_language
from taggit.models import Tag

from articles.cards import card_view
from articles.models import Desk
from articles.views import live_stories

FEED_SIZE = 30


class StoryFeed(Feed):
    """The latest live stories, as RSS 2.0."""

    title = "Newsroom: latest stories"
    description = "The latest stories, each with its source's credit."
    item_template = "articles/feed_item.html"

    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        # The feed generator writes about 40 small pieces per item; joined, the server sends
        # one body instead of a system call per piece (1,200 for 30 items).
        response.content = response.content
        return response

    def link(self, obj=None):
        return reverse("articles:front")

    def stories(self, obj):
        return live_stories()

    def items(self, obj=None):
        rows = self.stories(obj).values_list("live_revision_id", "live_card")[:FEED_SIZE]
        return [card_view(card, revision_id=revision_id) for revision_id, card in rows]

    def item_description(self, item):
        """The lede and the credit line: rendered once per live revision (immutable) in each
        worker, like the cards of the list pages."""
        key = f"feed-item:{item.revision_id}:{get_language()}"
        return caches["fragments"].get_or_set(key, lambda: render_to_string(self.item_template, {"obj": item}))

    def item_title(self, item):
        return item.title

    def item_link(self, item):
        return item.url

    def item_guid(self, item):
        return item.url

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at or item.published_at

    def item_author_name(self, item):
        return item.byline or (item.source.name if item.source else None)

    def item_categories(self, item):
        return [tag.name for tag in item.tags]


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

    def stories(self, obj):
        return live_stories().filter(live_desk=obj)


class TagFeed(StoryFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Tag, slug=slug)

    def title(self, obj):
        return f"Newsroom: tagged {obj.name}"

    def link(self, obj):
        return reverse("articles:tag", args=[obj.slug])

    def stories(self, obj):
        return live_stories().filter(live_tags=obj)


class AtomDeskFeed(DeskFeed):
    feed_type = Atom1Feed
    subtitle = StoryFeed.description


class AtomTagFeed(TagFeed):
    feed_type = Atom1Feed
    subtitle = StoryFeed.description
