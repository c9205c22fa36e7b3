"""Every number the Evaluate view and the report show, computed from the per-photo records alone (with the maths
of `core.evaluate.metrics`, which training uses too), so the view, the HTML report and the CLI agree, and a cached
evaluation reopens without the model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import metrics
from ..metrics import ECE_BINS, RELIABILITY_BINS, ReliabilityBin
from .records import Evaluation, PhotoRecord


@dataclass(frozen=True)
class ClassMetrics:
    index: int
    cls: str
    name: str
    photos: int  # true photos of this class (support)
    predicted: int  # photos predicted as this class
    correct: int
    precision: float  # NaN when nothing was predicted as this class
    recall: float  # NaN when the class has no photos
    f1: float


def confusion(ev: Evaluation) -> np.ndarray:
    """counts[true, predicted] (int64, classes x classes)."""
    return metrics.confusion([r.true for r in ev.records], [r.predicted for r in ev.records], len(ev.classes))


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else math.nan  # plain floats: numpy scalars do not sort in a Qt model


def per_class(ev: Evaluation, counts: np.ndarray | None = None) -> list[ClassMetrics]:
    counts = confusion(ev) if counts is None else counts
    support, predicted, correct = counts.sum(axis=1), counts.sum(axis=0), np.diag(counts)
    out = []
    for i, cls in enumerate(ev.classes):
        precision, recall = _ratio(correct[i], predicted[i]), _ratio(correct[i], support[i])
        if math.isnan(recall):
            f1 = math.nan
        elif math.isnan(precision) or precision + recall == 0:
            f1 = 0.0
        else:
            f1 = float(2 * precision * recall / (precision + recall))
        out.append(ClassMetrics(i, cls, ev.class_names[i], int(support[i]), int(predicted[i]), int(correct[i]),
                                precision, recall, f1))
    return out


def weakest_first(rows: list[ClassMetrics]) -> list[ClassMetrics]:
    """Classes with photos, lowest F1 first (then lowest recall, then name); classes without photos last."""
    return sorted(rows, key=lambda r: (r.photos == 0, r.f1 if not math.isnan(r.f1) else 2.0, r.recall, r.name))


def photos_for(ev: Evaluation, true: int, predicted: int) -> list[PhotoRecord]:
    """Exactly the photos of one confusion cell, most confident first."""
    found = [r for r in ev.records if r.true == true and r.predicted == predicted]
    return sorted(found, key=lambda r: -r.confidence)


def top_losses(ev: Evaluation, n: int | None = None) -> list[PhotoRecord]:
    """Misclassified photos, most confidently wrong first: where mislabelled photos show up."""
    wrong = sorted((r for r in ev.records if not r.correct), key=lambda r: (-r.confidence, r.p_true, r.path))
    return wrong if n is None else wrong[:n]


def reliability(ev: Evaluation, bins: int = RELIABILITY_BINS) -> list[ReliabilityBin]:
    """Equal-width confidence bins (lo, hi]: how often the model was right at each confidence."""
    return metrics.reliability([r.confidence for r in ev.records], [r.correct for r in ev.records], bins)


def expected_calibration_error(ev: Evaluation, bins: int = ECE_BINS) -> float:
    return metrics.calibration_error([r.confidence for r in ev.records], [r.correct for r in ev.records], bins)


def summary(ev: Evaluation) -> dict:
    """top-1, top-5, log loss, ECE, counts, and the share of dog photos rejected as "not a dog" (None when the
    model gives no verdicts)."""
    n = len(ev.records)
    with_verdict = [r for r in ev.records if r.verdict is not None]
    rejected = sum(r.verdict == "not_a_dog" for r in with_verdict)
    return {
        "model": ev.model,
        "model_path": ev.model_path,
        "data": ev.data,
        "n": n,
        "top1": sum(r.correct for r in ev.records) / n if n else math.nan,
        "top5": sum(r.true in r.top[:5] for r in ev.records) / n if n else math.nan,
        "log_loss": metrics.mean_log_loss([r.p_true for r in ev.records]),
        "ece": expected_calibration_error(ev),
        "temperature": ev.temperature,
        "unreadable": len(ev.errors),
        "unknown_labels": list(ev.unknown_labels),
        "rejected_as_not_dog": rejected / len(with_verdict) if with_verdict else None,
        "complete": ev.complete,
        "seconds": ev.seconds,
    }
