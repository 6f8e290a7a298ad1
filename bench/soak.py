"""Soak test: sustained mixed load against gunicorn + PostgreSQL + Redis on loopback.

wrk (a second process) reads pages for SOAK_SECONDS while, over HTTP like real people, an
editor edits a story and submits it and a moderator approves it, again and again. After
each approval a reader fetches the story and must see the new version at once. At the end
it prints what it found: requests, 5xx count, edits made and kept, publishes seen.

    .venv/bin/python bench/soak.py            # 180 s by default (SOAK_SECONDS)

Alone, it makes its own database (SOAK_DB on SOAK_PG), seeds it and serves it with one
gunicorn. Against a topology that is already running (ops/cluster.py, `make cluster-demo`):

    SOAK_BASE_URL=http://127.0.0.1:8080 SOAK_APP_URLS=http://127.0.0.1:8001,http://127.0.0.1:8002 \\
    DATABASE_URL=… REDIS_URL=… (the app servers' settings) .venv/bin/python bench/soak.py

it seeds nothing: it reads and edits through SOAK_BASE_URL (the balancer), checks each
publish on every app server of SOAK_APP_URLS directly, uploads a new hero image with each
edit (SOAK_IMAGES, on by default there) and runs `manage.py` with the environment it was
given. SOAK_REPORT names a file to write the results to as JSON.
"""

