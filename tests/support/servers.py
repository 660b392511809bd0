"""A real gunicorn server for concurrency, durability and browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"  # the deployment's settings (preloaded app)

TEST_ENV = {
    "WZCHECKIN_SECRET_KEY": "test-secret-key-for-the-test-suite-only-000000",
    "WZCHECKIN_DATA_KEYS": "dGVzdC1kYXRhLWtleS1mb3ItdGVzdHMtb25seS0wMDA=",
    "WZCHECKIN_LOOKUP_KEY": "test-lookup-key-for-the-test-suite-only-000000",
    "WZCHECKIN_INSECURE_HTTP": "1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(database_url: str, *args: str, env: dict | None = None, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
    """The real ``wzcheckin`` command line against a database, in-process (see tests.support.cli,
    which also has the subprocess ``run_cli_process``)."""
    from tests.support.cli import run_cli as run_in_process

    return run_in_process(database_url, *args, env=env, check=check, input=input)


class GunicornServer:
    def __init__(self, database_url: str, *, workers: int = 2, env: dict | None = None,
                 log_path: Path | None = None, threads: int = 1, app_spec: str = "wsgi:app",
                 extra_args: list[str] | None = None, config: Path | None = GUNICORN_CONFIG):
        self.app_spec = app_spec
        self.config = config  # None: gunicorn's defaults (an app other than wzcheckin: bench's floor)
        self.extra_args = list(extra_args or [])
        self.database_url = database_url
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {key: value for key, value in os.environ.items() if key != "WZCHECKIN_DEV"}
        self.env.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": database_url, "WZCHECKIN_RATELIMIT_DISABLED": "1",
                         **(env or {})})
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> GunicornServer:
        config = ["--config", str(self.config)] if self.config else []
        command = [sys.executable, "-m", "gunicorn", *config, self.app_spec, "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(self.workers), "--threads", str(self.threads),
                   "--timeout", "60", "--graceful-timeout", "5", "--backlog", "2048", *self.extra_args]
        if self._log is not None:  # a restart after kill(): the log goes on in the same file
            self._log.close()
        self._log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - closed in stop()
        output = self._log or subprocess.DEVNULL
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=output, stderr=output,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole process group (master and workers), as a power cut would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


def _wait_for_port(port: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


class RedisServer:
    """A throwaway redis-server on loopback, no persistence; ``freeze``/``thaw`` stop and continue
    the process (a Redis that accepts connections and never answers)."""

    def __init__(self, binary: str, directory: Path):
        self.binary, self.directory = binary, directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait_for_port(self.port):
            raise RuntimeError("redis-server did not start")
        return self

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


class NginxProxy:
    """Debian's nginx on loopback in front of one upstream port (or several, balanced round-robin
    as nginx does by default), with the deployment's own proxy settings (deploy/nginx/proxy.conf,
    included unchanged); ``location_extra``: more directives for ``location /``."""

    def __init__(self, binary: str, directory: Path, upstream_port: int | list[int], *, location_extra: str = ""):
        self.binary, self.directory = binary, directory
        self.upstream_ports = [upstream_port] if isinstance(upstream_port, int) else list(upstream_port)
        self.location_extra = location_extra
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> NginxProxy:
        directory = self.directory
        for folder in ("client_body", "proxy", "logs"):
            (directory / folder).mkdir(parents=True, exist_ok=True)
        conf = directory / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    upstream wzcheckin {{ {" ".join(f"server 127.0.0.1:{port};" for port in self.upstream_ports)} keepalive 8; }}
    server {{
        listen 127.0.0.1:{self.port};
        include {ROOT / "deploy" / "nginx" / "proxy.conf"};
        location / {{ proxy_pass http://wzcheckin; {self.location_extra} }}
    }}
}}
""", encoding="utf-8")
        self.process = subprocess.Popen([self.binary, "-c", str(conf), "-p", str(directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait_for_port(self.port):
            raise RuntimeError((directory / "logs" / "error.log").read_text())
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def nginx_binary() -> str | None:
    import shutil

    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
