"""Project middleware: an X-Query-Count header for benchmarks (off unless asked for)."""

from django.db import connections


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
