"""What tests/test_xss_admin.py and tests/test_xss_admin_views.py share (and
tests/browser/test_xss_browser.py, through tests/test_xss_admin.py): the hand-picked payloads,
the admin driven as a browser submits it (forms, inline rows, workflow buttons), the check of
admin pages less the admin's own markup (Pages), one story through the admin
(edit_and_publish), and the editor and moderator fixtures (import them by name, with the
fixtures they use, into a test module)."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from articles.models import Article, Desk, KeyFact, Point, Source, TakePoint
from articles.storyformat import TAKE_KINDS
from tests.factories import make_user
from tests.formdata import form_fields
from tests.htmlcheck import find_executable_markup, visible_text

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
    # The start page's chart (articles.charts): drawn from numbers and dates, never typed text.
    (
        "a <svg> element",
        re.compile(
            r'<svg class="chart" viewBox="0 0 640 240" role="img" '
            r'aria-labelledby="turnaround-title turnaround-desc" xmlns="http://www\.w3\.org/2000/svg">'
        ),
    ),
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
