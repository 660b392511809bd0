#!/usr/bin/env python3
"""A short check of the one translation catalogue (zh; the source strings are English).

    python scripts/i18n.py check                   run by scripts/test
    python scripts/i18n.py translate < FILE.json   set translations from {"English": "中文"}

The catalogue is maintained with Babel's own commands (README.md, "Translations"):
``pybabel extract``, ``pybabel update``, ``pybabel compile``. The check fails when a string of the
code is missing from the catalogue or no longer in the code (run extract + update), untranslated
or fuzzy, when the compiled .mo is older than the .po's translations (run compile), or when one
English string is translated two ways (two entries that differ only in spacing or closing punctuation).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "wzcheckin" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
KEYWORDS = ["-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2"]


def load(path: Path):
    with path.open("rb") as handle:
        return read_mo(handle) if path.suffix == ".mo" else read_po(handle, locale="zh")


def extracted_ids() -> set:
    with tempfile.TemporaryDirectory() as scratch:
        pot = Path(scratch) / "messages.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",  # noqa: S603
                        *KEYWORDS, "-o", str(pot), "."], cwd=ROOT, check=True)
        return {(m.id, m.context) for m in load(pot) if m.id}


def normalised(text) -> str:
    text = text if isinstance(text, str) else text[0]
    return " ".join(text.split()).rstrip(".:：。!！")


def check() -> int:
    catalogue = load(CATALOGUE)
    entries = {(m.id, m.context): m for m in catalogue if m.id}
    code = extracted_ids()
    problems = [f"not in the catalogue (pybabel extract + update): {key[0]!r}" for key in code - entries.keys()]
    problems += [f"no longer in the code (pybabel extract + update): {key[0]!r}" for key in entries.keys() - code]
    for key, message in entries.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {key[0]!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {key[0]!r}")
    shipped = {m.id: m.string for m in load(CATALOGUE.with_suffix(".mo")) if m.id}
    current = {m.id: m.string for m in catalogue if m.id and not m.fuzzy and m.string}
    if shipped != current:
        problems.append("messages.mo is stale (pybabel compile)")
    seen: dict[str, tuple] = {}
    for message in catalogue:
        if message.id and message.string and not message.context:
            first = seen.setdefault(normalised(message.id), (message.id, message.string))
            if normalised(first[1]) != normalised(message.string):
                problems.append(f"one string, two translations: {first[0]!r} → {first[1]!r}, "
                                f"{message.id!r} → {message.string!r}")
    for problem in problems:
        print(problem)
    print("translations: ok" if not problems else f"translations: {len(problems)} problem(s)")
    return 1 if problems else 0


def translate(pairs: dict[str, str]) -> int:
    catalogue = load(CATALOGUE)
    unknown = [key for key in pairs if catalogue.get(key) is None]
    for key, value in pairs.items():
        if (entry := catalogue.get(key)) is not None:
            entry.string = value
            entry.flags.discard("fuzzy")
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalogue, width=100, sort_output=True, no_location=True)
    for key in unknown:
        print(f"not in the catalogue, ignored (pybabel extract + update first): {key!r}")
    print(f"{len(pairs) - len(unknown)} translation(s) set; now pybabel compile")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "check":
        sys.exit(check())
    if command == "translate":
        sys.exit(translate(json.load(sys.stdin)))
    sys.exit(__doc__)
