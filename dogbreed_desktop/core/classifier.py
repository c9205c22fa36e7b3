"""Photos in, breed probabilities out: the one prediction path the GUI, the CLI and evaluation share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence, Union

import torch
from PIL import Image
from torch import nn

from . import backbones, threads
from .artifact import ArtifactError, ModelArtifact, load_artifact
from .breeds import readable_name
from .control import Control
from .devices import describe_device, resolve_device
from .heads import linear_head
from .imagetypes import walk_files
from .precision import Precision
from .preprocess import ImageError, ImageSource, is_image_path, normalize, prepare_ahead


@dataclass(frozen=True)
class BreedScore:
    breed: str  # class id (Kaggle id for the 120 breeds)
    name: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    source: str
    probabilities: tuple[float, ...]  # in the model's class order
    top_k: tuple[BreedScore, ...]  # best first
    ok = True

    @property
    def breed(self) -> str:
        return self.top_k[0].breed

    @property
    def name(self) -> str:
        return self.top_k[0].name

    @property
    def probability(self) -> float:
        return self.top_k[0].probability


@dataclass(frozen=True)
class PredictionError:
    source: str
    error: str
    ok = False


Result = Union[Prediction, PredictionError]


class BreedNet(nn.Module):
    """Backbone features -> linear head. `forward` returns logits (before temperature)."""

    def __init__(self, backbone: nn.Module, head: nn.Linear):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_features(x))


def build_network(artifact: ModelArtifact) -> BreedNet:
    """The network an artifact describes, with its backbone weights found and checked."""
    source = artifact.backbone_weights.get("source")
    spec = backbones.backbone_spec(artifact.backbone)
    if source == "package":
        if artifact.backbone_weights.get("sha256") != spec.sha256:
            raise ArtifactError(
                f"model expects {spec.package} weights with sha256 {artifact.backbone_weights.get('sha256')}, "
                f"but this version of the app knows {spec.sha256}"
            )
        backbone = backbones.build_backbone(artifact.backbone, pretrained=True)
    elif source == "embedded":
        if not artifact.backbone_state:
            raise ArtifactError("model says its backbone weights are embedded, but the file holds none")
        backbone = backbones.build_backbone(artifact.backbone, pretrained=False)
        backbones.load_backbone_state(backbone, artifact.backbone_state)
    elif source == "torchvision":
        backbone = backbones.build_backbone(artifact.backbone, pretrained=True)
    else:
        raise ArtifactError(f"unknown backbone weight source {source!r}")
    return BreedNet(backbone, linear_head(artifact.head_weight, artifact.head_bias)).eval()


def collect_images(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded recursively to their image files (sorted). Missing paths, and
    sub-folders that cannot be listed, are kept so that prediction reports them per path."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files, unreadable = walk_files(p)
            found.extend(f for f in files if is_image_path(f))
            found.extend(folder for folder, _ in unreadable)
        else:
            found.append(p)
    return found


def _describe(source: ImageSource, index: int) -> str:
    if isinstance(source, Image.Image):
        return getattr(source, "filename", "") or f"<image {index + 1}>"
    return str(source)


class Classifier:
    def __init__(self, artifact: ModelArtifact, device: str = "cpu"):
        self.artifact = artifact
        self.device = resolve_device(device)
        self.classes = list(artifact.classes)
        self.class_names = [readable_name(c) for c in self.classes]
        self.preprocessing = artifact.preprocessing
        self.temperature = float(artifact.temperature) or 1.0
        # channels_last on the CPU only: faster depthwise convolutions there
        self.precision = Precision(self.device, channels_last=self.device.type == "cpu")
        self.net = self.precision.place(build_network(artifact))

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu") -> "Classifier":
        """The artifact at `path` (file or run folder), or the bundled default model."""
        if path is None:
            from ..paths import default_model_path

            path = default_model_path()
        return cls(load_artifact(path), device=device)

    @property
    def name(self) -> str:
        return self.artifact.name

    @property
    def device_description(self) -> str:
        return describe_device(self.device)

    @torch.inference_mode()
    def probabilities(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW batch -> (N, classes) probabilities on the CPU."""
        x = self.precision.to_device(normalize(batch, self.preprocessing))
        logits = self.net(x).float() / self.temperature
        return torch.softmax(logits, dim=1).cpu()

    def predict(self, inputs: Sequence[ImageSource], **kwargs) -> list[Result]:
        return list(self.iter_predict(inputs, **kwargs))

    def iter_predict(
        self,
        inputs: Iterable[ImageSource],
        *,
        top_k: int = 5,
        batch_size: int = 32,
        control: Control | None = None,
    ) -> Iterator[Result]:
        """One result per input, in input order, yielded a batch at a time. Stops early when asked."""
        inputs = list(inputs)
        k = max(1, min(int(top_k), len(self.classes)))
        pending: list[tuple[str, torch.Tensor | ImageError]] = []  # kept in input order, errors included
        images = done = 0
        for label, item in self._prepared(inputs, batch_size):
            pending.append((label, item))
            images += not isinstance(item, ImageError)
            if images == batch_size:
                if control and control.should_stop():
                    return
                yield from self._flush(pending, k)
                done += len(pending)
                pending, images = [], 0
                if control:
                    control.progress(done, len(inputs))
        if pending and not (control and control.should_stop()):
            yield from self._flush(pending, k)
            if control:
                control.progress(len(inputs), len(inputs))

    def predict_prepared(self, items: Sequence[tuple[str, torch.Tensor]], *, top_k: int = 5) -> list[Result]:
        """Results for images already turned into tensors by `preprocess.prepare`, as one batch: the web
        server decodes uploads in request threads and batches them itself."""
        k = max(1, min(int(top_k), len(self.classes)))
        return list(self._flush(list(items), k))

    def _flush(self, pending: list[tuple[str, torch.Tensor | ImageError]], k: int) -> Iterator[Result]:
        tensors = [t for _, t in pending if not isinstance(t, ImageError)]
        rows: Iterator = iter(())
        if tensors:
            probs = self.probabilities(torch.stack(tensors))
            top_p, top_i = probs.topk(k, dim=1)
            rows = zip(probs.tolist(), top_p.tolist(), top_i.tolist())
        for label, item in pending:
            if isinstance(item, ImageError):
                yield PredictionError(label, str(item))
                continue
            row, tp, ti = next(rows)
            scores = tuple(BreedScore(self.classes[i], self.class_names[i], p) for p, i in zip(tp, ti))
            yield Prediction(label, tuple(row), scores)

    def _prepared(self, inputs: list[ImageSource], batch_size: int) -> Iterator[tuple[str, torch.Tensor | ImageError]]:
        items = prepare_ahead(inputs, self.preprocessing, window=2 * batch_size, workers=threads.current().decode)
        return zip((_describe(source, i) for i, source in enumerate(inputs)), items)
