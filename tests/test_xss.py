"""Hostile text in any part of a story reaches the public page as text, never as markup.

Every payload of ../shared/xss/payloads.txt goes through the importer into every text field of
a story, and the article page is scanned for anything a browser could run (tests/htmlcheck.py)
and for each field's text, so that a field cannot pass by being dropped. Payloads are batched,
many to a story, so the whole list runs in seconds. A sample also goes through the text format.
"""

import html
import itertools
import re

import pytest
from django.db import connection

from articles import workflow
from articles.importing import story_save
from articles.models import Article, KeyFact, Point, Section, Source, Take
from articles.storyformat import (
    TAKE_KINDS,
    Item,
    SectionData,
    StoryData,
    StoryFormatError,
    TakePointData,
    parse,
)
from tests.factories import make_user, story_text
from tests.htmlcheck import find_executable_markup, visible_text

PER_STORY = 60  # payloads per imported story: 6613 payloads make 111 stories
PARSER_SAMPLE_STRIDE = 10  # every 10th payload also goes through the text format
PARSER_PER_STORY = 40

# The payload list holds markup, not bare URLs; these start a field with a script URL.
SCHEME_PAYLOADS = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.domain)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "&#106;avascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "//evil.example/x.js",
]

HOSTILE_ORIGINAL_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "javascript://wire.example/%0aalert(1)",
    "java\tscript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "https:javascript:alert(1)",
    "//wire.example/story",
    "wire.example/story",
    "ftp://wire.example/story",
]


def load_payloads(path) -> list[str]:
    """One payload a line; lines are kept exactly as written (some end in spaces)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline
    return [line for line in lines if line.strip()]


def chunks(items: list, size: int) -> list[list]:
    it = iter(items)
    return list(iter(lambda: list(itertools.islice(it, size)), []))


def fit(model, field_name: str, value: str) -> str:
    """SQLite stores values of any length; elsewhere cut a value to its column's length."""
    max_length = model._meta.get_field(field_name).max_length
    if connection.vendor == "sqlite" or max_length is None:
        return value
    return value[:max_length]


def hostile_story(n: int, payloads: list[str]) -> StoryData:
    """A story with each payload in every repeated field, and all of them in every single one.

    Key facts, sections (heading, paragraph, points heading, point label and text), lede
    paragraphs and take points take one payload each; the fields a story has only one of
    (title, key facts heading, take title, source name and credit) hold them all,
    joined by spaces. Each value starts with the payload(s) and ends with a mark naming its
    field, so that the page can be searched for every field on its own (labels stay bare).
    """
    joined = " ".join(payloads)
    kinds = list(TAKE_KINDS)
    return StoryData(
        title=fit(Article, "title", f"{joined} ~title"),
        lede=[f"{p} ~lede" for p in payloads],
        key_facts_heading=fit(Article, "key_facts_heading", f"{joined} ~facts"),
        key_facts=[Item(label=fit(KeyFact, "label", p), text=f"{p} ~fact") for p in payloads],
        sections=[
            SectionData(
                heading=fit(Section, "heading", f"{p} ~heading"),
                paragraphs=[f"{p} ~paragraph"],
                points_heading=fit(Section, "points_heading", f"{p} ~points"),
                points=[Item(label=fit(Point, "label", p), text=f"{p} ~point")],
            )
            for p in payloads
        ],
        take_title=fit(Take, "title", f"{joined} ~take"),
        take_points=[
            TakePointData(kind=kinds[i % len(kinds)], text=f"{p} ~take-point") for i, p in enumerate(payloads)
        ],
        # A source's name is unique; the story number keeps it so when a field is cut short.
        source_name=fit(Source, "name", f"{n} {joined} ~source"),
        # A site must be a host name (the importer refuses anything else), so it holds no payload.
        source_site=f"wire{n}.example",
        credit=fit(Source, "credit", f"{joined} ~credit"),
        original_url=f"https://wire.example/x/{n}",
    )


def suspects(finding, payloads: list[str]) -> list[str]:
    """The payloads that could have produced a finding: those holding its start tag as written,
    else those naming its tag or attribute, else all of the story's payloads."""
    exact = [p for p in payloads if finding.markup and finding.markup in p]
    names = [name for name in (finding.tag, finding.attribute) if name]
    named = [p for p in payloads if any(name in p.lower() for name in names)]
    return exact or named or payloads


