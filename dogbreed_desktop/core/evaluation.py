"""Measuring a model on a labelled set through the same prediction path the app uses."""

from __future__ import annotations

import torch

from .breeds import find_breed
from .classifier import Classifier, PredictionError
from .control import Control
from .datasets import LabelledImage
from .metrics import report


def class_index(classes: list[str]) -> dict[str, int]:
    """Label -> model class index, accepting any breed alias for breed classes (Kaggle id, Stanford folder...)."""
    index = {c: i for i, c in enumerate(classes)}
    out = dict(index)
    for c, i in index.items():
        b = find_breed(c)
        if b:
            for alias in b.aliases:
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
    probs, targets, errors = [], [], []
    results = classifier.iter_predict([i.path for i, _ in known], top_k=1, batch_size=batch_size, control=control)
    for (item, target), result in zip(known, results):
        if isinstance(result, PredictionError):
            errors.append({"path": result.source, "error": result.error})
        else:
            probs.append(result.probabilities)
            targets.append(target)
    if probs:
        out = report(torch.tensor(probs), torch.tensor(targets), classifier.classes)
    else:
        out = report(torch.zeros((0, len(classifier.classes))), torch.zeros(0, dtype=torch.long), classifier.classes)
    out["model"] = classifier.name
    out["errors"] = errors
    out["unknown_labels"] = sorted(unknown)
    return out
