"""Which files are pictures, without importing torch or Pillow (the GUI asks this on every drag-enter).
The one list: `preprocess` re-exports it."""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm"}
)


def is_image_path(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
