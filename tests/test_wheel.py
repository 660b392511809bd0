"""An installable package: the wheel built from the project carries templates/, static/ and
migrations/, so an install without the source tree runs ``wzcheckin init`` and serves a page and
a static file.

Offline throughout: the wheel is built without build isolation (the test environment has the
build backend, see the ``test`` extra), and the fresh venv reaches the dependencies through a
``.pth`` file naming this environment's site-packages instead of downloading them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.servers import ROOT, TEST_ENV, free_port

# What a build of a checkout never reads: tools' caches, local environments, earlier builds (a
# stale build/lib would hand the wheel files that are no longer in the tree).
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.pyc", "*.egg-info", "build", "dist",
                                    "instance", "test-artifacts", ".pytest_cache", ".hypothesis", ".ruff_cache",
                                    "node_modules", ".work")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed and no way to import the checkout."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    dist = work / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "--no-index", "--no-cache-dir", "--disable-pip-version-check", "-w", str(dist)],
                           cwd=work, capture_output=True, text=True, timeout=600, check=False)
    hint = ("\nThis environment lacks the build backend: install the test extra (pip install -e '.[test]'), "
            "which brings setuptools>=69 and wheel." if "bdist_wheel" in build.stdout + build.stderr else "")
    assert build.returncode == 0, f"pip wheel failed:\n{build.stdout}\n{build.stderr}{hint}"
    (wheel,) = dist.glob("wzcheckin-*.whl")
    shutil.rmtree(source)  # nothing of the checkout is left to fall back on

    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--no-cache-dir",
          "--disable-pip-version-check", str(wheel)])
    venv_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                          ).stdout.strip())
    # The dependencies from this environment's site-packages, after the venv's own. A path line
    # in a .pth file is only appended to sys.path: the .pth files there (the checkout's editable
    # install among them) are not run, so they cannot bring the checkout back.
    ours = dict.fromkeys(path for path in sys.path if Path(path).name in {"site-packages", "dist-packages"})
    (venv_site / "zz-test-dependencies.pth").write_text("".join(f"{path}\n" for path in ours), encoding="utf-8")
    return venv


def _env(database_url: str) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in {"WZCHECKIN_DEV", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": database_url})
    return env


@pytest.mark.slow
def test_the_installed_wheel_inits_a_database_and_serves_a_page_and_a_static_file(installed, tmp_path):
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = _env(f"sqlite:///{tmp_path / 'wzcheckin.sqlite3'}")
    wzcheckin = str(installed / "bin" / "wzcheckin")

    where = _run([str(installed / "bin" / "python"), "-c", "import wzcheckin; print(wzcheckin.__file__)"],
                 cwd=run_dir, env=env).stdout.strip()
    assert Path(where).is_relative_to(installed), f"wzcheckin imported from {where}, not from the wheel"

    init = _run([wzcheckin, "init"], cwd=run_dir, env=env)
    assert '"database": "ready"' in init.stdout.splitlines()[-1]
    assert '"signing_key_created": true' in init.stdout.splitlines()[-1]

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen([wzcheckin, "serve", "--port", str(port)], cwd=run_dir, env=env, stdout=log,
                                  stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "wzcheckin serve did not answer /healthz within 60 s"
            time.sleep(0.2)

        page = requests.get(base_url + "/", timeout=10)
        assert page.status_code == 200
        assert "今年留在温州过年？" in page.text  # the template, rendered in the default language (zh)
        # the stylesheet under its content-hashed name (wzcheckin/assets.py), from the package
        hashed = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.text)
        assert hashed, "the page links the stylesheet under its hashed name"
        stylesheet = requests.get(base_url + hashed.group(1), timeout=10)
        assert stylesheet.status_code == 200
        assert stylesheet.content == (ROOT / "static" / "css" / "app.css").read_bytes()
        assert stylesheet.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
