"""Soak test: sustained mixed load against gunicorn + PostgreSQL + Redis on loopback.

wrk (a second process) reads pages for SOAK_SECONDS while, over HTTP like real people, an
editor edits a story and submits it and a moderator approves it, again and again. After
each approval a reader fetches the story and must see the new version at once. At the end
it prints what it found: requests, 5xx count, edits made and kept, publishes seen.

    .venv/bin/python bench/soak.py            # 180 s by default (SOAK_SECONDS)
"""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB = os.environ.get("SOAK_DB", "newsroom_soak")
PG = os.environ.get("SOAK_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SOAK_REDIS", "redis://127.0.0.1:6379/12")
SECONDS = int(os.environ.get("SOAK_SECONDS", "180"))
STORIES = int(os.environ.get("SOAK_STORIES", "2000"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "16"))


def env(**extra):
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "soak-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{PG}/{DB}",
        "REDIS_URL": REDIS,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
        "NEWSROOM_LOGIN_MAX_FAILURES": "1000",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        **extra,
    }


def manage(*args, **extra):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env(**extra), check=True, capture_output=True, text=True
    ).stdout


def prepare(static_root):
    subprocess.run(["psql", PG + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}"], check=True)
    subprocess.run(["psql", PG + "/postgres", "-qc", f"CREATE DATABASE {DB}"], check=True)
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=True, capture_output=True)
    manage("migrate", "--noinput", "-v0")
    manage("seed_stories", "--count", str(STORIES))
    manage("collectstatic", "--noinput", "-v0", STATIC_ROOT=static_root)
    script = (
        "import json; from tests.factories import make_user; from articles.models import Article, Publication;"
        "ed = make_user('Editors', username='soak_editor'); mo = make_user('Moderators', username='soak_mod');"
        "a = Article.objects.filter(status='draft').first();"
        "live = list(Publication.objects.current().values_list('slug', flat=True)[:300]);"
        "print(json.dumps({'story': a.pk, 'slug': a.slug, 'live': live}))"
    )
    return json.loads(manage("shell", "-c", script).strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Person:
    """A logged-in admin user speaking HTTP through a cookie jar."""

    def __init__(self, base, username):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/admin/login/")
        self.post("/admin/login/", {"username": username, "password": "pw", "next": "/admin/"}, page)

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path, data, page):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}, doseq=True).encode()
        request = urllib.request.Request(self.base + path, body, headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


def editorial_loop(base, story, slug, stop, report):
    sys.path.insert(0, str(ROOT))
    from tests.formdata import form_fields

    editor, moderator = Person(base, "soak_editor"), Person(base, "soak_mod")
    change = f"/admin/articles/article/{story}/change/"
    n = 0
    while not stop.is_set():
        n += 1
        title = f"Soak Story Version {n}"
        page = editor.get(change)
        data = form_fields(page, "article_form")
        data["title"] = title
        status, url, _ = editor.post(change, data, page)
        report["edits"] += url.endswith("/admin/articles/article/")  # a saved change redirects to the list
        for who, action in ((editor, "submit"), (moderator, "approve")):
            path = f"/admin/articles/article/{story}/transition/{action}/"
            page = who.get(path)
            who.post(path, {"change_kind": "minor"}, page)
        public = urllib.request.urlopen(f"{base}/articles/{slug}/", timeout=30).read().decode()
        report["publishes"] += 1
        report["seen_at_once"] += title in public
        report["last_title"] = title


def main():
    with tempfile.TemporaryDirectory() as tmp:
        print(f"Preparing {DB}: {STORIES} stories …", flush=True)
        targets = prepare(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
            cwd=ROOT,
            env=env(STATIC_ROOT=tmp, PORT=str(port), WEB_CONCURRENCY="2"),
        )
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/robots.txt", timeout=2)
                    break
                except OSError:
                    time.sleep(0.2)
            paths = ["/", "/feeds/rss/", "/api/articles/", "/search/?q=harbour", "/archive/"]
            paths += [f"/articles/{slug}/" for slug in targets["live"]]
            lua = Path(tmp) / "mixed.lua"
            lua.write_text(
                "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
                "counter = 0\nrequest = function()\n  counter = counter + 1\n"
                "  return wrk.format('GET', paths[(counter % #paths) + 1])\nend\n"
            )
            report = {"edits": 0, "publishes": 0, "seen_at_once": 0, "last_title": ""}
            stop = threading.Event()
            worker = threading.Thread(
                target=editorial_loop, args=(base, targets["story"], targets["slug"], stop, report)
            )
            worker.start()
            wrk = subprocess.run(
                ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "10s", "-s", str(lua), base + "/"],
                capture_output=True,
                text=True,
            )
            stop.set()
            worker.join(timeout=60)
            final = json.loads(
                manage(
                    "shell",
                    "-c",
                    "import json; from articles.models import Article; "
                    f"a = Article.objects.get(pk={int(targets['story'])}); "
                    "print(json.dumps({'title': a.title, 'saves': a.revisions.filter(kind='save').count()}))",
                )
                .strip()
                .splitlines()[-1]
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    out = wrk.stdout
    requests = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(out)
    print("Soak results")
    print(f"  duration: {SECONDS} s, {CONNECTIONS} connections, 2 gunicorn workers, PostgreSQL + Redis")
    print(f"  reads: {requests.group(1) if requests else '?'} requests, {rps.group(1) if rps else '?'} req/s")
    print(
        f"  non-2xx/3xx responses: {non2xx.group(1) if non2xx else 0}; socket errors: "
        f"{errors.group(1) if errors else 'none'}"
    )
    print(f"  editor saves accepted: {report['edits']}; save revisions in the database: {final['saves']}")
    print(f"  final working title: {final['title']!r} (last edit: {report['last_title']!r})")
    print(f"  publishes: {report['publishes']}; seen by a reader right after: {report['seen_at_once']}")
    ok = (
        not non2xx
        and final["title"] == report["last_title"]
        and report["seen_at_once"] == report["publishes"]
        and report["edits"] == report["publishes"]
    )
    print("  RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
