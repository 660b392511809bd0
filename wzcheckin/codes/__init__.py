"""Codes room: signed QR tokens, keys, passes."""
