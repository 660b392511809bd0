"""API errors, as the rooms' API modules import them. The error type and its JSON rendering live
on the ground floor (``core/api_errors.py``): core's error handlers answer JSON for ``/api/`` too."""

from wzcheckin.core.api_errors import (  # noqa: F401 - re-exported
    HTTP_CODES,
    ApiError,
    error_response,
    init_api_errors,
    is_api_request,
    refusal_error,
)
