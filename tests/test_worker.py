"""The task worker (issue 16): with django-tasks-db's database backend the workflow e-mails
and hero image renditions are queued, not done in the editor's request; `db_worker` does
them; failures are tried again with a doubling delay up to a limit, and staff see each task,
its attempts and its error in the admin; approval waits for the renditions. The immediate
backend (the default) still does everything at once."""

import os
import re
import smtplib
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import timedelta
from io import BytesIO, StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from articles import notifications, workflow
from articles.models import Article, ImageRenditions, Publication
from tests import test_story_form as story_form
from tests.factories import make_article, make_user, story_text
from tests.test_cross_process import ROOT, copy_test_database, manage

pytestmark = pytest.mark.django_db

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
EMAILS = "articles.notifications.send_transition_emails"
RENDITIONS = "articles.images.make_image_renditions"


class RefusingMailBackend(BaseEmailBackend):
    """A mail server that hangs up on every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed by the test server")


@pytest.fixture
def queued(settings):
    """The database task backend, as TASKS_BACKEND=django_tasks_db.DatabaseBackend sets it."""
    settings.TASKS = DATABASE_BACKEND
    settings.NEWSROOM_TASK_ATTEMPTS = 3
    settings.NEWSROOM_TASK_RETRY_SECONDS = 30
    return settings


@pytest.fixture(autouse=True)
def worker_keeps_the_test_connection(monkeypatch):
    """The worker run in this process (run_worker) checks its database connection between
    tasks and closes one that is in a transaction: here that is the test's own, which must
    stay open (the worker's own process is tested at the end of this file)."""
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)


@pytest.fixture
def people():
    return {"author": make_user("Editors", username="author"), "moderator": make_user("Moderators")}


def run_worker() -> str:
    """`manage.py db_worker --batch`: run every task that is due, then stop."""
    out = StringIO()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0", stdout=out)
    return out.getvalue()


def tasks(path: str):
    return DBTaskResult.objects.filter(task_path=path).order_by("enqueued_at")


def jpeg(size=(1200, 600)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def saved_with_image(article: Article, user, content: bytes, capture) -> Article:
    """Give the working copy a hero image and record the save as an editor does (the save's
    commit asks for the renditions)."""
    article.image.save("hero.jpg", ContentFile(content), save=False)
    article.image_alt = "A blue test card"
    article.save()
    with capture(execute=True):
        workflow.article_saved(article=article, user=user)
    return article


def rendition_files() -> list[str]:
    folders, _ = default_storage.listdir("renditions") if default_storage.exists("renditions") else ([], [])
    return folders


# E-mails


def test_a_submission_queues_its_emails_and_sends_none(queued, people, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=people["author"])
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=people["author"])
    assert mail.outbox == []
    [queued_task] = tasks(EMAILS)
    assert queued_task.status == TaskResultStatus.READY
    assert queued_task.args_kwargs["args"] == [article.transitions.get(action="submit").pk]


def test_the_worker_sends_the_queued_emails(queued, people, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=people["author"])
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=people["author"])
    run_worker()
    assert [m.to for m in mail.outbox] == [[people["moderator"].email]]
    assert mail.outbox[0].subject == f"[Review] {article.title}"
    [done] = tasks(EMAILS)
    assert done.status == TaskResultStatus.SUCCESSFUL and done.return_value == 1


def test_emails_for_a_story_deleted_before_the_worker_came_are_dropped_quietly(
    queued, people, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=people["author"])
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=people["author"])
    article.delete()
    run_worker()
    [done] = tasks(EMAILS)
    assert done.status == TaskResultStatus.SUCCESSFUL and done.return_value == 0
    assert mail.outbox == []


def test_the_emails_task_is_queued_in_the_transitions_own_transaction(queued, people):
    """Queued before the commit, in the same transaction: no crash between the two loses it."""
    article = make_article(published=False, created_by=people["author"])
    with transaction.atomic():
        workflow.article_submit(article=article, user=people["author"])
        [queued_task] = tasks(EMAILS)  # already there, before any commit (none happens in this test)
    assert queued_task.args_kwargs["args"] == [article.transitions.get(action="submit").pk]


