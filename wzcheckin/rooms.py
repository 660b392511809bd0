"""The rooms (domains) of the app and the conventions by which each one plugs in.

A room is a package ``wzcheckin.<room>``; the app looks for these optional modules in each, so
adding a feature never means editing a shared registry:

==================  ===========================================================================
``models``          SQLAlchemy models (imported so Alembic and the tests see every table)
``views``           ``bp``: the room's page blueprint; optional ``NAV_ITEMS``
``api``             routes added to the API blueprint with ``api_route`` (registered on import)
``scan_handlers``   checkpoint handlers registered with ``scanning.services.handles``
``cli``             ``register(groups)``: adds commands to the ``wzcheckin`` command line
``demo``            ``load(session, vault, programme, now, demo)``: demo data for the room
``jobs``            ``JOBS``: scheduled jobs (``wzcheckin.core.job_specs.JobSpec``) for the scheduler
``home``            ``panel(...)`` / ``standing(...)``: the room's part of the worker's home page
==================  ===========================================================================
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

ROOMS = ["core", "accounts", "codes", "enterprises", "scanning", "welfare", "venues", "benefits",
         "residence", "review", "admin"]


def room_module(room: str, name: str) -> ModuleType | None:
    """``wzcheckin.<room>.<name>`` if the room has it; import errors inside it propagate."""
    full_name = f"wzcheckin.{room}.{name}"
    if importlib.util.find_spec(f"wzcheckin.{room}") is None:
        return None
    if importlib.util.find_spec(full_name) is None:
        return None
    return importlib.import_module(full_name)


def room_modules(name: str) -> list[ModuleType]:
    return [module for room in ROOMS if (module := room_module(room, name)) is not None]
