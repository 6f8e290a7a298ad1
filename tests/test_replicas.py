"""Read replicas against a real PostgreSQL primary and a real streaming replica that these tests
make themselves (ops/pgcluster.py: initdb, pg_basebackup -R, their own loopback ports), with
replay delayed by recovery_min_apply_delay so the race after a publish is real; served by a
gunicorn started here, with Redis and without.

Which database a request read from is told by the servers' X-Queries header
(tests/replica_server_settings.py counts every query of the request by alias). They need no
test database of their own, so they run whatever DATABASE_URL says (slow: CI's PostgreSQL pass).
"""

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from ops.pgcluster import Cluster, free_port, missing_binaries, temporary_root

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REPLICA_REDIS_URL", "redis://127.0.0.1:6379/6")
APPLY_DELAY = 2.5  # seconds the replica waits before replaying each commit
RETRY_SECONDS = 3  # DATABASE_REPLICA_RETRY_SECONDS for the servers started here

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_binaries()), reason=f"no PostgreSQL cluster here: {missing_binaries()}"),
]


def _sql_value(url: str, sql: str):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=5, autocommit=True) as db:
        return db.execute(sql).fetchone()[0]


def generation_at(url: str) -> int:
    return _sql_value(url, "SELECT coalesce((SELECT value FROM articles_publicationgeneration WHERE id = 1), 0)")


def wait_replayed(cluster: Cluster, timeout: float = 60) -> float:
    """Wait until the replica has replayed everything the primary has committed; the seconds waited."""
    target = _sql_value(cluster.primary_url, "SELECT pg_current_wal_lsn()::text")
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        replayed = _sql_value(
            cluster.replica_urls[0], f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        ) and _sql_value(cluster.replica_urls[0], "SELECT count(*) FROM django_migrations") == _sql_value(
            cluster.primary_url, "SELECT count(*) FROM django_migrations"
        )
        if replayed:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the replica did not replay the primary's WAL up to {target} in {timeout} s")


