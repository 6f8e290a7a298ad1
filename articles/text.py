"""The one place where text from users becomes HTML: Markdown, then a bleach allowlist.

Models call `markdown_to_html` on save and store the result in `*_html` fields; templates
mark only those fields safe. Everything else is plain text that templates escape.
"""

import html
import re
import threading

import bleach
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "a",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "ol": ["start"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

# Raw HTML in Markdown is shown as text, never passed through.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
# bleach cleaners keep parser state while cleaning, so each thread builds its own, once.
_cleaners = threading.local()


def _html_cleaner() -> bleach.Cleaner:
    if not hasattr(_cleaners, "html"):
        _cleaners.html = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=False,
            strip_comments=True,
        )
    return _cleaners.html


def _text_cleaner() -> bleach.Cleaner:
    """Strips every tag (what `bleach.clean(fragment, tags=set(), strip=True)` does)."""
    if not hasattr(_cleaners, "text"):
        _cleaners.text = bleach.Cleaner(tags=set(), strip=True)
    return _cleaners.text


# Characters that Markdown would read as markup when plain text is meant.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}<>#+\-!|~&])")
_ORDERED_LIST_START = re.compile(r"^(\d+)([.)])")


def markdown_to_html(source: str) -> str:
    """Render Markdown to HTML and clean it against the allowlist.

    Headings in a body start at h3: the page's h1 is the headline and h2 the sections.
    """
    if not source or not source.strip():
        return ""
    tokens = _markdown.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = int(token.tag[1])
            token.tag = f"h{min(level + 2, 6)}"
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return _html_cleaner().clean(html).strip()


def plain_to_markdown(text: str) -> str:
    """Escape plain text so that Markdown renders it exactly as written."""
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", text)
    return _ORDERED_LIST_START.sub(r"\1\\\2", escaped)


def paragraphs_to_markdown(paragraphs: list[str]) -> str:
    """Join plain-text paragraphs into a Markdown document, one paragraph each."""
    return "\n\n".join(plain_to_markdown(p.strip()) for p in paragraphs if p.strip())


def html_to_text(fragment: str) -> str:
    """Plain text of a sanitised HTML fragment (for excerpts and meta descriptions)."""
    return " ".join(html.unescape(_text_cleaner().clean(fragment)).split())


_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]{}<>#+\-!|~&.)])")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def markdown_to_paragraphs(source: str) -> list[tuple[str, bool]]:
    """The plain-text paragraphs of a Markdown document, the inverse of `paragraphs_to_markdown`.

    Each is (text, exact): exact when the block is plain text as `paragraphs_to_markdown`
    writes it; otherwise the block carries Markdown formatting (bold, a link, a list...),
    which plain text cannot hold, and its text is what readers read, formatting dropped.
    """
    paragraphs = []
    for block in _BLANK_LINES.split(source.replace("\r\n", "\n").strip()):
        block = block.strip()
        if not block:
            continue
        text = _MARKDOWN_ESCAPE.sub(r"\1", block)
        if "\n" not in block and plain_to_markdown(text) == block:
            paragraphs.append((text, True))
        else:
            paragraphs.append((html_to_text(markdown_to_html(block)), False))
    return paragraphs
