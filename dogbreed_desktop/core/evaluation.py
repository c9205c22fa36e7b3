"""Measuring a model on a labelled set through the same prediction path the app uses."""

from __future__ import annotations

import math
import time

from .breeds import find_breed
from .classifier import Classifier, PredictionError
from .control import Control
from .datasets import LabelledImage
from .report import analysis
from .report.records import Evaluation, PhotoRecord

TOP = 5  # classes kept per photo: enough for top-5 accuracy and the gallery


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


def evaluate_photos(
    classifier: Classifier,
    items: list[LabelledImage],
    *,
    data: str = "",
    batch_size: int = 32,
    control: Control | None = None,
) -> Evaluation:
    """Per-photo records of the model on `items` (the report module turns them into metrics and figures).
    Stopped early, it holds the photos done so far and `complete` is False."""
    start = time.perf_counter()
    index = class_index(classifier.classes)
    known, unknown = [], set()
    for item in items:
        target = resolve_label(item.label, index)
        if target is None:
            unknown.add(item.label)
        else:
            known.append((item, target))
    ev = Evaluation(classifier.name, str(classifier.artifact.path or ""), data, list(classifier.classes),
                    list(classifier.class_names), classifier.temperature, unknown_labels=sorted(unknown))
    k = min(TOP, len(classifier.classes))
    position = {c: i for i, c in enumerate(classifier.classes)}
    results = classifier.iter_predict([i.path for i, _ in known], top_k=k, batch_size=batch_size, control=control)
    done = 0
    for (item, target), result in zip(known, results):
        done += 1
        if isinstance(result, PredictionError):
            ev.errors.append({"path": result.source, "error": result.error})
            continue
        top = tuple(position[s.breed] for s in result.top_k)
        ev.records.append(PhotoRecord(
            str(item.path), item.label, target, top, tuple(s.probability for s in result.top_k),
            result.probabilities[target], getattr(result, "verdict", None), getattr(result, "dog_probability", None),
        ))
    ev.complete = done == len(known)
    ev.seconds = time.perf_counter() - start
    return ev


def evaluate(
    classifier: Classifier, items: list[LabelledImage], *, batch_size: int = 32, control: Control | None = None
) -> dict:
    """The metrics report, plus `errors` (unreadable files) and `unknown_labels` (not among the model's classes)."""
    return legacy_report(evaluate_photos(classifier, items, batch_size=batch_size, control=control))


def legacy_report(ev: Evaluation, most_confused: int = 10) -> dict:
    """The dict `evaluate --json` has always printed, from the per-photo records."""
    s = analysis.summary(ev)
    counts = analysis.confusion(ev)
    rows = analysis.per_class(ev, counts)
    return {
        "n": s["n"],
        "top1": s["top1"],
        "top5": s["top5"],
        "log_loss": s["log_loss"],
        "ece": s["ece"],
        "per_class_accuracy": {r.cls: r.recall for r in rows if not math.isnan(r.recall)},
        "most_confused": [{"true": ev.classes[p.true], "predicted": ev.classes[p.predicted], "count": p.count}
                          for p in analysis.most_confused(counts, most_confused)],
        "model": ev.model,
        "errors": ev.errors,
        "unknown_labels": ev.unknown_labels,
    }
