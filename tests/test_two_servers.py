"""Two gunicorn app servers share PostgreSQL, and Redis or not: a story approved through one
server's admin is served by the other at once (no stale cache anywhere). Without Redis each
server keeps pages in its own memory; the generation they must match is a database row."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from articles import workflow
from ops.processes import free_port
from tests.factories import make_article, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def wait_until_up(port: int, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn on {port} exited: {proc.stdout.read()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn on {port} did not start")


@pytest.fixture(params=["shared Redis", "each its own memory"])
def servers(request, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("two app servers need a shared database (PostgreSQL)")
    shared = request.param == "shared Redis"
    if shared:
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()
        except Exception as error:  # noqa: BLE001
            pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "two-servers-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": REDIS_URL if shared else "",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
        "DB_POOL": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_SSL_REDIRECT": "0",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    ports, procs = [free_port(), free_port()], []
    try:
        for port in ports:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
                cwd=ROOT,
                env={**env, "PORT": str(port)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            wait_until_up(port, proc)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def admin_session(port: int, username: str):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/admin/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": "pw", "next": "/admin/"}
    ).encode()
    opener.open(urllib.request.Request(f"{base}/admin/login/", data, headers={"Referer": f"{base}/admin/login/"}))
    return opener, base


def test_approval_through_one_server_is_served_by_the_other_at_once(servers):
    first, second = servers
    make_article(title="Already Live Story")
    waiting = make_article(title="Freshly Approved Story", published=False)
    workflow.article_saved(article=waiting, user=make_user("Editors"))
    workflow.article_submit(article=waiting, user=make_user("Editors"))
    moderator = make_user("Moderators")
    for port in servers:  # both servers now hold the front page in their cache
        front = get(port, "/")
        assert "Already Live Story" in front and "Freshly Approved Story" not in front

    opener, base = admin_session(first, moderator.username)
    form = opener.open(f"{base}/admin/articles/article/{waiting.pk}/transition/approve/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    opener.open(
        urllib.request.Request(
            f"{base}/admin/articles/article/{waiting.pk}/transition/approve/",
            urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode(),
            headers={"Referer": f"{base}/admin/"},
        )
    )

    assert "Freshly Approved Story" in get(second, "/")
    assert "Freshly Approved Story" in get(second, f"/articles/{waiting.slug}/")
    assert "Freshly Approved Story" in get(second, "/feeds/rss/")
