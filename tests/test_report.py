"""The evaluation report: its counts equal a computation by hand from the per-photo predictions; the HTML holds
its figures and tables; a saved evaluation reopens identical; `evaluate --report` writes the folder."""

from __future__ import annotations

import base64
import csv
import math
import re
import subprocess
import sys
from collections import Counter

import pytest

from dogbreed_desktop.core.datasets import LabelledImage
from dogbreed_desktop.core.evaluate.evaluation import evaluate_photos, legacy_report
from dogbreed_desktop.core.evaluate.metrics import most_confused
from dogbreed_desktop.core.evaluate.report import analysis, cache, write_report
from dogbreed_desktop.core.evaluate.report.records import Evaluation

pytestmark = pytest.mark.realdata

# Breeds the built-in model mixes up, so the subset has off-diagonal cells to check.
CONFUSABLE = ("eskimo_dog", "siberian_husky", "malamute", "toy_poodle", "miniature_poodle", "norwich_terrier",
              "cairn", "soft-coated_wheaten_terrier", "lakeland_terrier", "collie", "shetland_sheepdog")


@pytest.fixture(scope="module")
def subset(real_data, real_labels):
    by_breed: dict[str, list[str]] = {}
    for image_id, breed in sorted(real_labels.items()):
        by_breed.setdefault(breed, []).append(image_id)
    return [LabelledImage(real_data / "train" / f"{i}.jpg", b) for b in CONFUSABLE for i in by_breed[b][:6]]


@pytest.fixture(scope="module")
def evaluation(subset, default_classifier) -> Evaluation:
    return evaluate_photos(default_classifier, subset, data="confusable subset")


def test_counts_precision_recall_equal_a_computation_by_hand(subset, evaluation, default_classifier):
    # By hand, from the app's own per-photo predictions (Classifier.predict, the path `predict` uses).
    results = default_classifier.predict([i.path for i in subset], top_k=1)
    pairs = [(item.label, r.breed) for item, r in zip(subset, results)]
    cells = Counter(pairs)
    ev = evaluation
    counts = analysis.confusion(ev)
    index = {c: i for i, c in enumerate(ev.classes)}
    assert counts.sum() == len(subset) == len(ev.records)
    for (t, p), n in cells.items():
        assert counts[index[t], index[p]] == n
    assert sum(n for (t, p), n in cells.items() if t != p) >= 3  # the subset really has confusions
    rows = {r.cls: r for r in analysis.per_class(ev, counts)}
    for breed in {p for _, p in pairs} | set(CONFUSABLE):
        tp = cells[(breed, breed)]
        predicted = sum(n for (t, p), n in cells.items() if p == breed)
        actual = sum(n for (t, p), n in cells.items() if t == breed)
        r = rows[breed]
        assert (r.photos, r.predicted, r.correct) == (actual, predicted, tp)
        if actual:
            assert r.recall == pytest.approx(tp / actual)
        if predicted:
            assert r.precision == pytest.approx(tp / predicted)
    worst = most_confused(counts, 1)[0]
    off = [(n, t, p) for (t, p), n in cells.items() if t != p]
    assert worst.count == max(off)[0]
    # A cell's gallery is exactly the photos with that (true, predicted) pair.
    expected = {str(i.path) for i, (t, p) in zip(subset, pairs)
                if (index[t], index[p]) == (worst.true, worst.predicted)}
    assert {r.path for r in analysis.photos_for(ev, worst.true, worst.predicted)} == expected
    losses = analysis.top_losses(ev)
    assert len(losses) == sum(t != p for t, p in pairs)
    assert all(a.confidence >= b.confidence for a, b in zip(losses, losses[1:]))


def test_summary_agrees_with_the_training_metrics(evaluation, default_classifier, subset):
    import torch

    from dogbreed_desktop.core.evaluate.metrics import report

    probs = torch.tensor([r.probabilities for r in default_classifier.predict([i.path for i in subset])])
    index = {c: i for i, c in enumerate(default_classifier.classes)}
    targets = torch.tensor([index[i.label] for i in subset])
    ref = report(probs, targets, default_classifier.classes)
    s = analysis.summary(evaluation)
    for key in ("top1", "top5", "log_loss", "ece"):
        assert s[key] == pytest.approx(ref[key], abs=1e-5), key
    legacy = legacy_report(evaluation)
    assert legacy["per_class_accuracy"] == pytest.approx(ref["per_class_accuracy"])
    bins = analysis.reliability(evaluation)
    assert sum(b.count for b in bins) == len(subset)
    assert s["rejected_as_not_dog"] is None or 0 <= s["rejected_as_not_dog"] <= 1


def test_html_holds_its_figures_and_tables(evaluation, tmp_path):
    written = write_report(evaluation, tmp_path / "rep")
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == sorted(written)
    page = written["report.html"].read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "src='http" not in page and "<link" not in page  # self-contained
    assert page.count("<table") == 4 and "Siberian Husky" in page and "Per-breed metrics" in page
    with open(written["per_breed.csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(evaluation.classes)
    with open(written["predictions.csv"], newline="") as f:
        assert len(list(csv.DictReader(f))) == len(evaluation.records)
    with open(written["confusion.csv"], newline="") as f:
        assert sum(int(r["count"]) for r in csv.DictReader(f)) == len(evaluation.records)


def test_saved_evaluation_reopens_identical(evaluation, subset, tmp_path, monkeypatch):
    monkeypatch.setenv("DOGBREED_HOME", str(tmp_path))
    key = cache.cache_key(evaluation.model_path, subset)
    assert cache.cached(evaluation.model_path, key) is None
    path = cache.store(evaluation, key)
    assert path is not None and path.parent == tmp_path / "cache" / "evaluations"
    back = cache.cached(evaluation.model_path, key)
    assert back.records == evaluation.records and back.classes == evaluation.classes
    assert cache.cache_key(evaluation.model_path, subset[:-1]) != key
    path.write_text("{broken", encoding="utf-8")
    assert cache.cached(evaluation.model_path, key) is None


def test_stopped_evaluation_is_partial_and_not_cached(subset, default_classifier):
    from dogbreed_desktop.core.control import Control

    control = Control()
    control.stop()
    ev = evaluate_photos(default_classifier, subset, control=control)
    assert not ev.complete and len(ev.records) < len(subset)
    assert cache.store(ev, "x") is None
    assert math.isnan(analysis.summary(Evaluation("m", "", "", ["a"], ["A"], 1.0))["top1"])


def test_evaluate_cli_writes_the_report(subset, tmp_path):
    data = tmp_path / "data"
    for item in subset[::6]:  # one photo per breed, one folder per breed (links: the photos stay where they are)
        (data / item.label).mkdir(parents=True)
        (data / item.label / item.path.name).symlink_to(item.path)
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "dogbreed_desktop", "evaluate", "--data", str(data), "--report"]
    r = subprocess.run(cmd + [str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "top-1:" in r.stdout and (out / "report.html").is_file() and (out / "confusion.png").is_file()
    with open(out / "predictions.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(CONFUSABLE)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = subprocess.run(cmd + [str(blocker)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "is a file" in r.stderr and blocker.read_text() == "x"
