"""What every template may use: the programme, the language switch, masking helpers."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import get_locale
from flask_login import current_user

from wzcheckin.core import context
from wzcheckin.core.dates import shown
from wzcheckin.core.identity import mask_id_tail, mask_name
from wzcheckin.core.navigation import nav_entries, nav_for


def init_templating(app: Flask) -> None:
    @app.context_processor
    def _globals():
        # Babel may render zh_CN as zh_Hans_CN; the language is what matters here.
        locale = "en" if get_locale() is not None and get_locale().language == "en" else "zh_CN"
        nav_items = nav_for(getattr(current_user, "role", None)) if current_user else []
        return {
            "programme": context.programme(),
            "dev_mode": app.config["DEV_MODE"],
            "current_locale": locale,
            "other_locale": "en" if locale == "zh_CN" else "zh_CN",
            "current_path": request.full_path.rstrip("?") if request else "/",
            "nav_items": nav_items,
            "nav_entries": nav_entries(nav_items),
        }

    app.jinja_env.filters["mask_id"] = mask_id_tail
    app.jinja_env.filters["mask_name"] = mask_name
    # One date style on every page: ``2021-02-08 14:05`` in Wenzhou time (``| when``), a day
    # ``2021-02-08``, a time of day ``| when("time")``. The old names answer the same, for
    # templates written before.
    app.jinja_env.filters["when"] = shown
    app.jinja_env.filters["local_datetime"] = lambda value, _style=None: shown(value)
    app.jinja_env.filters["local_date"] = lambda value, _style=None: shown(value, "date")
