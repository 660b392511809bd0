"""Scaling out: with WZCHECKIN_RATELIMIT_STORAGE_URI=redis://…, the per-address limits (here the
log-in form's 10 attempts a minute) are counted once for all gunicorn worker processes, where the
default memory:// storage counts per process."""

import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.servers import RedisServer
from tests.support.web import csrf_token_from

pytestmark = pytest.mark.server


@pytest.fixture
def redis_url(redis_server):
    return redis_server[1]


def test_login_limit_is_shared_by_all_worker_processes(gunicorn_server, redis_url, tmp_path):
    access_log = tmp_path / "access.log"
    server = gunicorn_server(workers=2, env={"WZCHECKIN_RATELIMIT_DISABLED": "",
                                             "WZCHECKIN_RATELIMIT_STORAGE_URI": redis_url},
                             extra_args=["--access-logfile", str(access_log),
                                         "--access-logformat", "%(p)s %(m)s %(U)s %(s)s"])
    clients = []
    for _ in range(16):  # the form (GET is not limited), each on its own connection
        http = requests.Session()
        page = http.get(server.base_url + "/login", timeout=30)
        clients.append((http, csrf_token_from(page.text)))

    def attempt(client) -> int:
        http, token = client
        with http:
            return http.post(server.base_url + "/login", timeout=30, allow_redirects=False,
                             data={"csrf_token": token, "phone": "13900000000",
                                   "password": "not-the-password"}).status_code

    # Eight at a time: a sync worker serves one request at a time, so both processes take some.
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, clients))
    posts = [line.split() for line in access_log.read_text().splitlines() if line.split()[1:3] == ["POST", "/login"]]
    assert len({pid for pid, *_ in posts}) == 2, "all attempts went to one process: the test proves nothing"
    # 10 per minute per address, counted once across both processes (memory:// would let up to
    # 16 through: 10 in each process).
    assert sorted(statuses) == [200] * 10 + [429] * 6


def _login_answers(server, count: int, timeout: float = 10) -> list[tuple[int, float]]:
    answers = []
    with requests.Session() as http:
        token = csrf_token_from(http.get(server.base_url + "/login", timeout=timeout).text)
        for _ in range(count):
            started = time.monotonic()
            status = http.post(server.base_url + "/login", timeout=timeout, allow_redirects=False,
                               data={"csrf_token": token, "phone": "13900000000",
                                     "password": "not-the-password"}).status_code
            answers.append((status, time.monotonic() - started))
    return answers


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_without_redis_log_in_still_answers_and_limits_stay_in_memory(gunicorn_server, redis_server, fault):
    """Redis killed or frozen (SIGSTOP): the log-in form still answers (a refused log-in, not a
    500 or a hung worker), and the per-address limit still holds, counted in memory."""
    process, url = redis_server
    server = gunicorn_server(workers=1, env={"WZCHECKIN_RATELIMIT_DISABLED": "", "WZCHECKIN_RATELIMIT_STORAGE_URI": url})
    assert {status for status, _ in _login_answers(server, 2)} == {200}  # wrong password: the form again
    if fault == "stopped":
        process.kill()
        process.wait(timeout=10)
    else:
        process.send_signal(signal.SIGSTOP)
    try:
        answers = _login_answers(server, 12, timeout=30)
    finally:
        if fault == "frozen":
            process.send_signal(signal.SIGCONT)
    statuses = [status for status, _seconds in answers]
    assert 500 not in statuses and set(statuses) <= {200, 429}
    assert 429 in statuses  # 10 a minute per address, counted in memory while Redis is away
    # Nobody waits for Redis's TCP timeout: a quarter-second socket timeout per try.
    assert max(seconds for _status, seconds in answers) < 10


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("WZCHECKIN_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is required (apt-get install redis-server) but not installed")
        pytest.skip("redis-server not installed")
    server = RedisServer(binary, tmp_path).start()
    yield server.process, server.url
    server.stop()
