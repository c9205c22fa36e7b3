"""A tiny labelled picture set (coloured shapes, one class per shape) for tests, benchmarks and demos.

Small, deterministic and quick to learn: the loop should reach > 90% validation accuracy on it in seconds.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from PIL import Image, ImageDraw

from dogbreed_desktop.core.files import atomic_write, write_text

SHAPES = {
    "circle": (220, 60, 60),
    "square": (60, 160, 60),
    "triangle": (60, 90, 220),
    "cross": (230, 190, 40),
    "ring": (160, 60, 200),
}


def _draw(shape: str, color, size: int, rng: random.Random) -> Image.Image:
    bg = tuple(rng.randint(0, 70) for _ in range(3))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    r = rng.uniform(0.22, 0.38) * size
    cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
    jitter = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in color)
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        d.ellipse(box, fill=jitter)
    elif shape == "square":
        d.rectangle(box, fill=jitter)
    elif shape == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=jitter)
    elif shape == "cross":
        w = r / 3
        d.rectangle((cx - r, cy - w, cx + r, cy + w), fill=jitter)
        d.rectangle((cx - w, cy - r, cx + w, cy + r), fill=jitter)
    else:
        d.ellipse(box, outline=jitter, width=max(2, int(r / 3)))
    return img


def make_shapes(root: Path, per_class: int = 12, *, classes=None, size: int = 32, layout: str = "folders",
                seed: int = 0) -> Path:
    """Write `per_class` pictures per shape under `root` in the `folders` (root/<class>/) or `kaggle`
    (labels.csv + train/<id>.png) layout."""
    root = Path(root)
    rng = random.Random(seed)
    names = list(classes or SHAPES)
    rows = []
    for c in names:
        for i in range(per_class):
            img = _draw(c, SHAPES[c], size, rng)
            if layout == "kaggle":
                image_id = f"{c}{i:04d}"
                path = root / "train" / f"{image_id}.png"
                rows.append((image_id, c))
            else:
                path = root / c / f"{c}_{i:04d}.png"
            atomic_write(path, lambda tmp, img=img: img.save(tmp, format="PNG"))
    if layout == "kaggle":
        out = io.StringIO(newline="")
        w = csv.writer(out)
        w.writerow(["id", "breed"])
        w.writerows(rows)
        write_text(root / "labels.csv", out.getvalue())
    return root
