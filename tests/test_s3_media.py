"""Media on S3-compatible storage (issue 16, part 2), against a real S3 API server: moto's
standalone server, started here in its own process on a free loopback port and stopped by its
process id. Uploads, renditions and every public URL of them; objects deleted when nothing
shows them any more, and kept while a live version does."""

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from articles import media, uploads, workflow
from articles.models import Article, ImageRenditions, Revision
from newsroom.media_origins import media_origins
from ops.processes import free_port
from tests.factories import make_article, make_user, publish
from tests.formdata import form_fields
from tests.readers_fixtures import json_ld, published, tags_of

pytestmark = pytest.mark.django_db

BUCKET = "newsroom-media"
S3 = "storages.backends.s3.S3Storage"


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server in a process of its own, with a bucket anyone may read (as a newsroom's
    media bucket is: a bucket policy granting s3:GetObject); yields the storage options."""
    try:
        import boto3
        import moto.server  # noqa: F401  (the server is run below, in its own process)
    except ImportError as error:
        pytest.skip(f"moto's S3 server cannot be imported ({error}): install the dev lock (make install)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Its request log goes to a file: a pipe nobody reads would fill and stall the server.
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"moto's server did not start: {log.read().decode()[-2000:]}") from None
                time.sleep(0.05)
        options = {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint,
            "access_key": "newsroom-test",
            "secret_key": "newsroom-test-secret",
            "region_name": "us-east-1",
            "querystring_auth": False,
            "file_overwrite": False,
        }
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=options["access_key"],
            aws_secret_access_key=options["secret_key"],
            region_name=options["region_name"],
        )
        client.create_bucket(Bucket=BUCKET)
        public_read = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
            ],
        }
        client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read))
        yield options, client
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


class Bucket:
    """The test's view of the bucket, read with boto3 (not through the code under test)."""

    def __init__(self, client, options):
        self.client, self.options = client, options

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def empty(self) -> None:
        for key in self.keys():
            self.client.delete_object(Bucket=BUCKET, Key=key)


@pytest.fixture
def bucket(s3_server, settings):
    """Media on the S3 server for this test, starting from an empty bucket; the story pages'
    Content-Security-Policy allows images from it, as settings.py does for these options."""
    options, client = s3_server
    store = Bucket(client, options)
    store.empty()
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": S3, "OPTIONS": options}}
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "img-src": [*settings.SECURE_CSP["img-src"], *media_origins(S3, options)],
    }
    yield store
    store.empty()


