"""Holes in the public page cache (issue 13): a deleted story must leave every public door at
once, tag pages must not show tags that only unpublished stories carry, and query strings a
page does not read must not make new cache entries."""

import os
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from articles import caching, workflow
from articles.models import Article
from articles.views import PAGE_SIZE
from tests.factories import make_article, make_desk, make_user

pytestmark = pytest.mark.django_db

ADMIN = "/admin/articles/article"


# Item 5: deleting a live story takes it off every door at once --------------------------------


@pytest.fixture
def doomed():
    """A live story, beside another live story on the same desk and tag (so that every list
    still answers once the first is gone)."""
    desk = make_desk(name="Harbour", slug="harbour")
    make_article(title="Ferry Timetable Stays", slug="ferry-timetable", desk=desk, tags=["ferries"])
    return make_article(title="Ferry Wombat Recall", slug="ferry-recall", desk=desk, tags=["ferries"])


def doors(story: Article) -> dict[str, str]:
    return {
        "story page": f"/articles/{story.slug}/",
        "front page": "/",
        "desk page": "/desks/harbour/",
        "tag page": "/tags/ferries/",
        "API list": "/api/articles/",
        "API detail": f"/api/articles/{story.slug}/",
        "RSS": "/feeds/rss/",
        "Atom": "/feeds/atom/",
        "tag RSS": "/feeds/tags/ferries/rss/",
        "sitemap": "/sitemap-stories.xml",
        "news sitemap": "/sitemap-news.xml",
        "search": "/search/?q=ferry",
    }


def shows(response, story: Article) -> bool:
    """Whether a page shows the story: its headline or its address (sitemaps list addresses only)."""
    content = response.content.decode()
    return story.title in content or f"/articles/{story.slug}/" in content


def admin_client() -> Client:
    admin = Client()
    admin.force_login(make_user("superuser"))
    return admin


