"""What a Classifier runs: one model artifact, or an ensemble manifest naming several.

An ensemble manifest is a small JSON file (never a pickle) beside its member artifacts:

    {"format": "dogbreed-ensemble", "format_version": 3, "name": "...", "members": ["a.safetensors", ...],
     "weights": [0.35, 0.65], "gate_members": ["c.safetensors"], "temperature": 1.1, "gate": {...} | null,
     "metrics": {...}, "provenance": {...}}

Members are plain file names in the manifest's own folder (no paths: a manifest cannot point elsewhere), must
share their classes, and their breed logits are averaged before the ensemble's temperature, weighted by the
optional `"weights"` (format 2; positive, one per member, normalised to sum 1; equal without it); their
ImageNet logits are averaged equally for the gate. Each member keeps its own `test_time_mirror`; its
temperature and gate are not used.

Gate members (format 3) only help the gate decide: their ImageNet logits join the members' (all averaged
equally) for the photos whose gate answer is close, the gate's `band` of the members' own dog-mass logit (every
photo without a band), each on its own picture (and mirror image, when it says `test_time_mirror`). They give
no breed logits, and are left out of heatmaps and exports. So a backbone whose ImageNet head tells dogs
from cats less well can carry the breeds while a second backbone runs only for the photos it needs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .artifact import ArtifactError, ModelArtifact, imagenet_head_available, load_artifact, resolve_model_path
from ..predict.gate import Gate

ENSEMBLE_FORMAT = "dogbreed-ensemble"
ENSEMBLE_VERSION = 3  # 2: member weights; 3: gate members
MAX_MEMBERS = 8
MAX_MANIFEST_BYTES = 1 << 20


@dataclass
class Ensemble:
    members: list[ModelArtifact]
    temperature: float = 1.0
    gate: dict | None = None
    name: str = ""
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    path: Path | None = None
    weights: list[float] | None = None  # the breed logits' weights, summing to 1; None: equal
    gate_members: list[ModelArtifact] = field(default_factory=list)  # ImageNet logits for the gate only

    @property
    def member_weights(self) -> list[float]:
        """Each member's weight in the breed logits (equal unless the manifest gives weights)."""
        return list(self.weights) if self.weights else [1.0 / len(self.members)] * len(self.members)

    @property
    def head_scales(self) -> list[float]:
        """What each member's linear head is multiplied by so that the plain mean of the members' logits is the
        weighted one (1.0 each for equal weights): how the app and the exported graph apply the weights."""
        return [w * len(self.members) for w in self.member_weights]

    @classmethod
    def single(cls, a: ModelArtifact) -> "Ensemble":
        return cls([a], a.temperature, a.gate, a.name, a.metrics, a.provenance, a.path)

    def manifest(self, member_files: list[str], gate_member_files: list[str] = ()) -> dict:
        version = 3 if gate_member_files else 2 if self.weights else 1  # readable by older apps when it can be
        return {
            "format": ENSEMBLE_FORMAT,
            "format_version": version,
            "name": self.name,
            "members": list(member_files),
            **({"weights": list(self.weights)} if self.weights else {}),
            **({"gate_members": list(gate_member_files)} if gate_member_files else {}),
            "temperature": self.temperature,
            "gate": self.gate,
            "metrics": self.metrics,
            "provenance": self.provenance,
        }


def is_manifest(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def load_manifest(path: Path | str) -> Ensemble:
    """The ensemble an ensemble manifest (.json) names, its members loaded and checked. To load any model (an
    artifact, a run folder, a manifest or a built-in name) use `core.model.models.load_model`."""
    path = resolve_model_path(path)
    meta = _read_manifest(path)
    try:
        members = [load_artifact(p) for p in _members(path, meta)]
        gate_members = [load_artifact(p) for p in _gate_members(path, meta)]
        temperature = float(meta.get("temperature", 1.0))
        if not 0.01 <= temperature <= 100:
            raise ValueError(f"temperature {temperature} out of range")
        gate = meta.get("gate")
        if gate is not None:
            Gate.from_dict(gate)
        elif gate_members:
            raise ValueError("gate members need a gate")
        if not all(imagenet_head_available(a) for a in gate_members):
            raise ValueError("a gate member needs its backbone's ImageNet head (a package backbone)")
        ens = Ensemble(members, temperature, gate,
                       str(meta.get("name") or path.stem), dict(meta.get("metrics") or {}),
                       dict(meta.get("provenance") or {}), path, _weights(meta, len(members)), gate_members)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise ArtifactError(f"{path.name} has incomplete ensemble metadata ({e})") from None
    if any(m.classes != members[0].classes for m in members):
        raise ArtifactError(f"{path.name}: the ensemble's members do not share their classes")
    return ens


def _weights(meta: dict, n: int) -> list[float] | None:
    """The manifest's member weights normalised to sum 1 (None: equal); refused unless one positive number each,
    none under a millionth of the total (a member that does not count), and only in format 2 or later (an older
    app reading a format-1 file would ignore them and answer differently)."""
    raw = meta.get("weights")
    if raw is None:
        return None
    if int(meta.get("format_version", 0)) < 2:
        raise ValueError("weights need ensemble format 2")
    if not isinstance(raw, list) or len(raw) != n:
        raise ValueError(f"weights must be a list of {n} numbers, one per member")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw):
        raise ValueError("weights must be numbers")
    total = sum(float(x) for x in raw)  # (not fsum: it raises on overflow; float() of a huge int raises too)
    w = [x / total for x in raw] if math.isfinite(total) and total > 0 else []
    if len(w) != n or not all(math.isfinite(x) and x >= 1e-6 for x in w):
        raise ValueError("weights must be positive finite numbers, each at least a millionth of their sum")
    return w


def member_paths(path: Path) -> list[Path]:
    """The member artifact files an ensemble manifest names, gate members last, checked as `load_manifest` checks
    them."""
    path = resolve_model_path(path)
    try:
        meta = _read_manifest(path)
        return _members(path, meta) + _gate_members(path, meta)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        raise ArtifactError(f"{path.name} has incomplete ensemble metadata ({e})") from None


def _read_manifest(path: Path) -> dict:
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ArtifactError(f"{path.name} is too large to be an ensemble manifest")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ArtifactError(f"{path.name} is not a readable ensemble manifest ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != ENSEMBLE_FORMAT:
        raise ArtifactError(f"{path.name} is a JSON file but not a Dog Breed Studio ensemble")
    return meta


def _members(path: Path, meta: dict) -> list[Path]:
    if int(meta.get("format_version", 0)) > ENSEMBLE_VERSION:
        raise ArtifactError(f"{path.name} has a newer ensemble format; update Dog Breed Studio")
    names = meta["members"]
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_MEMBERS:
        raise ArtifactError(f"{path.name}: an ensemble needs 1 to {MAX_MEMBERS} members")
    return [_member_path(path, n) for n in names]


def _gate_members(path: Path, meta: dict) -> list[Path]:
    names = meta.get("gate_members", [])
    if names and int(meta.get("format_version", 0)) < 3:
        raise ValueError("gate members need ensemble format 3")
    if not isinstance(names, list) or len(names) + len(meta["members"]) > MAX_MEMBERS:
        raise ArtifactError(f"{path.name}: gate members must be a list, at most {MAX_MEMBERS} members in all")
    return [_member_path(path, n) for n in names]


def _member_path(manifest: Path, name) -> Path:
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ArtifactError(f"{manifest.name}: member {name!r} must be a file name in the manifest's folder")
    return manifest.parent / name
