"""Every room's models, imported in one place so Alembic and the tests see the whole schema."""

from wzcheckin.rooms import ROOMS
from wzcheckin.scheduler import models as scheduler_models

MODEL_MODULES = [*(room.models for room in ROOMS if room.models is not None), scheduler_models]
