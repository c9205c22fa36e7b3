"""The built-in models' gate, fitted from cached ImageNet logits: the "not a dog" threshold and the share of
dog mass on dogs outside the 120 breeds above which a dog is an "unknown breed" (core.predict.gate)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from dogbreed_desktop.core.breeds import IMAGENET_INDICES
from dogbreed_desktop.core.predict.gate import UNKNOWN_BREED, Gate, decide, dog_mass_logit, outside_dogs

MAX_DOGS_REJECTED_TUNE = 0.004  # threshold rule on calibration dogs, leaving room for the 1% target on test
MAX_DOGS_UNKNOWN_TUNE = 0.004  # the same for "unknown breed": at most this share of calibration dogs


def fit_gate(calib_imagenet: torch.Tensor, tune_imagenet: torch.Tensor) -> Gate:
    """A logistic fit of dog vs not-dog on the dog-mass log-odds (calibration dogs against the not-dogs tuning
    half, classes weighted equally); the threshold rejects at most MAX_DOGS_REJECTED_TUNE of calibration dogs."""
    s = torch.from_numpy(np.concatenate([dog_mass_logit(calib_imagenet), dog_mass_logit(tune_imagenet)])).float()
    y = torch.cat([torch.ones(len(calib_imagenet)), torch.zeros(len(tune_imagenet))])
    wts = torch.where(y == 1, 0.5 / len(calib_imagenet), 0.5 / len(tune_imagenet))
    ab = torch.zeros(2, requires_grad=True)
    opt = torch.optim.LBFGS([ab], lr=0.5, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = (F.binary_cross_entropy_with_logits(ab[0].exp() * s + ab[1], y, reduction="none") * wts).sum()
        loss.backward()
        return loss

    opt.step(closure)
    scale, shift = float(ab[0].detach().exp()), float(ab[1].detach())
    dog_p = torch.sigmoid(scale * torch.from_numpy(dog_mass_logit(calib_imagenet)) + shift).sort().values
    allowed = int(MAX_DOGS_REJECTED_TUNE * len(dog_p))  # this many calibration dogs may fall below
    threshold = float(min(0.5, max(0.02, dog_p[allowed].item() - 1e-6)))
    return Gate(round(threshold, 6), round(scale, 6), round(shift, 6))


def fit_unknown_share(gate: Gate, calib_imagenet: torch.Tensor) -> Gate:
    """The lowest share, not under one half (the outside dog must hold most of the dog mass), that calls at
    most MAX_DOGS_UNKNOWN_TUNE of calibration dogs (all of known breeds) an unknown breed."""
    share = np.sort(outside_dogs(calib_imagenet, IMAGENET_INDICES)[0])[::-1]
    allowed = int(MAX_DOGS_UNKNOWN_TUNE * len(share))
    cut = max(0.5, float(share[allowed]) + 1e-4) if allowed < len(share) else 0.5
    return dataclasses.replace(gate, unknown_share=round(min(cut, 0.99), 4))


def not_dogs_halves(nd, paths: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Which rows of the not-dogs features (`paths`, in their order) are in the TUNE half and in the HELD-OUT half
    (`nd`: training.holdout.not_dogs_split), and the held-out rows' categories."""
    tune, held = {str(p) for p, _ in nd["tune"]}, {str(p): c for p, c in nd["heldout"]}
    return (torch.tensor([p in tune for p in paths]), torch.tensor([p in held for p in paths]),
            [held[p] for p in paths if p in held])


def finish_gate(gate: Gate, seen: dict[str, torch.Tensor], held_m: torch.Tensor, held_cats: list[str]):
    """A fitted gate's unknown share, fitted on the calibration dogs, and its report on the held-out photos, from
    the ImageNet logits the gate reads (`seen`: part -> logits). Returns (gate, report)."""
    gate = fit_unknown_share(gate, seen["calib"])
    report = gate_report(gate, seen["test"], seen["notdogs"][held_m], held_cats)
    report["test_dogs_unknown_breed"] = round(unknown_rate(gate, seen["test"]), 4)
    report["wild_dev_unknown_breed"] = round(unknown_rate(gate, seen["wild"]), 4)
    return gate, report


def unknown_rate(gate: Gate, dogs_imagenet: torch.Tensor) -> float:
    """The share of these photos (dogs of known breeds) that the real `decide` calls an unknown breed."""
    dog_p = gate.dog_probability(dogs_imagenet)
    share = outside_dogs(dogs_imagenet, IMAGENET_INDICES)[0]
    return float(np.mean([decide(1.0, d, gate, s) == UNKNOWN_BREED for d, s in zip(dog_p, share)]))


def gate_report(gate: Gate, dogs_imagenet: torch.Tensor, held_imagenet: torch.Tensor, held_cats: list[str]) -> dict:
    dogs_rejected = (torch.from_numpy(gate.dog_probability(dogs_imagenet)) < gate.threshold).float().mean().item()
    rejected = torch.from_numpy(gate.dog_probability(held_imagenet)) < gate.threshold
    out = {"dog_photos_rejected": round(dogs_rejected, 4),
           "not_dogs_rejected": round(rejected.float().mean().item(), 4), "per_category_rejected": {}}
    for cat in sorted(set(held_cats)):
        m = torch.tensor([c == cat for c in held_cats])
        out["per_category_rejected"][cat] = {"rejected": round(rejected[m].float().mean().item(), 4), "n": int(m.sum())}
    out["n_dog_photos"], out["n_not_dogs"] = len(dogs_imagenet), len(held_imagenet)
    return out
