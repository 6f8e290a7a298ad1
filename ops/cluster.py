"""`make cluster-demo`: the production shape on one machine, soaked, then stopped.

On loopback, every server on a port free at run time, every file in one temporary folder:

    readers, editors -> nginx (ops/nginx.conf) -> two gunicorn app servers (as `make serve`)
    app servers -> PostgreSQL primary (writes, editors) and a streaming replica (readers),
                   Redis (the shared cache), moto's S3 server (media), the task queue table
    the django-tasks-db worker (as `make worker`) -> notifications and image renditions
    browsers -> the media bucket (public-read), for images

It installs Debian's nginx and wrk with apt-get when they are missing, migrates and collects
static files once, seeds CLUSTER_STORIES stories (2000), then runs `make soak` against nginx
for CLUSTER_SOAK_SECONDS (60) with each app server's own address, waits for the worker to
finish what was queued, checks the outcome and prints the figures. Everything it started is
stopped by process id at the end, on failure and on Ctrl-C or SIGTERM alike, and it checks
that no process or port of the run is left. Exits 1 when a check fails.
"""

import html
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import pgcluster  # noqa: E402
from ops.processes import Processes, free_port, listening, process_alive, wait_for_port  # noqa: E402

PYTHON = sys.executable
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
STORIES = int(os.environ.get("CLUSTER_STORIES", "2000"))
SOAK_SECONDS = int(os.environ.get("CLUSTER_SOAK_SECONDS", "60"))
APP_SERVERS = 2
BUCKET = "newsroom-media"
TASKS_TABLE = "django_tasks_database_dbtaskresult"  # django_tasks_db's app label is django_tasks_database


class NginxTemplate(Template):
    """ops/nginx.conf's placeholders are @@name: nginx's own variables use $."""

    delimiter = "@@"