def delete_in_admin(story: Article) -> None:
    response = admin_client().post(f"{ADMIN}/{story.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content.decode()[:500]


def delete_selected_in_admin(story: Article) -> None:
    response = admin_client().post(
        f"{ADMIN}/", {"action": "delete_selected", "_selected_action": [story.pk], "post": "yes"}
    )
    assert response.status_code == 302, response.content.decode()[:500]


DELETIONS = {
    "admin delete page": delete_in_admin,
    "admin delete selected": delete_selected_in_admin,
    "queryset delete": lambda story: Article.objects.filter(pk=story.pk).delete(),
    "model delete": lambda story: story.delete(),
}


@pytest.mark.parametrize("deletion", DELETIONS)
def test_a_deleted_story_leaves_every_cached_door_at_once(client, doomed, deletion):
    pages = doors(doomed)
    for door, url in pages.items():  # each door now cached, showing the story
        response = client.get(url)
        assert response.status_code == 200 and shows(response, doomed), door
    DELETIONS[deletion](doomed)
    assert not Article.objects.filter(slug=doomed.slug).exists()
    still_showing = [door for door, url in pages.items() if shows(client.get(url), doomed)]
    assert still_showing == [], "the deleted story is still public"
    assert client.get(pages["story page"]).status_code == 404
    assert client.get(pages["API detail"]).status_code == 404


def test_deleting_a_live_story_moves_the_generation_inside_the_deletes_transaction(doomed):
    """The move commits with the delete, or not at all: no request between the two can keep
    a page of the story under the new generation."""
    before, pk = caching.generation(), doomed.pk
    with transaction.atomic():
        doomed.delete()
        during = caching.generation()
        transaction.set_rollback(True)
    assert during != before
    assert caching.generation() == before and Article.objects.filter(pk=pk).exists()


def test_deleting_an_unpublished_story_moves_the_generation(doomed):
    """Its old address answered 410 Gone; once deleted it answers 404."""
    workflow.article_unpublish(article=doomed, user=make_user("Moderators"), reason="Legal hold.")
    before = caching.generation()
    doomed.delete()
    assert caching.generation() != before


def test_deleting_a_draft_leaves_cached_pages_alone(doomed):
    draft = make_article(title="Never Published", published=False)
    before = caching.generation()
    draft.delete()
    assert caching.generation() == before


def test_deleting_a_tag_that_stories_are_listed_under_leaves_its_cached_page_at_once(client, doomed):
    from taggit.models import Tag

    assert client.get("/tags/ferries/").status_code == 200  # now cached
    Tag.objects.get(slug="ferries").delete()
    assert client.get("/tags/ferries/").status_code == 404
    assert client.get("/feeds/tags/ferries/rss/").status_code == 404


def test_deleting_an_unused_tag_leaves_cached_pages_alone(doomed):
    from taggit.models import Tag

    before = caching.generation()
    Tag.objects.create(name="unused", slug="unused").delete()
    assert caching.generation() == before


# Item 9: a tag has a page and feeds only while a live story carries it -----------------------


def draft(tag: str) -> Article:
    return make_article(title="Draft Secret", tags=[tag], published=False)


def scheduled(tag: str) -> Article:
    return make_article(title="Embargoed Secret", tags=[tag], go_live_at=timezone.now() + timedelta(hours=2))


def unpublished(tag: str) -> Article:
    story = make_article(title="Pulled Secret", tags=[tag])
    workflow.article_unpublish(article=story, user=make_user("Moderators"), reason="Legal hold.")
    return story


def unapproved_retag(tag: str) -> Article:
    """A live story whose working copy has the tag, not yet approved."""
    story = make_article(title="Live Story", tags=["harbour"])
    story.tags.add(tag)
    return story


NOT_LIVE_TAGGINGS = {
    "draft": draft,
    "scheduled": scheduled,
    "unpublished": unpublished,
    "unapproved retag": unapproved_retag,
}
TAG_DOORS = ["/tags/{}/", "/feeds/tags/{}/rss/", "/feeds/tags/{}/atom/"]


@pytest.mark.parametrize("door", TAG_DOORS)
@pytest.mark.parametrize("story", NOT_LIVE_TAGGINGS)
def test_a_tag_no_live_story_has_is_not_found(client, story, door):
    NOT_LIVE_TAGGINGS[story]("merger-talks")
    response = client.get(door.format("merger-talks"))
    assert response.status_code == 404
    assert "merger-talks" not in response.content.decode()


@pytest.mark.parametrize("door", TAG_DOORS)
def test_a_tag_a_live_story_has_is_found(client, door):
    draft("merger-talks")
    make_article(title="Merger Agreed", tags=["merger-talks"])
    response = client.get(door.format("merger-talks"))
    assert response.status_code == 200
    assert "Merger Agreed" in response.content.decode()


# Item 11: pages are kept under the query parameters they read, and no others ----------------


def page_entries() -> int:
    """How many pages the page cache holds (the test settings' local-memory cache)."""
    cache = caches["default"]
    if not isinstance(cache, LocMemCache):
        pytest.skip("counts the entries of the local-memory cache")
    return sum(1 for key in cache._cache if "newsroom:page:" in key)


@pytest.fixture
def small_site():
    """A desk and tag with two stories, one found by search: every kind of page has content."""
    desk = make_desk(name="Harbour", slug="harbour")
    make_article(title="Harbour Story 00", slug="harbour-0", desk=desk, tags=["ferries"], parts=False)
    make_article(
        title="Wombat Sighting",
        slug="wombat-sighting",
        lede="A wombat was seen on the ferry.",
        desk=desk,
        tags=["ferries"],
    )


@pytest.fixture
def paged_site():
    """A desk and tag with more stories than a page shows, and one story found by search."""
    desk = make_desk(name="Harbour", slug="harbour")
    stories = [
        make_article(title=f"Harbour Story {n:02d}", slug=f"harbour-{n}", desk=desk, tags=["ferries"], parts=False)
        for n in range(PAGE_SIZE + 1)
    ]
    make_article(
        title="Wombat Sighting",
        slug="wombat-sighting",
        lede="A wombat was seen on the ferry.",
        desk=desk,
        tags=["ferries"],
    )
    return stories


PAGES = {
    "front page": "/",
    "story page": "/articles/harbour-0/",
    "desk page": "/desks/harbour/",
    "tag page": "/tags/ferries/",
    "archive": "/archive/",
    "archive month": "/archive/{now:%Y}/{now.month}/",
    "search": "/search/?q=wombat",
    "RSS": "/feeds/rss/",
    "Atom": "/feeds/atom/",
    "desk RSS": "/feeds/desks/harbour/rss/",
    "tag Atom": "/feeds/tags/ferries/atom/",
    "API list": "/api/articles/",
    "API detail": "/api/articles/harbour-0/",
    "sitemap index": "/sitemap.xml",
    "sitemap": "/sitemap-stories.xml",
    "news sitemap": "/sitemap-news.xml",
}


def with_junk(url: str, n: int) -> str:
    junk = [f"utm_source=mail{n}", f"x{n}=1", f"_={n}", f"fbclid={n}&ref=feed{n}"][n % 4]
    return f"{url}{'&' if '?' in url else '?'}{junk}"


@pytest.mark.parametrize("page", PAGES)
def test_parameters_a_page_does_not_read_make_no_new_entry(client, small_site, page):
    url = PAGES[page].format(now=timezone.now())
    first = client.get(url)
    assert first.status_code == 200
    assert page_entries() == 1
    for n in range(100):
        response = client.get(with_junk(url, n))
        assert response.status_code == 200 and response.content == first.content, with_junk(url, n)
    assert page_entries() == 1


def test_a_page_number_and_a_search_keep_their_own_entries(client, paged_site):
    first, second = client.get("/").content.decode(), client.get("/?page=2").content.decode()
    assert "Harbour Story 00" in second and "Harbour Story 00" not in first
    assert page_entries() == 2
    assert client.get("/?utm_source=mail&page=2").content.decode() == second
    assert client.get("/?page=2&utm_source=feed").content.decode() == second
    assert page_entries() == 2
    wombats, votes = client.get("/search/?q=wombat").content.decode(), client.get("/search/?q=tuesday").content.decode()
    assert "Wombat Sighting" in wombats and "Wombat Sighting" not in votes
    assert "Harbour Story 03" in votes and "Harbour Story 03" not in wombats
    assert client.get("/search/?ref=x&q=wombat").content.decode() == wombats
    assert page_entries() == 4


def test_the_api_filters_keep_their_own_entries_and_links(client, paged_site):
    by_source = client.get("/api/articles/?source=" + paged_site[0].source.name.replace(" ", "+")).json()
    assert [story["title"] for story in by_source["results"]] == ["Harbour Story 00"]
    paged = client.get("/api/articles/?page_size=2&utm_source=mail").json()
    assert paged["next"] in (
        "http://testserver/api/articles/?page_size=2&page=2",  # no stray parameter
        "http://testserver/api/articles/?page=2&page_size=2",
    )
    assert len(paged["results"]) == 2
    assert page_entries() == 2


def test_the_page_key_is_the_path_and_the_parameters_read():
    factory = RequestFactory()
    params = ("page", "q")
    key = caching.page_key(factory.get("/search/?q=wombat&page=2"), params)
    assert caching.page_key(factory.get("/search/?page=2&utm_source=x&q=wombat"), params) == key
    assert caching.page_key(factory.get("/search/?page=1&q=wombat&page=2"), params) == key  # the value read
    assert caching.page_key(factory.get("/search/?q=wombat+pie&page=2"), params) != key
    assert caching.page_key(factory.get("/search/?q=wombat"), params) != key
    assert caching.page_key(factory.get("/?q=wombat&page=2"), params) != key


def test_a_view_reads_only_the_parameters_its_page_declared(rf):
    seen = []
    view = caching.public_page(lambda request: seen.append(request.GET.dict()) or HttpResponse(), params=("page",))
    view(rf.get("/?utm_source=mail&page=3"))
    assert seen == [{"page": "3"}]


def test_parameters_a_page_does_not_read_make_no_new_entry_in_redis(client, settings, paged_site):
    """The same with the shared cache the app servers use."""
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
    try:
        import redis

        server = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
        server.ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {redis_url}: {error}")
    prefix = f"test-cache-holes-{os.getpid()}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        },
    }
    try:
        for n in range(50):
            assert client.get(with_junk("/tags/ferries/", n)).status_code == 200
        assert client.get("/tags/ferries/?page=2&ref=x").status_code == 200
        assert len(list(server.scan_iter(match=f"{prefix}:*newsroom:page:*"))) == 2
    finally:
        for key in server.scan_iter(match=f"{prefix}:*"):
            server.delete(key)
