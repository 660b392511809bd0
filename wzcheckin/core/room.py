"""Core: what a room is. Each room's ``__init__.py`` says what it brings as one ``room = Room(...)``
value, and ``wzcheckin/rooms.py`` lists the rooms in one place, in menu order; the app factory, the
command line, the demo, the scheduler, the worker's home page and the retention purge iterate that
list. No room is found by name, and no hook is looked up with a default: a hook that is misspelt
(``Room(demo_loader=...)``) or of the wrong kind stops the app at start-up.

The hooks, all optional:

==================  ===========================================================================
``models``          the room's models module (imported so SQLAlchemy and Alembic see its tables)
``blueprint``       its pages
``nav_items``       its links in the menu (``NavItem``; the menu's order is ``rooms.ROOMS``'s)
``api``             its API module; its ``@api_route`` routes join the API blueprint when imported
``scan_handlers``   ``{CheckpointKind: handler}`` for ``POST /api/v1/scans`` at its checkpoints
``scanner_context`` ``(session, checkpoint) -> dict``: extra values for the scanner page
``jobs``            its scheduled jobs (``JobSpec``), run by the scheduler process only
``cli``             ``register(groups)``: adds its commands to the ``wzcheckin`` command line
``home_panel``      ``(session, worker, programme, now) -> HomePanel | None``: its home-page card
``home_standing``   ``(session, worker, programme, now) -> dict``: its keys of ``GET /api/v1/me``
``demo``            ``(session, vault, programme, now, demo)``: its part of ``wzcheckin demo``
``raw_records``     the raw personal records it keeps (``RawRecords``), for the retention purge
``purge_guard``     ``(session, programme)``: raises ``RetentionRefused`` while it still needs them
==================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import Any

from flask import Blueprint, current_app

from wzcheckin.core.job_specs import JobSpec
from wzcheckin.core.navigation import NavItem
from wzcheckin.core.retention import RawRecords

_CALLABLE_HOOKS = ("scanner_context", "cli", "home_panel", "home_standing", "demo", "purge_guard")
_TUPLES_OF = {"nav_items": NavItem, "jobs": JobSpec, "raw_records": RawRecords}


@dataclass(frozen=True, kw_only=True)
class Room:
    name: str
    models: ModuleType | None = None
    blueprint: Blueprint | None = None
    nav_items: tuple[NavItem, ...] = ()
    api: ModuleType | None = None
    scan_handlers: Mapping[Any, Callable] = field(default_factory=dict)
    scanner_context: Callable | None = None
    jobs: tuple[JobSpec, ...] = ()
    cli: Callable | None = None
    home_panel: Callable | None = None
    home_standing: Callable | None = None
    demo: Callable | None = None
    raw_records: tuple[RawRecords, ...] = ()
    purge_guard: Callable | None = None

    def __post_init__(self) -> None:
        """Wrong kinds of hook fail here, when the room's package is imported (at start-up)."""
        if not self.name.isidentifier():
            raise TypeError(f"room name {self.name!r}: a Python identifier")
        for name in ("models", "api"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, ModuleType):
                raise TypeError(f"room {self.name}: {name} must be a module, not {type(value).__name__}")
        if self.blueprint is not None and not isinstance(self.blueprint, Blueprint):
            raise TypeError(f"room {self.name}: blueprint must be a flask.Blueprint")
        for name in _CALLABLE_HOOKS:
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"room {self.name}: {name} must be callable, not {type(value).__name__}")
        for name, kind in _TUPLES_OF.items():
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(item, kind) for item in value):
                raise TypeError(f"room {self.name}: {name} must be a tuple of {kind.__name__}")
        if not isinstance(self.scan_handlers, Mapping) or not all(callable(h) for h in self.scan_handlers.values()):
            raise TypeError(f"room {self.name}: scan_handlers must map checkpoint kinds to handlers")


HOOKS = tuple(f.name for f in fields(Room) if f.name != "name")


def app_rooms() -> tuple[Room, ...]:
    """The rooms of the running app (``rooms.ROOMS``, put there by ``create_app``): how a room on a
    lower floor asks the rooms above it (the home page, the scanner page, the purge) without
    importing them."""
    return current_app.extensions["wzcheckin.rooms"]
