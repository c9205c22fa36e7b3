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
        a = clf.artifact
        return cls(clf.name, clf.device_description, str(a.path), a.backbone, tuple(clf.classes),
                   tuple(clf.class_names), dict(a.metrics), dict(a.provenance))


@dataclass(frozen=True)
class Verdict:
    """One photo's outcome: all class probabilities (model order), or the reason it could not be read."""

    path: str
    probabilities: tuple[float, ...] | None
    error: str = ""
    thumbnail: QImage | None = None

    @property
    def ok(self) -> bool:
        return self.probabilities is not None
