"""Which files are pictures, without importing torch or Pillow (the GUI asks this on every drag-enter).

`preprocess.IMAGE_SUFFIXES` must stay equal to this set (tests/test_gui_drop.py checks it).
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm"}
)


def is_image_path(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
