"""wzcheckin: the 留温过年 check-in and benefits tracker. ``create_app`` is in ``wzcheckin/app.py``."""

from __future__ import annotations


def create_app(config: dict | None = None):
    # Imported when called, not here: this file runs before any ``wzcheckin.X`` is imported, and
    # the app factory imports every room; ``import wzcheckin.config`` must not load the whole app.
    from wzcheckin.app import create_app as build_app

    return build_app(config)
