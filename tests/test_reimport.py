"""Re-importing a known story (issue 13, item 7): an editor's changes since the last import are
never replaced silently, and the story's unpublished-changes state is right afterwards."""

import io
from io import StringIO

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client
from PIL import Image

from articles import workflow
from articles.models import Article, Revision
from tests.factories import make_article, make_desk, make_user, story_text

pytestmark = pytest.mark.django_db

URL = "https://harbour.example/stories/tidal?ref=rss&utm=1"  # story_text()'s original URL


@pytest.fixture(autouse=True)
def people():
    return {
        "editor": make_user("Editors", username="ed"),
        "alice": make_user("Editors", username="alice"),
        "moderator": make_user("Moderators", username="mo"),
    }


def run_import(tmp_path, text, *extra, user="ed"):
    path = tmp_path / "story.txt"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("import_story", str(path), "--user", user, *extra, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def imported(tmp_path, **story) -> Article:
    out, err, error = run_import(tmp_path, story_text(**story))
    assert error is None, err
    return Article.objects.get(original_url=URL)


def edit(article, user, **fields) -> Article:
    """A save of the working copy as the admin makes it: the fields, then a save revision."""
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    workflow.article_saved(article=article, user=user)
    article.refresh_from_db()
    return article


def approve(article, people) -> Article:
    workflow.article_approve(article=article, user=people["moderator"], direct=True)
    article.refresh_from_db()
    return article


def jpeg() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), "#1d4e6b").save(buffer, format="JPEG")
    return ContentFile(buffer.getvalue())


# Refusing to replace an editor's changes.


def test_reimport_after_an_editor_changed_the_story_is_refused_naming_who_and_when(tmp_path, people):
    article = imported(tmp_path)
    with time_machine.travel("2026-03-04 10:20:30 +0000", tick=False):
        edit(article, people["alice"], title="Alice's Better Headline")
    out, err, error = run_import(tmp_path, story_text(title="The Wire's Revised Headline"))
    assert error is not None
    assert "alice" in err and "2026-03-04 10:20" in err and "--overwrite" in err
    article.refresh_from_db()
    assert article.title == "Alice's Better Headline"
    assert article.revisions.first().created_by == people["alice"]


def test_reimport_with_overwrite_replaces_the_editors_changes_and_says_so(tmp_path, people):
    article = imported(tmp_path)
    edit(article, people["alice"], title="Alice's Better Headline")
    out, err, error = run_import(tmp_path, story_text(title="The Wire's Revised Headline"), "--overwrite")
    assert error is None, err
    article.refresh_from_db()
    assert article.title == "The Wire's Revised Headline"
    latest = article.revisions.first()
    assert latest.kind == Revision.Kind.IMPORT and "alice" in latest.note


def test_reimport_of_a_story_written_in_the_newsroom_is_refused(tmp_path, people):
    article = make_article(published=False, original_url=URL, title="Written Here")
    workflow.article_saved(article=article, user=people["alice"])
    out, err, error = run_import(tmp_path, story_text())
    assert error is not None and "alice" in err and "--overwrite" in err
    assert Article.objects.get(pk=article.pk).title == "Written Here"


def test_reimport_after_only_editorial_changes_goes_ahead(tmp_path, people):
    """Desk, byline, tags and image are the newsroom's and survive a re-import: nothing is lost."""
    article = imported(tmp_path)
    article = edit(article, people["alice"], desk=make_desk(), byline="Ana Reyes")
    out, err, error = run_import(tmp_path, story_text(title="The Wire's Revised Headline"))
    assert error is None, err
    article.refresh_from_db()
    assert (article.title, article.byline) == ("The Wire's Revised Headline", "Ana Reyes")


def test_reimport_twice_without_edits_goes_ahead(tmp_path, people):
    imported(tmp_path)
    out, err, error = run_import(tmp_path, story_text(title="Second Version"))
    assert error is None, err
    out, err, error = run_import(tmp_path, story_text(title="Third Version"))
    assert error is None, err
    assert Article.objects.get().title == "Third Version"


# The unpublished-changes state afterwards.


def test_identical_reimport_of_a_live_story_leaves_no_unpublished_changes(tmp_path, people):
    article = approve(imported(tmp_path), people)
    assert not article.has_unpublished_changes
    out, err, error = run_import(tmp_path, story_text())
    assert error is None, err
    article.refresh_from_db()
    assert article.is_live and not article.has_unpublished_changes
    assert article.status_label() == "Published"


def test_identical_reimport_of_a_live_story_with_a_hero_image_leaves_no_unpublished_changes(tmp_path, people):
    article = imported(tmp_path)
    article.image.save("hero.jpg", jpeg(), save=False)
    article.image_alt = "Blue water"
    article.save()
    workflow.article_saved(article=article, user=people["editor"])
    article = approve(article, people)
    assert article.publication.renditions  # approval makes the renditions, kept with the publication
    assert not article.has_unpublished_changes
    out, err, error = run_import(tmp_path, story_text())
    assert error is None, err
    article.refresh_from_db()
    assert not article.has_unpublished_changes


def test_changed_reimport_of_a_live_story_has_unpublished_changes_that_readers_do_not_see(tmp_path, people):
    article = imported(tmp_path)
    article.image.save("hero.jpg", jpeg(), save=False)
    article.image_alt = "Blue water"
    article.save()
    workflow.article_saved(article=article, user=people["editor"])
    article = approve(article, people)
    out, err, error = run_import(tmp_path, story_text(title="A Rewritten Headline"))
    assert error is None, err
    article.refresh_from_db()
    assert article.has_unpublished_changes
    page = Client().get(article.get_absolute_url()).content.decode()
    assert "Tidal Power Comes to the Harbour" in page and "A Rewritten Headline" not in page
    # Importing the live text again brings the working copy back to what readers see.
    out, err, error = run_import(tmp_path, story_text())
    assert error is None, err
    article.refresh_from_db()
    assert not article.has_unpublished_changes
