"""The self-describing model file the app loads: one `.safetensors` file, never a pickle.

Tensors: `head.weight`, `head.bias`, and `backbone.*` only when the backbone was fine-tuned. Backbone weights
that come from an installed package are referenced by package name and sha256 instead of copied.
Everything else (classes, preprocessing, temperature, metrics, provenance) is JSON in the file's metadata.
Two optional keys: `test_time_mirror` (average each photo with its mirror image) and `gate` (the "not a dog"
gate, `core.predict.gate.Gate.to_dict()`, or null for a model that has none; absent in older files, which get the
default dog-mass gate when their classes are dog breeds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from ...paths import MODEL_FILENAME
from .artifact_schema import SchemaError, validate
from ..breeds import readable_name
from ..predict.gate import Gate, gate_applies
from ..errors import UserError
from ..files import atomic_write
from ..predict.preprocess import Preprocessing
from .specs import BACKBONES

FORMAT = "dogbreed-model"
FORMAT_VERSION = 1


class ArtifactError(UserError):
    """A model file that cannot be used, with a message fit to show the user."""


@dataclass
class ModelArtifact:
    backbone: str
    classes: list[str]
    preprocessing: Preprocessing
    head_weight: np.ndarray  # float32 (classes x features); training may hand in torch tensors, saved the same
    head_bias: np.ndarray
    # {"source": "package", "package": ..., "sha256": ...} | {"source": "embedded"} | {"source": "torchvision", ...}
    backbone_weights: dict
    backbone_state: dict[str, np.ndarray] | None = None
    temperature: float = 1.0
    name: str = ""
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    path: Path | None = None  # where it was loaded from
    test_time_mirror: bool = False
    gate: dict | None | str = "auto"  # "auto": the default dog-mass gate for dog breeds, else None

    def __post_init__(self) -> None:
        if self.gate == "auto":
            self.gate = Gate().to_dict() if gate_applies(self.classes) else None

    @property
    def class_names(self) -> list[str]:
        return [readable_name(c) for c in self.classes]

    def metadata(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "backbone": self.backbone,
            "backbone_weights": self.backbone_weights,
            "classes": list(self.classes),
            "class_names": self.class_names,
            "preprocessing": self.preprocessing.to_dict(),
            "temperature": self.temperature,
            "metrics": self.metrics,
            "provenance": self.provenance,
            "test_time_mirror": bool(self.test_time_mirror),
            "gate": self.gate,
        }


def imagenet_head_available(artifact: ModelArtifact) -> bool:
    """A fine-tuned (embedded) backbone stores no ImageNet head; the package's original one, frozen, is read on
    its features. Only the offline (package) backbones have one to read: otherwise there is no gate."""
    if artifact.backbone_weights.get("source") != "embedded":
        return True
    spec = BACKBONES.get(artifact.backbone)
    return spec is not None and spec.offline


def save_artifact(artifact: ModelArtifact, path: Path) -> Path:
    tensors = {"head.weight": artifact.head_weight, "head.bias": artifact.head_bias}
    if artifact.backbone_state:
        tensors.update({f"backbone.{k}": v for k, v in artifact.backbone_state.items()})
    tensors = {k: as_float32(v) for k, v in tensors.items()}
    meta = {"dogbreed": json.dumps(artifact.metadata())}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    return Path(path)


def as_float32(t) -> np.ndarray:
    """A torch tensor (any device or dtype) or an array, as a contiguous float32 numpy array."""
    if hasattr(t, "detach"):
        t = t.detach().cpu().float().numpy()
    return np.ascontiguousarray(t, dtype=np.float32)


def resolve_model_path(path: Path | str) -> Path:
    """An artifact file, or a training run folder holding one."""
    path = Path(path).expanduser()
    if path.is_dir():
        candidate = path / MODEL_FILENAME
        if not candidate.exists():
            raise ArtifactError(f"{path} is a folder without {MODEL_FILENAME} (a run that has not finished yet?)")
        return candidate
    if not path.exists():
        raise ArtifactError(f"model file not found: {path}")
    return path


def _not_a_plain_file(path: Path) -> str | None:
    from ..predict.preprocess import not_a_regular_file

    problem = not_a_regular_file(path)
    return None if problem in (None, "empty file") else problem


def _refuse_non_safetensors(path: Path) -> None:
    problem = _not_a_plain_file(path)
    if problem:
        raise ArtifactError(f"{path.name}: {problem}")
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{":
        return  # safetensors: 8-byte header length, then the JSON header (the length may well start 0x80)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise ArtifactError(
            f"{path.name} is a pickled PyTorch file. Dog Breed Studio never unpickles model files, because a "
            "pickle can run arbitrary code; it loads only .safetensors model artifacts."
        )
    if len(head) < 9 or head[8:9] != b"{":
        raise ArtifactError(f"{path.name} is not a Dog Breed Studio model (.safetensors) file")


def load_artifact(path: Path | str) -> ModelArtifact:
    path = resolve_model_path(path)
    _refuse_non_safetensors(path)
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            raw = (f.metadata() or {}).get("dogbreed")
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as e:  # TypeError: a dtype numpy lacks (bf16)
        raise ArtifactError(f"{path.name} is damaged or not a model file ({e})") from None
    if raw is None:
        raise ArtifactError(f"{path.name} is a safetensors file but not a Dog Breed Studio model")
    try:
        meta = json.loads(raw)
    except ValueError as e:
        raise ArtifactError(f"{path.name} has damaged model metadata ({e})") from None
    if isinstance(meta, dict) and meta.get("format") == FORMAT and _newer(meta.get("format_version")):
        raise ArtifactError(f"{path.name} was made by a newer Dog Breed Studio; update the app to use it")
    try:
        validate(meta, tensors)  # every field and tensor, before anything is built from them
    except SchemaError as e:
        raise ArtifactError(f"{path.name} is not a usable model: {e}") from None
    backbone_state = {k[len("backbone.") :]: v for k, v in tensors.items() if k.startswith("backbone.")}
    return ModelArtifact(
        backbone=meta["backbone"],
        classes=list(meta["classes"]),
        preprocessing=Preprocessing.from_dict(meta["preprocessing"]),
        head_weight=tensors["head.weight"].astype(np.float32),
        head_bias=tensors["head.bias"].astype(np.float32),
        backbone_weights=dict(meta["backbone_weights"]),
        backbone_state=backbone_state or None,
        temperature=float(meta.get("temperature", 1.0)),
        name=meta.get("name") or path.stem,
        metrics=meta.get("metrics", {}),
        provenance=meta.get("provenance", {}),
        path=path,
        test_time_mirror=bool(meta.get("test_time_mirror", False)),
        gate=meta.get("gate", "auto"),  # validated above; absent in older files
    )


def _newer(version) -> bool:
    return isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
