"""Does the "not a dog" gate keep its rates on a model whose backbone was adapted (top, finetune)?

The gate reads the backbone's features through the package's original ImageNet head (core.torch.network.backbone_for);
an adapted backbone changes those features. For each model: the share of held-out non-dogs rejected
(../not-dogs, training.holdout.not_dogs_split "heldout") and of dog photos called "not a dog" (the held-out TEST
split of training.holdout.stanford_split, a few per breed, minus any photo the model trained on), with the photo and
its mirror averaged as the built-in models do, under two gates: the built-in fast model's tuned gate and the
default one a trained model carries (Gate()).

    python benchmarks/gate_rates.py RUN_OR_MODEL... [--data DIR] [--per-breed 3]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from dogbreed_desktop.core.model.artifact import load_artifact
from dogbreed_desktop.core.predict.classifier import Classifier
from dogbreed_desktop.core.predict.gate import Gate, dog_mass_logit
from dogbreed_desktop.core.datasets import first_per_group
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split
from dogbreed_desktop.core.predict.preprocess import normalize
from dogbreed_desktop.paths import builtin_model_path


def photo_sets(data: Path, per_breed: int, exclude: set[Path]) -> dict[str, list[Path]]:
    dogs = [p for p, _ in first_per_group(stanford_split(data)["test"], per_breed) if p.resolve() not in exclude]
    return {"dogs": dogs, "not_dogs": [p for p, _ in not_dogs_split(not_dogs_dir(data))["heldout"]]}


def dog_mass(model: Path, photos: list[Path], batch: int = 32) -> np.ndarray:
    """Each photo's dog-mass log-odds from the model's backbone and ImageNet head, photo and mirror averaged."""
    clf = Classifier(load_artifact(model), device="cpu")
    prep = clf.members[0].artifact.preprocessing
    out = []
    for i in range(0, len(photos), batch):
        x = normalize(np.stack([clf.prepare(p)[0] for p in photos[i : i + batch]]), prep)
        z = clf.engine.run(0, x).imagenet + clf.engine.run(0, np.ascontiguousarray(x[..., ::-1])).imagenet
        out.append(dog_mass_logit(z / 2))
    return np.concatenate(out)


def rates(mass: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """gate name -> {"non-dogs rejected", "dogs called not a dog"}."""
    tuned = Gate.from_dict(load_artifact(builtin_model_path("fast")).gate)
    out = {}
    for name, gate in (("fast model's gate", tuned), ("default gate", Gate())):
        def rejected(m):
            return float(np.mean(1.0 / (1.0 + np.exp(-(gate.scale * m + gate.shift))) < gate.threshold))

        out[name] = {"non-dogs rejected": rejected(mass["not_dogs"]), "dogs called not a dog": rejected(mass["dogs"])}
    return out


def measure(models: dict[str, Path], data: Path, per_breed: int = 2, exclude: set[Path] = frozenset()) -> str:
    """A markdown table of the gate's rates per model (label -> model path)."""
    sets = photo_sets(data, per_breed, set(exclude))
    lines = [f"{len(sets['not_dogs'])} held-out non-dogs, {len(sets['dogs'])} held-out dog photos",
             "", "| model | gate | non-dogs rejected | dogs called not a dog |", "|---|---|---|---|"]
    for label, path in models.items():
        mass = {k: dog_mass(path, v) for k, v in sets.items()}
        for gate, r in rates(mass).items():
            lines.append(f"| {label} | {gate} | {r['non-dogs rejected']:.1%} | {r['dogs called not a dog']:.2%} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="run folders or model files")
    p.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    p.add_argument("--per-breed", type=int, default=2)
    args = p.parse_args()
    print(measure({m: Path(m) for m in args.models}, Path(args.data), args.per_breed))


if __name__ == "__main__":
    main()
