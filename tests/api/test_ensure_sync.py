"""The app asks once per function whether it is a coroutine function (Flask asks on every
request): the same answers as Flask's, and nothing kept for a function made per request."""

from __future__ import annotations

import gc

import pytest


def test_a_synchronous_function_is_used_as_it_is_and_answered_once(app):
    def hook(response):
        return response

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync.checked[hook] is True


def test_a_coroutine_function_is_still_refused_as_flask_refuses_it(app):
    async def view():
        return "never"

    with pytest.raises(RuntimeError, match="async"):  # Flask without its 'async' extra
        app.ensure_sync(view)
    with pytest.raises(RuntimeError, match="async"):  # and again: the answer was not kept as "fine"
        app.ensure_sync(view)


def test_functions_made_per_request_leave_nothing_behind(app):
    before = len(app.ensure_sync.checked)

    def one_request():
        def after_this_request(response):
            return response
        return app.ensure_sync(after_this_request) is after_this_request

    assert all(one_request() for _ in range(500))
    gc.collect()
    assert len(app.ensure_sync.checked) == before