def test_a_transition_rolled_back_leaves_no_emails_queued(queued, people):
    article = make_article(published=False, created_by=people["author"])
    with pytest.raises(RuntimeError), transaction.atomic():
        workflow.article_submit(article=article, user=people["author"])
        raise RuntimeError("the caller's transaction fails after the step")
    assert not tasks(EMAILS) and not article.transitions.exists()


def test_a_queue_that_fails_leaves_the_transition_done(queued, people, monkeypatch, caplog):
    article = make_article(published=False, created_by=people["author"])

    def broken_queue(*args, **kwargs):
        DBTaskResult.objects.create()  # fails half-way through a write, as a real queue might
        raise AssertionError("not reached")

    monkeypatch.setattr(type(notifications.send_transition_emails), "enqueue", broken_queue)
    workflow.article_submit(article=article, user=people["author"])
    article.refresh_from_db()
    assert article.status == "in_review" and article.transitions.filter(action="submit").exists()
    assert "could not be queued" in caplog.text and not tasks(EMAILS)


# Retries with back-off, visible in the admin


@pytest.fixture
def refused_mail(queued, people, django_capture_on_commit_callbacks):
    """A submission whose e-mail the mail server refuses; the clock stands still."""
    queued.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingMailBackend"}}
    article = make_article(published=False, created_by=people["author"])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            workflow.article_submit(article=article, user=people["author"])
        yield clock


def test_a_failing_task_is_tried_again_with_a_doubling_delay_up_to_the_limit(refused_mail):
    clock = refused_mail
    delays, attempts = [], []
    for _ in range(3):
        started = timezone.now()
        run_worker()
        task = tasks(EMAILS).get()
        attempts.append(len(task.worker_ids))
        if task.status == TaskResultStatus.READY:  # put back, to run later
            delays.append(task.run_after - started)
            run_worker()  # not yet due: nothing runs
            assert len(tasks(EMAILS).get().worker_ids) == attempts[-1]
            clock.move_to(task.run_after)
    assert attempts == [1, 2, 3]
    assert delays == [timedelta(seconds=30), timedelta(seconds=60)]
    task = tasks(EMAILS).get()
    assert task.status == TaskResultStatus.FAILED  # the third was the last
    assert task.exception_class_path == "smtplib.SMTPServerDisconnected"
    run_worker()
    assert len(tasks(EMAILS).get().worker_ids) == 3
    assert mail.outbox == []


def test_a_task_that_succeeds_on_a_later_attempt_is_done_and_its_error_cleared(queued, refused_mail, people):
    clock = refused_mail
    run_worker()
    queued.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    clock.move_to(tasks(EMAILS).get().run_after)
    run_worker()
    task = tasks(EMAILS).get()
    assert task.status == TaskResultStatus.SUCCESSFUL and len(task.worker_ids) == 2 and task.traceback == ""
    assert [m.to for m in mail.outbox] == [[people["moderator"].email]]


def test_staff_see_the_task_its_error_and_attempts_in_the_admin(client, refused_mail):
    clock = refused_mail
    run_worker()
    clock.move_to(tasks(EMAILS).get().run_after)
    run_worker()
    task = tasks(EMAILS).get()
    client.force_login(make_user("superuser"))
    listing = client.get("/admin/django_tasks_database/dbtaskresult/")
    assert listing.status_code == 200
    row = next(line for line in listing.content.decode().split("<tr") if "send_transition_emails" in line)
    assert '<td class="field-attempts">2</td>' in row
    assert "SMTPServerDisconnected: Connection unexpectedly closed by the test server" in row
    detail = client.get(f"/admin/django_tasks_database/dbtaskresult/{task.pk}/change/").content.decode()
    assert "articles.notifications.send_transition_emails" in detail
    assert "SMTPServerDisconnected: Connection unexpectedly closed by the test server" in detail
    assert '<div class="readonly">2</div>' in detail  # attempts


