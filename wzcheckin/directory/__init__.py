"""Directory: who employs and where staff scan — the enterprises (by 统一社会信用代码, with their
effective-dated facts) and the checkpoints. Models only, one floor above core: every room refers to
them (a worker's employer, a staff account's checkpoint), so they sit below all of them."""

from wzcheckin.core.room import Room
from wzcheckin.directory import models

room = Room(name="directory", models=models)
