"""The editorial app: stories, their parts, and the readers' pages."""

from django.apps import AppConfig
from django.db.models.signals import post_delete


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Newsroom"

    def ready(self):
        from articles import caching
        from articles.models import Article

        # Deleting a story clears the public pages however it is deleted (see story_deleted).
        post_delete.connect(caching.story_deleted, sender=Article, dispatch_uid="articles.story_deleted")
