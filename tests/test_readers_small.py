"""Readers' small things (issue 15, part 7): desks in the site header (one query, never stale
under the page cache), search excerpts cut at word boundaries, "no such page" for a page that
is not there, lasting feed item ids, a favicon, one colour for desk labels, and e-mail links
built from NEWSROOM_BASE_URL."""

import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import caching, search, workflow
from articles.models import Desk, Publication
from tests.factories import make_article, make_desk, make_user, publish

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def header_desks(response) -> list[tuple[str, str]]:
    """(address, name) of each desk link in the page's header."""
    html = response.content.decode()
    nav = re.search(r'<nav class="site-desks" aria-label="Desks">(.*?)</nav>', html, re.S)
    if nav is None:
        return []
    return re.findall(r'<a class="desk-label" href="([^"]+)"[^>]*>([^<]*)</a>', nav.group(1))


# Desks in the site header ----------------------------------------------------------------------


@pytest.fixture
def desks():
    """Two desks with a live story each, one with a draft only, one with a story scheduled for
    later, one with nothing."""
    climate, sport = make_desk(name="Climate", slug="climate"), make_desk(name="Sport", slug="sport")
    make_article(title="Glacier Retreat Measured", desk=climate, tags=["ice"])
    make_article(title="Rowing Final Tonight", desk=sport)
    make_article(title="Draft On Its Own Desk", desk=make_desk(name="Drafts Only", slug="drafts-only"), published=False)
    later = timezone.now() + timezone.timedelta(days=2)
    make_article(title="Not Yet", desk=make_desk(name="Scheduled Only", slug="scheduled-only"), go_live_at=later)
    make_desk(name="Empty Desk", slug="empty-desk")
    return {"climate": climate, "sport": sport}


PUBLIC_HTML = ["/", "/desks/climate/", "/tags/ice/", "/archive/", "/search/?q=glacier", "/no-such-address/"]


@pytest.mark.parametrize("path", PUBLIC_HTML)
def test_the_header_lists_the_desks_with_live_stories_on_every_public_page(client, desks, path):
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert header_desks(response) == [("/desks/climate/", "Climate"), ("/desks/sport/", "Sport")]


def test_the_header_is_on_a_story_page_and_an_archive_month(client, desks):
    story = Publication.objects.current().get(desk=desks["climate"])
    month = timezone.localtime(story.published_at)
    for path in (f"/articles/{story.slug}/", f"/archive/{month.year}/{month.month}/"):
        assert [name for _, name in header_desks(client.get(path))] == ["Climate", "Sport"], path


def test_each_header_desk_link_opens_its_desk_page(client, desks):
    for address, name in header_desks(client.get("/")):
        page = client.get(address)
        assert page.status_code == 200 and f'<h1 class="front__title">{name}</h1>' in page.content.decode()


def test_the_current_desk_is_marked_in_the_header(client, desks):
    html = client.get("/desks/sport/").content.decode()
    assert '<a class="desk-label" href="/desks/sport/" aria-current="page">Sport</a>' in html
    assert '<a class="desk-label" href="/desks/climate/">Climate</a>' in html


