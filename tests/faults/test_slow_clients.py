"""Slow clients (issue 19 item 5): 200 idle connections that never finish their request held every
gunicorn sync worker for 60 s. Behind the deployment's nginx (deploy/nginx/proxy.conf, included
unchanged) the same attack costs the app nothing: nginx holds the slow connections and passes on
only complete requests."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.servers import NginxProxy, nginx_binary

pytestmark = pytest.mark.server


@pytest.fixture
def nginx_in_front(tmp_path):
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("WZCHECKIN_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (apt-get install nginx-light) but not installed")
        pytest.skip("nginx not installed")
    proxies = []

    def start(upstream_port: int) -> str:
        proxies.append(NginxProxy(binary, tmp_path / f"nginx-{len(proxies)}", upstream_port).start())
        return proxies[-1].base_url

    yield start
    for proxy in proxies:
        proxy.stop()


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
