"""Settings for the gunicorn servers that tests/test_replicas.py starts: the real settings, plus a
middleware that says in each response how many queries each database ran for the request
(X-Queries: "default=1,replica1=6") and, asked by the header X-Drop-Replica-After: N, ends the
replica's connection from the server side after its Nth query of the request (as a replica
restart would), and asked by X-Stall-Replica-At: N, makes the replica's Nth query of the request
take a minute (as a stuck replica would); and static files served unhashed."""

from contextlib import ExitStack

from django.db import connections

from newsroom.settings import *  # noqa: F403

# What django.contrib.postgres asks each new connection (its type handlers): not the request's.
CONNECTION_SET_UP = "SELECT oid, typarray FROM pg_type"


class QueriesByDatabase:
    """Counts the queries of the whole request on every database, by alias (leaving out the
    ones each new connection makes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counts = dict.fromkeys(connections.settings, 0)
        drop_after = int(request.headers.get("X-Drop-Replica-After", 0))
        stall_at = int(request.headers.get("X-Stall-Replica-At", 0))

        def counter(alias):
            def count(execute, sql, params, many, context):
                if sql.startswith(CONNECTION_SET_UP):
                    return execute(sql, params, many, context)
                counts[alias] += 1
                if alias != "default" and counts[alias] == stall_at:
                    execute("SELECT pg_sleep(60)", [], False, context)  # a replica that stalls
                result = execute(sql, params, many, context)
                if alias != "default" and counts[alias] == drop_after:
                    _terminate(alias)
                return result

            return count

        with ExitStack() as stack:
            for alias in counts:
                stack.enter_context(connections[alias].execute_wrapper(counter(alias)))
            response = self.get_response(request)
        response["X-Queries"] = ",".join(f"{alias}={count}" for alias, count in counts.items())
        return response


def _terminate(alias: str) -> None:
    """End `alias`'s connection of this request, from another connection to the same server."""
    import psycopg

    connection = connections[alias]
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{**params, "autocommit": True}) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # users made by tests.factories
MIDDLEWARE = ["tests.replica_server_settings.QueriesByDatabase", *MIDDLEWARE]  # noqa: F405
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
