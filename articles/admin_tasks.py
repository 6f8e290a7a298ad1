"""The task results in the admin: django-tasks-db's pages, with each task's attempts and last
error in the list, so that staff see what failed, how often, and when it is tried again.

Superusers see them, and the Moderators group (view permission, migration 0024).
"""

from django.contrib import admin
from django_tasks_db import admin as tasks_db_admin
from django_tasks_db.models import DBTaskResult


class TaskResultAdmin(tasks_db_admin.DBTaskResultAdmin):
    list_display = (
        "task_name",
        "status",
        "attempts",
        "last_error",
        "enqueued_at",
        "display_run_after",
        "finished_at",
    )
    list_filter = ("status", "queue_name")
    search_fields = ("task_path", "exception_class_path")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        at = fields.index("status") + 1
        return [*fields[:at], "attempts", "last_error", *fields[at:]]

    @admin.display(description="attempts")
    def attempts(self, obj: DBTaskResult) -> int:
        return len(obj.worker_ids)  # each claim by a worker adds its id (TaskResult.attempts)

    @admin.display(description="error")
    def last_error(self, obj: DBTaskResult) -> str:
        """The last line of the last failure's traceback: the exception and its message."""
        lines = obj.traceback.strip().splitlines()
        return lines[-1] if lines else "-"


admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, TaskResultAdmin)
