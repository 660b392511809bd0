"""Admin room, the programme file shown read-only: the loaded Programme's values, grouped by the
file's sections in the file's own key names, plus the file's path and its text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel

from wzcheckin.core.dates import shown
from wzcheckin.programme import Programme

MAX_FILE_BYTES = 256 * 1024

SECTION_TITLES = {
    "programme": _l("The programme"),
    "evidence": _l("Which scans prove presence"),
    "retention_subsidy": _l("Retention subsidy (P7)"),
    "production_reward": _l("Production reward (P8)"),
    "points": _l("New-resident points (P2)"),
    "data_bonus": _l("Data bonus (P1)"),
    "welfare_pack": _l("Welfare pack (P3)"),
    "venues": _l("Venues and bookings (P4)"),
    "training": _l("Skills training (P6)"),
    "activities": _l("Warmth activities (P5)"),
    "entry_checks": _l("Entry checks (P9)"),
    "sms": _l("Text messages"),
}


@dataclass
class Section:
    key: str
    title: str
    items: list[tuple[str, str]]           # (key, value as text)
    tables: list[tuple[str, list[str], list[list[str]]]]  # (key, columns, rows)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f"{value.isoformat()} ({shown(value)})"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) if value else "—"
    if value is None or value == "":
        return "—"
    return str(value)


def _section(key: str, model: BaseModel) -> Section:
    items, tables = [], []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, list) and value and isinstance(value[0], BaseModel):
            columns = list(type(value[0]).model_fields)
            tables.append((name, columns, [[_text(getattr(row, c)) for c in columns] for row in value]))
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            first = next(iter(value.values()))
            columns = ["code", *type(first).model_fields]
            tables.append((name, columns, [[code, *(_text(getattr(row, c)) for c in columns[1:])]
                                           for code, row in value.items()]))
        else:
            items.append((name, _text(value)))
    return Section(key, str(SECTION_TITLES.get(key, key)), items, tables)


def sections(programme: Programme) -> list[Section]:
    """Every section of the file in the file's order; ``[[evidence_windows]]`` as a table."""
    result = []
    for name in Programme.model_fields:
        if name == "source_path":
            continue
        value = getattr(programme, name)
        if name == "evidence_windows":
            columns = list(type(value[0]).model_fields)
            result.append(Section(name, str(_l("Evidence windows")), [],
                                  [("", columns, [[_text(getattr(w, c)) for c in columns] for w in value])]))
            continue
        result.append(_section(name, value))
    return result


def file_text(programme: Programme) -> str | None:
    """The file as loaded from disk now (it may have been edited since start-up), or None."""
    path = Path(programme.source_path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
