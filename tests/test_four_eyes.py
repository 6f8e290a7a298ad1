"""The four-eyes rule (issue 13, item 8): with NEWSROOM_FOUR_EYES on, the approver is neither
the submitter nor the last person who changed the content; `import_story --publish` and the
demo follow the same rule."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from articles import workflow
from articles.models import Article, Revision
from tests.factories import make_article, make_user, story_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "editor": make_user("Editors", username="ed"),
        "mod_a": make_user("Moderators", username="mod_a"),
        "mod_b": make_user("Moderators", username="mod_b"),
    }


def submitted(people) -> Article:
    article = make_article(published=False, created_by=people["editor"])
    workflow.article_saved(article=article, user=people["editor"])
    workflow.article_submit(article=article, user=people["editor"])
    article.refresh_from_db()
    return article


def fix_copy(article, user, **fields) -> Article:
    """A moderator's save while the story is in review (moderators may fix copy)."""
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    workflow.article_saved(article=article, user=user)
    article.refresh_from_db()
    return article


def buttons(page: str) -> list[str]:
    return [label.strip() for label in re.findall(r'class="workflow-button[^"]*"[^>]*>([^<]*)</a>', page)]


def test_moderator_who_rewrote_a_submission_cannot_approve_it(people):
    article = fix_copy(submitted(people), people["mod_a"], title="Rewritten By Mod A")
    with pytest.raises(workflow.TransitionPermissionError) as refusal:
        workflow.article_approve(article=article, user=people["mod_a"])
    message = refusal.value.message
    assert "mod_a" in message and "last change" in message and "four-eyes" in message
    assert "another moderator" in message  # who may approve
    assert Article.objects.get(pk=article.pk).live_revision_id is None
    workflow.article_approve(article=article, user=people["mod_b"])
    assert Article.objects.get(pk=article.pk).is_live


def test_submitter_still_cannot_approve_their_own_submission(people):
    article = make_article(published=False)
    workflow.article_saved(article=article, user=people["editor"])
    workflow.article_submit(article=article, user=people["mod_a"])
    with pytest.raises(workflow.TransitionPermissionError, match="four-eyes"):
        workflow.article_approve(article=article, user=people["mod_a"])


def test_direct_approval_by_the_last_writer_is_refused(people):
    article = make_article(published=False)
    workflow.article_saved(article=article, user=people["mod_a"])
    with pytest.raises(workflow.TransitionPermissionError, match="four-eyes"):
        workflow.article_approve(article=article, user=people["mod_a"], direct=True)
    workflow.article_approve(article=article, user=people["mod_b"], direct=True)
    assert Article.objects.get(pk=article.pk).is_live


def test_a_restore_counts_as_a_change(people):
    article = submitted(people)
    first = article.revisions.first()
    workflow.article_restore(article=article, revision=first, user=people["mod_a"])
    with pytest.raises(workflow.TransitionPermissionError, match="mod_a"):
        workflow.article_approve(article=article, user=people["mod_a"])


def test_the_rule_can_be_switched_off_for_a_one_person_newsroom(people, settings):
    settings.NEWSROOM_FOUR_EYES = False
    article = fix_copy(submitted(people), people["mod_a"], title="Rewritten By Mod A")
    workflow.article_approve(article=article, user=people["mod_a"])
    assert Article.objects.get(pk=article.pk).is_live


def test_change_page_tells_the_last_writer_why_there_is_no_approve_button(people):
    article = fix_copy(submitted(people), people["mod_a"], title="Rewritten By Mod A")
    client = Client()
    client.force_login(people["mod_a"])
    page = client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    assert "Approve and publish" not in buttons(page)
    assert "cannot be approved" in page and "four-eyes" in page
    client.force_login(people["mod_b"])
    assert "Approve and publish" in buttons(
        client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    )


def run_import(tmp_path, *extra, user):
    path = tmp_path / "story.txt"
    path.write_text(story_text(), encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("import_story", str(path), "--user", user, *extra, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


def test_import_publish_alone_is_refused_under_the_rule(tmp_path, people):
    out, err, error = run_import(tmp_path, "--publish", user="mod_a")
    assert error is not None and "four-eyes" in err and "mod_a" in err
    assert not Article.objects.exists()  # nothing of the refused file is written


def test_import_publish_works_with_the_rule_off(tmp_path, people, settings):
    settings.NEWSROOM_FOUR_EYES = False
    out, err, error = run_import(tmp_path, "--publish", user="mod_a")
    assert error is None, err
    assert Article.objects.live().count() == 1


def test_import_then_a_second_moderator_approves(tmp_path, people):
    out, err, error = run_import(tmp_path, user="mod_a")
    assert error is None, err
    article = Article.objects.get()
    call_command("workflow", article.slug, "submit", "--user", "mod_a", stdout=StringIO(), stderr=StringIO())
    call_command("workflow", article.slug, "approve", "--user", "mod_b", stdout=StringIO(), stderr=StringIO())
    assert Article.objects.live().count() == 1


def test_demo_is_written_by_the_editor_and_approved_by_the_moderator(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    stories = Article.objects.all()
    assert stories.count() == 4 and all(story.is_live for story in stories)
    for story in stories:
        approval = story.revisions.filter(kind=Revision.Kind.APPROVAL).first()
        writer = story.revisions.filter(kind__in=["save", "import", "restore"]).first().created_by
        assert (writer.username, approval.created_by.username) == ("editor", "moderator")
    # Loading it again changes nothing readers see, and refuses nothing.
    call_command("load_demo", stdout=StringIO(), stderr=StringIO())
    assert all(story.is_live and not story.has_unpublished_changes for story in Article.objects.all())