def render_nginx_conf(template: str, *, prefix: Path, port: int, upstreams: list[int]) -> str:
    """The nginx configuration for one run: listen on port, balance over the upstream ports,
    keep every file under prefix. A placeholder left unfilled is an error naming it."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    try:
        return NginxTemplate(template).substitute(prefix=str(prefix), port=port, upstream_servers=servers)
    except KeyError as missing:
        raise ValueError(f"ops/nginx.conf: the placeholder @@{missing.args[0]} has no value") from None


def ensure_packages() -> None:
    """Debian's nginx and wrk, installed with apt-get when missing (CI and fresh machines)."""
    wanted = [package for binary, package in ((NGINX, "nginx"), ("wrk", "wrk")) if not shutil.which(binary)]
    if not wanted:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"error: {' and '.join(wanted)} missing; install with: apt-get install -y {' '.join(wanted)}")
    print(f"Installing {', '.join(wanted)} (Debian packages; nginx's own service is not used) …", flush=True)
    quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-qq", *wanted], env=quiet).returncode:
        subprocess.run(["apt-get", "update", "-qq"], env=quiet, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *wanted], env=quiet, check=True)


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def wait_for_http(url: str, child, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{name} (pid {child.process.pid}) exited with status {child.process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s")


def transactions(url: str) -> int:
    """Transactions the server has run in its database so far (its own statistics; a hot
    standby counts the read-only ones it serves)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        (count,) = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return count


class ReplicaLag:
    """Samples the primary's view of each replica twice a second (pg_stat_replication): bytes
    of WAL not yet replayed, and PostgreSQL's own replay_lag."""

    def __init__(self, primary_url: str):
        self.url, self.bytes, self.seconds, self.streaming = primary_url, [], [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self.stop.wait(0.5):
                rows = connection.execute(
                    "SELECT state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), "
                    "extract(epoch FROM replay_lag) FROM pg_stat_replication"
                ).fetchall()
                self.streaming.append(sum(state == "streaming" for state, _, _ in rows))
                for _, behind, lag in rows:
                    self.bytes.append(int(behind or 0))
                    self.seconds.append(float(lag or 0))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


class Run:
    """One run of the topology in a folder of its own."""

    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "logs").mkdir()
        self.processes = Processes(folder / "logs")
        self.pg = None
        self.pg_pids: list[int] = []
        self.ports: dict[str, int] = {}

    # Bringing it up ---------------------------------------------------------------------------

    def up(self) -> None:
        print(f"Run folder: {self.folder}", flush=True)
        self.pg = pgcluster.Cluster(self.folder / "pg", replicas=1)
        self.pg.up()
        self.pg_pids = [server.pid() for server in (self.pg.primary, *self.pg.replicas)]
        self.ports["postgres primary"] = self.pg.primary.port
        self.ports["postgres replica"] = self.pg.replicas[0].port
        print(f"  PostgreSQL primary :{self.pg.primary.port}, replica :{self.pg.replicas[0].port}", flush=True)

        port = self.ports["redis"] = free_port()
        (self.folder / "redis").mkdir()
        redis_argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        redis_argv += ["--dir", str(self.folder / "redis"), "--daemonize", "no"]
        redis = self.processes.start("redis", redis_argv, ports=[port])
        wait_for_port(port, redis.process, "redis-server")

        port = self.ports["s3"] = free_port()
        s3 = self.processes.start("s3", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], ports=[port])
        wait_for_port(port, s3.process, "moto's S3 server")
        client = self.s3_client()
        client.create_bucket(Bucket=BUCKET)
        # Readers' browsers load media straight from the bucket (unsigned URLs): it is public-read.
        public_read = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
        client.put_bucket_policy(
            Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public_read]})
        )
        print(f"  Redis :{self.ports['redis']}, S3 (moto) :{port} bucket {BUCKET}", flush=True)

        self.ports["nginx"] = free_port()
        self.app_ports = [free_port() for _ in range(APP_SERVERS)]
        self.env = self.app_env()
        print(f"  migrate, collectstatic, seed_stories --count {STORIES} …", flush=True)
        manage(self.env, "migrate", "--noinput", "-v0")
        manage(self.env, "collectstatic", "--noinput", "-v0")
        manage(self.env, "seed_stories", "--count", str(STORIES))

        self.worker = self.processes.start(
            "worker", [PYTHON, "manage.py", "db_worker", "--no-reload"], env=self.env, cwd=ROOT
        )
        for n, port in enumerate(self.app_ports, 1):
            app = self.processes.start(
                f"app{n}",
                [PYTHON, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
                env={**self.env, "PORT": str(port)},
                cwd=ROOT,
                ports=[port],
            )
            wait_for_http(f"http://127.0.0.1:{port}/robots.txt", app, f"app server {n}")
        print(f"  gunicorn app servers :{', :'.join(map(str, self.app_ports))}; worker pid {self.worker.process.pid}")

        nginx_dir = self.folder / "nginx"
        nginx_dir.mkdir()
        conf = nginx_dir / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                (ROOT / "ops" / "nginx.conf").read_text(),
                prefix=nginx_dir,
                port=self.ports["nginx"],
                upstreams=self.app_ports,
            )
        )
        nginx = self.processes.start(
            "nginx",
            [NGINX, "-p", str(nginx_dir), "-c", str(conf), "-e", str(nginx_dir / "error.log")],
            ports=[self.ports["nginx"]],
        )
        wait_for_http(f"{self.base_url}/robots.txt", nginx, "nginx")
        print(f"  nginx {self.base_url} -> {len(self.app_ports)} app servers", flush=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    def s3_options(self) -> dict:
        return {
            "bucket_name": BUCKET,
            "endpoint_url": f"http://127.0.0.1:{self.ports['s3']}",
            "access_key": "cluster-demo",
            "secret_key": "cluster-demo",
            "region_name": "us-east-1",
        }

    def s3_client(self):
        import boto3

        options = self.s3_options()
        return boto3.client(
            "s3",
            endpoint_url=options["endpoint_url"],
            aws_access_key_id=options["access_key"],
            aws_secret_access_key=options["secret_key"],
            region_name=options["region_name"],
        )

    def app_env(self) -> dict:
        """The settings every app server, the worker and manage.py get (`make serve`'s, for
        plain HTTP on loopback: no TLS redirect, no secure-only cookies)."""
        return {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")},
            "NEWSROOM_ENV_FILE": "",  # never the checkout's development .env
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "DATABASE_URL": self.pg.primary_url,
            "DATABASE_REPLICA_URL": ",".join(self.pg.replica_urls),
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "MEDIA_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "MEDIA_STORAGE_OPTIONS": json.dumps(self.s3_options()),
            "STATIC_ROOT": str(self.folder / "static"),
            "NEWSROOM_BASE_URL": self.base_url,
            "NEWSROOM_TRUSTED_PROXIES": "1",
            "WEB_CONCURRENCY": "2",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }

    # The soak and what it left ----------------------------------------------------------------

    def soak(self) -> dict:
        report_file = self.folder / "soak.json"
        soak_env = {
            **self.env,
            "SOAK_BASE_URL": self.base_url,
            "SOAK_APP_URLS": ",".join(self.app_urls),
            "SOAK_SECONDS": str(SOAK_SECONDS),
            "SOAK_REPORT": str(report_file),
        }
        print(f"make soak: {SOAK_SECONDS} s through nginx, each publish checked on both app servers", flush=True)
        servers = {"primary": self.pg.primary_url, "replica": self.pg.replica_urls[0]}
        before = {name: transactions(url) for name, url in servers.items()}
        with ReplicaLag(self.pg.primary_url) as lag:
            # In a session of its own, as the servers are: stopped with them if the run is cut short.
            soak = self.processes.start(
                "soak", ["make", "--no-print-directory", "soak"], env=soak_env, cwd=ROOT, logged=False
            )
            soak.process.wait()
        lag.transactions = {name: transactions(url) - before[name] for name, url in servers.items()}
        if not report_file.exists():
            raise RuntimeError("make soak wrote no report (see its output above)")
        return {**json.loads(report_file.read_text()), "lag": lag}

    def drain(self, timeout: float = 180) -> float:
        """Wait until the worker has run everything queued; returns the seconds waited."""
        import psycopg

        start = time.monotonic()
        with psycopg.connect(self.pg.primary_url, autocommit=True) as connection:
            while time.monotonic() - start < timeout:
                (pending,) = connection.execute(
                    f"SELECT count(*) FROM {TASKS_TABLE} WHERE status IN ('READY', 'RUNNING')"
                ).fetchone()
                if not pending:
                    break
                time.sleep(0.5)
        return time.monotonic() - start

    def task_results(self) -> tuple[list, dict]:
        """Task results by task and status, and the queue's lag (enqueued to finished)."""
        import psycopg

        with psycopg.connect(self.pg.primary_url, autocommit=True) as connection:
            counts = connection.execute(
                f"SELECT task_path, status, count(*) FROM {TASKS_TABLE} GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()
            waits = [
                row[0]
                for row in connection.execute(
                    f"SELECT extract(epoch FROM finished_at - enqueued_at) FROM {TASKS_TABLE} "
                    "WHERE finished_at IS NOT NULL"
                )
            ]
        waits = sorted(float(w) for w in waits)
        lag = {"median_s": statistics.median(waits), "max_s": waits[-1]} if waits else {}
        return counts, lag

    def renditions(self, story: int) -> dict:
        """What the bucket holds, and whether the story's live version's renditions are in it."""
        import psycopg

        keys = set()
        for page in self.s3_client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys.update(item["Key"] for item in page.get("Contents", []))
        with psycopg.connect(self.pg.primary_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT renditions FROM articles_publication WHERE article_id = %s ORDER BY live_from", [story]
            ).fetchall()
        live = rows[-1][0] if rows else []
        return {
            "objects": len(keys),
            "rendition_objects": sum(key.startswith("renditions/") for key in keys),
            "publications": len(rows),
            "publications_with_renditions": sum(bool(r[0]) for r in rows),
            "live_listed": len(live),
            "live_missing": [r["name"] for r in live if r["name"] not in keys],
        }

    def media_on_page(self, slug: str) -> dict:
        """The story as readers get it through nginx: the media URLs it shows (the image and its
        renditions, on the S3 server) and how many of them a browser can load."""
        page = urllib.request.urlopen(f"{self.base_url}/articles/{slug}/", timeout=30).read().decode()
        endpoint = re.escape(self.s3_options()["endpoint_url"])
        urls = set(re.findall(rf"{endpoint}/[^\s\"',]+", html.unescape(page)))
        loaded = 0
        for url in urls:
            with urllib.request.urlopen(url, timeout=30) as response:
                loaded += response.status == 200 and response.headers["Content-Type"].startswith("image/")
        return {"urls": len(urls), "loaded": loaded}

    def nginx_statuses(self) -> dict:
        """Responses nginx gave, by status, and which app server answered how many."""
        statuses, servers = {}, {}
        log = self.folder / "nginx" / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            tail = line.rsplit('"', 1)[-1].split()  # status bytes request_time upstream_addr upstream_time
            statuses[tail[0]] = statuses.get(tail[0], 0) + 1
            servers[tail[3]] = servers.get(tail[3], 0) + 1
        return {"statuses": statuses, "servers": servers}

    # Stopping it ------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop everything this run started, by process id; returns whatever is left."""
        left = self.processes.stop_all()
        if self.pg is not None:
            try:
                self.pg.down()
            except pgcluster.ClusterError as error:
                left.append(f"PostgreSQL: {error}")
            for name, pid in zip(("primary", "replica"), self.pg_pids, strict=False):
                if pid and process_alive(pid):
                    left.append(f"PostgreSQL {name} (pid {pid})")
        left += [f"{name}: port {port} still listening" for name, port in self.ports.items() if listening(port)]
        return left


def report(run: Run, soak: dict, drained: float) -> bool:
    """Print the checks and figures; True when every check passed."""
    counts, queue_lag = run.task_results()
    renditions = run.renditions(soak["story"])
    media = run.media_on_page(soak["slug"])
    nginx = run.nginx_statuses()
    lag = soak["lag"]
    server_errors = sum(n for status, n in nginx["statuses"].items() if status.startswith("5"))
    notifications = {status: n for path, status, n in counts if path.endswith(".send_transition_emails")}
    rendition_tasks = {status: n for path, status, n in counts if path.endswith(".make_image_renditions")}
    failed = sum(n for _, status, n in counts if status == "FAILED")
    pending = sum(n for _, status, n in counts if status in ("READY", "RUNNING"))
    publishes = soak["publishes"]
    # A save accepted but not recorded or never published, and a final working copy other than the last edit.
    lost = max(0, soak["edits"] - publishes, soak["edits"] - soak["final"]["saves"])
    lost += soak["final"]["title"] != soak["last_title"]
    checks = [
        ("5xx responses (nginx's log)", server_errors, server_errors == 0),
        ("wrk non-2xx/3xx responses", soak["non2xx"], soak["non2xx"] == 0),
        ("editor errors (HTTP errors, dropped connections)", len(soak["errors"]), not soak["errors"]),
        (
            "lost edits",
            f"{lost} ({soak['edits']} saves accepted, {publishes} published, "
            f"final working title {soak['final']['title']!r}, last typed {soak['last_title']!r})",
            lost == 0 and publishes > 0,
        ),
        (
            "publishes visible on both app servers at once",
            f"{soak['seen_at_once']} of {publishes}",
            soak["seen_at_once"] == publishes > 0,
        ),
        (
            "notification tasks run by the worker (submit + approve each publish)",
            notifications,
            notifications.get("SUCCESSFUL", 0) >= 2 * publishes,
        ),
        (
            "rendition tasks run by the worker (one per uploaded hero image)",
            rendition_tasks,
            rendition_tasks.get("SUCCESSFUL", 0) >= soak["images"] > 0,
        ),
        (
            "readers' reads served by the replica (its transactions during the soak)",
            lag.transactions["replica"],
            lag.transactions["replica"] > 0,
        ),
        ("task results failed / still queued", f"{failed} / {pending}", failed == 0 and pending == 0),
    ]
    checks.append(
        (
            "renditions in the bucket for the live version",
            f"{renditions['live_listed']} listed, {len(renditions['live_missing'])} missing",
            renditions["live_listed"] > 0 and not renditions["live_missing"],
        )
    )
    checks.append(
        (
            "media URLs on the live story page (S3) that load",
            f"{media['loaded']} of {media['urls']}",
            media["urls"] > 1 and media["loaded"] == media["urls"],
        )
    )
    print("\nCluster demo: checks")
    for what, value, ok in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}: {value}")
    print("\nCluster demo: figures")
    print(f"  reads: {soak['requests']} requests in {soak['seconds']} s, {soak['rps']} req/s through nginx")
    latency = soak["latency"]
    print(f"  read latency: p50 {latency['50']}, p90 {latency['90']}, p99 {latency['99']}, max {soak['latency_max']}")
    print(f"  nginx responses by status: {dict(sorted(nginx['statuses'].items()))}")
    print(f"  answered by app server: {dict(sorted(nginx['servers'].items()))}")
    for step, figures in soak["steps"].items():
        print(f"  {step}: {figures['n']}x, median {figures['median_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms")
    if lag.bytes:
        print(
            f"  replica lag (sampled {len(lag.bytes)}x): WAL not replayed median {statistics.median(lag.bytes):.0f} "
            f"bytes, max {max(lag.bytes)} bytes; replay_lag max {max(lag.seconds) * 1000:.0f} ms; "
            f"streaming in {sum(lag.streaming)} of {len(lag.streaming)} samples"
        )
    else:
        print("  replica lag: no sample (no replica streaming)")
    print(
        f"  database transactions during the soak: primary {lag.transactions['primary']}, "
        f"replica {lag.transactions['replica']}"
    )
    print(f"  task results by task and status: {[(p.rsplit('.', 1)[-1], s, n) for p, s, n in counts]}")
    if queue_lag:
        print(
            f"  worker queue: enqueued to finished median {queue_lag['median_s'] * 1000:.0f} ms, "
            f"max {queue_lag['max_s'] * 1000:.0f} ms; drained {drained:.1f} s after the soak"
        )
    print(
        f"  bucket: {renditions['objects']} objects, {renditions['rendition_objects']} renditions; "
        f"{renditions['publications_with_renditions']} of {renditions['publications']} publications "
        f"list renditions; {soak['images']} hero images uploaded"
    )
    return all(ok for _, _, ok in checks)


def keep_logs(folder: Path) -> None:
    """After a failure: every server's log, copied to a folder that outlives the run's."""
    kept = Path(tempfile.mkdtemp(prefix="newsroom-cluster-logs-"))
    for log in [*folder.glob("logs/*.log"), *folder.glob("pg/*.log"), *folder.glob("nginx/*.log")]:
        shutil.copy(log, kept / f"{log.parent.name}-{log.name}")
    print(f"Logs of the failed run: {kept}", file=sys.stderr)


def _stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main() -> int:
    ensure_packages()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop_on_signal)
    folder = Path(tempfile.mkdtemp(prefix="newsroom-cluster-"))
    folder.chmod(0o755)  # the postgres OS user and nginx's workers reach their folders inside
    run = Run(folder)
    ok = False
    try:
        run.up()
        soak = run.soak()
        drained = run.drain()
        ok = report(run, soak, drained)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping everything started.", flush=True)
    except Exception as error:
        print(f"\nerror: {error}", file=sys.stderr, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        left = run.down()
        if left:
            print("NOT STOPPED: " + "; ".join(left), file=sys.stderr)
            ok = False
        else:
            print("\nStopped everything started (by process id); no process or port of the run is left.")
        if not ok:
            keep_logs(folder)
        shutil.rmtree(folder, ignore_errors=True)
    print("CLUSTER DEMO:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
