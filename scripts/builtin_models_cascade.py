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
import math

import numpy as np
import torch

from builtin_features import LITE0, LITE1
from builtin_models_gate import fit_gate, fit_unknown_share, gate_report, unknown_rate

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
    tune, held = {str(q) for q, _ in nd["tune"]}, {str(q): c for q, c in nd["heldout"]}
    paths = feats[LITE1]["notdogs"].paths
    tune_m, held_m = torch.tensor([q in tune for q in paths]), torch.tensor([q in held for q in paths])
    gate = fit_gate(pair["calib"], pair["notdogs"][tune_m])
    a = {p: dog_mass_logit(alone[p]) for p in PARTS}
    t = (math.log(gate.threshold / (1 - gate.threshold)) - gate.shift) / gate.scale  # the threshold's logit
    lo, hi = min(float(a["calib"].min()), t), max(float(a["notdogs"][tune_m.numpy()].max()), t)
    gate = dataclasses.replace(gate, band=(round(lo - 1e-4, 4), round(hi + 1e-4, 4)))

    def seen(p):  # what the gate reads: the pair inside the band, Lite1 alone outside
        inside = torch.from_numpy((a[p] >= gate.band[0]) & (a[p] <= gate.band[1]))
        return torch.where(inside[:, None], pair[p], alone[p]), float(inside.float().mean())

    combined = {p: seen(p) for p in PARTS}
    gate = fit_unknown_share(gate, combined["calib"][0])
    held_cats = [held[q] for q in paths if q in held]
    report = gate_report(gate, combined["test"][0], combined["notdogs"][0][held_m], held_cats)
    report["test_dogs_unknown_breed"] = round(unknown_rate(gate, combined["test"][0]), 4)
    report["wild_dev_unknown_breed"] = round(unknown_rate(gate, combined["wild"][0]), 4)
    rejected = {p: float(np.mean(gate.dog_probability(combined[p][0]) < gate.threshold)) for p in ("wild", "extra")}
    report["wild_dev_dogs_rejected"], report["wild_extra_dogs_rejected"] = (round(rejected[p], 4)
                                                                          for p in ("wild", "extra"))
    report["gate_member_runs_for"] = {p: round(combined[p][1], 4) for p in ("test", "wild", "extra")}
    report["gate_member_runs_for"]["not_dogs_heldout"] = round(
        float(((a["notdogs"] >= gate.band[0]) & (a["notdogs"] <= gate.band[1]))[held_m.numpy()].mean()), 4)
    return gate, report
