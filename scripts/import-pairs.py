#!/usr/bin/env python3
"""Pairs of top-level units of ``wzcheckin`` that import each other (a layer that does not hold),
counted from every ``import wzcheckin.X`` / ``from wzcheckin.X import`` in the package, inside
functions too. Until import-linter contracts guard the layers (issue 13), this is the count.

    python scripts/import-pairs.py [ROOT]     prints the number of pairs, then the pairs
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def import_pairs(package: Path) -> list[tuple[str, str]]:
    edges = set()
    for path in package.rglob("*.py"):
        unit = path.relative_to(package).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wzcheckin."):
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names if alias.name.startswith("wzcheckin.")]
            else:
                continue
            edges.update((unit, module.split(".")[1]) for module in modules if module.split(".")[1] != unit)
    return sorted({tuple(sorted(edge)) for edge in edges if (edge[1], edge[0]) in edges})


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    pairs = import_pairs(root / "wzcheckin")
    print(len(pairs))
    for first, second in pairs:
        print(f"{first} <-> {second}")
