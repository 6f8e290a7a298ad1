"""seed_stories: realistic stories in bulk, readable through every public door."""

from io import StringIO

import pytest
from django.core.management import call_command

from articles.models import Article, KeyFact, LiveTag, Point, Section, TakePoint

pytestmark = pytest.mark.django_db


def test_seeded_stories_have_every_part_and_a_mix_of_states(client):
    err = StringIO()
    call_command("seed_stories", "--count", "60", stdout=StringIO(), stderr=err)
    assert "60/60" in err.getvalue()  # the progress bar reached the end
    assert Article.objects.count() == 60
    assert KeyFact.objects.count() == 240 and Section.objects.count() == 180
    assert Point.objects.count() == 540 and TakePoint.objects.count() == 180
    live = Article.objects.live()
    assert 30 < live.count() < 60
    assert Article.objects.filter(status="draft").exists() or Article.objects.filter(status="in_review").exists()
    story = live.first()
    assert story.tags.count() == 3 and story.revisions.get().kind == "approval"
    page = client.get(story.get_absolute_url())
    assert page.status_code == 200 and story.title in page.content.decode()
    listed = client.get("/api/articles/?page_size=100").json()["results"]
    assert len(listed) == live.count()
    # The tag pages find seeded stories too, newest first (by the time kept beside each tag).
    tag = story.tags.first()
    tagged = live.filter(tags=tag).order_by("-published_at", "-pk")
    assert set(LiveTag.objects.filter(tag=tag, article__in=live).values_list("article_id", "published_at")) == {
        (a.pk, a.published_at) for a in tagged
    }
    by_api = client.get(f"/api/articles/?tag={tag.slug}&page_size=100").json()["results"]
    assert [s["slug"] for s in by_api] == [a.live_slug for a in tagged]


def test_seeding_twice_adds_more_without_clashes():
    call_command("seed_stories", "--count", "10", stdout=StringIO(), stderr=StringIO())
    call_command("seed_stories", "--count", "10", "--seed", "2", stdout=StringIO(), stderr=StringIO())
    assert Article.objects.count() == 20
