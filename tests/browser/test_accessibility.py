"""Accessibility: axe-core (through axe-playwright-python) finds no serious or critical
violations on the readers' pages and on a story's admin change page. Moderate and minor
findings do not fail the test; they are reported as warnings in the test summary."""

import pytest
from playwright.sync_api import expect

from articles import workflow
from tests.browser.axe import check_page
from tests.browser.helpers import change_url, log_in, roles, roles_left_in_place  # noqa: F401 - fixtures
from tests.factories import make_article, make_desk, make_source, make_user

# The live server needs a transactional database; the roles come from data migrations
# (see helpers.roles).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_left_in_place", "roles")]


@pytest.fixture
def story(roles):
    desk = make_desk(name="Climate", slug="climate")
    source = make_source(
        name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire when republishing."
    )
    make_article(
        title="Tidal Turbines Approved for the Harbour",
        slug="tidal-turbines",
        desk=desk,
        source=source,
        byline="Edna Editor",
        tags=["energy"],
    )
    return make_article(
        title="Ferry Timetable Changes", slug="ferry-timetable", desk=desk, source=source, tags=["energy", "transport"]
    )


def test_front_page(page, live_server, story):
    page.goto(f"{live_server.url}/")
    expect(page.locator(".story-list .card")).to_have_count(2)
    check_page(page, "front page")


def test_story_page(page, live_server, story):
    page.goto(f"{live_server.url}{story.get_absolute_url()}")
    expect(page.locator("footer.attribution")).to_be_visible()
    check_page(page, "story page")


def test_tag_page(page, live_server, story):
    page.goto(f"{live_server.url}/tags/energy/")
    expect(page.locator(".story-list .card")).to_have_count(2)
    check_page(page, "tag page")


def test_search_results_page(page, live_server, story):
    page.goto(f"{live_server.url}/search/?q=harbour")
    expect(page.locator(".search-results .card")).to_have_count(2)
    check_page(page, "search results page")


def test_admin_change_page(page, live_server, story):
    make_user("Editors", username="edna")
    log_in(page, live_server.url, "edna")
    page.goto(change_url(live_server.url, story))
    expect(page.locator("#id_title")).to_have_value("Ferry Timetable Changes")
    expect(page.locator("#sections-0")).to_be_visible()  # nested_admin has set up the inlines
    check_page(page, "admin change page")


def test_admin_change_page_workflow_additions(page, live_server, story):
    """Our own additions to the change page (workflow state, review comment, workflow buttons)."""
    editor, moderator = make_user("Editors", username="edna"), make_user("Moderators")
    draft = make_article(published=False, title="Night Ferry Returns", slug="night-ferry")
    workflow.article_submit(article=draft, user=editor)
    workflow.article_request_changes(article=draft, user=moderator, comment="Add the timetable, please.")
    log_in(page, live_server.url, "edna")
    page.goto(change_url(live_server.url, draft))
    expect(page.locator(".review-comment")).to_contain_text("Add the timetable, please.")
    expect(page.locator(".object-tools")).to_contain_text("Submit for review")
    check_page(
        page,
        "admin change page (workflow additions)",
        context={"include": [[".workflow-state"], [".object-tools"], ["ul.messagelist"]]},
    )
