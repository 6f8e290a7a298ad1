"""The desk's dashboard in a real browser: an editor and a moderator log in and land on their
own start page, with something in every box and a chart of several days; it passes axe and
fits a 390 px phone without sideways scrolling."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from articles import workflow
from articles.models import Article
from tests.browser.axe import check_page
from tests.browser.helpers import log_in, new_page, roles, roles_left_in_place  # noqa: F401 - fixtures
from tests.factories import make_article, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]


def _submitted(editor, title: str) -> Article:
    article = make_article(published=False, created_by=editor, title=title)
    workflow.article_saved(article=article, user=editor)
    workflow.article_submit(article=article, user=editor)
    return article


@pytest.fixture
def desk(roles):
    """A newsroom mid-week: every box of the dashboard has something for edna and mo."""
    edna = make_user("Editors", username="edna")
    other = make_user("Editors", username="otto")
    mo = make_user("Moderators", username="mo")
    now = timezone.now()
    # The last ten days' reviews: several stories a day, quicker and slower ones, some days off.
    for days_ago, hours in ((9, 2), (9, 7), (8, 5), (6, 1), (6, 3), (6, 20), (5, 4), (3, 9), (2, 2), (1, 6), (1, 12)):
        with time_machine.travel(now - timedelta(days=days_ago, hours=hours), tick=False):
            story = _submitted(edna, f"Harbour review {days_ago}-{hours}")
        with time_machine.travel(now - timedelta(days=days_ago), tick=False):
            workflow.article_approve(article=story, user=mo)
    with time_machine.travel(now - timedelta(days=2), tick=False):
        gone = make_article(title="Ferry fares rise", created_by=edna)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        workflow.article_unpublish(article=gone, user=mo, reason="The fares were withdrawn.")
    for title in ("Tidal turbines: the second vote", "Night buses return"):
        draft = make_article(published=False, created_by=edna, title=title)
        workflow.article_saved(article=draft, user=edna)
    back = _submitted(edna, "Council budget explained")
    workflow.article_request_changes(article=back, user=mo, comment="Name the source of the second figure.")
    with time_machine.travel(now - timedelta(hours=26), tick=False):
        _submitted(edna, "Lighthouse keeper retires")
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        _submitted(other, "Harbour dredging begins")
    make_article(title="Marina opening", go_live_at=now + timedelta(hours=5))
    make_article(title="Storm warning", expires_at=now + timedelta(days=1))
    return {"edna": edna, "mo": mo}


def assert_fits(page, name: str):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow} px"


def test_editor_dashboard(page, live_server, desk, screenshots, new_page):
    log_in(page, live_server.url, "edna")
    expect(page.locator("h1")).to_have_text("Your desk")
    expect(page.locator("#desk-drafts")).to_contain_text("Tidal turbines: the second vote")
    expect(page.locator("#desk-drafts")).to_contain_text("Night buses return")
    expect(page.locator("#desk-sent-back")).to_contain_text("Name the source of the second figure.")
    expect(page.locator("#desk-review h2")).to_have_text("My stories in review (1)")
    expect(page.locator("#desk-review")).to_contain_text("Lighthouse keeper retires")
    expect(page.locator("#desk-review")).not_to_contain_text("Harbour dredging begins")  # otto's
    expect(page.locator("#desk-schedule")).to_contain_text("Marina opening")
    expect(page.locator("#desk-schedule")).to_contain_text("Storm warning")
    expect(page.locator("#desk-published")).to_contain_text("Harbour review 1-12")
    expect(page.locator("#desk-unpublished")).to_contain_text("Ferry fares rise")
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("#content-related")).to_contain_text("Sources")  # the app list
    check_page(page, "dashboard (editor)")
    screenshots(page, "dashboard-editor", full_page=True)

    # "All my drafts" is the story list, filtered the same way.
    page.locator("#desk-drafts").get_by_role("link", name="All my drafts").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(3)  # two drafts and the one sent back
    expect(page.locator("#result_list")).to_contain_text("Changes requested")

    phone = new_page(width=390, height=844)
    log_in(phone, live_server.url, "edna")
    expect(phone.locator("#desk-sent-back")).to_contain_text("Council budget explained")
    assert_fits(phone, "the editor's dashboard at 390 px")
    screenshots(phone, "dashboard-editor-phone", full_page=True)


def test_moderator_dashboard(page, live_server, desk, screenshots, new_page):
    log_in(page, live_server.url, "mo")
    expect(page.locator("#desk-review h2")).to_have_text("Review queue (2 waiting)")
    queue = page.locator("#desk-review li")
    expect(queue.nth(0)).to_contain_text("Lighthouse keeper retires")  # oldest first
    expect(queue.nth(0)).to_contain_text("waiting 1")
    expect(queue.nth(1)).to_contain_text("Harbour dredging begins")
    expect(page.locator("#desk-published li")).to_have_count(10)  # the last 7 days' approvals, ten at most
    expect(page.locator("#desk-published li").filter(has_text="Marina opening")).to_contain_text("live from")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("g.chart__day")).to_have_count(7)  # seven days with publications
    expect(chart.locator("polyline.chart__line--median")).to_have_count(3)  # days off split the line
    page.get_by_text("The figures as a table").click()
    expect(page.locator(".desk-figures tbody tr")).to_have_count(7)
    check_page(page, "dashboard (moderator)")
    screenshots(page, "dashboard-moderator", full_page=True)

    page.locator("#desk-review").get_by_role("link", name="Lighthouse keeper retires").click()
    expect(page.locator("#content h2, #content h1").first).to_be_visible()
    assert "/change/" in page.url

    phone = new_page(width=390, height=844)
    log_in(phone, live_server.url, "mo")
    expect(phone.locator("svg.chart")).to_be_visible()
    assert_fits(phone, "the moderator's dashboard at 390 px")
    check_page(phone, "dashboard (moderator, 390 px)")
    screenshots(phone, "dashboard-moderator-phone", full_page=True)
