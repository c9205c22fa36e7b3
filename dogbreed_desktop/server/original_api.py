"""The original project's endpoint, `POST /api/predictImage`, answered exactly as its React front end reads it.

The original answer is `{"prediction": <int>, "results": [[<log-probabilities>]]}`: `prediction` indexes the
original project's class order (shipped here as `original_breeds.json`, the names of its `DogBreedMap.json`),
and `results` is a batch of one row in that same order. Our models list the breeds in ImageNet order, so the
order is mapped once per loaded model from its class ids. A model trained on other classes answers in its own
class order; `/v1/model` says which (`predict_image`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional, Sequence

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from ..core.breeds import find_breed
from ..core.predict.answers import answer

ORDER_FILE = Path(__file__).resolve().parent / "original_breeds.json"
# float32 probabilities can underflow to 0; JSON has no -Infinity, so the row's floor is log(smallest normal).
_LOG_FLOOR = math.log(1.1754944e-38)


def original_names() -> list[str]:
    """The original project's 120 class names, index by index (its DogBreedMap.json's values, in key order)."""
    return json.loads(ORDER_FILE.read_text("utf-8"))


@dataclass(frozen=True)
class AnswerOrder:
    """Where each of a model's classes goes in the original-shaped answer."""

    kind: str  # "original": DogBreedMap.json's order; "model": the model's own class order
    model_index: tuple[int, ...]  # answer position -> the model's class index
    names: tuple[str, ...]  # answer position -> readable name

    @classmethod
    def for_classes(cls, classes: Sequence[str], class_names: Sequence[str]) -> "AnswerOrder":
        """DogBreedMap.json's order when `classes` are exactly the 120 breeds (any order, any of their aliases),
        else the model's own."""
        names = original_names()
        where: dict[str, int] = {}
        for i, c in enumerate(classes):
            b = find_breed(c)
            if b is None or b.id in where:
                break
            where[b.id] = i
        else:
            ids = [getattr(find_breed(n), "id", None) for n in names]
            if len(where) == len(names) and set(ids) == set(where):
                return cls("original", tuple(where[i] for i in ids), tuple(names))
        return cls("model", tuple(range(len(classes))), tuple(class_names))

    def describe(self) -> dict:
        return {"order": self.kind, "classes": list(self.names)}

    def answer(self, p) -> dict:
        """One core `Prediction` as the original answer, plus our verdict fields (the original client ignores
        them), all from the one serialiser (`core.predict.answers`). No dog, or a dog of a breed the model does
        not know: `prediction` is null as `breed` is, so the client shows its own failure message, not a made-up
        breed."""
        a = answer(p, probabilities=True)
        probs = a["probabilities"]
        row = [math.log(probs[i]) if probs[i] > 0 else _LOG_FLOOR for i in self.model_index]
        best = max(range(len(row)), key=row.__getitem__)  # the top-1 breed; ties go to the first, like argmax
        return {"prediction": None if a["breed"] is None else best, "results": [row],
                **{k: a[k] for k in ("breed", "name", "probability", "verdict", "dog_probability", "looks_like")}}


class OriginalAnswer(BaseModel):
    """The original project's answer; the fields after `results` are ours."""

    prediction: Optional[int] = Field(description="index of the breed in the order of `/v1/model`'s "
                                      "`predict_image.classes` (DogBreedMap.json's for the 120 breeds); "
                                      "null when the photo shows no dog or a breed outside the classes")
    results: list[list[float]] = Field(min_length=1, max_length=1, description="one row (a batch of one): "
                                       "log-probability (log-softmax) of every class in that order; "
                                       "`results[0][prediction]` is the largest")
    breed: Optional[str] = Field(description="the breed's class id (Kaggle id), null when `prediction` is")
    name: Optional[str] = Field(description="the breed's readable name, null when `prediction` is")
    probability: Optional[float] = Field(description="its probability, null when `prediction` is")
    verdict: str = Field(description='"breed", "unsure", "not_a_dog" or "unknown_breed"')
    dog_probability: Optional[float] = Field(description="how sure the model is that there is a dog; "
                                             "null for a model without the not-a-dog check")
    looks_like: Optional[str] = Field(description='for "not_a_dog": what the photo looks like instead; for '
                                      '"unknown_breed": the dog it looks like ("Dalmatian")')


Classify = Callable[..., Awaitable[list]]  # (request, top_k, one_image=...) -> [(file name, Prediction)]


def add_routes(app: FastAPI, classify: Classify, order: AnswerOrder, **doc) -> None:
    """`POST /api/predictImage` (the original client's path) and `POST /predictImage`, the same answer."""

    async def predict_image(request: Request):
        """One photo (`multipart/form-data`, field `image`, as the original front end sends it; or the raw
        body). Answers the original project's `prediction` and `results`, then our verdict fields."""
        [(_, prediction)] = await classify(request, 1, one_image=True)
        return order.answer(prediction)

    for path in ("/api/predictImage", "/predictImage"):
        app.add_api_route(path, predict_image, methods=["POST"], response_model=OriginalAnswer,
                          summary="The original project's endpoint: one photo, its breed's index", **doc)
