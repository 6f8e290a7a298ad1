"""Template context shared by every public page."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from articles.links import site_links


def site(request):
    """The site's name, its fixed links, and the desks for the header. The desks are read
    (one query) only when a template shows them: the admin's pages never do."""
    from articles.views import header_desks  # views imports what needs the app registry

    return {
        "site_name": settings.NEWSROOM_SITE_NAME,
        "site_links": site_links(),
        "header_desks": SimpleLazyObject(header_desks),
    }
