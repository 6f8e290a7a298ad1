"""The readers' side: pages, feeds and the API."""

from django.urls import path

from articles import api, feeds, views

app_name = "articles"

urlpatterns = [
    path("", views.front_page, name="front"),
    path("articles/<slug:slug>/", views.article_detail, name="detail"),
    path("desks/<slug:slug>/", views.desk_page, name="desk"),
    path("tags/<slug:slug>/", views.tag_page, name="tag"),
    path("archive/", views.archive_index, name="archive"),
    path("archive/<int:year>/<int:month>/", views.archive_month, name="archive_month"),
    path("search/", views.search_page, name="search"),
    path("preview/<str:token>/", views.shared_preview, name="shared_preview"),
    path("feeds/rss/", feeds.StoryFeed(), name="feed_rss"),
    path("feeds/atom/", feeds.AtomStoryFeed(), name="feed_atom"),
    path("feeds/desks/<slug:slug>/rss/", feeds.DeskFeed(), name="desk_feed"),
    path("feeds/desks/<slug:slug>/atom/", feeds.AtomDeskFeed(), name="desk_feed_atom"),
    path("feeds/tags/<slug:slug>/rss/", feeds.TagFeed(), name="tag_feed"),
    path("feeds/tags/<slug:slug>/atom/", feeds.AtomTagFeed(), name="tag_feed_atom"),
    path("api/articles/", api.article_list, name="api_list"),
    path("api/articles/<slug:slug>/", api.article_detail, name="api_detail"),
]
