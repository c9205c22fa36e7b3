"""Stage 2 of make_builtin_models.py: heads, temperatures, the gate, the variant table and the artifacts.

Everything is fitted on the calibration split, the training split and the not-dogs TUNE half; the figures are
measured on the TEST split and the not-dogs HELD-OUT half only (training.holdout), and on wild-dev (dog photos from
outside ImageNet), which is measured and never fitted on or chosen by: "wild-dev (development)".
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from builtin_features import LITE0, LITE1, LITE2, LITE2_HI, TEST_VIEWS, load_part, preprocessing

from dogbreed_desktop import __version__
from dogbreed_desktop.core.model.artifact import ModelArtifact, atomic_write, load_artifact, save_artifact
from dogbreed_desktop.core.torch.backbones import backbone_spec, build_backbone
from dogbreed_desktop.core.breeds import BREED_IDS, IMAGENET_INDICES
from dogbreed_desktop.core.model.ensemble import Ensemble
from dogbreed_desktop.core.predict.gate import Gate
from training.holdout import SEED, not_dogs_dir, not_dogs_split
from dogbreed_desktop.core.evaluate.metrics import expected_calibration_error
from dogbreed_desktop.core.torch.temperature import fit_temperature
from dogbreed_desktop.paths import BUILTIN_MODELS, resource
from builtin_models_gate import fit_gate, fit_unknown_share, gate_report, unknown_rate  # noqa: E402

OUT_TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "builtin_models_variants.md"
TRAIN_VIEWS = TEST_VIEWS  # every cached view of a training photo is a training example
# Head recipes (AdamW, cosine, batch 256, from the ImageNet dog rows), chosen per backbone by calibration log loss.
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


def calib_loss(calib: Features, w, b) -> float:
    """Calibration log loss after its own temperature fit: how the model will be used."""
    z, y = calib.logits(w, b), targets(calib.labels)
    return F.cross_entropy(z / fit_temperature(z, y), y).item()


def train_head(key: str, train: Features, calib: Features, recipe: dict, epochs: int = 12):
    """One recipe; every training view is its own example. Returns (calib loss, w, b, best epoch)."""
    w0, b0 = imagenet_rows(key)
    head = torch.nn.Linear(w0.shape[1], w0.shape[0])
    with torch.no_grad():
        head.weight.copy_(w0), head.bias.copy_(b0)
    opt = torch.optim.AdamW(head.parameters(), lr=recipe["lr"], weight_decay=recipe["wd"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=recipe["lr"] / 100)
    views = [v for v in TRAIN_VIEWS if v in train.views]
    x = torch.cat([train.views[v][0] for v in views])
    y = torch.cat([targets(train.view_labels[v]) for v in views])
    g = torch.Generator().manual_seed(SEED)
    best = (calib_loss(calib, w0, b0), w0.clone(), b0.clone(), 0)
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(x), generator=g).split(256):
            opt.zero_grad()
            F.cross_entropy(head(x[idx]), y[idx], label_smoothing=recipe["smooth"]).backward()
            opt.step()
        sched.step()
        w, b = head.weight.detach().clone(), head.bias.detach().clone()
        loss = calib_loss(calib, w, b)
        if loss < best[0]:
            best = (loss, w, b, epoch)
    return best


def scores(z: torch.Tensor, y: torch.Tensor, t: float) -> dict:
    p = torch.softmax(z / t, dim=1)
    return {"top1": (p.argmax(1) == y).float().mean().item(),
            "top5": (p.topk(5, dim=1).indices == y[:, None]).any(1).float().mean().item(),
            "log_loss": F.nll_loss(p.clamp_min(1e-12).log(), y).item(),
            "ece": expected_calibration_error(p, y), "temperature": t}


def build(data: Path, write_models: bool = True, members: tuple[str, ...] | None = None,
          keep_fast: bool = False) -> None:
    """Measure every variant; write the table, and (unless `write_models` is False) the two built-in models,
    the accurate one an ensemble of `members` (default: the best by calibration log loss among all).
    `keep_fast`: write the accurate model only, around the shipped fast model (whose head must be this build's)."""
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # small matrices: more threads only contend on a shared machine
    feats, heads, rows = {}, {}, []
    for key in (LITE0, LITE1, LITE2, LITE2_HI):
        try:
            feats[key] = {p: Features(key, p) for p in ("calib", "test")}
            feats[key].update({p: Features(key, p) for p in ("notdogs", "wild")})
        except FileNotFoundError as e:  # without calib and test: skipped; without the rest: measured only
            print(f"{'measured only' if key in feats else 'skipped'}: {e}", flush=True)
            if key not in feats:
                continue
        w0, b0 = imagenet_rows(key)
        heads[key] = {"rows": (w0, b0, "ImageNet dog rows")}
        base = key.partition("@")[0]
        try:
            train = Features(base, "train", TRAIN_VIEWS)
        except FileNotFoundError:
            continue
        if base != key:  # a larger test resolution: the head trained at the backbone's own resolution
            if "trained" in heads.get(base, {}):
                heads[key]["trained"] = heads[base]["trained"]
            continue
        tried = [(train_head(key, train, feats[key]["calib"], r), r) for r in RECIPES]
        for (loss, _, _, ep), r in tried:
            print(f"{key}: recipe {r}: calib log loss {loss:.4f} (epoch {ep})", flush=True)
        # the plain recipe unless another beats it by more than the noise of 600 calibration photos
        (loss, w, b, ep), r = min(tried, key=lambda t: t[0][0] + (RECIPE_MARGIN if t[1] is not RECIPES[0] else 0))
        recipe = f"lr {r['lr']:g}, wd {r['wd']:g}" + (f", label smoothing {r['smooth']:g}" if r["smooth"] else "")
        heads[key]["trained"] = (w, b, f"head trained on {train.described()} ({recipe}, epoch {ep})")
    yc, yt = (targets(feats[LITE0][p].labels) for p in ("calib", "test"))
    yw = targets(feats[LITE0]["wild"].labels)

    def combo(members, part, weights=None):  # [(key, head kind)] -> breed logits averaged over members (weighted)
        weights = weights or [1 / len(members)] * len(members)
        return sum(w * feats[k][part].logits(*heads[k][h][:2]) for w, (k, h) in zip(weights, members))

    def variant(label, members, weights=None, keep=True):
        t = fit_temperature(combo(members, "calib", weights), yc)
        zt = combo(members, "test", weights)
        wild = scores(combo(members, "wild", weights), yw, t) if all("wild" in feats[k] for k, _ in members) else None
        row = {"variant": label, "members": members, "weights": weights, "T1": scores(zt, yt, 1.0),
               "cal": scores(zt, yt, t), "wild": wild,
               "calib_log_loss": scores(combo(members, "calib", weights), yc, t)["log_loss"]}
        if keep:
            rows.append(row)
        return row

    for key in heads:
        short = key.replace("efficientnet_", "").capitalize()
        for kind, (_, _, what) in heads[key].items():
            variant(f"{short} + mirror, {what}", [(key, kind)])
    best = {k: min(heads[k], key=lambda h: next(r["calib_log_loss"] for r in rows if r["members"] == [(k, h)]))
            for k in heads}
    fast = next(r for r in rows if r["members"] == [(LITE0, best[LITE0])])
    keys = [k for k in heads if "wild" in feats[k] and "notdogs" in feats[k]]  # the rest: measured only
    candidates = [c for n in range(2, len(keys) + 1) for c in itertools.combinations(keys, n)]
    ensembles = [(c, variant("Ensemble " + " + ".join(k.replace("efficientnet_", "").capitalize() for k in c)
                             + " + mirror", [(k, best[k]) for k in c])) for c in candidates]
    # a stronger backbone alone is a candidate too: one forward fewer than any ensemble holding it
    ensembles += [((k,), r) for r in rows for k in keys if k != LITE0 and r["members"] == [(k, best[k])]]
    wanted = [e for c, e in ensembles if members is None or set(c) == set(members)]
    acc = min(wanted, key=lambda r: r["calib_log_loss"]) if wanted else fast
    if len(acc["members"]) == 2:  # the members' weights, by calibration log loss like everything else
        tried = [variant("", acc["members"], [w, 1 - w], keep=False) for w in np.arange(0.05, 0.951, 0.05)]
        best_w = min(tried, key=lambda r: r["calib_log_loss"])
        if best_w["calib_log_loss"] < acc["calib_log_loss"]:
            w = best_w["weights"]
            acc = variant(f"{acc['variant']}, weighted {w[0]:.2f} / {w[1]:.2f} (by calibration log loss)",
                          acc["members"], [round(x, 4) for x in w])
    fast_art = None
    if write_models and keep_fast:  # the table shows the fast model as shipped, at its own temperature
        fast_art = _shipped_fast(heads[LITE0][fast["members"][0][1]])
        t = float(fast_art.temperature)
        fast.update(variant=fast["variant"] + ", as shipped (temperature kept)",
                    cal=scores(combo(fast["members"], "test"), yt, t), wild=scores(combo(fast["members"], "wild"), yw, t))
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
    cal, wild = row["cal"], row["wild"]
    n_test = len(feats[LITE0]["test"].labels)
    metrics = {
        "evaluated_on": f"held-out Stanford Dogs: the TEST split of training.holdout (10 photos per breed, seed {SEED}, "
                        f"{n_test} photos); ImageNet-pretrained backbones may have seen them",
        "temperature_fitted_on": "the CALIBRATION split (5 photos per breed), photo and mirror averaged as at "
                                 "test time",
        **{k: round(cal[k], 4) for k in ("top1", "top5", "log_loss", "ece")},
        "wild_dev": {"note": "wild-dev (development): dog photos from outside ImageNet, measured, never fitted on",
                     **{k: round(wild[k], 4) for k in ("top1", "top5", "log_loss", "ece")},
                     "n": len(feats[LITE0]["wild"].labels)},
        "gate": {"fitted_on": "calibration dogs vs the not-dogs TUNE half",
                 "test_dogs_and_not_dogs_heldout": report},
    }
    provenance = {
        "data": f"{data.name}: heads trained on the TRAIN split (photo and mirror image where extracted); ImageNet-1k "
                "backbones; features from ONNX Runtime", "variant": row["variant"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app_version": __version__,
        "torch": torch.__version__, "script": "scripts/make_builtin_models.py",
    }
    arts = []
    for key, kind in row["members"]:
        w, b, _ = heads[key][kind]
        name = key.partition("@")[0]
        arts.append(ModelArtifact(backbone=name, classes=list(BREED_IDS), preprocessing=preprocessing(key),
                                  head_weight=w, head_bias=b, backbone_weights=backbone_spec(name).weights_reference(),
                                  temperature=cal["temperature"], test_time_mirror=True, gate=gate.to_dict(),
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
    ens = Ensemble(arts, cal["temperature"], gate.to_dict(),
                   "Accurate: " + (titles[0] if len(arts) == 1 else "ensemble of " + " and ".join(titles)),
                   metrics, provenance, weights=row.get("weights"))
    text = json.dumps(ens.manifest(files), indent=1) + "\n"
    atomic_write(resource(BUILTIN_MODELS["accurate"]), lambda tmp: tmp.write_text(text))
    print(json.dumps({"accurate": row["variant"], **metrics}, indent=1), flush=True)


def _write_table(rows, fast, acc, members) -> None:
    lines = ["| variant | top-1 | top-5 | log loss | ECE (T=1) | ECE | T | wild-dev top-1 | wild-dev ECE | "
             "calibration log loss (chooses) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        c, u, w = r["cal"], r["T1"], r["wild"]
        mark = " **(fast)**" if r is fast else " **(accurate)**" if r is acc else ""
        lines.append(f"| {r['variant']}{mark} | {c['top1']:.2%} | {c['top5']:.2%} | {c['log_loss']:.3f} | "
                     f"{u['ece']:.2%} | {c['ece']:.2%} | {c['temperature']:.3f} | "
                     + (f"{w['top1']:.2%} | {w['ece']:.2%} | " if w else "– | – | ") +
                     f"{r['calib_log_loss']:.4f} |")
    head = ("Held-out Stanford Dogs (TEST split of training.holdout, 1,200 photos; the backbones were trained on "
            "ImageNet, which these photos come from) and wild-dev (development: 341 dog photos from outside "
            "ImageNet, measured only). Every model averages the photo and its mirror image; heads are trained on "
            "the TRAIN split, temperatures fitted on the CALIBRATION split (600 photos), variants chosen by "
            "calibration log loss. Features from ONNX Runtime. Written by `scripts/make_builtin_models.py build`.\n\n")
    if members:
        head += (f"The accurate model's members were given (`--members {','.join(members)}`) rather than chosen by "
                 "calibration log loss.\n\n")
    OUT_TABLE.parent.mkdir(parents=True, exist_ok=True)
    OUT_TABLE.write_text(head + "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
