"""Conventions the whole code base keeps: numeric ids in URLs are row ids (``<rowid:...>``), and
Werkzeug's own ``int`` converter is left as Werkzeug made it."""

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from wzcheckin.core.routing import MAX_ROW_ID, RowIdConverter


def test_the_built_in_int_converter_is_not_replaced(app):
    assert app.url_map.converters["int"] is IntegerConverter
    assert app.url_map.converters["rowid"] is RowIdConverter


def test_every_numeric_id_in_a_url_is_a_row_id(app):
    """A rule with a plain ``<int:...>`` would send any number to the database (a 500 beyond 64
    bits on SQLite, beyond int4 on PostgreSQL): every numeric part of a URL is a ``<rowid:...>``."""
    plain = [rule.rule for rule in app.url_map.iter_rules()
             if any(type(c) is IntegerConverter for c in rule._converters.values())]
    assert plain == []
    assert any(isinstance(c, RowIdConverter) for rule in app.url_map.iter_rules() for c in rule._converters.values())


@pytest.mark.parametrize("path", ["/venues/slots/{}/book", "/api/v1/waitlist/{}"])
def test_a_number_beyond_the_largest_row_id_names_no_page(app, path):
    adapter = app.url_map.bind("localhost")
    method = "DELETE" if path.startswith("/api/") else "POST"
    _endpoint, args = adapter.match(path.format(MAX_ROW_ID), method=method)
    assert MAX_ROW_ID in args.values()
    with pytest.raises(NotFound):
        adapter.match(path.format(MAX_ROW_ID + 1), method=method)


def test_the_api_documents_a_row_id_as_a_bounded_integer(app):
    with app.app_context():
        from wzcheckin.api.openapi import build_document

        parameters = build_document()["paths"]["/api/v1/waitlist/{entry_id}"]["delete"]["parameters"]
    assert parameters[0]["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID}
