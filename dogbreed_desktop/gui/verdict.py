"""Turning a verdict into words: ranking, the verdict line and the list's headline. Plain Python. The verdict
itself ("breed", "unsure", "not_a_dog" or "unknown_breed") is decided once, in the core
(`core.predict.gate.decide`), and only shown here."""

from __future__ import annotations

from typing import Sequence

from ..core.predict.gate import BREED, NOT_A_DOG, UNKNOWN_BREED


def ranked(probabilities: Sequence[float], k: int | None = None) -> list[int]:
    """Class indices, most probable first (ties keep class order, as torch.topk does on CPU)."""
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    return order if k is None else order[: max(1, k)]


def is_sure(verdict: str) -> bool:
    return verdict == BREED


def no_dog_line(looks_like: str | None) -> str:
    return f"No dog found - looks more like {article(looks_like)}" if looks_like else "No dog found"


def unknown_breed_line(looks_like: str | None) -> str:
    return ("A dog, but not a breed I know" + (f" - looks like {article(looks_like)}" if looks_like else ""))


def article(name: str) -> str:
    """'a tabby cat', 'an analog clock': ImageNet names are common nouns, a few plural or proper."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def verdict_line(probabilities: Sequence[float], names: Sequence[str], verdict: str,
                 looks_like: str | None = None) -> str:
    """'Golden retriever, 92% sure', 'Not sure: maybe Golden retriever (41%) or Labrador retriever (30%)', or
    'No dog found - looks more like a tabby cat', or 'A dog, but not a breed I know - looks like a Dalmatian'."""
    if verdict == NOT_A_DOG:
        return no_dog_line(looks_like)
    if verdict == UNKNOWN_BREED:
        return unknown_breed_line(looks_like)
    first, second = (ranked(probabilities, 2) + [None])[:2]
    p1 = probabilities[first]
    if is_sure(verdict):
        return f"{names[first]}, {percent(p1)} sure"
    if second is None:
        return f"Not sure: maybe {names[first]} ({percent(p1)})"
    return f"Not sure: maybe {names[first]} ({percent(p1)}) or {names[second]} ({percent(probabilities[second])})"


def headline(probabilities: Sequence[float], names: Sequence[str], verdict: str,
             looks_like: str | None = None) -> tuple[str, str]:
    """The list row's breed and percentage: ('Pug', '91%'), ('Maybe Siberian Husky', '44%') when unsure, or
    ('No dog - a tabby cat?', '') when the gate says there is no dog, ('Unknown breed - a Dalmatian?', '') for
    a dog of a breed outside the model's classes."""
    if verdict == NOT_A_DOG:
        return (f"No dog - {article(looks_like)}?" if looks_like else "No dog found"), ""
    if verdict == UNKNOWN_BREED:
        return (f"Unknown breed - {article(looks_like)}?" if looks_like else "Unknown breed"), ""
    first = ranked(probabilities, 1)[0]
    name = names[first] if is_sure(verdict) else f"Maybe {names[first]}"
    return name, percent(probabilities[first])


def percent(p: float) -> str:
    """92%, 7.4%, <0.1%, >99.9%: whole percents where the decimals are noise."""
    if 0 < p < 0.001:
        return "<0.1%"
    if p > 0.999:
        return ">99.9%"
    return f"{p:.0%}" if 0.1 <= p < 0.995 else f"{p:.1%}"