def jpeg(size=(640, 360), colour=(30, 90, 150)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def fetched(url: str) -> tuple[Image.Image, str]:
    """GET a media URL from the S3 server (no credentials) and decode it."""
    with urllib.request.urlopen(url, timeout=10) as response:
        body, content_type = response.read(), response.headers["Content-Type"]
    image = Image.open(io.BytesIO(body))
    image.load()
    return image, content_type


def on_the_server(url: str, options) -> bool:
    return url.startswith(f"{options['endpoint_url']}/{BUCKET}/")


def objects_of(article_or_name) -> set[str]:
    name = getattr(article_or_name, "image", article_or_name)
    name = getattr(name, "name", name)
    return set(media.image_objects(name))


@pytest.fixture
def editor(client):
    user = make_user("Editors")
    client.force_login(user)
    return user


def change_url(article) -> str:
    return f"/admin/articles/article/{article.pk}/change/"


def story_form(client, article) -> dict:
    response = client.get(change_url(article))
    assert response.status_code == 200
    return form_fields(response.content.decode(), "article_form")


def upload(content: bytes, name="hero.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def live_story(bucket):
    """A live story whose hero image is in the bucket, with its renditions made on approval."""
    article = make_article(title="Harbour Lights Story", published=False)
    article.image.save("lights.jpg", ContentFile(jpeg((1000, 500))), save=False)
    article.image_alt, article.image_credit = "Lights over the harbour", "Photo: Test"
    article.save()
    return publish(article)


# Uploads.


def test_upload_through_the_story_form_is_an_object_in_the_bucket(
    client, editor, bucket, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=editor)
    data = story_form(client, article)
    data.update({"image_alt": "A blue card"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(article), {**data, "image": upload(jpeg((800, 450)))})
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert re.fullmatch(r"articles/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", article.image.name)
    assert bucket.keys() == objects_of(article) and len(bucket.keys()) == 5  # with its renditions, made on save
    assert (article.image_width, article.image_height) == (800, 450)
    # The change page shows it from the bucket, and the bucket serves it.
    page = client.get(change_url(article)).content.decode()
    thumb = re.search(r'<img class="hero-image__thumb" src="([^"]+)"', page).group(1)
    assert on_the_server(thumb, bucket.options)
    image, content_type = fetched(thumb)
    assert (image.format, image.size, content_type) == ("JPEG", (800, 450), "image/jpeg")


def test_a_file_that_lies_about_its_type_writes_nothing_to_the_bucket(client, editor, bucket):
    article = make_article(published=False, created_by=editor)
    data = story_form(client, article)
    html_as_png = b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>"
    response = client.post(change_url(article), {**data, "image": upload(html_as_png, "page.png", "image/png")})
    assert response.status_code == 200
    assert "damaged or not a complete image" in response.content.decode()
    png_named_jpg = upload(jpeg(), "photo.png", "image/png")
    response = client.post(change_url(article), {**data, "image": png_named_jpg})
    assert "is a JPEG image" in response.content.decode()
    assert bucket.keys() == set()


def test_an_upload_kept_from_a_refused_try_is_kept_in_the_bucket_and_used_next_time(
    client, editor, bucket, django_capture_on_commit_callbacks
):
    article = make_article(published=False, created_by=editor)
    data = story_form(client, article)
    data.update({"title": ""})  # refused: the upload is kept for the next try
    page = client.post(change_url(article), {**data, "image": upload(jpeg((320, 180)))}).content.decode()
    token = re.search(r'name="image-pending" value="([^"]+)"', page).group(1)
    (kept,) = bucket.keys()
    assert kept.startswith(f"{uploads.PENDING_FOLDER}/")
    thumb = re.search(r'<img class="hero-image__thumb" src="([^"]+)"', page).group(1)
    assert on_the_server(thumb, bucket.options) and fetched(thumb)[0].size == (320, 180)
    data.update({"title": "Titled At Last", "image-pending": token})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(article), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.image.name.startswith("articles/")
    assert bucket.keys() == objects_of(article)  # the kept copy went once the story was saved
    assert fetched(article.image.url)[0].size == (320, 180)


# Renditions and every public URL of them.


def test_approval_writes_the_renditions_to_the_bucket(live_story, bucket):
    renditions = published(live_story).renditions
    assert {r["width"] for r in renditions} == {480, 960, 1000}
    assert bucket.keys() == {live_story.image.name, *(r["name"] for r in renditions)}
    for rendition in renditions:
        image, content_type = fetched(default_storage.url(rendition["name"]))
        assert content_type == rendition["format"] == image.get_format_mimetype()
        assert image.size == (rendition["width"], rendition["height"])


def test_the_story_page_points_at_the_bucket_for_every_image(client, live_story, bucket):
    response = client.get(live_story.get_absolute_url())
    doc = tags_of(response)
    urls = [url.rsplit(" ", 1)[0] for source in doc.all("source") for url in source["srcset"].split(", ")]
    hero = next(attrs for attrs in doc.all("img") if attrs.get("alt") == "Lights over the harbour")
    og = next(attrs["content"] for attrs in doc.all("meta") if attrs.get("property") == "og:image")
    urls += [hero["src"], og, *json_ld(response)["image"]]
    assert len(urls) == 3 + 3 + 1 + 1 + 3
    for url in urls:
        assert on_the_server(url, bucket.options), url
        fetched(url)
    assert fetched(hero["src"])[0].size == (int(hero["width"]), int(hero["height"]))
    # The page's Content-Security-Policy lets the browser load them.
    policy = response["Content-Security-Policy"]
    allowed = re.search(r"img-src ([^;]+)", policy).group(1).split()
    assert {f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" for url in urls} <= set(allowed)


def test_the_api_and_the_front_page_card_point_at_the_bucket(client, live_story, bucket):
    image = client.get(f"/api/articles/{live_story.slug}/").json()["image"]
    for url in [image["url"], *(r["url"] for r in image["renditions"])]:
        assert on_the_server(url, bucket.options), url
        fetched(url)
    assert fetched(image["url"])[0].size == (image["width"], image["height"])
    thumb = next(
        attrs["src"] for attrs in tags_of(client.get("/")).all("img") if "card__thumb" in attrs.get("class", "")
    )
    assert on_the_server(thumb, bucket.options)
    assert fetched(thumb)[0].width == 480


# Deleting: what nothing shows goes; what a live version shows stays.


def test_replacing_a_drafts_image_deletes_the_old_objects(client, editor, bucket, django_capture_on_commit_callbacks):
    article = make_article(published=False, created_by=editor)
    article.image.save("first.jpg", ContentFile(jpeg()))
    first = article.image.name
    data = story_form(client, article)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(article), {**data, "image": upload(jpeg(colour=(200, 0, 0)))})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.image.name != first
    assert bucket.keys() == objects_of(article)  # the new one and its renditions only


def test_an_image_a_live_version_shows_stays_until_that_version_is_replaced(
    client, live_story, bucket, django_capture_on_commit_callbacks
):
    editor = make_user("Editors")
    client.force_login(editor)
    shown = objects_of(live_story)
    assert len(shown) == 7  # the original and six renditions
    old_image = live_story.image.name
    assert ImageRenditions.objects.filter(image=old_image).exists()
    data = story_form(client, live_story)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(live_story), {**data, "image": upload(jpeg((600, 300), (0, 150, 0)))})
    assert response.status_code == 302
    live_story.refresh_from_db()
    assert bucket.keys() == shown | objects_of(live_story)  # readers still see the old one
    page = tags_of(client.get(live_story.get_absolute_url()))
    hero = next(attrs for attrs in page.all("img") if attrs.get("alt") == "Lights over the harbour")
    assert fetched(hero["src"])[0].width == 1000
    with django_capture_on_commit_callbacks(execute=True):
        publish(live_story)  # the new version goes live: nothing shows the old image now
    assert bucket.keys() == objects_of(live_story)
    assert not shown & bucket.keys()
    # Its record of renditions went with them: no approval may offer what is gone.
    assert not ImageRenditions.objects.filter(image=old_image).exists()
    assert len(bucket.keys()) == 1 + 2 * 2  # 600 px wide: 480 and 600, in WebP and JPEG


def test_clearing_the_image_of_a_live_story_then_unpublishing_deletes_it(
    client, live_story, bucket, django_capture_on_commit_callbacks
):
    client.force_login(make_user("Editors"))
    shown = objects_of(live_story)
    data = story_form(client, live_story)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(live_story), {**data, "image-clear": "on"})
    assert response.status_code == 302
    live_story.refresh_from_db()
    assert not live_story.image
    assert bucket.keys() == shown  # the live version shows it
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_unpublish(article=live_story, user=make_user("Moderators"), reason="Taken down")
    assert bucket.keys() == set()


def test_unpublishing_keeps_the_image_the_working_copy_still_uses(
    live_story, bucket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_unpublish(article=live_story, user=make_user("Moderators"), reason="Taken down")
    assert live_story.image.name in bucket.keys()


def test_deleting_a_story_deletes_its_objects(client, live_story, bucket, django_capture_on_commit_callbacks):
    other = make_article(title="Another Story", published=False)
    other.image.save("other.jpg", ContentFile(jpeg()))
    client.force_login(make_user("superuser"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/articles/article/{live_story.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Article.objects.filter(pk=live_story.pk).exists()
    assert bucket.keys() == {other.image.name}


def test_a_scheduled_update_keeps_the_live_image_until_its_time_then_prune_removes_it(
    client, live_story, bucket, django_capture_on_commit_callbacks
):
    old = objects_of(live_story)
    live_story.image.save("next.jpg", ContentFile(jpeg((500, 250))))
    go_live = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        publish(live_story, go_live_at=go_live)
    assert old <= bucket.keys()  # live until the update's moment
    call_command("prune_media", stdout=io.StringIO())
    assert old <= bucket.keys()
    with time_machine.travel(go_live + timedelta(minutes=1)):
        out = io.StringIO()
        call_command("prune_media", "--dry-run", stdout=out)
        assert f"would delete {live_story.image.name}" not in out.getvalue()
        assert old <= bucket.keys()
        call_command("prune_media", stdout=out)
    assert bucket.keys() == objects_of(live_story)
    assert not old & bucket.keys()


def test_prune_removes_uploads_kept_for_a_retry_that_never_came(editor, bucket):
    uploads.keep_pending(upload(jpeg()), editor)
    (name,) = bucket.keys()
    call_command("prune_media", stdout=io.StringIO())
    assert bucket.keys() == {name}
    with time_machine.travel(timezone.now() + timedelta(seconds=uploads.PENDING_MAX_AGE + 60)):
        call_command("prune_media", stdout=io.StringIO())
    assert bucket.keys() == set()


def test_restoring_a_version_whose_image_was_deleted_restores_no_image(
    client, live_story, bucket, django_capture_on_commit_callbacks
):
    editor = make_user("Editors")
    client.force_login(editor)
    first = Revision.objects.get(article=live_story, kind=Revision.Kind.APPROVAL)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(live_story), {**story_form(client, live_story), "image-clear": "on"})
        publish(live_story)  # the version without an image replaces the one with it
    assert bucket.keys() == set()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.article_restore(article=live_story, revision=first, user=editor)
    live_story.refresh_from_db()
    assert first.data["image"] and not live_story.image  # not a name pointing at nothing


# Settings.

ROOT = Path(__file__).resolve().parent.parent


def settings_with(**env) -> subprocess.CompletedProcess:
    """Load newsroom.settings in a fresh process with these variables; print what matters."""
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps({'options': settings.STORAGES['default']['OPTIONS'], "
        "'img_src': settings.SECURE_CSP['img-src']}))"
    )
    variables = {**os.environ, "DJANGO_SETTINGS_MODULE": "newsroom.settings_test", "NEWSROOM_ENV_FILE": "", **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=variables, capture_output=True, text=True)


@pytest.mark.django_db(databases=[])
def test_s3_settings_give_unsigned_urls_no_overwriting_and_let_pages_show_its_images():
    options = {"bucket_name": "news-media", "region_name": "eu-west-1", "custom_domain": "media.example.net"}
    run = settings_with(MEDIA_STORAGE_BACKEND=S3, MEDIA_STORAGE_OPTIONS=json.dumps(options))
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert loaded["options"] == {**options, "querystring_auth": False, "file_overwrite": False}
    assert "https://media.example.net" in loaded["img_src"]
    # Without a custom domain: the endpoint's origin, path-style and virtual-hosted.
    options = {"bucket_name": "news-media", "endpoint_url": "https://objects.example.org:9000"}
    loaded = json.loads(settings_with(MEDIA_STORAGE_BACKEND=S3, MEDIA_STORAGE_OPTIONS=json.dumps(options)).stdout)
    assert {"https://objects.example.org:9000", "https://news-media.objects.example.org:9000"} <= set(loaded["img_src"])


@pytest.mark.django_db(databases=[])
def test_storage_options_that_are_not_a_json_object_are_refused_by_name():
    run = settings_with(MEDIA_STORAGE_BACKEND=S3, MEDIA_STORAGE_OPTIONS='{"bucket_name": "news-media",}')
    assert run.returncode != 0 and "MEDIA_STORAGE_OPTIONS is not valid JSON" in run.stderr
    run = settings_with(MEDIA_STORAGE_BACKEND=S3, MEDIA_STORAGE_OPTIONS='["news-media"]')
    assert run.returncode != 0 and "MEDIA_STORAGE_OPTIONS must be a JSON object" in run.stderr