def test_a_desk_name_is_escaped_in_the_header(client):
    make_article(desk=make_desk(name='<img src=x onerror="alert(1)">', slug="hostile"))
    html = client.get("/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_no_desk_nav_when_no_desk_has_a_live_story(client):
    make_desk(name="Lonely", slug="lonely")
    html = client.get("/").content.decode()
    assert 'class="site-desks"' not in html and "Lonely" not in html


def cold_front_page_queries(client, django_assert_max_num_queries, most) -> None:
    for alias in settings.CACHES:
        caches[alias].clear()
    with django_assert_max_num_queries(most):
        assert client.get("/").status_code == 200


def test_the_header_costs_one_query_however_many_desks(client, django_assert_max_num_queries, desks):
    """3 before the header (the page cache's state, the page's ids, its cards) and 1 for it,
    with 2 desks or 22."""
    cold_front_page_queries(client, django_assert_max_num_queries, 4)
    for n in range(20):
        make_article(parts=False, desk=make_desk(name=f"Desk number {n:02d}", slug=f"desk-number-{n:02d}"))
    cold_front_page_queries(client, django_assert_max_num_queries, 4)
    assert len(header_desks(client.get("/"))) == 22


def test_the_admin_does_not_read_the_header_desks(client, desks):
    """The desks are read lazily: a page that does not show the header (the admin) does not pay."""
    client.force_login(make_user("superuser"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/articles/source/").status_code == 200
    assert not [q for q in queries if '"articles_desk"' in q["sql"] and "EXISTS" in q["sql"].upper()]


# ... and never stale under the page cache


def test_a_cached_front_page_is_served_without_building_it(client, django_assert_max_num_queries, desks):
    """The premise of the tests below: the page cache is on, and a hit reads one row."""
    assert settings.NEWSROOM_PAGE_CACHE_SECONDS > 0
    client.get("/")
    with django_assert_max_num_queries(1):
        assert client.get("/").status_code == 200


def test_a_renamed_desk_shows_on_a_cached_page(client, desks):
    assert ("/desks/climate/", "Climate") in header_desks(client.get("/"))
    desk = Desk.objects.get(slug="climate")
    desk.name, desk.slug = "Climate and Energy", "climate-energy"
    desk.save()
    shown = header_desks(client.get("/"))
    assert ("/desks/climate-energy/", "Climate and Energy") in shown and ("/desks/climate/", "Climate") not in shown
    assert client.get("/desks/climate/").status_code == 404
    assert "Climate and Energy" in client.get("/desks/climate-energy/").content.decode()


def test_without_the_hook_a_renamed_desk_would_be_stale(client, desks):
    """Proof that the test above can fail: with the desk_saved receiver disconnected, the
    cached page keeps the old name."""
    client.get("/")
    assert post_save.disconnect(sender=Desk, dispatch_uid="articles.Desk_saved")
    try:
        desk = Desk.objects.get(slug="climate")
        desk.name = "Renamed Quietly"
        desk.save()
        assert "Renamed Quietly" not in client.get("/").content.decode()
    finally:
        post_save.connect(caching.desk_saved, sender=Desk, dispatch_uid="articles.Desk_saved")


def test_a_deleted_desk_leaves_the_cached_header(client, desks):
    climate = desks["climate"]
    client.get("/")
    story = Publication.objects.current().get(desk=climate).article
    story.desk = desks["sport"]  # the working copy moves; the live version still lists Climate
    story.save()
    climate.delete()
    assert [name for _, name in header_desks(client.get("/"))] == ["Sport"]


def test_a_new_desk_shows_in_the_cached_header_when_its_first_story_goes_live(client, desks):
    client.get("/")
    weather = make_desk(name="Weather", slug="weather")
    assert "Weather" not in [name for _, name in header_desks(client.get("/"))]  # nothing to read there yet
    make_article(title="Storm Warning", desk=weather)
    assert "Weather" in [name for _, name in header_desks(client.get("/"))]


def test_saving_a_desk_no_story_was_published_under_keeps_the_cache(client, desks):
    empty = Desk.objects.get(slug="empty-desk")
    before = caching.generation()
    empty.name = "Still Empty"
    empty.save()
    assert caching.generation() == before


def test_unpublishing_a_desks_only_story_takes_the_desk_out_of_the_cached_header(client, desks):
    client.get("/")
    story = Publication.objects.current().get(desk=desks["sport"]).article
    workflow.article_unpublish(article=story, user=make_user("Moderators"), reason="Wrong result.")
    assert [name for _, name in header_desks(client.get("/"))] == ["Climate"]


# Search excerpts at word boundaries ------------------------------------------------------------


def shown_words(html: str) -> list[str]:
    return re.sub(r"</?mark>", "", str(html)).strip("…").split()


def test_a_word_longer_than_the_window_after_the_match_is_left_out_whole():
    giant = "Donaudampfschifffahrtsgesellschaftskapitän" * 8  # 336 characters, one word
    passage = f"The platypus {giant} swam on."
    html = str(search.excerpt({"passage": passage, "stems": ""}, "platypus"))
    assert html == "The <mark>platypus</mark>…"


def test_a_long_word_before_the_match_is_not_cut_into():
    passage = "x" * 200 + " platypus swam past the harbour wall."
    html = str(search.excerpt({"passage": passage, "stems": ""}, "platypus"))
    assert html == "…<mark>platypus</mark> swam past the harbour wall."


def test_a_matching_word_longer_than_the_window_is_shown_whole():
    giant = "a" * 300 + "platypus"
    html = str(search.excerpt({"passage": f"{giant} end", "stems": ""}, giant))
    assert html == f"<mark>{giant}</mark>…"


@pytest.mark.parametrize("seed", range(25))
def test_excerpts_never_cut_a_word_in_latin_cyrillic_or_greek(seed):
    chance = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщыэюяαβγδεζηθικλμνξοπρστυφχψω"
    words = ["".join(chance.choice(alphabet) for _ in range(chance.randint(1, 25))) for _ in range(150)]
    words += ["é" * 260]  # one over-long word somewhere
    chance.shuffle(words)
    passage = " ".join(words)
    query = chance.choice(words[20:])
    html = str(search.excerpt({"passage": passage, "stems": ""}, query))
    shown = shown_words(html)
    assert shown and all(word in words for word in shown), shown
    at = passage.find(" ".join(shown))
    assert at != -1, "the excerpt is not a run of the passage"
    assert html.startswith("…") == (at > 0)
    assert html.endswith("…") == (at + len(" ".join(shown)) < len(passage))
    assert "<mark>" in html


def test_a_cyrillic_word_is_marked_in_any_case_and_its_longer_forms_too():
    passage = "Жители Москвы обсуждали новую гавань. " * 20
    html = str(search.excerpt({"passage": passage, "stems": ""}, "москв гавань"))
    assert "<mark>Москвы</mark>" in html and "<mark>гавань</mark>" in html
    assert all(word in passage.split() for word in shown_words(html))


def test_chinese_text_is_cut_between_characters_and_only_the_term_is_marked():
    passage = "今天天气很好。" * 30 + "东京港口的渡轮晚点了。" + "我们明天再去公园散步。" * 30
    html = str(search.excerpt({"passage": passage, "stems": ""}, "渡轮"))
    assert html.startswith("…") and html.endswith("…")
    assert html.count("<mark>") == 1 and "<mark>渡轮</mark>" in html
    visible = re.sub(r"</?mark>", "", html).strip("…")
    assert visible in passage and len(visible) <= search.EXCERPT_CHARS


def test_a_cut_excerpt_stays_escaped():
    passage = "<b>bold</b> & " * 10 + "the platypus " + "<i>x</i> & " * 40
    html = str(search.excerpt({"passage": passage, "stems": ""}, "platypus"))
    assert "<b>" not in html and "<i>" not in html and "&lt;b&gt;" in html and "&amp;" in html
    assert "<mark>platypus</mark>" in html and html.endswith("…")


def test_the_search_page_shows_a_whole_word_excerpt(client):
    lede = " ".join(f"word{n:03d}" for n in range(40)) + " wallaby " + " ".join(f"more{n:03d}" for n in range(80))
    make_article(title="Long Lede", lede=lede)
    html = client.get("/search/?q=wallaby").content.decode()
    excerpt = re.search(r'<p class="card__lede">(.*?)</p>', html, re.S).group(1)
    assert excerpt.startswith("…") and excerpt.endswith("…") and "<mark>wallaby</mark>" in excerpt
    assert all(re.fullmatch(r"(word|more)\d{3}|wallaby", word) for word in shown_words(excerpt)), excerpt


# No such page ----------------------------------------------------------------------------------


@pytest.fixture
def one_story():
    desk = make_desk(name="Harbour", slug="harbour")
    article = make_article(title="Harbour ferry timetable", desk=desk, tags=["ferries"])
    month = timezone.localtime(Publication.objects.current().get(article=article).published_at)
    return ["/", "/desks/harbour/", "/tags/ferries/", f"/archive/{month.year}/{month.month}/", "/search/?q=harbour"]


@pytest.mark.parametrize("page", ["2", "99", "abc", "0", "-1", "1.5"])
def test_a_page_that_is_not_there_is_404_no_such_page_on_every_list(client, one_story, page):
    for address in one_story:
        joiner = "&" if "?" in address else "?"
        response = client.get(f"{address}{joiner}page={page}")
        html = response.content.decode()
        assert response.status_code == 404, address
        assert "<h1>No such page</h1>" in html and "no page" in html, address
        assert "no stories yet" not in html.lower() and "no stories here yet" not in html.lower(), address
        first = re.search(r'<a href="([^"]+)">Go to the first page</a>', html).group(1)
        assert client.get(first.replace("&amp;", "&")).status_code == 200, first


@pytest.mark.parametrize("page", ["", "1"])
def test_the_first_page_of_every_list_still_shows(client, one_story, page):
    for address in one_story:
        joiner = "&" if "?" in address else "?"
        response = client.get(f"{address}{joiner}page={page}")
        assert response.status_code == 200 and "Harbour ferry timetable" in response.content.decode(), address


def test_an_empty_first_page_says_no_stories_yet(client):
    make_desk(name="Quiet", slug="quiet")
    front, desk = client.get("/"), client.get("/desks/quiet/?page=1")
    assert front.status_code == 200 and "There are no stories yet" in front.content.decode()
    assert desk.status_code == 200 and "No stories here yet" in desk.content.decode()
    assert client.get("/?page=2").status_code == 404


def test_no_such_page_is_not_kept_by_the_page_cache(client, one_story):
    assert client.get("/?page=2").status_code == 404
    for n in range(20):
        make_article(title=f"Filler {n}", parts=False)
    assert client.get("/?page=2").status_code == 200


@pytest.mark.parametrize(("page", "message"), [("0", "numbered from 1"), ("-4", "numbered from 1"), ("3", "past")])
def test_the_api_says_no_such_page_in_json(client, one_story, page, message):
    response = client.get(f"/api/articles/?page={page}")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert message in response.json()["error"]


# Feed item ids ---------------------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = [
    "/feeds/rss/",
    "/feeds/atom/",
    "/feeds/desks/wildlife/rss/",
    "/feeds/desks/wildlife/atom/",
    "/feeds/tags/quokkas/rss/",
    "/feeds/tags/quokkas/atom/",
]


def item_ids(response) -> list[tuple[str, dict, str]]:
    """(id, its attributes, the item's link) of each item, from the XML itself."""
    root = ET.fromstring(response.content)
    if root.tag == "rss":
        return [(i.find("guid").text, i.find("guid").attrib, i.find("link").text) for i in root.iter("item")]
    return [(e.find(f"{ATOM}id").text, {}, e.find(f"{ATOM}link").get("href")) for e in root.iter(f"{ATOM}entry")]


@pytest.fixture
def wildlife():
    desk = make_desk(name="Wildlife", slug="wildlife")
    return [make_article(title=f"Quokka count {n}", desk=desk, tags=["quokkas"]) for n in range(3)]


@pytest.mark.parametrize("url", FEEDS)
def test_every_feed_item_id_is_a_lasting_tag_uri_and_its_link_absolute(client, wildlife, url, settings):
    settings.NEWSROOM_BASE_URL = "https://news.example.org"
    ids = item_ids(client.get(url))
    assert len(ids) == 3 and len({guid for guid, _, _ in ids}) == 3
    for (guid, attributes, link), story in zip(ids, reversed(wildlife), strict=True):
        day = Publication.objects.current().get(article=story).published_at.astimezone(UTC)
        assert re.fullmatch(rf"tag:news\.example\.org,{day:%Y-%m-%d}:/story/{story.pk}/", guid), guid
        assert link == f"http://testserver/articles/{story.slug}/"
        if "rss" in url:
            assert attributes == {"isPermaLink": "false"}


def test_a_feed_item_keeps_its_id_when_its_story_moves_and_is_updated(client, wildlife):
    story = wildlife[0]
    before = {link: guid for guid, _, link in item_ids(client.get("/feeds/rss/"))}[
        f"http://testserver/articles/{story.slug}/"
    ]
    story.slug, story.title = "quokka-count-revised", "Quokka count, revised"
    story.save()
    publish(story, change_kind="update", change_note="Recounted.")
    after = {link: guid for guid, _, link in item_ids(client.get("/feeds/rss/"))}
    assert after["http://testserver/articles/quokka-count-revised/"] == before


# Favicon ---------------------------------------------------------------------------------------


def test_favicon_ico_answers_with_an_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("img/favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    from django.contrib.staticfiles import finders

    icon = Path(finders.find("img/favicon.ico")).read_bytes()
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_pages_link_the_svg_icon(client):
    html = client.get("/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*img/favicon\.svg" type="image/svg\+xml">', html)


# One colour for the desk label -----------------------------------------------------------------


def css_rules(text: str) -> list[tuple[str, dict]]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        declarations = dict(
            (name.strip(), value.strip()) for name, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
        )
        rules.append((" ".join(selector.split()), declarations))
    return rules


DESK_LABELS = (".card__desk a", ".story__desk", ".site-desks a")


def test_every_desk_label_takes_the_accent_colour_and_nothing_else_colours_it():
    rules = css_rules((ROOT / "static/css/newsroom.css").read_text())
    colours = {}
    for selector, declarations in rules:
        for one in selector.split(","):
            one = one.strip()
            if "color" in declarations and any(one.startswith(label) for label in DESK_LABELS):
                colours[one] = declarations["color"]
    assert {colours[label] for label in DESK_LABELS} == {"var(--accent)"}
    assert {colour for one, colour in colours.items() if one.endswith(":hover")} == {"var(--accent-hover)"}
    assert set(colours.values()) <= {"var(--accent)", "var(--accent-hover)"}, colours


def test_templates_name_desks_with_those_classes():
    card = (ROOT / "templates/articles/_story_card.html").read_text()
    story = (ROOT / "templates/articles/article_detail.html").read_text()
    assert '<p class="card__desk"><a href="{{ article.desk.url }}">' in card
    assert 'class="story__desk"' in story


# E-mail links ----------------------------------------------------------------------------------


def test_the_base_url_defaults_to_the_development_server():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "newsroom.settings_test"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.NEWSROOM_BASE_URL)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "http://127.0.0.1:8000"


def test_every_link_in_every_workflow_email_uses_the_base_url(settings, django_capture_on_commit_callbacks):
    settings.NEWSROOM_BASE_URL = "https://desk.example.org/newsroom/"
    author, moderator = make_user("Editors"), make_user("Moderators")
    article = make_article(published=False, created_by=author, original_url="https://wire.example/x")
    workflow.article_saved(article=article, user=author)
    steps = [
        lambda: workflow.article_submit(article=article, user=author),
        lambda: workflow.article_request_changes(article=article, user=moderator, comment="Add a second source."),
        lambda: workflow.article_submit(article=article, user=author),
        lambda: workflow.article_approve(article=article, user=moderator),
        lambda: workflow.article_unpublish(article=article, user=moderator, reason="Retracted."),
    ]
    mail.outbox.clear()
    for step in steps:
        with django_capture_on_commit_callbacks(execute=True):
            step()
        article.refresh_from_db()
    subjects = [message.subject for message in mail.outbox]
    assert any("[Review]" in s for s in subjects) and any("[Approved]" in s for s in subjects)
    assert any("[Changes requested]" in s for s in subjects) and any("[Unpublished]" in s for s in subjects)
    change_page = f"https://desk.example.org/newsroom/admin/articles/article/{article.pk}/change/"
    for message in mail.outbox:
        links = re.findall(r"https?://\S+", message.body)
        assert change_page in links, message.body
        assert all(link.startswith("https://desk.example.org/newsroom/") for link in links), message.body
        assert "127.0.0.1" not in message.body and "testserver" not in message.body
