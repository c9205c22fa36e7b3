"""A stratified, seeded train/validation split, saved as the run's `split.csv` manifest.

Each class is shuffled by its own `random.Random(f"{seed}:{label}")`, so adding or removing a class never
changes how the other classes are split. A folder that is already split (train/ + test/) keeps its split.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from dogbreed_desktop.core.files import atomic_write, saving, size_of, write_bytes, write_text
from training.safenames import safe_folder_names

from .preflight import Sample

SPLIT_FILENAME = "split.csv"
SUBSETS = ("train", "val")


@dataclass(frozen=True)
class Split:
    classes: list[str]
    train: list[Sample]
    val: list[Sample]

    def counts(self) -> dict[str, tuple[int, int]]:
        """class -> (train images, validation images)."""
        out = {c: [0, 0] for c in self.classes}
        for s in self.train:
            out[s.label][0] += 1
        for s in self.val:
            out[s.label][1] += 1
        return {c: (a, b) for c, (a, b) in out.items()}


def _val_count(n: int, fraction: float) -> int:
    if n < 2:
        return 0
    return min(n - 1, max(1, round(n * fraction)))


def stratified_split(samples: list[Sample], val_fraction: float = 0.25, seed: int = 0) -> Split:
    """Per class: `round(n * val_fraction)` images (at least one, at most n - 1) go to validation.

    Samples that carry a subset already ("train"/"val", from a train/ + test/ folder) keep it.
    """
    if samples and all(s.subset in SUBSETS for s in samples):
        train = [s for s in samples if s.subset == "train"]
        val = [s for s in samples if s.subset == "val"]
        classes = sorted({s.label for s in train})
        return Split(classes, _sorted(train), _sorted([s for s in val if s.label in set(classes)]))
    by_class: dict[str, list[Sample]] = {}
    for s in samples:
        by_class.setdefault(s.label, []).append(s)
    train, val = [], []
    for label in sorted(by_class):
        group = sorted(by_class[label], key=lambda s: str(s.path))
        random.Random(f"{seed}:{label}").shuffle(group)
        k = _val_count(len(group), val_fraction)
        val += [replace(s, subset="val") for s in group[:k]]
        train += [replace(s, subset="train") for s in group[k:]]
    return Split(sorted(by_class), _sorted(train), _sorted(val))


def _sorted(samples: list[Sample]) -> list[Sample]:
    return sorted(samples, key=lambda s: (s.label, str(s.path)))


def write_split(split: Split, path: Path) -> None:
    """`split.csv`: path, label, subset (and the content hash, so a resumed run can find its features).
    Paths are absolute, so the run resumes from any working folder; file names that are not valid UTF-8
    round-trip through surrogateescape."""

    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(["path", "label", "subset", "digest"])
    for s in split.train + split.val:
        w.writerow([str(Path(s.path).absolute()), s.label, s.subset, s.digest])
    write_bytes(Path(path), out.getvalue().encode("utf-8", "surrogateescape"))


def read_split(path: Path) -> Split:
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.DictReader(f))
    samples = [Sample(Path(r["path"]), r["label"], r["subset"], r.get("digest", "")) for r in rows]
    train = [s for s in samples if s.subset == "train"]
    val = [s for s in samples if s.subset == "val"]
    return Split(sorted({s.label for s in train}), train, val)


def organise(split: Split, dest: Path, how: str = "link") -> Path:
    """Write `dest/train/<class>/` and `dest/test/<class>/` as the original project's organiser did.

    `how="link"` makes symbolic links (falling back to copies where links are not allowed), `"copy"` copies.
    Class folders are named by `safe_folder_names` (a label is never used as a path as given), and
    `dest/classes.csv` maps each folder back to its label.
    """
    dest = Path(dest).absolute()
    names = safe_folder_names(s.label for s in split.train + split.val)
    for subset, samples in (("train", split.train), ("test", split.val)):
        for s in samples:
            folder = dest / subset / names[s.label]
            target = folder / Path(s.path.name).name
            if not _inside(target, dest):
                raise ValueError(f"refusing to write outside {dest}: {target}")
            with saving(target, size_of(s.path)):
                folder.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            if how == "link":
                try:
                    os.symlink(s.path.resolve(), target)
                    continue
                except OSError:  # Windows without developer mode, file systems without links
                    pass
            atomic_write(target, lambda tmp, src=s.path: shutil.copy2(src, tmp), size=size_of(s.path))

    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(["folder", "label"])
    w.writerows((n, label) for label, n in sorted(names.items(), key=lambda kv: kv[1]))
    write_text(dest / "classes.csv", out.getvalue())
    return dest


def _inside(path: Path, root: Path) -> bool:
    # Checked on the real (link-resolved) parents: a folder swapped for a link cannot lead outside either.
    real_root = os.path.realpath(root)
    real = os.path.realpath(path.parent)
    return os.path.commonpath([real_root, real]) == real_root
