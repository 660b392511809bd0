"""Venues and reservations room."""
