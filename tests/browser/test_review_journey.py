"""The review desk in a real browser (issue 15 part 3): an editor submits with a note for the
moderator; a moderator works the review queue row by row (sends one back from the row, approves
another, is told why a story they last changed is not theirs to approve), reads the coloured
diff against the live version and the history; axe on every review screen, at 1280 and 390 px."""

import re

import pytest
from playwright.sync_api import expect

from articles import workflow
from articles.models import Article
from tests.browser.axe import check_page
from tests.browser.helpers import (  # noqa: F401 - fixtures
    change_url,
    log_in,
    new_page,
    roles,
    roles_left_in_place,
    run_workflow_step,
)
from tests.factories import make_article, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]

QUEUE = "/admin/articles/article/review-queue/"


def saved_by(article, user, **fields) -> Article:
    """The story with `fields` written by `user`, recorded as their save (a revision)."""
    Article.objects.filter(pk=article.pk).update(**fields)
    article.refresh_from_db()
    workflow.article_saved(article=article, user=user)
    article.refresh_from_db()
    return article


def in_review(article, editor) -> Article:
    workflow.article_submit(article=article, user=editor)
    article.refresh_from_db()
    return article


def row_of(page, title):
    return page.locator("table.review-queue tbody tr", has=page.get_by_role("link", name=title, exact=True))


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_moderator_works_the_queue_row_by_row(page, live_server, new_page, screenshots):
    edna, mona = make_user("Editors", username="edna"), make_user("Moderators", username="mona")
    ferry = make_article(title="Ferry Timetable Changes", slug="ferry")
    ferry.key_facts.update(text="Eight to one in favour.")  # a story bullet changes, word by word
    ferry = in_review(saved_by(ferry, edna, title="Ferry Timetable Changes From Monday"), edna)
    lighthouse = in_review(saved_by(make_article(published=False, title="Lighthouse Reopens"), edna), edna)
    quay = make_article(published=False, title="Quay Wall Repairs")
    quay = saved_by(in_review(saved_by(quay, edna), edna), mona, title="Quay Wall Repairs Begin")
    draft = saved_by(make_article(published=False, title="Night Buses Return"), edna)

    # The editor submits her draft with a note for the moderator.
    editor_page = new_page()
    log_in(editor_page, live_server.url, "edna")
    editor_page.goto(change_url(live_server.url, draft))
    editor_page.locator(".object-tools").get_by_role("link", name="Submit for review", exact=True).click()
    check_page(editor_page, "submit transition page")
    editor_page.get_by_label("Note for the moderator").fill("The timetable is from the operator's site.")
    editor_page.locator("#content-main input[type=submit]").click()
    expect(editor_page.locator("ul.messagelist")).to_contain_text("Submit for review: done.")

    # The moderator opens the queue: four rows, each with its controls or why not.
    log_in(page, live_server.url, "mona")
    page.goto(f"{live_server.url}{QUEUE}")
    expect(page.locator("table.review-queue tbody tr")).to_have_count(4)
    expect(page.locator("ol.breadcrumbs")).to_contain_text("Review queue")
    expect(row_of(page, "Night Buses Return")).to_contain_text("The timetable is from the operator's site.")
    quay_row = row_of(page, "Quay Wall Repairs Begin")
    expect(quay_row.locator(".review-queue__why")).to_contain_text("mona made the last change")
    expect(quay_row.get_by_role("link", name=re.compile("^Approve"))).to_have_count(0)
    new_story = row_of(page, "Lighthouse Reopens")
    expect(new_story).to_contain_text("New story")
    expect(new_story.get_by_role("link", name=re.compile("Diff against live"))).to_have_count(0)
    check_page(page, "review queue")
    screenshots(page, "review-queue", full_page=True)

    # Request changes inline, from the Lighthouse row; back to the queue.
    row = row_of(page, "Lighthouse Reopens")
    row.get_by_label(re.compile("What should the editor change")).fill("Say when it reopens.")
    row.get_by_role("button", name=re.compile("^Request changes")).click()
    expect(page.locator("ul.messagelist")).to_contain_text("Request changes: done.")
    assert page.url.endswith(QUEUE)
    expect(page.locator("table.review-queue tbody tr")).to_have_count(3)
    lighthouse.refresh_from_db()
    assert (lighthouse.status, lighthouse.review_comment) == (Article.Status.DRAFT, "Say when it reopens.")

    # The ferry story changes a live one: read the diff against live first.
    row_of(page, "Ferry Timetable Changes From Monday").get_by_role(
        "link", name=re.compile("^Diff against live")
    ).click()
    removed = page.locator(".review-diff__line--removed").first
    added = page.locator(".review-diff__line--added").first
    expect(removed.locator("del")).to_have_count(0)  # the title gained words: nothing removed inside it
    expect(added.locator("ins")).to_have_text(re.compile(r"^\s*From Monday$"))
    fact = page.locator(".review-diff__line--removed.review-diff__line--bullet")
    expect(fact).to_contain_text("• Vote: Seven to two in favour.")
    expect(fact.locator("del")).to_have_text(["Seven", "two"])
    word = fact.locator("del").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert word == "rgb(245, 183, 183)", "a removed word is marked more strongly than its line"
    assert "monospace" in page.locator(".review-diff").evaluate("e => getComputedStyle(e).fontFamily")
    red, green = (line.evaluate("e => getComputedStyle(e).backgroundColor") for line in (removed, added))
    assert (red, green) == ("rgb(253, 232, 232)", "rgb(227, 244, 230)")
    bullet = page.locator(".review-diff__line--bullet").first
    expect(bullet).to_contain_text("• ")
    expect(bullet).not_to_contain_text("- ")
    check_page(page, "diff against live")
    screenshots(page, "review-diff", full_page=True)
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="History").click()
    expect(page.locator("table.timeline")).to_contain_text("In review (submit)")
    check_page(page, "history")

    # Approve the ferry story from its row; the transition page returns to the queue.
    page.goto(f"{live_server.url}{QUEUE}")
    row_of(page, "Ferry Timetable Changes From Monday").get_by_role("link", name=re.compile("^Approve")).click()
    expect(page.locator("#content-main input[type=submit]")).to_have_value("Approve and publish")
    check_page(page, "approve transition page")
    page.locator("#content-main input[type=submit]").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Approve and publish: done.")
    assert page.url.endswith(QUEUE)
    ferry.refresh_from_db()
    assert ferry.is_live and ferry.publication.revision.data["title"] == "Ferry Timetable Changes From Monday"

    # The story mona changed herself: the change page says why there is no Approve.
    page.goto(change_url(live_server.url, quay))
    expect(page.locator(".approve-refusal")).to_contain_text("another moderator must")
    expect(page.locator(".object-tools").get_by_role("link", name="Approve and publish")).to_have_count(0)

    # The editor's note is on the story's change page too.
    page.goto(change_url(live_server.url, draft))
    expect(page.locator(".submission-note")).to_contain_text("The timetable is from the operator's site.")


