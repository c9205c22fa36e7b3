"""Plain data that crosses from the worker threads to the window (no widgets, no QPixmap)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QImage


@dataclass(frozen=True)
class ModelInfo:
    name: str
    device: str
    path: str
    backbone: str
    classes: tuple[str, ...]
    class_names: tuple[str, ...]
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @classmethod
    def from_classifier(cls, clf) -> "ModelInfo":
        a = clf.artifact  # an ensemble's first member: its name, path and metrics are the ensemble's own
        return cls(clf.name, clf.device_description, str(clf.path), a.backbone, tuple(clf.classes),
                   tuple(clf.class_names), dict(clf.metrics), dict(clf.model.provenance))


@dataclass(frozen=True)
class Verdict:
    """One photo's outcome: all class probabilities (model order), or the reason it could not be read."""

    path: str
    probabilities: tuple[float, ...] | None
    error: str = ""
    thumbnail: QImage | None = None
    verdict: str = "breed"  # core.predict.gate: "breed", "unsure" or "not_a_dog"
    looks_like: str | None = None  # for "not_a_dog": the closest ImageNet class
    dog_probability: float | None = None

    @classmethod
    def from_result(cls, r, thumbnail: QImage | None = None) -> "Verdict":
        """A core Prediction or PredictionError as plain data for the window."""
        return cls(r.source, getattr(r, "probabilities", None), getattr(r, "error", ""), thumbnail,
                   getattr(r, "verdict", "breed"), getattr(r, "looks_like", None), getattr(r, "dog_probability", None))

    @property
    def ok(self) -> bool:
        return self.probabilities is not None
