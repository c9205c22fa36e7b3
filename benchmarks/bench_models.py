"""The built-in models side by side: accuracy, calibration and the "not a dog" gate on the held-out splits,
single-photo latency (decode to chart data) and heatmap latency, in one table.

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_models.py [--per-breed N]

Accuracy: the TEST split of training.holdout (10 photos per breed = 1,200; `--per-breed` takes fewer). These are
Stanford Dogs photos, which come from ImageNet, the backbones' training set: "held-out Stanford Dogs".
Gate: dogs wrongly rejected on the same photos; non-dogs rejected on the HELD-OUT half of not-dogs.
Latency: one photo per call, median of `--latency-photos` calls after a warm-up, torch at 2 threads.
Targets (issue 10): fast >= 87.5% top-1 and <= 80 ms; accurate >= 89.5% and <= 400 ms; ECE <= 2%;
heatmap <= 300 ms (fast).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.heatmap import heatmap
from dogbreed_desktop.core.datasets import first_per_group
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split
from dogbreed_desktop.core.evaluate.metrics import expected_calibration_error, log_loss, topk_accuracy


def measure(name: str, items, not_dogs, latency_photos: int) -> dict:
    clf = Classifier.load(name)
    results = clf.predict([p for p, _ in items], top_k=1, batch_size=32)
    probs = torch.tensor([r.probabilities for r in results])
    y = torch.tensor([clf.classes.index(b) for _, b in items])
    row = {"model": name, "title": clf.name, "n": len(items), "top1": topk_accuracy(probs, y, 1),
           "top5": topk_accuracy(probs, y, 5), "log_loss": log_loss(probs, y),
           "ece": expected_calibration_error(probs, y),
           "dogs_rejected": sum(r.verdict == "not_a_dog" for r in results) / len(results)}
    if not_dogs:
        nd = clf.predict([p for p, _ in not_dogs], top_k=1)
        per: dict[str, list[bool]] = {}
        for (_, cat), r in zip(not_dogs, nd):
            per.setdefault(cat, []).append(r.verdict == "not_a_dog")
        row["not_dogs_rejected"] = sum(map(sum, per.values())) / len(nd)
        row["per_category"] = {c: sum(v) / len(v) for c, v in sorted(per.items())}
    photos = [p for p, _ in items[:latency_photos + 1]]
    clf.predict(photos[:1])  # warm-up
    lat = []
    for p in photos[1:]:
        t = time.perf_counter()
        clf.predict([p], top_k=5)
        lat.append((time.perf_counter() - t) * 1000)
    row["latency_ms"] = statistics.median(lat)
    heat = []
    for p in photos[1:6]:
        t = time.perf_counter()
        heatmap(clf, p)
        heat.append((time.perf_counter() - t) * 1000)
    row["heatmap_ms"] = statistics.median(heat)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-breed", type=int, default=10, help="test photos per breed (10 = the whole split)")
    ap.add_argument("--latency-photos", type=int, default=30)
    ap.add_argument("--models", default="fast,accurate")
    args = ap.parse_args()
    data = os.environ.get("DOGBREED_DATA")
    if not data:
        raise SystemExit("set DOGBREED_DATA to the dog-breed-identification folder")
    torch.set_num_threads(min(2, os.cpu_count() or 2))
    items = first_per_group(stanford_split(data)["test"], args.per_breed, key=lambda it: it[1])
    nd_folder = not_dogs_dir(data)
    not_dogs = not_dogs_split(nd_folder)["heldout"] if (nd_folder / "manifest.csv").is_file() else []
    rows = [measure(m, items, not_dogs, args.latency_photos) for m in args.models.split(",")]
    print(f"held-out Stanford Dogs: {len(items)} photos (TEST split of training.holdout); not-dogs held-out half: "
          f"{len(not_dogs)} photos; {os.cpu_count()} cores, torch {torch.get_num_threads()} threads")
    print("| model | top-1 | top-5 | log loss | ECE | dogs rejected | non-dogs rejected | latency | heatmap |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        nd = f"{r['not_dogs_rejected']:.1%}" if "not_dogs_rejected" in r else "-"
        print(f"| {r['model']}: {r['title']} | {r['top1']:.1%} | {r['top5']:.1%} | {r['log_loss']:.3f} | "
              f"{r['ece']:.1%} | {r['dogs_rejected']:.2%} | {nd} | {r['latency_ms']:.0f} ms | {r['heatmap_ms']:.0f} ms |")
    for r in rows:
        if "per_category" in r:
            print(f"{r['model']}: non-dogs rejected per category: "
                  + ", ".join(f"{c} {v:.1%}" for c, v in r["per_category"].items()))


if __name__ == "__main__":
    main()
