"""Share-preview links: signed, expiring, read-only addresses of a story's working copy."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "articles.preview"


class PreviewLinkInvalid(Exception):
    """The link was altered or never issued."""


class PreviewLinkExpired(Exception):
    """The link was genuine but is past its time."""


def preview_token(article) -> str:
    """A token naming this story (and its slug, so a token cannot be reused for another)."""
    return signing.TimestampSigner(salt=SALT).sign_object({"id": article.pk, "slug": article.slug}, compress=True)


def preview_url(article) -> str:
    return reverse("articles:shared_preview", kwargs={"token": preview_token(article)})


def preview_target(token: str) -> dict:
    """The story a token points at, or PreviewLinkInvalid / PreviewLinkExpired."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        return signer.unsign_object(token, max_age=settings.NEWSROOM_PREVIEW_MAX_AGE)
    except signing.SignatureExpired:
        raise PreviewLinkExpired from None
    except signing.BadSignature:
        raise PreviewLinkInvalid from None
