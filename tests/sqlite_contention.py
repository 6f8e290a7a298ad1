"""Two people save at the same moment through the admin, on a SQLite file, in two threads.

Run by tests/test_bad_requests.py in a process of its own (the test suite's SQLite database
is in memory, where locking works differently):

    python -m tests.sqlite_contention DB [--migrate] [--timeout S] [--stories 1|2] [--approve]

Prints one JSON line: each request's status and what its page said, and the story's title.
Each transaction holds its reads for a moment (a slow save), so the two always overlap.
"""

import argparse
import json
import os
import re
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--migrate", action="store_true")
    parser.add_argument("--timeout", type=float, help="SQLite's busy timeout, in seconds")
    parser.add_argument("--stories", type=int, default=1, help="1: both save one story; 2: one each")
    parser.add_argument("--approve", action="store_true", help="two moderators approve one story instead")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings_test")
    import django
    from django.conf import settings

    django.setup()
    if args.timeout is not None:
        settings.DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = args.timeout
    from django.core.management import call_command
    from django.db import connections

    try:
        if args.migrate:
            call_command("migrate", verbosity=0)
        else:
            print(json.dumps(race(args)))
    finally:
        connections.close_all()  # checkpoints the WAL into the file, which is then copied


def race(args) -> dict:
    from django.db import connections
    from django.test import Client
    from django.test.utils import setup_test_environment

    from articles import workflow
    from articles.models import Article
    from tests.factories import make_article, make_user
    from tests.formdata import form_fields

    setup_test_environment()
    barrier = threading.Barrier(2)

    def slowly(function):
        def wrapper(*a, **kw):
            result = function(*a, **kw)
            time.sleep(0.5)  # a slow save: the other request arrives while this one holds its reads
            return result

        return wrapper

    if args.approve:
        author = make_user("Editors")
        article = make_article(published=False, created_by=author)
        workflow.article_saved(article=article, user=author)
        workflow.article_submit(article=article, user=author)
        workflow._locked = slowly(workflow._locked)
        jobs = []
        for _ in range(2):
            client = Client(raise_request_exception=False)
            client.force_login(make_user("Moderators"))
            jobs.append((client, f"/admin/articles/article/{article.pk}/transition/approve/", {}))
        stories = [article]
    else:
        stories = [make_article(published=False) for _ in range(args.stories)]
        jobs = []
        for n in range(2):
            story = stories[n % len(stories)]
            client = Client(raise_request_exception=False)
            client.force_login(make_user("Editors"))
            url = f"/admin/articles/article/{story.pk}/change/"
            data = form_fields(client.get(url).content.decode(), "article_form")
            data["title"] = f"Title Saved By Editor {n + 1}"
            jobs.append((client, url, data))
        workflow.check_version = slowly(workflow.check_version)
    connections.close_all()

    results = [None, None]

    def run(n, client, url, data):
        try:
            barrier.wait()
            response = client.post(url, data, follow=True)
            first = response.redirect_chain[0][1] if response.redirect_chain else response.status_code
            results[n] = {"status": first, "page": response.content.decode()}
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, *job)) for n, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return {
        "statuses": [r["status"] if r else None for r in results],
        "refusal": [_refusal(r["page"]) if r else "" for r in results],
        "busy": [bool(r) and "Nothing was saved: the database was busy" in r["page"] for r in results],
        "titles": [Article.objects.get(pk=story.pk).title for story in stories],
        "status": [Article.objects.get(pk=story.pk).status for story in stories],
    }


def _refusal(page: str) -> str:
    """The first error a form shows, as text ("" for none)."""
    found = re.search(r'<ul class="errorlist[^"]*"[^>]*>\s*<li>(.*?)</li>', page, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


if __name__ == "__main__":
    main()
