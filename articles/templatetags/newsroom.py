"""Template helpers for story pages: structured data and responsive images."""

import json

from django import template
from django.core.files.storage import default_storage
from django.utils.html import format_html

from articles.validators import is_host_name

register = template.Library()

# The same escapes as Django's json_script: the JSON cannot close the script element.
_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def story_jsonld(context, story):
    """A JSON-LD NewsArticle for the story, with its attribution (isBasedOn, creditText)."""
    request = context["request"]
    site_name = context.get("site_name", "Newsroom")
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title[:110],
        "description": story.lede_text[:300],
        "url": request.build_absolute_uri(story.url),
        "mainEntityOfPage": request.build_absolute_uri(story.url),
        "datePublished": story.published_at.isoformat() if story.published_at else None,
        "dateModified": (story.updated_at or story.published_at).isoformat() if story.published_at else None,
        "author": [{"@type": "Person", "name": story.byline}]
        if story.byline
        else [{"@type": "Organization", "name": site_name}],
        "publisher": {"@type": "Organization", "name": site_name},
        "keywords": [tag.name for tag in story.tags],
        "articleSection": story.desk.name if story.desk else None,
        "isBasedOn": story.original_url or None,
        "creditText": story.source.credit if story.source and story.source.credit else None,
        "sourceOrganization": _source_organization(story.source) if story.source else None,
    }
    if story.image:
        data["image"] = [
            request.build_absolute_uri(r["url"]) for r in story.image.renditions if r["format"] == "image/jpeg"
        ] or [request.build_absolute_uri(story.image.url)]
    if story.changes:
        data["correction"] = [
            {"@type": "CorrectionComment", "text": c.note, "datePublished": c.at.isoformat()}
            for c in story.changes
            if c.kind == "correction"
        ]
        data["backstory"] = (
            " ".join(f"Update {c.at:%Y-%m-%d}: {c.note}" for c in story.changes if c.kind == "update") or None
        )
    payload = json.dumps({k: v for k, v in data.items() if v not in (None, [], "")}, ensure_ascii=False)
    return format_html('<script type="application/ld+json">{}</script>', _Raw(payload.translate(_JSON_ESCAPES)))


def _source_organization(source) -> dict:
    """The source as a schema.org Organization; its url only when the stored site is a host
    name (rows from before the check may hold 'trusted.example@evil.example' or a URL)."""
    organization = {"@type": "Organization", "name": source.name}
    if is_host_name(source.site):
        organization["url"] = f"https://{source.site}/"
    return organization


class _Raw(str):
    """JSON already escaped for a script element (see _JSON_ESCAPES)."""

    def __html__(self):
        return self


@register.simple_tag(takes_context=True)
def absolute_url(context, url):
    """The URL as given when it is absolute (media in object storage), else on this site."""
    return context["request"].build_absolute_uri(url)


@register.filter
def srcset(image, fmt):
    """`url 480w, url 960w` for the renditions of one format."""
    return ", ".join(f"{r['url']} {r['width']}w" for r in image.renditions if r["format"] == fmt)


@register.filter
def storage_url(name):
    return default_storage.url(name)
