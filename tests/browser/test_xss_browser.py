"""Hostile text never runs in a real browser, with the Content-Security-Policy and without it.

Stories carry payloads in every field, through the importer (articles.importing.story_save,
published by a moderator) and through the admin's forms (tests/test_xss_admin.py's helpers).
Headless Chromium then loads every page that shows them: story, front, desk, tag and search
pages, the RSS and Atom feeds, the API, and the admin's change page, lists, history, diff and
review queue (logged in). Before any page loads, an init script defines
`window.__xss_hit(id)`; the MARKERS payloads call it in every way a page could run them
(event handlers, script elements, javascript: links, which the test clicks). A page fails if
a marker was hit, a dialog opened (most payloads call alert, prompt or confirm), the CSP
reported a blocked script, or the parsed DOM holds an event handler attribute, a script not
of this site, a javascript: link or an embedding element.

The CSP (script-src 'self', no inline script) would stop most of this on its own, so every
page is loaded twice: once as served (its CSP header checked), and once in a context with
bypass_csp=True, which proves the escaping alone holds.
"""

import base64
import functools
import importlib
from urllib.parse import urlencode

import pytest
from django.test import Client

from articles import workflow
from articles.importing import story_save
from tests.factories import make_user
from tests.test_xss import hostile_story, load_payloads
from tests.test_xss_admin import HAND_PICKED, Pages, edit_and_publish

SAMPLE_SIZE = 300
SAMPLE_STRIDE = 22  # 6613 payloads: every 22nd gives 301
PER_IMPORTED_STORY = 60
PER_ADMIN_STORY = 30  # a change form holds ~19 fields a payload; Django allows 1000

HIT = "window.__xss_hit"
_B64 = base64.b64encode(b"window.__xss_hit('base64')").decode()

# Payloads that call the marker: each id says which way in it tried.
MARKERS = [
    f"<img src=x onerror={HIT}('img-onerror')>",
    f"<img/src/onerror={HIT}('img-slash')>",
    f"<script>{HIT}('script')</script>",
    f"</script><script>{HIT}('script-close')</script>",
    f"\"><img src=x onerror={HIT}('attr-double')>",
    f"'><img src=x onerror={HIT}('attr-single')>",
    f"\" autofocus onfocus={HIT}('attr-onfocus') x=\"",
    f"</textarea><img src=x onerror={HIT}('textarea')>",
    f"</title><img src=x onerror={HIT}('title')>",
    f"<svg onload={HIT}('svg')>",
    f"<svg><script>{HIT}('svg-script')</script></svg>",
    f"<details open ontoggle={HIT}('details')>",
    f"<input autofocus onfocus={HIT}('autofocus')>",
    f"<body onload={HIT}('body')>",
    f"<video><source onerror={HIT}('video')></video>",
    "<iframe srcdoc=\"<script>parent.__xss_hit('srcdoc')</script>\"></iframe>",
    "<iframe src=\"javascript:parent.__xss_hit('iframe-js')\"></iframe>",
    f"<object data=\"javascript:{HIT}('object')\"></object>",
    f"<noscript><p title=\"</noscript><img src=x onerror={HIT}('mxss')>\">",
    f"<img src=x onerror=eval(atob('{_B64}'))>",
    f"<a href=\"javascript:{HIT}('a-href')\">click me</a>",
    f"<a href=\"&#106;avascript:{HIT}('a-entity')\">click me</a>",
    f"[click me](javascript:{HIT}('md-link'))",
    f"[click me](&#106;avascript:{HIT}('md-entity'))",
    f"[click me](<javascript:{HIT}('md-angle')>)",
    f"<javascript:{HIT}('md-autolink')>",
    f"javascript:{HIT}('bare')",
]

