"""The admin's workflow screens end to end, through the test client: buttons, transition
screens, the content lock, edit conflicts, revisions and history, live versus working copy,
corrections, the review queue, previews, share links and the status badge."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from articles import workflow
from articles.models import Article, Revision, Transition
from articles.previews import preview_token, preview_url
from tests.factories import make_article, make_user
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db

ADMIN = "/admin/articles/article"
IN_REVIEW, DRAFT = Article.Status.IN_REVIEW, Article.Status.DRAFT


# Addresses and pages.


def change_url(article):
    return f"{ADMIN}/{article.pk}/change/"


def step_url(article, action):
    return f"{ADMIN}/{article.pk}/transition/{action}/"


def html(response) -> str:
    return response.content.decode()


def logged_in(user) -> Client:
    """A second browser, for when two people work at once."""
    other = Client()
    other.force_login(user)
    return other


def public_page(article):
    """The story's public page as an anonymous reader gets it."""
    return Client().get(reverse("articles:detail", kwargs={"slug": article.slug}))


def buttons(page: str) -> list[str]:
    """The labels of the workflow buttons on a change page."""
    return [label.strip() for label in re.findall(r'class="workflow-button[^"]*"[^>]*>([^<]*)</a>', page)]


def badge(page: str) -> tuple[str, str]:
    """(class, text) of the first status badge on a page."""
    match = re.search(r'<span class="(status-badge[^"]*)">([^<]*)</span>', page)
    assert match, "no status badge on the page"
    return match.group(1), match.group(2)


# Forms, filled in as a browser would.


def load_form(client, article) -> dict:
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_fields(html(response), "article_form")


def save_title(client, article, title):
    data = load_form(client, article)
    data["title"] = title
    return client.post(change_url(article), data)


def step_fields(page: str) -> dict:
    """The confirm form's fields as a browser submits them (the form has no id of its own)."""
    start = page.index('id="content-main"')
    return form_fields(page[:start] + page[start:].replace("<form ", '<form id="workflow-step" ', 1), "workflow-step")


def take_step(client, article, action, **typed):
    """Open a workflow step's confirm page, fill in `typed` and submit it."""
    response = client.get(step_url(article, action))
    assert response.status_code == 200
    return client.post(step_url(article, action), {**step_fields(html(response)), **typed})


def local_minute(when) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


# Stories in a given state (set up through the workflow, not the screen under test).


def submitted_draft(editor, **fields) -> Article:
    article = make_article(published=False, created_by=editor, **fields)
    workflow.article_submit(article=article, user=editor)
    article.refresh_from_db()
    return article


def edit_working_copy(article, user, **fields) -> Article:
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    workflow.article_saved(article=article, user=user)
    article.refresh_from_db()
    return article


def submitted_changes(editor, title="Harbour Vote Passes", new_title="Harbour Vote Passes Narrowly") -> Article:
    """A live story whose edited working copy is waiting in review."""
    article = edit_working_copy(make_article(title=title), editor, title=new_title)
    workflow.article_submit(article=article, user=editor)
    article.refresh_from_db()
    return article


# 1. Buttons.


def test_editor_sees_submit_on_own_draft(client):
    editor = make_user("Editors")
    article = make_article(published=False, created_by=editor)
    client.force_login(editor)
    labels = buttons(html(client.get(change_url(article))))
    assert "Submit for review" in labels
    assert "Approve and publish" not in labels and "Unpublish" not in labels


