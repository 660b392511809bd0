"""Every room's models, imported in one place so Alembic and the tests see the whole schema."""

from wzcheckin.rooms import room_modules
from wzcheckin.scheduler import models as scheduler_models

MODEL_MODULES = [*room_modules("models"), scheduler_models]
