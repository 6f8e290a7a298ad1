"""RSS and Atom feeds of live stories (all, per desk, per tag), each item with its attribution."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from taggit.models import Tag

from articles.models import Desk
from articles.cards import card_view
from articles.views import live_cards, live_stories

FEED_SIZE = 30


def attribution_text(story) -> str:
    """The credit line that travels with a story wherever it is republished."""
    parts = []
    if story.source:
        parts.append(f"Source: {story.source.name}" + (f" ({story.source.site})" if story.source.site else ""))
    if story.original_url:
        parts.append(f"Original: {story.original_url}")
    if story.source and story.source.credit:
        parts.append(story.source.credit)
    return ". ".join(p.rstrip(".") for p in parts) + ("." if parts else "")


class StoryFeed(Feed):
    """The latest live stories, as RSS 2.0."""

    title = "Newsroom: latest stories"
    description = "The latest stories, each with its source's credit."
    description_template = "articles/feed_item.html"

    def link(self, obj=None):
        return reverse("articles:front")

    def stories(self, obj):
        return live_stories()

    def items(self, obj=None):
        return [card_view(card) for card in live_cards(self.stories(obj))[:FEED_SIZE]]

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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["attribution"] = attribution_text(kwargs["item"])
        return context


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
