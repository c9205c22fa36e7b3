"""A model artifact as torch modules: for training, `export`, making ONNX graphs, and the torch engine on GPUs.

The classify path on CPU never imports this module (it runs ONNX graphs, `core.engine.engine`).
"""

from __future__ import annotations

import torch
from torch import nn

from . import backbones
from ..model.artifact import ArtifactError, ModelArtifact, imagenet_head_available
from .heads import linear_head


class BreedNet(nn.Module):
    """Backbone features -> linear head. `forward` returns logits (before temperature)."""

    def __init__(self, backbone: nn.Module, head: nn.Linear):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor, imagenet: bool = False):
        """Breed logits; with `imagenet`, (breed logits, ImageNet logits) from one pass: the ImageNet head feeds
        the "not a dog" gate."""
        f = self.backbone.forward_features(x)
        return (self.head(f), self.backbone.imagenet_fc(f)) if imagenet else self.head(f)


class GraphModule(nn.Module):
    """What an ONNX graph holds (`core.engine.graphs.OUTPUTS`): pooled features, ImageNet logits, last feature map."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, image: torch.Tensor):
        fmap = self.backbone.feature_map(image)
        features = fmap.mean((2, 3))
        return features, self.backbone.imagenet_fc(features), fmap


def tensors(arrays: dict) -> dict[str, torch.Tensor]:
    """An artifact's numpy arrays as torch tensors (shared memory, no copy)."""
    return {k: torch.as_tensor(v) for k, v in arrays.items()}


def backbone_for(artifact: ModelArtifact) -> nn.Module:
    """The eval-mode backbone an artifact describes, weights found and checked, with the ImageNet head the gate
    reads (the package's original one for a fine-tuned backbone)."""
    source = artifact.backbone_weights.get("source")
    spec = backbones.backbone_spec(artifact.backbone)
    if source == "package":
        if artifact.backbone_weights.get("sha256") != spec.sha256:
            raise ArtifactError(
                f"model expects {spec.package} weights with sha256 {artifact.backbone_weights.get('sha256')}, "
                f"but this version of the app knows {spec.sha256}"
            )
        return backbones.build_backbone(artifact.backbone, pretrained=True)
    if source == "embedded":
        if not artifact.backbone_state:
            raise ArtifactError("model says its backbone weights are embedded, but the file holds none")
        backbone = backbones.build_backbone(artifact.backbone, pretrained=False)
        backbones.load_backbone_state(backbone, tensors(artifact.backbone_state))
        if imagenet_head_available(artifact):
            backbone.imagenet_fc.load_state_dict(backbones.original_imagenet_fc(artifact.backbone))
        return backbone.eval()
    if source == "torchvision":
        return backbones.build_backbone(artifact.backbone, pretrained=True)
    raise ArtifactError(f"unknown backbone weight source {source!r}")


def build_network(artifact: ModelArtifact) -> BreedNet:
    """The whole network an artifact describes (backbone + breed head), in eval mode."""
    head = linear_head(torch.as_tensor(artifact.head_weight), torch.as_tensor(artifact.head_bias))
    return BreedNet(backbone_for(artifact), head).eval()
