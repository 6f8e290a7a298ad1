"""The admin, with the newsroom's own site (its start page is the desk's dashboard)."""

from django.contrib.admin.apps import AdminConfig


class NewsroomAdminConfig(AdminConfig):
    default_site = "articles.admin_site.NewsroomAdminSite"