def test_moderators_may_see_the_task_results_and_editors_may_not(client, refused_mail):
    run_worker()
    client.force_login(make_user("Moderators"))
    page = client.get("/admin/django_tasks_database/dbtaskresult/")
    assert page.status_code == 200 and "SMTPServerDisconnected" in page.content.decode()
    client.force_login(make_user("Editors"))
    assert client.get("/admin/django_tasks_database/dbtaskresult/").status_code == 403


# Renditions: made by the worker; approval waits for them


def state(article: Article) -> tuple:
    return (
        Article.objects.get(pk=article.pk).status,
        article.revisions.count(),
        article.transitions.count(),
        Publication.objects.filter(article=article).count(),
    )


def test_saving_a_story_with_an_image_queues_its_renditions(queued, people, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    [queued_task] = tasks(RENDITIONS)
    assert queued_task.args_kwargs["args"] == [article.image.name]
    assert rendition_files() == []
    assert ImageRenditions.objects.get(image=article.image.name).renditions is None


def test_approval_is_refused_while_the_renditions_are_being_made_and_works_once_the_worker_ran(
    queued, people, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    before = state(article)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(workflow.RenditionsPending) as refused:
            workflow.article_approve(article=article, user=people["moderator"], direct=True)
    assert refused.value.message == "The hero image's renditions are still being made; approve again in a moment."
    assert state(article) == before
    assert tasks(RENDITIONS).count() == 1  # the queued task is not asked for twice
    assert not tasks(EMAILS).exists()

    run_worker()
    made = ImageRenditions.objects.get(image=article.image.name).renditions
    assert {(r["width"], r["format"]) for r in made} == {
        (w, f) for w in (480, 960, 1200) for f in ("image/webp", "image/jpeg")
    }
    assert all(default_storage.exists(r["name"]) for r in made)
    workflow.article_approve(article=article, user=people["moderator"], direct=True)
    assert Publication.objects.current().get(article=article).renditions == made


def test_a_scheduled_approval_and_the_command_line_are_refused_too(queued, people, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    workflow.article_submit(article=article, user=people["author"])
    before = state(article)
    later = timezone.now() + timedelta(days=1)
    with pytest.raises(workflow.RenditionsPending):
        workflow.article_approve(article=article, user=people["moderator"], go_live_at=later)
    moderator = people["moderator"].username
    with pytest.raises(CommandError, match="renditions are still being made"):
        call_command("workflow", article.slug, "approve", "--user", moderator, stdout=StringIO())
    assert state(article) == before


def test_approval_in_the_admin_says_the_renditions_are_being_made(
    client, queued, people, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    workflow.article_submit(article=article, user=people["author"])
    client.force_login(people["moderator"])
    response = client.post(f"/admin/articles/article/{article.pk}/transition/approve/", {})
    assert response.status_code == 200
    assert "The hero image&#x27;s renditions are still being made; approve again in a moment." in (
        response.content.decode()
    )
    assert Article.objects.get(pk=article.pk).status == Article.Status.IN_REVIEW


def test_failed_renditions_are_named_in_the_refusal_and_asked_for_again_once_given_up(
    queued, people, django_capture_on_commit_callbacks
):
    queued.NEWSROOM_TASK_ATTEMPTS = 1
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], b"not a picture at all", django_capture_on_commit_callbacks)
    run_worker()
    [given_up] = tasks(RENDITIONS)
    assert given_up.status == TaskResultStatus.FAILED
    before = state(article)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(workflow.RenditionsPending) as refused:
            workflow.article_approve(article=article, user=people["moderator"], direct=True)
    assert "The hero image's renditions could not be made (UnidentifiedImageError:" in refused.value.message
    assert "This file is not a JPEG, PNG, WebP or GIF image." in refused.value.message
    assert state(article) == before
    assert [t.status for t in tasks(RENDITIONS)] == [TaskResultStatus.FAILED, TaskResultStatus.READY]


def change_page_note(client, article) -> str:
    page = client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    found = re.search(r'<div class="review-comment renditions-pending"[^>]*>(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def test_the_change_page_says_approval_waits_for_the_renditions_until_the_worker_made_them(
    client, queued, people, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    workflow.article_submit(article=article, user=people["author"])
    client.force_login(people["moderator"])
    assert "still being made by the task worker; approval waits for them" in change_page_note(client, article)
    run_worker()
    assert change_page_note(client, article) == ""


def test_the_change_page_names_why_the_renditions_failed(client, queued, people, django_capture_on_commit_callbacks):
    queued.NEWSROOM_TASK_ATTEMPTS = 1
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], b"not a picture at all", django_capture_on_commit_callbacks)
    run_worker()
    workflow.article_submit(article=article, user=people["author"])
    client.force_login(people["moderator"])
    note = change_page_note(client, article)
    assert "could not be made (UnidentifiedImageError:" in note and "being tried again" in note


def test_with_tasks_run_at_once_the_change_page_has_no_renditions_note(client, people):
    article = make_article(published=False, created_by=people["author"])
    article.image.save("hero.jpg", ContentFile(jpeg()))  # no renditions made or asked for
    workflow.article_submit(article=article, user=people["author"])
    client.force_login(people["moderator"])
    assert change_page_note(client, article) == ""  # approval would make them there and then


# The immediate backend (the default): everything at once, no worker


def test_the_immediate_backend_sends_and_makes_everything_at_once(people, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=people["author"])
    saved_with_image(article, people["author"], jpeg(), django_capture_on_commit_callbacks)
    made = ImageRenditions.objects.get(image=article.image.name).renditions
    assert made and all(default_storage.exists(r["name"]) for r in made)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=people["author"])
    assert [m.to for m in mail.outbox] == [[people["moderator"].email]]
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_approve(article=article, user=people["moderator"])
    assert Publication.objects.current().get(article=article).renditions == made
    assert "[Approved]" in mail.outbox[-1].subject
    assert not DBTaskResult.objects.exists()


