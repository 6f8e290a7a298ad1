"""Bad requests end in a 4xx a person can act on, never a 500 (issue 13, item 10): huge page
numbers, non-numeric story ids in the admin's addresses, control characters in one-line
fields, failed notification e-mails, over-large forms and SQLite write contention."""

import json
import os
import shutil
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.tasks.backends.base import BaseTaskBackend
from django.utils import timezone

from articles import workflow
from articles.models import Article, Publication
from articles.storyformat import StoryFormatError, parse
from tests.factories import make_article, make_desk, make_user, story_text
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past any database's 64-bit OFFSET


# a. Huge page numbers ---------------------------------------------------------------------


@pytest.fixture
def listed():
    """One live story on a desk, with a tag, published this month."""
    return make_article(title="Harbour Story Listed", tags=["harbour"], desk=make_desk(slug="harbour-desk"))


def list_addresses(article) -> list[str]:
    month = timezone.localtime(Publication.objects.current().get(article=article).published_at)
    return ["/", "/desks/harbour-desk/", "/tags/harbour/", f"/archive/{month:%Y}/{month.month}/", "/search/?q=harbour"]


@pytest.mark.parametrize("page", [HUGE, "9223372036854775807", "100000000"])
def test_a_huge_page_number_is_not_found_on_every_list(client, listed, page):
    for address in list_addresses(listed):
        joiner = "&" if "?" in address else "?"
        response = client.get(f"{address}{joiner}page={page}")
        assert response.status_code == 404, (address, response.status_code)


def test_the_first_page_of_every_list_still_shows(client, listed):
    for address in list_addresses(listed):
        response = client.get(address)
        assert response.status_code == 200 and "Harbour Story Listed" in response.content.decode(), address


@pytest.mark.parametrize("page", [HUGE, "9223372036854775807", "100000000"])
def test_a_huge_api_page_number_is_a_json_error(client, listed, page):
    response = client.get(f"/api/articles/?page={page}")
    assert response.status_code == 404
    assert "past the last page" in response.json()["error"]


def test_a_huge_api_page_size_is_clamped(client, listed):
    response = client.get(f"/api/articles/?page_size={HUGE}")
    assert response.status_code == 200 and response.json()["page_size"] == 100


# b. Non-numeric and huge ids in the admin's story addresses --------------------------------

ADMIN_PATHS = [
    ("get", "preview/"),
    ("post", "share/"),
    ("get", "transition/approve/"),
    ("post", "transition/approve/"),
    ("get", "revisions/1/"),
    ("post", "revisions/1/restore/"),
    ("get", "history/"),
]


@pytest.fixture(params=["Moderators", "superuser"])
def staff(request, client):
    user = make_user(request.param)
    client.force_login(user)
    return user


@pytest.mark.parametrize("object_id", ["abc", "1x", "-1", "1.5", "%20", HUGE, "1/2"])
@pytest.mark.parametrize(("method", "suffix"), ADMIN_PATHS)
def test_a_story_address_with_a_bad_id_is_not_found(client, staff, object_id, method, suffix):
    response = getattr(client, method)(f"/admin/articles/article/{object_id}/{suffix}")
    assert response.status_code == 404, response.status_code


def test_a_revision_number_past_any_integer_is_not_found(client, staff):
    article = make_article()
    for method, suffix in (("get", f"revisions/{HUGE}/"), ("post", f"revisions/{HUGE}/restore/")):
        response = getattr(client, method)(f"/admin/articles/article/{article.pk}/{suffix}")
        assert response.status_code == 404, suffix


@pytest.mark.parametrize("object_id", ["abc", "-1", HUGE])
@pytest.mark.parametrize("suffix", ["change/", "delete/", ""])
def test_the_admin_own_pages_with_a_bad_id_say_the_story_does_not_exist(client, staff, object_id, suffix):
    """The change and delete pages keep the admin's own answer for an unknown id: back to the
    admin's index, saying the story does not exist."""
    response = client.get(f"/admin/articles/article/{object_id}/{suffix}", follow=True)
    assert response.status_code == 200
    assert "doesn’t exist" in response.content.decode()


# c. Control characters in one-line fields --------------------------------------------------


def change_url(article) -> str:
    return f"/admin/articles/article/{article.pk}/change/"


def field_errors(response) -> dict[str, list[str]]:
    """Every error on the change page, by the field's full name ("title", "sections-0-heading")."""
    errors = {name: list(messages) for name, messages in response.context["adminform"].form.errors.items()}

    def walk(formset):
        for form in formset.forms:
            errors.update({f"{form.prefix}-{name}": list(messages) for name, messages in form.errors.items()})
            for nested in getattr(form, "nested_formsets", []):
                walk(nested)

    for inline in response.context["inline_admin_formsets"]:
        walk(inline.formset)
    return errors


@pytest.fixture
def editing(client):
    """An editor on a draft story's change page: (story, the page's form data)."""
    client.force_login(make_user("Editors"))
    article = make_article(published=False)
    page = client.get(change_url(article))
    assert page.status_code == 200
    return article, form_fields(page.content.decode(), "article_form")


