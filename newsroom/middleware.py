"""Project middleware: 503 when the database is down, a page that says the limit for a form
too large to read, word of workflow e-mails that could not be sent, and an X-Query-Count
header for benchmarks (off unless asked for)."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connections
from django.shortcuts import render

logger = logging.getLogger("newsroom")


class QueryCountHeaderMiddleware:
    """Counts the SQL queries a request runs and reports them in X-Query-Count.

    Installed only when NEWSROOM_QUERY_COUNT_HEADER is set (the benchmark sets it).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connections["default"].execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        return response


class DatabaseUnavailableMiddleware:
    """With the database unreachable, answer 503 with a plain page (no traceback, no
    template that needs the database), and let clients retry; recovers by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        if isinstance(exception, OperationalError) and "database is locked" in str(exception):
            # SQLite: another save held the write lock past the busy timeout. The transaction
            # rolled back, so nothing was saved.
            logger.warning("database busy", extra={"path": request.path, "error": str(exception)[:200]})
            return busy_response()
        if isinstance(exception, (OperationalError, InterfaceError)) and _database_down():
            logger.error("database unavailable", extra={"path": request.path, "error": str(exception)[:200]})
            return unavailable_response()
        return None


def _database_down() -> bool:
    """Whether the database fails a trivial query now (so a real query error stays a 500)."""
    from django.db import DatabaseError, connection

    try:
        connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return False
    except DatabaseError:
        connection.close()  # drop the broken connection; the next request opens a new one
        return True


def busy_response():
    """503 for a save that waited too long for another: nothing was saved, try again."""
    return _plain_503(
        "Busy: nothing was saved",
        "Please save again",
        "Nothing was saved: the database was busy with other people's saves for too long. Go back with your "
        "browser's Back button (it usually keeps what you typed) and save again in a moment. If someone changed "
        "the same story meanwhile, the form will say so.",
        retry_after=5,
    )


def unavailable_response():
    return _plain_503(
        "Temporarily unavailable",
        "We will be right back",
        "The site is temporarily unavailable. Please try again in a minute.",
        retry_after=30,
    )


def _plain_503(title: str, heading: str, text: str, *, retry_after: int):
    """A small page that needs neither the database nor templates (they may be what failed)."""
    from django.http import HttpResponse

    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{heading}</h1><p>{text}</p></body></html>"
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class NotificationFailuresMiddleware:
    """Tells the person whose request fired a workflow step that its e-mails could not be sent
    (articles.notifications logs why), as an admin message. Sits inside MessageMiddleware."""

    def __init__(self, get_response):
        from articles.notifications import failures_collected

        self.get_response = get_response
        self.failures_collected = failures_collected

    def __call__(self, request):
        with self.failures_collected() as failures:
            response = self.get_response(request)
        for failure in failures:
            messages.warning(request, failure, fail_silently=True)
        return response


class FormTooLargeMiddleware:
    """A form over DATA_UPLOAD_MAX_MEMORY_SIZE or DATA_UPLOAD_MAX_NUMBER_FIELDS gets a page that
    names the limit and says what to do (413), where Django would answer a bare 400.

    The form is read here, just before CsrfViewMiddleware would read it for its token anyway.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            try:
                request.POST  # noqa: B018 - reading it is the check
            except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as error:
                logger.warning("form too large", extra={"path": request.path, "error": str(error)})
                return form_too_large_response(request, error)
        return self.get_response(request)


def form_too_large_response(request, error):
    """The page for a form over one of the limits, naming the limit and its setting."""
    if isinstance(error, RequestDataTooBig):
        limit, setting = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024):g} MB", "NEWSROOM_MAX_FORM_MB"
    elif isinstance(error, TooManyFieldsSent):
        limit, setting = f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields", "NEWSROOM_MAX_FORM_FIELDS"
    else:
        limit, setting = f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files", "DATA_UPLOAD_MAX_NUMBER_FILES"
    response = render(
        request,
        "413.html",
        {"limit": limit, "setting": setting, "too_many_fields": isinstance(error, TooManyFieldsSent)},
        status=413,
    )
    response["Cache-Control"] = "no-store"
    return response
