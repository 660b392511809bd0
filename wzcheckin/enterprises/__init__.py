"""Enterprises and gates room."""
