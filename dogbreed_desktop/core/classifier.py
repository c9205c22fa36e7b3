"""Photos in, breed probabilities out: the one prediction path the GUI, the CLI and evaluation share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence, Union

import torch
from PIL import Image
from torch import nn

from . import backbones, threads
from .artifact import ArtifactError, ModelArtifact
from .breeds import readable_name
from .control import Control
from .devices import describe_device, resolve_device
from .ensemble import Ensemble, load_model
from .gate import BREED, NOT_A_DOG, Gate, decide, gate_applies, looks_like
from .heads import linear_head
from .imagetypes import walk_files
from .precision import Precision
from .preprocess import (ImageError, ImageSource, is_image_path, load_ahead, load_image, normalize, prepare,
                         resize_and_crop, to_uint8_tensor)


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
    dog_probability: float | None = None  # None: the model has no "not a dog" gate
    verdict: str = BREED  # "breed", "unsure" or "not_a_dog" (core.gate)
    looks_like: str | None = None  # for "not_a_dog": the closest ImageNet class, e.g. "tabby cat"
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

    def forward(self, x: torch.Tensor, imagenet: bool = False):
        """Breed logits; with `imagenet`, (breed logits, ImageNet logits) from one pass: the ImageNet head feeds
        the "not a dog" gate."""
        f = self.backbone.forward_features(x)
        return (self.head(f), self.backbone.imagenet_fc(f)) if imagenet else self.head(f)

    def both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self(x, imagenet=True)


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


def imagenet_head_available(artifact: ModelArtifact) -> bool:
    """A fine-tuned (embedded) backbone stores no ImageNet head; the package's original one, frozen, is loaded
    onto it (`backbones.original_imagenet_fc`). Without it there is no gate."""
    if artifact.backbone_weights.get("source") != "embedded":
        return True
    return backbones.backbone_spec(artifact.backbone).offline


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
    """One model artifact or an ensemble (`core.ensemble`): members' breed logits are averaged (each member's
    over the photo and its mirror image when the member says `test_time_mirror`), divided by the temperature
    and softmaxed; their ImageNet logits, averaged the same way, feed the gate."""

    def __init__(self, model: ModelArtifact | Ensemble, device: str = "cpu"):
        self.model = model if isinstance(model, Ensemble) else Ensemble.single(model)
        self.artifact = self.model.members[0]
        self.device = resolve_device(device)
        self.classes = list(self.artifact.classes)
        self.class_names = [readable_name(c) for c in self.classes]
        self.preprocessings = list(dict.fromkeys(a.preprocessing for a in self.model.members))
        self.preprocessing = self.preprocessings[0]
        self.temperature = float(self.model.temperature) or 1.0
        # channels_last on the CPU only: faster depthwise convolutions there
        self.precision = Precision(self.device, channels_last=self.device.type == "cpu")
        self.nets = []
        for a in self.model.members:
            net = build_network(a)
            if a.backbone_weights.get("source") == "embedded" and imagenet_head_available(a):
                net.backbone.imagenet_fc.load_state_dict(backbones.original_imagenet_fc(a.backbone))
            net = self.precision.place(net)
            self.nets.append((net, self.preprocessings.index(a.preprocessing), bool(a.test_time_mirror)))
        self.net = self.nets[0][0]
        usable = self.model.gate is not None and gate_applies(self.classes)
        usable = usable and all(imagenet_head_available(a) for a in self.model.members)
        self.gate = Gate.from_dict(self.model.gate) if usable else None

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "cpu") -> "Classifier":
        """The model at `path` (artifact, run folder, ensemble manifest, or a built-in name such as "fast"),
        or the default built-in model."""
        from ..paths import builtin_model_path

        return cls(load_model(builtin_model_path(path)), device=device)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def path(self) -> Path | None:
        return self.model.path

    @property
    def metrics(self) -> dict:
        return self.model.metrics

    @property
    def device_description(self) -> str:
        return describe_device(self.device)

    @torch.inference_mode()
    def logits(self, batches: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 NCHW batches (one per preprocessing) -> averaged (breed logits, ImageNet logits) on the CPU,
        before the temperature."""
        breed = imagenet = None
        for net, which, mirror in self.nets:
            x = normalize(batches[which], self.preprocessings[which])
            if mirror:
                x = torch.cat([x, x.flip(3)])
            x = self.precision.to_device(x)
            b, i = (t.float() for t in net(x, imagenet=True))
            if mirror:
                n = len(b) // 2
                b, i = (b[:n] + b[n:]) / 2, (i[:n] + i[n:]) / 2
            breed = b if breed is None else breed + b
            imagenet = i if imagenet is None else imagenet + i
        return (breed / len(self.nets)).cpu(), (imagenet / len(self.nets)).cpu()

    def probabilities(self, batch: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """uint8 NCHW batch (or one per preprocessing) -> (N, classes) probabilities on the CPU."""
        batches = [batch] if isinstance(batch, torch.Tensor) else batch
        return torch.softmax(self.logits(batches)[0] / self.temperature, dim=1)

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
        pending: list[tuple[str, tuple | ImageError]] = []  # kept in input order, errors included
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
        """Results for images already turned into tensors by `preprocess.prepare` (with `self.preprocessing`),
        as one batch: the web server decodes uploads in request threads and batches them itself. An ensemble
        whose members crop to other sizes gets the tensor resized for them (close to, not exactly, what
        decoding for each would give)."""
        k = max(1, min(int(top_k), len(self.classes)))
        return list(self._flush([(label, self._per_member(t)) for label, t in items], k))

    def _per_member(self, t):
        if isinstance(t, ImageError) or isinstance(t, tuple):
            return t
        out = []
        for p in self.preprocessings:
            if t.shape[-1] == p.crop and t.shape[-2] == p.crop:
                out.append(t)
            else:
                x = torch.nn.functional.interpolate(t[None].float(), size=(p.crop, p.crop), mode="bilinear",
                                                    antialias=True, align_corners=False)
                out.append(x[0].round().clamp(0, 255).to(torch.uint8))
        return tuple(out)

    def _flush(self, pending: list[tuple[str, tuple | ImageError]], k: int) -> Iterator[Result]:
        tensors = [t for _, t in pending if not isinstance(t, ImageError)]
        rows: Iterator = iter(())
        if tensors:
            breed, imagenet = self.logits([torch.stack(ts) for ts in zip(*tensors)])
            probs = torch.softmax(breed / self.temperature, dim=1)
            top_p, top_i = probs.topk(k, dim=1)
            dog = self.gate.dog_probability(imagenet).tolist() if self.gate else [None] * len(probs)
            alike = looks_like(imagenet)
            rows = zip(probs.tolist(), top_p.tolist(), top_i.tolist(), dog, alike)
        for label, item in pending:
            if isinstance(item, ImageError):
                yield PredictionError(label, str(item))
                continue
            row, tp, ti, dog_p, alike = next(rows)
            scores = tuple(BreedScore(self.classes[i], self.class_names[i], p) for p, i in zip(tp, ti))
            verdict = decide(tp[0], dog_p, self.gate)
            yield Prediction(label, tuple(row), scores, dog_p, verdict, alike if verdict == NOT_A_DOG else None)

    def _prepared(self, inputs: list[ImageSource], batch_size: int) -> Iterator[tuple[str, tuple | ImageError]]:
        items = load_ahead(inputs, self._load, window=2 * batch_size, workers=threads.current().decode)
        return zip((_describe(source, i) for i, source in enumerate(inputs)), items)

    def _load(self, source: ImageSource) -> tuple[torch.Tensor, ...]:
        """Decode once, then resize and crop for each member's preprocessing."""
        if len(self.preprocessings) == 1:
            return (prepare(source, self.preprocessing),)
        img = load_image(source, draft=max(p.resize for p in self.preprocessings))
        return tuple(to_uint8_tensor(resize_and_crop(img, p)) for p in self.preprocessings)
