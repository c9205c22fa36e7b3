"""Finding the labelled photos in a folder, whatever layout it uses.

Layouts:
- `kaggle`: `labels.csv` (id,breed) + `train/<id>.jpg` (the "dog-breed-identification" competition).
- `folders`: one sub-folder per class holding its images (Stanford Dogs, `train/<class>/`...).
- `split`: `train/` and `test/` (or `val/`), each one folder per class: an already split set, as the original
  project's organiser wrote it. Items carry their subset.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .preprocess import is_image_path

_EVAL_SUBSETS = ("test", "val", "valid", "validation")


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
        for f in sorted(d.rglob("*")):
            if not f.is_file() or f.name.startswith("."):
                continue
            if is_image_path(f):
                out.items.append(LabelledImage(f, d.name, subset))
            else:
                out.non_images.append(f)


def _read_kaggle(root: Path) -> LabelledSet:
    images_dir = root / "train"
    out = LabelledSet(root, "kaggle", [])
    on_disk = {}
    for f in images_dir.iterdir():
        if f.is_file() and not f.name.startswith("."):
            if is_image_path(f):
                on_disk[f.stem] = f
            else:
                out.non_images.append(f)
    try:
        with open(root / "labels.csv", newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = [c.lower() for c in reader.fieldnames or []]
            if len(fields) < 2:
                raise DatasetError(f"{root / 'labels.csv'} needs two columns: id,breed")
            id_col, label_col = reader.fieldnames[0], reader.fieldnames[1]
            listed = set()
            for row in reader:
                key, label = (row.get(id_col) or "").strip(), (row.get(label_col) or "").strip()
                if not key or not label:
                    continue
                key = Path(key).stem  # accept "abc.jpg" as well as "abc"
                listed.add(key)
                if key in on_disk:
                    out.items.append(LabelledImage(on_disk[key], label))
                else:
                    out.labels_without_images.append(key)
    except (OSError, csv.Error, UnicodeDecodeError) as e:
        raise DatasetError(f"cannot read {root / 'labels.csv'}: {e}") from None
    out.images_without_labels = sorted(p for k, p in on_disk.items() if k not in listed)
    out.items.sort(key=lambda i: (i.label, i.path.name))
    return out


def find_layout(root: Path) -> str:
    if (root / "labels.csv").is_file() and (root / "train").is_dir():
        return "kaggle"
    names = {d.name.lower() for d in _class_folders(root)} if root.is_dir() else set()
    if "train" in names and names & set(_EVAL_SUBSETS):
        return "split"
    return "folders"


def load_labelled_set(root: str | Path) -> LabelledSet:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"not a folder: {root}")
    layout = find_layout(root)
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
                    _scan_folders(d, "val", out)
        else:
            _scan_folders(root, "", out)
    if not out.items:
        raise DatasetError(
            f"no labelled images found in {root}: expected labels.csv + train/, one folder per class, "
            "or train/ and test/ folders of class folders"
        )
    return out


def take_per_class(items: list[LabelledImage], n: int) -> list[LabelledImage]:
    """The first `n` images of each class (in path order): a deterministic, balanced subset."""
    seen: dict[str, int] = {}
    out = []
    for item in sorted(items, key=lambda i: (i.label, str(i.path))):
        if seen.get(item.label, 0) < n:
            seen[item.label] = seen.get(item.label, 0) + 1
            out.append(item)
    return out
