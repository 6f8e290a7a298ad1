"""Holes in the public page cache (issue 13): a deleted story must leave every public door at
once, tag pages must not show tags that only unpublished stories carry, and query strings a
page does not read must not make new cache entries."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from articles import caching, workflow
from articles.models import Article
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
    response = admin_client().post(f"{ADMIN}/", {"action": "delete_selected", "_selected_action": [story.pk],
                                                 "post": "yes"})
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


def test_deleting_a_live_story_clears_the_pages_again_once_committed(doomed, django_capture_on_commit_callbacks):
    """A request between the delete and its commit still reads the story and could cache it."""
    with django_capture_on_commit_callbacks() as callbacks:
        doomed.delete()
    assert caching.bump in callbacks


def test_deleting_a_draft_leaves_cached_pages_alone(doomed):
    draft = make_article(title="Never Published", published=False)
    before = caching.generation()
    draft.delete()
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


NOT_LIVE_TAGGINGS = {"draft": draft, "scheduled": scheduled, "unpublished": unpublished,
                     "unapproved retag": unapproved_retag}
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
