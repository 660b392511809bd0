"""What is installed is what was tested: the hashed lock in requirements/ covers pyproject.toml's
dependencies (with the ``test`` and ``redis`` extras) within their ranges, and every file vendored
under static/vendor/ is the one recorded, with its licence. (``scripts/vendor-check`` rebuilds
the vendored files from npm; this test needs no network.)"""

import hashlib
import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"
VENDOR_METADATA = {"README.md", "package.json", "package-lock.json", ".npmrc", "SHA256SUMS"}


def locked(name: str) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (version, [sha256, ...])} of one lock file."""
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", block)
        if match:
            pins[canonicalize_name(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in [*project["dependencies"], *extras["test"], *extras["redis"]]]


def test_every_declared_dependency_is_locked_within_its_range():
    pins = locked("test.txt")
    problems = []
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{requirement} is not in requirements/test.txt: run scripts/lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{requirement}: the lock has {pins[name][0]}")
    assert problems == []


def test_every_locked_package_has_a_hash_and_production_runs_the_tested_pins():
    test_pins, app_pins = locked("test.txt"), locked("app.txt")
    assert len(test_pins) > 40
    assert [name for name, (_, hashes) in {**test_pins, **app_pins}.items() if not hashes] == []
    assert {name: version for name, (version, _) in app_pins.items()} == {
        name: test_pins[name][0] for name in app_pins}
    assert {"flask", "sqlalchemy", "psycopg", "opencc", "redis", "setuptools"} <= app_pins.keys()
    assert "pytest" not in app_pins and "pip-audit" not in test_pins


def test_every_vendored_file_has_its_recorded_hash():
    recorded = dict(line.split()[::-1] for line in (VENDOR / "SHA256SUMS").read_text().splitlines())
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - VENDOR_METADATA
    assert present == set(recorded), "every file under static/vendor/ is listed in SHA256SUMS, and only those"
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_every_vendored_package_ships_its_licences_and_matches_its_lock():
    package = json.loads((VENDOR / "package.json").read_text())
    lock = json.loads((VENDOR / "package-lock.json").read_text())["packages"]
    for folder in {name.split("/")[0] for name in package["vendored"]}:
        assert (VENDOR / folder / "LICENSE").is_file(), folder
    # jsQR is Apache-2.0: its licence travels with it.
    assert "Apache License" in (VENDOR / "jsqr" / "LICENSE").read_text()
    for name, version in package["dependencies"].items():
        assert lock[f"node_modules/{name}"]["version"] == version, name
        assert lock[f"node_modules/{name}"]["integrity"].startswith("sha512-"), name
    assert not any("resolved" in entry for entry in lock.values())
