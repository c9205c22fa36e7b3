"""The one contract for a photo's answer: `predict --json`, `predict --format csv`, the window's CSV export,
`/v1/predict` and the original API all write a `Prediction` through `answer`; the competition's submission file
(`predict --format kaggle`) through `kaggle_row`.

    {"verdict": "breed" | "unsure" | "not_a_dog" | "unknown_breed",
     "breed": id | null, "name": str | null, "probability": p | null,  # null unless the verdict names a breed
     "dog_probability": p | null,  # null for a model without the "not a dog" gate
     "looks_like": str | null,     # not_a_dog: what it looks like; unknown_breed: the dog it looks like
     "top_k": [{"breed", "name", "probability"}, ...],  # the nearest breeds, best first, whatever the verdict
     "probabilities": [p, ...]}    # every class in the model's order, only when asked (unrounded)

A photo that could not be read is `{"error": message}`. Probabilities are rounded to 6 decimals, except the
full `probabilities` row, which stays exact so that nothing computed from it (log-probabilities, a
submission's rows) loses its small values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..breeds import BREED_IDS, find_breed
from ..errors import UserError
from .gate import BREED, UNSURE

if TYPE_CHECKING:  # the classifier's module loads the engine: not needed to write an answer (the window's export)
    from .classifier import BreedScore, Prediction, Result

NAMES_A_BREED = (BREED, UNSURE)  # the verdicts whose `breed` is the answer, not only the nearest known one
DIGITS = 6
FIELDS = ("verdict", "breed", "name", "probability", "dog_probability", "looks_like")


def _round(p: float | None) -> float | None:
    return None if p is None else round(float(p), DIGITS)


def answer(r: Result, *, probabilities: bool = False) -> dict:
    """One photo's answer as JSON-ready values (the module's docstring has the contract)."""
    if not r.ok:
        return {"error": r.error}
    named = r.verdict in NAMES_A_BREED
    out = {"verdict": r.verdict, "breed": r.breed if named else None, "name": r.name if named else None,
           "probability": _round(r.probability) if named else None,
           "dog_probability": _round(r.dog_probability), "looks_like": r.looks_like,
           "top_k": [{"breed": s.breed, "name": s.name, "probability": _round(s.probability)} for s in r.top_k]}
    if probabilities:
        out["probabilities"] = [float(p) for p in r.probabilities]
    return out


def top_scores(probabilities: Sequence[float], classes: Sequence[str], names: Sequence[str],
               k: int) -> tuple[BreedScore, ...]:
    """The `k` most probable classes, best first, ties in class order (as the classifier ranks them)."""
    from .classifier import BreedScore

    order = np.argsort(-np.asarray(probabilities, dtype=np.float64), kind="stable")[: max(1, k)]
    return tuple(BreedScore(classes[i], names[i], float(probabilities[i])) for i in order)


# The CSV is the JSON contract flattened: its fields, then breed_i, name_i, probability_i of `top_k`.
def csv_header(k: int) -> list[str]:
    cols = ["path", "error", *FIELDS]
    for i in range(1, k + 1):
        cols += [f"breed_{i}", f"name_{i}", f"probability_{i}"]
    return cols


def csv_row(source: str, a: dict, k: int) -> list[str]:
    """`answer(...)` of the photo at `source` as a row under `csv_header(k)` (empty cells for nulls)."""
    row = [source, a.get("error", "")] + [_cell(a.get(f)) for f in FIELDS]
    for s in a.get("top_k", [])[:k]:
        row += [s["breed"], s["name"], _cell(s["probability"])]
    return row + [""] * (len(csv_header(k)) - len(row))


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.6f}" if isinstance(value, float) else str(value)


# The Dog Breed Identification competition's submission: `id` (the photo's file stem), then the probability of
# each of the 120 breeds, columns in alphabetical order of their ids, each row summing to 1.
KAGGLE_COLUMNS = tuple(sorted(BREED_IDS))


def kaggle_header() -> list[str]:
    return ["id", *KAGGLE_COLUMNS]


def kaggle_order(classes: Sequence[str]) -> list[int]:
    """For each submission column, the model's class index. UserError for a model of other classes."""
    where = {}
    for i, c in enumerate(classes):
        b = find_breed(c)
        if b is not None:
            where.setdefault(b.id, i)
    missing = [b for b in KAGGLE_COLUMNS if b not in where]
    if missing or len(classes) != len(KAGGLE_COLUMNS):
        raise UserError(f"a Kaggle submission needs a model of the competition's 120 breeds; this one has "
                        f"{len(classes)} classes" + (f" and lacks {missing[0]}" if missing else ""))
    return [where[b] for b in KAGGLE_COLUMNS]


def kaggle_row(stem: str, p: Prediction, order: Sequence[int]) -> list[str]:
    """One submission row: the stem, then the 120 probabilities in full precision, renormalised in float64 so
    that the row sums to 1 within float rounding."""
    row = np.asarray(p.probabilities, dtype=np.float64)[list(order)]
    row = row / row.sum()
    return [stem, *map(repr, row.tolist())]
