"""The fixed, seeded splits the built-in models are fitted and measured on.

Stanford Dogs (Kaggle layout): per breed, in a seeded shuffle, 10 photos are the held-out TEST split (the
figures we report), 5 the CALIBRATION split (temperatures, gate thresholds) and the rest TRAIN (heads).
not-dogs: per category, a seeded half is TUNE (gate fitting), the other half HELD-OUT (reported).
wild-dev: dog photos from outside ImageNet, the development set: variants are chosen and temperatures fitted on
it, never weights trained; its figures are reported cross-fitted over two folds by source (`wild_dev_folds`).
wild-extra: more dog photos from outside ImageNet (mostly puppies, noisier labels): the only ones heads may train on.
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


def wild_extra(data_dir: Path | str) -> list[tuple[Path, str]]:
    """[(photo path, breed id), ...] of the wild-extra folder beside the Stanford set ([] when it is missing)."""
    folder = Path(data_dir).resolve().parent / "wild-extra"
    if not (folder / "labels.csv").is_file():
        return []
    with open(folder / "labels.csv", newline="") as f:
        return [(folder / "train" / f"{r['id']}.jpg", r["breed"]) for r in csv.DictReader(f)]


def wild_dev_folds(paths: list[Path | str]) -> list[bool]:
    """Two folds of wild-dev photos by source repository (`provenance.csv`), balanced by photo count: True for
    fold A. Photos of one source never sit on both sides, so a temperature fitted on one fold and measured on
    the other has not seen that source's style (the largest sources go first, each to the smaller fold)."""
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    with open(paths[0].parent.parent / "provenance.csv", newline="") as f:
        source = {r["id"]: r["repo"] for r in csv.DictReader(f)}
    counts: dict[str, int] = {}
    for p in paths:
        counts[source[p.stem]] = counts.get(source[p.stem], 0) + 1
    fold_a, sizes = set(), [0, 0]
    for repo, n in sorted(counts.items(), key=lambda t: (-t[1], t[0])):
        side = 0 if sizes[0] <= sizes[1] else 1
        sizes[side] += n
        if side == 0:
            fold_a.add(repo)
    return [source[p.stem] in fold_a for p in paths]


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
