"""The public article page: live stories only, laid out as a news article with attribution."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from articles.models import Point, Publication, Section
from tests.factories import make_article, make_desk, make_source, make_user, publish

pytestmark = pytest.mark.django_db


class Outline(HTMLParser):
    """Collects the page's element names, headings and attributes for structural checks."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[tuple[str, str]] = []
        self._heading: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading, self._text = tag, []

    def handle_endtag(self, tag):
        if tag == self._heading:
            self.headings.append((tag, " ".join("".join(self._text).split())))
            self._heading = None

    def handle_data(self, data):
        if self._heading:
            self._text.append(data)

    def count(self, tag):
        return sum(1 for name, _ in self.tags if name == tag)


def outline(response) -> Outline:
    parser = Outline()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def story():
    source = make_source(
        name="Harbour Wire", site="harbour.example", credit="Please credit Harbour Wire when republishing."
    )
    article = make_article(
        title="Tidal Turbines Approved",
        lede="The board *approved* three turbines.",
        byline="Ana Reyes",
        desk=make_desk(name="Climate"),
        source=source,
        original_url="https://harbour.example/tidal?ref=rss&x=1",
        published=False,
    )
    second = Section.objects.create(
        article=article, position=1, heading="What Comes Next", body="Work starts in May.", points_heading="Milestones"
    )
    Point.objects.create(section=second, position=0, label="", text="A point without a label.")
    article.take.points.create(position=1, kind="limitations", text="Storms may delay it.")
    article.take.points.create(position=2, kind="advice", text="Watch the timetable.")
    article.tags.add("energy")
    return publish(article)


def test_published_story_shows_every_part(client, story):
    response = client.get(f"/articles/{story.slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Tidal Turbines Approved",
        "<em>approved</em>",
        "Ana Reyes",
        "Climate",
        "Vote",
        "Seven to two in favour.",
        "What Was Decided",
        "<strong>board</strong>",
        "Cost",
        "Four million.",
        "What Comes Next",
        "Milestones",
        "A point without a label.",
        "The Desk&#x27;s Take",
        "🔥",
        "Why This Matters",
        "⚠️",
        "Limitations &amp; Risks",
        "💡",
        "Actionable Advice",
        "Watch the timetable.",
        "energy",
    ):
        assert text in page, text


def test_attribution_block_at_the_foot(client, story):
    page = client.get(f"/articles/{story.slug}/").content.decode()
    foot = page[page.index('class="attribution"') :]
    assert "Source:" in foot and "Harbour Wire (harbour.example)" in foot
    assert "Original:" in foot and 'href="https://harbour.example/tidal?ref=rss&amp;x=1"' in foot
    assert "Please credit Harbour Wire when republishing." in foot
    assert page.index('class="attribution"') > page.index("Watch the timetable.")


def test_semantic_structure(client, story):
    doc = outline(client.get(f"/articles/{story.slug}/"))
    html_tag = next(attrs for name, attrs in doc.tags if name == "html")
    assert html_tag.get("lang", "").startswith("en")
    assert doc.count("h1") == 1
    h2s = [text for level, text in doc.headings if level == "h2"]
    assert "What Was Decided" in h2s and "What Comes Next" in h2s and "The Desk's Take" in h2s
    assert doc.count("article") >= 1 and doc.count("main") == 1
    assert doc.count("li") >= 6  # key facts, points and take points are lists
    assert any(name == "meta" and attrs.get("name") == "viewport" for name, attrs in doc.tags)


def test_hero_image_has_alt_text_and_size(client, story):
    from io import BytesIO

    from django.core.files.base import ContentFile
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (640, 360), "navy").save(buffer, "JPEG")
    story.image.save("hero.jpg", ContentFile(buffer.getvalue()), save=False)
    story.image_alt, story.image_credit = "Three turbines in the harbour", "Photo: J. Doe"
    story.save()
    publish(story)
    doc = outline(client.get(f"/articles/{story.slug}/"))
    img = next(attrs for name, attrs in doc.tags if name == "img")
    assert img["alt"] == "Three turbines in the harbour"
    assert (img["width"], img["height"]) == ("640", "360")


def _in_review():
    from articles import workflow

    article = make_article(published=False)
    workflow.article_submit(article=article, user=make_user("Editors"))
    return article


def _archived():
    from articles import workflow

    article = make_article()
    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Withdrawn by the source.")
    return article


