"""Write the bundled default model: EfficientNet-Lite0 whose 120-breed head is the 120 dog rows of its own
ImageNet head. Nothing is trained; the backbone weights are referenced by package and sha256, not copied.

    python scripts/make_default_model.py [--calibrate DATA_DIR]

With --calibrate, the softmax temperature is fitted on photos 11-20 of each breed (in file-name order) and the
model is measured on photos 1-5 of each breed (the 600 the test suite uses); both go into the artifact.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import torch

from dogbreed_desktop import __version__
from dogbreed_desktop.core.artifact import ModelArtifact, save_artifact
from dogbreed_desktop.core.backbones import backbone_spec, build_backbone
from dogbreed_desktop.core.breeds import BREED_IDS
from dogbreed_desktop.core.heads import initial_head
from dogbreed_desktop.paths import default_model_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calibrate", type=Path, help="Kaggle-layout photo set to fit the temperature on")
    ap.add_argument("--out", type=Path, default=default_model_path())
    args = ap.parse_args()
    name = "efficientnet_lite0"
    spec = backbone_spec(name)
    head, _ = initial_head(build_backbone(name), BREED_IDS, "imagenet")  # the 120 ImageNet dog rows
    artifact = ModelArtifact(
        backbone=name,
        classes=list(BREED_IDS),
        preprocessing=spec.preprocessing,
        head_weight=head.weight.detach(),
        head_bias=head.bias.detach(),
        backbone_weights=spec.weights_reference(),
        temperature=1.0,
        name="EfficientNet-Lite0 ImageNet dog rows (default)",
        provenance={
            "data": "ImageNet-1k (the backbone's own classifier, 120 dog rows); no further training",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "app_version": __version__,
            "torch": torch.__version__,
            "script": "scripts/make_default_model.py",
        },
    )
    if args.calibrate:
        calibrate(artifact, args.calibrate)
    print(save_artifact(artifact, args.out))
    print(json.dumps({"temperature": artifact.temperature, **artifact.metrics}, indent=1))


def calibrate(artifact: ModelArtifact, data: Path) -> None:
    from dogbreed_desktop.core.classifier import Classifier
    from dogbreed_desktop.core.datasets import load_labelled_set
    from dogbreed_desktop.core.evaluation import evaluate
    from dogbreed_desktop.core.metrics import fit_temperature

    items = sorted(load_labelled_set(data).items, key=lambda i: (i.label, i.path.name))
    by_class: dict[str, list] = {}
    for item in items:
        by_class.setdefault(item.label, []).append(item)
    fit_items = [i for group in by_class.values() for i in group[10:20]]
    test_items = [i for group in by_class.values() for i in group[:5]]
    clf = Classifier(artifact)
    results = clf.predict([i.path for i in fit_items])
    # log-probabilities are logits up to a per-row constant, which softmax(z / T) ignores
    logp = torch.tensor([r.probabilities for r in results]).clamp_min(1e-12).log()
    targets = torch.tensor([clf.classes.index(i.label) for i in fit_items])
    artifact.temperature = fit_temperature(logp, targets)
    rep = evaluate(Classifier(artifact), test_items)
    artifact.metrics = {
        "evaluated_on": f"held-out Stanford Dogs: photos 1-5 of each breed of {data.name} ({rep['n']} photos)",
        "temperature_fitted_on": f"photos 11-20 of each breed ({len(fit_items)} photos)",
        **{k: round(rep[k], 4) for k in ("top1", "top5", "log_loss", "ece")},
    }


if __name__ == "__main__":
    main()