INIT_SCRIPT = """
(() => {
  window.__xss_hits = [];
  window.__xss_hit = (id) => {
    window.__xss_hits.push(String(id));
    console.log('__XSS_HIT__ ' + id);
    // A hit inside a frame is reported to the page too (and its console line is seen anyway).
    try { if (window.top !== window) window.top.__xss_hit('in a frame: ' + id); } catch (e) {}
  };
  // Each kind of dialog opens once (page.on("dialog") records it); later calls are only
  // recorded, so that a handler like onfocus=alert(1) cannot loop forever on a broken page.
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    const original = window[name];
    let opened = false;
    window[name] = function (...args) {
      window.__xss_hits.push(name + '(' + String(args[0] ?? '').slice(0, 40) + ')');
      if (opened) return null;
      opened = true;
      return original.apply(this, args);
    };
  }
  window.__csp_violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp_violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}: ${e.sample || ''}`);
  });
})();
"""

# After a page has loaded: what of its parsed DOM could run. The admin's own markup is left out
# (scripts from /static/ and /admin/jsi18n/, JSON data blocks, nested_admin's "javascript://"
# add and "javascript:void(0)" delete links); everything else counts.
DOM_CHECK = """
() => {
  const problems = [];
  const origin = location.origin;
  const describe = (el) => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) problems.push('event handler ' + attr.name + ': ' + describe(el));
    }
  }
  for (const s of document.querySelectorAll('script')) {
    const type = (s.getAttribute('type') || '').toLowerCase();
    if (!s.hasAttribute('src') && (type === 'application/json' || type === 'application/ld+json')) continue;
    const src = s.src || '';
    if (src.startsWith(origin + '/static/') || src === origin + '/admin/jsi18n/') continue;
    problems.push('script: ' + describe(s));
  }
  for (const el of document.querySelectorAll('iframe, frame, object, embed, applet, base, meta[http-equiv]')) {
    problems.push('element: ' + describe(el));
  }
  for (const a of document.querySelectorAll('a[href], area[href]')) {
    if (a.protocol !== 'javascript:') continue;
    if (/\\bdjn-/.test(a.className) && /^javascript:(\\/\\/|void\\(0\\))$/.test(a.getAttribute('href'))) continue;
    problems.push('javascript: link: ' + describe(a));
  }
  return problems;
}
"""

# Click every javascript: link that is not nested_admin's own, as a reader might.
CLICK_SCRIPT_LINKS = """
() => {
  const clicked = [];
  for (const a of document.querySelectorAll('a[href]')) {
    if (a.protocol !== 'javascript:' || /\\bdjn-/.test(a.className)) continue;
    clicked.push(a.getAttribute('href').slice(0, 80));
    a.click();
  }
  return clicked;
}
"""


# Roles: a transactional test's flush removes the groups the data migrations made ---------------


@functools.cache
def _migration_apps():
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state().apps


def ensure_roles() -> None:
    """Create the Editors and Moderators groups as the data migrations do (idempotent)."""
    for module, function in [("0002_roles", "create_roles"), ("0005_workflow_roles", "grant")]:
        getattr(importlib.import_module(f"articles.migrations.{module}"), function)(_migration_apps(), None)


@pytest.fixture(scope="module", autouse=True)
def roles_put_back(django_db_setup, django_db_blocker):
    """Leave the roles in place after this module's last flush, as after migrate (in the
    test database: django_db_setup has made it)."""
    yield
    with django_db_blocker.unblock():
        ensure_roles()


@pytest.fixture
def roles(transactional_db):
    ensure_roles()