def manage(cluster: Cluster, *args: str, redis_url: str = "") -> str:
    """manage.py on the primary (with the app servers' shared cache, if they have one)."""
    env = {**os.environ, "DATABASE_URL": cluster.primary_url, "DATABASE_REPLICA_URL": "", "REDIS_URL": redis_url}
    env |= {"DJANGO_SETTINGS_MODULE": "newsroom.settings_test", "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


STORIES = """
import itertools
from articles import workflow
from tests import factories
from tests.factories import make_article, make_source, make_user
factories._counter = itertools.count({start})  # names the factories make, unique in the cluster
def story(**fields):
    return make_article(original_url=f"https://wire.example/{{fields['slug']}}", **fields)
live = story(title="{title} Live Story", slug="{key}-live", source=make_source(name="{key} wire"))
waiting = story(
    title="{title} Fresh Story", slug="{key}-fresh", source=make_source(name="{key} agency"), published=False
)
editor = make_user("Editors", username="{key}-editor")
workflow.article_saved(article=waiting, user=editor)
workflow.article_submit(article=waiting, user=editor)
make_user("Moderators", username="{key}-moderator")
make_user("superuser", username="{key}-boss")
"""


def new_stories(cluster: Cluster, title: str) -> dict:
    """A live story and one waiting for approval, written on the primary, with an editor, a
    moderator and a superuser: their slugs and usernames."""
    key = f"{title.lower()}-{uuid.uuid4().hex[:8]}"
    title = f"{title} {key[-8:]}"
    manage(cluster, "shell", "-c", STORIES.format(title=title, key=key, start=uuid.uuid4().int % 10**12))
    return {
        "live": f"{key}-live",
        "live_title": f"{title} Live Story",
        "waiting": f"{key}-fresh",
        "fresh_title": f"{title} Fresh Story",
        "moderator": f"{key}-moderator",
        "boss": f"{key}-boss",
    }


@pytest.fixture(scope="session")
def cluster():
    """A primary and a replica that replays each commit APPLY_DELAY seconds late, migrated."""
    root = temporary_root("newsroom-replicas-")
    try:
        with Cluster(root / "pg", replicas=1, apply_delay=APPLY_DELAY) as made:
            manage(made, "migrate", "--noinput", "-v0")
            wait_replayed(made)
            yield made
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Server:
    """A gunicorn app server (one worker) on a free port, reading from the cluster's replica."""

    def __init__(self, cluster: Cluster, tmp_path: Path, *, redis_url: str, replica_urls=None, env=None):
        self.port, self.redis_url = free_port(), redis_url
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.replica_server_settings",
            "DEBUG": "0",
            "SECRET_KEY": "replica-test",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": cluster.primary_url,
            "DATABASE_REPLICA_URL": ",".join(cluster.replica_urls if replica_urls is None else replica_urls),
            "DATABASE_REPLICA_RETRY_SECONDS": str(RETRY_SECONDS),
            "REDIS_URL": redis_url,
            "STATIC_ROOT": str(tmp_path / "static"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "text",
            "DB_POOL": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_SSL_REDIRECT": "0",
            "NEWSROOM_ENV_FILE": "",
            "PORT": str(self.port),
            **(env or {}),
        }
        self.output = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/robots.txt", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn on {self.port} did not start: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.output.close()

    def get(self, path: str, opener=None, headers=None) -> "Page":
        opener = opener or urllib.request.build_opener()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        with opener.open(request, timeout=20) as response:
            return Page(response.status, response.read().decode(), response.headers.get("X-Queries", ""))

    def login(self, username: str):
        """An opener holding an admin session of `username` (password "pw", tests.factories)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{self.port}"
        form = opener.open(f"{base}/admin/login/", timeout=20).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": "pw", "next": "/admin/"}
        )
        request = urllib.request.Request(f"{base}/admin/login/", data.encode(), headers={"Referer": f"{base}/"})
        opener.open(request, timeout=20)
        assert any(cookie.name == "sessionid" for cookie in jar), f"{username} could not sign in"
        return opener


class Page:
    def __init__(self, status: int, text: str, queries: str):
        self.status, self.text = status, text
        self.queries = {alias: int(n) for alias, n in (part.split("=") for part in queries.split(",") if part)}

    def on(self, alias: str) -> int:
        return self.queries.get(alias, 0)


@pytest.fixture(params=["shared Redis", "each its own memory"])
def server(request, cluster, tmp_path):
    if request.param == "shared Redis":
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()
        except Exception as error:  # noqa: BLE001
            pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    started = Server(cluster, tmp_path, redis_url=REDIS_URL if request.param == "shared Redis" else "")
    yield started
    started.stop()


def test_anonymous_public_pages_are_read_from_the_replica(cluster, server):
    stories = new_stories(cluster, "Routing")
    wait_replayed(cluster)
    for path in (
        "/",
        f"/articles/{stories['live']}/",
        "/feeds/rss/",
        "/api/articles/",
        "/archive/",
        "/search/?q=harbour",
    ):
        page = server.get(path)
        assert page.status == 200, path
        assert page.on("replica1") >= 2, f"{path} was not built from the replica: {page.queries}"
        assert page.on("default") <= 1, f"{path} read the primary beyond the generation: {page.queries}"
    assert stories["live_title"] in server.get(f"/articles/{stories['live']}/").text


def test_editors_and_signed_in_users_read_the_primary(cluster, server):
    stories = new_stories(cluster, "Editors")
    wait_replayed(cluster)
    signed_in = server.login(stories["boss"])
    for path in ("/admin/", "/admin/articles/article/", "/", f"/articles/{stories['live']}/"):
        page = server.get(path, signed_in)
        assert page.status == 200, path
        assert page.on("replica1") == 0 and page.on("default") > 0, f"{path}: {page.queries}"


def test_a_page_right_after_a_publish_shows_it_and_is_cached_from_the_primary(cluster, server):
    stories = new_stories(cluster, "Race")
    wait_replayed(cluster)
    before = server.get("/")
    live, fresh = stories["live_title"], stories["fresh_title"]
    assert live in before.text and fresh not in before.text
    assert before.on("replica1") > 0  # the front page in the cache, built from the replica

    manage(
        cluster, "workflow", stories["waiting"], "approve", "--user", stories["moderator"], redis_url=server.redis_url
    )
    published = time.monotonic()
    assert generation_at(cluster.replica_urls[0]) < generation_at(cluster.primary_url), "the race did not happen"

    after = server.get("/")
    assert fresh in after.text, "the front page was built from a replica that had not replayed the publish"
    assert after.on("replica1") == 1 and after.on("default") > 1, f"not built from the primary: {after.queries}"
    story = server.get(f"/articles/{stories['waiting']}/")
    assert story.status == 200 and fresh in story.text
    cached = server.get("/")  # the page kept after the publish is the primary's
    assert fresh in cached.text and cached.on("replica1") == 0
    assert generation_at(cluster.replica_urls[0]) < generation_at(cluster.primary_url), "the replica caught up early"

    lag = time.monotonic() - published + wait_replayed(cluster)
    print(f"replica lag after the publish: {lag:.2f} s")
    caught_up = server.get("/feeds/rss/")  # not built since the publish
    assert fresh in caught_up.text
    assert caught_up.on("replica1") >= 2, f"reads did not go back to the replica: {caught_up.queries}"


def test_a_stopped_replica_makes_reads_fall_back_to_the_primary(cluster, server):
    stories = new_stories(cluster, "Fallback")
    wait_replayed(cluster)
    cluster.stop("replica1")
    try:
        for path in ("/", f"/articles/{stories['live']}/", "/feeds/atom/", "/archive/"):
            page = server.get(path)
            assert page.status == 200 and page.on("replica1") == 0 and page.on("default") > 0, (path, page.queries)
        assert stories["live_title"] in server.get(f"/articles/{stories['live']}/").text
        warnings = server.log.read_text().count("replica replica1 unavailable")
        assert warnings == 1, f"the replica was tried again within {RETRY_SECONDS} s ({warnings} warnings)"
    finally:
        cluster.start("replica1")
    wait_replayed(cluster)
    time.sleep(RETRY_SECONDS)
    back = server.get("/feeds/rss/")  # a page not cached yet
    assert back.on("replica1") >= 2, f"reads did not go back to the replica once it answered: {back.queries}"


def test_a_replica_lost_halfway_through_a_page_has_the_page_built_from_the_primary(cluster, server):
    stories = new_stories(cluster, "Halfway")
    wait_replayed(cluster)
    # Its first query on the replica is the replay check, the second the start of the page.
    page = server.get(f"/articles/{stories['live']}/", headers={"X-Drop-Replica-After": "2"})
    assert page.status == 200 and stories["live_title"] in page.text
    assert page.on("replica1") == 3 and page.on("default") > 1, f"not rebuilt from the primary: {page.queries}"
    assert server.log.read_text().count("replica replica1 unavailable") == 1
    again = server.get(f"/articles/{stories['live']}/")  # the page kept is the primary's
    assert again.status == 200 and stories["live_title"] in again.text and again.on("replica1") == 0


def test_a_replica_that_never_answers_costs_one_connect_timeout(cluster, tmp_path):
    """A replica address that accepts connections and never speaks: pages come from the primary."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        server = Server(
            cluster, tmp_path, redis_url="", replica_urls=[f"postgres://postgres@127.0.0.1:{port}/newsroom"]
        )
        try:
            stories = new_stories(cluster, "Silent")
            first = server.get(f"/articles/{stories['live']}/")
            assert first.status == 200 and stories["live_title"] in first.text and first.on("replica1") == 0
            for path in ("/", "/archive/", "/feeds/rss/"):
                assert server.get(path).status == 200
            assert server.log.read_text().count("replica replica1 unavailable") == 1
        finally:
            server.stop()


def test_a_replica_query_that_stalls_is_cancelled_and_the_page_built_from_the_primary(cluster, tmp_path):
    """DATABASE_REPLICA_STATEMENT_TIMEOUT: a replica query stuck for a minute is cancelled by the
    replica after a second; the reader gets the page from the primary (well inside the 20 s
    this test waits for an answer), and the replica is left alone for a while."""
    server = Server(cluster, tmp_path, redis_url="", env={"DATABASE_REPLICA_STATEMENT_TIMEOUT": "1"})
    try:
        stories = new_stories(cluster, "Stalled")
        wait_replayed(cluster)
        # Its first query on the replica is the replay check, the second the start of the page.
        page = server.get(f"/articles/{stories['live']}/", headers={"X-Stall-Replica-At": "2"})
        assert page.status == 200 and stories["live_title"] in page.text
        assert page.on("default") > 1, f"not rebuilt from the primary: {page.queries}"
        log = server.log.read_text()
        assert log.count("replica replica1 unavailable") == 1 and "statement timeout" in log, log[-2000:]
    finally:
        server.stop()
