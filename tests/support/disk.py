"""A file system filled to the last byte, for the full-disk faults (tests/faults, bench.faults)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fill_up(directory: Path) -> Path:
    """Write zeros into ``directory/filler`` until the file system says ENOSPC; returns the filler
    (unlink it to free the space)."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(descriptor, b"\0" * size)
    finally:
        os.close(descriptor)
    return filler
