"""The newsroom's tasks on Django's tasks framework: which backend runs them, and retries.

With the immediate backend (the default, `make run`) a task runs inside `enqueue`, in the
request. With django-tasks-db's database backend (TASKS_BACKEND) `enqueue` writes a row and
`manage.py db_worker` (`make worker`) runs it; a failed attempt is put back in the queue
after a delay that doubles each time (NEWSROOM_TASK_RETRY_SECONDS, then twice that, ...)
until NEWSROOM_TASK_ATTEMPTS attempts have failed, and then stays failed. Staff see each
task, its attempts and its last error in the admin (articles.admin_tasks).
"""

from datetime import timedelta

from django.conf import settings
from django.tasks import TaskResultStatus
from django.tasks.backends.immediate import ImmediateBackend
from django.utils import timezone


def runs_at_once(task) -> bool:
    """Whether `task` runs inside its `enqueue`, in the caller's process (the immediate backend)."""
    return isinstance(task.get_backend(), ImmediateBackend)


def retry_delay(failed_attempts: int) -> timedelta:
    """How long to wait before the next attempt, after `failed_attempts` (1 or more) failed."""
    return timedelta(seconds=settings.NEWSROOM_TASK_RETRY_SECONDS * 2 ** (failed_attempts - 1))


def retry_failed(sender, task_result, **kwargs) -> None:
    """On django-tasks-db's task_finished: put a failed attempt back in the queue, to run
    after `retry_delay`, unless it was the last one allowed. The row keeps the error
    (exception and traceback) until the next attempt ends, and its worker ids count the
    attempts (TaskResult.attempts)."""
    db_result = getattr(task_result, "db_result", None)
    if db_result is None or task_result.status != TaskResultStatus.FAILED:
        return
    attempts = task_result.attempts
    if attempts >= settings.NEWSROOM_TASK_ATTEMPTS:
        return  # given up: it stays failed, with its last error
    type(db_result).objects.filter(pk=db_result.pk, status=TaskResultStatus.FAILED).update(
        status=TaskResultStatus.READY, run_after=timezone.now() + retry_delay(attempts), finished_at=None
    )
