"""What the readers' tests share (tests/test_views.py, test_api.py, test_feeds.py,
test_sitemaps.py, test_search.py, test_images.py): page helpers, the stories' states, and the
`newsroom` and `credited` fixtures (import them by name into a test module to use them)."""

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import feedparser
import pytest
import time_machine
from django.utils import timezone

from articles import workflow
from articles.models import Article, Publication, PublicationTag
from tests.factories import make_article, make_desk, make_source, make_user

# A fixed "now" for the stories built below, so that the archive month is known in advance.
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


# Helpers


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, in document order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def all(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == name]


def tags_of(response) -> Tags:
    parser = Tags()
    parser.feed(response.content.decode())
    return parser


def text_of(response) -> str:
    return response.content.decode()


def json_ld(response) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', text_of(response), re.S)
    assert len(blocks) == 1, f"expected one JSON-LD block, found {len(blocks)}"
    return json.loads(blocks[0])


def parsed_feed(response):
    feed = feedparser.parse(response.content)
    assert not feed.bozo, f"{response.request['PATH_INFO']}: {feed.get('bozo_exception')}"
    return feed


def edit_working_copy(article: Article, **fields) -> None:
    """Change the working copy as an editor would, without approving it."""
    for name, value in fields.items():
        setattr(article, name, value)
    article.save()
    workflow.article_saved(article=article, user=make_user("Editors"))


def published(article: Article) -> Publication:
    """The story's publication readers see now."""
    return Publication.objects.current().get(article=article)


def set_published_at(article: Article, when: datetime) -> None:
    """Move a story's first publication: on its publications, their cards and the copy their
    tags keep (PublicationTag)."""
    for publication in Publication.objects.filter(article=article):
        publication.published_at = when
        publication.card = {**publication.card, "published_at": when.isoformat()}
        publication.save(update_fields=["published_at", "card"])
    PublicationTag.objects.filter(publication__article=article).update(published_at=when)


# Stories in every state (tests/test_views.py, tests/test_api.py)


WORD = "Quokka"


def _in_review(**fields) -> Article:
    article = make_article(published=False, **fields)
    workflow.article_saved(article=article, user=make_user("Editors"))
    workflow.article_submit(article=article, user=make_user("Editors"))
    return article


def _archived(**fields) -> Article:
    article = make_article(**fields)
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):  # live a minute, then taken down
        workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="The source withdrew it.")
    return article


NOT_LIVE = {
    "draft": lambda **fields: make_article(published=False, **fields),
    "in review": _in_review,
    "archived": _archived,
    "scheduled": lambda **fields: make_article(go_live_at=START + timedelta(days=1), **fields),
    "expired": lambda **fields: make_article(expires_at=START + timedelta(hours=1), **fields),
}


@pytest.fixture
def newsroom():
    """One live story and one in each state that is not live, all on the same desk and tag
    and with the same word in their titles; the clock then moves past the expiry."""
    with time_machine.travel(START, tick=False):
        desk = make_desk(name="Wildlife", slug="wildlife")
        shared = {"desk": desk, "tags": ["marsupials"]}
        live = make_article(title=f"{WORD} live story", **shared)
        others = {state: build(title=f"{WORD} {state} story", **shared) for state, build in NOT_LIVE.items()}
    with time_machine.travel(START + timedelta(minutes=1), tick=False):  # the archived one was taken down then
        assert set(Article.objects.live()) == {live, others["expired"]}  # expiry, not something else, hides it
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        assert Article.objects.live().get() == live
        yield {"live": live, "others": others, "desk": desk}


# A credited story (tests/test_views.py, tests/test_feeds.py, tests/test_api.py)


@pytest.fixture
def credited():
    source = make_source(
        name="Outback Wire", site="outback.example", credit="Please credit Outback Wire when republishing."
    )
    return make_article(
        title="Quokkas Return to the Island",
        byline="Mia Chen",
        desk=make_desk(name="Wildlife", slug="wildlife"),
        tags=["marsupials", "islands"],
        source=source,
        original_url="https://outback.example/news/quokkas-return",
    )
