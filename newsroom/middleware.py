"""Project middleware: 503 when the database is down, and an X-Query-Count header for
benchmarks (off unless asked for)."""

import logging

from django.db import connections

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


def unavailable_response():
    from django.http import HttpResponse

    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Temporarily unavailable</title>"
        "</head><body><h1>We will be right back</h1><p>The site is temporarily unavailable. "
        "Please try again in a minute.</p></body></html>"
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = "30"
    response["Cache-Control"] = "no-store"
    return response
