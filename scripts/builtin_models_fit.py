"""Stage 2 of make_builtin_models.py: heads, temperatures and the choice of the built-in models (fast: Lite0;
balanced: Lite1, Lite0 in its gate; accurate: the best weighted pair, or a stronger backbone alone);
builtin_models_write.py writes them and the table.

Chosen and calibrated for photos from outside ImageNet as well as the Stanford ones (builtin_models_wild.py):
- heads train on the TRAIN split's centre crops, alone or with wild-extra's off-ImageNet photos;
- temperatures are fitted on the CALIBRATION split and wild-dev, each half of the loss;
- variants (heads, ensembles, member weights) are chosen by wild-dev's cross-fitted per-breed log loss;
- the gate is fitted on the calibration dogs and the not-dogs TUNE half, as before.
Reported: the TEST split and the not-dogs HELD-OUT half (never fitted on), wild-dev cross-fitted over two folds by
source (chosen on, so a development figure), wild-extra (trained on by the heads that use it).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from builtin_features import LITE0, LITE0_HI, LITE1, LITE2, LITE2_HI, TEST_VIEWS, load_part

from builtin_models_cascade import cascade_gate
from builtin_models_wild import EXTRA_REPEATS, PRIOR_TAKEN_BACK, crossfit, prior_shift
from builtin_models_write import shipped, write_model, write_table

from dogbreed_desktop.core.breeds import BREED_IDS, IMAGENET_INDICES
from dogbreed_desktop.core.torch.backbones import build_backbone
from dogbreed_desktop.core.torch.temperature import fit_temperature, fit_temperature_on
from training.holdout import SEED, not_dogs_dir, not_dogs_split, wild_dev_folds
from training.scoring import measure

# Heads train on the centre crops. Their mirror images as more examples (cached too) measured no better: the dev
# loss below tied on Lite0 (0.3295 against 0.3296) and lost on Lite1 (0.2955 against 0.2913) and Lite2 (0.2792
# against 0.2756), wild-extra in, best recipe of each (docs/accuracy.md).
TRAIN_VIEWS = ("c",)
# The one-backbone built-in models. Lite1's ImageNet head alone lets through too many non-dogs (97.7 % of held-out
# non-dogs rejected, where the gate must reject 99 % with at most 1 % of dogs; no threshold or ImageNet temperature
# does both), so balanced's gate runs Lite0 too for the photos close to the line (builtin_models_cascade.py).
SINGLES = {"fast": LITE0, "balanced": LITE1}
# Accurate is one backbone stronger than both, or a weighted pair: three backbones answer a folder at about 0.6x
# the bare torch script, issue 17's floor for the accurate model, so they are measured only.
ENSEMBLE_SIZE = 2
WEIGHTS = np.arange(0.05, 0.951, 0.05)
# Head recipes (AdamW, cosine, batch 256, from the ImageNet dog rows); the best epoch of each by `dev_loss`.
# (lr 1e-3, wd 1e-2 and lr 3e-4 without smoothing lost on Lite0; the best epochs came within the first ten.)
RECIPES = ({"lr": 1e-4, "wd": 1e-4, "smooth": 0.0}, {"lr": 3e-4, "wd": 1e-3, "smooth": 0.1})
RECIPE_MARGIN = 0.005


class Features:
    """One cache key's features for one part: per view, pooled features, ImageNet logits and labels (a view
    still being extracted, or extracted for a first sample only, holds fewer photos: its own labels say which)."""

    def __init__(self, key: str, part: str, views=TEST_VIEWS):
        loaded = {v: load_part(key, part, v) for v in views}
        loaded = {v: d for v, d in loaded.items() if d is not None}
        needed = ("c",) if part == "train" else TEST_VIEWS  # a head can train on centre crops alone
        if not all(v in loaded for v in needed):
            raise FileNotFoundError(f"{key} {part}: views {sorted(set(needed) - set(loaded))} not extracted")
        n = min(len(loaded[v]["labels"]) for v in TEST_VIEWS if v in loaded)  # the photos every test view has
        first = loaded["c"]
        self.paths, self.labels = list(first["paths"][:n]), list(first["labels"][:n])
        m = {v: n if v in TEST_VIEWS else len(d["labels"]) for v, d in loaded.items()}
        self.views = {v: (torch.from_numpy(d["feat"][:m[v]]), torch.from_numpy(d["logit"][:m[v]]))
                      for v, d in loaded.items()}
        self.view_labels = {v: list(d["labels"][:m[v]]) for v, d in loaded.items()}

    def logits(self, w: torch.Tensor, b: torch.Tensor, views=TEST_VIEWS) -> torch.Tensor:
        return torch.stack([self.views[v][0] for v in views]).mean(0) @ w.T + b

    def imagenet(self, views=TEST_VIEWS) -> torch.Tensor:
        return torch.stack([self.views[v][1] for v in views]).mean(0)

    def described(self) -> str:
        return "photos x views " + ", ".join(f"{len(self.view_labels[v])} {v}" for v in self.views)


def targets(labels) -> torch.Tensor:
    index = {b: i for i, b in enumerate(BREED_IDS)}
    return torch.tensor([index[lab] for lab in labels])


def imagenet_rows(key: str) -> tuple[torch.Tensor, torch.Tensor]:
    fc = build_backbone(key.partition("@")[0]).imagenet_fc
    return fc.weight.detach()[list(IMAGENET_INDICES)].clone(), fc.bias.detach()[list(IMAGENET_INDICES)].clone()


def dev_loss(feats: dict, w, b) -> float:
    """What picks a head's epoch and recipe: the mean of the calibration split's log loss and wild-dev's per-breed
    log loss, each after its own temperature fit (the two sets the shipped temperature is fitted on)."""
    losses = []
    for part in ("calib", "wild"):
        z, y = feats[part].logits(w, b), targets(feats[part].labels)
        nll = F.cross_entropy(z / fit_temperature(z, y), y, reduction="none")
        losses.append(nll.mean().item() if part == "calib" else
                      torch.stack([nll[y == c].mean() for c in y.unique()]).mean().item())
    return sum(losses) / len(losses)


def train_head(key: str, train: Features, feats: dict, recipe: dict, extra: Features | None = None,
               epochs: int = 12):
    """One recipe; every training view is its own example, wild-extra's (when given) EXTRA_REPEATS times each,
    with PRIOR_TAKEN_BACK of the class-prior shift they bring taken out of the bias afterwards.
    Returns (dev loss, w, b, best epoch)."""
    w0, b0 = imagenet_rows(key)
    head = torch.nn.Linear(w0.shape[1], w0.shape[0])
    with torch.no_grad():
        head.weight.copy_(w0), head.bias.copy_(b0)
    opt = torch.optim.AdamW(head.parameters(), lr=recipe["lr"], weight_decay=recipe["wd"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=recipe["lr"] / 100)
    views = [v for v in TRAIN_VIEWS if v in train.views]
    x = torch.cat([train.views[v][0] for v in views])
    y = base_y = torch.cat([targets(train.view_labels[v]) for v in views])
    shift = torch.zeros(len(BREED_IDS))
    if extra is not None:
        x = torch.cat([x] + [extra.views[v][0] for v in TEST_VIEWS] * EXTRA_REPEATS)
        y = torch.cat([y] + [targets(extra.labels)] * (len(TEST_VIEWS) * EXTRA_REPEATS))
        shift = PRIOR_TAKEN_BACK * prior_shift(base_y, y, len(BREED_IDS))
    g = torch.Generator().manual_seed(SEED)
    best = (dev_loss(feats, w0, b0), w0.clone(), b0.clone(), 0)
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(x), generator=g).split(256):
            opt.zero_grad()
            F.cross_entropy(head(x[idx]), y[idx], label_smoothing=recipe["smooth"]).backward()
            opt.step()
        sched.step()
        w, b = head.weight.detach().clone(), head.bias.detach().clone() - shift
        loss = dev_loss(feats, w, b)
        if loss < best[0]:
            best = (loss, w, b, epoch)
    return best


def trained_head(key, train, feats, extra=None):
    """The better recipe (the plain one unless another beats it by more than the noise of the development sets)."""
    tried = [(train_head(key, train, feats, r, extra), r) for r in RECIPES]
    for (loss, _, _, ep), r in tried:
        print(f"{key}{' + wild-extra' if extra else ''}: recipe {r}: dev loss {loss:.4f} (epoch {ep})", flush=True)
    (loss, w, b, ep), r = min(tried, key=lambda t: t[0][0] + (RECIPE_MARGIN if t[1] is not RECIPES[0] else 0))
    recipe = f"lr {r['lr']:g}, wd {r['wd']:g}" + (f", label smoothing {r['smooth']:g}" if r["smooth"] else "")
    what = f"head trained on {train.described()}"
    if extra:
        what += (f" + wild-extra x{EXTRA_REPEATS} ({len(extra.labels)} photos x 2 views; "
                 f"{PRIOR_TAKEN_BACK:g} of its prior shift taken back)")
    return w, b, f"{what} ({recipe}, epoch {ep})"


class Variants:
    """Measures a combination of heads the way the app runs it: members' breed logits averaged (weighted), one
    temperature fitted on the calibration split and wild-dev; wild-dev cross-fitted by source."""

    def __init__(self, feats, heads):
        self.feats, self.heads, self.rows = feats, heads, []
        f = feats[LITE0]
        self.y = {p: targets(f[p].labels) for p in ("calib", "test", "wild", "extra") if p in f}
        self.fold_a = torch.tensor(wild_dev_folds(f["wild"].paths))

    def logits(self, members, part, weights=None):
        weights = weights or [1 / len(members)] * len(members)
        return sum(w * self.feats[k][part].logits(*self.heads[k][h][:2]) for w, (k, h) in zip(weights, members))

    def measure(self, label, members, weights=None, keep=True, floor=True) -> dict:
        y, z = self.y, {p: self.logits(members, p, weights) for p in ("calib", "test", "wild")}
        t = fit_temperature_on([(z["calib"], y["calib"]), (z["wild"], y["wild"])])
        wild = measure(crossfit(z["calib"], y["calib"], z["wild"], y["wild"], self.fold_a), y["wild"], floor)
        has_extra = all("extra" in self.feats[k] for k, _ in members) and "extra" in y
        row = {"variant": label, "members": members, "weights": weights, "temperature": t,
               "test": measure(torch.softmax(z["test"].double() / t, 1), y["test"], floor), "wild": wild,
               "extra": measure(torch.softmax(self.logits(members, "extra", weights).double() / t, 1), y["extra"],
                                floor) if has_extra else None,
               "extra_trained": any("extra" in h for _, h in members), "choose": wild["balanced_log_loss"]}
        if keep:
            self.rows.append(row)
        return row


def short(keys) -> str:
    return " + ".join(k.replace("efficientnet_", "").capitalize().replace("@", " at ") + (" px" if "@" in k else "")
                      for k in keys)


def build(data: Path, write_models: bool = True, members: tuple[str, ...] | None = None,
          keep_fast: bool = False) -> None:
    """Measure every variant; write the table, and (unless `write_models` is False) the built-in models: fast (the
    best head of Lite0), balanced (the best head of Lite1, Lite0 in its gate) and accurate (the best of the weighted
    pairs and the stronger backbones alone, by wild-dev balanced log loss; only the pair, or the backbone, of
    `members` when given).
    `keep_fast`: keep the shipped fast model as it is (its head must be this build's)."""
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # small matrices: more threads only contend on a shared machine
    feats, heads = {}, {}
    for key in (LITE0, LITE1, LITE2, LITE0_HI, LITE2_HI):
        try:
            feats[key] = {p: Features(key, p) for p in ("calib", "test", "wild")}
        except FileNotFoundError as e:
            print(f"skipped: {e}", flush=True)
            continue
        for part in ("notdogs", "extra"):  # without the not-dogs a key is measured only, never a candidate
            try:
                feats[key][part] = Features(key, part)
            except FileNotFoundError as e:
                print(f"measured only: {e}", flush=True)
        w0, b0 = imagenet_rows(key)
        heads[key] = {"rows": (w0, b0, "ImageNet dog rows")}
        base = key.partition("@")[0]
        if base != key:  # a larger test resolution: the heads trained at the backbone's own resolution
            heads[key].update({k: v for k, v in heads.get(base, {}).items() if k != "rows"})
            continue
        try:
            train = Features(base, "train", TRAIN_VIEWS)
        except FileNotFoundError:
            continue
        heads[key]["trained"] = trained_head(key, train, feats[key])
        if "extra" in feats[key]:
            heads[key]["trained+extra"] = trained_head(key, train, feats[key], feats[key]["extra"])
    v = Variants(feats, heads)
    for key in heads:
        for kind, (_, _, what) in heads[key].items():
            v.measure(f"{short([key])} + mirror, {what}", [(key, kind)])
    rows = v.rows
    best = {k: min(heads[k], key=lambda h: next(r["choose"] for r in rows if r["members"] == [(k, h)]))
            for k in heads}
    for lo, hi in ((LITE0, LITE0_HI), (LITE2, LITE2_HI)):  # multi-scale views, measured only
        if lo in best and hi in best and best[lo] in heads[hi]:
            v.measure(f"{short([lo])} at two test sizes ({hi.partition('@')[2]} px too), averaged",
                      [(lo, best[lo]), (hi, best[lo])])
    chosen = {name: next(r for r in rows if r["members"] == [(k, best[k])]) for name, k in SINGLES.items() if k in best}
    # candidates for accurate: the engine runs one graph per backbone, so larger test sizes are measured only
    keys = [k for k in heads if "notdogs" in feats[k] and "@" not in k]
    candidates = []
    for combo in itertools.combinations(keys, ENSEMBLE_SIZE):
        if members and set(combo) != set(members):
            continue
        pair = [(k, best[k]) for k in combo]
        tried = [v.measure("", pair, [w, 1 - w], keep=False, floor=False) for w in WEIGHTS]
        w = [round(x, 4) for x in min(tried, key=lambda r: r["choose"])["weights"]]
        candidates.append(v.measure(f"Ensemble {short(combo)} + mirror, weighted {w[0]:.2f} / {w[1]:.2f} (by wild-dev "
                                    "balanced log loss)", pair, w))
    if len(keys) > ENSEMBLE_SIZE and not members:
        v.measure(f"Ensemble {short(keys)} + mirror (measured only: {len(keys)} forwards a photo)",
                  [(k, best[k]) for k in keys])
    # a stronger backbone alone is a candidate too: one forward fewer than any ensemble holding it
    candidates += [r for r in rows for k in keys if k not in SINGLES.values() and r["members"] == [(k, best[k])]
                   and (not members or set(members) == {k})]
    # none: only Lite0 is extracted, or --members names none of those extracted; accurate is then left as it is
    chosen["accurate"] = min(candidates, key=lambda r: r["choose"]) if candidates else None
    singles = {}
    if write_models and keep_fast:  # the table shows the fast model as shipped, at its own temperature
        singles["fast"] = shipped("fast", heads[LITE0][best[LITE0]])
        chosen["fast"]["variant"] += ", as shipped (temperature kept)"
    write_table(rows, chosen, members)
    if write_models:
        nd = not_dogs_split(not_dogs_dir(data))
        for name in [n for n in SINGLES if n in chosen]:  # fast first: balanced's gate member
            cascade = cascade_gate(feats, nd) if name == "balanced" else None
            singles[name] = singles.get(name) or write_model(name, chosen[name], feats, heads, nd, data, singles,
                                                             cascade)
        if chosen["accurate"] is None:
            print("accurate: no candidate among the extracted backbones; its files are left as they are", flush=True)
        else:
            write_model("accurate", chosen["accurate"], feats, heads, nd, data, singles)
