"""Races with real threads and connections: exactly one approval, no lost edit.

These run on PostgreSQL, where row locks are real (`.ci/run` runs the suite there); on
SQLite they are skipped.
"""

import threading

import pytest
from django.db import connection, connections, transaction

from articles import workflow
from articles.models import Article, Transition
from tests.factories import make_article, make_user

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-locking races need PostgreSQL (set DATABASE_URL)")


def race(*jobs):
    """Start the jobs together in threads; return what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as error:  # noqa: BLE001 - the race's loser is the point
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_moderators_approving_at_once_publish_once():
    author = make_user("Editors")
    moderators = [make_user("Moderators"), make_user("Moderators")]
    article = make_article(published=False)
    workflow.article_saved(article=article, user=author)
    workflow.article_submit(article=article, user=author)

    def approve(user):
        return lambda: workflow.article_approve(article=Article.objects.get(pk=article.pk), user=user)

    results = race(*(approve(user) for user in moderators))
    assert sum(isinstance(r, Transition) for r in results) == 1
    assert sum(isinstance(r, workflow.TransitionNotAllowed) for r in results) == 1
    assert Transition.objects.filter(article=article, action="approve").count() == 1
    assert article.revisions.filter(kind="approval").count() == 1


def test_two_editors_saving_the_same_version_lose_no_edit():
    editors = [make_user("Editors"), make_user("Editors")]
    article = make_article(published=False)
    opened = article.version

    def save(user, title):
        def job():
            with transaction.atomic():
                workflow.check_version(article, opened)  # what the admin form's clean() does
                Article.objects.filter(pk=article.pk).update(title=title)
                workflow.article_saved(article=Article.objects.get(pk=article.pk), user=user)
            return title

        return job

    results = race(save(editors[0], "Title From One"), save(editors[1], "Title From Two"))
    saved = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, workflow.EditConflict)]
    assert len(saved) == 1 and len(refused) == 1
    assert Article.objects.get(pk=article.pk).title == saved[0]
