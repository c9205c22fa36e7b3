"""The fixed, seeded splits the built-in models are fitted and measured on.

Stanford Dogs (Kaggle layout): per breed, in a seeded shuffle, 10 photos are the held-out TEST split (the
figures we report), 5 the CALIBRATION split (temperatures, gate thresholds) and the rest TRAIN (heads).
not-dogs: per category, a seeded half is TUNE (gate fitting), the other half HELD-OUT (reported).
wild-dev: dog photos from outside ImageNet, for development: measured, never fitted on nor chosen by.
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
    parts: dict[str, list[tuple[Path, str]]] = {"test": [], "calib": [], "train": []}
    for breed, ids in _shuffled_groups(data_dir / "labels.csv", "breed", "id", seed):
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
    parts: dict[str, list[tuple[Path, str]]] = {"tune": [], "heldout": []}
    for cat, files in _shuffled_groups(folder / "manifest.csv", "category", "file", seed):
        half = len(files) // 2
        parts["tune"].extend((folder / n, cat) for n in sorted(files[:half]))
        parts["heldout"].extend((folder / n, cat) for n in sorted(files[half:]))
    return parts


def wild_dev(data_dir: Path | str) -> list[tuple[Path, str]]:
    """[(photo path, breed id), ...] of the wild-dev folder that sits next to the Stanford set, in its own order."""
    folder = Path(data_dir).resolve().parent / "wild-dev"
    with open(folder / "labels.csv", newline="") as f:
        return [(folder / "train" / f"{r['id']}.jpg", r["breed"]) for r in csv.DictReader(f)]


def _shuffled_groups(csv_path: Path, group: str, value: str, seed: int):
    """(group, its values in a seeded shuffle) for each group of a CSV, groups in sorted order, one generator
    for all of them (so a split depends only on the file's contents and the seed)."""
    groups: dict[str, list[str]] = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            groups.setdefault(row[group], []).append(row[value])
    rng = random.Random(seed)
    for name in sorted(groups):
        values = sorted(groups[name])
        rng.shuffle(values)
        yield name, values
