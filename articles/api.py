"""The read-only JSON API: current publications only (Publication.objects.current()), as
structured data with their attribution."""

from datetime import UTC, datetime

from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from articles import links
from articles.paging import PageNotFound, page_of
from articles.storyformat import TAKE_KINDS
from articles.views import PUBLISHED_FIELDS, current, listed, tagged

API_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _image(data: dict, renditions: list, request):
    image = data.get("image")
    if not image:
        return None
    jpegs = [r for r in renditions if r["format"] == "image/jpeg"]
    main = jpegs[-1] if jpegs else image  # the largest clean rendition, not the upload itself
    return {
        "url": request.build_absolute_uri(default_storage.url(main["name"])),
        "width": main["width"],
        "height": main["height"],
        "alt": data["image_alt"],
        "credit": data["image_credit"],
        "renditions": [
            {
                "url": request.build_absolute_uri(default_storage.url(r["name"])),
                "width": r["width"],
                "height": r["height"],
                "format": r["format"],
            }
            for r in renditions
        ],
    }


def story_summary(data: dict, request) -> dict:
    """A story's entry in the list: from its publication's card (or, for the whole story, its
    snapshot with the publication's dates, a superset)."""
    return {
        "title": data["title"],
        "slug": data["slug"],
        "url": request.build_absolute_uri(links.story_path(data["slug"])),
        "api_url": request.build_absolute_uri(f"/api/articles/{data['slug']}/"),
        "lede": data["lede_html"],
        "desk": data["desk"],
        "tags": [tag["name"] for tag in data["tags"]],
        "byline": data["byline"],
        "source": _source(data),
        "published_at": data.get("published_at"),
        "updated_at": data.get("updated_at") or data.get("published_at"),
    }


def _source(data: dict):
    source = data.get("source") or {}
    return {
        "name": source.get("name", ""),
        "site": source.get("site", ""),
        "original_url": data["original_url"],
        "credit": source.get("credit", ""),
    }


def story_detail(data: dict, published: dict, request) -> dict:
    """The whole story: its snapshot (content) and what its publication adds (`published`:
    the public dates, the notices of changes, the image renditions)."""
    take = data.get("take")
    dates = {name: published[name].isoformat() if published[name] else None for name in ("published_at", "updated_at")}
    return {
        **story_summary({**data, **dates}, request),
        "key_facts": {"heading": data["key_facts_heading"], "items": data["key_facts"]},
        "sections": [
            {
                "heading": s["heading"],
                "body_html": s["body_html"],
                "points_heading": s["points_heading"],
                "points": s["points"],
            }
            for s in data["sections"]
        ],
        "take": (
            {
                "title": take["title"],
                "points": [
                    {
                        "kind": p["kind"],
                        "emoji": TAKE_KINDS[p["kind"]][0],
                        "label": TAKE_KINDS[p["kind"]][1],
                        "text": p["text"],
                    }
                    for p in take["points"]
                ],
            }
            if take
            else None
        ),
        "changes": published["changes"],
        "image": _image(data, published["renditions"], request),
    }


@require_safe
def article_list(request):
    """GET /api/articles/?tag=&desk=&source=&updated_since=&page=&page_size="""
    publications = tagged(tag__slug=tag) if (tag := request.GET.get("tag")) else listed()
    if desk := request.GET.get("desk"):
        publications = publications.filter(desk__slug=desk)
    if source := request.GET.get("source"):
        publications = publications.filter(source__name=source)
    if since := request.GET.get("updated_since"):
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            return _error("updated_since must be an ISO 8601 date or date-time, e.g. 2026-11-01T00:00:00Z")
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        # Changed since then: the version readers see went live at or after that moment.
        publications = publications.filter(live_from__gte=moment)
    try:
        size = min(max(int(request.GET.get("page_size", API_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        number = int(request.GET.get("page", 1))
    except ValueError:
        return _error("page and page_size must be whole numbers")
    try:
        page = page_of(publications.values_list("card", flat=True), number, size)
    except PageNotFound as error:  # past the list's end, or below page 1 (articles/paging.py)
        return _error(f"page {number} is past the last page" if number > 1 else str(error), status=404)

    def link(n):
        query = request.GET.copy()
        query["page"] = n
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return JsonResponse(
        {
            "page": page.number,
            "page_size": size,
            "next": link(page.next_page_number()) if page.has_next else None,
            "previous": link(page.previous_page_number()) if page.has_previous else None,
            "results": [story_summary(card, request) for card in page.object_list],
        },
        json_dumps_params={"ensure_ascii": False},
    )


@require_safe
def article_detail(request, slug):
    """GET /api/articles/<slug>/: the whole story as readers see it now (one query)."""
    row = current().filter(slug=slug).values("revision__data", *PUBLISHED_FIELDS).first()
    if row is None:
        return _error("No live story with this slug.", status=404)
    data = row.pop("revision__data")
    return JsonResponse(story_detail(data, row, request), json_dumps_params={"ensure_ascii": False})
