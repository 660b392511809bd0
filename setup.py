"""The one build step pyproject.toml cannot say: ship the top-level templates/, static/ and
migrations/ inside the wheel.

A checkout keeps those folders at the top of the repository (the design card's layout); a wheel
has no top level, only packages. setuptools' standard ``package_dir`` mapping builds each folder
as a data package of wzcheckin (``wzcheckin.templates`` from ``templates/``, and so on), so an
installed app finds them next to its code (``wzcheckin/config.py``, ``shipped_folder``).
``pyproject.toml`` holds the mapping and the file patterns; only the package list lives here,
because a TOML ``packages`` is either a fixed list or ``find``, never ``find`` plus the three.
"""

from setuptools import find_namespace_packages, setup

SHIPPED_FOLDERS = ("templates", "static", "migrations")

setup(
    # namespace packages too, as pyproject's ``packages.find`` did: the translations/ folder
    packages=[*find_namespace_packages(include=["wzcheckin*"]), *(f"wzcheckin.{name}" for name in SHIPPED_FOLDERS)],
)
