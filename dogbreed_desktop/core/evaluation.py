"""Measuring a model on a labelled set through the same prediction path the app uses."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from .breeds import find_breed
from .classifier import Classifier, PredictionError, collect_images
from .control import Control
from .datasets import LabelledImage
from .gate import NOT_A_DOG
from .metrics import report


def class_index(classes: list[str]) -> dict[str, int]:
    """Label -> model class index, accepting any breed alias for breed classes (Kaggle id, Stanford folder...)."""
    index = {c: i for i, c in enumerate(classes)}
    out = dict(index)
    for c, i in index.items():
        b = find_breed(c)
        if b:
            for alias in (b.id, b.name, b.stanford, b.stanford.split("-", 1)[1]):
                out.setdefault(alias, i)
    return out


def resolve_label(label: str, index: dict[str, int]) -> int | None:
    if label in index:
        return index[label]
    b = find_breed(label)
    return index.get(b.id) if b else None


def evaluate(
    classifier: Classifier, items: list[LabelledImage], *, batch_size: int = 32, control: Control | None = None
) -> dict:
    """The metrics report, plus `errors` (unreadable files) and `unknown_labels` (not among the model's classes)."""
    index = class_index(classifier.classes)
    known, unknown = [], set()
    for item in items:
        target = resolve_label(item.label, index)
        if target is None:
            unknown.add(item.label)
        else:
            known.append((item, target))
    probs, targets, errors, rejected = [], [], [], 0
    results = classifier.iter_predict([i.path for i, _ in known], top_k=1, batch_size=batch_size, control=control)
    for (item, target), result in zip(known, results):
        if isinstance(result, PredictionError):
            errors.append({"path": result.source, "error": result.error})
        else:
            probs.append(result.probabilities)
            targets.append(target)
            rejected += result.verdict == NOT_A_DOG
    if probs:
        out = report(torch.tensor(probs), torch.tensor(targets), classifier.classes)
    else:
        out = report(torch.zeros((0, len(classifier.classes))), torch.zeros(0, dtype=torch.long), classifier.classes)
    out["model"] = classifier.name
    # Every labelled photo shows one of the model's classes: a "not a dog" verdict on one is a wrong rejection.
    out["has_gate"] = classifier.gate is not None
    out["wrongly_rejected"] = rejected / len(probs) if probs and classifier.gate is not None else None
    out["errors"] = errors
    out["unknown_labels"] = sorted(unknown)
    return out


def evaluate_not_dogs(
    classifier: Classifier, folder: Path, *, batch_size: int = 32, control: Control | None = None
) -> dict:
    """The share of photos in `folder` (none of them a dog) that the model accepts as a dog, overall and per
    category when the folder has a manifest.csv with `file` and `category` columns."""
    paths = collect_images([folder])
    categories = _manifest_categories(folder)
    accepted: dict[str, list[int]] = {}
    errors = []
    for r in classifier.iter_predict(paths, top_k=1, batch_size=batch_size, control=control):
        if isinstance(r, PredictionError):
            errors.append({"path": r.source, "error": r.error})
            continue
        cat = categories.get(Path(r.source).name, "all")
        accepted.setdefault(cat, []).append(int(r.verdict != NOT_A_DOG))
    n = sum(len(v) for v in accepted.values())
    return {
        "not_dogs_dir": str(folder),
        "has_gate": classifier.gate is not None,
        "n": n,
        "accepted": sum(map(sum, accepted.values())) / n if n else None,
        "per_category_accepted": {c: {"accepted": sum(v) / len(v), "n": len(v)} for c, v in sorted(accepted.items())},
        "errors": errors,
    }


def _manifest_categories(folder: Path) -> dict[str, str]:
    manifest = Path(folder) / "manifest.csv"
    if not manifest.is_file():
        return {}
    try:
        with open(manifest, newline="", encoding="utf-8") as f:
            return {row["file"]: row["category"] for row in csv.DictReader(f) if row.get("file") and row.get("category")}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}  # a malformed manifest only loses the per-category split
