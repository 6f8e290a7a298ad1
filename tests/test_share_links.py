"""Share-preview links end with the story's takedown and can be revoked; the development
SECRET_KEY is random per checkout and kept in an ignored file (issue 13, item 6)."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core import signing
from django.test import Client
from django.urls import reverse

from articles import workflow
from articles.models import Article
from articles.previews import SALT, preview_token, preview_url
from tests.factories import make_article, make_user, publish

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Secret Draft Headline"


def html(response) -> str:
    return response.content.decode()


def shows_the_story(link: str) -> bool:
    """Whether an anonymous reader following the link sees the story's text."""
    response = Client().get(link)
    if response.status_code == 200:
        return SECRET in html(response)
    assert response.status_code in (404, 410), response.status_code
    assert SECRET not in html(response)
    return False


def revoke_url(article) -> str:
    return reverse("admin:articles_article_share_revoke", args=[article.pk])


def unpublish(article):
    workflow.article_unpublish(article=article, user=make_user("Moderators"), reason="Legal asked us to.")
    article.refresh_from_db()


def current_version(article) -> int:
    return Article.objects.values_list("share_links_version", flat=True).get(pk=article.pk)


# A link works, and only for its own story.


def test_a_share_link_shows_the_draft():
    link = preview_url(make_article(published=False, title=SECRET))
    assert shows_the_story(link)


def test_a_share_link_shows_the_working_copy_of_a_live_story():
    link = preview_url(make_article(title=SECRET))
    assert shows_the_story(link)


def test_a_token_for_story_a_cannot_show_story_b():
    story_a = make_article(published=False, title="Story A Draft")
    story_b = make_article(published=False, title=SECRET)
    payload = signing.TimestampSigner(salt=SALT).unsign_object(preview_token(story_a))
    forged_payload = {**payload, "id": story_b.pk}
    raw = signing.b64_encode(json.dumps(forged_payload, separators=(",", ":")).encode()).decode()
    _, timestamp, signature = preview_token(story_a).rsplit(":", 2)
    assert not shows_the_story(f"/preview/{raw}:{timestamp}:{signature}/")


# Unpublishing, archiving and deleting end the links.


def test_unpublishing_ends_earlier_share_links():
    article = make_article(title=SECRET)
    link = preview_url(article)
    assert shows_the_story(link)
    unpublish(article)
    assert not shows_the_story(link)


def test_unpublishing_moves_the_share_links_version_on():
    article = make_article(title=SECRET)
    before = current_version(article)
    unpublish(article)
    assert current_version(article) == before + 1


def test_old_links_stay_dead_after_reopen_and_republish():
    article = make_article(title=SECRET)
    link = preview_url(article)
    unpublish(article)
    workflow.article_reopen(article=article, user=make_user("Moderators"))
    publish(article)
    assert article.status == Article.Status.PUBLISHED
    assert not shows_the_story(link)
    assert shows_the_story(preview_url(article))  # a new link works again


def test_an_archived_story_is_refused_even_with_a_link_issued_after_archiving():
    article = make_article(title=SECRET)
    unpublish(article)
    assert article.status == Article.Status.ARCHIVED
    assert not shows_the_story(preview_url(article))


def test_a_deleted_story_link_is_not_found():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    article.delete()
    response = Client().get(link)
    assert response.status_code == 404
    assert SECRET not in html(response)


# Tampering.


def test_a_tampered_version_number_is_refused():
    article = make_article(published=False, title=SECRET)
    token = preview_token(article)
    payload = signing.TimestampSigner(salt=SALT).unsign_object(token)
    version_key = next(key for key in payload if key not in ("id", "slug"))
    _, timestamp, signature = token.rsplit(":", 2)
    for version in (payload[version_key] + 1, payload[version_key] - 1, None, "0"):
        raw = signing.b64_encode(json.dumps({**payload, version_key: version}, separators=(",", ":")).encode()).decode()
        assert not shows_the_story(f"/preview/{raw}:{timestamp}:{signature}/")


def test_a_genuinely_signed_token_for_another_version_is_refused():
    article = make_article(published=False, title=SECRET)
    payload = signing.TimestampSigner(salt=SALT).unsign_object(preview_token(article))
    version_key = next(key for key in payload if key not in ("id", "slug"))
    for version in (payload[version_key] + 1, payload[version_key] - 1):
        token = signing.TimestampSigner(salt=SALT).sign_object({**payload, version_key: version}, compress=True)
        assert not shows_the_story(f"/preview/{token}/")


def test_a_token_without_a_version_is_refused():
    article = make_article(published=False, title=SECRET)
    token = signing.TimestampSigner(salt=SALT).sign_object({"id": article.pk, "slug": article.slug}, compress=True)
    assert not shows_the_story(f"/preview/{token}/")


# Revoking from the admin.


def test_an_editor_can_revoke_a_storys_links(client):
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    client.force_login(make_user("Editors"))
    response = client.post(revoke_url(article))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:articles_article_change", args=[article.pk])
    assert not shows_the_story(link)
    assert any("revoked" in str(m).lower() for m in get_messages(response.wsgi_request))


