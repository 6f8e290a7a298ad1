"""Template context shared by every public page."""

from django.conf import settings


def site(request):
    return {"site_name": settings.NEWSROOM_SITE_NAME}
