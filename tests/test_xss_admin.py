"""Hostile text typed into the admin's forms reaches every page as text, never as markup.

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
"""

import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from articles.models import Article, Desk, KeyFact, Point, Source, TakePoint
from articles.storyformat import TAKE_KINDS
from tests.factories import make_article, make_source, make_user, publish
from tests.formdata import form_fields
from tests.htmlcheck import find_executable_markup, visible_text

pytestmark = pytest.mark.django_db

SAMPLE_STRIDE = 20  # every 20th of the 6613 payloads: 331
PER_STORY = 34  # payloads per story (each makes a key fact, a section with a point, a take point)
HAND_PICKED_PER_STORY = 30  # ~19 form fields a payload: a change form stays under DATA_UPLOAD_MAX_NUMBER_FIELDS

# The nastiest cases, written out so that they run even without ../shared. One line each:
# every field of the admin can hold them (text inputs cannot hold a line break).
HAND_PICKED = [
    # Script elements, closing the element or attribute the text lands in first.
    "<script>alert(1)</script>",
    "<ScRiPt>alert(1)</sCrIpT>",
    "</script><script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</style></script><svg onload=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # Event handlers, with and without quotes, in and out of an attribute.
    "<img src=x onerror=alert(1)>",
    "<img/src/onerror=alert(1)>",
    '<img src="x" onerror="&#97;lert(1)">',
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<x onclick=alert(1)>click",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    '" autofocus onfocus=alert(1) x="',
    '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    # Script URLs as markup, as Markdown links and images, as Markdown autolinks.
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "<a href=javascript&colon;alert(1)>x</a>",
    "<iframe src=javascript:alert(1)>",
    '<iframe srcdoc="<script>alert(1)</script>">',
    '<object data="javascript:alert(1)">',
    '<embed src="javascript:alert(1)">',
    "<form action=javascript:alert(1)><button>x</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="import" href="data:text/html,<script>alert(1)</script>">',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    '[x](javascript:alert(1) "title")',
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#x3A;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java%73cript:alert(1))",
    "[x](\\javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '![x](https://ok.example/x.png"onerror="alert(1))',
    '[x](https://ok.example/"onmouseover="alert(1))',
    '[x](https://ok.example/ "a\\" onmouseover=\\"alert(1)")',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,alert(1)>",
    '<https://ok.example/"onmouseover="alert(1)>',
    "**<img src=x onerror=alert(1)>**",
    "`<script>alert(1)</script>`",
    "# <script>alert(1)</script>",
    "> <svg onload=alert(1)>",
    "* [x](javascript:alert(1))",
    # Entities, escapes and look-alikes that must stay text.
    "&#106;avascript:alert(1)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "\\x3cscript\\x3ealert(1)\\x3c/script\\x3e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "＜script＞alert(1)＜/script＞",
    "\u202e>tpircs/<)1(trela>tpircs<",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    # Parser tricks (mutation XSS) and template syntax.
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<template><script>alert(1)</script></template>",
    "<style>@import 'javascript:alert(1)';</style>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "{{ request }} {% debug %} ${alert(1)} #{alert(1)}",
]

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

HOSTILE_ORIGINAL_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript://wire.example/%0aalert(1)",
    "https:javascript:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
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


def short(text: str, limit: int = 100) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def fit(text: str, limit: int) -> str:
    """A payload as a CharField of `limit` characters keeps it (the form strips the ends)."""
    return text.strip()[:limit].strip()


def pack(payloads: list[str], limit: int, start: int = 0) -> str:
    """As many whole payloads as fit in `limit` characters, joined by spaces, taken from
    `start` on (so that different single fields carry different payloads first)."""
    rotated = payloads[start % len(payloads) :] + payloads[: start % len(payloads)]
    chosen, size = [], 0
    for payload in (p.strip() for p in rotated):
        extra = len(payload) + (1 if chosen else 0)
        if size + extra <= limit:
            chosen.append(payload)
            size += extra
    return " ".join(chosen) if chosen else fit(rotated[0], limit)