NOT_LIVE = {
    "draft": lambda: make_article(published=False),
    "in-review": _in_review,
    "archived": _archived,
    "scheduled": lambda: make_article(go_live_at=timezone.now() + timedelta(days=1)),
    "expired": lambda: make_article(expires_at=timezone.now() + timedelta(minutes=5)),
}


@pytest.mark.parametrize("state", NOT_LIVE)
def test_stories_not_live_are_404_or_410_for_readers(client, state):
    import time_machine

    article = NOT_LIVE[state]()
    # A story readers had (unpublished, or past its end time) answers 410 Gone; the others
    # were never public: 404. The clock moves past the expiry (and before the scheduled time).
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert client.get(f"/articles/{article.slug}/").status_code == (
            410 if state in ("archived", "expired") else 404
        )
        assert article.title not in client.get("/").content.decode()


def test_unknown_slug_is_404(client):
    assert client.get("/articles/no-such-story/").status_code == 404


def test_front_page_lists_live_stories_only(client, story):
    hidden = make_article(published=False, title="Secret Draft")
    page = client.get("/").content.decode()
    assert story.title in page and hidden.title not in page
    assert f'href="/articles/{story.slug}/"' in page


def test_article_page_query_count_does_not_grow_with_parts(client, story, django_assert_max_num_queries):
    for i in range(2, 12):
        section = Section.objects.create(article=story, position=i, heading=f"Section {i}", body="Text.")
        for j in range(5):
            Point.objects.create(section=section, position=j, label=f"L{j}", text="t")
    publish(story)
    with django_assert_max_num_queries(4):  # 3, and the header's desks
        assert client.get(f"/articles/{story.slug}/").status_code == 200


def test_excerpts_and_description_are_escaped_once(client):
    article = make_article(lede='R&D on "AI" <b>tools</b>.')
    front = client.get("/").content.decode()
    detail = client.get(f"/articles/{article.slug}/").content.decode()
    for page in (front, detail):
        assert "R&amp;D on &quot;AI&quot; &lt;b&gt;tools&lt;/b&gt;." in page
        assert "&amp;amp;" not in page and "&amp;quot;" not in page


def test_canonical_link_ignores_query_string(client, story):
    page = client.get(f"/articles/{story.slug}/?utm_source=x").content.decode()
    assert f'<link rel="canonical" href="http://testserver/articles/{story.slug}/">' in page


def test_front_page_is_paginated_newest_first(client):
    from articles.views import FRONT_PAGE_SIZE

    now = timezone.now()
    for i in range(FRONT_PAGE_SIZE + 3):
        article = make_article(title=f"Story {i:02d}", parts=False)
        Publication.objects.filter(article=article).update(published_at=now - timedelta(minutes=i))
    first = client.get("/").content.decode()
    second = client.get("/?page=2").content.decode()
    assert first.index("Story 00") < first.index("Story 01")
    assert f"Story {FRONT_PAGE_SIZE + 2:02d}" in second and "Story 00" not in second


def test_front_page_query_count_does_not_grow(client, django_assert_max_num_queries):
    for i in range(30):
        make_article(parts=False, tags=[f"tag{i}"])
    with django_assert_max_num_queries(4):  # 3, and the header's desks
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/desks/harbour/", "/tags/ferries/", "/search/?q=harbour"])
def test_a_page_past_the_end_of_a_list_is_not_found(client, path):
    desk = make_desk(name="Harbour", slug="harbour")
    make_article(title="Harbour ferry timetable", desk=desk, tags=["ferries"])
    joiner = "&" if "?" in path else "?"
    assert client.get(path).status_code == 200
    assert client.get(f"{path}{joiner}page=2").status_code == 404


@pytest.mark.parametrize("path", ["/feeds/rss/", "/feeds/atom/"])
def test_feed_item_ids_name_the_story_and_links_are_absolute_addresses(client, path):
    import feedparser

    article = make_article(title="Harbour ferry timetable")
    entry = feedparser.parse(client.get(path).content).entries[0]
    assert entry.link == f"http://testserver{article.get_absolute_url()}"
    assert entry.id.startswith("tag:") and entry.id.endswith(f"/story/{article.pk}/")  # tests/test_readers_small.py


def test_pages_name_a_favicon_that_is_served(client):
    import re as regex

    page = client.get("/").content.decode()
    icon = regex.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon and icon.group(1).endswith(".svg")
    from django.contrib.staticfiles import finders

    assert finders.find(icon.group(1).split("/static/", 1)[1])