def test_the_immediate_backend_makes_renditions_at_approval_when_nothing_asked_for_them(people):
    article = make_article(published=False, created_by=people["author"])
    article.image.save("hero.jpg", ContentFile(jpeg()), save=False)  # no save recorded: no request
    article.image_alt = "A blue test card"
    article.save()
    workflow.article_approve(article=article, user=people["moderator"], direct=True)
    renditions = Publication.objects.current().get(article=article).renditions
    assert len(renditions) == 6 and all(default_storage.exists(r["name"]) for r in renditions)
    assert ImageRenditions.objects.get(image=article.image.name).renditions == renditions


def test_import_story_publish_is_refused_while_the_renditions_are_being_made(
    queued, people, tmp_path, django_capture_on_commit_callbacks
):
    queued.NEWSROOM_FOUR_EYES = False  # one person imports and publishes
    story = tmp_path / "tidal.txt"
    story.write_text(story_text(), encoding="utf-8")
    call_command("import_story", str(story), "--user", "author", stdout=StringIO())
    article = Article.objects.get()
    saved_with_image(article, people["moderator"], jpeg(), django_capture_on_commit_callbacks)
    before = state(article)
    err, moderator = StringIO(), people["moderator"].username
    with pytest.raises(CommandError):
        call_command("import_story", str(story), "--user", moderator, "--publish", stdout=StringIO(), stderr=err)
    assert "The hero image's renditions are still being made; approve again in a moment." in err.getvalue()
    assert state(article) == before


# load_demo's transaction really commits (its e-mails are queued, or not, as it ends).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_demo_loads_live_with_renditions_and_leaves_nothing_for_a_worker(queued):
    queued.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    live = list(Publication.objects.current())
    assert live and all(len(publication.renditions) == 6 for publication in live)
    assert not DBTaskResult.objects.exists()  # not even its own e-mails, to be sent later


# Migration 0024: renditions already made are recorded; Moderators may see task results


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_records_the_renditions_published_versions_already_have(people):
    article = make_article(published=False, created_by=people["author"])
    article.image.save("hero.jpg", ContentFile(jpeg()), save=False)
    article.image_alt = "A blue test card"
    article.save()
    workflow.article_approve(article=article, user=people["moderator"], direct=True)  # made here (immediate)
    published = Publication.objects.get(article=article).renditions
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("articles", "0023_publication_slug_index")])
        executor.loader.build_graph()
        executor.migrate([("articles", "0024_image_renditions")])
        assert list(ImageRenditions.objects.values_list("image", "renditions")) == [(article.image.name, published)]
        assert Group.objects.get(name="Moderators").permissions.filter(codename="view_dbtaskresult").exists()
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


