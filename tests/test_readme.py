"""The README's JSON API examples have the shape the API answers with."""

import json
import re
from pathlib import Path

import pytest

from tests.factories import make_article, make_desk

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parent.parent / "README.md"


def _examples() -> list[dict]:
    """The README's ```json blocks under "The JSON API", in order (list, then detail)."""
    text = README.read_text()
    section = text[text.index("## The JSON API") :]
    section = section[: section.index("\n## ", 1)]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, re.DOTALL)]


def _shape(value):
    """Keys all the way down (lists by their first item), values left out."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list) and value:
        return [_shape(value[0])]
    return None


def test_the_readme_list_example_has_the_keys_of_the_api_list(client):
    make_article(desk=make_desk(name="Climate", slug="climate"))
    answer = client.get("/api/articles/").json()
    example = _examples()[0]
    assert set(example) == set(answer)
    assert set(example["results"][0]) == set(answer["results"][0])
    assert _shape(example["results"][0]["source"]) == _shape(answer["results"][0]["source"])
    assert _shape(example["results"][0]["desk"]) == _shape(answer["results"][0]["desk"])


def test_the_readme_detail_example_adds_the_keys_of_the_api_detail(client):
    article = make_article(desk=make_desk(name="Climate", slug="climate"))
    answer = client.get(f"/api/articles/{article.slug}/").json()
    listed = set(_examples()[0]["results"][0])
    extra = _examples()[1]
    assert listed | set(extra) == set(answer)
    for key in ("key_facts", "sections", "take"):
        assert _shape(extra[key]) == _shape(answer[key]), key
