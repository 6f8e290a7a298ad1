"""Public addresses of stories, desks and tags.

A list page links each of its twenty stories to the story, its desk and its tags: about a
hundred addresses, and a sitemap page thousands. Reversing is a pure function of the URLconf
and the script prefix, so each desk and tag address is reversed once per process and
remembered, and story addresses fill in a pattern reversed once.
"""

from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse

_MARK = "story-slug-mark"


@lru_cache(maxsize=20_000)
def _path(prefix: str, name: str, slug: str) -> str:
    return reverse(name, kwargs={"slug": slug})


@lru_cache(maxsize=16)
def _story_pattern(prefix: str) -> str:
    return reverse("articles:detail", kwargs={"slug": _MARK}).replace(_MARK, "{}")


def story_path(slug: str) -> str:
    # A story's slug is a plain slug ([-a-zA-Z0-9_]), which reversing never escapes: the
    # address is the pattern with the slug in it (a sitemap page has thousands).
    return _story_pattern(get_script_prefix()).format(slug)


def desk_path(slug: str) -> str:
    return _path(get_script_prefix(), "articles:desk", slug)


def tag_path(slug: str) -> str:
    return _path(get_script_prefix(), "articles:tag", slug)


@lru_cache(maxsize=16)
def _site_links(prefix: str) -> dict:
    names = ("front", "archive", "search", "feed_rss", "feed_atom")
    return {name: reverse(f"articles:{name}") for name in names}


def site_links() -> dict:
    """The addresses every public page links to (header, footer, feeds)."""
    return _site_links(get_script_prefix())


@receiver(setting_changed)
def _urlconf_changed(*, setting, **kwargs):
    """Forget the addresses when a test swaps the URLconf."""
    if setting == "ROOT_URLCONF":
        _path.cache_clear()
        _story_pattern.cache_clear()
        _site_links.cache_clear()
