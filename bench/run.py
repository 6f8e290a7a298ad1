"""The newsroom benchmark (`make bench`): PostgreSQL + Redis + gunicorn, driven by wrk.

Seeds a dedicated database (only the stories still missing, so a second run reuses them),
serves the site as in production (DEBUG off, gunicorn with 2 sync workers, hashed static
files, Redis cache) and measures public pages with wrk: server A with the page cache on,
server B with it off. Then times the admin story list and an import of 1,000 story files,
checks the targets, prints a Markdown report and writes it to BENCHMARKS.md.

Environment: BENCH_STORIES (100000), BENCH_DB (newsroom_bench), BENCH_DURATION seconds per
scenario (10), BENCH_CONNECTIONS (16), BENCH_RESEED=1 drops and re-seeds the database,
BENCH_REDIS_DB (14), BENCH_REPORT (where the Markdown goes: BENCHMARKS.md; a trial run on a
small database can write elsewhere and leave the committed report alone).
Loopback only: PostgreSQL at 127.0.0.1:5432 (user postgres), Redis at 127.0.0.1:6379 (DB
BENCH_REDIS_DB, flushed at the start). No database but BENCH_DB is touched. Standard library only; the
Markdown is made by bench/report.py, the cache-cold request walk by bench/cold.lua.
"""

import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import report

