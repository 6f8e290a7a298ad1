"""Template context shared by every public page."""

from django.conf import settings

from articles.links import site_links


def site(request):
    return {"site_name": settings.NEWSROOM_SITE_NAME, "site_links": site_links()}