def verbatim_markup(page: str, payloads: list[str], baseline: str) -> list[str]:
    """Payloads with a tag in them that appear unescaped in the page (and not in the templates)."""
    return [p for p in payloads if re.search(r"<[a-zA-Z/!?]", p) and p in page and p not in baseline]


def short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def import_published(story: StoryData, user) -> Article:
    """Imported by an editor and approved by `user`, a moderator (the four-eyes rule wants two)."""
    article = story_save(story=story, user=make_user("Editors")).article
    workflow.article_approve(article=article, user=user, direct=True)
    return article


def page_of(client, article: Article) -> str:
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200, f"{article.get_absolute_url()} answered {response.status_code}"
    return response.content.decode()


def publish_and_get(client, story: StoryData, user) -> tuple[Article, str]:
    article = import_published(story, user)
    return article, page_of(client, article)


def inert_failures(label: str, article: Article, page: str, payloads: list[str], baseline: str) -> list[str]:
    """What is wrong with one story's page, each problem with the story and its likely payloads."""
    where = f"{label} (/articles/{article.slug[:40]}{'...' if len(article.slug) > 40 else ''}/)"
    failures = []
    for finding in find_executable_markup(page):
        culprits = ", ".join(short(p) for p in suspects(finding, payloads)[:5])
        failures.append(f"{where}: {finding}\n    payload(s): {culprits}")
    for p in verbatim_markup(page, payloads, baseline):
        failures.append(f"{where}: payload printed unescaped: {short(p)}")
    return failures


def squash(text: str) -> str:
    return " ".join(text.split())


