"""The review screens in the admin's own look (issue 15 part 3): history, diff, transition and
review queue pages; the coloured, word-level diff; the queue's per-row review controls and
why Approve is missing; the editor's note for the moderator; and the attacks on all of it."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django.utils.text import capfirst

from articles import workflow
from articles.diffing import Segment, snapshot_diff, word_diff
from articles.models import Article, Transition
from articles.snapshots import article_snapshot
from tests.factories import make_article, make_desk, make_user

pytestmark = pytest.mark.django_db

ADMIN = "/admin/articles/article"
QUEUE = f"{ADMIN}/review-queue/"


# People and stories, set up through the workflow.


@pytest.fixture
def people():
    return {
        "editor": make_user("Editors", username="ed"),
        "mod_a": make_user("Moderators", username="mod_a"),
        "mod_b": make_user("Moderators", username="mod_b"),
    }


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rewrite(article, user, **fields) -> Article:
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    workflow.article_saved(article=article, user=user)
    article.refresh_from_db()
    return article


def new_story_in_review(editor, note="", **fields) -> Article:
    article = rewrite(make_article(published=False, created_by=editor, **fields), editor)
    workflow.article_submit(article=article, user=editor, note=note)
    article.refresh_from_db()
    return article


def live_story_with_changes_in_review(editor, title="Harbour Vote Passes", new_title="Harbour Vote Passes Narrowly"):
    article = rewrite(make_article(title=title), editor, title=new_title)
    workflow.article_submit(article=article, user=editor)
    article.refresh_from_db()
    return article


def html(response) -> str:
    return response.content.decode()


def queue_row(page: str, article) -> str:
    match = re.search(rf'<tr id="queue-{article.pk}".*?</tr>', page, re.S)
    assert match, f"no queue row for {article}"
    return match.group(0)


def crumbs(page: str) -> list[str]:
    trail = re.search(r'<ol class="breadcrumbs">(.*?)</ol>', page, re.S)
    assert trail, "no admin breadcrumbs"
    items = re.findall(r"<li[^>]*>(.*?)</li>", trail.group(1), re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in items]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# 1. The admin's look: its templates, its styles, its breadcrumbs.


@pytest.mark.parametrize(
    "screen, last_crumb",
    [("history", "History"), ("diff", "Revision #1"), ("transition", "Request changes"), ("queue", "Review queue")],
)
def test_review_screens_use_the_admin_look_and_breadcrumbs(people, screen, last_crumb):
    article = new_story_in_review(people["editor"], title="Quay Wall Repairs")
    url = {
        "history": f"{ADMIN}/{article.pk}/history/",
        "diff": f"{ADMIN}/{article.pk}/revisions/1/",
        "transition": f"{ADMIN}/{article.pk}/transition/request-changes/",
        "queue": QUEUE,
    }[screen]
    page = html(client_for(people["mod_a"]).get(url))
    for sheet in ("/static/admin/css/base.css", "/static/css/admin.css", "/static/css/review.css"):
        assert f'href="{sheet}"' in page, sheet
    trail = crumbs(page)
    # As on the admin's own pages: the app, then the story list under the model's name.
    assert trail[:3] == ["Home", "Newsroom", capfirst(Article._meta.verbose_name_plural)]
    if screen != "queue":
        assert trail[3] == "Quay Wall Repairs"
    assert trail[-1] == last_crumb
    assert ' style="' not in page and "<script>" not in page  # the strict CSP: no inline styles or scripts


# 2. The diff: coloured lines, words marked inside them, bullets as content, all escaped.


def test_word_diff_marks_only_the_changed_words():
    before, after = word_diff("Title: Old Harbour Headline", "Title: New Harbour Headline")
    assert [s for s in before if s.changed] == [Segment("Old", True)]
    assert [s for s in after if s.changed] == [Segment("New", True)]
    assert "".join(s.text for s in before) == "Title: Old Harbour Headline"


def test_word_diff_gives_up_on_lines_with_little_in_common():
    assert word_diff("Lede: The board voted.", "Tags: ferries, weather, night buses") is None


def test_diff_page_marks_changed_words_inside_the_line(people):
    article = make_article(published=False, title="Old Harbour Headline", created_by=people["editor"])
    rewrite(article, people["editor"])
    rewrite(article, people["editor"], title="New Harbour Headline")
    page = html(client_for(people["editor"]).get(f"{ADMIN}/{article.pk}/revisions/1/"))
    removed = re.search(r'<li class="review-diff__line review-diff__line--removed[^"]*">(.*?)</li>', page, re.S)
    added = re.search(r'<li class="review-diff__line review-diff__line--added[^"]*">(.*?)</li>', page, re.S)
    assert removed and added
    assert '<span class="visually-hidden">removed: </span>' in removed.group(1)
    assert '<span class="visually-hidden">added: </span>' in added.group(1)
    assert "Title: <del>Old</del> Harbour Headline" in removed.group(1)
    assert "Title: <ins>New</ins> Harbour Headline" in added.group(1)


def test_story_bullets_read_as_content_not_as_diff_markers(people):
    article = make_article(published=False, created_by=people["editor"])
    rewrite(article, people["editor"])
    article.key_facts.update(text="Eight to one in favour.")
    rewrite(article, people["editor"])
    lines = snapshot_diff(article.revisions.last().data, article_snapshot(article))
    fact = [line for line in lines if line.op == "removed"]
    assert [(line.text, line.bullet) for line in fact] == [("Vote: Seven to two in favour.", True)]
    page = html(client_for(people["editor"]).get(f"{ADMIN}/{article.pk}/revisions/1/"))
    text = re.sub(r"<[^>]+>", "", page)
    assert "• \n    Vote:" in text or re.search(r"•\s*Vote: ", text)
    assert not re.search(r"^\s*[-+−]\s+Vote", text, re.M)  # no marker that reads like a diff's
    assert "review-diff__line--bullet" in page


def test_diff_escapes_the_story_text(people):
    article = make_article(published=False, created_by=people["editor"], title="Harbour <b>news</b>")
    rewrite(article, people["editor"])
    rewrite(article, people["editor"], title="Harbour <script>alert(1)</script> news")
    page = html(client_for(people["editor"]).get(f"{ADMIN}/{article.pk}/revisions/1/"))
    assert "<script>alert(1)" not in page and "<b>news</b>" not in page
    assert "&lt;script&gt;" in page


def test_diff_against_live_shows_what_approving_would_change(people):
    article = live_story_with_changes_in_review(people["editor"], "Ferry Times Change", "Ferry Times Change Again")
    number = article.revisions.first().number
    page = html(client_for(people["mod_a"]).get(f"{ADMIN}/{article.pk}/revisions/{number}/?against=live"))
    assert "Title: Ferry Times Change" in re.sub(r"<[^>]+>", "", page)
    assert "<ins>" in page and "Again</ins>" in page  # the new words are the added ones
    assert "only in the live version" in page


# 3. The review queue: one row per story, with its controls or why not.


def test_queue_row_offers_diff_preview_approve_and_request_changes(people):
    changed = live_story_with_changes_in_review(people["editor"])
    page = html(client_for(people["mod_a"]).get(QUEUE))
    row = queue_row(page, changed)
    latest = changed.revisions.first().number
    assert f'href="{ADMIN}/{changed.pk}/revisions/{latest}/?against=live"' in row
    assert f'href="{ADMIN}/{changed.pk}/preview/"' in row
    assert f'href="{ADMIN}/{changed.pk}/transition/approve/?next=/admin/articles/article/review-queue/"' in row
    assert f'action="{ADMIN}/{changed.pk}/transition/request-changes/"' in row
    assert 'name="comment"' in row and 'name="next" value="/admin/articles/article/review-queue/"' in row
    assert "Changes to a live story" in row


def test_queue_row_for_a_new_story_has_no_diff_against_live(people):
    fresh = new_story_in_review(people["editor"])
    row = queue_row(html(client_for(people["mod_a"]).get(QUEUE)), fresh)
    assert "Diff against live" not in row and "New story" in row
    assert "Preview" in row and "Approve" in row


def test_queue_says_why_approve_is_missing_for_the_last_writer(people):
    article = rewrite(new_story_in_review(people["editor"]), people["mod_a"], title="Copy Fixed By Mod A")
    row = queue_row(html(client_for(people["mod_a"]).get(QUEUE)), article)
    assert "/transition/approve/" not in row
    assert "mod_a made the last change" in row and "another moderator must" in row
    assert "request-changes" in row  # sending it back is still theirs to do
    other = queue_row(html(client_for(people["mod_b"]).get(QUEUE)), article)
    assert "/transition/approve/" in other and "made the last change" not in other


def test_queue_shows_desk_submitter_wait_and_note(people):
    desk = make_desk(name="Harbour Desk")
    article = new_story_in_review(people["editor"], note="Checked the vote count\nwith the clerk.", desk=desk)
    Article.objects.filter(pk=article.pk).update(submitted_at=timezone.now() - timedelta(hours=3))
    row = queue_row(html(client_for(people["mod_a"]).get(QUEUE)), article)
    assert "Harbour Desk" in row and ">ed<" in row
    assert "3\xa0hours" in row
    assert "Checked the vote count<br>with the clerk." in row


def test_queue_note_is_escaped(people):
    article = new_story_in_review(people["editor"], note='<img src=x onerror="alert(1)">')
    row = queue_row(html(client_for(people["mod_a"]).get(QUEUE)), article)
    assert "<img" not in row and "&lt;img" in row


def queue_rows(people, start: int, stop: int) -> None:
    """Stories in review of every kind a row can show, `stop - start` of them."""
    for n in range(start, stop):
        if n % 3 == 0:
            live_story_with_changes_in_review(people["editor"], f"Live Story {n}", f"Live Story {n} Changed")
        elif n % 3 == 1:
            new_story_in_review(people["editor"], note=f"note {n}")
        else:  # a story the moderator last changed: the four-eyes refusal on its row
            rewrite(new_story_in_review(people["editor"]), people["mod_a"], title=f"Fixed {n}")


def test_queue_reads_a_fixed_number_of_queries(people, django_assert_max_num_queries):
    client = client_for(people["mod_a"])
    counts = {}
    for rows, (start, stop) in ((3, (0, 3)), (30, (3, 30))):
        queue_rows(people, start, stop)
        with django_assert_max_num_queries(8) as queries:
            page = html(client.get(QUEUE))
        counts[rows] = len(queries)
        assert page.count('class="review-queue__row"') == rows
        assert page.count("made the last change") == rows // 3
    assert counts[3] == counts[30], counts


# 4. From the queue and back: approve and request changes, with `next`.


def test_approve_from_the_queue_returns_to_the_queue(people):
    article = new_story_in_review(people["editor"])
    client = client_for(people["mod_a"])
    response = client.post(f"{ADMIN}/{article.pk}/transition/approve/", {"next": QUEUE})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert Article.objects.get(pk=article.pk).is_live


def test_request_changes_inline_returns_to_the_queue_with_a_message(people):
    article = new_story_in_review(people["editor"])
    client = client_for(people["mod_a"])
    response = client.post(
        f"{ADMIN}/{article.pk}/transition/request-changes/", {"comment": "Name the clerk.", "next": QUEUE}
    )
    assert response.status_code == 302 and response["Location"] == QUEUE
    article.refresh_from_db()
    assert (article.status, article.review_comment) == (Article.Status.DRAFT, "Name the clerk.")
    assert any("Request changes: done." in m for m in messages_of(response))


def test_request_changes_with_an_empty_comment_shows_the_error_and_keeps_the_place(people):
    article = new_story_in_review(people["editor"])
    response = client_for(people["mod_a"]).post(
        f"{ADMIN}/{article.pk}/transition/request-changes/", {"comment": "   ", "next": QUEUE}
    )
    assert response.status_code == 200
    page = html(response)
    assert "This field is required." in page or "cannot be empty" in page
    assert f'name="next" value="{QUEUE}"' in page
    assert f'href="{QUEUE}">Cancel' in page
    assert Article.objects.get(pk=article.pk).status == Article.Status.IN_REVIEW


def test_refused_request_changes_keeps_the_typed_comment(people):
    article = new_story_in_review(people["editor"])
    workflow.article_withdraw(article=article, user=people["editor"])  # meanwhile, taken back
    response = client_for(people["mod_a"]).post(
        f"{ADMIN}/{article.pk}/transition/request-changes/", {"comment": "Name the clerk, please.", "next": QUEUE}
    )
    assert response.status_code == 200
    page = html(response)
    assert "Cannot send back" in page and "it is draft" in page
    assert "Name the clerk, please.</textarea>" in page


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/articles/article/review-queue/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "/",  # this host, but not the admin
        "/articles/some-story/",
    ],
)
def test_next_outside_this_admin_is_ignored(people, next_url):
    article = new_story_in_review(people["editor"])
    client = client_for(people["mod_a"])
    response = client.post(f"{ADMIN}/{article.pk}/transition/request-changes/", {"comment": "Fix.", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}/{article.pk}/change/"
    assert "evil" not in html(client.get(f"{ADMIN}/{article.pk}/transition/unpublish/?next={next_url}"))


# 5. Attackers: other stories, other states, other people.


def test_request_changes_on_a_story_not_in_review_is_refused_with_the_workflow_message(people):
    draft = make_article(published=False, created_by=people["editor"])
    response = client_for(people["mod_a"]).post(
        f"{ADMIN}/{draft.pk}/transition/request-changes/", {"comment": "Fix.", "next": QUEUE}
    )
    assert response.status_code == 200
    assert "only a story that is in review can be" in html(response)
    assert not Transition.objects.filter(article=draft, action="request-changes").exists()


def test_request_changes_posted_for_another_story_changes_only_that_story(people):
    mine, other = new_story_in_review(people["editor"]), make_article(title="Someone Else's Live Story")
    response = client_for(people["mod_a"]).post(
        f"{ADMIN}/{other.pk}/transition/request-changes/", {"comment": "Fix.", "next": QUEUE, "article": mine.pk}
    )
    assert response.status_code == 200  # refused: the live story is not in review
    assert Article.objects.get(pk=mine.pk).status == Article.Status.IN_REVIEW
    assert Article.objects.get(pk=other.pk).status == Article.Status.PUBLISHED


def test_request_changes_for_a_story_that_does_not_exist_is_not_found(people):
    client = client_for(people["mod_a"])
    assert client.post(f"{ADMIN}/999999/transition/request-changes/", {"comment": "x"}).status_code == 404
    assert client.post(f"{ADMIN}/abc/transition/request-changes/", {"comment": "x"}).status_code == 404


def test_editor_sees_no_review_controls_in_the_queue(people):
    article = new_story_in_review(people["editor"])
    row = queue_row(html(client_for(make_user("Editors")).get(QUEUE)), article)
    assert "Preview" in row
    assert "/transition/approve/" not in row and "request-changes" not in row and "<textarea" not in row
    assert "Approve is not yours" not in row


@pytest.mark.parametrize("action", ["approve", "request-changes"])
def test_editor_forging_a_review_post_is_refused(people, action):
    article = new_story_in_review(people["editor"])
    response = client_for(make_user("Editors", username="forger")).post(
        f"{ADMIN}/{article.pk}/transition/{action}/", {"comment": "Looks fine.", "next": QUEUE}
    )
    assert response.status_code == 200
    assert "forger may not" in html(response) and "approve_article" in html(response)
    assert Article.objects.get(pk=article.pk).status == Article.Status.IN_REVIEW


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "review-queue/"),
        ("get", "{pk}/history/"),
        ("get", "{pk}/revisions/1/"),
        ("get", "{pk}/transition/approve/"),
        ("post", "{pk}/transition/request-changes/"),
    ],
)
def test_anonymous_is_sent_to_log_in(people, method, path):
    article = new_story_in_review(people["editor"])
    response = getattr(Client(), method)(f"{ADMIN}/{path.format(pk=article.pk)}", {"comment": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert Article.objects.get(pk=article.pk).status == Article.Status.IN_REVIEW


# 6. The note for the moderator.


def test_editor_leaves_a_note_when_submitting(people):
    article = rewrite(make_article(published=False, created_by=people["editor"]), people["editor"])
    client = client_for(people["editor"])
    form = html(client.get(f"{ADMIN}/{article.pk}/transition/submit/"))
    assert "Note for the moderator" in form
    response = client.post(f"{ADMIN}/{article.pk}/transition/submit/", {"note": "  Second source is the clerk.  "})
    assert response.status_code == 302
    submitted = Transition.objects.get(article=article, action="submit")
    assert submitted.comment == "Second source is the clerk."


def test_note_is_optional(people):
    article = rewrite(make_article(published=False, created_by=people["editor"]), people["editor"])
    response = client_for(people["editor"]).post(f"{ADMIN}/{article.pk}/transition/submit/", {})
    assert response.status_code == 302
    assert Transition.objects.get(article=article, action="submit").comment == ""


def test_only_the_submit_form_asks_for_a_note(people):
    article = new_story_in_review(people["editor"])
    page = html(client_for(people["mod_a"]).get(f"{ADMIN}/{article.pk}/transition/approve/"))
    assert "Note for the moderator" not in page


def test_moderator_sees_the_note_on_the_change_page(people):
    article = new_story_in_review(people["editor"], note="Photo credit still to confirm.")
    page = html(client_for(people["mod_a"]).get(f"{ADMIN}/{article.pk}/change/"))
    assert "Note for the moderator:</strong> Photo credit still to confirm." in page


def test_change_page_shows_the_latest_submissions_note_only(people):
    article = new_story_in_review(people["editor"], note="First try.")
    workflow.article_request_changes(article=article, user=people["mod_a"], comment="Add the cost.")
    rewrite(article, people["editor"], lede="It costs four million.")
    workflow.article_submit(article=article, user=people["editor"], note="Cost added.")
    page = html(client_for(people["mod_a"]).get(f"{ADMIN}/{article.pk}/change/"))
    assert "Cost added." in page and "First try." not in page
    row = queue_row(html(client_for(people["mod_a"]).get(QUEUE)), article)
    assert "Cost added." in row and "First try." not in row


def test_change_page_says_why_approve_is_missing(people):
    article = rewrite(new_story_in_review(people["editor"]), people["mod_a"], title="Copy Fixed By Mod A")
    page = html(client_for(people["mod_a"]).get(f"{ADMIN}/{article.pk}/change/"))
    assert "This story cannot be approved by you" in page and "mod_a made the last change" in page
