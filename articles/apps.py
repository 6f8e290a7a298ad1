"""The editorial app: stories, their parts, and the readers' pages."""

from django.apps import AppConfig
from django.db.models.signals import post_save, pre_delete


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Newsroom"

    def ready(self):
        from django.tasks.signals import task_finished
        from django_tasks_db.backend import DatabaseBackend
        from taggit.models import Tag

        from articles import caching, media, tasks
        from articles.models import Article, Desk, Source

        # A task that fails on the database worker is tried again later (articles.tasks).
        task_finished.connect(tasks.retry_failed, sender=DatabaseBackend, dispatch_uid="articles.retry_failed")

        # Deleting a story readers had moves the publication generation, however it is
        # deleted, in the delete's own transaction (see caching.story_deleted).
        pre_delete.connect(caching.story_deleted, sender=Article, dispatch_uid="articles.story_deleted")
        # And its images' objects go once the delete commits, unless another story shows them.
        pre_delete.connect(media.story_deleted, sender=Article, dispatch_uid="articles.story_images_deleted")
        # And so does deleting a tag, desk or source that publications list under.
        for model in (Tag, Desk, Source):
            pre_delete.connect(caching.listing_deleted, sender=model, dispatch_uid=f"articles.{model.__name__}_deleted")
        # Renaming a desk readers see in the header (and on its page) moves it too.
        post_save.connect(caching.desk_saved, sender=Desk, dispatch_uid="articles.Desk_saved")
