"""Figures for the dashboard's indexes on workflow steps (Transition: action+at, article+action+at).

Makes its own PostgreSQL database, migrates it, makes --stories stories and --steps workflow
steps spread over two years (as a newsroom's history grows), then times the whole dashboard
(`articles.dashboard.dashboard_for`, every query it runs) for a moderator, median of --rounds,
with the two indexes and again without them. Drops its database at the end.

    .venv/bin/python bench/dashboard.py [--stories 2000] [--steps 400000] [--rounds 20]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
NAME = "newsroom_bench_dashboard"
INDEXES = ("transition_action_at", "transition_article_action_at")


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER.replace('postgres://', 'postgresql://')}/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {NAME}")
        db.execute(f"CREATE DATABASE {NAME}")


def drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{SERVER.replace('postgres://', 'postgresql://')}/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {NAME}")


def seed(stories: int, steps: int) -> None:
    from django.db import connection

    from tests.factories import make_article, make_user

    make_user("Moderators", username="bench-moderator")
    editor = make_user("Editors", username="bench-editor")
    first = make_article(published=False, parts=False, created_by=editor)
    with connection.cursor() as cursor:
        # The other stories: copies of the first's row under new titles and slugs.
        unique = ("id", "title", "slug", "original_url")
        columns = [f.column for f in first._meta.concrete_fields if f.column not in unique]
        listed = ", ".join(columns)
        cursor.execute(
            f"INSERT INTO articles_article (title, slug, original_url, {listed}) "
            f"SELECT 'Bench story ' || n, 'bench-story-' || n, 'https://wire.example/bench/' || n, {listed} "
            f"FROM articles_article, generate_series(2, %s) AS n WHERE id = %s",
            [stories, first.pk],
        )
        cursor.execute(
            "INSERT INTO articles_transition (article_id, action, from_status, to_status, user_id, at, comment) "
            "SELECT first.id + n %% %s, "
            "(ARRAY['submit','approve','request-changes','unpublish','reopen'])[1 + n %% 5], "
            "'draft', 'in_review', %s, now() - (n %% 730) * interval '1 day' - (n %% 1440) * interval '1 minute', '' "
            "FROM generate_series(1, %s) AS n, (SELECT min(id) AS id FROM articles_article) AS first",
            [stories, editor.pk, steps],
        )
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()

    os.environ.update(
        {"DATABASE_URL": f"{SERVER}/{NAME}", "DEBUG": "1", "NEWSROOM_ENV_FILE": "", "DB_POOL": "0", "REDIS_URL": ""}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings")
    recreate_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from articles.dashboard import dashboard_for
    from bench.replicas import median_ms

    try:
        call_command("migrate", "--noinput", verbosity=0)
        started = time.perf_counter()
        seed(options.stories, options.steps)
        took = time.perf_counter() - started
        print(f"seeded {options.stories} stories and {options.steps} workflow steps in {took:.1f} s")
        moderator = get_user_model().objects.get(username="bench-moderator")
        dashboard_for(moderator)  # warm: connections, cached lookups
        with_indexes = median_ms(lambda: dashboard_for(moderator), options.rounds)
        with connection.cursor() as cursor:
            for name in INDEXES:
                cursor.execute(f"DROP INDEX {name}")
            cursor.execute("ANALYZE articles_transition")
        without = median_ms(lambda: dashboard_for(moderator), options.rounds)
        print(f"dashboard for a moderator, median of {options.rounds}:")
        print(f"  with the indexes on (action, at) and (article, action, at): {with_indexes:8.1f} ms")
        print(f"  without them:                                              {without:8.1f} ms")
    finally:
        drop_database()


if __name__ == "__main__":
    main()