# Stories ------------------------------------------------------------------------------------


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Site:
    """The stories made for one test and the people who made them."""

    def __init__(self):
        self.moderator = make_user("Moderators")
        self.editor = make_user("Editors")
        self.editor_client = logged_in_client(self.editor)
        self.moderator_client = logged_in_client(self.moderator)
        self.imported = []
        self.through_admin = []

    def import_stories(self, payloads: list[str], first: int) -> None:
        for n, batch in enumerate(chunks(payloads, PER_IMPORTED_STORY), start=first):
            story = hostile_story(n, batch)
            # Imported by the editor, approved by the moderator: two people (the four-eyes rule).
            article = story_save(story=story, user=self.editor).article
            workflow.article_approve(article=article, user=self.moderator, direct=True)
            self.imported.append(article)

    def admin_stories(self, payloads: list[str], first: int) -> None:
        pages = Pages(payloads)  # tests/test_xss_admin.py checks these pages; here the browser does
        for n, batch in enumerate(chunks(payloads, PER_ADMIN_STORY), start=first):
            self.through_admin.append(edit_and_publish(self.editor_client, self.moderator_client, pages, n, batch))

    def waiting_for_review(self, payloads: list[str], n: int) -> None:
        """One story submitted and not yet approved, for the review queue."""
        from articles import workflow

        article = story_save(story=hostile_story(n, payloads), user=self.editor).article
        workflow.article_submit(article=article, user=self.editor)

    @property
    def stories(self):
        return self.through_admin + self.imported

    def urls(self, queries: list[str]) -> tuple[list[str], list[str]]:
        """(public URLs, admin URLs) to load."""
        public = [a.get_absolute_url() for a in self.stories] + ["/"]
        for article in self.through_admin:
            public.append(f"/desks/{article.desk.slug}/")
            public += [f"/tags/{tag.slug}/" for tag in article.tags.all()[:1]]
        public += ["/search/?" + urlencode({"q": q}) for q in ["alert", "xss_hit click", *queries]]
        public += ["/feeds/rss/", "/feeds/atom/"]
        public += [f"/api/articles/{a.live_slug}/" for a in self.stories[:2]]
        admin = [
            "/admin/",
            "/admin/articles/article/",
            "/admin/articles/source/",
            "/admin/articles/article/review-queue/",
        ]
        admin += ["/admin/articles/article/?" + urlencode({"q": q}) for q in queries[:2]]
        for article in [*self.through_admin[:1], *self.imported[:1]]:
            base = f"/admin/articles/article/{article.pk}"
            admin += [f"{base}/change/", f"{base}/history/", f"{base}/revisions/1/?against=live"]
        return public, admin


# The browser ----------------------------------------------------------------------------------


class Visit:
    """Loads pages in one browser context and records everything that ran or could have."""

    def __init__(self, context, live_url: str, label: str, *, expect_csp: bool):
        self.live_url = live_url
        self.label = label
        self.expect_csp = expect_csp
        self.failures: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.loaded = 0
        self.csp_checked = 0
        context.add_init_script(INIT_SCRIPT)
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda message: self.console.append(message.text))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}({dialog.message!r})")
        dialog.dismiss()

    def load(self, url: str) -> None:
        where = f"{self.label} {url[:100]}"
        self.dialogs.clear()
        self.console.clear()
        response = self.page.goto(self.live_url + url, wait_until="load")
        self.loaded += 1
        if response is None or response.status != 200:
            self.failures.append(f"{where}: answered {response.status if response else 'nothing'}")
            return
        content_type = response.headers.get("content-type", "")
        if self.expect_csp and content_type.startswith("text/html"):
            self.csp_checked += 1
            csp = response.headers.get("content-security-policy", "")
            if "script-src 'self'" not in csp or "unsafe-inline" in csp:
                self.failures.append(f"{where}: no strict Content-Security-Policy (got {csp!r})")
        clicked = self.page.evaluate(CLICK_SCRIPT_LINKS) if content_type.startswith("text/html") else []
        self.page.wait_for_timeout(150)  # toggle, focus and error events, and clicked links, run async
        # Only the top window is asked: a frame whose javascript: URL the CSP refused has no
        # script context, and evaluating in it would wait forever. Frames report to the top.
        hits = self.page.evaluate("window.__xss_hits || []")
        violations = [v for v in self.page.evaluate("window.__csp_violations || []") if v.startswith("script-src")]
        dom = self.page.evaluate(DOM_CHECK) if content_type.startswith("text/html") else []
        for hit in hits:
            self.failures.append(f"{where}: the marker ran: {hit}")
        for dialog in self.dialogs:
            self.failures.append(f"{where}: a dialog opened: {dialog}")
        for message in self.console:
            if "__XSS_HIT__" in message:
                self.failures.append(f"{where}: console: {message[:120]}")
        for violation in violations:
            self.failures.append(f"{where}: the CSP blocked a script (so one was injected): {violation[:160]}")
        for problem in dom:
            self.failures.append(f"{where}: in the DOM: {problem}")
        for href in clicked:
            self.failures.append(f"{where}: a javascript: link was on the page (clicked): {href}")


