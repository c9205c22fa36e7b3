"""Photos in, breed probabilities out: the one prediction path the GUI, the CLI and evaluation share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence, Union

import numpy as np
from PIL import Image

from .. import threads
from ..model.artifact import ModelArtifact, imagenet_head_available
from ..breeds import find_breed, readable_name
from ..control import Control
from ..engine.engine import Engine, open_engine
from ..model.ensemble import Ensemble
from .gate import BREED, NOT_A_DOG, UNKNOWN_BREED, Gate, decide, gate_applies, looks_like, outside_dogs
from ..imagetypes import walk_files
from .preprocess import (ImageError, ImageSource, is_image_path, load_ahead, load_image, normalize, prepare,
                         resize_and_crop, to_uint8_array)


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
    verdict: str = BREED  # "breed", "unsure", "not_a_dog" or "unknown_breed" (core.predict.gate)
    # for "not_a_dog": the closest ImageNet class ("tabby cat"); for "unknown_breed": the dog it most likely is
    # among ImageNet's dogs outside the model's classes ("Dalmatian")
    looks_like: str | None = None
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


@dataclass(frozen=True)
class Member:
    """One model of an ensemble as the classifier runs it: its head and how its input is made."""

    artifact: ModelArtifact
    prep: int  # index into Classifier.preprocessings
    mirror: bool  # average the photo with its mirror image
    weight: np.ndarray  # (classes, features) float32
    bias: np.ndarray


class Classifier:
    """One model artifact or an ensemble (`core.model.ensemble`) on an inference engine (`core.engine.engine`): members'
    breed logits are averaged (each member's over the photo and its mirror image when the member says
    `test_time_mirror`), divided by the temperature and softmaxed; their ImageNet logits, averaged the same
    way, feed the gate (with an ensemble's gate members' for the photos inside the gate's band). The engine runs
    backbones only; everything after the pooled features is numpy here."""

    mirror_below = 0.95  # photos at least this sure after one view skip the mirror view (see `logits`)

    def __init__(self, model: ModelArtifact | Ensemble, device: str = "auto", engine: str | Engine | None = None):
        self.model = model if isinstance(model, Ensemble) else Ensemble.single(model)
        self.artifact = self.model.members[0]
        self.classes = list(self.artifact.classes)
        self.class_names = [readable_name(c) for c in self.classes]
        self.preprocessings = list(dict.fromkeys(a.preprocessing for a in self.model.members))
        self.preprocessing = self.preprocessings[0]
        self.temperature = float(self.model.temperature) or 1.0
        # An ensemble's member weights are folded into the heads (the heads are linear), so the mean in
        # `_combine` is the weighted one. (A heatmap normalises each member's map, and weights them itself.)
        self.members = [Member(a, self.preprocessings.index(a.preprocessing), bool(a.test_time_mirror),
                               np.ascontiguousarray(a.head_weight.T * s, dtype=np.float32),
                               np.asarray(a.head_bias * s, dtype=np.float32))
                        for a, s in zip(self.model.members, self.model.head_scales)]
        usable = self.model.gate is not None and gate_applies(self.classes)
        usable = usable and all(imagenet_head_available(a) for a in self.model.members + self.model.gate_members)
        self.gate = Gate.from_dict(self.model.gate) if usable else None
        self.gate_members = list(self.model.gate_members) if self.gate else []  # they serve the gate only
        # gate members' pictures are made for every photo (a resize from the one decode): which photos need them
        # is known only after the members have run
        self.preprocessings += [p for p in dict.fromkeys(a.preprocessing for a in self.gate_members)
                                if p not in self.preprocessings]
        self.engine = engine if engine is not None and not isinstance(engine, str) else \
            open_engine(self.model.members + self.gate_members, device, engine)
        # ImageNet rows of the model's own classes: a dog on the other dog rows is a breed it does not know
        self.known_rows = [find_breed(c).imagenet_index for c in self.classes] if self.gate else []

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "auto", engine: str | None = None) -> "Classifier":
        """The model at `path` (artifact, run folder, ensemble manifest, or a built-in name such as "fast"),
        or the default built-in model (`core.model.models`)."""
        from ..model.models import load_model

        return cls(load_model(path), device=device, engine=engine)

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
        return self.engine.description

    def logits(self, batches: Sequence[np.ndarray], gate: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """uint8 NCHW batches (one per preprocessing) -> averaged (breed logits, ImageNet logits), before the
        temperature.

        Mirror views are adaptive: every photo runs once; the members that use their mirror image run it only for
        the photos the first view left under `mirror_below` sure. The mirror changes the answer of a photo the
        model is already that sure of by a hair, and most photos are (benchmarks/results/bench_mirror.md: top-1,
        ECE and the gate's rates unchanged), so a folder costs about 1.3 forwards a photo instead of 2. (The breeds
        never depend on gate members, so an exported graph, which has none, gives the same probabilities.)
        `gate=False`: only the breeds are wanted, so gate members never run (the ImageNet logits are the members')."""
        xs = [normalize(batches[m.prep], self.preprocessings[m.prep]) for m in self.members]
        outs = [self.engine.run(i, x) for i, x in enumerate(xs)]
        feats, nets = [o.features for o in outs], [o.imagenet for o in outs]
        if any(m.mirror for m in self.members):
            p = softmax(self._combine(feats, nets)[0] / self.temperature)
            rows = np.flatnonzero(p.max(axis=1) < self.mirror_below)
            for i, m in enumerate(self.members):
                if m.mirror and len(rows):
                    # the heads are linear: the logits of the mean of two views are the mean of their logits
                    out = self.engine.run(i, xs[i][rows][..., ::-1])
                    feats[i][rows] = (feats[i][rows] + out.features) / 2
                    nets[i][rows] = (nets[i][rows] + out.imagenet) / 2
        breed, imagenet = self._combine(feats, nets)
        if gate and self.gate_members and self.gate is not None:
            imagenet = self._second_look(batches, imagenet)
        return breed, imagenet

    def _second_look(self, batches: Sequence[np.ndarray], imagenet: np.ndarray) -> np.ndarray:
        """The members' ImageNet logits with the gate members' averaged in (each over its photo and mirror image
        when it says `test_time_mirror`), for the photos inside the gate's band only; the rest keep the members'
        own. What the gate of an ensemble with gate members reads."""
        rows = self.gate.undecided(imagenet)
        if not len(rows):
            return imagenet
        n = len(self.members)
        total = imagenet[rows] * n
        for j, a in enumerate(self.gate_members):
            x = normalize(batches[self.preprocessings.index(a.preprocessing)][rows], a.preprocessing)
            seen = self.engine.run(n + j, x).imagenet
            if a.test_time_mirror:
                seen = (seen + self.engine.run(n + j, x[..., ::-1]).imagenet) / 2
            total = total + seen
        imagenet = imagenet.copy()
        imagenet[rows] = total / (n + len(self.gate_members))
        return imagenet

    def _combine(self, feats: list[np.ndarray], nets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        breed = sum(f @ m.weight + m.bias for f, m in zip(feats, self.members)) / len(self.members)
        return breed, sum(nets) / len(self.members)

    def probabilities(self, batches: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 NCHW batches (one per preprocessing, see `prepare`) -> (N, classes) probabilities."""
        return softmax(self.logits(batches, gate=False)[0] / self.temperature)

    def prepare(self, source: ImageSource) -> tuple[np.ndarray, ...]:
        """Decode once, then resize and crop for each preprocessing: what `predict_prepared` and
        `probabilities` take (stacked). Raises ImageError for a file that cannot be read."""
        if len(self.preprocessings) == 1:
            return (prepare(source, self.preprocessing),)
        return self.prepare_decoded(self.decode(source))

    def decode(self, source: ImageSource) -> Image.Image:
        """The picture, upright, decoded at the least scale every preprocessing needs (ImageError if broken):
        for a caller that makes something else from the same decode (the window's thumbnails)."""
        return load_image(source, draft=max(p.resize for p in self.preprocessings))

    def prepare_decoded(self, img: Image.Image) -> tuple[np.ndarray, ...]:
        """`prepare` of a picture already decoded by `decode`."""
        return tuple(to_uint8_array(resize_and_crop(img, p)) for p in self.preprocessings)

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
        decoded = load_ahead(inputs, self.prepare, window=2 * batch_size, workers=threads.current().decode)
        for label, item in zip((_describe(source, i) for i, source in enumerate(inputs)), decoded):
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

    def predict_prepared(self, items: Sequence[tuple[str, tuple]], *, top_k: int = 5) -> list[Result]:
        """Results for photos already decoded by `prepare`, as one batch: the web server decodes uploads in
        request threads and batches them itself. Same arithmetic as `predict`, so the same answers."""
        k = max(1, min(int(top_k), len(self.classes)))
        return list(self._flush(list(items), k))

    def _flush(self, pending: list[tuple[str, tuple | ImageError]], k: int) -> Iterator[Result]:
        arrays = [t for _, t in pending if not isinstance(t, ImageError)]
        rows: Iterator = iter(())
        if arrays:
            breed, imagenet = self.logits([np.stack(ts) for ts in zip(*arrays)])
            probs = softmax(breed / self.temperature)
            top_i = np.argsort(-probs, axis=1, kind="stable")[:, :k]
            top_p = np.take_along_axis(probs, top_i, axis=1)
            dog = self.gate.dog_probability(imagenet).tolist() if self.gate else [None] * len(probs)
            alike = looks_like(imagenet)
            outside, dog_alike = [None] * len(probs), [None] * len(probs)
            if self.gate:
                outside, dog_alike = outside_dogs(imagenet, self.known_rows)
            rows = zip(probs.tolist(), top_p.tolist(), top_i.tolist(), dog, alike, list(outside), dog_alike)
        for label, item in pending:
            if isinstance(item, ImageError):
                yield PredictionError(label, str(item))
                continue
            row, tp, ti, dog_p, alike, share, dog_alike = next(rows)
            scores = tuple(BreedScore(self.classes[i], self.class_names[i], p) for p, i in zip(tp, ti))
            verdict = decide(tp[0], dog_p, self.gate, share)
            seen = {NOT_A_DOG: alike, UNKNOWN_BREED: dog_alike}.get(verdict)
            yield Prediction(label, tuple(row), scores, dog_p, verdict, seen)


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

