"""The RSS and Atom feeds (articles/feeds.py): well formed, newest first, and every item
carries the story's attribution. Shared helpers and fixtures: tests/readers_fixtures.py."""

from datetime import timedelta
from html import unescape

import pytest
import time_machine
from django.utils import timezone

from articles.models import Article
from tests.factories import make_article, make_desk
from tests.readers_fixtures import credited, parsed_feed  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


# Attribution travels with every item


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/rss/",
        "/feeds/atom/",
        "/feeds/desks/wildlife/rss/",
        "/feeds/desks/wildlife/atom/",
        "/feeds/tags/marsupials/rss/",
        "/feeds/tags/islands/atom/",
    ],
)
def test_every_feed_item_carries_the_attribution(client, credited, url):
    make_article(title="A second story, from another wire", desk=credited.desk, tags=["marsupials", "islands"])
    feed = parsed_feed(client.get(url))
    assert len(feed.entries) == 2
    for entry in feed.entries:
        summary = unescape(entry.summary)
        assert "Source:" in summary and "Original:" in summary and "credit" in summary, entry.title
    ours = next(entry for entry in feed.entries if entry.title == credited.title)
    summary = unescape(ours.summary)
    assert "Source: Outback Wire (outback.example)" in summary
    assert "https://outback.example/news/quokkas-return" in summary
    assert "Please credit Outback Wire when republishing." in summary


# Feeds are well formed and newest first


def three_stories_a_day_apart() -> list[Article]:
    """Three live stories; returned newest first (created in another order on purpose)."""
    now = timezone.now()
    stories = {}
    for age in (1, 0, 2):
        with time_machine.travel(now - timedelta(days=age), tick=False):
            stories[age] = make_article(title=f"Story {age} days old", desk=make_desk(), tags=["ordered"])
    return [stories[0], stories[1], stories[2]]


@pytest.mark.parametrize(
    "url", ["/feeds/rss/", "/feeds/atom/", "/feeds/tags/ordered/rss/", "/feeds/tags/ordered/atom/"]
)
def test_feeds_parse_cleanly_newest_first(client, url):
    newest_first = three_stories_a_day_apart()
    feed = parsed_feed(client.get(url))
    assert feed.version == ("atom10" if "atom" in url else "rss20")
    assert [entry.title for entry in feed.entries] == [story.title for story in newest_first]
    assert [entry.link for entry in feed.entries] == [f"http://testserver{s.get_absolute_url()}" for s in newest_first]
    dates = [entry.published_parsed for entry in feed.entries]
    assert dates == sorted(dates, reverse=True)
