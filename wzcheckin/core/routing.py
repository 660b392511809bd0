"""URL converters shared by every room."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# The largest key of an INTEGER column (PostgreSQL's int4). A larger number names no row; sent to
# the database it is an error (SQLite cannot bind beyond 64 bits; PostgreSQL refuses a cast).
MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<rowid:...>``: a row's id in a URL; a number beyond :data:`MAX_ROW_ID` is a 404.

    A converter of its own name, registered by the app factory, rather than a replacement of
    Werkzeug's ``int``: ``<int:...>`` keeps meaning what every Flask reader expects, and a rule
    that means a row says so (a test refuses a rule with a plain ``int``)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)
