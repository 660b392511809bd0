"""Benefits room: money as integer fen (分). Amounts typed in yuan are parsed with Decimal; no
float ever holds money."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

FEN_PER_YUAN = 100


def parse_yuan(text: str | None, *, maximum_yuan: int = 100_000_000) -> int:
    """"3500", "3,500.5", "¥3500.50" → fen. Raises ValueError("amount_format"/"out_of_range")."""
    cleaned = (text or "").strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not cleaned:
        raise ValueError("required")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("amount_format") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValueError("amount_format")
    if value < 0 or value > maximum_yuan:
        raise ValueError("out_of_range")
    return int(value * FEN_PER_YUAN)


def fen_to_yuan(fen: int) -> str:
    """12345 → "123.45" (always two decimals, no separators: for CSV and JSON)."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // FEN_PER_YUAN}.{fen % FEN_PER_YUAN:02d}"


def display_yuan(fen: int) -> str:
    """12345600 → "123,456" ; 12345 → "123.45": for pages."""
    fen = int(fen)
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    text = f"{whole:,}" + (f".{part:02d}" if part else "")
    return ("-" if fen < 0 else "") + text


def fen_floor(value: Decimal) -> int:
    """Round a fen amount down to a whole fen ("不超过": a subsidy never rounds up)."""
    return int(value.to_integral_value(rounding=ROUND_DOWN))
