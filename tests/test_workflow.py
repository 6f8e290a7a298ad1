"""The editorial workflow: states, roles, records, scheduling, live versus working copy,
history, concurrency and notifications."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from articles import workflow
from articles.models import Article, Revision, Transition
from tests.factories import make_article, make_user

pytestmark = pytest.mark.django_db

DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED = "draft", "in_review", "published", "archived"


@pytest.fixture
def people():
    return {
        "author": make_user("Editors", username="author"),
        "editor": make_user("Editors", username="other_editor"),
        "moderator": make_user("Moderators", username="mod"),
        "moderator2": make_user("Moderators", username="mod2"),
        "superuser": make_user("superuser", username="root"),
        "outsider": make_user("Editors", username="ex", is_active=False),
    }


def story_in(state: str, people) -> Article:
    """A story brought to `state` through the workflow, submitted by the author."""
    article = make_article(published=False, created_by=people["author"])
    workflow.article_saved(article=article, user=people["author"])
    if state == DRAFT:
        return article
    workflow.article_submit(article=article, user=people["author"])
    if state == IN_REVIEW:
        return article
    workflow.article_approve(article=article, user=people["moderator"])
    if state == PUBLISHED:
        return article
    workflow.article_unpublish(article=article, user=people["moderator"], reason="Source withdrew it.")
    return article


ARGS = {
    "submit": {},
    "withdraw": {},
    "request-changes": {"comment": "Tighten the lede."},
    "approve": {},
    "unpublish": {"reason": "Legal asked us to."},
    "reopen": {},
}

# (action, state) -> the roles that may fire it; every other role and state is refused.
ALLOWED = {
    ("submit", DRAFT): {"author", "editor", "moderator", "moderator2", "superuser"},
    ("withdraw", IN_REVIEW): {"author", "moderator", "moderator2", "superuser"},
    ("request-changes", IN_REVIEW): {"moderator", "moderator2", "superuser"},
    ("approve", IN_REVIEW): {"moderator", "moderator2", "superuser"},
    ("unpublish", PUBLISHED): {"moderator", "moderator2", "superuser"},
    ("reopen", ARCHIVED): {"moderator", "moderator2", "superuser"},
}
RESULT = {
    "submit": IN_REVIEW,
    "withdraw": DRAFT,
    "request-changes": DRAFT,
    "approve": PUBLISHED,
    "unpublish": ARCHIVED,
    "reopen": DRAFT,
}
ROLES = ["author", "editor", "moderator", "moderator2", "superuser", "outsider"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", [DRAFT, IN_REVIEW, PUBLISHED, ARCHIVED])
@pytest.mark.parametrize("action", list(ARGS))
def test_permission_matrix(people, action, state, role):
    article = story_in(state, people)
    user = people[role]
    before = Transition.objects.count()
    if role in ALLOWED.get((action, state), set()):
        workflow.TRANSITIONS[action](article=article, user=user, **ARGS[action])
        article.refresh_from_db()
        assert article.status == RESULT[action]
        record = Transition.objects.latest("pk")
        assert (record.action, record.user, record.from_status, record.to_status) == (
            action,
            user,
            state,
            RESULT[action],
        )
    else:
        with pytest.raises(workflow.WorkflowError) as refusal:
            workflow.TRANSITIONS[action](article=article, user=user, **ARGS[action])
        assert article.title in refusal.value.message or user.username in refusal.value.message
        article.refresh_from_db()
        assert article.status == state
        assert Transition.objects.count() == before


def test_four_eyes_rule_stops_approving_own_submission(people):
    article = make_article(published=False)
    workflow.article_submit(article=article, user=people["moderator"])
    with pytest.raises(workflow.TransitionPermissionError, match="four-eyes"):
        workflow.article_approve(article=article, user=people["moderator"])
    workflow.article_approve(article=article, user=people["moderator2"])
    assert Article.objects.get(pk=article.pk).is_live


def test_four_eyes_rule_can_be_switched_off(people, settings):
    settings.NEWSROOM_FOUR_EYES = False
    article = make_article(published=False)
    workflow.article_submit(article=article, user=people["moderator"])
    workflow.article_approve(article=article, user=people["moderator"])
    assert Article.objects.get(pk=article.pk).is_live


def test_request_changes_and_unpublish_need_a_comment(people):
    article = story_in(IN_REVIEW, people)
    with pytest.raises(workflow.TransitionNotAllowed, match="cannot be empty"):
        workflow.article_request_changes(article=article, user=people["moderator"], comment="   ")
    workflow.article_request_changes(article=article, user=people["moderator"], comment="Cite the report.")
    article.refresh_from_db()
    assert article.review_comment == "Cite the report." and article.status == DRAFT
    live = story_in(PUBLISHED, people)
    with pytest.raises(workflow.TransitionNotAllowed, match="reason"):
        workflow.article_unpublish(article=live, user=people["moderator"], reason="")
    assert Article.objects.get(pk=live.pk).is_live


def test_failure_inside_a_transition_leaves_nothing_half_done(people, monkeypatch):
    article = story_in(IN_REVIEW, people)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Transition.objects, "create", broken)
    with pytest.raises(RuntimeError):
        workflow.article_approve(article=article, user=people["moderator"])
    article.refresh_from_db()
    assert article.status == IN_REVIEW and article.live_revision is None
    assert not article.revisions.filter(kind="approval").exists()


def test_hero_image_without_alt_text_cannot_be_approved(people):
    from django.core.files.base import ContentFile

    article = story_in(IN_REVIEW, people)
    article.image.save("x.gif", ContentFile(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"), save=False)
    Article.objects.filter(pk=article.pk).update(image=article.image.name)
    with pytest.raises(workflow.TransitionNotAllowed, match="alt text"):
        workflow.article_approve(article=Article.objects.get(pk=article.pk), user=people["moderator"])


# Live versus working copy


def test_editing_a_live_story_leaves_readers_on_the_live_revision(people, client):
    article = story_in(PUBLISHED, people)
    live_title = article.title
    article.title = "A Better Headline"
    article.save()
    workflow.article_saved(article=article, user=people["author"])
    article.refresh_from_db()
    assert article.has_unpublished_changes
    assert article.status_label() == "Published, with unpublished changes"
    page = client.get(article.get_absolute_url()).content.decode()
    assert live_title in page and "A Better Headline" not in page
    workflow.article_submit(article=article, user=people["author"])
    assert client.get(article.get_absolute_url()).status_code == 200  # still live while in review
    workflow.article_approve(article=article, user=people["moderator"])
    assert "A Better Headline" in client.get(article.get_absolute_url()).content.decode()


def test_saving_back_to_the_live_content_clears_unpublished_changes(people):
    article = story_in(PUBLISHED, people)
    original = article.title
    for title in ("Temporary Headline", original):
        article.title = title
        article.save()
        workflow.article_saved(article=article, user=people["author"])
    assert Article.objects.get(pk=article.pk).has_unpublished_changes is False


def test_approved_revision_is_immutable_and_separate_from_later_saves(people):
    article = story_in(PUBLISHED, people)
    live = article.live_revision
    article.title = "Changed Later"
    article.save()
    workflow.article_saved(article=article, user=people["author"])
    live.refresh_from_db()
    assert live.kind == Revision.Kind.APPROVAL and live.data["title"] != "Changed Later"


def test_every_save_keeps_a_numbered_revision(people):
    article = story_in(DRAFT, people)
    for title in ("One", "Two"):
        article.title = title
        article.save()
        workflow.article_saved(article=article, user=people["editor"])
    numbers = list(article.revisions.values_list("number", "data__title"))
    assert numbers[:2] == [(3, "Two"), (2, "One")]
    assert Article.objects.get(pk=article.pk).version == 3


# History: diff and restore


def test_restore_puts_an_old_revision_back_into_the_working_copy(people):
    from articles.diffing import snapshot_diff
    from articles.snapshots import article_snapshot

    article = story_in(DRAFT, people)
    first = article.revisions.get()
    article.title = "Rewritten"
    article.save()
    article.key_facts.update(text="A new fact.")
    workflow.article_saved(article=article, user=people["author"])
    diff = snapshot_diff(first.data, article_snapshot(article))
    assert [(d.op, d.text) for d in diff if d.op != "same"] == [
        ("removed", f"Title: {first.data['title']}"),
        ("added", "Title: Rewritten"),
        ("removed", "Vote: Seven to two in favour."),  # a key fact: a bullet of the story, no marker
        ("added", "Vote: A new fact."),
    ]
    workflow.article_restore(article=article, revision=first, user=people["editor"])
    article.refresh_from_db()
    assert article.title == first.data["title"]
    assert list(article.key_facts.values_list("text", flat=True)) == ["Seven to two in favour."]
    assert article.revisions.first().kind == "restore"


def test_restore_is_refused_while_in_review(people):
    article = story_in(IN_REVIEW, people)
    with pytest.raises(workflow.TransitionPermissionError, match="in review"):
        workflow.article_restore(article=article, revision=article.revisions.first(), user=people["author"])


# Scheduling, with a frozen clock


def test_scheduled_story_appears_at_its_time_without_a_worker(people, client):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        article = story_in(IN_REVIEW, people)
        go_live = start + timedelta(hours=2)
        workflow.article_approve(
            article=article, user=people["moderator"], go_live_at=go_live, expires_at=go_live + timedelta(days=1)
        )
        article.refresh_from_db()
        assert article.is_scheduled and article.status_label() == "Scheduled"
        assert client.get(article.get_absolute_url()).status_code == 404
        assert article.title not in client.get("/").content.decode()
    with time_machine.travel(go_live + timedelta(seconds=1), tick=False):
        assert client.get(article.get_absolute_url()).status_code == 200
        assert article.title in client.get("/").content.decode()
    with time_machine.travel(go_live + timedelta(days=1, seconds=1), tick=False):
        # Expired: its address had a publication, so it is Gone (410), not unknown.
        assert client.get(article.get_absolute_url()).status_code == 410


def test_expiry_must_follow_go_live(people):
    article = story_in(IN_REVIEW, people)
    soon = timezone.now() + timedelta(hours=1)
    with pytest.raises(workflow.TransitionNotAllowed, match="expiry"):
        workflow.article_approve(article=article, user=people["moderator"], go_live_at=soon, expires_at=soon)


# Corrections and updates


def test_minor_change_moves_no_public_date(people):
    article = story_in(PUBLISHED, people)
    article.title = "Typo Fixed"
    article.save()
    workflow.article_saved(article=article, user=people["author"])
    workflow.article_submit(article=article, user=people["author"])
    workflow.article_approve(article=article, user=people["moderator"], change_kind="minor")
    article.refresh_from_db()
    assert article.publication.updated_at is None and article.publication.changes == []


def test_correction_is_dated_and_kept_with_later_versions(people, client):
    article = story_in(PUBLISHED, people)
    for kind, note in (
        ("correction", "An earlier version gave the wrong vote count."),
        ("update", "Adds the mayor's reply."),
    ):
        article.lede = f"{kind} lede."
        article.save()
        workflow.article_saved(article=article, user=people["author"])
        workflow.article_submit(article=article, user=people["author"])
        workflow.article_approve(article=article, user=people["moderator"], change_kind=kind, change_note=note)
    article.refresh_from_db()
    changes = article.publication.changes
    assert [c["kind"] for c in changes] == ["correction", "update"]
    assert article.publication.updated_at is not None
    page = client.get(article.get_absolute_url()).content.decode()
    assert "Correction" in page and "An earlier version gave the wrong vote count." in page
    assert "Adds the mayor&#x27;s reply." in page and "Updated" in page


def test_update_without_a_note_is_refused(people):
    article = story_in(PUBLISHED, people)
    article.title = "Changed"
    article.save()
    workflow.article_saved(article=article, user=people["author"])
    workflow.article_submit(article=article, user=people["author"])
    with pytest.raises(workflow.TransitionNotAllowed, match="note"):
        workflow.article_approve(article=article, user=people["moderator"], change_kind="update")


# Concurrency


def test_second_save_from_an_old_version_is_refused_with_who_and_when(people):
    article = story_in(DRAFT, people)
    opened = Article.objects.get(pk=article.pk).version
    article.title = "First Save"
    article.save()
    workflow.article_saved(article=article, user=people["editor"])
    with pytest.raises(workflow.EditConflict, match="other_editor changed this story at"):
        workflow.check_version(article, opened)


def test_second_approval_of_the_same_submission_is_refused(people):
    article = story_in(IN_REVIEW, people)
    stale = Article.objects.get(pk=article.pk)
    workflow.article_approve(article=article, user=people["moderator"])
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.article_approve(article=stale, user=people["moderator2"])
    assert article.transitions.filter(action="approve").count() == 1
    assert article.revisions.filter(kind="approval").count() == 1


# Notifications


def test_submission_emails_the_moderators(people, django_capture_on_commit_callbacks):
    article = story_in(DRAFT, people)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_submit(article=article, user=people["author"])
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["mod2@newsroom.example", "mod@newsroom.example", "root@newsroom.example"]
    assert article.title in mail.outbox[0].subject


def test_author_hears_about_request_changes_approval_and_unpublishing(people, django_capture_on_commit_callbacks):
    article = story_in(IN_REVIEW, people)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_request_changes(article=article, user=people["moderator"], comment="Add a second source.")
    assert mail.outbox[-1].to == ["author@newsroom.example"] and "Add a second source." in mail.outbox[-1].body
    workflow.article_submit(article=article, user=people["author"])
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_approve(article=article, user=people["moderator"])
    assert mail.outbox[-1].to == ["author@newsroom.example"] and "[Approved]" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_unpublish(article=article, user=people["moderator"], reason="Source retracted.")
    assert "[Unpublished]" in mail.outbox[-1].subject and "Source retracted." in mail.outbox[-1].body


def test_no_email_when_nothing_commits(people, monkeypatch):
    article = story_in(IN_REVIEW, people)
    mail.outbox.clear()
    with pytest.raises(workflow.WorkflowError):
        workflow.article_approve(article=article, user=people["author"])
    assert mail.outbox == []


# The command line


def run_workflow(*args):
    out = StringIO()
    call_command("workflow", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_command_line_runs_the_same_transitions(people):
    article = story_in(DRAFT, people)
    run_workflow(article.slug, "submit", "--user", "author")
    go_live = (timezone.now() + timedelta(hours=3)).isoformat()
    out = run_workflow(article.slug, "approve", "--user", "mod", "--at", go_live)
    assert out.startswith(f"/articles/{article.slug}/") and "scheduled" in out
    record = Transition.objects.latest("pk")
    assert (record.action, record.user.username) == ("approve", "mod")


def test_command_line_refusal_exits_non_zero_with_the_reason(people):
    article = story_in(IN_REVIEW, people)
    with pytest.raises(CommandError, match="may not approve"):
        run_workflow(article.slug, "approve", "--user", "author")
    with pytest.raises(CommandError, match="cannot be empty"):
        run_workflow(article.slug, "request-changes", "--user", "mod")
    with pytest.raises(CommandError, match="No story"):
        run_workflow("no-such-story", "submit", "--user", "author")
    assert Article.objects.get(pk=article.pk).status == IN_REVIEW


def test_roles_exist_as_groups_with_workflow_permissions():
    from django.contrib.auth.models import Group

    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    moderators = set(Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True))
    assert "submit_article" in editors and "approve_article" not in editors and "unpublish_article" not in editors
    assert {"submit_article", "approve_article", "unpublish_article", "edit_in_review"} <= moderators


def test_scheduled_update_goes_live_at_its_time_and_not_before(people, client):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        article = story_in(PUBLISHED, people)
        old_title = article.title
        article.title = "The Embargoed Update"
        article.save()
        workflow.article_saved(article=article, user=people["author"])
        workflow.article_submit(article=article, user=people["author"])
        workflow.article_approve(
            article=article,
            user=people["moderator"],
            go_live_at=start + timedelta(hours=1),
            change_kind="update",
            change_note="New figures.",
        )
        article.refresh_from_db()
        assert article.status_label() == "Published, update scheduled"
        page = client.get(article.get_absolute_url()).content.decode()
        assert old_title in page and "The Embargoed Update" not in page
        assert "No stories match" in client.get("/search/?q=Embargoed").content.decode()
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        page = client.get(article.get_absolute_url()).content.decode()
        assert "The Embargoed Update" in page and "New figures." in page
        assert "The Embargoed Update" in client.get("/search/?q=Embargoed").content.decode()
        # Nothing was promoted: the update's window simply opened (no transition, no write).
        assert article.next_publication is None and article.publication.revision.data["title"] == "The Embargoed Update"
    assert not article.transitions.filter(action="go-live").exists()
