"""The readers' side: pages, feeds and the API."""

from django.urls import path

from articles import api, feeds, views
from articles.caching import public_page

app_name = "articles"

# Each public page names the query parameters it reads: the page cache keeps a page under
# those alone (articles/caching.py), so other parameters are served the same page.
PAGED = ("page",)
API_LIST = ("tag", "desk", "source", "updated_since", "page", "page_size")

urlpatterns = [
    path("", public_page(views.front_page, params=PAGED), name="front"),
    path("articles/<slug:slug>/", public_page(views.article_detail, params=()), name="detail"),
    path("desks/<slug:slug>/", public_page(views.desk_page, params=PAGED), name="desk"),
    path("tags/<str:slug>/", public_page(views.tag_page, params=PAGED), name="tag"),
    path("archive/", public_page(views.archive_index, params=()), name="archive"),
    path("archive/<int:year>/<int:month>/", public_page(views.archive_month, params=PAGED), name="archive_month"),
    path("search/", public_page(views.search_page, params=("q", "page")), name="search"),
    path("preview/<str:token>/", views.shared_preview, name="shared_preview"),
    path("feeds/rss/", public_page(feeds.StoryFeed(), params=()), name="feed_rss"),
    path("feeds/atom/", public_page(feeds.AtomStoryFeed(), params=()), name="feed_atom"),
    path("feeds/desks/<slug:slug>/rss/", public_page(feeds.DeskFeed(), params=()), name="desk_feed"),
    path("feeds/desks/<slug:slug>/atom/", public_page(feeds.AtomDeskFeed(), params=()), name="desk_feed_atom"),
    path("feeds/tags/<str:slug>/rss/", public_page(feeds.TagFeed(), params=()), name="tag_feed"),
    path("feeds/tags/<str:slug>/atom/", public_page(feeds.AtomTagFeed(), params=()), name="tag_feed_atom"),
    path("api/articles/", public_page(api.article_list, params=API_LIST), name="api_list"),
    path("api/articles/<slug:slug>/", public_page(api.article_detail, params=()), name="api_detail"),
]