def test_review_screens_fit_a_phone(live_server, new_page, screenshots):
    edna = make_user("Editors", username="edna")
    make_user("Moderators", username="mona")
    story = in_review(
        saved_by(make_article(title="Harbour Vote Passes", slug="vote"), edna, title="Harbour Vote Passes Narrowly"),
        edna,
    )
    in_review(saved_by(make_article(published=False, title="Tidal Turbines Approved"), edna), edna)
    phone = new_page(width=390, height=844)
    log_in(phone, live_server.url, "mona")
    phone.goto(f"{live_server.url}{QUEUE}")
    expect(phone.locator("table.review-queue tbody tr")).to_have_count(2)
    assert no_sideways_scroll(phone), "the queue scrolls sideways at 390 px"
    check_page(phone, "review queue at 390 px")
    screenshots(phone, "review-queue-390", full_page=True)
    number = story.revisions.first().number
    phone.goto(f"{live_server.url}/admin/articles/article/{story.pk}/revisions/{number}/?against=live")
    expect(phone.locator(".review-diff__line--added ins")).to_have_text(re.compile(r"^\s*Narrowly$"))
    assert no_sideways_scroll(phone), "the diff scrolls sideways at 390 px"
    check_page(phone, "diff at 390 px")
    phone.goto(f"{live_server.url}/admin/articles/article/{story.pk}/history/")
    check_page(phone, "history at 390 px")
