"""Stage 2 of make_builtin_models.py: heads, temperatures, the gate, the variant table and the artifacts.

Chosen and calibrated for photos from outside ImageNet as well as the Stanford ones (builtin_models_wild.py):
- heads train on the TRAIN split (photo and mirror image), alone or with wild-extra's off-ImageNet photos;
- temperatures are fitted on the CALIBRATION split and wild-dev, each half of the loss;
- variants (heads, ensembles, member weights) are chosen by wild-dev's cross-fitted per-breed log loss;
- the gate is fitted on the calibration dogs and the not-dogs TUNE half, as before.
Reported: the TEST split and the not-dogs HELD-OUT half (never fitted on), wild-dev cross-fitted over two folds by
source (chosen on, so a development figure), wild-extra (trained on by the heads that use it).
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from builtin_features import LITE0, LITE0_HI, LITE1, LITE2, LITE2_HI, TEST_VIEWS, load_part, preprocessing

from dogbreed_desktop import __version__
from dogbreed_desktop.core.model.artifact import ModelArtifact, atomic_write, load_artifact, save_artifact
from dogbreed_desktop.core.torch.backbones import backbone_spec, build_backbone
from dogbreed_desktop.core.breeds import BREED_IDS, IMAGENET_INDICES
from dogbreed_desktop.core.model.ensemble import Ensemble
from dogbreed_desktop.core.predict.gate import Gate
from training.holdout import SEED, not_dogs_dir, not_dogs_split, wild_dev_folds
from dogbreed_desktop.core.torch.temperature import fit_temperature, fit_temperature_on
from dogbreed_desktop.paths import BUILTIN_MODELS, resource
from builtin_models_gate import fit_gate, fit_unknown_share, gate_report, unknown_rate  # noqa: E402
from builtin_models_wild import EXTRA_REPEATS, PRIOR_TAKEN_BACK, crossfit, prior_shift  # noqa: E402
from training.scoring import measure

OUT_TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "builtin_models_variants.md"
TRAIN_VIEWS = TEST_VIEWS  # every cached view of a training photo is a training example
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


def build(data: Path, write_models: bool = True, members: tuple[str, ...] | None = None,
          keep_fast: bool = False) -> None:
    """Measure every variant; write the table, and (unless `write_models` is False) the two built-in models,
    the accurate one an ensemble of `members` (default: the best ensemble by wild-dev balanced log loss).
    `keep_fast`: write the accurate model only, around the shipped fast model (whose head must be this build's)."""
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
        name, _, px = key.partition("@")
        short = name.replace("efficientnet_", "").capitalize() + (f" at {px} px" if px else "")
        for kind, (_, _, what) in heads[key].items():
            v.measure(f"{short} + mirror, {what}", [(key, kind)])
    rows = v.rows
    best = {k: min(heads[k], key=lambda h: next(r["choose"] for r in rows if r["members"] == [(k, h)]))
            for k in heads}
    for lo, hi in ((LITE0, LITE0_HI), (LITE2, LITE2_HI)):  # multi-scale views, measured only
        if lo in best and hi in best and best[lo] in heads[hi]:
            v.measure(f"{lo.replace('efficientnet_', '').capitalize()} at two test sizes ({hi.partition('@')[2]} px "
                      f"too), averaged", [(lo, best[lo]), (hi, best[lo])])
    fast = next(r for r in rows if r["members"] == [(LITE0, best[LITE0])])
    keys = [k for k in heads if "notdogs" in feats[k]]  # the rest: measured only
    candidates = [c for n in range(2, len(keys) + 1) for c in itertools.combinations(keys, n)]
    ensembles = [(c, v.measure("Ensemble " + " + ".join(k.replace("efficientnet_", "").capitalize() for k in c)
                               + " + mirror", [(k, best[k]) for k in c])) for c in candidates]
    # a stronger backbone alone is a candidate too: one forward fewer than any ensemble holding it
    ensembles += [((k,), r) for r in rows for k in keys if k != LITE0 and r["members"] == [(k, best[k])]]
    wanted = [e for c, e in ensembles if members is None or set(c) == set(members)]
    acc = min(wanted, key=lambda r: r["choose"]) if wanted else fast
    if len(acc["members"]) == 2:  # the members' weights, by the same rule
        tried = [v.measure("", acc["members"], [w, 1 - w], keep=False, floor=False)
                 for w in np.arange(0.05, 0.951, 0.05)]
        best_w = min(tried, key=lambda r: r["choose"])
        if best_w["choose"] < acc["choose"]:
            w = [round(x, 4) for x in best_w["weights"]]
            acc = v.measure(f"{acc['variant']}, weighted {w[0]:.2f} / {w[1]:.2f} (by wild-dev balanced log loss)",
                            acc["members"], w)
    fast_art = None
    if write_models and keep_fast:  # the table shows the fast model as shipped, at its own temperature
        fast_art = _shipped_fast(heads[LITE0][fast["members"][0][1]])
        fast["variant"] += ", as shipped (temperature kept)"
    _write_table(rows, fast, acc, members)
    if write_models:
        nd = not_dogs_split(not_dogs_dir(data))
        fast_art = fast_art or _write_model(fast, feats, heads, nd, data, None)
        if acc is not fast:
            _write_model(acc, feats, heads, nd, data, fast_art)


def _shipped_fast(head) -> ModelArtifact:
    """The shipped fast model, kept as it is (its temperature too), once its head is shown to be this build's."""
    art = load_artifact(resource(BUILTIN_MODELS["fast"]))
    if not (np.array_equal(np.asarray(art.head_weight), head[0].numpy())
            and np.array_equal(np.asarray(art.head_bias), head[1].numpy())):
        raise SystemExit("--keep-fast: the shipped fast model's head is not this build's; build both models")
    print("the shipped fast model is kept as it is", flush=True)
    return art


def _gate_for(members, feats, nd):
    def imagenet(part):
        return sum(feats[k][part].imagenet() for k, _ in members) / len(members)

    tune, held = {str(p) for p, _ in nd["tune"]}, {str(p): c for p, c in nd["heldout"]}
    paths = feats[members[0][0]]["notdogs"].paths
    nd_im = imagenet("notdogs")
    tune_m, held_m = torch.tensor([p in tune for p in paths]), torch.tensor([p in held for p in paths])
    gate = fit_gate(imagenet("calib"), nd_im[tune_m])
    gate = fit_unknown_share(gate, imagenet("calib"))
    held_cats = [held[p] for p in paths if p in held]
    report = gate_report(gate, imagenet("test"), nd_im[held_m], held_cats)
    report["test_dogs_unknown_breed"] = round(unknown_rate(gate, imagenet("test")), 4)
    report["wild_dev_unknown_breed"] = round(unknown_rate(gate, imagenet("wild")), 4)
    report["baseline_dog_mass_0.5"] = gate_report(Gate(), imagenet("test"), nd_im[held_m], held_cats)
    return gate, report


def _write_model(row, feats, heads, nd, data, fast_art):
    gate, report = _gate_for(row["members"], feats, nd)
    test, wild, extra = row["test"], row["wild"], row["extra"]
    n_test = len(feats[LITE0]["test"].labels)

    def figures(m: dict) -> dict:
        return {k: round(m[k], 4) for k in ("top1", "top5", "log_loss", "ece", "balanced_top1", "ece_floor") if k in m}

    metrics = {
        "evaluated_on": f"held-out Stanford Dogs: the TEST split of training.holdout (10 photos per breed, seed {SEED}, "
                        f"{n_test} photos); ImageNet-pretrained backbones may have seen them",
        "temperature_fitted_on": "the CALIBRATION split (5 Stanford photos per breed) and wild-dev (dog photos from "
                                 "outside ImageNet), each half of the loss; photo and mirror averaged as at test time",
        **figures(test),
        "wild_dev": {"note": "wild-dev (development): dog photos from outside ImageNet; variants were chosen on it; "
                             "cross-fitted: each of two folds by source scored under a temperature fitted on the "
                             "calibration split and the other fold", **figures(wild), "n": wild["n"]},
        "gate": {"fitted_on": "calibration dogs vs the not-dogs TUNE half",
                 "test_dogs_and_not_dogs_heldout": report},
    }
    if extra:
        metrics["wild_extra"] = {"note": "wild-extra: dog photos from outside ImageNet, mostly puppies; "
                                         + ("the heads trained on them" if row["extra_trained"] else "measured only"),
                                 **figures(extra), "n": extra["n"]}
    provenance = {
        "data": f"{data.name}: heads trained on the TRAIN split (photo and mirror image where extracted)"
                + (" and wild-extra" if row["extra_trained"] else "") + "; ImageNet-1k backbones; features from "
                "ONNX Runtime", "variant": row["variant"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app_version": __version__,
        "torch": torch.__version__, "script": "scripts/make_builtin_models.py",
    }
    arts = []
    for key, kind in row["members"]:
        w, b, _ = heads[key][kind]
        name = key.partition("@")[0]
        arts.append(ModelArtifact(backbone=name, classes=list(BREED_IDS), preprocessing=preprocessing(key),
                                  head_weight=w, head_bias=b, backbone_weights=backbone_spec(name).weights_reference(),
                                  temperature=row["temperature"], test_time_mirror=True, gate=gate.to_dict(),
                                  metrics=metrics, provenance=provenance))
    if fast_art is None:
        arts[0].name = "EfficientNet-Lite0 + mirror (fast, built-in)"
        save_artifact(arts[0], resource(BUILTIN_MODELS["fast"]))
        print(json.dumps({"fast": row["variant"], **metrics}, indent=1), flush=True)
        return arts[0]
    files = []
    for a in arts:
        same = np.array_equal(np.asarray(a.head_weight), np.asarray(fast_art.head_weight))
        if a.backbone == fast_art.backbone and same:
            files.append(Path(BUILTIN_MODELS["fast"]).name)  # the fast model doubles as this member
            continue
        a.name = f"Accurate ensemble member: {backbone_spec(a.backbone).title} at {a.preprocessing.crop} px"
        fname = f"accurate-{a.backbone}.safetensors"
        save_artifact(a, resource("models") / fname)
        files.append(fname)
    titles = [f"{backbone_spec(a.backbone).title} + mirror" for a in arts]
    ens = Ensemble(arts, row["temperature"], gate.to_dict(),
                   "Accurate: " + (titles[0] if len(arts) == 1 else "ensemble of " + " and ".join(titles)),
                   metrics, provenance, weights=row.get("weights"))
    text = json.dumps(ens.manifest(files), indent=1) + "\n"
    atomic_write(resource(BUILTIN_MODELS["accurate"]), lambda tmp: tmp.write_text(text))
    print(json.dumps({"accurate": row["variant"], **metrics}, indent=1), flush=True)


def _write_table(rows, fast, acc, members) -> None:
    def pct(m, k):
        return f"{m[k]:.1%}"

    lines = ["| variant | held-out top-1 | log loss | ECE (floor) | wild-dev top-1 | balanced | log loss | balanced log "
             "loss (chooses) | ECE (floor) | wild-extra top-1 | T |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t, w, e = r["test"], r["wild"], r["extra"]
        mark = " **(fast)**" if r is fast else " **(accurate)**" if r is acc else ""
        extra = "–" if e is None else pct(e, "top1") + (" (trained on)" if r["extra_trained"] else "")
        lines.append(f"| {r['variant']}{mark} | {pct(t, 'top1')} | {t['log_loss']:.3f} | {pct(t, 'ece')} "
                     f"({pct(t, 'ece_floor')}) | {pct(w, 'top1')} | {pct(w, 'balanced_top1')} | {w['log_loss']:.3f} | "
                     f"{w['balanced_log_loss']:.4f} | {pct(w, 'ece')} ({pct(w, 'ece_floor')}) | {extra} | "
                     f"{r['temperature']:.3f} |")
    head = ("Held-out Stanford Dogs: the TEST split of training.holdout, 1,200 photos, never fitted on (they come from "
            "ImageNet, which the backbones were trained on: the figures flatter). wild-dev: 341 dog photos from outside "
            "ImageNet, the development set: temperatures are fitted and variants chosen on it (never weights), its "
            "figures cross-fitted over two folds by source (heads' epochs are chosen on it too). wild-extra: 965 more, mostly puppies, noisier labels; "
            "heads marked 'trained on' learnt from them. Every model averages the photo and its mirror image; "
            "temperatures are fitted on the CALIBRATION split (600 Stanford photos) and wild-dev, each half the loss; "
            "variants are chosen by wild-dev's cross-fitted per-breed log loss. ECE (floor): the ECE measured, and "
            "in brackets what a perfectly calibrated model reads at the same confidences on the same photos. "
            "Features from ONNX Runtime, averaged over both views (the app skips the mirror above 95 % confidence). "
            "Written by `scripts/make_builtin_models.py build`.\n\n")
    if members:
        head += (f"The accurate model's members were given (`--members {','.join(members)}`) rather than chosen.\n\n")
    OUT_TABLE.parent.mkdir(parents=True, exist_ok=True)
    OUT_TABLE.write_text(head + "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
