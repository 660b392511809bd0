"""Every room's models, imported in one place so Alembic and the tests see the whole schema."""

from wzcheckin.rooms import ROOMS

MODEL_MODULES = [room.models for room in ROOMS if room.models is not None]
