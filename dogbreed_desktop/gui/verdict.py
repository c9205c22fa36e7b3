"""Turning probabilities into words: ranking, the verdict line and the unsure rule. Plain Python."""

from __future__ import annotations

from typing import Sequence

# Below this top probability the window says it is not sure instead of naming one breed.
UNSURE_BELOW = 0.5


def ranked(probabilities: Sequence[float], k: int | None = None) -> list[int]:
    """Class indices, most probable first (ties keep class order, as torch.topk does on CPU)."""
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    return order if k is None else order[: max(1, k)]


def is_sure(probabilities: Sequence[float]) -> bool:
    return max(probabilities) >= UNSURE_BELOW


def verdict_line(probabilities: Sequence[float], names: Sequence[str]) -> str:
    """'Golden retriever, 92% sure' or 'Not sure: maybe Golden retriever (41%) or Labrador retriever (30%)'."""
    first, second = (ranked(probabilities, 2) + [None])[:2]
    p1 = probabilities[first]
    if p1 >= UNSURE_BELOW:
        return f"{names[first]}, {percent(p1)} sure"
    if second is None:
        return f"Not sure: maybe {names[first]} ({percent(p1)})"
    return f"Not sure: maybe {names[first]} ({percent(p1)}) or {names[second]} ({percent(probabilities[second])})"


def headline(probabilities: Sequence[float], names: Sequence[str]) -> tuple[str, str]:
    """The list row's breed and percentage: ('Pug', '91%'), or ('Maybe Siberian Husky', '44%') when unsure."""
    first = ranked(probabilities, 1)[0]
    name = names[first] if is_sure(probabilities) else f"Maybe {names[first]}"
    return name, percent(probabilities[first])


def percent(p: float) -> str:
    """92%, 7.4%, <0.1%, >99.9%: whole percents where the decimals are noise."""
    if 0 < p < 0.001:
        return "<0.1%"
    if p > 0.999:
        return ">99.9%"
    return f"{p:.0%}" if 0.1 <= p < 0.995 else f"{p:.1%}"
