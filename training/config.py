"""The one description of a training run: a frozen dataclass, written to `config.json` and stored in every
checkpoint as a plain dict (so `torch.load(..., weights_only=True)` reads it back)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from dogbreed_desktop.core.specs import BACKBONES, Preprocessing

MODES = ("auto", "fast", "finetune")
DEVICES = ("auto", "cpu", "cuda", "mps")

# Per-mode defaults, used when the caller leaves a value unset (None).
# fast: a linear head on cached features. finetune: end to end, the backbone at `backbone_lr_scale` times the
# head's rate. Label smoothing only where augmentation already makes the training loss noisy.
MODE_DEFAULTS = {
    "fast": {"epochs": 50, "batch_size": 128, "weight_decay": 1e-4, "label_smoothing": 0.0},
    "finetune": {"epochs": 10, "batch_size": 32, "weight_decay": 1e-5, "label_smoothing": 0.1},
}
# The learning rate also depends on where the head starts: the backbone's own ImageNet dog rows are already
# good (85.9% top-1 on the 25% split with Lite0), so they are refined with a small rate; a random head needs more.
DEFAULT_LR = {
    ("fast", "imagenet"): 1e-4,
    ("fast", "random"): 1e-3,
    ("finetune", "imagenet"): 3e-4,
    ("finetune", "random"): 1e-3,
}


class ConfigError(ValueError):
    """A setting that cannot work, with a message fit to show the user."""


@dataclass(frozen=True)
class TrainConfig:
    data: str  # labels.csv + train/, one folder per class, or train/ + test/
    backbone: str = "efficientnet_lite0"
    mode: str = "fast"  # "fast" | "finetune" (resolved from "auto" by `make_config`)
    epochs: int = 50
    batch_size: int = 128
    lr: float | None = None  # None: DEFAULT_LR for the mode and the head's start (resolved when the run starts)
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    backbone_lr_scale: float = 0.1  # finetune: backbone learning rate = lr * this
    val_fraction: float = 0.25
    seed: int = 0
    patience: int = 3  # epochs without a better validation loss before stopping; 0 = never stop early
    min_delta: float = 1e-4
    device: str = "auto"  # as asked; the resolved device is in environment.json
    head_init: str = "auto"  # "auto" (ImageNet rows when every class is an ImageNet dog breed) | "imagenet" | "random"
    image_size: int | None = None  # crop size override (small inputs for tests); None = the backbone's own
    per_class: int | None = None  # use only the first N images of each class (quick experiments)
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling)
    decode_threads: int = 4
    cache_dir: str | None = None  # feature cache; None = the app's cache folder
    organise: str = "none"  # also write train/<class>/ and test/<class>/ folders: "none" | "link" | "copy"

    def __post_init__(self) -> None:
        if self.mode not in ("fast", "finetune"):
            raise ConfigError(f"mode must be fast or finetune, not {self.mode!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError("the validation fraction must be between 0 and 1 (e.g. 0.25)")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch size must be at least 1")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError("the learning rate must be positive")
        if self.patience < 0:
            raise ConfigError("patience must be 0 (never stop early) or more")
        if self.head_init not in ("auto", "imagenet", "random"):
            raise ConfigError("head_init must be auto, imagenet or random")
        if self.organise not in ("none", "link", "copy"):
            raise ConfigError("organise must be none, link or copy")
        if self.image_size is not None and self.image_size < 16:
            raise ConfigError("image size must be at least 16 pixels")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

    def save(self, path: Path) -> None:
        from dogbreed_desktop.core.artifact import atomic_write

        text = json.dumps(self.to_dict(), indent=2) + "\n"
        atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def preprocessing_for(config: TrainConfig) -> Preprocessing:
    """The backbone's own eval transform, scaled to `config.image_size` when given (small inputs for tests).
    It is stored in the model artifact, so the app rebuilds exactly this transform."""
    prep = BACKBONES[config.backbone].preprocessing
    if config.image_size is None or config.image_size == prep.crop:
        return prep
    size = int(config.image_size)
    return Preprocessing(round(size * prep.resize / prep.crop), size, prep.mean, prep.std, prep.interpolation)


def with_lr(config: TrainConfig, head_init: str) -> TrainConfig:
    """`config` with its learning rate decided (unchanged when it was set); `head_init`: "imagenet" | "random"."""
    if config.lr is not None:
        return config
    return config.replace(lr=DEFAULT_LR[(config.mode, head_init)])


def resolve_mode(mode: str, device_type: str) -> str:
    """`auto`: fine-tune on a GPU, train the head on cached features on a CPU."""
    if mode == "auto":
        return "finetune" if device_type in ("cuda", "mps") else "fast"
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}")
    return mode


def make_config(data: str | Path, *, mode: str = "auto", device: str = "auto", device_type: str | None = None,
                **settings) -> TrainConfig:
    """A config from user settings: `auto` mode resolved for the device, unset (None) values from the mode's
    defaults. `device_type` is the resolved device's type ("cpu", "cuda", "mps"); resolved here when None."""
    if device_type is None:
        from dogbreed_desktop.core.devices import resolve_device

        device_type = resolve_device(device).type
    mode = resolve_mode(mode, device_type)
    values = {k: v for k, v in settings.items() if v is not None}
    for key, value in MODE_DEFAULTS[mode].items():
        values.setdefault(key, value)
    return TrainConfig(data=str(data), mode=mode, device=device, **values)
