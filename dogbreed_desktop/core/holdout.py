"""The fixed, seeded splits the built-in models are fitted and measured on.

Stanford Dogs (Kaggle layout): per breed, in a seeded shuffle, 10 photos are the held-out TEST split (the
figures we report), 5 the CALIBRATION split (temperatures, gate thresholds) and the rest TRAIN (heads).
not-dogs: per category, a seeded half is TUNE (gate fitting), the other half HELD-OUT (reported).
The dog photos come from ImageNet, which the backbones were trained on: report them as "held-out Stanford Dogs".
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 10
TEST_PER_BREED = 10
CALIB_PER_BREED = 5


def stanford_split(data_dir: Path | str, seed: int = SEED) -> dict[str, list[tuple[Path, str]]]:
    """{"test"|"calib"|"train": [(photo path, breed id), ...]}, each sorted by breed then file name."""
    data_dir = Path(data_dir)
    by_breed: dict[str, list[str]] = {}
    with open(data_dir / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_breed.setdefault(row["breed"], []).append(row["id"])
    rng = random.Random(seed)
    parts: dict[str, list[tuple[Path, str]]] = {"test": [], "calib": [], "train": []}
    for breed in sorted(by_breed):
        ids = sorted(by_breed[breed])
        rng.shuffle(ids)
        cut = {"test": ids[:TEST_PER_BREED], "calib": ids[TEST_PER_BREED : TEST_PER_BREED + CALIB_PER_BREED],
               "train": ids[TEST_PER_BREED + CALIB_PER_BREED :]}
        for name, chosen in cut.items():
            parts[name].extend((data_dir / "train" / f"{i}.jpg", breed) for i in sorted(chosen))
    return parts


def not_dogs_dir(data_dir: Path | str) -> Path:
    """The not-dogs folder that sits next to the Stanford set."""
    return Path(data_dir).resolve().parent / "not-dogs"


def not_dogs_split(folder: Path | str, seed: int = SEED) -> dict[str, list[tuple[Path, str]]]:
    """{"tune"|"heldout": [(photo path, category), ...]}: half of each category each, seeded."""
    folder = Path(folder)
    by_cat: dict[str, list[str]] = {}
    with open(folder / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_cat.setdefault(row["category"], []).append(row["file"])
    rng = random.Random(seed)
    parts: dict[str, list[tuple[Path, str]]] = {"tune": [], "heldout": []}
    for cat in sorted(by_cat):
        files = sorted(by_cat[cat])
        rng.shuffle(files)
        half = len(files) // 2
        parts["tune"].extend((folder / n, cat) for n in sorted(files[:half]))
        parts["heldout"].extend((folder / n, cat) for n in sorted(files[half:]))
    return parts
