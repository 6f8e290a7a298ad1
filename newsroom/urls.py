"""Top-level URLs: the admin, the readers' pages, and media in development."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from articles import views as article_views
from articles.caching import public_page
from articles.sitemaps import SITEMAPS, NewsSitemap
from newsroom.login_throttle import ThrottledAdminLoginForm

admin.site.login_form = ThrottledAdminLoginForm
admin.site.site_header = f"{settings.NEWSROOM_SITE_NAME} editorial"
admin.site.site_title = f"{settings.NEWSROOM_SITE_NAME} editorial"
admin.site.index_title = "Stories and sources"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("sitemap.xml", public_page(sitemap_views.index, params=()), {"sitemaps": SITEMAPS}, name="sitemap-index"),
    path(
        "sitemap-news.xml",
        public_page(sitemap_views.sitemap, params=("p",)),
        {"sitemaps": {"news": NewsSitemap}, "template_name": "articles/news_sitemap.xml"},
        name="news-sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        public_page(sitemap_views.sitemap, params=("p",)),
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("robots.txt", article_views.robots_txt, name="robots"),
    path("favicon.ico", article_views.favicon, name="favicon"),
    path("", include("articles.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