@pytest.mark.parametrize(
    "field", ["title", "key_facts-0-label", "sections-0-heading", "sections-0-points-0-label", "take-0-title"]
)
@pytest.mark.parametrize("control", ["\r\n", "\n", "\r", "\x0b", "\x00"])
def test_a_one_line_field_with_a_line_break_is_refused_on_that_field(client, editing, field, control):
    article, data = editing
    data[field] = f"First half{control}second half"
    data["lede"] = "A lede I typed with care."
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    errors = field_errors(response)
    assert list(errors) == [field], errors
    # A NUL is refused first by the form field itself ("Null characters are not allowed.").
    assert ("control character" in errors[field][0] and "one line" in errors[field][0]) or control == "\x00"
    assert "A lede I typed with care." in response.content.decode()  # what was typed is kept
    article.refresh_from_db()
    assert article.lede != "A lede I typed with care." and "second half" not in one_line_values(article)


def one_line_values(article) -> str:
    """The story's stored titles, headings and labels, as one string."""
    values = [article.title, article.take.title, *article.key_facts.values_list("label", flat=True)]
    for section in article.sections.all():
        values += [section.heading, *section.points.values_list("label", flat=True)]
    return " | ".join(values)


def test_leading_and_trailing_line_breaks_are_simply_trimmed(client, editing):
    article, data = editing
    data["title"] = "\r\nA Title Pasted With Line Breaks\r\n"
    assert client.post(change_url(article), data).status_code == 302
    article.refresh_from_db()
    assert article.title == "A Title Pasted With Line Breaks"


@pytest.mark.parametrize(
    ("place", "text"),
    [
        ("headline", "Tidal Power\rComes to the Harbour"),
        ("key fact label", "- Capa\x0bcity: Three megawatts in total."),
        ("section heading", "Why the Harbour\x00 Chose Tides"),
        ("take title", "The Desk's\x1c Take"),
        ("section heading", "Why the Harbour\tChose Tides"),  # a tab is fine in a paragraph, not a heading
    ],
)
def test_the_importer_names_the_line_of_a_control_character(place, text):
    lines = story_text().splitlines()
    anchors = {
        "headline": "Tidal Power Comes to the Harbour",
        "key fact label": "- Capacity: Three megawatts in total.",
        "section heading": "Why the Harbour Chose Tides",
        "take title": "The Desk's Take",
    }
    number = lines.index(anchors[place]) + 1
    lines[number - 1] = text
    with pytest.raises(StoryFormatError) as refused:
        parse("\n".join(lines) + "\n")
    assert refused.value.line == number, (place, refused.value)
    assert "control character" in refused.value.message


def test_the_importer_still_reads_windows_line_ends():
    story = parse(story_text().replace("\n", "\r\n"))
    assert story.title == "Tidal Power Comes to the Harbour" and story.credit.startswith("Please credit")


def test_a_notification_subject_never_carries_a_line_break(django_capture_on_commit_callbacks, mailoutbox):
    author, moderator = make_user("Editors"), make_user("Moderators")
    article = make_article(published=False, created_by=author)
    Article.objects.filter(pk=article.pk).update(title="Split\r\nBcc: victim@example.com")  # past the validators
    article.refresh_from_db()
    workflow.article_saved(article=article, user=author)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=author)
    assert [m.to for m in mailoutbox] == [[moderator.email]]
    subject = mailoutbox[0].message()["Subject"]
    assert "\n" not in subject and "\r" not in subject and subject == "[Review] Split Bcc: victim@example.com"


# d. A failed notification is logged and shown to the person who acted --------------------


