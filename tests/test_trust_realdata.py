"""The built-in models and the "not a dog" gate on real photos: the held-out TEST split of training.holdout (a
subset, to keep CI short; the benchmark measures the whole split) and the held-out half of not-dogs.
Skips without DOGBREED_DATA and the not-dogs folder beside it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.heatmap import heatmap
from dogbreed_desktop.core.datasets import first_per_group
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split
from dogbreed_desktop.core.evaluate.metrics import expected_calibration_error

pytestmark = pytest.mark.slow  # among the slowest: `-m "not slow"` leaves them out


# The shipped models' recorded figures (benchmarks/results/builtin_models_variants.md), a little below them.
# Held-out Stanford: fast 88.5 %, accurate 91.2 %; wild-dev: 84.8 % / ECE 5.3 %, 88.6 % / 4.0 %.
FAST_TOP1, ACCURATE_TOP1 = 0.88, 0.91
WILD_TOP1 = {"fast": 0.84, "accurate": 0.88}
WILD_ECE = {"fast": 0.06, "accurate": 0.05}


@pytest.fixture(scope="module")
def split(real_data):
    return stanford_split(real_data)


@pytest.fixture(scope="module")
def not_dogs(real_data):
    folder = not_dogs_dir(real_data)
    if not (folder / "manifest.csv").is_file():
        pytest.skip("the not-dogs folder is not beside DOGBREED_DATA")
    return not_dogs_split(folder)


@pytest.fixture(scope="module")
def fast():
    return Classifier.load("fast")


def _measure(clf, items):
    results = clf.predict([p for p, _ in items], top_k=1)
    probs = torch.tensor([r.probabilities for r in results])
    y = torch.tensor([clf.classes.index(b) for _, b in items])
    top1 = (probs.argmax(1) == y).float().mean().item()
    return top1, expected_calibration_error(probs, y), results


def test_fast_model_on_held_out_photos(fast, split):
    items = first_per_group(split["test"], 2, key=lambda item: item[1])  # 240 of the 1,200
    top1, ece, results = _measure(fast, items)
    assert top1 >= 0.83 and ece <= 0.085, (top1, ece)  # 240 photos in 15 bins: ECE is mostly noise here (7.2 %)
    assert sum(r.verdict == "not_a_dog" for r in results) <= 2  # at most ~1% of dogs rejected
    assert sum(r.verdict == "unknown_breed" for r in results) <= 2  # ...or told they are of a breed it lacks
    # the figures on the whole split, recorded by scripts/make_builtin_models.py, meet the targets
    m = fast.metrics
    assert m["top1"] >= FAST_TOP1 and m["ece"] <= 0.02 and "log_loss" in m
    assert m["gate"]["test_dogs_and_not_dogs_heldout"]["test_dogs_unknown_breed"] <= 0.01


def test_accurate_model_on_held_out_photos(split):
    acc = Classifier.load("accurate")
    items = first_per_group(split["test"], 1, key=lambda item: item[1])  # 120 of the 1,200
    top1, ece, results = _measure(acc, items)
    assert len(acc.members) >= 2
    assert top1 >= 0.85 and ece <= 0.10, (top1, ece)
    assert acc.metrics["top1"] >= ACCURATE_TOP1 and acc.metrics["ece"] <= 0.02
    assert acc.metrics["gate"]["test_dogs_and_not_dogs_heldout"]["test_dogs_unknown_breed"] <= 0.01


@pytest.mark.parametrize("model", ["fast", "accurate"])
def test_recorded_figures_off_imagenet(model):
    """wild-dev (development): dog photos from outside ImageNet, measured by the build script, never fitted on.
    Lower than held-out Stanford, and the models are less well calibrated there: the figures say how much."""
    wild = Classifier.load(model).metrics["wild_dev"]
    assert wild["n"] == 341 and wild["top1"] >= WILD_TOP1[model] and wild["ece"] <= WILD_ECE[model], wild


def test_gate_rejects_held_out_non_dogs(fast, not_dogs):
    items = not_dogs["heldout"]
    results = fast.predict([p for p, _ in items], top_k=1)
    assert all(r.ok for r in results)
    rejected = {}
    for (path, cat), r in zip(items, results):
        rejected.setdefault(cat, []).append(r.verdict == "not_a_dog")
        if r.verdict == "not_a_dog":
            assert r.looks_like and r.dog_probability < fast.gate.threshold
    overall = np.mean([v for vs in rejected.values() for v in vs])
    assert overall >= 0.95, {c: np.mean(v) for c, v in rejected.items()}
    assert np.mean(rejected["cat"]) >= 0.92


@pytest.mark.parametrize("corner", ["top_left", "bottom_right"])
def test_heatmap_finds_a_dog_pasted_into_a_corner(fast, split, tmp_path, corner):
    dog = Image.open(split["test"][7 if corner == "top_left" else 500][0]).convert("RGB")
    canvas = Image.new("RGB", (720, 540), (236, 232, 224))
    x, y = (0, 0) if corner == "top_left" else (720 - 224, 540 - 224)
    canvas.paste(dog, (x, y))
    path = tmp_path / "canvas.jpg"
    canvas.save(path)
    heat = heatmap(fast, path)
    assert heat.size == canvas.size and heat.mode == "L"
    a = np.asarray(heat, dtype=np.float64)
    quadrant = a[:270, :360] if corner == "top_left" else a[270:, 360:]
    assert quadrant.sum() / a.sum() >= 0.6 and a.max() == 255


def test_predict_json_and_heatmaps_from_the_command_line(split, not_dogs, tmp_path):
    cat = next(p for p, c in not_dogs["heldout"] if c == "cat")
    dog = split["test"][0][0]
    out = tmp_path / "heat"
    proc = subprocess.run([sys.executable, "-m", "dogbreed_desktop", "predict", "--json", "--heatmap", str(out),
                           str(cat), str(dog)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_path = {line["path"]: line for line in lines}
    c, d = by_path[str(cat)], by_path[str(dog)]
    assert c["verdict"] == "not_a_dog" and c["looks_like"] and c["dog_probability"] < 0.5
    assert c["breed"] is None and c["top_k"]  # no breed named for the cat; its nearest breeds kept
    assert d["verdict"] in ("breed", "unsure") and d["looks_like"] is None and d["dog_probability"] > 0.5
    for line, photo in ((c, cat), (d, dog)):
        assert {"breed", "name", "probability", "top_k"} <= set(line)  # the fields that were there stay
        with Image.open(line["heatmap"]) as h, Image.open(photo) as p:
            assert h.mode == "L" and h.size == p.size and str(out) in line["heatmap"]
