"""A throwaway PostgreSQL cluster for the test run, started from Debian's server binaries.

If ``WZCHECKIN_TEST_POSTGRES_URL`` names a server (CI may start one), it is used instead. The
cluster runs with fsync off: it is scratch space, and the durability tests kill the app server,
not the database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TemporaryCluster:
    def __init__(self):
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="wzcheckin-pg-"))
        self.datadir = self.tmp / "data"
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:
            # initdb refuses to run as root: use the postgres account Debian's package creates.
            self.run_as = "postgres"
            shutil.chown(self.tmp, user="postgres")

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> str:
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        self.start_server()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start_server(self) -> None:
        """Start (or start again, on the same port) the cluster's server."""
        options = (f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200 "
                   "-c shared_buffers=256MB")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.tmp / "log"), "-w", "start")

    def stop_server(self) -> None:
        """Stop the server but keep the cluster (its clients' connections are cut)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.tmp, ignore_errors=True)


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """A new, empty database; or a copy of ``template`` (a database name, nobody connected to it)."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        copy_of = f' TEMPLATE "{template}"' if template else ""
        connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy_of}'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name
