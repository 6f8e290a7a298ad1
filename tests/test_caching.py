"""Public pages are cached, carry CDN headers and conditional-request support, and are made
fresh at once by publishing, unpublishing and go-live."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from articles import workflow
from articles.models import Article
from tests.factories import make_article, make_user, publish

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_second_read_of_a_page_runs_no_query(client, django_assert_num_queries):
    article = make_article()
    client.get(article.get_absolute_url())
    with django_assert_num_queries(0):
        assert client.get(article.get_absolute_url()).status_code == 200


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
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert "Embargoed Story" in client.get("/").content.decode()


def test_logged_in_editing_does_not_change_what_readers_see(client):
    article = make_article()
    page = client.get(article.get_absolute_url()).content
    Article.objects.filter(pk=article.pk).update(title="Working Copy Only")
    assert client.get(article.get_absolute_url()).content == page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_publish_in_another_process_is_seen_at_once_through_shared_redis(client, settings):
    """Two processes share PostgreSQL and Redis: one serves pages, the other publishes."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database that two processes can share (PostgreSQL)")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {redis_url}: {error}")
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "newsroom.cache.PooledRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{os.getpid()}",
        },
    }
    from django.core.cache import cache

    cache.clear()
    make_article(title="First Story")
    waiting = make_article(title="Second Story", published=False)
    moderator, author = make_user("Moderators"), make_user("Editors")
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


def test_the_next_scheduled_moment_is_the_earliest_go_live_expiry_or_update():
    from articles.caching import _next_change

    now = timezone.now()
    assert _next_change() is None
    make_article(title="Live Forever")  # live, no expiry: nothing scheduled
    assert _next_change() is None
    make_article(title="Goes Live Later", go_live_at=now + timedelta(hours=5))
    assert abs(_next_change() - (now + timedelta(hours=5))) < timedelta(seconds=1)
    make_article(title="Expires Sooner", expires_at=now + timedelta(hours=3))
    assert abs(_next_change() - (now + timedelta(hours=3))) < timedelta(seconds=1)
    updated = make_article(title="Update Soonest")
    updated.title = "Update Soonest, Revised"
    updated.save()
    publish(updated, go_live_at=now + timedelta(hours=1))
    assert abs(_next_change() - (now + timedelta(hours=1))) < timedelta(seconds=1)


def test_the_redis_cache_reuses_one_client_for_every_operation():
    """newsroom.cache.PooledRedisCache: Django's backend, without a new client per call."""
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as error:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {redis_url}: {error}")
    from newsroom.cache import PooledRedisCache

    cache = PooledRedisCache(redis_url, {"KEY_PREFIX": f"test-client-{os.getpid()}"})
    made = []
    cache._cache._client = lambda **kwargs: made.append(kwargs) or redis.Redis(**kwargs)
    try:
        cache.set("counter", 1)
        cache.incr("counter")
        assert cache.get_many(["counter", "missing"]) == {"counter": 2}
        assert cache.get("counter") == 2
    finally:
        cache.delete("counter")
    assert len(made) == 1