def log_in(context, live_url: str, user) -> None:
    """Give the browser the session of a user logged in through Django's test client."""
    client = logged_in_client(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_url}])


def visit_all(browser, context, live_url: str, site: Site, queries: list[str]) -> list[str]:
    """Every page as served (CSP on), then again with the CSP bypassed."""
    public, admin = site.urls(queries)
    failures = []
    bypassing = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        for ctx, label, csp in ((context, "[CSP on]", True), (bypassing, "[CSP bypassed]", False)):
            log_in(ctx, live_url, site.editor)
            visit = Visit(ctx, live_url, label, expect_csp=csp)
            for url in public + admin:
                visit.load(url)
            assert visit.loaded == len(public) + len(admin)
            assert not csp or visit.csp_checked >= len(admin), "too few HTML pages had their CSP checked"
            failures += visit.failures
    finally:
        bypassing.close()
    return failures


def report(failures: list[str], limit: int = 40) -> str:
    shown = "\n".join(failures[:limit])
    more = f"\n... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"{len(failures)} problem(s):\n{shown}{more}"


# The check itself -----------------------------------------------------------------------------


def test_visit_catches_a_page_that_runs_script(browser):
    """The same checks on a page that does run hostile script: every way is reported."""
    context = browser.new_context(bypass_csp=True)
    try:
        visit = Visit(context, "", "[check]", expect_csp=False)
        html = (
            f"<p>x</p><img src=x onerror=\"{HIT}('handler')\"><script>{HIT}('inline'); alert(1)</script>"
            f"<a href=\"javascript:{HIT}('link')\">link</a>"
        )
        visit.page.route(
            "http://check.example/",
            lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
        )
        visit.load("http://check.example/")
        text = "\n".join(visit.failures)
        for expected in (
            "the marker ran: handler",
            "the marker ran: inline",
            "the marker ran: link",
            "a dialog opened: alert('1')",
            "event handler onerror",
            "script: <script>",
            "javascript: link was on the page",
        ):
            assert expected in text, f"{expected!r} not reported:\n{text}"
    finally:
        context.close()


# Hostile text in the browser ---------------------------------------------------------------------


def test_hand_picked_payloads_never_run(browser, context, live_server, roles):
    payloads = MARKERS + HAND_PICKED
    site = Site()
    site.import_stories(payloads, first=1)
    site.admin_stories(MARKERS, first=50)
    site.waiting_for_review(MARKERS, 90)
    failures = visit_all(browser, context, live_server.url, site, [MARKERS[0], MARKERS[4], MARKERS[-4]])
    assert not failures, report(failures)


def test_payload_sample_never_runs(shared_file, browser, context, live_server, roles):
    sample = load_payloads(shared_file("xss/payloads.txt"))[::SAMPLE_STRIDE][:SAMPLE_SIZE]
    site = Site()
    # Markers in every imported story, so that each page has payloads that would report themselves.
    for n, batch in enumerate(chunks(sample, PER_IMPORTED_STORY - len(MARKERS)), start=1):
        site.import_stories(MARKERS + batch, first=n)
    site.admin_stories(MARKERS[:10] + sample[: PER_ADMIN_STORY - 10], first=50)
    site.waiting_for_review(MARKERS + sample[-20:], 90)
    failures = visit_all(browser, context, live_server.url, site, sample[:: len(sample) // 4])
    assert not failures, report(failures)
