"""Fast mode on the real photos (DOGBREED_DATA): 6 photos per breed, the fixed seed-0 split, EfficientNet-Lite0.

Starts from the backbone's own ImageNet dog rows and must end at least as good on validation loss, with a
stated accuracy. About 10 s on two CPU cores (feature extraction of 720 photos dominates)."""

from __future__ import annotations

import pytest

from dogbreed_desktop.core.predict.classifier import Classifier
from training.config import make_config
from training.run import start_run
from training.runfolder import read_metrics

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_fast_mode_on_a_real_subset(real_data, tmp_path):
    cfg = make_config(real_data, device="cpu", mode="fast", per_class=6, epochs=15, seed=0)
    result = start_run(cfg, tmp_path / "run")
    assert result.status in ("finished", "stopped_early")
    history = read_metrics(tmp_path / "run" / "metrics.csv")
    start, best = history[0], history[result.best_epoch]
    assert result.metrics["val_images"] == 240  # round(6 * 0.25) = 2 photos of each breed
    assert start["val_top1"] > 0.75  # the ImageNet dog rows, before any training
    assert best["val_loss"] <= start["val_loss"]  # early stopping keeps the best: never worse than the start
    assert result.metrics["val_top1"] >= 0.80
    clf = Classifier.load(tmp_path / "run")
    assert clf.artifact.provenance["head_init"] == "imagenet" and len(clf.classes) == 120
