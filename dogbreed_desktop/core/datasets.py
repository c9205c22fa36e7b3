"""Finding the labelled photos in a folder, whatever layout it uses.

Layouts:
- `kaggle`: `labels.csv` (id,breed) + `train/<id>.jpg` (the "dog-breed-identification" competition).
- `folders`: one sub-folder per class holding its images (Stanford Dogs, `train/<class>/`...).
- `split`: `train/` and `test/` (or `val/`), each one folder per class: an already split set, as the original
  project's organiser wrote it. Items carry their subset.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Iterable, TypeVar

from .model.artifact_schema import class_name_problem
from .errors import UserError
from .imagetypes import is_image_path, walk_files

T = TypeVar("T")

_EVAL_SUBSETS = ("test", "val", "valid", "validation")
SUBSETS = ("all", "train", "test", "val")  # what evaluate can score of a split set; test and val: the held-out part


class DatasetError(UserError):
    """A folder that holds no labelled set we can read, with a message fit to show the user."""


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: str
    subset: str = ""  # "train"/"val" for an already split set, else ""


@dataclass
class LabelledSet:
    root: Path
    layout: str
    items: list[LabelledImage]
    labels_without_images: list[str] = field(default_factory=list)  # kaggle ids listed but not on disk
    images_without_labels: list[Path] = field(default_factory=list)
    non_images: list[Path] = field(default_factory=list)  # files that are not images by their suffix
    unreadable_folders: list[tuple[Path, str]] = field(default_factory=list)  # could not be listed, and why
    notes: list[str] = field(default_factory=list)  # how the folder was understood, when that was a guess
    held_out_folders: list[str] = field(default_factory=list)  # a split set's test/ (or val/...) folder names

    @property
    def classes(self) -> list[str]:
        return sorted({i.label for i in self.items})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {c: 0 for c in self.classes}
        for i in self.items:
            out[i.label] += 1
        return out


def _class_folders(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _scan_folders(root: Path, subset: str, out: LabelledSet) -> None:
    for d in _class_folders(root):
        files, unreadable = walk_files(d)
        out.unreadable_folders.extend(unreadable)
        for f in files:
            if is_image_path(f):
                out.items.append(LabelledImage(f, d.name, subset))
            elif f.is_file():
                out.non_images.append(f)


def _read_kaggle(root: Path) -> LabelledSet:
    images_dir = root / "train"
    out = LabelledSet(root, "kaggle", [])
    on_disk = {}
    try:
        entries = sorted(images_dir.iterdir())
    except OSError as e:
        raise DatasetError(f"cannot read the folder {images_dir}: {e.strerror or e}") from None
    for f in entries:
        if f.name.startswith(".") or f.is_dir():
            continue
        if is_image_path(f):
            on_disk[f.stem] = f  # FIFOs and devices too: preflight names them
        else:
            out.non_images.append(f)
    try:
        with open(root / "labels.csv", newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = [r for r in reader if len(r) >= 2]
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {root / 'labels.csv'}: {e}") from None
    if len(header) < 2:
        raise DatasetError(f"{root / 'labels.csv'} needs two columns: id,breed")
    id_col, label_col = _label_columns(header, rows, on_disk, out)
    listed = set()
    for row in rows:
        key, label = row[id_col].strip(), row[label_col].strip()
        if not key or not label:
            continue
        key = Path(key).stem  # accept "abc.jpg" as well as "abc"
        listed.add(key)
        if key in on_disk:
            out.items.append(LabelledImage(on_disk[key], label))
        else:
            out.labels_without_images.append(key)
    out.images_without_labels = sorted(p for k, p in on_disk.items() if k not in listed)
    out.items.sort(key=lambda i: (i.label, i.path.name))
    return out


_ID_NAMES = ("id", "image", "image_id", "file", "filename")
_LABEL_NAMES = ("breed", "label", "class", "category")


def _label_columns(header: list[str], rows: list[list[str]], on_disk: dict, out: LabelledSet) -> tuple[int, int]:
    """(id column, label column): by header name when it says (id/breed in either order), else the first
    two columns, swapped when only the second column names files on disk."""
    names = [h.strip().lower() for h in header]
    id_col = next((i for i, n in enumerate(names) if n in _ID_NAMES), None)
    label_col = next((i for i, n in enumerate(names) if n in _LABEL_NAMES), None)
    if id_col is not None and label_col is not None:
        return id_col, label_col

    def hits(col: int) -> int:
        return sum(Path(r[col].strip()).stem in on_disk for r in rows[:1000])

    if hits(0) == 0 and hits(1) > 0:
        out.notes.append("labels.csv: the second column names the image files, so it is read as id")
        return 1, 0
    return 0, 1


def find_layout(root: Path) -> str:
    if (root / "labels.csv").is_file() and (root / "train").is_dir():
        return "kaggle"
    names = {d.name.lower() for d in _class_folders(root)} if root.is_dir() else set()
    if "train" in names and names & set(_EVAL_SUBSETS):
        return "split"
    return "folders"


def load_labelled_set(root: str | Path) -> LabelledSet:
    # Absolute: paths saved in a run folder must mean the same files from any working folder.
    root = Path(root).expanduser().absolute()
    if not root.is_dir():
        raise DatasetError(f"not a folder: {root}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise DatasetError(f"cannot read the folder {root} (permission denied)")
    try:
        layout = find_layout(root)
    except OSError as e:
        raise DatasetError(f"cannot read the folder {root}: {e.strerror or e}") from None
    if layout == "kaggle":
        out = _read_kaggle(root)
    else:
        out = LabelledSet(root, layout, [])
        if layout == "split":
            for d in _class_folders(root):
                name = d.name.lower()
                if name == "train":
                    _scan_folders(d, "train", out)
                elif name in _EVAL_SUBSETS:
                    out.held_out_folders.append(d.name)
                    _scan_folders(d, "val", out)
        else:
            _scan_folders(root, "", out)
    _drop_bad_labels(out)
    if not out.items and out.unreadable_folders:
        folder, why = out.unreadable_folders[0]
        raise DatasetError(f"no labelled images found in {root}; {len(out.unreadable_folders)} folder(s) "
                           f"could not be read, e.g. {folder} ({why})")
    if not out.items:
        raise DatasetError(
            f"no labelled images found in {root}: expected labels.csv + train/, one folder per class, "
            "or train/ and test/ folders of class folders"
        )
    return out


def _drop_bad_labels(out: LabelledSet) -> None:
    """Labels become class names in the model file, which refuses empty, overlong or control-character names:
    such rows are left out here, with a note, rather than training a model that cannot be loaded."""
    bad = {i.label: class_name_problem(i.label) for i in out.items}
    bad = {label: why for label, why in bad.items() if why}
    if not bad:
        return
    out.items = [i for i in out.items if i.label not in bad]
    label, why = next(iter(sorted(bad.items())))
    out.notes.append(f"{len(bad)} label(s) left out because they cannot name a class, e.g. {label!a}: {why}")


def photos_to_score(data: LabelledSet, subset: str | None = None) -> tuple[list[LabelledImage], str]:
    """(items, which) to evaluate `data` on, the CLI and the Evaluate tab alike. By default an already split
    set's held-out part only: its train/ photos may be the ones the model learned, and scoring them flatters
    it. `subset` "all" or "train" asks for those ("test" and "val" both name the held-out part, whatever its
    folder is called). `which` says what was taken ("" for a set not split)."""
    if data.layout != "split":
        if subset not in (None, "all"):
            raise DatasetError(f"{data.root} is not split into train/ and test/, so it has no '{subset}' part "
                               "(leave the subset out to score all its photos)")
        return data.items, ""
    held_out = " + ".join(f"{n}/" for n in data.held_out_folders)
    if subset == "all":
        return data.items, f"train/ and {held_out}"
    if subset == "train":
        return [i for i in data.items if i.subset == "train"], "train/ only"
    return [i for i in data.items if i.subset == "val"], f"held-out {held_out} only"


def described(root: Path, which: str) -> str:
    """The photos as the report and the Evaluate tab name them: the folder, and which part when it is split."""
    return f"{root} ({which})" if which else str(root)


def take_per_class(items: list[LabelledImage], n: int) -> list[LabelledImage]:
    """The first `n` images of each class (in path order): a deterministic, balanced subset."""
    return first_per_group(sorted(items, key=lambda i: (i.label, str(i.path))), n, key=lambda i: i.label)


def first_per_group(items: Iterable[T], n: int, key: Callable[[T], Hashable]) -> list[T]:
    """The first `n` items of each group (`key(item)`), in the order given: a smaller subset, still balanced."""
    seen: Counter = Counter()
    out = []
    for item in items:
        group = key(item)
        if seen[group] < n:
            seen[group] += 1
            out.append(item)
    return out
