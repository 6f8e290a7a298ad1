"""The default set-up, without Redis: a change from the command line shows on a running
development server at once (issue 14).

`manage.py runserver` serves from a file SQLite database with the page cache on (each process
keeps pages in its own memory); `manage.py workflow` runs as a separate process. Before
issue 14 the generation lived in the cache, so the server kept serving an unpublished story
for five minutes, and a story approved from the command line was missing from / and the feeds
as long. Now the generation is a database row both processes read.
"""

import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from ops.processes import free_port

# The tests read no database of their own; the mark makes pytest-django create the test
# database, which the server's database is copied from.
pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent

SEED = """
from django.db import transaction
from articles import workflow
from tests.factories import make_article, make_user
with transaction.atomic():  # one commit: a file database syncs once
    moderator = make_user("Moderators", username="moderator")
    author = make_user("Editors", username="author")
    make_article(title="Harbour Story Already Live", slug="already-live")
    make_article(title="Wombat Story To Pull", slug="to-pull")
    waiting = make_article(title="Bilby Story Waiting", slug="waiting", published=False)
    workflow.article_saved(article=waiting, user=author)
    workflow.article_submit(article=waiting, user=author)
"""


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


def fetch(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until_up(port: int, proc, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"runserver on {port} exited: {log.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"runserver on {port} did not start")


def copy_test_database(django_db_blocker, target: Path) -> bool:
    """Copy the (migrated) SQLite test database to a file with SQLite's backup, rather than
    migrate a new one (about 12 s). False on other databases."""
    with django_db_blocker.unblock():
        if connection.vendor != "sqlite":
            return False
        connection.ensure_connection()
        with sqlite3.connect(target) as copy:
            connection.connection.backup(copy)
        copy.close()
    return True


@pytest.fixture(scope="module")
def server(tmp_path_factory, django_db_setup, django_db_blocker):
    """A migrated and seeded file database, and runserver on it: (its port, the environment
    for command-line processes against the same database)."""
    folder = tmp_path_factory.mktemp("cross_process")
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        "DJANGO_SETTINGS_MODULE": "newsroom.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'newsroom.sqlite3'}",
        "DEBUG": "1",
        "SECRET_KEY": "cross-process-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "NEWSROOM_PAGE_CACHE_SECONDS": "300",
        "NEWSROOM_FOUR_EYES": "1",
        "MEDIA_ROOT": str(folder / "media"),
        "EMAIL_HOST": "",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    if not copy_test_database(django_db_blocker, folder / "newsroom.sqlite3"):
        manage(env, "migrate", "--noinput", "-v0")
    port, log = free_port(), (folder / "runserver.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # While the server starts; with the test settings' fast password hasher (the factories
        # make a user per story, and the real hasher takes most of a second each).
        manage({**env, "DJANGO_SETTINGS_MODULE": "newsroom.settings_test"}, "shell", "-c", SEED)
        wait_until_up(port, proc, folder / "runserver.log")
        yield port, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_an_unpublish_from_the_command_line_is_a_410_on_the_very_next_read(server):
    port, env = server
    for _ in range(2):  # built, then served from the server's page cache
        status, page = fetch(port, "/articles/to-pull/")
        assert status == 200 and "Wombat Story To Pull" in page
    assert "Wombat Story To Pull" in fetch(port, "/")[1]
    manage(env, "workflow", "to-pull", "unpublish", "--user", "moderator", "--comment", "Legal hold.")
    assert fetch(port, "/articles/to-pull/")[0] == 410
    assert "Wombat Story To Pull" not in fetch(port, "/")[1]


def test_a_story_approved_from_the_command_line_is_on_the_front_page_and_feed_at_once(server):
    port, env = server
    for path in ("/", "/feeds/rss/"):
        for _ in range(2):
            status, page = fetch(port, path)
            assert status == 200 and "Harbour Story Already Live" in page and "Bilby Story Waiting" not in page
    manage(env, "workflow", "waiting", "approve", "--user", "moderator")
    assert "Bilby Story Waiting" in fetch(port, "/")[1]
    assert "Bilby Story Waiting" in fetch(port, "/feeds/rss/")[1]
    status, page = fetch(port, "/articles/waiting/")
    assert status == 200 and "Bilby Story Waiting" in page