# The worker as its own process, on a file database, as `make worker` runs it

SEED = """
from django.core.files.base import ContentFile
from articles import notifications, workflow
from tests import test_story_form as story_form
from tests.factories import make_article, make_user, story_text
from tests.test_cross_process import ROOT, copy_test_database, manage
from tests.test_worker import jpeg
author, moderator = make_user("Editors", username="author"), make_user("Moderators", username="moderator")
article = make_article(title="Kelp Forest Story", slug="kelp", published=False, created_by=author)
article.image.save("kelp.jpg", ContentFile(jpeg()), save=False)
article.image_alt = "Kelp"
article.save()
workflow.article_saved(article=article, user=author)  # commits: the renditions are queued
workflow.article_submit(article=article, user=author)  # and the moderators' e-mail
"""


@pytest.fixture(scope="module")
def file_database(tmp_path_factory, django_db_setup, django_db_blocker):
    """A migrated file SQLite database (a copy of the test database, before any test's
    transaction opens) and the environment for processes on it."""
    folder = tmp_path_factory.mktemp("worker")
    database = folder / "newsroom.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
        "DJANGO_SETTINGS_MODULE": "newsroom.settings_test",
        "DATABASE_URL": f"sqlite:///{database}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "MEDIA_ROOT": str(folder / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    if not copy_test_database(django_db_blocker, database):
        manage(env, "migrate", "--noinput", "-v0")
    return database, env


@pytest.mark.slow
def test_the_worker_process_makes_the_renditions_and_sends_the_emails_the_app_queued(file_database):
    database, env = file_database
    media = Path(env["MEDIA_ROOT"])
    manage(env, "shell", "-c", SEED)
    assert queue(database) == [(RENDITIONS, "READY"), (EMAILS, "READY")]

    refused = subprocess.run(
        [sys.executable, "manage.py", "workflow", "kelp", "approve", "--user", "moderator"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "The hero image's renditions are still being made; approve again in a moment." in refused.stderr

    worker = manage(env, "db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert "Subject: [Review] Kelp Forest Story" in worker.stdout
    assert queue(database) == [(RENDITIONS, "SUCCESSFUL"), (EMAILS, "SUCCESSFUL")]
    assert len(list((media / "renditions").rglob("kelp-*w.webp"))) == 3

    approved = manage(env, "workflow", "kelp", "approve", "--user", "moderator")
    assert "published" in approved.stdout
    worker = manage(env, "db_worker", "--batch", "--no-startup-delay", "--no-reload")
    assert "Subject: [Approved] Kelp Forest Story" in worker.stdout


def queue(database) -> list[tuple[str, str]]:
    """The task results in the file database: (task, status), sorted."""
    with closing(sqlite3.connect(database)) as db:
        return sorted(db.execute("SELECT task_path, status FROM django_tasks_database_dbtaskresult").fetchall())


def test_an_image_uploaded_in_the_story_form_gets_its_renditions_from_the_worker(
    client, queued, people, django_capture_on_commit_callbacks
):
    """Through the admin: a refused try keeps the upload; the next save stores it, and the
    worker makes its renditions and removes the kept copy, neither in the editor's request."""
    article = make_article(published=False, created_by=people["author"])
    client.force_login(people["author"])
    page, data = story_form.refused_with_upload(client, article)
    data.update({"title": "Kelp Forests Return", "image_alt": "Kelp in the bay"})
    data["image-pending"] = re.search(r'name="image-pending" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert story_form.post(client, article, data).status_code == 302
    article.refresh_from_db()
    assert sorted(DBTaskResult.objects.values_list("task_path", flat=True)) == [
        RENDITIONS,
        "articles.uploads.discard_pending",
    ]
    assert len(story_form.pending_files()) == 1 and rendition_files() == []
    run_worker()
    assert story_form.pending_files() == []
    made = ImageRenditions.objects.get(image=article.image.name).renditions
    assert made and all(default_storage.exists(r["name"]) for r in made)
