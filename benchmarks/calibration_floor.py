"""How far ECE can be trusted on these photo sets: each shipped model's measured ECE beside the ECE a perfectly
calibrated model would show on the same number of photos at the same confidences.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/calibration_floor.py [--draws 2000]

Both models run through the app's own prediction path (`Classifier.predict`, mirror views as the app runs them)
on the held-out TEST split of training.holdout (1,200 Stanford Dogs photos, which come from ImageNet, the backbones'
training set) and on wild-dev (341 dog photos from outside ImageNet; measured, never fitted on). "Perfectly
calibrated" draws each photo's right-or-wrong from its own confidence, `--draws` times: what ECE (15 equal-width
bins, core.evaluate.metrics) reads for a model whose every "p % sure" is right p % of the time, and how often that reading
meets the issue's target (ECE <= 2 % held-out, <= 2.5 % on wild-dev). Mean confidence minus accuracy is the
calibration error in the large, with its sign (positive: overconfident).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from dogbreed_desktop.core.predict.classifier import Classifier
from training.holdout import stanford_split, wild_dev
from dogbreed_desktop.core.evaluate.metrics import expected_calibration_error

def measure(clf: Classifier, items, target: float, draws: int, rng) -> dict:
    results = clf.predict([p for p, _ in items], top_k=1)
    kept = [(r, b) for r, (_, b) in zip(results, items) if r.ok]  # a photo that does not decode is not scored
    probs = torch.tensor([r.probabilities for r, _ in kept], dtype=torch.float64)
    y = torch.tensor([clf.classes.index(b) for _, b in kept])
    conf, pred = probs.max(1)
    correct = (pred == y).double()
    measured = expected_calibration_error(probs, y)
    wrong = (pred + 1) % probs.shape[1]  # a label the model did not pick

    def perfectly_calibrated() -> float:  # each photo right with its own confidence, scored by the same ECE
        right = torch.from_numpy(rng.random(len(conf))) < conf
        return expected_calibration_error(probs, torch.where(right, pred, wrong))

    perfect = np.array([perfectly_calibrated() for _ in range(draws)])
    return {"n": len(kept), "top1": correct.mean().item(), "gap": (conf.mean() - correct.mean()).item(),
            "ece": measured, "perfect_mean": perfect.mean(), "perfect_95": np.percentile(perfect, 95),
            "p": (perfect >= measured).mean(), "meets": (perfect <= target).mean()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    sets = {"held-out Stanford Dogs (ImageNet-born)": (stanford_split(Path(args.data))["test"], 0.02),
            "wild-dev (development, outside ImageNet)": (wild_dev(args.data), 0.025)}
    rng = np.random.default_rng(0)
    print("| model | photos | n | top-1 | mean confidence − accuracy | ECE | a perfectly calibrated model's ECE "
          "here: mean / 95th percentile | it reads this high or higher | it meets the target (2 % / 2.5 %) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("fast", "accurate"):
        clf = Classifier.load(name)
        for label, (items, target) in sets.items():
            r = measure(clf, items, target, args.draws, rng)
            print(f"| {name} | {label} | {r['n']} | {r['top1']:.1%} | {r['gap']:+.1%} | {r['ece']:.2%} | "
                  f"{r['perfect_mean']:.2%} / {r['perfect_95']:.2%} | {r['p']:.0%} of draws | "
                  f"{r['meets']:.0%} of draws |", flush=True)


if __name__ == "__main__":
    main()
