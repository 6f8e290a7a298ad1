"""Public pages are cached, carry CDN headers and conditional-request support, and are made
fresh at once by publishing, unpublishing, go-live and expiry (articles/caching.py)."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import caching, workflow
from articles.models import Article, PublicationGeneration
from tests.factories import make_article, make_user, publish

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_a_second_read_of_a_page_runs_one_query_the_generation(client):
    url = make_article().get_absolute_url()  # a query of its own (the story's publication)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert "publicationgeneration" in queries[0]["sql"].lower()


def test_a_page_built_afresh_reads_the_generation_and_next_boundary_in_one_query(client):
    url = make_article().get_absolute_url()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    reads = [q["sql"].lower() for q in queries if "publicationgeneration" in q["sql"].lower()]
    assert len(reads) == 1 and "live_from" in reads[0] and "live_until" in reads[0], reads


def test_public_pages_tell_browsers_and_cdns_how_long_to_keep_them(client):
    article = make_article()
    response = client.get(article.get_absolute_url())
    cache_control = response["Cache-Control"]
    assert "public" in cache_control and "max-age=60" in cache_control
    assert response.has_header("ETag")


def test_conditional_get_answers_304(client):
    article = make_article()
    first = client.get(article.get_absolute_url())
    again = client.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""


def test_publishing_makes_cached_lists_and_pages_fresh_at_once(client):
    old = make_article(title="Old Story")
    for url in ("/", "/feeds/rss/", "/api/articles/", old.get_absolute_url()):
        client.get(url)
    new = make_article(title="Brand New Story")
    for url in ("/", "/feeds/rss/", "/api/articles/"):
        assert "Brand New Story" in client.get(url).content.decode(), url
    old.title = "Old Story, Revised"
    old.save()
    publish(old)
    assert "Old Story, Revised" in client.get(old.get_absolute_url()).content.decode()
    workflow.article_unpublish(article=new, user=make_user("Moderators"), reason="Pulled.")
    assert "Brand New Story" not in client.get("/").content.decode()
    assert client.get(new.get_absolute_url()).status_code == 410


def test_scheduled_story_appears_in_cached_lists_at_its_time(client):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        make_article(title="Already Live")
        make_article(title="Embargoed Story", go_live_at=start + timedelta(minutes=30))
        assert "Embargoed Story" not in client.get("/").content.decode()
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert "Embargoed Story" not in client.get("/").content.decode()  # served from the cache
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert "Embargoed Story" in client.get("/").content.decode()


def test_an_expiring_story_leaves_cached_pages_at_its_time(client):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        make_article(title="Stays Up")
        expiring = make_article(title="Offer Ends Soon", expires_at=start + timedelta(hours=1))
        assert "Offer Ends Soon" in client.get("/").content.decode()
        assert client.get(expiring.get_absolute_url()).status_code == 200
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert "Offer Ends Soon" not in client.get("/").content.decode()
        assert client.get(expiring.get_absolute_url()).status_code == 410


def test_a_scheduled_update_replaces_the_cached_page_at_its_time(client):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        story = make_article(title="Count Begins")
        story.title = "Count Finished"
        story.save()
        publish(story, go_live_at=start + timedelta(minutes=10))
        assert "Count Begins" in client.get(story.get_absolute_url()).content.decode()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert "Count Finished" in client.get(story.get_absolute_url()).content.decode()


def test_logged_in_editing_does_not_change_what_readers_see(client):
    article = make_article()
    page = client.get(article.get_absolute_url()).content
    Article.objects.filter(pk=article.pk).update(title="Working Copy Only")
    assert client.get(article.get_absolute_url()).content == page


def test_a_page_is_served_again_only_while_its_generation_holds(client):
    article = make_article(title="Wallaby Tally")
    client.get("/")
    Article.objects.filter(pk=article.pk).update(title="Not Published")  # what the page would show if rebuilt
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert len(queries) == 1  # a hit
    PublicationGeneration.objects.filter(pk=1).update(value=12345)  # another process published
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    assert len(queries) > 1  # built again


def test_an_entry_left_by_an_older_release_is_a_miss_not_an_error(client, rf):
    url = make_article(title="Numbat Walk").get_absolute_url()
    cache.set(caching.page_key(rf.get(url), params=()), (1, "an old (generation, response) pair"))
    response = client.get(url)
    assert response.status_code == 200 and "Numbat Walk" in response.content.decode()


def test_a_missing_generation_reads_as_zero_and_is_not_written_by_a_reader(client):
    PublicationGeneration.objects.all().delete()
    assert caching.generation() == 0
    assert caching.state().generation == 0
    client.get("/")
    client.get("/")
    assert not PublicationGeneration.objects.exists()


def test_the_next_boundary_is_the_earliest_go_live_or_expiry_after_now():
    now = timezone.now()
    assert caching.state(now).valid_until is None
    make_article(title="Live Forever")  # live, no expiry: nothing scheduled
    assert caching.state().valid_until is None
    make_article(title="Goes Live Later", go_live_at=now + timedelta(hours=5))
    assert abs(caching.state().valid_until - (now + timedelta(hours=5))) < timedelta(seconds=1)
    make_article(title="Expires Sooner", expires_at=now + timedelta(hours=3))
    assert abs(caching.state().valid_until - (now + timedelta(hours=3))) < timedelta(seconds=1)
    updated = make_article(title="Update Soonest")
    updated.title = "Update Soonest, Revised"
    updated.save()
    publish(updated, go_live_at=now + timedelta(hours=1))  # the live version ends then, the update starts
    assert abs(caching.state().valid_until - (now + timedelta(hours=1))) < timedelta(seconds=1)
    later = caching.state(now + timedelta(hours=2)).valid_until  # past the update: the expiry is next
    assert abs(later - (now + timedelta(hours=3))) < timedelta(seconds=1)


def test_a_page_is_kept_by_the_cache_no_longer_than_its_boundary(client, monkeypatch):
    now = timezone.now()
    kept = []
    real_set = cache.set
    monkeypatch.setattr(cache, "set", lambda key, value, timeout: kept.append(timeout) or real_set(key, value, timeout))
    make_article(title="Soon Gone", expires_at=now + timedelta(seconds=90))
    client.get("/")
    assert kept and kept[-1] <= 91


def test_with_page_caching_off_nothing_is_kept(client, settings):
    settings.NEWSROOM_PAGE_CACHE_SECONDS = 0
    article = make_article()
    client.get(article.get_absolute_url())
    assert not [key for key in cache._cache if "newsroom:page:" in key]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publish_in_another_process_is_seen_at_once_through_shared_redis(client, settings):
    """Two processes share PostgreSQL and Redis: one serves pages, the other publishes."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that two processes can share (PostgreSQL; SQLite: test_cross_process.py)")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {redis_url}: {error}")
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{os.getpid()}",
        },
    }
    from django.core.cache import cache

    cache.clear()
    make_article(title="First Story")
    waiting = make_article(title="Second Story", published=False)
    moderator, author = make_user("Moderators"), make_user("Editors")
    workflow.article_saved(article=waiting, user=author)
    workflow.article_submit(article=waiting, user=author)
    assert "Second Story" not in client.get("/").content.decode()  # now cached in Redis

    db = connection.settings_dict
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": f"test-{os.getpid()}",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "SECRET_KEY": "test",
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "workflow", waiting.slug, "approve", "--user", moderator.username],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Second Story" in client.get("/").content.decode()
    cache.clear()


