"""Which files are pictures, without importing torch or Pillow (the GUI asks this on every drag-enter).
The one list: `preprocess` re-exports it."""

from __future__ import annotations

import os
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm",
     # Pillow reads AVIF itself, HEIC/HEIF with the pillow-heif plugin (a dependency, registered once in
     # core.predict.preprocess).
     ".avif", ".heic", ".heif"}
)


def is_image_path(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def walk_files(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every file under `folder` (sorted, hidden names skipped, links to folders not followed, so a link
    loop cannot trap the scan), and the sub-folders that could not be listed, with why."""
    files: list[Path] = []
    unreadable: list[tuple[Path, str]] = []

    def onerror(e: OSError) -> None:
        unreadable.append((Path(e.filename or folder), e.strerror or str(e)))

    for top, dirs, names in os.walk(folder, onerror=onerror):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(Path(top) / n for n in names if not n.startswith("."))
    return sorted(files), sorted(unreadable)
