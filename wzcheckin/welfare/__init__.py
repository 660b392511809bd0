"""Welfare room: epidemic-prevention welfare packs (P3) — pickup points, stock, one pack per worker."""
