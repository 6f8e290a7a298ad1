"""With the database gone the site answers 503 with a plain page, and recovers by itself
when it returns. A real app server talks to PostgreSQL through a proxy that we cut."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import make_article

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(__file__).resolve().parent.parent


class TcpProxy:
    """Forwards a local port to PostgreSQL; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.open = False
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self.listener.close()


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_database_outage_gives_503_and_the_site_recovers_by_itself(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    article = make_article(title="Outage Test Story")
    db = connection.settings_dict
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    port = socket.create_server(("127.0.0.1", 0))
    port_number = port.getsockname()[1]
    port.close()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "faults-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        "NEWSROOM_PAGE_CACHE_SECONDS": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DB_POOL": "0",
        "WEB_CONCURRENCY": "1",
        "PORT": str(port_number),
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "CRITICAL",
    }
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "newsroom.wsgi", "-c", "newsroom/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port_number}{article.get_absolute_url()}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, page = fetch(url)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert status == 200 and "Outage Test Story" in page

        proxy.cut()
        status, page = fetch(url)
        assert status == 503
        assert "temporarily unavailable" in page and "Traceback" not in page and "OperationalError" not in page

        proxy.restore()
        status, page = fetch(url)
        assert status == 200 and "Outage Test Story" in page
    finally:
        server.terminate()
        server.wait(timeout=10)
        proxy.close()
