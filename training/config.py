"""The one description of a training run: a frozen dataclass, written to `config.json` and stored in every
checkpoint as a plain dict (so `torch.load(..., weights_only=True)` reads it back).

Each field is also the one source of its default, its choices, its limits and its help text (the field's
metadata, made by `setting`): `training/options.py` builds `dogbreed-desktop train`'s options from them and the
Train tab (`gui/train/settings_panel.py`) its form. To change a default, change it here; the learning rate's
defaults are the `DEFAULT_LR` table below.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

from dogbreed_desktop.core.devices import DEVICES
from dogbreed_desktop.core.errors import UserError
from dogbreed_desktop.core.model.specs import BACKBONES, Preprocessing

# How a run trains. "auto" is resolved by `make_config` for the device: a config always holds a trained mode.
MODES = {
    "auto": "Auto (fine-tune on a GPU, fast on a CPU)",
    "fast": "Fast: frozen backbone, cached features",
    "top": "Top: adapt the backbone's last stage on cached activations (CPU, minutes)",
    "finetune": "Fine-tune: end to end with augmentation",
}
TRAINED = ("fast", "top", "finetune")
# The learning rate depends on the mode and on where the head starts: the backbone's own ImageNet dog rows are
# already good (85.9% top-1 on the 25% split with Lite0), so they are refined with a small rate; a random head
# needs more. The one place to change the learning-rate default.
DEFAULT_LR = {
    ("fast", "imagenet"): 1e-4,
    ("fast", "random"): 1e-3,
    ("top", "imagenet"): 3e-4,
    ("top", "random"): 1e-3,
    ("finetune", "imagenet"): 3e-4,
    ("finetune", "random"): 1e-3,
    # After the linear probe (`probe`) the head is already trained: a gentle start (LP-FT). On 30 breeds x 40
    # photos (benchmarks/results/training_modes.md) 1e-4 lowered validation loss from the first epoch, 3e-4 raised it.
    ("finetune", "probe"): 1e-4,
}
HEAD_INITS = {
    "auto": "the backbone's ImageNet rows when every class is one of the 120 ImageNet dog breeds, else random",
    "imagenet": "the backbone's ImageNet rows (every class must be an ImageNet dog breed)",
    "random": "random",
}
BATCHNORM = {"train": "statistics of each batch, running averages updated",
             "frozen": "the ImageNet statistics kept (scale and shift still train)"}
ORGANISE = {"none": "no", "link": "links", "copy": "copies"}


class ConfigError(UserError, ValueError):
    """A setting that cannot work, with a message fit to show the user."""


def setting(default=MISSING, *, help: str, label: str = "", choices: dict | None = None, by_mode: dict | None = None,
            asked=MISSING, low=None, high=None, open_range: bool = False, form: dict | None = None):
    """A TrainConfig field and what people see of it.

    `by_mode`: {"fast": value, "top": value, "finetune": value}, used when the setting is left unset (None) for that
    mode; the field's own default is the fast one. `asked`: what the CLI and the form start from when it differs
    from the field's default ("auto" mode; None = the mode's default). `low`/`high`: limits, inclusive unless
    `open_range`. `form`: shown in the Train tab, with widget hints (range, step, decimals, percent, special).
    """
    if by_mode is not None:
        default, asked = by_mode["fast"], None
    meta = {"help": help, "label": label, "choices": choices, "by_mode": by_mode, "low": low, "high": high,
            "open_range": open_range, "form": form}
    if asked is not MISSING:
        meta["asked"] = asked
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    data: str = setting(help="labels.csv + train/, one folder per class, or train/ + test/")
    backbone: str = setting(
        "efficientnet_lite0", label="Backbone", help="feature extractor (efficientnet_lite0/1/2 work offline)",
        choices={name: spec.title + ("" if spec.offline else "  (needs download)") for name, spec in BACKBONES.items()},
        form={})
    mode: str = setting("fast", asked="auto", label="Mode", choices=MODES, form={},
                        help="fast: frozen backbone, features cached on disk, a head trained in seconds per epoch; "
                             "top: the backbone's last stage(s) and the head trained on cached activations of the "
                             "frozen stages below (a few views of each photo), minutes on a CPU; "
                             "finetune: end to end with augmentation (minutes on a GPU, about 11 minutes an epoch "
                             "per 10,000 photos on a 2-core CPU with Lite0; resumable); auto: finetune on a GPU, "
                             "fast on a CPU")
    epochs: int = setting(by_mode={"fast": 50, "top": 20, "finetune": 10}, low=1, label="Epochs",
                          help="most epochs to run", form={"range": (0, 1000)})
    batch_size: int = setting(by_mode={"fast": 128, "top": 64, "finetune": 32}, low=1, label="Batch size",
                              help="images per training step", form={"range": (0, 4096)})
    lr: float | None = setting(None, low=0.0, open_range=True, label="Learning rate",
                               help="the head's learning rate (the backbone's is this times backbone_lr_scale)",
                               form={"range": (0.0, 1.0), "decimals": 5, "step": 1e-4})
    weight_decay: float = setting(by_mode={"fast": 1e-4, "top": 1e-5, "finetune": 1e-5}, low=0.0,
                                  help="AdamW weight decay")
    # No smoothing by default: validation loss picks the best epoch and stops early, and smoothing inflates it
    # (30 breeds x 12 photos: epoch 1's 0.303 against 0.230 without), so fine-tuning kept epoch 0 (training_modes.md).
    label_smoothing: float = setting(by_mode={"fast": 0.0, "top": 0.0, "finetune": 0.0}, low=0.0, high=1.0,
                                     help="cross-entropy label smoothing")
    backbone_lr_scale: float = setting(0.1, low=0.0, help="finetune, top: backbone learning rate = lr x this")
    batchnorm: str = setting("frozen", choices=BATCHNORM,
                             help="finetune: what the backbone's BatchNorm layers do while training (top mode "
                                  "always keeps the ImageNet statistics)")
    top_stages: int = setting(1, low=1, high=3,
                              help="top: how many of the backbone's last stages train, with its head convolution "
                                   "(the stages below stay frozen and their activations are cached)")
    val_fraction: float = setting(0.25, low=0.0, high=1.0, open_range=True, label="Validation",
                                  help="share of each class kept aside to validate on (stratified)",
                                  form={"range": (5, 50), "percent": True})
    seed: int = setting(0, low=0, label="Seed", help="seeds the split, the head and the data order",
                        form={"range": (0, 999_999)})
    patience: int = setting(3, low=0, label="Patience",
                            help="epochs without a better validation loss before stopping (the best epoch is kept; "
                                 "0 = never stop early)", form={"range": (0, 100), "special": "never"})
    min_delta: float = setting(1e-4, low=0.0, help="how much lower a validation loss must be to count as better")
    device: str = setting("auto", label="Device", choices=DEVICES, form={},
                          help="where to train (the device used is written to environment.json)")
    head_init: str = setting("auto", choices=HEAD_INITS, help="where the head starts")
    probe: bool = setting(True, help="finetune, top: first train the head on the frozen backbone's features (as "
                                     "fast mode does, cached), then adapt the backbone from that head (LP-FT), so "
                                     "the run starts where fast mode ends")
    image_size: int | None = setting(None, low=16, help="input size override (default: the backbone's own)")
    per_class: int | None = setting(None, low=1, help="use only the first N images of each class")
    amp: bool = setting(True, help="mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling)")
    decode_threads: int = setting(4, low=1, help="threads decoding photos while the backbone works")
    cache_dir: str | None = setting(None, help="feature cache folder (default: the app's cache)")
    organise: str = setting("none", choices=ORGANISE,
                            help="also write RUN/organised/train/<class>/ and test/<class>/ (links or copies)")

    def __post_init__(self) -> None:
        if self.mode not in TRAINED:
            raise ConfigError(f"mode must be one of {', '.join(TRAINED)}, not {self.mode!r}")
        for f in fields(self):
            problem = check(f, getattr(self, f.name))
            if problem:
                raise ConfigError(problem)
        if self.mode == "top" and not BACKBONES[self.backbone].offline:  # the split needs our stage table
            raise ConfigError("top mode works with the EfficientNet-Lite backbones; choose one, or another mode")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

    def save(self, path: Path) -> None:
        from dogbreed_desktop.core.files import write_text

        write_text(Path(path), json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def check(f, value) -> str:
    """Why `value` cannot be setting `f`, or "" when it can (None always can: the default decides)."""
    meta, name = f.metadata, f.name.replace("_", " ")
    if value is None:
        return ""
    if meta.get("choices") and value not in meta["choices"]:
        return f"{name} must be one of {', '.join(meta['choices'])}, not {value!r}"
    if isinstance(value, float) and not math.isfinite(value):  # nan passes every comparison below
        return f"{name} must be a finite number, not {value}"
    low, high, strict = meta.get("low"), meta.get("high"), meta.get("open_range")
    if low is not None and (value <= low if strict else value < low):
        if high is not None:
            return f"{name} must be between {low:g} and {high:g}{' (exclusive)' if strict else ''}, not {value:g}"
        return f"{name} must be {'more than' if strict else 'at least'} {low:g}, not {value:g}"
    if high is not None and (value >= high if strict else value > high):
        return f"{name} must be between {low:g} and {high:g}{' (exclusive)' if strict else ''}, not {value:g}"
    return ""


def settings() -> dict:
    """name -> dataclass field, in declaration order: what the CLI and the Train tab are generated from."""
    return {f.name: f for f in fields(TrainConfig)}


def asked_default(f):
    """What a person starts from for setting `f`: "auto" mode, None (the mode's default), or the field's default."""
    return f.metadata.get("asked", f.default)


def describe_default(f) -> str:
    """The default in words, for help text: "fast 50, top 20, finetune 10", the learning-rate table, or the value."""
    if f.name == "lr":
        return "; ".join(f"{mode} {DEFAULT_LR[(mode, 'imagenet')]:g} from the ImageNet dog rows, "
                         f"{DEFAULT_LR[(mode, 'random')]:g} from scratch" for mode in TRAINED)
    if f.metadata.get("by_mode"):
        return ", ".join(f"{mode} {value:g}" for mode, value in f.metadata["by_mode"].items())
    value = asked_default(f)
    return "" if value is None or value is MISSING else str(value)


MODE_DEFAULTS = {mode: {f.name: f.metadata["by_mode"][mode] for f in fields(TrainConfig) if f.metadata.get("by_mode")}
                 for mode in TRAINED}


def preprocessing_for(config: TrainConfig) -> Preprocessing:
    """The backbone's own eval transform, scaled to `config.image_size` when given (small inputs for tests).
    It is stored in the model artifact, so the app rebuilds exactly this transform."""
    prep = BACKBONES[config.backbone].preprocessing
    if config.image_size is None or config.image_size == prep.crop:
        return prep
    size = int(config.image_size)
    return Preprocessing(round(size * prep.resize / prep.crop), size, prep.mean, prep.std, prep.interpolation)


def with_lr(config: TrainConfig, head_init: str) -> TrainConfig:
    """`config` with its learning rate decided (unchanged when it was set); `head_init`: "imagenet" | "random"
    (a fine-tuning run after the linear probe takes the "probe" rate whatever the head started from)."""
    if config.lr is not None:
        return config
    probed = config.mode == "finetune" and config.probe
    return config.replace(lr=DEFAULT_LR[(config.mode, "probe" if probed else head_init)])


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
