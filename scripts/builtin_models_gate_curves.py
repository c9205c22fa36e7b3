"""How well each backbone's ImageNet head alone tells dogs from non-dogs: the gate's trade-off per backbone, from the
feature cache of `make_builtin_models.py extract` (why Lite1's gate, in the balanced model, asks Lite0 too:
docs/accuracy.md).

    DOGBREED_DATA=... python scripts/builtin_models_gate_curves.py [--write]   # to benchmarks/results/

For each backbone (and two pairs, their ImageNet logits averaged) and each share of calibration dogs the
threshold may reject, the dog-mass gate's threshold is set on the calibration dogs, as the build does, and then
measured: the not-dogs TUNING half (what the build fits on), the held-out TEST dogs and not-dogs HELD-OUT half
(never fitted on), and wild-dev's dogs. The gate must reject at least 99 % of held-out non-dogs with at most 1 % of
dogs rejected. Lite1 also with its ImageNet logits divided by a temperature first (does a softer or sharper head
separate better?).

Then the cascade the balanced model runs (builtin_models_cascade.py fits it): Lite1 decides alone where its dog-mass
logit lies outside the band that the fitted photos need (below the lowest calibration dog: not a dog; above the
highest tuning non-dog: a dog), and the Lite0 + Lite1 gate decides inside it, so Lite0 runs for those photos only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from builtin_features import LITE0, LITE1, LITE2
from builtin_models_fit import Features, short

from dogbreed_desktop.core.predict.gate import dog_mass_logit
from training.holdout import not_dogs_dir, not_dogs_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from stamp import add_write_option, recording  # noqa: E402 (the benchmarks' stamp on what it writes)

SHARES = (0.002, 0.004, 0.006, 0.01, 0.015)  # the build uses 0.004 (builtin_models_gate.MAX_DOGS_REJECTED_TUNE)
TEMPERATURES = (0.5, 1.0, 2.0)
PARTS = ("calib", "test", "notdogs", "wild", "extra")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=os.environ.get("DOGBREED_DATA"))
    add_write_option(ap, "gate_backbones")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    feats = {k: {p: Features(k, p) for p in PARTS} for k in (LITE0, LITE1, LITE2)}
    nd = not_dogs_split(not_dogs_dir(args.data))
    paths = feats[LITE0]["notdogs"].paths
    tune, held = ({str(q) for q, _ in nd[half]} for half in ("tune", "heldout"))
    tuning, heldout = np.array([p in tune for p in paths]), np.array([p in held for p in paths])
    with recording(args.write):
        table(feats, tuning, heldout)
        print()
        cascade(feats, tuning, heldout)


def table(feats: dict, tuning: np.ndarray, heldout: np.ndarray) -> None:
    print("| backbones | ImageNet T | calibration dogs rejected | tuning non-dogs rejected | held-out dogs rejected "
          "| held-out non-dogs rejected | wild-dev dogs rejected |")
    print("|---|---|---|---|---|---|---|")
    for keys in ([LITE0], [LITE1], [LITE2], [LITE0, LITE1], [LITE0, LITE2]):
        for t in TEMPERATURES if keys == [LITE1] else (1.0,):
            score = {part: dog_mass_logit(imagenet(feats, keys, part) / t) for part in PARTS}
            for share in SHARES:
                cut = np.quantile(score["calib"], share)
                print(f"| {short(keys)} | {t:g} | {share:.1%} | {(score['notdogs'][tuning] < cut).mean():.1%} | "
                      f"{(score['test'] < cut).mean():.2%} | {(score['notdogs'][heldout] < cut).mean():.1%} | "
                      f"{(score['wild'] < cut).mean():.2%} |", flush=True)


def imagenet(feats: dict, keys: list[str], part: str) -> np.ndarray:
    """The ImageNet logits of `part`, averaged over the backbones `keys` (as an ensemble's gate reads them)."""
    return (sum(feats[k][part].imagenet() for k in keys) / len(keys)).numpy()


def cascade(feats: dict, tuning: np.ndarray, heldout: np.ndarray, share: float = 0.004) -> None:
    """The Lite1-first cascade: its rates on the held-out photos and how often it needs Lite0's forward."""
    alone, pair, fast = ({p: dog_mass_logit(imagenet(feats, keys, p)) for p in PARTS}
                         for keys in ([LITE1], [LITE0, LITE1], [LITE0]))  # fast: what fast's gate reads
    cut = np.quantile(pair["calib"], share)  # the pair's threshold, by the build's rule
    fast_cut = np.quantile(fast["calib"], share)
    lo, hi = alone["calib"].min(), alone["notdogs"][tuning].max()

    def rates(part, mask=slice(None)):
        a, b, f = alone[part][mask], pair[part][mask], fast[part][mask]
        band = (a >= lo) & (a <= hi)
        return np.where(band, b < cut, a < lo).mean(), band.mean(), (f < fast_cut).mean()

    print(f"Lite1 first, Lite0 + Lite1 inside the band [{lo:.2f}, {hi:.2f}] of Lite1's dog-mass logit (the pair's "
          f"threshold rejects {share:.1%} of calibration dogs):\n")
    print("| photos | rejected as not a dog | Lite0 run too | Lite0 alone (fast's gate) rejects |")
    print("|---|---|---|---|")
    everything = slice(None)
    for name, part, mask in (("held-out dogs", "test", everything), ("held-out non-dogs", "notdogs", heldout),
                             ("wild-dev dogs", "wild", everything),
                             ("wild-extra dogs (mostly puppies)", "extra", everything)):
        rejected, second, by_fast = rates(part, mask)
        print(f"| {name} | {rejected:.2%} | {second:.1%} | {by_fast:.2%} |", flush=True)


if __name__ == "__main__":
    main()
