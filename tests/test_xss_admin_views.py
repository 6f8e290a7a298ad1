"""Hostile text typed into the admin reaches every page as text, never as markup, through
the workflow screens (articles/admin_views.py: the transitions' confirmation pages, the review
queue, history, diffs and preview) as well as the public pages.

tests/test_xss.py sends the payload list through the importer; this file sends it through
the editors' screens, which is a different path: the lede and section bodies are Markdown as
typed (the importer escapes them first), the hero image's alt text and credit, the byline,
desk and tags exist only here, and the admin shows everything back in inputs, lists, diffs
and the timeline.

Each story is created through the admin's add page as a browser submits it (one payload per
key fact, section heading, Markdown body, points heading, point label and text, and take
point; as many whole payloads as fit in each single field: title, byline, image alt text and
credit, key facts heading, take title; a few as tags; a small JPEG, since alt text and credit
are only shown with an image), its source and desk through the Source and Desk admins, then
submitted by the editor and approved by a moderator through the admin's workflow buttons.
One story is also edited again, sent back with a hostile comment and approved as a correction
with a hostile note. Then every page that shows the story is scanned with tests/htmlcheck.py:
the admin's own pages (less the admin's own markup, ADMIN_OWN_MARKUP), the story page, the
front, desk, tag and search pages, the RSS and Atom feeds (the raw XML and what a feed reader
parses) and the JSON API.

A sample of ../shared/xss/payloads.txt (every SAMPLE_STRIDE-th line) keeps the run short;
HAND_PICKED are the nastiest cases and run even without ../shared.

The admin's forms alone (articles/admin.py) are in tests/test_xss_admin.py; the helpers both
files use are in tests/xss_admin_fixtures.py."""

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser
import pytest
from django.test import Client

from articles.models import Article, TakePoint
from tests.htmlcheck import visible_text
from tests.xss_admin_fixtures import (  # noqa: F401 - fixtures
    HAND_PICKED,
    Pages,
    add_row,
    change_url,
    check_change_form,
    edit_and_publish,
    editor,
    editor_client,
    loaded_form,
    moderator,
    moderator_client,
    nested_management,
    pack,
    post_ok,
    short,
    transition,
)

pytestmark = pytest.mark.django_db


SAMPLE_STRIDE = 20  # every 20th of the 6613 payloads: 331
PER_STORY = 34  # payloads per story (each makes a key fact, a section with a point, a take point)
HAND_PICKED_PER_STORY = 30  # ~19 form fields a payload: a change form stays under DATA_UPLOAD_MAX_NUMBER_FIELDS


# Markdown that needs more than one line: only the lede and section bodies (textareas).
MARKDOWN_ONLY = [
    "[x]: javascript:alert(1)\n\n[click][x]",
    "[x]: <javascript:alert(1)>\n\n[x]",
    '[x]: https://ok.example/ "t\\"onmouseover=\\"alert(1)"\n\n[x]',
    "<div>\n<script>alert(1)</script>\n</div>",
    "<img\nsrc=x\nonerror=alert(1)>",
    "```html\n<script>alert(1)</script>\n```",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "> <img src=x onerror=alert(1)>\n> quoted",
    "* [x](javascript:alert(1))\n* <svg onload=alert(1)>",
    "Heading <script>alert(1)</script>\n===",
    "<!-- x -->\n<script>alert(1)</script>",
    "<?php echo 1 ?>\n<script>alert(1)</script>",
]


# Payloads ------------------------------------------------------------------------------------


