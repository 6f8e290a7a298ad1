"""The cluster demo's pieces (ops/cluster.py, ops/processes.py, ops/nginx.conf) and the soak's
running-topology mode (bench/soak.py). `make cluster-demo` itself is the whole proof; these
check the parts it relies on, each with real processes and a real nginx."""

import http.server
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from ops.cluster import render_nginx_conf
from ops.processes import Processes, free_port, group_alive, listening, process_alive, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
TEMPLATE = (ROOT / "ops" / "nginx.conf").read_text()


def test_nginx_conf_renders_every_placeholder(tmp_path):
    conf = render_nginx_conf(TEMPLATE, prefix=tmp_path, port=8123, upstreams=[9001, 9002])

    assert "@@" not in conf
    assert "listen 127.0.0.1:8123;" in conf
    assert "server 127.0.0.1:9001 " in conf and "server 127.0.0.1:9002 " in conf
    assert f"pid {tmp_path}/nginx.pid;" in conf
    assert "daemon off;" in conf  # a child of the script, never a daemon of its own


def test_nginx_conf_names_a_placeholder_without_value(tmp_path):
    with pytest.raises(ValueError, match="@@workers has no value"):
        render_nginx_conf(TEMPLATE + "\nworker_processes @@workers;\n", prefix=tmp_path, port=1, upstreams=[2])


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.skipif(not os.path.exists(NGINX), reason=f"nginx is not installed ({NGINX}; apt-get install nginx)")
def test_nginx_balances_over_both_app_servers_and_stops_by_pid(tmp_path):
    """The rendered configuration in a real nginx, in front of two stand-in app servers: both
    answer through it; stopping it by its process group leaves no nginx process or port."""
    backends = []
    for name in ("one", "two"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Named)
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        backends.append(server)
    port = free_port()
    tmp_path.chmod(0o755)  # nginx's workers (nobody, when run by root) reach their folders
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        render_nginx_conf(TEMPLATE, prefix=tmp_path, port=port, upstreams=[s.server_address[1] for s in backends])
    )
    processes = Processes(tmp_path)
    try:
        nginx = processes.start(
            "nginx", [NGINX, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")], ports=[port]
        )
        wait_for_port(port, nginx.process, "nginx", timeout=20)
        answers = {urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode() for _ in range(8)}
        assert answers == {"one", "two"}
    finally:
        left = processes.stop_all()
        for server in backends:
            server.shutdown()
            server.server_close()
    assert left == []
    assert not group_alive(nginx.process.pid)
    assert not listening(port)


# A child that ignores SIGTERM and has a grandchild (as gunicorn and nginx have workers), and
# listens on a port: only the process group, and SIGKILL after the grace, stop it all.
STUBBORN = """
import signal, socket, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
deaf = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
print(subprocess.Popen([sys.executable, "-c", deaf]).pid, flush=True)
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
signal.pause()
"""


def test_stop_all_leaves_no_process_nor_port(tmp_path):
    processes = Processes(tmp_path)
    port = free_port()
    stubborn = processes.start("stubborn", [sys.executable, "-c", STUBBORN, str(port)], ports=[port])
    polite = processes.start("polite", ["sleep", "600"])
    try:
        wait_for_port(port, stubborn.process, "stubborn", timeout=20)
        grandchild = int((tmp_path / "stubborn.log").read_text().split()[0])
    finally:
        left = processes.stop_all(grace=1)

    assert left == []
    assert process_alive(os.getpid())
    for pid in (stubborn.process.pid, grandchild, polite.process.pid):
        assert not process_alive(pid)
    assert not listening(port)
    assert processes.children == []


def test_wait_for_port_says_which_child_died(tmp_path):
    processes = Processes(tmp_path)
    child = processes.start("quitter", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        with pytest.raises(RuntimeError, match=r"quitter \(pid \d+\) exited with status 3 before listening"):
            wait_for_port(free_port(), child.process, "quitter", timeout=20)
    finally:
        assert processes.stop_all() == []


@pytest.mark.parametrize(
    "environment, error",
    [
        ({"SOAK_APP_URLS": "http://127.0.0.1:1"}, "SOAK_APP_URLS needs SOAK_BASE_URL"),
        ({"SOAK_BASE_URL": "127.0.0.1:8000"}, "SOAK_BASE_URL: '127.0.0.1:8000' is not an address"),
        (
            {"SOAK_BASE_URL": "http://127.0.0.1:1", "SOAK_APP_URLS": "http://127.0.0.1:2/admin/"},
            "SOAK_APP_URLS: 'http://127.0.0.1:2/admin' is not an address",
        ),
    ],
)
def test_soak_refuses_a_topology_it_cannot_reach(environment, error):
    done = subprocess.run(
        [sys.executable, "bench/soak.py"],
        cwd=ROOT,
        # Were the addresses not checked first, the soak would stop at once on this database.
        env={"PATH": os.environ["PATH"], "SOAK_PG": "postgres://nobody@127.0.0.1:1", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert error in done.stderr


def test_soak_uploads_are_read_by_django_as_sent():
    """The soak's multipart body (an edit with a hero image) as Django's own parser reads it."""
    from io import BytesIO

    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.http.multipartparser import MultiPartParser

    from bench.soak import hero_png, multipart

    image = hero_png(3)
    body, content_type = multipart(
        {"title": "Version 3 – café", "tags": ["a", "b"]}, {"image": ("soak-3.png", image, "image/png")}
    )
    meta = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))}
    fields, files = MultiPartParser(meta, BytesIO(body), [MemoryFileUploadHandler()], "utf-8").parse()

    assert fields["title"] == "Version 3 – café"
    assert fields.getlist("tags") == ["a", "b"]
    assert files["image"].name == "soak-3.png" and files["image"].read() == image
    assert image.startswith(b"\x89PNG") and hero_png(4) != image
