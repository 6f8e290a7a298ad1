"""Share-preview links: signed, expiring, read-only addresses of a story's working copy.

A token names the story (id and slug) and its share-links version. Moving the version on
(an editor's revoke, or unpublishing) ends every link issued before; an archived story's
links are refused whatever their version.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.urls import reverse

from articles.models import Article, ArticleStatus

SALT = "articles.preview"


class PreviewLinkInvalid(Exception):
    """The link was altered or never issued."""


class PreviewLinkExpired(Exception):
    """The link was genuine but is past its time."""


def preview_token(article) -> str:
    """A token naming this story (its slug, so a token cannot be reused for another) and
    its current share-links version (so revoking ends it)."""
    payload = {"id": article.pk, "slug": article.slug, "v": article.share_links_version}
    return signing.TimestampSigner(salt=SALT).sign_object(payload, compress=True)


def preview_url(article) -> str:
    return reverse("articles:shared_preview", kwargs={"token": preview_token(article)})


def preview_target(token: str) -> dict:
    """The story a token points at, or PreviewLinkInvalid / PreviewLinkExpired."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        target = signer.unsign_object(token, max_age=settings.NEWSROOM_PREVIEW_MAX_AGE)
    except signing.SignatureExpired:
        raise PreviewLinkExpired from None
    except signing.BadSignature:
        raise PreviewLinkInvalid from None
    # Links issued before tokens carried a version cannot be revoked, so they are refused.
    if not isinstance(target, dict) or type(target.get("v")) is not int:
        raise PreviewLinkInvalid
    return target


def link_is_current(target: dict, article) -> bool:
    """Whether a token's story still shares: not archived, and the link not revoked since."""
    return article.status != ArticleStatus.ARCHIVED and target["v"] == article.share_links_version


def share_links_revoke(*, article, user) -> None:
    """End every share link issued for this story so far (whoever may change stories may)."""
    if user is None or not user.is_active or not user.has_perm("articles.change_article"):
        raise PermissionDenied("Revoking share links needs the permission to change stories.")
    Article.objects.filter(pk=article.pk).update(share_links_version=F("share_links_version") + 1)
    article.refresh_from_db(fields=["share_links_version"])
