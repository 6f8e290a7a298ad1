"""A reader at 1280 and 390 px (issue 15, part 7): the desks in the header are visible and take
the reader to their pages, nothing scrolls sideways, no page logs a console error or fails to
load a resource (the favicon included), desk labels share one colour, a page past the end is
404 "No such page"; screenshot reader-front-390, and axe on the front page."""

import pytest

from tests.browser.axe import check_page
from tests.browser.helpers import new_page, roles, roles_left_in_place  # noqa: F401 - fixtures
from tests.factories import make_article, make_desk

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
DESKS = ["Climate", "Science and Technology", "Sport", "Culture", "Business", "World", "Local News"]


pytestmark = pytest.mark.usefixtures("roles_left_in_place")


@pytest.fixture
def newsroom(roles):
    """A live story on each of seven desks (long names among them), two tagged."""
    stories = []
    for n, name in enumerate(DESKS):
        desk = make_desk(name=name, slug=name.lower().replace(" ", "-"))
        stories.append(make_article(title=f"{name} story of the day", desk=desk, tags=["daily"] if n < 2 else []))
    return stories


def watch(page) -> list[str]:
    """Console errors and failed loads (status 400 and over) of the page, as they happen."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("response", lambda reply: reply.status >= 400 and problems.append(f"{reply.status} {reply.url}"))
    return problems


def header_desk_names(page) -> list[str]:
    return page.locator("nav.site-desks a").all_inner_texts()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_reader_finds_the_desks_in_the_header_and_nothing_fails(new_page, live_server, newsroom, screenshots, width):
    page = new_page(width=width)
    problems = watch(page)
    page.goto(live_server.url + "/")
    assert [name.casefold() for name in header_desk_names(page)] == [name.casefold() for name in sorted(DESKS)]
    for link in page.locator("nav.site-desks a").all():
        assert link.is_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, "a desk link is off the screen"
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the front page scrolls sideways"
    if width == 390:
        screenshots(page, "reader-front-390", full_page=True)
    check_page(page, f"front page at {width} px")

    # The header takes the reader to a desk; every public page keeps it, without errors.
    page.locator("nav.site-desks a", has_text="Science and Technology").click()
    page.wait_for_url("**/desks/science-and-technology/")
    assert page.locator("h1").inner_text() == "Science and Technology"
    assert page.locator("nav.site-desks a[aria-current=page]").inner_text().casefold() == "science and technology"
    story = newsroom[1]
    for path in (story.get_absolute_url(), "/tags/daily/", "/archive/", "/search/?q=story"):
        page.goto(live_server.url + path)
        assert len(header_desk_names(page)) == len(DESKS), path
        assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{path} scrolls sideways"
    assert not problems, problems

    # One colour for the desk label: header, card, story page.
    page.goto(live_server.url + story.get_absolute_url())
    story_colour = page.locator(".story__desk").evaluate("e => getComputedStyle(e).color")
    header_colour = page.locator("nav.site-desks a").first.evaluate("e => getComputedStyle(e).color")
    page.goto(live_server.url + "/")
    card_colour = page.locator(".card__desk a").first.evaluate("e => getComputedStyle(e).color")
    assert story_colour == header_colour == card_colour == "rgb(179, 38, 30)"

    # The browser's own request for /favicon.ico finds an icon.
    icon = page.request.get(live_server.url + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")


def test_a_page_past_the_end_is_no_such_page(new_page, live_server, newsroom):
    page = new_page(width=390)
    response = page.goto(live_server.url + "/?page=9")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "No such page"
    assert "no stories yet" not in page.content().lower()
    page.get_by_role("link", name="Go to the first page").click()
    page.wait_for_url(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Latest stories"
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