def load_payloads(path) -> list[str]:
    """One payload a line, as tests/test_xss.py reads the file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line for line in lines if line.strip()]


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# Checking pages ------------------------------------------------------------------------------


class _ImageAlts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.alts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.alts.append(dict(attrs).get("alt") or "")


def image_alts(html: str) -> list[str]:
    parser = _ImageAlts()
    parser.feed(html)
    return parser.alts


def squash(text: str) -> str:
    return " ".join(text.split())


def unshown(html: str, article: Article) -> list[str]:
    """The plain-text fields of a live story that its page does not show as text."""
    text = visible_text(html)
    source = article.source
    expected = [
        ("title", article.title),
        ("byline", article.byline),
        ("image credit", article.image_credit),
        ("key facts heading", article.key_facts_heading),
        ("source name", source.name),
        ("source site", source.site),
        ("credit", source.credit),
        ("desk", article.desk.name),
        ("original URL", article.original_url),
        ("take title", article.take.title),
    ]
    expected += [(f"tag {t.name!r}", t.name) for t in article.tags.all()]
    expected += [(f"key fact {f.position}", f"{f.label}: {f.text}") for f in article.key_facts.all()]
    for section in article.sections.all():
        expected += [
            (f"section {section.position} heading", section.heading),
            (f"section {section.position} points heading", section.points_heading),
        ]
        expected += [(f"section {section.position} point", f"{p.label}: {p.text}") for p in section.points.all()]
    expected += [(f"take point {p.position}", p.text) for p in TakePoint.objects.filter(take__article=article)]
    missing = [f"{field}: {short(value, 80)}" for field, value in expected if squash(value) not in text]
    if article.image_alt not in image_alts(html):
        missing.append(f"image alt text: {short(article.image_alt, 80)}")
    return missing


def check_feed(pages: Pages, client, url: str, expected_items: int) -> None:
    """A feed: valid XML; each item's description (XML-unescaped once, as a feed reader gets it)
    is inert HTML; and what feedparser makes of it is too."""
    response = client.get(url)
    pages.expect(response.status_code == 200, f"{url}: answered {response.status_code}")
    if response.status_code != 200:
        return
    raw = response.content
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as error:
        pages.failures.append(f"{url}: not well-formed XML ({error})")
        return
    atom = "{http://www.w3.org/2005/Atom}"
    if root.tag == f"{atom}feed":
        entries = root.findall(f"{atom}entry")
        descriptions = [(e.find(f"{atom}summary").text or "") for e in entries if e.find(f"{atom}summary") is not None]
    else:
        entries = root.findall("./channel/item")
        descriptions = [(e.findtext("description") or "") for e in entries]
    pages.expect(len(entries) >= expected_items, f"{url}: {len(entries)} items, expected {expected_items}")
    pages.expect(len(descriptions) == len(entries), f"{url}: items without a description")
    for i, description in enumerate(descriptions):
        pages.fragment(f"{url} raw item {i} description", description)
    parsed = feedparser.parse(raw)
    pages.expect(not parsed.bozo, f"{url}: feedparser found the feed malformed ({parsed.get('bozo_exception')})")
    pages.expect(len(parsed.entries) == len(entries), f"{url}: feedparser read {len(parsed.entries)} entries")
    for i, entry in enumerate(parsed.entries):
        pages.fragment(f"{url} parsed item {i} summary", entry.get("summary", ""))
        for content in entry.get("content", []):
            pages.fragment(f"{url} parsed item {i} content", content.value)


def check_api(pages: Pages, client, article: Article) -> None:
    url = f"/api/articles/{article.live_slug}/"
    response = client.get(url)
    pages.expect(response.status_code == 200, f"{url}: answered {response.status_code}")
    if response.status_code != 200:
        return
    pages.expect(response["Content-Type"].startswith("application/json"), f"{url}: {response['Content-Type']}")
    try:
        data = json.loads(response.content)
    except ValueError as error:
        pages.failures.append(f"{url}: not valid JSON ({error})")
        return
    pages.checked += 1
    pages.fragment(f"{url} lede", data["lede"])
    for i, section in enumerate(data["sections"]):
        pages.fragment(f"{url} sections[{i}].body_html", section["body_html"])
    # Plain-text fields travel as the text typed, for the client to escape.
    pages.expect(data["title"] == article.title, f"{url}: title is not the text typed")
    pages.expect(data["byline"] == article.byline, f"{url}: byline is not the text typed")
    pages.expect(data["image"] is not None and data["image"]["alt"] == article.image_alt, f"{url}: image alt")
    pages.expect(
        [f["text"] for f in data["key_facts"]["items"]] == list(article.key_facts.values_list("text", flat=True)),
        f"{url}: key facts are not the text typed",
    )


def check_admin_article(pages: Pages, client, article: Article, label: str, *, change_page: bool = True) -> None:
    """The admin's pages about one story: change page, history, diffs, preview."""
    if change_page:
        check_change_form(pages, pages.get(client, change_url(article), f"{label} change page"), article, label)
    pages.get(client, f"/admin/articles/article/{article.pk}/history/", f"{label} history")
    for number in article.revisions.values_list("number", flat=True):
        pages.get(client, f"/admin/articles/article/{article.pk}/revisions/{number}/", f"{label} diff #{number}")
        if article.live_revision_id:
            pages.get(
                client,
                f"/admin/articles/article/{article.pk}/revisions/{number}/?against=live",
                f"{label} diff #{number} against live",
            )
    pages.get(client, f"/admin/articles/article/{article.pk}/preview/", f"{label} preview")


