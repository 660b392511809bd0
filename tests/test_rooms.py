"""The house (issue 13 items 1 and 2): rooms registered explicitly as typed ``Room`` values in one
list, and layers that hold (the import contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Blueprint

from wzcheckin import rooms
from wzcheckin.core.navigation import NavItem, menu_items, nav_entries
from wzcheckin.core.roles import Role
from wzcheckin.core.room import HOOKS, Room

PACKAGE = Path(__file__).resolve().parent.parent / "wzcheckin"


def test_a_misspelt_hook_stops_the_room_at_import():
    """A room's ``__init__`` builds its Room when the app starts: a misspelt keyword is refused."""
    with pytest.raises(TypeError, match="demo_loader"):
        Room(name="venues", demo_loader=lambda *args: None)


@pytest.mark.parametrize(("hook", "value", "message"), [
    ("home_panel", "panel", "home_panel must be callable"),
    ("blueprint", object(), "blueprint must be a flask.Blueprint"),
    ("nav_items", [NavItem((Role.WORKER,), "x.y", "X")], "nav_items must be a tuple of NavItem"),
    ("jobs", ("residence.cutoff",), "jobs must be a tuple of JobSpec"),
    ("api", "wzcheckin.venues.api", "api must be a module"),
    ("scan_handlers", {"venue": "redeem"}, "scan_handlers must map"),
])
def test_a_hook_of_the_wrong_kind_is_refused(hook, value, message):
    with pytest.raises(TypeError, match=message):
        Room(name="venues", **{hook: value})


def test_a_well_formed_room_is_accepted():
    room = Room(name="example", blueprint=Blueprint("example", __name__), nav_items=(), cli=lambda groups: None)
    assert room.home_panel is None and room.raw_records == ()


def test_every_room_package_is_in_the_one_list_once():
    """A package whose ``__init__`` says ``room = Room(...)`` but is missing from ``rooms.ROOMS``
    would never be registered: every such package is listed, once, under its own name."""
    declared = sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py")
                      if "room = Room(" in path.read_text(encoding="utf-8"))
    listed = [room.name for room in rooms.ROOMS]
    assert sorted(listed) == declared
    assert len(set(listed)) == len(listed)


def test_the_app_is_made_of_the_rooms(app):
    assert app.extensions["wzcheckin.rooms"] is rooms.ROOMS
    for room in rooms.ROOMS:
        if room.blueprint is not None:
            assert app.blueprints[room.blueprint.name] is room.blueprint
    assert {item.endpoint for item in app.extensions["wzcheckin.nav"]} == {
        item.endpoint for room in rooms.ROOMS for item in room.nav_items}
    assert "scheduler" in app.cli.commands and "retention" in app.cli.commands


def _bar(rooms_in_order, role) -> list[str]:
    """What a role's bar shows, in order: lone links by endpoint, groups by key."""
    items = [item for item in menu_items(rooms_in_order) if role in item.roles]
    return [entry.item.endpoint if entry.item else entry.group.key for entry in nav_entries(items)]


def test_the_menu_follows_the_rooms_list(app):
    """No order numbers: a role's links stand room by room in ``rooms.ROOMS``'s order, each room's
    as its Room lists them; the officials' group headings stand after them in their own order."""
    assert app.extensions["wzcheckin.nav"] == menu_items(rooms.ROOMS)
    assert _bar(rooms.ROOMS, Role.WORKER) == ["accounts.home", "codes.pass_page", "venues.browse",
                                              "venues.my_bookings", "benefits"]
    assert _bar(rooms.ROOMS, Role.GATEKEEPER) == ["scanning.scanner", "enterprises.visitor"]
    assert _bar(rooms.ROOMS, Role.ENTERPRISE_ADMIN) == [
        "enterprises.dashboard", "enterprises.visitor", "residence.enterprise_retention",
        "residence.enterprise_production", "benefits.enterprise_training", "benefits.enterprise_complaints"]
    assert _bar(rooms.ROOMS, Role.OFFICIAL) == ["accounts.desk_find", "codes.official_paper_pass", "overview",
                                                "residence", "review", "benefits", "system"]

    # Move a room and its links move with it; the group headings keep their places.
    by_name = {room.name: room for room in rooms.ROOMS}
    moved = (*(room for room in rooms.ROOMS if room.name != "residence"), by_name["residence"])
    assert _bar(moved, Role.ENTERPRISE_ADMIN) == [
        "enterprises.dashboard", "enterprises.visitor", "benefits.enterprise_training",
        "benefits.enterprise_complaints", "residence.enterprise_retention", "residence.enterprise_production"]
    reversed_rooms = tuple(reversed(rooms.ROOMS))
    assert _bar(reversed_rooms, Role.GATEKEEPER) == ["enterprises.visitor", "scanning.scanner"]
    assert _bar(reversed_rooms, Role.OFFICIAL) == ["codes.official_paper_pass", "accounts.desk_find", "overview",
                                                   "residence", "review", "benefits", "system"]
    review_group = [item.endpoint for item in menu_items(rooms.ROOMS)
                    if Role.OFFICIAL in item.roles and item.group is not None and item.group.key == "review"]
    assert review_group == ["review.queue_page", "review.budget_page", "benefits.data_bonus_overview"]


def test_every_rooms_menu_items_are_in_its_room():
    """A room's ``views.NAV_ITEMS`` reach the menu only through its ``Room(nav_items=...)``."""
    import importlib

    for room in rooms.ROOMS:
        if (PACKAGE / room.name / "views.py").exists():
            views = importlib.import_module(f"wzcheckin.{room.name}.views")
            assert tuple(getattr(views, "NAV_ITEMS", ())) == room.nav_items, room.name


def test_no_room_is_found_by_name():
    """No ``importlib`` by name and no ``getattr(module, "HOOK", default)`` in the package: the
    rooms and their hooks are named in code."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                    and len(node.args) == 3 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in {*HOOKS, "NAV_ITEMS", "JOBS", "panel", "standing", "load", "register"}:
                offenders.append(f"{path.name}:{node.lineno} getattr(..., {node.args[1].value!r}, ...)")
            if isinstance(node, ast.Attribute) and node.attr == "import_module" and path.name != "sms.py" \
                    and path.name != "scheduler.py":
                offenders.append(f"{path.name}:{node.lineno} import_module")
    assert offenders == []


def test_the_layers_hold():
    """The contracts of ``[tool.importlinter]`` (pyproject.toml): every top-level unit imports only
    the units below it, and no two import each other. In a process of its own: import-linter sets
    up logging with ``dictConfig``, which would silence the app's loggers for the rest of the run."""
    linted = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=PACKAGE.parent,
                            capture_output=True, text=True, timeout=120)
    assert linted.returncode == 0, linted.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in linted.stdout
