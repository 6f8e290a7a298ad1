"""Hardening: production settings, headers, uploads, and faults (login throttling is in
test_login_throttle.py)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import override_settings
from PIL import Image

from articles.models import Article
from tests.factories import make_article, make_user
from tests.formdata import form_fields

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k8#Vq2!rT9zLw4@Xe7$Nb1%Yc6^Ud3&Hf5*Jg0(Km)Pa_Sb+Rc=Td-Ue?Wf"


def manage(*args, **env):
    test_only = {
        "DJANGO_SETTINGS_MODULE",
        "SECURE_SSL_REDIRECT",
        "SECRET_KEY",
        "DB_POOL",
        "LOG_FORMAT",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    environment = {k: v for k, v in os.environ.items() if k not in test_only}
    environment.update({"DJANGO_SETTINGS_MODULE": "newsroom.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


# Production settings


def test_deploy_check_reports_nothing_in_production():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="news.example"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_django_log_record_is_printed_once_in_development():
    """With DEBUG on, Django's own console handler and the root's would each print it."""
    script = "import logging; logging.getLogger('django.request').warning('logged-once-check')"
    result = manage("shell", "-c", script, DEBUG="1", LOG_FORMAT="text")
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("logged-once-check") == 1, result.stdout + result.stderr


def test_site_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0 and "SECRET_KEY is not set" in result.stderr


def test_security_headers_on_public_pages(client):
    article = make_article()
    response = client.get(article.get_absolute_url(), secure=True)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_production_cookies_and_https_settings():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)",
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
    )
    assert result.stdout.split()[-5:] == ["True", "True", "True", "True", "False"], result.stderr


def test_pages_have_no_inline_script(client):
    article = make_article()
    for url in ("/", article.get_absolute_url(), "/search/?q=x"):
        page = client.get(url).content.decode()
        scripts = page.split("<script")[1:]
        assert all('type="application/ld+json"' in s.split(">")[0] for s in scripts), url


# Uploads


def image_bytes(fmt="JPEG", size=(64, 48), **save):
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.fixture
def editor_client(client):
    client.force_login(make_user("Editors"))
    return client


def post_image(client, article, upload, **changes):
    data = form_fields(client.get(f"/admin/articles/article/{article.pk}/change/").content.decode(), "article_form")
    data.update(image_alt="A teal square", **changes)
    data["image"] = upload
    return client.post(f"/admin/articles/article/{article.pk}/change/", data)


def test_real_image_is_stored_under_our_name_without_metadata(editor_client):
    article = make_article(published=False)
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x0112] = 6  # rotated: the stored copy must be upright
    upload = SimpleUploadedFile("../../etc/passwd.jpg", image_bytes(size=(80, 40), exif=exif), "image/jpeg")
    response = post_image(editor_client, article, upload)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert ".." not in article.image.name and "passwd" not in article.image.name
    with Image.open(article.image.path) as stored:
        assert stored.size == (40, 80) and not stored.getexif()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', ""),
        ("photo.jpg", b"<html><script>alert(1)</script></html>", ""),
        ("photo.jpg", None, "is a PNG image"),
        ("huge.png", "bomb", "megapixels"),
    ],
    ids=["svg", "html-named-jpg", "png-named-jpg", "decompression-bomb"],
)
def test_bad_uploads_are_refused_with_a_clear_error_and_keep_the_form(editor_client, name, content, message):
    article = make_article(published=False)
    if content is None:
        content = image_bytes("PNG")
    elif content == "bomb":
        content = image_bytes("PNG", size=(7000, 7000))  # 49 megapixels, a few KB compressed
    response = post_image(editor_client, article, SimpleUploadedFile(name, content), title="Typed Headline")
    assert response.status_code == 200
    page = response.content.decode()
    assert "errorlist" in page and message in page
    assert "Typed Headline" in page
    article.refresh_from_db()
    assert not article.image and article.title != "Typed Headline"


def test_oversized_upload_is_refused(editor_client, settings):
    settings.NEWSROOM_MAX_IMAGE_BYTES = 1000
    article = make_article(published=False)
    response = post_image(editor_client, article, SimpleUploadedFile("big.jpg", image_bytes(size=(400, 400))))
    assert response.status_code == 200 and "the limit is" in response.content.decode()


# Faults


def test_database_error_during_an_admin_save_leaves_no_half_written_story(editor_client, monkeypatch):
    from articles import workflow

    article = make_article(published=False)
    data = form_fields(
        editor_client.get(f"/admin/articles/article/{article.pk}/change/").content.decode(), "article_form"
    )
    data.update(title="Half Written", **{"key_facts-0-text": "Also half written."})

    def fail(**kwargs):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(workflow, "article_saved", fail)
    editor_client.raise_request_exception = False
    response = editor_client.post(f"/admin/articles/article/{article.pk}/change/", data)
    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()
    article.refresh_from_db()
    assert article.title != "Half Written"
    assert article.key_facts.get().text == "Seven to two in favour."


def test_server_error_page_is_friendly_and_has_no_traceback(client, monkeypatch):
    from articles import views

    def broken(request):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "front_page", broken)
    client.raise_request_exception = False
    with override_settings(ROOT_URLCONF="tests.urls_broken"):
        response = client.get("/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "secret internals" not in page and "Traceback" not in page and "<h1" in page


def test_with_the_cache_down_the_site_still_serves_and_publishes(client):
    article = make_article(title="Cache Outage Story")
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
        "fragments": settings.CACHES["fragments"],
    }  # each process's own memory, not Redis
    with override_settings(CACHES=dead_redis):
        assert "Cache Outage Story" in client.get("/").content.decode()
        assert client.get(article.get_absolute_url()).status_code == 200
        newer = make_article(title="Published During Outage")
        assert "Published During Outage" in client.get("/").content.decode()
        assert client.get(newer.get_absolute_url()).status_code == 200
        assert Article.objects.live().count() == 2
