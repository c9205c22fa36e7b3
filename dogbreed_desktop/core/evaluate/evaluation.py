"""Measuring a model on a labelled set through the same prediction path the app uses."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

from ..breeds import find_breed
from ..predict.classifier import Classifier, PredictionError, collect_images
from ..control import Control
from ..datasets import LabelledImage
from ..predict.gate import NOT_A_DOG
from . import metrics
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
    ev = Evaluation(classifier.name, str(classifier.path or ""), data, list(classifier.classes),
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
            result.probabilities[target], result.verdict, result.dog_probability,
        ))
    ev.complete = done == len(known)
    ev.seconds = time.perf_counter() - start
    return ev


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
                          for p in metrics.most_confused(counts, most_confused)],
        "model": ev.model,
        "errors": ev.errors,
        "unknown_labels": ev.unknown_labels,
        # Every labelled photo shows one of the model's classes: a "not a dog" verdict on one is a wrong rejection.
        "has_gate": any(r.dog_probability is not None for r in ev.records),
        "wrongly_rejected": _rejected_share(ev),
    }


def _rejected_share(ev: Evaluation) -> float | None:
    gated = [r for r in ev.records if r.dog_probability is not None]
    return sum(r.verdict == NOT_A_DOG for r in gated) / len(gated) if gated else None


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
