#!/usr/bin/env python3
"""Translation catalogs, one per room (zh_CN; the source strings are English).

    python scripts/i18n.py update    extract each room's strings into its messages.po (keeps translations)
    python scripts/i18n.py compile   write the .mo files the app loads
    python scripts/i18n.py check     fail if a string is untranslated, fuzzy, or a .mo is stale
    python scripts/i18n.py translate ROOM < FILE.json
                                     set translations from a {"English": "中文"} JSON object

A room's catalog lives in ``wzcheckin/<room>/translations/zh/LC_MESSAGES/messages.po`` and
covers ``wzcheckin/<room>/**.py`` and ``templates/<room>/**.html``. The ``core`` catalog also
covers the package's top-level modules, ``api/``, and the shared templates.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wzcheckin"
TEMPLATES = ROOT / "templates"
LOCALE = "zh"  # found by gettext for zh_CN, zh_Hans_CN and any other Chinese locale
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def rooms() -> list[str]:
    # api/ is covered by the core catalog
    return sorted(p.name for p in PACKAGE.iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name != "api")


def sources(room: str) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = [("python", p) for p in sorted((PACKAGE / room).rglob("*.py"))]
    files += [("jinja2", p) for p in sorted((TEMPLATES / room).rglob("*.html"))] if (TEMPLATES / room).exists() else []
    if room == "core":
        files += [("python", p) for p in sorted(PACKAGE.glob("*.py"))]
        files += [("python", p) for p in sorted((PACKAGE / "api").rglob("*.py"))]
        files += [("jinja2", p) for p in sorted(TEMPLATES.glob("*.html"))]
        files += [("jinja2", p) for p in sorted((TEMPLATES / "errors").rglob("*.html"))]
    return files


def catalog_path(room: str) -> Path:
    return PACKAGE / room / "translations" / LOCALE / "LC_MESSAGES" / "messages.po"


def extract(room: str) -> Catalog:
    template = Catalog(locale=LOCALE, project="wzcheckin", domain="messages")
    for method, path in sources(room):
        options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"} if method == "jinja2" else {}
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options, strip_comment_tags=True
        ):
            template.add(message, None, [(str(path.relative_to(ROOT)), lineno)],
                         auto_comments=comments, context=context)
    return template


def load(room: str) -> Catalog | None:
    path = catalog_path(room)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=LOCALE)


def update() -> None:
    for room in rooms():
        template = extract(room)
        if not len(template) and not catalog_path(room).exists():
            continue
        catalog = load(room) or Catalog(locale=LOCALE, project="wzcheckin", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path = catalog_path(room)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, sort_output=True, no_location=True)
        missing = sum(1 for m in catalog if m.id and not m.string)
        print(f"{room}: {len(catalog)} strings, {missing} untranslated")


def compiled_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> None:
    for room in rooms():
        catalog = load(room)
        if catalog is None:
            continue
        catalog_path(room).with_suffix(".mo").write_bytes(compiled_bytes(catalog))
        print(f"{room}: compiled")


def cross_room_conflicts() -> list[str]:
    """The app merges every room's catalog, so one English string must have one translation."""
    seen: dict[tuple, tuple[str, object]] = {}
    conflicts = []
    for room in rooms():
        catalog = load(room)
        if catalog is None:
            continue
        for message in catalog:
            if not message.id or not message.string:
                continue
            key = (message.id if isinstance(message.id, str) else tuple(message.id), message.context)
            if key in seen and seen[key][1] != message.string:
                conflicts.append(f"{room}: {message.id!r} is {message.string!r} here but "
                                 f"{seen[key][1]!r} in {seen[key][0]} (the merged catalog keeps one)")
            seen.setdefault(key, (room, message.string))
    return conflicts


def check() -> int:
    problems = []
    for room in rooms():
        template = extract(room)
        catalog = load(room)
        if catalog is None:
            if len(template):
                problems.append(f"{room}: {len(template)} strings but no catalog (run update)")
            continue
        for message in template:
            if not message.id:
                continue
            entry = catalog.get(message.id, context=message.context)
            if entry is None:
                problems.append(f"{room}: not in catalog (run update): {message.id!r}")
            elif not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
                problems.append(f"{room}: untranslated: {message.id!r}")
            elif entry.fuzzy:
                problems.append(f"{room}: fuzzy: {message.id!r}")
        mo = catalog_path(room).with_suffix(".mo")
        if not mo.exists():
            problems.append(f"{room}: {mo.name} missing (run compile)")
        else:
            with mo.open("rb") as handle:
                compiled = read_mo(handle)
            current = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id and not m.fuzzy}
            shipped = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in compiled if m.id}
            if current != shipped:
                problems.append(f"{room}: {mo.name} is stale (run compile)")
    problems.extend(cross_room_conflicts())
    for problem in problems:
        print(problem)
    print("translations: ok" if not problems else f"translations: {len(problems)} problem(s)")
    return 1 if problems else 0


def translate(room: str, pairs: dict[str, str]) -> None:
    catalog = load(room)
    if catalog is None:
        sys.exit(f"{room}: no catalog; run update first")
    unknown = [key for key in pairs if catalog.get(key) is None]
    for key, value in pairs.items():
        entry = catalog.get(key)
        if entry is not None:
            entry.string = value
            entry.flags.discard("fuzzy")
    with catalog_path(room).open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=True, no_location=True)
    for key in unknown:
        print(f"{room}: not in catalog, ignored: {key!r}")
    print(f"{room}: {len(pairs) - len(unknown)} translation(s) set")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "translate" and len(sys.argv) == 3:
        import json

        translate(sys.argv[2], json.load(sys.stdin))
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