def test_moderator_sees_approve_and_request_changes_on_someone_elses_submission(client):
    article = submitted_draft(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    labels = buttons(html(client.get(change_url(article))))
    assert {"Approve and publish", "Request changes"} <= set(labels)


def test_moderator_sees_unpublish_on_live_story(client):
    article = make_article()
    client.force_login(make_user("Moderators"))
    assert "Unpublish" in buttons(html(client.get(change_url(article))))


# 2. Transition screens.


def test_editor_submits_draft_for_review(client):
    editor = make_user("Editors")
    article = make_article(published=False, created_by=editor)
    client.force_login(editor)
    response = take_step(client, article, "submit")
    assert response.status_code == 302 and response["Location"] == change_url(article)
    article.refresh_from_db()
    assert article.status == IN_REVIEW and article.submitted_by == editor
    record = Transition.objects.get(article=article)
    assert (record.action, record.user, record.from_status, record.to_status) == ("submit", editor, DRAFT, IN_REVIEW)


def test_request_changes_without_comment_is_refused(client):
    article = submitted_draft(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    response = take_step(client, article, "request-changes", comment="")
    assert response.status_code == 200
    assert 'class="errorlist' in html(response) and "This field is required." in html(response)
    article.refresh_from_db()
    assert article.status == IN_REVIEW
    assert not Transition.objects.filter(article=article, action="request-changes").exists()


def test_request_changes_with_comment_sends_story_back_to_its_editor(client):
    editor = make_user("Editors")
    article = submitted_draft(editor)
    client.force_login(make_user("Moderators"))
    response = take_step(client, article, "request-changes", comment="Please source the cost figure.")
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == DRAFT
    page = html(logged_in(editor).get(change_url(article)))
    assert "Changes requested" in page and "Please source the cost figure." in page


def test_approve_with_future_go_live_schedules_the_story(client):
    article = submitted_draft(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    go_live = timezone.now() + timedelta(days=2)
    response = take_step(client, article, "approve", go_live_at=local_minute(go_live))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED
    assert article.is_scheduled and not article.is_live
    assert public_page(article).status_code == 404
    changelist = html(client.get(f"{ADMIN}/"))
    assert re.search(r'class="status-badge[^"]*">Scheduled</span>', changelist)
    assert "Scheduled: goes live" in changelist


def test_editor_posting_to_approve_url_is_refused(client):
    editor = make_user("Editors")
    article = submitted_draft(make_user("Editors"))
    client.force_login(editor)
    response = take_step(client, article, "approve")
    assert response.status_code == 200
    assert "may not approve stories" in html(response)
    article.refresh_from_db()
    assert article.status == IN_REVIEW and article.live_revision_id is None
    assert not Transition.objects.filter(article=article, action="approve").exists()


# 3. Content lock.


def test_story_in_review_is_read_only_for_its_editor(client):
    editor = make_user("Editors")
    article = make_article(published=False, created_by=editor, title="Original Headline")
    client.force_login(editor)
    data = load_form(client, article)  # opened while still a draft
    workflow.article_submit(article=article, user=editor)
    page = html(client.get(change_url(article)))
    assert 'name="title"' not in page
    assert "Original Headline" in page and "locked for editing" in page
    data["title"] = "Sneaked-in Headline"
    response = client.post(change_url(article), data)
    assert response.status_code in (302, 403)  # refused outright, or redirected without saving
    article.refresh_from_db()
    assert article.title == "Original Headline"


def test_moderator_can_fix_copy_while_in_review(client):
    article = submitted_draft(make_user("Editors"), title="Harbour Vote Pases")
    client.force_login(make_user("Moderators"))
    response = save_title(client, article, "Harbour Vote Passes")
    assert response.status_code == 302, html(response)[:3000]
    article.refresh_from_db()
    assert article.title == "Harbour Vote Passes" and article.status == IN_REVIEW


# 4. Edit conflict.


def test_second_save_from_a_stale_form_is_refused_and_keeps_typing(client):
    first, second = make_user("Editors", username="ana"), make_user("Editors", username="ben")
    article = make_article(published=False, title="Ferry Timetable Changes")
    client.force_login(first)
    other = logged_in(second)
    first_data, second_data = load_form(client, article), load_form(other, article)
    first_data["title"] = "Ferry Timetable Changes From May"
    assert client.post(change_url(article), first_data).status_code == 302
    second_data["title"] = "Ferries Run Later in Summer"
    response = other.post(change_url(article), second_data)
    assert response.status_code == 200
    page = html(response)
    assert "ana changed this story" in page
    assert "Ferries Run Later in Summer" in page
    article.refresh_from_db()
    assert article.title == "Ferry Timetable Changes From May"


# 5. Revisions and history.


def test_each_admin_save_adds_a_save_revision(client):
    editor = make_user("Editors")
    article = make_article(published=False)
    client.force_login(editor)
    assert save_title(client, article, "First Headline").status_code == 302
    assert save_title(client, article, "Second Headline").status_code == 302
    revisions = list(article.revisions.order_by("number"))
    assert [(r.number, r.kind, r.created_by) for r in revisions] == [(1, "save", editor), (2, "save", editor)]
    assert [r.data["title"] for r in revisions] == ["First Headline", "Second Headline"]


def test_history_lists_revisions_and_transitions(client):
    editor = make_user("Editors", username="carla")
    article = make_article(published=False, created_by=editor)
    client.force_login(editor)
    assert save_title(client, article, "Quay Wall Repairs").status_code == 302
    assert take_step(client, article, "submit").status_code == 302
    response = client.get(f"{ADMIN}/{article.pk}/history/")
    assert response.status_code == 200
    page = html(response)
    assert "Revision #1: Saved" in page
    assert "Draft → In review (submit)" in page
    assert page.count("carla") >= 2


def test_revision_diff_marks_the_changed_title(client):
    article = make_article(published=False, title="Old Harbour Headline")
    client.force_login(make_user("Editors"))
    assert save_title(client, article, "Old Harbour Headline").status_code == 302  # revision #1
    assert save_title(client, article, "New Harbour Headline").status_code == 302  # revision #2
    response = client.get(f"{ADMIN}/{article.pk}/revisions/1/")
    assert response.status_code == 200
    page = html(response)
    assert "Title: <del>Old</del> Harbour Headline" in page  # the changed word, inside its line
    assert "Title: <ins>New</ins> Harbour Headline" in page


def test_revision_diff_against_live_version(client):
    article = make_article(title="Live Harbour Headline")
    client.force_login(make_user("Editors"))
    assert save_title(client, article, "Edited Harbour Headline").status_code == 302
    number = article.revisions.first().number
    response = client.get(f"{ADMIN}/{article.pk}/revisions/{number}/?against=live")
    assert response.status_code == 200
    page = html(response)
    assert "the live version" in page
    # What approving the revision would change: the live words go, the revision's come.
    assert "Title: <del>Live</del> Harbour Headline" in page
    assert "Title: <ins>Edited</ins> Harbour Headline" in page


def test_editor_restores_an_old_revision(client):
    editor = make_user("Editors")
    article = make_article(published=False, title="Old Harbour Headline")
    client.force_login(editor)
    assert save_title(client, article, "Old Harbour Headline").status_code == 302  # revision #1
    assert save_title(client, article, "New Harbour Headline").status_code == 302  # revision #2
    response = client.post(f"{ADMIN}/{article.pk}/revisions/1/restore/")
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.title == "Old Harbour Headline"
    latest = article.revisions.first()
    assert (latest.number, latest.kind, latest.created_by) == (3, Revision.Kind.RESTORE, editor)
    assert latest.data["title"] == "Old Harbour Headline"


# 6. Live versus working copy.


def test_edits_to_a_live_story_go_public_only_when_approved(client):
    editor, moderator = make_user("Editors"), make_user("Moderators")
    article = make_article(title="Harbour Vote Passes")
    client.force_login(editor)
    assert save_title(client, article, "Harbour Vote Passes Narrowly").status_code == 302
    page = html(public_page(article))
    assert "Harbour Vote Passes" in page and "Narrowly" not in page
    assert "Published, with unpublished changes" in html(client.get(change_url(article)))
    assert take_step(client, article, "submit").status_code == 302
    assert take_step(logged_in(moderator), article, "approve").status_code == 302
    assert "Harbour Vote Passes Narrowly" in html(public_page(article))


# 7. Corrections.


def test_correction_is_listed_on_the_public_page(client):
    article = submitted_changes(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    response = take_step(
        client, article, "approve", change_kind="correction", change_note="An earlier version misstated the vote count."
    )
    assert response.status_code == 302
    page = html(public_page(article))
    assert "Updates and corrections" in page
    assert "Correction" in page and "An earlier version misstated the vote count." in page


def test_update_without_a_note_is_refused_and_keeps_what_was_typed(client):
    article = submitted_changes(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    go_live = local_minute(timezone.now() + timedelta(hours=3))
    response = take_step(client, article, "approve", change_kind="update", change_note="", go_live_at=go_live)
    assert response.status_code == 200
    page = html(response)
    assert "Give a short note for readers about this update" in page
    assert f'value="{go_live}"' in page
    assert re.search(r'<input[^>]*value="update"[^>]*checked', page)
    article.refresh_from_db()
    assert article.status == IN_REVIEW
    assert "Narrowly" not in html(public_page(article))


def test_minor_fix_shows_no_notice_and_no_updated_date(client):
    article = submitted_changes(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    assert take_step(client, article, "approve", change_kind="minor").status_code == 302
    page = html(public_page(article))
    assert "Harbour Vote Passes Narrowly" in page
    assert "Updates and corrections" not in page
    assert "story__updated" not in page and "Updated <time" not in page


# 8. Review queue.


def test_review_queue_lists_oldest_submission_first_with_submitter(client):
    early, late = make_user("Editors", username="early_bird"), make_user("Editors", username="late_comer")
    newer = submitted_draft(late, title="Newer Submission")
    older = submitted_draft(early, title="Older Submission")
    Article.objects.filter(pk=older.pk).update(submitted_at=timezone.now() - timedelta(hours=2))
    make_article(published=False, title="Quiet Draft")
    client.force_login(make_user("Moderators"))
    response = client.get(f"{ADMIN}/review-queue/")
    assert response.status_code == 200
    page = html(response)
    assert page.index("Older Submission") < page.index("Newer Submission")
    assert page.index("early_bird") < page.index("late_comer")
    assert "Quiet Draft" not in page
    assert newer.status == IN_REVIEW


# 9. Preview and share links.


def test_preview_shows_working_copy_uncached_and_unindexed(client):
    editor = make_user("Editors")
    article = edit_working_copy(make_article(title="Live Headline"), editor, title="Working Headline")
    client.force_login(editor)
    response = client.get(f"{ADMIN}/{article.pk}/preview/")
    assert response.status_code == 200
    assert re.search(r'<h1 class="story__title">Working Headline</h1>', html(response))
    assert "noindex" in response["X-Robots-Tag"]
    cache_control = response["Cache-Control"]
    assert all(word in cache_control for word in ("no-cache", "no-store", "private"))


def test_preview_needs_a_login(client):
    article = make_article(published=False)
    response = client.get(f"{ADMIN}/{article.pk}/preview/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def share():
    """The share link's path for a story, as the admin's Share button makes it."""
    try:
        reverse("articles:shared_preview", kwargs={"token": "x"})
    except NoReverseMatch:
        pytest.skip("the public shared_preview URL does not exist yet")
    return preview_url


def shared_link_in(page: str) -> str:
    match = re.search(r"(/preview/[^/\s\"<]+/)", page)
    assert match, "no share link on the page"
    return match.group(1)


def test_share_button_gives_a_preview_link(client, share):
    client.force_login(make_user("Editors"))
    article = make_article(published=False, title="Secret Draft Headline")
    response = client.post(f"{ADMIN}/{article.pk}/share/", follow=True)
    assert response.status_code == 200
    assert "Secret Draft Headline" in html(Client().get(shared_link_in(html(response))))


def test_share_link_shows_the_draft_to_a_reader_without_account(share):
    article = make_article(published=False, title="Secret Draft Headline")
    response = Client().get(share(article))
    assert response.status_code == 200
    assert "Secret Draft Headline" in html(response)
    assert "noindex" in response["X-Robots-Tag"]


def test_tampered_share_link_is_not_found(share):
    article = make_article(published=False, title="Secret Draft Headline")
    link = share(article)
    tampered = link[:-2] + ("A" if link[-2] != "A" else "B") + "/"
    response = Client().get(tampered)
    assert response.status_code == 404
    assert "Secret Draft Headline" not in html(response)


def test_share_link_expires(share, settings):
    settings.NEWSROOM_PREVIEW_MAX_AGE = 1
    article = make_article(published=False, title="Secret Draft Headline")
    link = share(article)
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        response = Client().get(link)
    assert response.status_code in (404, 410)
    assert "Secret Draft Headline" not in html(response)


def test_share_link_for_one_story_cannot_show_another(share):
    story_a = make_article(published=False, title="Story A Draft")
    story_b = make_article(published=False, title="Story B Draft")
    page = html(Client().get(share(story_a)))
    assert "Story A Draft" in page and "Story B Draft" not in page
    # A genuine signature naming B's id with A's slug (as if ids were reused) shows nothing.
    forged = preview_token(Article(pk=story_b.pk, slug=story_a.slug))
    response = Client().get(reverse("articles:shared_preview", kwargs={"token": forged}))
    assert response.status_code == 404
    assert "Story B Draft" not in html(response)


# 10. Status badge in the changelist.


def test_changelist_badge_says_in_review(client):
    submitted_draft(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    css_class, text = badge(html(client.get(f"{ADMIN}/")))
    assert text == "In review" and "status-badge" in css_class


def test_changelist_badge_class_names_the_status(client):
    submitted_draft(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    css_class, _ = badge(html(client.get(f"{ADMIN}/")))
    assert "in_review" in css_class


# Found while writing these: scheduling an update hides the version readers already have.


def test_scheduled_update_keeps_current_version_live_until_then(client):
    article = submitted_changes(make_user("Editors"))
    client.force_login(make_user("Moderators"))
    go_live = local_minute(timezone.now() + timedelta(days=1))
    response = take_step(client, article, "approve", change_kind="minor", go_live_at=go_live)
    assert response.status_code == 302
    response = public_page(article)
    assert response.status_code == 200
    assert "Harbour Vote Passes" in html(response)