def is_executable(payload: str) -> bool:
    """Payloads that are themselves markup a browser could run: if one shows up verbatim in a
    page, it was not escaped (templates hold no such markup)."""
    return bool(find_executable_markup(payload))


def tiny_jpeg(name: str = "x.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (40, 90, 160)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# The admin, as a browser submits it ----------------------------------------------------------


ADD_URL = "/admin/articles/article/add/"


def change_url(article) -> str:
    return f"/admin/articles/article/{article.pk}/change/"


def page_text(response) -> str:
    return response.content.decode()


def form_errors(html: str) -> list[str]:
    return [
        " ".join(visible_text(e).split()) for e in re.findall(r'<ul class="errorlist[^"]*"[^>]*>.*?</ul>', html, re.S)
    ]


def loaded_form(client, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    data = form_fields(page_text(response), "article_form")
    # The templates for "Add another" rows are not part of what a browser submits as rows.
    return {k: v for k, v in data.items() if "__prefix__" not in k and "-empty-" not in k}


def add_row(data: dict, prefix: str, **values) -> int:
    """Add a new inline row as the admin's "Add another" does (and its nested formsets' management forms)."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    data[f"{prefix}-{index}-id"] = ""
    for name, value in values.items():
        data[f"{prefix}-{index}-{name}"] = value
    return index


def nested_management(data: dict, prefix: str) -> None:
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    )


def story_form(data: dict, n: int, payloads: list[str], *, source: Source, desk: Desk | None) -> dict:
    """The change form filled with the payloads: each in every repeated field, as many as fit in each single one."""
    data = dict(data)
    article = Article._meta
    data.update(
        title=pack(payloads, article.get_field("title").max_length, 0),
        slug=f"xss-admin-{n}",
        lede="\n\n".join(payloads),
        byline=pack(payloads, article.get_field("byline").max_length, 1),
        image_alt=pack(payloads, article.get_field("image_alt").max_length, 2),
        image_credit=pack(payloads, article.get_field("image_credit").max_length, 3),
        key_facts_heading=pack(payloads, article.get_field("key_facts_heading").max_length, 4),
        source=str(source.pk),
        desk=str(desk.pk) if desk else "",
        original_url=f'https://wire.example/admin/{n}/?q="><script>alert({n})</script>&x=<img/src/onerror=alert(1)>',
        tags=tag_field(n, payloads),
    )
    for i, p in enumerate(payloads):
        add_row(data, "key_facts", label=fit(p, 200), text=p, position=str(i))
        s = add_row(data, "sections", heading=fit(p, 300), body=p, points_heading=fit(p, 300), position=str(i))
        nested_management(data, f"sections-{s}-points")
        add_row(data, f"sections-{s}-points", label=fit(p, 200), text=p, position="0")
    data.update({"take-TOTAL_FORMS": "1", "take-0-id": "", "take-0-title": pack(payloads, 200, 5)})
    nested_management(data, "take-0-points")
    kinds = list(TAKE_KINDS)
    for i, p in enumerate(payloads):
        add_row(data, "take-0-points", kind=kinds[i % len(kinds)], text=p, position=str(i))
    return data


def tag_field(n: int, payloads: list[str]) -> str:
    """Three tags made of payload text, quoted for taggit. Each starts with ASCII letters: a
    tag with no ASCII slug breaks the pages (see test_tag_without_ascii_slug_keeps_pages_up)."""
    names = []
    for p in payloads[:3]:
        text = re.sub(r"[^\x20-\x7e]|[\",]", "", p)[:80].strip()
        names.append(f'"xss{n} {text}"')
    return ", ".join(names)


def post_ok(client, url: str, data: dict, what: str):
    response = client.post(url, data, follow=True)
    assert response.redirect_chain, f"{what} was refused: {form_errors(page_text(response))[:5]}"
    assert response.status_code == 200
    return response


def admin_source(client, pages, n: int, payloads: list[str]) -> Source:
    data = {"name": f"S{n} " + pack(payloads, 190, 6), "site": pack(payloads, 200, 7), "credit": pack(payloads, 300, 8)}
    # A site is a host name: a hostile one is refused, and the refusal page is inert too.
    refused = client.post("/admin/articles/source/add/", data)
    assert refused.status_code == 200 and "host name" in page_text(refused)
    pages.admin(f"story {n} source refused (hostile site)", page_text(refused))
    data["site"] = f"xss{n}.example"
    added = post_ok(client, "/admin/articles/source/add/", data, "the new source")
    pages.admin(f"story {n} source added (message)", page_text(added))
    source = Source.objects.get(name=data["name"])
    assert (source.site, source.credit) == (data["site"], data["credit"])
    return source


def admin_desk(client, pages, n: int, payloads: list[str]) -> Desk:
    data = {"name": f"D{n} " + pack(payloads, 90, 9), "slug": f"xss-desk-{n}"}
    added = post_ok(client, "/admin/articles/desk/add/", data, "the new desk")
    pages.admin(f"story {n} desk added (message)", page_text(added))
    return Desk.objects.get(slug=data["slug"], name=data["name"])


def transition(client, article, action: str, *, follow: bool = True, **fields):
    """Fire a workflow button: open its confirmation page, then confirm. Returns the
    confirmation page and (when followed) the change page the button leads back to, which
    carries a message naming the story."""
    url = f"/admin/articles/article/{article.pk}/transition/{action}/"
    confirm = client.get(url)
    assert confirm.status_code == 200, f"{action}: {confirm.status_code}"
    done = client.post(url, fields, follow=follow)
    if follow:
        assert done.redirect_chain, f"{action} was refused: {form_errors(page_text(done))}"
        return page_text(confirm), page_text(done)
    assert done.status_code == 302, f"{action} was refused: {form_errors(page_text(done))}"
    return page_text(confirm), ""


# Checking pages ------------------------------------------------------------------------------


# The Django admin's and nested_admin's own markup, which tests/htmlcheck.py (written for the
# public pages) reports. Each is matched on its whole start tag as the templates write it,
# with attribute values that no typed text can produce; anything else is a failure.
ADMIN_OWN_MARKUP = [
    # The theme toggle's icons and the sprite they use.
    ("a <svg> element", re.compile(r'<svg aria-hidden="true" class="theme-icon-when-(?:auto|dark|light)">')),
    ("a <svg> element", re.compile(r'<svg xmlns="http://www\.w3\.org/2000/svg" class="base-svgs">')),
    # Forms with no action attribute submit to the page they are on: a path of this site.
    (
        "a <form> that does not submit",
        re.compile(r'<form(?: (?:id|method|role|aria-labelledby|enctype|class)="[\w/ -]*"| novalidate)*>'),
    ),
    # The admin's JavaScript translation catalogue, from this site (not /static/).
    ("a <script> not loaded from /static/", re.compile(r'<script src="/admin/jsi18n/" ?>')),
    # nested_admin's "Add another" and "Delete" links: "javascript://" is an empty script (a
    # comment) and "javascript:void(0)" does nothing; nested_admin's own script handles the click.
    (
        "a href= with a script or data URL",
        re.compile(r'<a(?=[^>]* class="[\w -]*djn-)(?: href="javascript:(?://|void\(0\))"| class="[\w -]*")+>'),
    ),
]


def admin_own(finding) -> bool:
    return any(
        finding.problem.startswith(problem) and pattern.fullmatch(finding.markup)
        for problem, pattern in ADMIN_OWN_MARKUP
    )


def admin_findings(html: str) -> list:
    """What htmlcheck finds in an admin page, less the admin's own markup."""
    return [f for f in find_executable_markup(html) if not admin_own(f)]


def is_admin_url(url: str) -> bool:
    """Admin screens; the preview renders the public template and gets no allowance."""
    return url.startswith("/admin/") and "/preview/" not in url


class Pages:
    """Collects what is wrong with the pages looked at."""

    def __init__(self, payloads: list[str]):
        self.executable = [p for p in payloads if is_executable(p)]
        self.failures: list[str] = []
        self.checked = 0

    def html(self, where: str, html: str, *, admin: bool = False) -> str:
        self.checked += 1
        for finding in find_executable_markup(html):
            if not (admin and admin_own(finding)):
                self.failures.append(f"{where}: {finding}")
        for p in self.executable:
            if p in html:
                self.failures.append(f"{where}: payload printed unescaped: {short(p)}")
        return html

    def admin(self, where: str, html: str) -> str:
        return self.html(where, html, admin=True)

    def get(self, client, url: str, where: str = "") -> str:
        response = client.get(url)
        if response.status_code != 200:
            self.failures.append(f"{where or url}: answered {response.status_code}")
            return ""
        return self.html(where or url, page_text(response), admin=is_admin_url(url))

    def fragment(self, where: str, html: str) -> None:
        """An HTML fragment (a feed item, an API field) as a page would include it."""
        self.checked += 1
        for finding in find_executable_markup(html):
            self.failures.append(f"{where}: {finding}")

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.failures.append(message)

    def report(self) -> str:
        shown = "\n".join(self.failures[:40])
        more = f"\n... and {len(self.failures) - 40} more" if len(self.failures) > 40 else ""
        return f"{len(self.failures)} problem(s) in {self.checked} pages:\n{shown}{more}"


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


def check_change_form(pages: Pages, html: str, article: Article, label: str) -> None:
    """The change page's inputs hold exactly the stored text: what a browser would send back."""
    if html:
        data = form_fields(html, "article_form")
        for field in ("title", "byline", "image_alt", "image_credit", "key_facts_heading", "lede"):
            pages.expect(
                data.get(field) == getattr(article, field).replace("\r\n", "\n"),
                f"{label} change page: the {field} input does not hold the stored text",
            )
        texts = [data.get(f"sections-{i}-body") for i in range(article.sections.count())]
        pages.expect(
            texts == list(article.sections.values_list("body", flat=True)),
            f"{label} change page: the section body textareas do not hold the stored text",
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
def editor():
    return make_user("Editors")


@pytest.fixture
def moderator():
    return make_user("Moderators")


@pytest.fixture
def editor_client(editor):
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def moderator_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


@pytest.fixture
def sample(shared_file) -> list[str]:
    return load_payloads(shared_file("xss/payloads.txt"))[::SAMPLE_STRIDE]


def edit_and_publish(
    editor_client, moderator_client, pages: Pages, n: int, payloads: list[str], *, lede_extra: str = ""
) -> Article:
    """One story through the admin: source and desk, every field of the change page, submit,
    approve. The admin pages met on the way are checked."""
    source = admin_source(editor_client, pages, n, payloads)
    desk = admin_desk(moderator_client, pages, n, payloads)
    add_page = pages.get(editor_client, ADD_URL, f"story {n} add page")
    blank = {
        k: v for k, v in form_fields(add_page, "article_form").items() if "__prefix__" not in k and "-empty-" not in k
    }
    data = story_form(blank, n, payloads, source=source, desk=desk)
    if lede_extra:
        data["lede"] += "\n\n" + lede_extra
    data["image"] = tiny_jpeg()
    saved = post_ok(editor_client, ADD_URL, data, f"story {n}")
    pages.admin(f"story {n} saved", page_text(saved))

    article = Article.objects.get(slug=data["slug"])
    assert article.title == data["title"] and article.byline == data["byline"]
    assert article.image_alt == data["image_alt"] and article.image_credit == data["image_credit"]
    assert article.image, "the hero image was not stored"
    assert KeyFact.objects.filter(article=article).count() == len(payloads)
    assert Point.objects.filter(section__article=article).count() == len(payloads)
    assert TakePoint.objects.filter(take__article=article).count() == len(payloads)
    assert list(article.sections.values_list("body", flat=True)) == [p.strip() for p in payloads]

    confirm, _ = transition(editor_client, article, "submit", follow=False)
    pages.admin(f"story {n} submit page", confirm)
    pages.get(moderator_client, "/admin/articles/article/review-queue/", f"story {n} review queue")
    confirm, done = transition(moderator_client, article, "approve")
    pages.admin(f"story {n} approve page", confirm)
    pages.admin(f"story {n} change page after approval (with its message)", done)
    article.refresh_from_db()
    assert article.is_live, f"story {n} is not live after approval"
    check_change_form(pages, done, article, f"story {n}")
    return article


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


# The check itself on admin markup ------------------------------------------------------------


def test_check_allows_the_admins_own_scripts_only():
    page = """<script src="/static/admin/js/nav_sidebar.js" defer></script>
      <script id="data" type="application/json">{"a": "\\u003Cb"}</script>
      <script type="application/json">{"a": "</script><script>alert(1)</script>"}</script>
      <script>alert(2)</script>
      <textarea name="lede">&lt;/textarea&gt;&lt;script&gt;alert(3)&lt;/script&gt;</textarea>"""
    findings = find_executable_markup(page)
    assert [f.line for f in findings] == [3, 3, 4], [str(f) for f in findings]


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


# The original URL ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", HOSTILE_ORIGINAL_URLS)
def test_admin_refuses_script_original_url_and_keeps_what_was_typed(editor_client, url):
    article = make_article(published=False)
    before = article.original_url
    data = loaded_form(editor_client, change_url(article))
    typed_title = '"><img src=x onerror=alert(1)> A headline I typed'
    data.update(title=typed_title, original_url=url)
    response = editor_client.post(change_url(article), data)

    assert response.status_code == 200, "the form was accepted"
    html = page_text(response)
    assert "Enter a valid URL." in form_errors(html)
    assert form_fields(html, "article_form")["title"] == typed_title
    assert admin_findings(html) == []
    article.refresh_from_db()
    assert article.original_url == before and article.title != typed_title


@pytest.mark.parametrize("url", ["https://wire.example/a", "http://wire.example/b?x=1&y=<2>"])
def test_admin_accepts_http_original_url(editor_client, url):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["original_url"] = url
    post_ok(editor_client, change_url(article), data, url)
    article.refresh_from_db()
    assert article.original_url == url


@pytest.mark.parametrize("url", ["ftp://wire.example/story", "ftps://wire.example/story"])
def test_admin_refuses_non_http_original_url(editor_client, url):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["original_url"] = url
    response = editor_client.post(change_url(article), data)
    assert response.status_code == 200 and "Enter a valid URL." in form_errors(page_text(response))


# Image alt text --------------------------------------------------------------------------------


def test_alt_text_is_only_shown_with_an_image(editor_client, moderator):
    """Alt text is stored without an image, but pages show it only on the image itself;
    the payload tests above therefore attach a small JPEG to every story."""
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data.update(image_alt="ALT <img src=x onerror=alert(1)>", image_credit="CREDIT <svg onload=alert(1)>")
    post_ok(editor_client, change_url(article), data, "alt text without an image")
    publish(article, by=moderator)
    html = page_text(Client().get(article.get_absolute_url()))
    assert "ALT" not in html and "CREDIT" not in html
    assert find_executable_markup(html) == []


# Bugs found while writing these ------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["<>", "Zürich"])
def test_tag_without_ascii_slug_keeps_pages_up(editor_client, moderator, tag):
    article = make_article(published=False)
    data = loaded_form(editor_client, change_url(article))
    data["tags"] = f'"{tag}", harbour'
    post_ok(editor_client, change_url(article), data, "the tags")
    publish(article, by=moderator)
    reader = Client(raise_request_exception=False)
    for url in ("/", article.get_absolute_url(), "/tags/harbour/"):
        response = reader.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        assert tag in visible_text(page_text(response))


def test_add_page_creates_a_story_with_hostile_title(editor_client):
    """The add page (the path every story in the tests above takes) keeps a hostile title as text."""
    title = '"><script>alert(1)</script> New story'
    data = loaded_form(editor_client, ADD_URL)
    data.update(title=title, slug="new-story", lede="A lede.", source=str(make_source().pk))
    response = editor_client.post(ADD_URL, data, follow=True)
    assert response.redirect_chain, form_errors(page_text(response))
    assert admin_findings(page_text(response)) == []  # the "was added successfully" message names it
    assert Article.objects.get(slug="new-story").title == title
