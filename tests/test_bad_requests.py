"""Bad requests end in a 4xx a person can act on, never a 500 (issue 13, item 10): huge page
numbers, non-numeric story ids in the admin's addresses, control characters in one-line
fields, failed notification e-mails, over-large forms and SQLite write contention."""

import pytest

from tests.factories import make_article, make_desk, make_user

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past any database's 64-bit OFFSET


# a. Huge page numbers ---------------------------------------------------------------------


@pytest.fixture
def listed():
    """One live story on a desk, with a tag, published this month."""
    return make_article(title="Harbour Story Listed", tags=["harbour"], desk=make_desk(slug="harbour-desk"))


def list_addresses(article) -> list[str]:
    month = article.published_at
    return ["/", "/desks/harbour-desk/", "/tags/harbour/", f"/archive/{month:%Y}/{month.month}/", "/search/?q=harbour"]


@pytest.mark.parametrize("page", [HUGE, "9223372036854775807", "100000000"])
def test_a_huge_page_number_is_not_found_on_every_list(client, listed, page):
    for address in list_addresses(listed):
        joiner = "&" if "?" in address else "?"
        response = client.get(f"{address}{joiner}page={page}")
        assert response.status_code == 404, (address, response.status_code)


def test_the_first_page_of_every_list_still_shows(client, listed):
    for address in list_addresses(listed):
        response = client.get(address)
        assert response.status_code == 200 and "Harbour Story Listed" in response.content.decode(), address


@pytest.mark.parametrize("page", [HUGE, "9223372036854775807", "100000000"])
def test_a_huge_api_page_number_is_a_json_error(client, listed, page):
    response = client.get(f"/api/articles/?page={page}")
    assert response.status_code == 404
    assert "past the last page" in response.json()["error"]


def test_a_huge_api_page_size_is_clamped(client, listed):
    response = client.get(f"/api/articles/?page_size={HUGE}")
    assert response.status_code == 200 and response.json()["page_size"] == 100


# b. Non-numeric and huge ids in the admin's story addresses --------------------------------

ADMIN_PATHS = [
    ("get", "preview/"),
    ("post", "share/"),
    ("get", "transition/approve/"),
    ("post", "transition/approve/"),
    ("get", "revisions/1/"),
    ("post", "revisions/1/restore/"),
    ("get", "history/"),
]


@pytest.fixture(params=["Moderators", "superuser"])
def staff(request, client):
    user = make_user(request.param)
    client.force_login(user)
    return user


@pytest.mark.parametrize("object_id", ["abc", "1x", "-1", "1.5", "%20", HUGE, "1/2"])
@pytest.mark.parametrize(("method", "suffix"), ADMIN_PATHS)
def test_a_story_address_with_a_bad_id_is_not_found(client, staff, object_id, method, suffix):
    response = getattr(client, method)(f"/admin/articles/article/{object_id}/{suffix}")
    assert response.status_code == 404, response.status_code


def test_a_revision_number_past_any_integer_is_not_found(client, staff):
    article = make_article()
    for method, suffix in (("get", f"revisions/{HUGE}/"), ("post", f"revisions/{HUGE}/restore/")):
        response = getattr(client, method)(f"/admin/articles/article/{article.pk}/{suffix}")
        assert response.status_code == 404, suffix


@pytest.mark.parametrize("object_id", ["abc", "-1", HUGE])
@pytest.mark.parametrize("suffix", ["change/", "delete/", ""])
def test_the_admin_own_pages_with_a_bad_id_say_the_story_does_not_exist(client, staff, object_id, suffix):
    """The change and delete pages keep the admin's own answer for an unknown id: back to the
    admin's index, saying the story does not exist."""
    response = client.get(f"/admin/articles/article/{object_id}/{suffix}", follow=True)
    assert response.status_code == 200
    assert "doesn’t exist" in response.content.decode()
