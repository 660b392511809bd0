"""Slow clients (issue 19 item 5): 200 idle connections that never finish their request held every
gunicorn sync worker for 60 s. Behind the deployment's nginx (deploy/nginx/proxy.conf, included
unchanged) the same attack costs the app nothing: nginx holds the slow connections and passes on
only complete requests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.servers import free_port

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
PROXY_CONF = ROOT / "deploy" / "nginx" / "proxy.conf"


@pytest.fixture
def nginx_in_front(tmp_path):
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        if os.environ.get("WZCHECKIN_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (apt-get install nginx-light) but not installed")
        pytest.skip("nginx not installed")
    processes = []

    def start(upstream_port: int) -> str:
        port = free_port()
        for folder in ("client_body", "proxy", "logs"):
            (tmp_path / folder).mkdir(exist_ok=True)
        conf = tmp_path / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/client_body;
    proxy_temp_path {tmp_path}/proxy;
    upstream wzcheckin {{ server 127.0.0.1:{upstream_port}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
        include {PROXY_CONF};
        location / {{ proxy_pass http://wzcheckin; }}
    }}
}}
""", encoding="utf-8")
        process = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp_path)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return f"http://127.0.0.1:{port}"
            time.sleep(0.05)
        raise RuntimeError((tmp_path / "logs" / "error.log").read_text())

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def open_idle_connections(port: int, count: int) -> list[socket.socket]:
    """Connections that start a request and never finish it (half a header each)."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /api/v1/scans HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        held.append(sock)
    return held


def test_two_hundred_idle_connections_do_not_stop_the_app_behind_nginx(gunicorn_server, nginx_in_front):
    server = gunicorn_server(workers=2)
    base_url = nginx_in_front(server.port)
    held = open_idle_connections(int(base_url.rsplit(":", 1)[1]), 200)
    try:
        def get(_n: int) -> tuple[int, float]:
            started = time.monotonic()
            response = requests.get(base_url + "/api/v1/keys", timeout=30)
            return response.status_code, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(get, range(96)))
    finally:
        for sock in held:
            sock.close()
    assert [status for status, _ in answers] == [200] * 96
    # Answered while the 200 slow connections were still open, none waiting for them.
    assert max(seconds for _, seconds in answers) < 10