import http.cookiejar
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB = os.environ.get("SOAK_DB", "newsroom_soak")
PG = os.environ.get("SOAK_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("SOAK_REDIS", "redis://127.0.0.1:6379/12")
SECONDS = int(os.environ.get("SOAK_SECONDS", "180"))
STORIES = int(os.environ.get("SOAK_STORIES", "2000"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "16"))
BASE_URL = os.environ.get("SOAK_BASE_URL", "").rstrip("/")
APP_URLS = [url.strip().rstrip("/") for url in os.environ.get("SOAK_APP_URLS", "").split(",") if url.strip()]
IMAGES = os.environ.get("SOAK_IMAGES", "1" if BASE_URL else "0").strip().lower() in {"1", "true", "yes", "on"}
REPORT = os.environ.get("SOAK_REPORT", "")
# With a task worker, approval waits for the hero image's renditions (articles.workflow).
RENDITIONS_PENDING = "renditions are still being made"
RENDITIONS_WAIT = float(os.environ.get("SOAK_RENDITIONS_WAIT", "60"))


def check_urls():
    """A running topology's addresses must be http://host:port; say which one is not."""
    if APP_URLS and not BASE_URL:
        sys.exit("error: SOAK_APP_URLS needs SOAK_BASE_URL (the address in front of them) too")
    for name, url in [("SOAK_BASE_URL", BASE_URL)] + [("SOAK_APP_URLS", url) for url in APP_URLS]:
        parts = urllib.parse.urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/")):
            sys.exit(f"error: {name}: {url!r} is not an address like http://127.0.0.1:8000")


def env(**extra):
    if BASE_URL:  # a running topology: its settings are the caller's environment
        return {**os.environ, **extra}
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


def prepare_database(static_root):
    """Alone: a fresh database, seeded, and the static files."""
    subprocess.run(["psql", PG + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}"], check=True)
    subprocess.run(["psql", PG + "/postgres", "-qc", f"CREATE DATABASE {DB}"], check=True)
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=True, capture_output=True)
    manage("migrate", "--noinput", "-v0")
    manage("seed_stories", "--count", str(STORIES))
    manage("collectstatic", "--noinput", "-v0", STATIC_ROOT=static_root)


def pick_targets():
    """The editor and the moderator (made once), a draft to work on, and live stories to read."""
    script = (
        "import json; from django.contrib.auth.models import User; from tests.factories import make_user;"
        "from articles.models import Article, Publication;"
        "ed = User.objects.filter(username='soak_editor').first() or make_user('Editors', username='soak_editor');"
        "mo = User.objects.filter(username='soak_mod').first() or make_user('Moderators', username='soak_mod');"
        "a = Article.objects.filter(status='draft').order_by('pk').first();"
        "live = list(Publication.objects.current().values_list('slug', flat=True)[:300]);"
        "print(json.dumps({'story': a.pk, 'slug': a.slug, 'live': live}))"
    )
    return json.loads(manage("shell", "-c", script).strip().splitlines()[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it: fields {name: value or [values]},
    files {name: (filename, bytes, content type)}."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        chunks.append(f"{head}Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def hero_png(n: int) -> bytes:
    """A 1000 x 600 PNG, different for each version (so renditions have real work to do)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1000, 600), ((n * 47) % 256, (n * 91) % 256, (n * 13) % 256))
    ImageDraw.Draw(image).rectangle((50 + n % 400, 50, 450 + n % 400, 450), fill=(255 - (n * 47) % 256, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


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

    def post(self, path, data, page, files=None):
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = {**data, "csrfmiddlewaretoken": token}
        if files:
            body, content_type = multipart(data, files)
        else:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = {"Referer": self.base + path, "Content-Type": content_type}
        request = urllib.request.Request(self.base + path, body, headers=headers)
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


def timed(report, what, call, *args, **kwargs):
    start = time.monotonic()
    result = call(*args, **kwargs)
    report["timings"].setdefault(what, []).append(time.monotonic() - start)
    return result


def transition(report, who, story, action):
    """Fire one workflow step as a person does; True once done (redirected away from the
    step's page). An approval refused because the worker has not made the new hero image's
    renditions yet is asked again, as a moderator would, for up to RENDITIONS_WAIT seconds;
    any other refusal is an error."""
    path = f"/admin/articles/article/{story}/transition/{action}/"
    started, waited = time.monotonic(), False
    while True:
        page = who.get(path)
        _, url, body = timed(report, action, who.post, path, {"change_kind": "minor"}, page)
        if not urllib.parse.urlsplit(url).path.endswith(path):
            if waited:
                report["timings"].setdefault("renditions wait", []).append(time.monotonic() - started)
            return True
        if RENDITIONS_PENDING in body and time.monotonic() - started < RENDITIONS_WAIT:
            report["renditions_waits"] += 1
            waited = True
            time.sleep(0.25)
            continue
        refusal = re.search(r'class="errorlist[^"]*">\s*<li>(.*?)</li>', body, re.S)
        report["errors"].append(f"{action} refused: {refusal.group(1) if refusal else url}")
        return False


def editorial_loop(base, story, slug, stop, report, readers):
    """Edit, submit and approve the story until told to stop; after each approval every
    reader address must show the new title at once."""
    sys.path.insert(0, str(ROOT))
    from tests.formdata import form_fields

    editor, moderator = Person(base, "soak_editor"), Person(base, "soak_mod")
    change = f"/admin/articles/article/{story}/change/"
    n = 0
    while not stop.is_set() and len(report["errors"]) < 20:
        n += 1
        title = f"Soak Story Version {n}"
        try:
            page = editor.get(change)
            data = form_fields(page, "article_form")
            data["title"] = title
            files = None
            if IMAGES:
                data["image_alt"] = f"Test card {n} for the soak"
                files = {"image": (f"soak-{n}.png", hero_png(n), "image/png")}
                report["images"] += 1
            status, url, _ = timed(report, "save", editor.post, change, data, page, files)
            report["edits"] += url.endswith("/admin/articles/article/")  # a saved change redirects to the list
            if not (transition(report, editor, story, "submit") and transition(report, moderator, story, "approve")):
                continue
            report["publishes"] += 1
            report["last_title"] = title
            seen_everywhere = True
            for reader in readers:  # right after the approval, each one in turn
                public = timed(report, "read after publish", _read, f"{reader}/articles/{slug}/")
                seen = title in public
                report["seen_by"][reader] = report["seen_by"].get(reader, 0) + seen
                seen_everywhere &= seen
            report["seen_at_once"] += seen_everywhere
        except (OSError, urllib.error.HTTPError) as error:  # a server error or a dropped connection
            report["errors"].append(f"version {n}: {error}")


def _read(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def wrk_figures(out: str) -> dict:
    def find(pattern):
        found = re.search(pattern, out)
        return found.group(1) if found else None

    return {
        "requests": int(find(r"(\d+) requests in") or 0),
        "rps": float(find(r"Requests/sec:\s+([\d.]+)") or 0),
        "non2xx": int(find(r"Non-2xx or 3xx responses: (\d+)") or 0),
        "socket_errors": find(r"Socket errors: (.*)"),
        "latency": {p: find(rf"(?m)^\s+{p}%\s+(\S+)") for p in ("50", "90", "99")},
        "latency_max": find(r"Latency\s+\S+\s+\S+\s+(\S+)"),
    }


def read_load(base, tmp, targets):
    paths = ["/", "/feeds/rss/", "/api/articles/", "/search/?q=harbour", "/archive/"]
    paths += [f"/articles/{slug}/" for slug in targets["live"]]
    lua = Path(tmp) / "mixed.lua"
    lua.write_text(
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "counter = 0\nrequest = function()\n  counter = counter + 1\n"
        "  return wrk.format('GET', paths[(counter % #paths) + 1])\nend\n"
    )
    report = {
        "edits": 0,
        "publishes": 0,
        "seen_at_once": 0,
        "seen_by": {},
        "images": 0,
        "renditions_waits": 0,
        "last_title": "",
        "errors": [],
        "timings": {},
    }
    stop = threading.Event()
    readers = APP_URLS or [base]
    worker = threading.Thread(
        target=editorial_loop, args=(base, targets["story"], targets["slug"], stop, report, readers)
    )
    worker.start()
    wrk = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            base + "/",
        ],
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
    return wrk.stdout, report, final


def wait_until_serving(base):
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/robots.txt", timeout=2)
            return
        except OSError:
            time.sleep(0.2)


def summary(report):
    """Median and 95th percentile, in ms, of each editorial step."""
    out = {}
    for what, times in report["timings"].items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        out[what] = {"n": len(times), "median_ms": statistics.median(times) * 1000, "p95_ms": p95 * 1000}
    return out


def main():
    check_urls()
    with tempfile.TemporaryDirectory() as tmp:
        if BASE_URL:
            print(f"Soaking the running topology at {BASE_URL} (app servers: {', '.join(APP_URLS) or 'not given'})")
            targets = pick_targets()
            out, report, final = read_load(BASE_URL, tmp, targets)
            shape = f"through {BASE_URL}, {len(APP_URLS)} app servers checked directly"
        else:
            print(f"Preparing {DB}: {STORIES} stories …", flush=True)
            prepare_database(tmp)
            targets = pick_targets()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = subprocess.Popen(
                [PYTHON, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
                cwd=ROOT,
                env=env(STATIC_ROOT=tmp, PORT=str(port), WEB_CONCURRENCY="2"),
            )
            try:
                wait_until_serving(base)
                out, report, final = read_load(base, tmp, targets)
            finally:
                server.terminate()
                server.wait(timeout=20)
            shape = "2 gunicorn workers, PostgreSQL + Redis"
    figures = wrk_figures(out)
    print(out)
    print("Soak results")
    print(f"  duration: {SECONDS} s, {CONNECTIONS} connections, {shape}")
    latency = figures["latency"]
    print(
        f"  reads: {figures['requests']} requests, {figures['rps']} req/s; latency p50 {latency['50']}, "
        f"p90 {latency['90']}, p99 {latency['99']}, max {figures['latency_max']}"
    )
    print(f"  non-2xx/3xx responses: {figures['non2xx']}; socket errors: {figures['socket_errors'] or 'none'}")
    print(f"  editor saves accepted: {report['edits']}; save revisions in the database: {final['saves']}")
    print(f"  final working title: {final['title']!r} (last edit: {report['last_title']!r})")
    print(f"  publishes: {report['publishes']}; seen right after by every reader address: {report['seen_at_once']}")
    for reader, seen in report["seen_by"].items():
        print(f"    {reader}: {seen} of {report['publishes']}")
    if report["images"]:
        print(
            f"  hero images uploaded: {report['images']}; approvals asked again while the renditions "
            f"were being made: {report['renditions_waits']}"
        )
    steps = summary(report)
    for what, step in steps.items():
        print(f"  {what}: {step['n']} times, median {step['median_ms']:.0f} ms, p95 {step['p95_ms']:.0f} ms")
    for error in report["errors"]:
        print(f"  editor error: {error}")
    ok = (
        not figures["non2xx"]
        and not report["errors"]
        and report["publishes"] > 0
        and final["title"] == report["last_title"]
        and report["seen_at_once"] == report["publishes"]
        and report["edits"] == report["publishes"]
    )
    print("  RESULT:", "PASS" if ok else "FAIL")
    if REPORT:
        Path(REPORT).write_text(
            json.dumps(
                {
                    **figures,
                    **report,
                    "story": targets["story"],
                    "slug": targets["slug"],
                    "final": final,
                    "steps": steps,
                    "seconds": SECONDS,
                    "ok": ok,
                },
                indent=1,
            )
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