# The generation in a shared cache (Redis): read with the page, written by the publisher on commit.


@pytest.fixture
def shared_cache(settings):
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {redis_url}: {error}")
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"shared-{os.getpid()}",
        },
    }
    from django.core.cache import cache as shared

    shared.clear()
    yield shared
    shared.clear()


def test_with_a_shared_cache_a_hit_reads_no_database(client, shared_cache, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        url = make_article().get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_with_a_shared_cache_a_publish_is_seen_the_moment_it_commits(
    client, shared_cache, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_article(title="First Story")
    waiting = make_article(title="Second Story", published=False)
    assert "Second Story" not in client.get("/").content.decode()  # cached, with the generation
    with django_capture_on_commit_callbacks(execute=True):
        publish(waiting)
    assert shared_cache.get(caching.GENERATION_KEY) == caching.generation()
    assert "Second Story" in client.get("/").content.decode()


def test_a_lost_write_of_the_generation_is_late_by_at_most_its_seconds(client, shared_cache, monkeypatch):
    """If the publisher could not write the new value (the cache blinked), the old one runs out."""
    import time

    monkeypatch.setattr(caching, "GENERATION_SECONDS", 1)
    make_article(title="First Story")
    waiting = make_article(title="Second Story", published=False)
    for _ in range(2):  # built, then served: the hit puts the generation in the cache
        assert "Second Story" not in client.get("/").content.decode()
    old = shared_cache.get(caching.GENERATION_KEY)
    publish(waiting)  # its on-commit write never runs here: the lost write
    assert old is not None and caching.generation() != old
    assert "Second Story" not in client.get("/").content.decode()  # the old value, for now
    time.sleep(1.2)
    assert "Second Story" in client.get("/").content.decode()
