"""Figures for read replicas (docs/caching.md): the cost of the replay check, the replica lag seen
after a publish, and how many pages fell back to the primary meanwhile.

Makes its own primary and streaming replica (ops/pgcluster.py, no replay delay unless
--apply-delay), migrates and seeds it, then in this process (Django's test client, the whole
middleware stack, the page cache in process memory):
- times each query a miss adds or moves (the replica's generation, the state on either side,
  and `pg_last_wal_replay_lsn()` for comparison), median of 2,000;
- moves the publication generation --publishes times (as a publish does) and times the lag from
  its commit until the replica's generation has it;
- does it again, each time requesting the front page and a story at once and then every 20 ms
  until the replica has it, with the page cache on and off, counting pages built from the
  replica, from the primary, and cache hits.

    .venv/bin/python bench/replicas.py [--stories 200] [--publishes 20] [--apply-delay 0]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops.pgcluster import Cluster, temporary_root  # noqa: E402


def median_ms(call, rounds: int = 2000) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--apply-delay", type=float, default=0)
    args = parser.parse_args()
    root = temporary_root("newsroom-bench-replicas-")
    try:
        with Cluster(root / "pg", apply_delay=args.apply_delay) as cluster:
            env = {**os.environ, "DATABASE_URL": cluster.primary_url, "SECRET_KEY": "bench", "NEWSROOM_ENV_FILE": ""}
            env |= {"DB_POOL": "0", "REDIS_URL": "", "LOG_LEVEL": "WARNING", "DEBUG": "0"}
            for command in (["migrate", "-v0"], ["seed_stories", "--count", str(args.stories), "--seed", "1"]):
                subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
            os.environ.update(env | {"DATABASE_REPLICA_URL": cluster.replica_urls[0], "ALLOWED_HOSTS": "testserver"})
            os.environ.update({"SECURE_SSL_REDIRECT": "0", "CONN_MAX_AGE": "600"})
            measure(args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(args) -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "newsroom.settings_test"  # static files unhashed
    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from articles import replica_reads
    from articles.caching import generation, state
    from articles.models import Publication

    while generation("replica1") != generation():  # the seed replayed
        time.sleep(0.05)
    now = timezone.now()
    lsn = connections["replica1"].cursor()
    print("Per query, median of 2,000 (ms), Django cursor, loopback:")
    print(f"  replica's generation (the check without a shared cache): {median_ms(lambda: generation('replica1')):.3f}")
    print(f"  primary's generation (a hit without a shared cache):     {median_ms(lambda: generation()):.3f}")
    print(f"  state on the primary (every miss, before and after):     {median_ms(lambda: state(now)):.3f}")
    print(f"  state on the replica (a miss with the shared cache):     {median_ms(lambda: state(now, 'replica1')):.3f}")
    print(
        "  pg_last_wal_replay_lsn() (the WAL alternative):         "
        f"{median_ms(lambda: lsn.execute('SELECT pg_last_wal_replay_lsn()')):.3f}"
    )

    lags = []
    for _ in range(args.publishes):
        target = publish()
        committed = time.perf_counter()
        while generation("replica1") < target:
            pass
        lags.append((time.perf_counter() - committed) * 1000)
    print(f"\nReplica lag, commit to replayed, {args.publishes} publishes, apply delay {args.apply_delay} s (ms):")
    print(f"  median {statistics.median(lags):.1f}, max {max(lags):.1f}")

    built = {"replica1": 0, "default": 0}
    choose = replica_reads.choose

    def counted(*a, **kw):
        source = choose(*a, **kw)
        built[source.alias] += 1
        return source

    replica_reads.choose = counted
    client = Client()
    slug = Publication.objects.current().values_list("slug", flat=True).first()
    for cache_seconds in (300, 0):
        settings.NEWSROOM_PAGE_CACHE_SECONDS = cache_seconds
        built.update(replica1=0, default=0)
        requests = 0
        for _ in range(args.publishes):
            target = publish()
            while True:
                for path in ("/", f"/articles/{slug}/"):
                    assert client.get(path).status_code == 200
                    requests += 1
                if generation("replica1") >= target:
                    break
                time.sleep(0.02)
        print(
            f"\nPage cache {'on' if cache_seconds else 'off'}: front page and a story every 20 ms after each publish "
            f"until the replica had it: {requests} requests, built from the replica {built['replica1']}, "
            f"from the primary (replica behind) {built['default']}, cache hits {requests - sum(built.values())}"
        )


def publish() -> int:
    """Move the generation as a publish does (its content aside); the new generation."""
    from django.db import transaction

    from articles.caching import generation
    from articles.publications import generation_move

    with transaction.atomic():
        generation_move()
    return generation()


if __name__ == "__main__":
    main()