def test_a_new_link_works_after_revoking(client):
    article = make_article(published=False, title=SECRET)
    client.force_login(make_user("Editors"))
    client.post(revoke_url(article))
    article.refresh_from_db()
    assert shows_the_story(preview_url(article))


def test_revoking_leaves_other_stories_links_alone(client):
    article = make_article(published=False)
    other = make_article(published=False, title=SECRET)
    link = preview_url(other)
    client.force_login(make_user("Editors"))
    client.post(revoke_url(article))
    assert shows_the_story(link)


def test_the_change_page_has_a_revoke_button(client):
    article = make_article(published=False)
    client.force_login(make_user("Editors"))
    page = html(client.get(reverse("admin:articles_article_change", args=[article.pk])))
    assert f'action="{revoke_url(article)}"' in page
    assert "Revoke share links" in page


def test_revoke_is_post_only(client):
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    client.force_login(make_user("Editors"))
    assert client.get(revoke_url(article)).status_code == 405
    assert shows_the_story(link)


def test_revoke_needs_the_csrf_token():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("Editors"))
    assert browser.post(revoke_url(article)).status_code == 403
    assert shows_the_story(link)


def test_anonymous_post_cannot_revoke():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    response = Client().post(revoke_url(article))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert shows_the_story(link)


def test_a_reader_cannot_revoke():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    reader = User.objects.create_user(username="reader", password="pw")
    browser = Client()
    browser.force_login(reader)
    response = browser.post(revoke_url(article))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert shows_the_story(link)


def test_staff_who_may_only_view_stories_cannot_revoke():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    viewer = User.objects.create_user(username="viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    browser = Client()
    browser.force_login(viewer)
    assert browser.post(revoke_url(article)).status_code == 403
    assert current_version(article) == 0
    assert shows_the_story(link)


def test_staff_without_any_story_permission_cannot_revoke():
    article = make_article(published=False, title=SECRET)
    link = preview_url(article)
    staff = User.objects.create_user(username="staff", password="pw", is_staff=True)
    browser = Client()
    browser.force_login(staff)
    assert browser.post(revoke_url(article)).status_code in (403, 404)
    assert shows_the_story(link)


def test_revoking_a_missing_story_is_not_found(client):
    client.force_login(make_user("Editors"))
    assert client.post(reverse("admin:articles_article_share_revoke", args=[999999])).status_code == 404


# The development key.


def test_settings_hold_no_constant_fallback_key():
    settings_text = (ROOT / "newsroom" / "settings.py").read_text()
    assert "django-insecure" not in settings_text
    assert ".secret_key" in settings_text


def test_the_development_key_file_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", ".secret_key"], cwd=ROOT)
    assert result.returncode == 0


def test_development_key_is_created_random_and_private(tmp_path):
    from newsroom.secret_key import development_secret_key

    path = tmp_path / ".secret_key"
    key = development_secret_key(path)
    assert len(key) >= 50
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_development_key_is_kept_between_runs(tmp_path):
    from newsroom.secret_key import development_secret_key

    path = tmp_path / ".secret_key"
    assert development_secret_key(path) == development_secret_key(path)


def test_two_checkouts_get_different_development_keys(tmp_path):
    from newsroom.secret_key import development_secret_key

    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    assert development_secret_key(tmp_path / "one" / ".secret_key") != development_secret_key(
        tmp_path / "two" / ".secret_key"
    )


def _settings_key(checkout: Path, **env) -> subprocess.CompletedProcess:
    """Import a copy of the settings living in `checkout` (so BASE_DIR is that folder)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from newsroom import settings; print(settings.SECRET_KEY)"],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _checkout(tmp_path: Path, name: str) -> Path:
    checkout = tmp_path / name
    shutil.copytree(ROOT / "newsroom", checkout / "newsroom", ignore=shutil.ignore_patterns("__pycache__"))
    return checkout


def test_debug_settings_without_a_key_use_a_random_key_kept_per_checkout(tmp_path):
    one, two = _checkout(tmp_path, "one"), _checkout(tmp_path, "two")
    first = _settings_key(one, DEBUG="1")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip().splitlines()[-1]
    assert key == (one / ".secret_key").read_text().strip()
    assert stat.S_IMODE((one / ".secret_key").stat().st_mode) == 0o600
    assert _settings_key(one, DEBUG="1").stdout.strip().splitlines()[-1] == key
    assert _settings_key(two, DEBUG="1").stdout.strip().splitlines()[-1] != key


def test_production_settings_without_a_key_still_refuse_to_start(tmp_path):
    checkout = _checkout(tmp_path, "prod")
    result = _settings_key(checkout, DEBUG="0")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr
    assert not (checkout / ".secret_key").exists()


def test_the_admin_gives_no_share_link_for_an_archived_story(client):
    article = make_article(title=SECRET)
    unpublish(article)
    client.force_login(make_user("Moderators"))
    page = html(client.get(reverse("admin:articles_article_change", args=[article.pk])))
    assert f'action="{reverse("admin:articles_article_share", args=[article.pk])}"' not in page
    response = client.post(reverse("admin:articles_article_share", args=[article.pk]), follow=True)
    assert not re.search(r'/preview/[^/"]+:[^/"]+/', html(response))  # no token anywhere on the page
    assert "reopen it as a draft" in html(response)
