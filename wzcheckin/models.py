"""Every room's models, imported in one place so Alembic and the tests see the whole schema."""

from wzcheckin.rooms import room_modules

MODEL_MODULES = room_modules("models")
