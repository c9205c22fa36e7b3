"""Write the bundled default model: EfficientNet-Lite0 whose 120-breed head is the 120 dog rows of its own
ImageNet head. Nothing is trained; the backbone weights are referenced by package and sha256, not copied.

    python scripts/make_default_model.py [--temperature T] [--metrics-json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dogbreed_desktop import __version__  # noqa: E402
from dogbreed_desktop.core.artifact import ModelArtifact, save_artifact  # noqa: E402
from dogbreed_desktop.core.backbones import backbone_spec, build_backbone  # noqa: E402
from dogbreed_desktop.core.breeds import BREED_IDS, IMAGENET_INDICES  # noqa: E402
from dogbreed_desktop.paths import default_model_path  # noqa: E402


def imagenet_dog_head(backbone_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    fc = build_backbone(backbone_name).imagenet_fc
    rows = torch.tensor(IMAGENET_INDICES)
    return fc.weight.detach()[rows].clone(), fc.bias.detach()[rows].clone()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--metrics-json", type=Path, help="measured metrics to record in the artifact")
    ap.add_argument("--out", type=Path, default=default_model_path())
    args = ap.parse_args()
    name = "efficientnet_lite0"
    spec = backbone_spec(name)
    weight, bias = imagenet_dog_head(name)
    artifact = ModelArtifact(
        backbone=name,
        classes=list(BREED_IDS),
        preprocessing=spec.preprocessing,
        head_weight=weight,
        head_bias=bias,
        backbone_weights={"source": "package", "package": spec.package, "sha256": spec.sha256},
        temperature=args.temperature,
        name="EfficientNet-Lite0 ImageNet dog rows (default)",
        metrics=json.loads(args.metrics_json.read_text()) if args.metrics_json else {},
        provenance={
            "data": "ImageNet-1k (the backbone's own classifier, 120 dog rows); no further training",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "app_version": __version__,
            "torch": torch.__version__,
            "script": "scripts/make_default_model.py",
        },
    )
    print(save_artifact(artifact, args.out))


if __name__ == "__main__":
    main()