class RefusingMailBackend(BaseEmailBackend):
    """A mail server that hangs up on every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class UnreachableQueueBackend(BaseTaskBackend):
    """A task queue that cannot be reached."""

    def enqueue(self, task, args, kwargs):
        raise ConnectionError("the task queue is unreachable")


@pytest.fixture
def in_review():
    """A story its author has submitted, and a moderator to act on it."""
    author, moderator = make_user("Editors"), make_user("Moderators")
    article = make_article(published=False, created_by=author, title="Harbour Story In Review")
    workflow.article_saved(article=article, user=author)
    workflow.article_submit(article=article, user=author)
    return article, moderator


def approve_in_admin(client, article, moderator):
    client.force_login(moderator)
    return client.post(f"/admin/articles/article/{article.pk}/transition/approve/", {}, follow=True)


# The e-mails go out when the approval commits, inside the request: a real commit is needed.
transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@transactional
def test_a_notification_the_mail_server_refuses_is_logged_and_shown_to_the_moderator(
    client, in_review, settings, caplog
):
    article, moderator = in_review
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingMailBackend"}}
    response = approve_in_admin(client, article, moderator)
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED  # the approval stands
    logged = [r for r in caplog.records if r.name == "articles.notifications" and r.levelname == "ERROR"]
    assert logged and logged[0].exc_info and "Harbour Story In Review" in logged[0].getMessage()
    page = response.content.decode()
    assert "Approve and publish: done." in page
    assert "was approved, but the e-mail to its author could not be sent" in page
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page


@transactional
def test_a_notification_that_cannot_be_queued_is_logged_and_shown_to_the_moderator(client, in_review, settings, caplog):
    article, moderator = in_review
    settings.TASKS = {"default": {"BACKEND": f"{__name__}.UnreachableQueueBackend"}}
    response = approve_in_admin(client, article, moderator)
    assert response.status_code == 200
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    logged = [r for r in caplog.records if r.name == "articles.notifications" and r.levelname == "ERROR"]
    assert logged and logged[0].exc_info
    assert "the e-mail to its author could not be queued (the task queue is unreachable)" in response.content.decode()


@transactional
def test_a_notification_sent_shows_no_warning(client, in_review, mailoutbox):
    article, moderator = in_review
    response = approve_in_admin(client, article, moderator)
    assert "could not be sent" not in response.content.decode()
    assert [m.to for m in mailoutbox][-1] == [article.created_by.email]


# e. A form over the size limits gets a page that says the limit and what to do -------------


def test_a_story_form_over_the_size_limit_gets_a_page_naming_the_limit(client, editing, settings):
    article, data = editing
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    data["lede"] = "A very long lede. " * 70_000  # about 1.2 MB
    response = client.post(change_url(article), data)
    assert response.status_code == 413
    page = response.content.decode()
    assert "1 MB" in page and "NEWSROOM_MAX_FORM_MB" in page and "Nothing was saved" in page
    assert "Traceback" not in page


def test_a_urlencoded_post_over_the_size_limit_gets_the_same_page(client, editing, settings):
    article, data = editing
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
    body = "lede=" + "x" * (5 * 1024 * 1024 + 1)
    response = client.post(change_url(article), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and "5 MB" in response.content.decode()


def test_a_story_form_with_too_many_fields_gets_a_page_naming_the_limit(client, editing, settings):
    article, data = editing
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
    for n in range(200):
        data[f"extra-{n}"] = "x"
    response = client.post(change_url(article), data)
    assert response.status_code == 413
    page = response.content.decode()
    assert "100 fields" in page and "NEWSROOM_MAX_FORM_FIELDS" in page


def test_a_form_within_the_limits_saves_as_before(client, editing):
    article, data = editing
    data["title"] = "A Title Within Every Limit"
    assert client.post(change_url(article), data).status_code == 302


# f. SQLite write contention: writers wait their turn, and never get a 500 ------------------

ROOT = Path(__file__).resolve().parent.parent


def sqlite_race(database: Path, *args: str) -> dict:
    """Run tests/sqlite_contention.py on a SQLite file in a process of its own."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings_test", "LOG_LEVEL": "CRITICAL"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.sqlite_contention", str(database), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1]) if not args or args[0] != "--migrate" else {}


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("sqlite") / "migrated.sqlite3"
    sqlite_race(database, "--migrate")
    return database


@pytest.fixture
def sqlite_file(migrated_sqlite, tmp_path) -> Path:
    """A fresh copy of the migrated SQLite database."""
    database = tmp_path / "newsroom.sqlite3"
    shutil.copy(migrated_sqlite, database)
    return database


def test_two_editors_saving_one_story_at_once_on_sqlite_get_the_edit_conflict_message(sqlite_file):
    outcome = sqlite_race(sqlite_file)
    assert sorted(outcome["statuses"]) == [200, 302], outcome["statuses"]
    loser = outcome["statuses"].index(200)
    assert "changed this story" in outcome["refusal"][loser]  # the form again, saying who changed it
    winner = 1 - loser
    assert outcome["titles"] == [f"Title Saved By Editor {winner + 1}"]


def test_two_editors_saving_two_stories_at_once_on_sqlite_both_save(sqlite_file):
    outcome = sqlite_race(sqlite_file, "--stories", "2")
    assert outcome["statuses"] == [302, 302]
    assert outcome["titles"] == ["Title Saved By Editor 1", "Title Saved By Editor 2"]


def test_two_moderators_approving_at_once_on_sqlite_publish_once(sqlite_file):
    outcome = sqlite_race(sqlite_file, "--approve")
    assert sorted(outcome["statuses"]) == [200, 302], outcome["statuses"]
    refusal = outcome["refusal"][outcome["statuses"].index(200)]
    assert "published" in refusal or "changed by someone else" in refusal, refusal
    assert outcome["status"] == ["published"]


def test_a_write_that_waits_too_long_on_sqlite_says_nothing_was_saved(sqlite_file):
    outcome = sqlite_race(sqlite_file, "--timeout", "0.1")
    assert sorted(outcome["statuses"]) == [302, 503], outcome["statuses"]
    assert outcome["busy"][outcome["statuses"].index(503)]


@pytest.mark.parametrize("path", ["/archive/99999999999999999999/11/", "/archive/2026/99999999999999999999/"])
def test_an_archive_month_past_any_date_is_not_found(client, path):
    assert client.get(path).status_code == 404