ROOT = Path(__file__).resolve().parent.parent
PYTHON, GUNICORN, COLD_LUA = ROOT / ".venv/bin/python", ROOT / ".venv/bin/gunicorn", ROOT / "bench/cold.lua"
STORIES = int(os.environ.get("BENCH_STORIES", "100000"))
DB = os.environ.get("BENCH_DB", "newsroom_bench")
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
RESEED = os.environ.get("BENCH_RESEED", "") == "1"
THREADS, WARMUP, WRK_TIMEOUT = 2, max(1, min(3, DURATION // 3)), 10
PG, REDIS, REDIS_DB = ("127.0.0.1", 5432), ("127.0.0.1", 6379), int(os.environ.get("BENCH_REDIS_DB", "14"))
REPORT = ROOT / os.environ.get("BENCH_REPORT", "BENCHMARKS.md")
COLD_SLUGS, WARM_SLUGS, IMPORTS, ADMIN_USER = 8000, 200, 1000, "bench-admin"  # COLD_SLUGS: > req/s × DURATION
ALONE_REQUESTS = 30
SETTINGS = {
    "db": DB,
    "duration": DURATION,
    "connections": CONNECTIONS,
    "threads": THREADS,
    "warmup": WARMUP,
    "wrk_timeout": WRK_TIMEOUT,
    "cold_slugs": COLD_SLUGS,
    "imports": IMPORTS,
}
SEED_MARK, IMPORT_MARK = "https://wire.example/seed/", "https://bench.example/story/"
# The caller's variables that would change what is measured (gunicorn.conf.py's defaults apply).
DROP_ENV = {
    "BIND",
    "HOST",
    "PORT",
    "GUNICORN_THREADS",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_ACCESS_LOG",
    "GUNICORN_TIMEOUT",
    "DB_POOL",
    "DB_POOL_MIN",
    "DB_POOL_MAX",
    "CONN_MAX_AGE",
    "MEDIA_STORAGE_BACKEND",
    "MEDIA_STORAGE_OPTIONS",
    "MEDIA_ORIGINS",
}


def fail(message: str):
    sys.exit(f"bench: error: {message}")


def app_env(static_root: Path, **extra) -> dict:
    """Production settings over plain HTTP on loopback (as behind a TLS-terminating proxy)."""
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        DATABASE_URL=f"postgres://postgres@{PG[0]}:{PG[1]}/{DB}",
        CACHE_KEY_PREFIX="bench",
        REDIS_URL=f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
        STATIC_ROOT=str(static_root),
        NEWSROOM_QUERY_COUNT_HEADER="1",
        WEB_CONCURRENCY="2",
        NEWSROOM_PAGE_CACHE_SECONDS="300",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        PYTHONUNBUFFERED="1",
    )
    return {**env, **extra}


def run(cmd, timeout: float, env=None, capture=True) -> str:
    """Run a command to completion (bounded in time); exit with its error output if it fails."""
    name = " ".join(str(c) for c in cmd[:3])
    try:
        done = subprocess.run(
            [str(c) for c in cmd], cwd=ROOT, env=env, timeout=timeout, text=True, capture_output=capture
        )
    except subprocess.TimeoutExpired:
        fail(f"{name} ... took longer than {timeout:.0f} s")
    except FileNotFoundError:
        fail(f"{cmd[0]} is not installed")
    if done.returncode:
        fail(f"{name} ... exited with {done.returncode}\n{(done.stderr or '')[-3000:]}")
    return done.stdout or ""


def output(cmd) -> str:
    """A command's first line of output, or "?" (for the report: never fatal)."""
    try:
        done = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


def manage(env, *args, timeout=600, capture=True) -> str:
    return run([PYTHON, "manage.py", *args], timeout, env, capture)


def shell_json(env, code: str):
    """Run Python in `manage.py shell -c`; return what it printed after "BENCH_JSON " as JSON."""
    return json.loads(manage(env, "shell", "-c", "import json\n" + code).split("BENCH_JSON ", 1)[1])


def psql(sql: str) -> str:
    return run(["psql", "-h", PG[0], "-p", PG[1], "-U", "postgres", "-d", "postgres", "-Atqc", sql], 120).strip()


def redis(*command: str) -> str:
    """One Redis command on DB REDIS_DB, over a raw socket (RESP); its reply as text."""
    commands = [("SELECT", str(REDIS_DB)), command]
    payload = "".join(f"*{len(c)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in c) for c in commands)
    with socket.create_connection(REDIS, timeout=5) as sock, sock.makefile("rb") as reader:
        sock.sendall(payload.encode())
        for _ in commands:
            reply = reader.readline().decode().rstrip("\r\n")
            if reply[:1] in ("-", ""):
                fail(f"Redis answered {command[0]} with {reply or 'nothing'}")
            if reply[:1] == "$":
                reply = "$" + reader.read(int(reply[1:]) + 2)[:-2].decode()
    return reply[1:]


def check_services():
    for name, address in (("PostgreSQL", PG), ("Redis", REDIS)):
        try:
            socket.create_connection(address, timeout=3).close()
        except OSError as error:
            fail(f"{name} does not answer at {address[0]}:{address[1]} ({error}); start it and try again")
    psql("SELECT 1")
    if redis("PING") != "PONG":
        fail("Redis did not answer PING")
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", flush=True)
        run(["apt-get", "install", "-y", "wrk"], 600, capture=False)


def prepare_database(env):
    """Create and migrate BENCH_DB, seed only the missing stories, flush the Redis DB."""
    if "bench" not in DB:
        fail(f"BENCH_DB={DB!r}: the name must contain 'bench' (the benchmark may drop it)")
    if RESEED:
        print(f"Dropping {DB} (BENCH_RESEED=1)", flush=True)
        psql(f'DROP DATABASE IF EXISTS "{DB}"')
    if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"):
        psql(f'CREATE DATABASE "{DB}"')
    manage(env, "migrate", "--noinput", "-v0")
    seeded = shell_json(
        env,
        f"""from articles.models import Article
Article.objects.filter(original_url__startswith={IMPORT_MARK!r}).delete()  # left by an interrupted run
print("BENCH_JSON", Article.objects.filter(original_url__startswith={SEED_MARK!r}).count())""",
    )
    if (missing := STORIES - seeded) > 0:
        print(f"Seeding {missing:,} stories into {DB} ({seeded:,} there already)", flush=True)
        manage(
            env, "seed_stories", "--count", missing, "--seed", seeded + 1, timeout=600 + missing // 50, capture=False
        )
        manage(env, "migrate", "--noinput", "-v0")  # again: the code may have moved on while seeding
    else:
        print(f"{DB} has {seeded:,} seeded stories (BENCH_STORIES={STORIES:,}): reusing them", flush=True)
    # Earlier runs' imports were deleted: vacuum their dead rows, so each run starts alike.
    run(["psql", "-h", PG[0], "-p", PG[1], "-U", "postgres", "-d", DB, "-qc", "VACUUM (ANALYZE)"], 600)
    if redis("FLUSHDB") != "OK":
        fail(f"FLUSHDB of Redis DB {REDIS_DB} failed")


def settle_database(wait: float = 60):
    """Wait for BENCH_DB's queries to end, then cancel what is left (a stopped server's work)."""
    active = f"FROM pg_stat_activity WHERE datname = '{DB}' AND state = 'active' AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + wait
    while psql(f"SELECT count(*) {active}") != "0" and time.monotonic() < deadline:
        time.sleep(1)
    if (left := psql(f"SELECT count(pg_cancel_backend(pid)) {active}")) != "0":
        print(f"  cancelled {left} abandoned queries in {DB}", flush=True)


# What the scenarios ask for, read from the current publications (the one door readers use).
# Slugs in story order, so that a database seeded alike samples the same stories as before.
TARGETS = """import random
from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, F
from articles import search
from articles.models import Article, Publication, PublicationTag
current = Publication.objects.current()
slugs = list(current.order_by("article_id").values_list("slug", flat=True))
desk = current.values(s=F("desk__slug")).annotate(n=Count("pk")).order_by("-n").first()
tag = (PublicationTag.objects.filter(publication__in=current).values(s=F("tag__slug"))
       .annotate(n=Count("pk")).order_by("-n").first())
hits = {w: current.filter(search_document=SearchQuery(w, config=search.CONFIG)).count() for w in ("harbour", "energy")}
word = max(hits, key=hits.get)
print("BENCH_JSON", json.dumps({"live": len(slugs), "total": Article.objects.count(), "desk": desk, "tag": tag,
      "slugs": random.Random(7).sample(slugs, min(len(slugs), %d)), "word": word, "word_hits": hits[word]}))"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str, timeout: float = 60) -> tuple[str, dict, float]:
    """One GET: (status, or the error's name; headers; milliseconds)."""
    started, conn = time.perf_counter(), http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        status, headers = str(response.status), dict(response.getheaders())
    except (OSError, http.client.HTTPException) as error:
        status, headers = type(error).__name__, {}
    finally:
        conn.close()
    return status, headers, (time.perf_counter() - started) * 1000


@contextmanager
def gunicorn(name: str, env: dict, tmp: Path):
    """A gunicorn master and its workers on a free loopback port; always stopped."""
    port, log_path = free_port(), tmp / f"gunicorn-{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [GUNICORN, "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
            cwd=ROOT,
            env={**env, "BIND": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while fetch(port, "/robots.txt", timeout=5)[0] != "200" or len(workers(proc.pid)) < 2:
                if proc.poll() is not None or time.monotonic() > deadline:
                    fail(f"gunicorn {name} did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            print(f"Server {name}: gunicorn pid {proc.pid} on 127.0.0.1:{port}", flush=True)
            yield {"name": name, "port": port, "pid": proc.pid, "log": log_path}
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: this master and its workers
                    proc.wait(timeout=10)
            settle_database()


def server_error(server: dict, what: str):
    fail(f"{what} (server {server['name']}); the end of its log:\n{server['log'].read_text()[-3000:]}")


def workers(master: int) -> list[int]:
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def worker_rss(master: int) -> str:
    sizes = []
    for pid in workers(master):
        try:
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)))
        except (OSError, AttributeError):
            continue
    return " / ".join(f"{kb / 1024:.0f}" for kb in sorted(sizes)) or "?"


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]


def wrk(port: int, path: str, seconds: int, paths_file: Path | None = None) -> dict:
    """wrk in a subprocess; with paths_file, bench/cold.lua walks those paths instead of `path`."""
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", f"{WRK_TIMEOUT}s"]
    env = {**os.environ, "BENCH_PATHS": str(paths_file), "BENCH_THREADS": str(THREADS)}
    out = run([*cmd, *(["-s", COLD_LUA] if paths_file else []), f"http://127.0.0.1:{port}{path}"], seconds + 60, env)
    number, unit = re.search(r"([\d.]+)([kMG]?) requests in", out).groups()
    done = round(float(number) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[unit])
    latency = dict(re.findall(r"^\s*(50|99)%\s+([\d.]+[a-z]+)\s*$", out, re.M)) if done else {}
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    misses = re.search(r"cache-misses (\d+) of (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": done,
        "p50": to_ms(latency["50"]) if "50" in latency else None,
        "p99": to_ms(latency["99"]) if "99" in latency else None,
        "errors": int(non_2xx.group(1) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0),
        "misses": tuple(map(int, misses.groups())) if misses else None,
    }


def scenario(server: dict, label: str, path: str, cold: dict | None = None) -> dict:
    """Check the URL, warm up, run wrk; note SQL queries per request and worker memory.

    A single GET after each wrk run waits for the requests wrk left queued (slow pages), so
    they do not spill into the next run. Queries: the smallest X-Query-Count of those GETs (a
    worker's first request also looks up PostgreSQL types; on server A a cache hit); the cold
    row counts one GET for a story nobody asked for yet.
    """
    port, paths = server["port"], cold or {}
    check = fetch(port, path)
    if check[0].isdigit() and check[0] != "200":
        server_error(server, f"{label}: GET {path} answered {check[0]}")
    wrk(port, path, WARMUP, paths.get("warm"))
    drained = fetch(port, path)
    result = wrk(port, path, DURATION, paths.get("run"))
    after = fetch(port, paths.get("probe", path))
    # Service time without queueing: one request at a time (not for the cold walk, which
    # would only ever time cache hits of the same URL).
    alone = None if cold else statistics.median(fetch(port, path)[2] for _ in range(ALONE_REQUESTS))
    counts = [
        int(h["X-Query-Count"])
        for status, h, _ in ([after] if cold else [check, drained, after])
        if status == "200" and "X-Query-Count" in h
    ]
    result.update(
        label=label,
        server=server["name"],
        rss=worker_rss(server["pid"]),
        status=check[0],
        alone=alone,
        first_ms=check[2],
        queries=str(min(counts)) if counts else f"? ({after[0]})",
    )
    print(
        f"  {label:<28} {result['rps']:>8.1f} req/s  p50 {report.fmt(result['p50'])} ms  "
        f"p99 {report.fmt(result['p99'])} ms  alone {report.fmt(alone)} ms  errors {result['errors']}  "
        f"queries {result['queries']}  "
        f"(load {loadavg()})",
        flush=True,
    )
    return result


def admin_list(server: dict, password: str) -> dict:
    try:
        return _admin_list(server["port"], password)
    except HTTPError as error:
        server_error(server, f"the admin answered {error.code} for {error.url}")


def _admin_list(port: int, password: str) -> dict:
    """Log in to the admin (cookie jar, CSRF token), then time 20 GETs of the story list."""
    base, opener = f"http://127.0.0.1:{port}", build_opener(HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/admin/login/?next=/admin/", timeout=60).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urlencode({"csrfmiddlewaretoken": token, "username": ADMIN_USER, "password": password, "next": "/admin/"})
    opener.open(Request(f"{base}/admin/login/", form.encode(), headers={"Referer": f"{base}/admin/login/"}), timeout=60)
    times = []
    for _ in range(21):  # the first GET warms up
        started = time.perf_counter()
        response = opener.open(f"{base}/admin/articles/article/", timeout=120)
        if b"result_list" not in response.read() or "/login/" in response.url:
            fail("the admin story list did not show (did the login fail?)")
        times.append((time.perf_counter() - started) * 1000)
    times = sorted(times[1:])
    return {"median": statistics.median(times), "p95": times[18], "queries": response.headers["X-Query-Count"]}


def time_imports(env, tmp: Path) -> dict:
    """Write IMPORTS story files (demo stories, each with its own title and original URL), time
    one `import_story` process importing them all, then delete what it created."""
    demos, folder = sorted((ROOT / "articles/demo/stories").glob("*.txt")), tmp / "imports"
    folder.mkdir()
    for n in range(IMPORTS):
        lines = demos[n % len(demos)].read_text(encoding="utf-8").splitlines()
        lines = [f"{lines[0]}: Bench Copy {n}" if line == lines[0] else line for line in lines]  # title, repeated
        lines = [f"🔗 Original: {IMPORT_MARK}{n}" if line.startswith("🔗") else line for line in lines]
        (folder / f"story-{n:04d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    out = manage(env, "import_story", *sorted(folder.iterdir()), "--user", ADMIN_USER, timeout=900)
    seconds = time.perf_counter() - started
    shell_json(
        env,
        f"from articles.models import Article\nprint('BENCH_JSON', Article.objects.filter("
        f"original_url__startswith={IMPORT_MARK!r}).delete()[0])",
    )
    return {"seconds": seconds, "created": out.count("\tcreated")}


def make_admin(env) -> str:
    password = secrets.token_urlsafe(16)
    shell_json(
        {**env, "BENCH_ADMIN_PASSWORD": password},
        f"""import os
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username={ADMIN_USER!r})
user.is_staff = user.is_superuser = user.is_active = True
user.set_password(os.environ["BENCH_ADMIN_PASSWORD"])
user.save()
print("BENCH_JSON 0")""",
    )
    return password


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def code_version() -> str:
    return output(["git", "describe", "--always", "--dirty=, with uncommitted changes"])


def machine(env, load_at_start: str, code_at_start: str) -> list[tuple[str, str]]:
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024 / 1024
    return [
        ("CPU", f"{cpu.group(1) if cpu else platform.machine()}, {os.cpu_count()} cores"),
        ("Memory", f"{mem:.1f} GiB"),
        ("Kernel", platform.release()),
        ("Python", platform.python_version()),
        ("Django", manage(env, "version").strip()),
        ("gunicorn", output([GUNICORN, "--version"])),
        ("PostgreSQL", psql("SHOW server_version")),
        ("Redis", re.search(r"redis_version:(\S+)", redis("INFO", "server")).group(1)),
        ("wrk", output(["wrk", "-v"]).split(" [")[0]),
        ("Load average (1 min) at the start / end", f"{load_at_start} / {loadavg()} (the CPU is shared)"),
        (
            "Code",
            code_at_start
            if code_version() == code_at_start
            else f"{code_at_start} at the start, {code_version()} at the end: it changed during the run!",
        ),
    ]


def main():
    started, load_at_start, code_at_start = time.monotonic(), loadavg(), code_version()
    check_services()
    tmp = Path(tempfile.mkdtemp(prefix="newsroom-bench-"))
    try:
        static_root = tmp / "static"
        env = app_env(static_root)
        prepare_database(env)
        manage(env, "collectstatic", "--noinput", "-v0")
        targets = shell_json(env, TARGETS % (2 + WARM_SLUGS + COLD_SLUGS))
        targets["css"] = (
            "/static/" + json.loads((static_root / "staticfiles.json").read_text())["paths"]["css/newsroom.css"]
        )
        password, slugs = make_admin(env), targets["slugs"]
        story = f"/articles/{slugs[0]}/"
        cold = {"warm": tmp / "warm.txt", "run": tmp / "cold.txt", "probe": f"/articles/{slugs[1]}/"}
        cold["warm"].write_text("".join(f"/articles/{s}/\n" for s in slugs[2 : 2 + WARM_SLUGS]))
        cold["run"].write_text("".join(f"/articles/{s}/\n" for s in slugs[2 + WARM_SLUGS :]))
        rows = {}
        with gunicorn("A", env, tmp) as a:
            rows["static"] = scenario(a, "Static file (reference)", targets["css"])
            rows["story-cached"] = scenario(a, "Story page, cached (warm)", story)
            rows["story-cold"] = scenario(a, "Story page, cache cold", story, cold)
            rows["front-cached"] = scenario(a, "Front page, cached", "/")
            rows["feed-cached"] = scenario(a, "RSS feed, cached", "/feeds/rss/")
            rows["search-cached"] = scenario(a, "Search, cached", f"/search/?q={targets['word']}")
        with gunicorn("B", app_env(static_root, NEWSROOM_PAGE_CACHE_SECONDS="0"), tmp) as b:
            for key, label, path in (
                ("story", "Story page, uncached", story),
                ("front", "Front page, uncached", "/"),
                ("desk", "Desk page", f"/desks/{targets['desk']['s']}/"),
                ("tag", "Tag page", f"/tags/{targets['tag']['s']}/"),
                ("feed", "RSS feed", "/feeds/rss/"),
                ("api-list", "API list", "/api/articles/"),
                ("api-detail", "API detail", f"/api/articles/{slugs[0]}/"),
                ("archive", "Archive index", "/archive/"),
                ("sitemap", "Sitemap index", "/sitemap.xml"),
            ):
                rows[key] = scenario(b, label, path)
            print("Timing the admin story list", flush=True)
            admin = admin_list(b, password)
            rows["search"] = scenario(b, "Search", f"/search/?q={targets['word']}")  # last: may leave a backlog
        print(f"Timing {IMPORTS:,} imports", flush=True)
        imports = time_imports(env, tmp)
        order = (
            "static",
            "story-cached",
            "story-cold",
            "front-cached",
            "feed-cached",
            "search-cached",
            "story",
            "front",
            "desk",
            "tag",
            "search",
            "feed",
            "api-list",
            "api-detail",
            "archive",
            "sitemap",
        )
        rows = {key: rows[key] for key in order}
        checks = report.check_targets(SETTINGS, rows, admin, imports)
        extra = [
            f"Admin story list (`/admin/articles/article/`, server B, a superuser): median "
            f"{admin['median']:.0f} ms, p95 {admin['p95']:.0f} ms over 20 GETs, {admin['queries']} SQL queries",
            f"Importing {IMPORTS:,} story files in one `manage.py import_story` process (DEBUG=0, process "
            f"start included): {imports['seconds']:.1f} s, {IMPORTS / imports['seconds']:.0f} stories/s",
        ]
        text = report.document(
            SETTINGS,
            minutes=(time.monotonic() - started) / 60,
            targets=targets,
            rows=rows,
            machine=machine(env, load_at_start, code_at_start),
            extra=extra,
            checks=checks,
        )
        print("\n" + text, flush=True)
        REPORT.write_text(text, encoding="utf-8")
        print(f"Wrote {REPORT}; total {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
