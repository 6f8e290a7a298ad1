"""Find markup in an HTML page that could run script: the check behind the XSS tests.

`find_executable_markup(html)` parses a whole page with `html.parser.HTMLParser` and returns
one `Finding` per piece of markup that a browser could turn into running code:

- a <script> that runs, unless it is loaded from /static/. A JSON data block
  (<script type="application/ld+json">, the story's structured data) does not run; it passes
  when its text is valid JSON holding no "<" at all, so that nothing can close the element
  early or switch the browser into another parsing state;
- an element that runs or embeds active content or changes how the page is fetched or
  parsed (iframe, object, embed, svg, math, base, frame, applet, style, noscript, ...), a
  <meta http-equiv>, a <link> with a rel other than stylesheet, canonical, icon, alternate;
- a <form> unless it submits to a path of this site (the templates' search box does);
- an event handler attribute (on...), any style attribute;
- a URL attribute (href, src, action, formaction, xlink:href, data, poster, background,
  srcset, ...) whose value, without whitespace and control characters and in lower case,
  starts with javascript:, vbscript: or data:.

`visible_text(html)` is the page's text as a reader gets it, for checking that hostile text
was shown rather than stripped.
"""

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements that run script, load active content, or change how the page is fetched or parsed.
FORBIDDEN_ELEMENTS = frozenset(
    {
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "base",
        "frame",
        "frameset",
        "applet",
        "style",
        # Parsing tricks used to smuggle markup past sanitisers; the templates have none.
        "noscript",
        "template",
        "xmp",
        "plaintext",
        "noembed",
        "noframes",
        "listing",
        "isindex",
    }
)
# Attributes whose value is fetched or followed as a URL.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "poster",
        "background",
        "srcset",
        "cite",
        "longdesc",
        "lowsrc",
        "dynsrc",
        "ping",
        "codebase",
        "archive",
        "manifest",
        "icon",
    }
)
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
ALLOWED_LINK_RELS = frozenset({"stylesheet", "canonical", "icon", "alternate", "shortcut"})
JSON_DATA_BLOCK_TYPES = frozenset({"application/ld+json", "application/json"})
STATIC_PREFIX = "/static/"

# Browsers skip whitespace and control characters inside a URL's scheme ("java\tscript:").
_IGNORED_IN_URL = re.compile(r"[\s\x00-\x20\x7f-\x9f\u200b-\u200d\u2060\ufeff]+")
_SITE_PATH = re.compile(r"/(?![/\\])")  # "/search/", not "//elsewhere.example/"


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    problem: str
    tag: str
    attribute: str  # "" when the element itself is the problem
    markup: str  # the start tag as written in the page

    def __str__(self) -> str:
        markup = self.markup if len(self.markup) <= 160 else self.markup[:157] + "..."
        return f"line {self.line}:{self.column}: {self.problem}: {markup}"


def normalise_url(value: str) -> str:
    """A URL as a browser reads its scheme: no whitespace or control characters, lower case."""
    return _IGNORED_IN_URL.sub("", value).lower()


def is_dangerous_url(value: str, *, srcset: bool = False) -> bool:
    """True when a URL (or, for a srcset, any of its candidates) uses javascript:, vbscript: or data:."""
    url = normalise_url(value)
    return any(part.startswith(DANGEROUS_SCHEMES) for part in (url.split(",") if srcset else [url]))


class _Parser(HTMLParser):
    """HTMLParser reading "<![...>" as a browser does outside SVG and MathML: a bogus comment
    ending at the first ">" (Python 3.13.0's parser raises on it instead)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)

    def parse_html_declaration(self, i):
        rawdata = self.rawdata
        if rawdata.startswith("<![", i):
            end = rawdata.find(">", i + 3)
            if end < 0:
                return -1
            self.handle_comment(rawdata[i + 3 : end])
            return end + 1
        return super().parse_html_declaration(i)


class _Scanner(_Parser):
    def __init__(self):
        super().__init__()
        self.findings: list[Finding] = []
        self._data_block: tuple[int, int, str, list[str]] | None = None  # line, column, markup, text

    def _report(self, problem: str, tag: str, attribute: str = "", *, at=None, markup=None) -> None:
        line, column = at or self.getpos()
        markup = markup or self.get_starttag_text() or f"<{tag}>"
        self.findings.append(Finding(line, column, problem, tag, attribute, markup))

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            kind = values.get("type", "").strip().lower()
            if kind in JSON_DATA_BLOCK_TYPES and "src" not in values:
                self._data_block = (*self.getpos(), self.get_starttag_text(), [])
            elif not values.get("src", "").strip().startswith(STATIC_PREFIX):
                self._report("a <script> not loaded from /static/", tag, "src")
        elif tag in FORBIDDEN_ELEMENTS:
            self._report(f"a <{tag}> element", tag)
        elif tag == "form":
            if not _SITE_PATH.match(values.get("action", "").strip()):
                self._report("a <form> that does not submit to a path of this site", tag, "action")
        elif tag == "meta" and "http-equiv" in values:
            self._report("a <meta http-equiv>", tag, "http-equiv")
        elif tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if not rels or not rels <= ALLOWED_LINK_RELS:
                self._report(f"a <link rel={values.get('rel', '')!r}>", tag, "rel")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self._report(f"an event handler attribute {name!r}", tag, name)
            elif name == "style":
                self._report("a style attribute", tag, name)
            elif name in URL_ATTRIBUTES and is_dangerous_url(value, srcset=name == "srcset"):
                self._report(f"a {name}= with a script or data URL", tag, name)

    def handle_data(self, data):
        if self._data_block is not None:
            self._data_block[3].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._data_block is not None:
            self._check_data_block()

    def close(self):
        super().close()
        if self._data_block is not None:
            self._check_data_block(unclosed=True)

    def _check_data_block(self, *, unclosed: bool = False) -> None:
        line, column, markup, parts = self._data_block
        self._data_block = None
        text = "".join(parts)
        at = (line, column)
        if unclosed:
            self._report("a JSON <script> block that is never closed", "script", at=at, markup=markup)
        if "<" in text:
            self._report(f"a JSON <script> block holding '<': {text[:80]!r}", "script", at=at, markup=markup)
        try:
            json.loads(text)
        except ValueError as error:
            self._report(f"a JSON <script> block that is not valid JSON ({error})", "script", at=at, markup=markup)


def find_executable_markup(html: str) -> list[Finding]:
    """Everything in the page that could run script, in document order."""
    scanner = _Scanner()
    try:
        scanner.feed(html)
        scanner.close()
    except Exception as error:  # a page the parser cannot read is not a page we can vouch for
        line, column = scanner.getpos()
        scanner.findings.append(Finding(line, column, f"the page could not be parsed ({error})", "", "", ""))
    return scanner.findings


class _TextCollector(_Parser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._in_raw_text = False

    def handle_starttag(self, tag, attrs):
        self._in_raw_text = tag in ("script", "style")

    def handle_endtag(self, tag):
        self._in_raw_text = False

    def handle_data(self, data):
        if not self._in_raw_text:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The page's text as a reader gets it (entities decoded, no script or style contents),
    whitespace runs made one space."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # an unreadable page: find_executable_markup reports it
        pass
    return " ".join("".join(collector.parts).split())
