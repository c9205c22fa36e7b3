"""Adaptive mirror views against always-mirrored ones, for both built-in models, in one run.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_mirror.py [--per-breed N]

`Classifier.mirror_below` (0.95): a photo its first view leaves at least that sure skips the mirror view. Prints,
per model and setting: held-out Stanford Dogs top-1, log loss and ECE (the TEST split of training.holdout: ImageNet
photos, which flatter every figure alike), dogs called "not a dog", held-out non-dogs rejected, the share of
photos that ran their mirror, and photos/s through `Classifier.predict` (decode included).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.datasets import first_per_group
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split
from stamp import add_write_option, recording


def measure(clf: Classifier, items, not_dogs, below: float) -> dict:
    clf.mirror_below = below
    mirrored = []
    clf.engine.observers.append(lambda member, n: mirrored.append(n) if member == 0 else None)
    t = time.perf_counter()
    results = clf.predict([p for p, _ in items], top_k=1)
    seconds = time.perf_counter() - t
    p = np.array([r.probabilities for r in results])
    y = np.array([clf.classes.index(b) for _, b in items])
    conf, right = p.max(1), p.argmax(1) == y
    edges = np.linspace(0, 1, 16)
    ece = sum(abs(right[m].mean() - conf[m].mean()) * m.mean()
              for m in ((conf > lo) & (conf <= hi) for lo, hi in zip(edges[:-1], edges[1:])) if m.any())
    nd = clf.predict([q for q, _ in not_dogs], top_k=1)
    clf.engine.observers.clear()
    runs = sum(mirrored)
    return {"top1": right.mean(), "log_loss": -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean(),
            "ece": ece, "dogs_rejected": np.mean([r.verdict == "not_a_dog" for r in results]),
            "not_dogs_rejected": np.mean([r.verdict == "not_a_dog" for r in nd]),
            "mirrored": (runs - len(items) - len(not_dogs)) / (len(items) + len(not_dogs)),
            "photos_s": len(items) / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-breed", type=int, default=10, help="held-out photos per breed (10 = all 1,200)")
    add_write_option(ap, "bench_mirror")
    args = ap.parse_args()
    with recording(args.write):
        data = os.environ["DOGBREED_DATA"]
        items = first_per_group(stanford_split(data)["test"], args.per_breed, key=lambda it: it[1])
        not_dogs = not_dogs_split(not_dogs_dir(data))["heldout"]
        print(f"{len(items)} held-out Stanford Dogs photos, {len(not_dogs)} held-out non-dogs\n")
        print("| model | mirror | top-1 | log loss | ECE | dogs called not a dog | non-dogs rejected | photos mirrored "
              "| photos/s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in ("fast", "accurate"):
            clf = Classifier.load(name, device="cpu")
            clf.predict([p for p, _ in items[:8]])  # warm-up
            for below, label in ((1.01, "always"), (Classifier.mirror_below, f"below {Classifier.mirror_below:.0%} sure")):
                r = measure(clf, items, not_dogs, below)
                print(f"| {name} | {label} | {r['top1']:.1%} | {r['log_loss']:.3f} | {r['ece']:.1%} "
                      f"| {r['dogs_rejected']:.2%} | {r['not_dogs_rejected']:.1%} | {r['mirrored']:.0%} "
                      f"| {r['photos_s']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
