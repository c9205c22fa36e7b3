"""The balanced built-in model's gate: Lite1 carries the breeds, and Lite0 helps the "not a dog" gate only for the
photos whose answer is close (core.model.ensemble's gate members), each backbone on its own picture and its mirror.

Lite1's own ImageNet head tells dogs from cats less well than Lite0's (at the build's threshold rule it rejects
97.7 % of held-out non-dogs, where the gate must reject 99 % with at most 1 % of dogs; benchmarks/results/
gate_backbones.md), and the two heads with their logits averaged pass. The pair's gate is fitted as every gate is
(calibration dogs against the not-dogs TUNE half); the band is where Lite1's dog-mass logit cannot decide alone:
from the lowest calibration dog to the highest tuning non-dog, widened to hold the threshold, so that outside it
Lite1's logit falls on the same side of the threshold as every fitted photo's.

Lite0 run once on Lite1's 240 px picture instead (no resize of its own, one forward) measured worse: 98.1 % of
held-out non-dogs rejected and 1.1 % of dogs, against 99.5 % and 0.8 % here (215 non-dogs: one photo is 0.5 %).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from builtin_features import LITE0, LITE1
from builtin_models_gate import finish_gate, fit_gate, not_dogs_halves

from dogbreed_desktop.core.predict.gate import Gate, dog_mass_logit

PARTS = ("calib", "test", "notdogs", "wild", "extra")


def cascade_gate(feats: dict, nd) -> tuple[Gate, dict]:
    """The gate of Lite1 with Lite0 as gate member, and its report. `feats`: the build's features by cache key;
    `nd`: the not-dogs split. Photo and mirror averaged, as the app runs both backbones inside the band."""
    alone = {p: feats[LITE1][p].imagenet() for p in PARTS}
    other = {p: feats[LITE0][p].imagenet() for p in PARTS}
    for p in PARTS:
        if feats[LITE1][p].paths != feats[LITE0][p].paths:
            raise SystemExit(f"{p}: {LITE0} and {LITE1} features hold different photos; extract them again")
    pair = {p: (alone[p] + other[p]) / 2 for p in PARTS}
    tune_m, held_m, held_cats = not_dogs_halves(nd, feats[LITE1]["notdogs"].paths)
    gate = fit_gate(pair["calib"], pair["notdogs"][tune_m])
    a = {p: dog_mass_logit(alone[p]) for p in PARTS}
    lo = min(float(a["calib"].min()), gate.threshold_logit)
    hi = max(float(a["notdogs"][tune_m.numpy()].max()), gate.threshold_logit)
    gate = dataclasses.replace(gate, band=(round(lo - 1e-4, 4), round(hi + 1e-4, 4)))

    def in_band(p):  # the rows the app runs Lite0 for, picked as the app picks them (Gate.undecided)
        mask = np.zeros(len(a[p]), dtype=bool)
        mask[gate.undecided(alone[p])] = True
        return torch.from_numpy(mask)

    inside = {p: in_band(p) for p in PARTS}  # what the gate reads: the pair inside the band, Lite1 alone outside
    seen = {p: torch.where(inside[p][:, None], pair[p], alone[p]) for p in PARTS}
    gate, report = finish_gate(gate, seen, held_m, held_cats)
    for p, key in (("wild", "wild_dev_dogs_rejected"), ("extra", "wild_extra_dogs_rejected")):
        report[key] = round(float(np.mean(gate.dog_probability(seen[p]) < gate.threshold)), 4)
    report["gate_member_runs_for"] = {p: round(inside[p].float().mean().item(), 4) for p in ("test", "wild", "extra")}
    report["gate_member_runs_for"]["not_dogs_heldout"] = round(inside["notdogs"][held_m].float().mean().item(), 4)
    return gate, report
