"""The readers' side: pages, feeds and the API."""

from django.urls import path

from articles import api, feeds, views
from articles.caching import public_page

app_name = "articles"

urlpatterns = [
    path("", public_page(views.front_page), name="front"),
    path("articles/<slug:slug>/", public_page(views.article_detail), name="detail"),
    path("desks/<slug:slug>/", public_page(views.desk_page), name="desk"),
    path("tags/<str:slug>/", public_page(views.tag_page), name="tag"),
    path("archive/", public_page(views.archive_index), name="archive"),
    path("archive/<int:year>/<int:month>/", public_page(views.archive_month), name="archive_month"),
    path("search/", public_page(views.search_page), name="search"),
    path("preview/<str:token>/", views.shared_preview, name="shared_preview"),
    path("feeds/rss/", public_page(feeds.StoryFeed()), name="feed_rss"),
    path("feeds/atom/", public_page(feeds.AtomStoryFeed()), name="feed_atom"),
    path("feeds/desks/<slug:slug>/rss/", public_page(feeds.DeskFeed()), name="desk_feed"),
    path("feeds/desks/<slug:slug>/atom/", public_page(feeds.AtomDeskFeed()), name="desk_feed_atom"),
    path("feeds/tags/<str:slug>/rss/", public_page(feeds.TagFeed()), name="tag_feed"),
    path("feeds/tags/<str:slug>/atom/", public_page(feeds.AtomTagFeed()), name="tag_feed_atom"),
    path("api/articles/", public_page(api.article_list), name="api_list"),
    path("api/articles/<slug:slug>/", public_page(api.article_detail), name="api_detail"),
]
