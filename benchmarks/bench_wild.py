"""Accuracy where it matters: models on the user's kind of photo as well as the Stanford kind, through the app's
own prediction path (`Classifier.predict`: mirror views as the app runs them, temperature, gate).

    DOGBREED_DATA=../shared/data/dog-breed-identification python benchmarks/bench_wild.py \
        [--models fast,balanced,accurate,RUN]

`--models` takes built-in names, model files and training run folders. Photo sets (every figure says which):
- held-out Stanford: the TEST split of training.holdout (1,200; never fitted on; ImageNet-born, which flatters);
- wild-dev: 341 photos from outside ImageNet, the development set (the built-in models' temperatures were fitted
  and their variants chosen on it: the build script's table reports it cross-fitted; this is the shipped model);
- wild-extra: 965 more from outside ImageNet, mostly puppies; the built-in heads trained on them.
"Balanced" counts each breed once. ECE (floor): measured, and what a perfectly calibrated model would read at the
same confidences on the same photos. Then the "not a dog" gate on the held-out half of not-dogs (never fitted on),
and the share of each dog set called not a dog, in one table per model.
"""

from __future__ import annotations

import argparse
import os

import torch

from dogbreed_desktop.core.predict.classifier import Classifier
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split, wild_dev, wild_extra
from training.scoring import measure

from stamp import add_write_option, recording  # noqa: E402 (benchmarks/stamp.py, beside this script)


def score(clf: Classifier, items) -> dict:
    results = clf.predict([p for p, _ in items], top_k=1, batch_size=32)
    kept = [(r, b) for r, (_, b) in zip(results, items) if r.ok]
    probs = torch.tensor([r.probabilities for r, _ in kept], dtype=torch.float64)
    y = torch.tensor([clf.classes.index(b) for _, b in kept])
    out = measure(probs, y)
    out["not_a_dog"] = sum(r.verdict == "not_a_dog" for r, _ in kept) / len(kept)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fast,balanced,accurate")
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    add_write_option(ap, "bench_wild")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    sets = {"held-out Stanford": stanford_split(args.data)["test"], "wild-dev": wild_dev(args.data),
            "wild-extra": wild_extra(args.data)}
    sets = {k: v for k, v in sets.items() if v and v[0][0].is_file()}
    folder = not_dogs_dir(args.data)
    not_dogs = not_dogs_split(folder)["heldout"] if (folder / "manifest.csv").is_file() else []
    with recording(args.write):
        table(args.models.split(","), sets, not_dogs)


def gate_line(name: str, clf: Classifier, not_dogs) -> str:
    results = clf.predict([p for p, _ in not_dogs], top_k=1)
    kept = [(r, c) for r, (_, c) in zip(results, not_dogs) if r.ok]
    by_cat: dict[str, list[bool]] = {}
    for r, c in kept:
        by_cat.setdefault(c, []).append(r.verdict == "not_a_dog")
    cats = ", ".join(f"{c} {sum(v) / len(v):.1%}" for c, v in sorted(by_cat.items()))
    rejected = sum(r.verdict == "not_a_dog" for r, _ in kept) / len(kept)
    return f"| {name} | {len(kept)} | {rejected:.2%} | {cats} |"


def table(models: list[str], sets: dict, not_dogs) -> None:
    print("| model | photos | n | top-1 | balanced top-1 | top-5 | log loss | ECE (floor) | mean confidence | "
          "dogs called not a dog |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in models:
        clf = Classifier.load(name)
        for label, items in sets.items():
            m = score(clf, items)
            print(f"| {name}: {clf.name} | {label} | {m['n']} | {m['top1']:.1%} | {m['balanced_top1']:.1%} | "
                  f"{m['top5']:.1%} | {m['log_loss']:.3f} | {m['ece']:.1%} ({m['ece_floor']:.1%}) | "
                  f"{m['confidence']:.1%} | {m['not_a_dog']:.1%} |", flush=True)
    if not_dogs:
        print("\n| model | held-out non-dogs | rejected as not a dog | per category |\n|---|---|---|---|")
        for name in models:
            print(gate_line(name, Classifier.load(name), not_dogs), flush=True)


if __name__ == "__main__":
    main()
