"""Core: what the rooms' demo loaders share — the demo password and the context the loaders add to
(the enterprises and workers made so far, the logins ``wzcheckin demo`` prints). The loading itself
is ``wzcheckin/demo.py``, which calls each room's ``Room(demo=...)``."""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_PASSWORD = "liuwen2021"  # noqa: S105 - printed by `wzcheckin demo`, demo data only


@dataclass
class DemoContext:
    enterprises: dict = field(default_factory=dict)  # credit code → directory.models.Enterprise
    workers: list = field(default_factory=list)
    logins: list[dict] = field(default_factory=list)

    def add_login(self, role: str, phone: str, note: str, password: str = DEMO_PASSWORD) -> None:
        self.logins.append({"role": role, "phone": phone, "password": password, "note": note})