def check_public_story(pages: Pages, reader, article: Article, label: str) -> None:
    html = pages.get(reader, article.get_absolute_url(), f"{label} story page")
    if html:
        for missing in unshown(html, article):
            pages.failures.append(f"{label} story page: not shown as text: {missing}")
    pages.get(reader, f"/desks/{article.desk.slug}/", f"{label} desk page")
    for tag in article.tags.all():
        pages.get(reader, f"/tags/{tag.slug}/", f"{label} tag page {tag.slug}")
    check_api(pages, reader, article)


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sample(shared_file) -> list[str]:
    return load_payloads(shared_file("xss/payloads.txt"))[::SAMPLE_STRIDE]


def check_lists(pages: Pages, editor_client, reader, articles: list[Article], payloads: list[str]) -> None:
    """Pages listing many stories: front, search, feeds, admin lists."""
    front = pages.get(reader, "/", "front page")
    for article in articles:
        pages.expect(squash(article.title) in visible_text(front), f"front page: {short(article.title)} not shown")
        pages.expect(
            article.image_alt in image_alts(front), f"front page: alt text of {short(article.title)} not shown"
        )
    queries = ["alert", "script onerror", "lede"] + [p for p in payloads[:: max(len(payloads) // 8, 1)]]
    for query in queries:
        html = pages.get(reader, "/search/?" + _query(q=query), f"search {short(query, 60)}")
        if query == "alert":
            pages.expect('class="story-list search-results"' in html, "search for 'alert' found no story")
    for url in ("/feeds/rss/", "/feeds/atom/"):
        check_feed(pages, reader, url, len(articles))
    for article in articles[:3]:
        check_feed(pages, reader, f"/feeds/desks/{article.desk.slug}/rss/", 1)
        check_feed(pages, reader, f"/feeds/desks/{article.desk.slug}/atom/", 1)
        check_feed(pages, reader, f"/feeds/tags/{article.tags.first().slug}/rss/", 1)
    api = reader.get("/api/articles/?page_size=100")
    try:
        listing = json.loads(api.content)
        for i, item in enumerate(listing["results"]):
            pages.fragment(f"API list item {i} lede", item["lede"])
    except ValueError as error:
        pages.failures.append(f"/api/articles/: not valid JSON ({error})")

    pages.get(editor_client, "/admin/", "admin index (recent actions)")
    pages.get(editor_client, "/admin/articles/article/", "article changelist")
    for query in payloads[:: max(len(payloads) // 5, 1)]:
        pages.get(editor_client, "/admin/articles/article/?" + _query(q=query), f"changelist search {short(query, 60)}")
    pages.get(editor_client, "/admin/articles/source/", "source changelist")
    pages.get(editor_client, "/admin/articles/desk/", "desk changelist")
    for article in articles[:3]:
        pages.get(editor_client, f"/admin/articles/source/{article.source_id}/change/", "source change page")
        pages.get(editor_client, f"/admin/articles/article/?desk__id__exact={article.desk_id}", "changelist by desk")
        pages.get(
            editor_client, f"/admin/articles/article/?tags__id__exact={article.tags.first().pk}", "changelist by tag"
        )
    autocomplete = editor_client.get("/admin/autocomplete/?app_label=articles&model_name=article&field_name=source")
    try:
        json.loads(autocomplete.content)
    except ValueError as error:
        pages.failures.append(f"source autocomplete: not valid JSON ({error})")


def _query(**params) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# The admin path ------------------------------------------------------------------------------


def test_hand_picked_payloads_through_the_admin_render_inert(editor_client, moderator_client):
    """The nastiest cases in every field, and through every workflow screen that shows text:
    a moderator's request for changes, the timeline, the diff, a correction note."""
    pages = Pages(HAND_PICKED + MARKDOWN_ONLY)
    reader = Client()
    # A story's change form stays under Django's 1000-field limit with about 45 payloads.
    articles = [
        edit_and_publish(
            editor_client, moderator_client, pages, n, batch, lede_extra="\n\n".join(MARKDOWN_ONLY) if n == 1 else ""
        )
        for n, batch in enumerate(chunks(HAND_PICKED, HAND_PICKED_PER_STORY), start=1)
    ]
    article = articles[0]
    # The Markdown-only payloads in section bodies too: a second round of edits, sent back by
    # the moderator with a hostile comment, then approved as a correction with a hostile note.
    data = loaded_form(editor_client, change_url(article))
    for i, extra in enumerate(MARKDOWN_ONLY):
        s = add_row(data, "sections", heading=f"Markdown {i}", body=extra, points_heading="", position=str(100 + i))
        nested_management(data, f"sections-{s}-points")
    data["title"] = pack(HAND_PICKED, 300, 40)
    post_ok(editor_client, change_url(article), data, "the second edit")
    transition(editor_client, article, "submit", follow=False)
    comment = "\n".join(HAND_PICKED[:25])
    confirm, done = transition(moderator_client, article, "request-changes", comment=comment)
    pages.admin("request-changes page", confirm)
    pages.admin("sent back (message)", done)
    article.refresh_from_db()
    assert article.review_comment == comment.strip()
    change_page = pages.get(editor_client, change_url(article), "change page with the moderator's comment")
    assert squash(HAND_PICKED[0]) in visible_text(change_page), "the comment is not shown to the editor"
    transition(editor_client, article, "submit", follow=False)
    note = pack(HAND_PICKED, 500, 30)
    transition(moderator_client, article, "approve", follow=False, change_kind="correction", change_note=note)
    article.refresh_from_db()
    assert article.publication.changes[-1]["note"] == note

    for i, story in enumerate(articles, start=1):
        check_admin_article(pages, editor_client, story, f"hand-picked {i}", change_page=story is article)
        check_public_story(pages, reader, story, f"hand-picked {i}")
    check_admin_article(pages, moderator_client, article, "hand-picked 1 (moderator)")
    story_page = pages.get(reader, article.get_absolute_url(), "hand-picked story page (correction)")
    pages.expect(squash(note) in visible_text(story_page), "the correction note is not shown as text")
    pages.expect(
        all(f"Markdown {i}" in visible_text(story_page) for i in range(len(MARKDOWN_ONLY))),
        "the Markdown-only sections are not on the story page",
    )
    check_lists(pages, editor_client, reader, articles, HAND_PICKED)
    assert not pages.failures, pages.report()


@pytest.mark.slow  # a sweep of thousands of payloads: make test-slow, and CI's PostgreSQL pass
def test_payload_sample_through_the_admin_renders_inert(editor_client, moderator_client, sample):
    pages = Pages(sample)
    reader = Client()
    articles = []
    for n, batch in enumerate(chunks(sample, PER_STORY), start=100):
        article = edit_and_publish(editor_client, moderator_client, pages, n, batch)
        check_admin_article(pages, editor_client, article, f"story {n}", change_page=False)
        check_public_story(pages, reader, article, f"story {n}")
        articles.append(article)
    check_lists(pages, editor_client, reader, articles, sample)
    assert Article.objects.live().count() == len(articles)
    assert not pages.failures, pages.report()
