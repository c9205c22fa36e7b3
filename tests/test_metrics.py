"""The one metrics module (core.evaluate.metrics): training's numbers and the evaluation report's come from the
same maths, on numpy arrays and on the CPU torch tensors training passes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dogbreed_desktop.core.evaluate import metrics
from dogbreed_desktop.core.evaluate.report import analysis
from dogbreed_desktop.core.evaluate.report.records import Evaluation, PhotoRecord


def _probs(n=200, classes=7, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, classes)) * 2
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return p, rng.integers(0, classes, n)


def test_numbers_match_their_definitions_on_arrays_and_tensors():
    p, y = _probs()
    top1 = np.mean(p.argmax(axis=1) == y)
    top3 = np.mean([y[i] in np.argsort(-p[i])[:3] for i in range(len(y))])
    nll = np.mean(-np.log(p[np.arange(len(y)), y]))
    conf, right = p.max(axis=1), p.argmax(axis=1) == y
    ece = sum(np.sum(m) * abs(conf[m].mean() - right[m].mean())
              for lo, hi in zip(np.linspace(0, 1, 16)[:-1], np.linspace(0, 1, 16)[1:])
              if (m := (conf > lo) & (conf <= hi)).any()) / len(y)
    for probs, targets in ((p, y), (torch.tensor(p, dtype=torch.float32), torch.tensor(y))):
        assert metrics.topk_accuracy(probs, targets, 1) == pytest.approx(top1)
        assert metrics.topk_accuracy(probs, targets, 3) == pytest.approx(top3)
        assert metrics.log_loss(probs, targets) == pytest.approx(nll, rel=1e-5)
        assert metrics.expected_calibration_error(probs, targets) == pytest.approx(ece, abs=1e-5)
    counts = metrics.confusion(y, p.argmax(axis=1), 7)
    assert counts.sum() == len(y) and np.trace(counts) == round(top1 * len(y))
    assert math.isnan(metrics.topk_accuracy(np.zeros((0, 7)), np.zeros(0, dtype=int), 1))


def test_the_report_from_records_agrees_with_the_report_from_probabilities():
    p, y = _probs()
    classes = [f"c{i}" for i in range(7)]
    records = []
    for i, row in enumerate(p):
        top = tuple(int(c) for c in np.argsort(-row, kind="stable")[:5])
        records.append(PhotoRecord(f"{i}.jpg", classes[y[i]], int(y[i]), top, tuple(float(row[c]) for c in top),
                                   float(row[y[i]])))
    ev = Evaluation("m", "", "d", classes, classes, 1.0, records)
    ref, s = metrics.report(p, y, classes), analysis.summary(ev)
    for key in ("top1", "top5", "log_loss", "ece"):
        assert s[key] == pytest.approx(ref[key], abs=1e-9), key
    rows = analysis.per_class(ev)
    assert {r.cls: r.recall for r in rows if r.photos} == pytest.approx(ref["per_class_accuracy"])
    pairs = metrics.most_confused(analysis.confusion(ev), 10)
    assert [(classes[q.true], classes[q.predicted], q.count) for q in pairs] == \
        [(m["true"], m["predicted"], m["count"]) for m in ref["most_confused"]]
