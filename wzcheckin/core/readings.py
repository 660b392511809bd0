"""Core: readings people type or devices send — a body temperature at a gate (P9), from the
visitor form and from the scan API alike, checked one way."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

TEMPERATURE_RANGE = (Decimal("30.0"), Decimal("45.0"))
TEMPERATURE_MAX_DECIMALS = 2  # the columns hold two (Numeric(5, 2)): a reading is stored as given


def parse_temperature(raw: str | Decimal | float | None) -> Decimal:
    """A body temperature in °C as given (at most two decimals, never rounded: the fever check
    compares what the thermometer said); raises ValueError with a field-error code
    (``required``, ``temperature_format``, ``temperature_range``, ``temperature_precision``)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("required")
    try:
        value = Decimal(str(raw).strip().replace("，", ".").replace(",", "."))
    except InvalidOperation:
        raise ValueError("temperature_format") from None
    if not value.is_finite():  # "NaN" parses, but cannot be compared (InvalidOperation: a 500)
        raise ValueError("temperature_format")
    if not TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1]:
        raise ValueError("temperature_range")
    if value.as_tuple().exponent < -TEMPERATURE_MAX_DECIMALS:
        raise ValueError("temperature_precision")
    return value
