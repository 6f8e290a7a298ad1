"""The browser can reach the live server and render a story."""

from tests.factories import make_article


def test_reader_opens_a_story(page, live_server, transactional_db):
    article = make_article(title="Browser Smoke Story")
    page.goto(live_server.url + article.get_absolute_url())
    assert page.locator("h1").inner_text() == "Browser Smoke Story"
    assert "Source:" in page.locator("footer.attribution").inner_text()
