"""Markdown to sanitised HTML: the one place user text becomes HTML."""

from articles.text import markdown_to_html, paragraphs_to_markdown


def test_markdown_renders_allowed_formatting():
    html = markdown_to_html("Some **bold**, *italic* and a [link](https://example.com).\n\n- one\n- two")
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert '<a href="https://example.com">link</a>' in html
    assert "<ul>\n<li>one</li>" in html


def test_raw_html_in_markdown_is_shown_as_text():
    html = markdown_to_html('Hello <script>alert(1)</script> and <img src=x onerror="alert(1)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_javascript_links_are_not_links():
    for url in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:x", "data:text/html,<b>x</b>"):
        html = markdown_to_html(f"[click]({url})")
        assert "href" not in html, url


def test_headings_start_below_the_page_and_section_headings():
    html = markdown_to_html("# Big\n\n## Smaller\n\n###### Tiny")
    assert "<h1" not in html and "<h2" not in html
    assert "<h3>Big</h3>" in html and "<h4>Smaller</h4>" in html and "<h6>Tiny</h6>" in html


def test_images_in_markdown_are_not_rendered_as_images():
    assert "<img" not in markdown_to_html("![alt](https://example.com/x.png)")


def test_empty_text_gives_empty_html():
    assert markdown_to_html("") == "" and markdown_to_html("  \n ") == ""


def test_plain_paragraphs_render_exactly_as_written():
    paragraphs = [
        "1. Not a list, *not* emphasis, [not] a link_name & <b>not bold</b>.",
        "# Not a heading.",
        "- Not a bullet.",
    ]
    html = markdown_to_html(paragraphs_to_markdown(paragraphs))
    assert html == (
        "<p>1. Not a list, *not* emphasis, [not] a link_name &amp; &lt;b&gt;not bold&lt;/b&gt;.</p>\n"
        "<p># Not a heading.</p>\n<p>- Not a bullet.</p>"
    )
