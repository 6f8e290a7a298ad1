"""gunicorn settings for `make serve` (all overridable by the environment)."""

import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100 if max_requests else 0
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", None)  # "-" for stdout; off by default (app logs are JSON)
errorlog = "-"
preload_app = False  # each worker opens its own database pool