def as_sanitised(text: str) -> str:
    """Text as the Markdown path shows it: the sanitiser turns control characters into "?"."""
    return re.sub(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", "?", text)


def unshown(page: str, story: StoryData, note: str) -> list[str]:
    """The fields of a story that the page does not show as text, each as "field: value".

    A field that was stripped or dropped would otherwise pass the check by having nothing in
    it to run.
    """
    text = visible_text(page)
    expected = [
        ("title", story.title),
        ("key facts heading", story.key_facts_heading),
        ("take title", story.take_title),
        ("source name", story.source_name),
        ("source site", story.source_site),
        ("credit", story.credit),
        ("correction note", note),
    ]
    expected += [(f"lede paragraph {i}", as_sanitised(p)) for i, p in enumerate(story.lede)]
    expected += [(f"key fact {i}", f"{fact.label}: {fact.text}") for i, fact in enumerate(story.key_facts)]
    for i, section in enumerate(story.sections):
        expected += [(f"section {i} heading", section.heading), (f"section {i} points heading", section.points_heading)]
        expected += [(f"section {i} paragraph", as_sanitised(p)) for p in section.paragraphs]
        expected += [(f"section {i} point", f"{point.label}: {point.text}") for point in section.points]
    expected += [(f"take point {i}", point.text) for i, point in enumerate(story.take_points)]
    return [f"{field}: {short(value, 80)}" for field, value in expected if squash(value) not in text]


def report(failures: list[str], limit: int = 40) -> str:
    shown = "\n".join(failures[:limit])
    more = f"\n... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"{len(failures)} problem(s) on the public article page:\n{shown}{more}"


@pytest.fixture
def payloads(shared_file) -> list[str]:
    return load_payloads(shared_file("xss/payloads.txt"))


@pytest.fixture
def moderator():
    """Approving imported stories takes a moderator."""
    return make_user("Moderators")


@pytest.fixture
def baseline_page(client, moderator) -> str:
    """The page of a harmless story of the same shape: the templates' own markup."""
    _, page = publish_and_get(client, hostile_story(0, ["Harbour", "Ferry", "Tide"]), moderator)
    return page


# The check itself ---------------------------------------------------------------------------


def test_check_reports_executable_markup():
    page = """<!doctype html><html><head>
      <link rel="stylesheet" href="/static/css/site.css"><script src="/static/js/site.js"></script>
      <script type="application/ld+json">{"headline": "\\u003Cscript\\u003Ealert(0)"}</script>
    </head><body><form action="/search/" method="get"><input name="q"></form>
      <p>Safe &lt;script&gt;alert(1)&lt;/script&gt; text and <a href="https://wire.example/">a link</a>.</p>
      <img src=x onerror=alert(1)>
      <a href="javascript:alert(2)">click</a>
      <a href=" jav&#x09;ascript:alert(3)">entity-hidden scheme</a>
      <img/src/onerror=prompt(8)>
      <svg/onload=alert(4)>
      <iframe src="data:text/html,<script>alert(5)</script>"></iframe>
      <script>alert(6)</script>
      <script src="https://evil.example/x.js"></script>
      <meta http-equiv="refresh" content="0;url=javascript:alert(7)">
      <link rel="import" href="/x.html">
      <p style="background:url(javascript:alert(8))">styled</p>
      <img srcset="a.png 1x, data:image/svg+xml,x 2x">
      <form action="VBScript:msgbox(9)"><button formaction="javascript:alert(10)">go</button></form>
      <form action="//evil.example/collect"></form>
      <script type="application/ld+json">{"headline": "</script><script>alert(11)</script>"}</script>
    </body></html>"""
    findings = find_executable_markup(page)
    problems = [(f.tag, f.attribute) for f in findings]

    assert ("img", "onerror") in problems
    assert problems.count(("img", "onerror")) == 2  # also the slash-separated form
    assert problems.count(("a", "href")) == 2  # plain and entity-hidden javascript:
    assert ("svg", "") in problems and ("svg", "onload") in problems
    assert ("iframe", "") in problems and ("iframe", "src") in problems
    # The inline one, the one from elsewhere, and the one a payload opened inside the JSON.
    assert problems.count(("script", "src")) == 3
    assert ("meta", "http-equiv") in problems
    assert ("link", "rel") in problems
    assert ("p", "style") in problems
    assert ("img", "srcset") in problems
    assert problems.count(("form", "action")) == 3  # vbscript: (twice: not a site path, bad URL), //elsewhere
    assert ("button", "formaction") in problems
    assert any(f.tag == "script" and "not valid JSON" in f.problem for f in findings)  # the JSON broken open
    # The template's own stylesheet, script, JSON-LD and search form, the escaped text and the
    # https link pass.
    assert not [f for f in findings if f.line <= 5]
    assert any("onerror=alert(1)" in str(f) for f in findings)


def test_check_passes_escaped_text():
    page = '<p title="&quot;&gt;&lt;script&gt;">&lt;img src=x onerror=alert(1)&gt; javascript:alert(1)</p>'
    assert find_executable_markup(page) == []
    assert visible_text(page + "<script type='application/ld+json'>{}</script>") == (
        "<img src=x onerror=alert(1)> javascript:alert(1)"
    )


# The importer and the article page ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.slow  # a sweep of thousands of payloads: make test-slow, and CI's PostgreSQL pass
def test_payloads_in_every_field_render_inert_on_article_page(client, payloads, moderator, baseline_page):
    batches = chunks(payloads, PER_STORY) + [[p] for p in SCHEME_PAYLOADS]
    failures = []
    for n, batch in enumerate(batches, start=1):
        story = hostile_story(n, batch)
        article = import_published(story, moderator)
        # Beyond the imported fields: a correction note, which the page also shows to readers.
        note = " ".join(batch) + " ~note"
        workflow.article_approve(
            article=article, user=moderator, direct=True, change_kind="correction", change_note=note
        )
        page = page_of(client, article)
        failures += inert_failures(f"story {n}", article, page, batch, baseline_page)
        failures += [f"story {n}: not shown as text: {field}" for field in unshown(page, story, note)]

    assert Article.objects.live().count() == len(batches) + 1  # and the baseline story
    assert KeyFact.objects.count() == Point.objects.count() == len(payloads) + len(SCHEME_PAYLOADS) + 3
    assert not failures, report(failures)


@pytest.mark.django_db
def test_script_looking_text_reaches_reader_as_text(client, payloads, moderator):
    sample = [p for p in payloads if "<script" in p.lower()]
    assert len(sample) >= 50, "the payload list should hold plenty of <script> payloads"
    story = StoryData(
        title="Harbour Notes",
        key_facts_heading="Key Facts",
        key_facts=[Item(label=f"Fact {i}", text=p) for i, p in enumerate(sample, start=1)],
        source_name="Harbour Wire",
        credit="Please credit Harbour Wire when republishing.",
        original_url="https://wire.example/x/script-text",
    )
    _, page = publish_and_get(client, story, moderator)
    reader_text = html.unescape(page)

    missing = [p for p in sample if p not in reader_text]
    raw = [p for p in sample if p in page]
    assert not missing, "payload text did not reach the reader:\n" + "\n".join(short(p) for p in missing[:20])
    assert not raw, "payload printed without escaping:\n" + "\n".join(short(p) for p in raw[:20])
    assert find_executable_markup(page) == []


# The text format ----------------------------------------------------------------------------


def parser_story_text(n: int, payloads: list[str]) -> str:
    """Story-format text with the payloads in lede and body paragraphs and in every kind of bullet."""
    # No whitespace, so parse() accepts it as http(s); quotes and angle brackets stay in it.
    original = f'https://wire.example/parser/{n}?q="><script>alert({n})</script>&x=<img/src/onerror=alert(1)>'
    # Line-sized fields have column limits (the parser refuses longer ones): cut to fit.
    lines = [f"Parser Story {n}: {payloads[0][:250]}"]
    lines += [f"Lede {p} end." for p in payloads]
    lines.append("Key Facts")
    lines += [f"- Fact {i}: {p}" for i, p in enumerate(payloads)]
    lines.append("What the Board Decided")
    lines += [f"Para {p} end." for p in payloads]
    lines.append("Points")
    lines += [f"- Point {i}: {p}" for i, p in enumerate(payloads)]
    lines.append("The Desk's Take")
    lines += [f"- 🔥 Why This Matters: {p}" for p in payloads]
    lines += [
        f"📌 Source: Parser Wire {n} (parser{n}.example)",
        f"🔗 Original: {original}",
        f"⚠️ Please credit Parser Wire {n} {payloads[-1][:250]}",
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.django_db
def test_payloads_through_story_format_parser_render_inert(client, payloads, moderator, baseline_page):
    # Payloads that would break the one-line-per-part layout are not for this test.
    sample = [p for p in payloads[::PARSER_SAMPLE_STRIDE] if len(p.splitlines()) == 1]
    failures = []
    for n, batch in enumerate(chunks(sample, PARSER_PER_STORY), start=1):
        story = parse(parser_story_text(n, batch))
        texts = [p.strip() for p in batch]
        # The payloads landed where they were written, whole.
        assert story.lede == [f"Lede {p} end." for p in batch]
        assert [f.text for f in story.key_facts] == texts
        assert story.sections[0].paragraphs == [f"Para {p} end." for p in batch]
        assert [(pt.label, pt.text) for pt in story.sections[0].points] == [
            (f"Point {i}", t) for i, t in enumerate(texts)
        ]
        assert [t.text for t in story.take_points] == texts
        assert batch[-1][:250].strip() in story.credit

        article, page = publish_and_get(client, story, moderator)
        failures += inert_failures(f"parsed story {n}", article, page, batch, baseline_page)
    assert not failures, report(failures)


@pytest.mark.parametrize("url", HOSTILE_ORIGINAL_URLS)
def test_importer_refuses_javascript_original_url(url):
    text = story_text(original=f"🔗 Original: {url}")
    original_line = text.splitlines().index(f"🔗 Original: {url}".strip()) + 1

    with pytest.raises(StoryFormatError, match="original URL must be an absolute http") as refused:
        parse(text)
    assert refused.value.line == original_line


def test_no_payload_passes_as_a_non_http_original_url(payloads):
    accepted = []
    for payload in payloads:
        try:
            story = parse(story_text(original=f"🔗 Original: {payload}"))
        except StoryFormatError:
            continue
        accepted.append(story.original_url)
    bad = [url for url in accepted if not re.match(r"https?://[^/\s]", url)]
    assert not bad, "parse() accepted non-http(s) original URLs:\n" + "\n".join(short(u) for u in bad)
