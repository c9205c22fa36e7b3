"""Stage 2 of make_builtin_models.py, its output: the built-in models' files (fast, one backbone; balanced, Lite1 with
Lite0 as its gate's member, a manifest; accurate, an ensemble manifest whose members reuse the one-backbone models'
files where the head is the same) and the variant table.
The measuring and choosing is builtin_models_fit.py's."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from builtin_features import LITE0, preprocessing
from builtin_models_gate import finish_gate, fit_gate, gate_report, not_dogs_halves

from dogbreed_desktop import __version__
from dogbreed_desktop.core.breeds import BREED_IDS
from dogbreed_desktop.core.model.artifact import ModelArtifact, atomic_write, load_artifact, save_artifact
from dogbreed_desktop.core.model.ensemble import Ensemble
from dogbreed_desktop.core.predict.gate import Gate
from dogbreed_desktop.core.torch.backbones import backbone_spec
from dogbreed_desktop.paths import BUILTIN_MODELS, resource
from training.holdout import SEED

OUT_TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "builtin_models_variants.md"
TITLES = {"fast": "fast, built-in", "balanced": "balanced, built-in"}
BALANCED_MEMBER = "balanced-efficientnet_lite1.safetensors"  # beside the manifest, BUILTIN_MODELS["balanced"]


def shipped(name: str, head) -> ModelArtifact:
    """A shipped one-backbone model kept as it is (its temperature too), once its head is shown to be this build's."""
    art = load_artifact(resource(BUILTIN_MODELS[name]))
    if not (np.array_equal(np.asarray(art.head_weight), head[0].numpy())
            and np.array_equal(np.asarray(art.head_bias), head[1].numpy())):
        raise SystemExit(f"--keep-fast: the shipped {name} model's head is not this build's; build every model")
    print(f"the shipped {name} model is kept as it is", flush=True)
    return art


def _gate_for(members, feats, nd):
    seen = {part: sum(feats[k][part].imagenet() for k, _ in members) / len(members)
            for part in ("calib", "test", "notdogs", "wild")}
    tune_m, held_m, held_cats = not_dogs_halves(nd, feats[members[0][0]]["notdogs"].paths)
    gate, report = finish_gate(fit_gate(seen["calib"], seen["notdogs"][tune_m]), seen, held_m, held_cats)
    report["baseline_dog_mass_0.5"] = gate_report(Gate(), seen["test"], seen["notdogs"][held_m], held_cats)
    return gate, report


def _metrics(row, feats, report) -> dict:
    test, wild, extra = row["test"], row["wild"], row["extra"]

    def figures(m: dict) -> dict:
        return {k: round(m[k], 4) for k in ("top1", "top5", "log_loss", "ece", "balanced_top1", "ece_floor") if k in m}

    metrics = {
        "evaluated_on": f"held-out Stanford Dogs: the TEST split of training.holdout (10 photos per breed, seed {SEED}, "
                        f"{len(feats[LITE0]['test'].labels)} photos); ImageNet-pretrained backbones may have seen them",
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
    return metrics


def write_model(name: str, row, feats, heads, nd, data: Path,
                singles: dict[str, ModelArtifact], cascade=None) -> ModelArtifact | None:
    """Write the built-in model `name` from a measured variant `row`. A one-backbone model ("fast") is an artifact
    (returned); "balanced" is a one-backbone artifact under a manifest that adds the fast model's file as its gate's
    member, with `cascade` = (gate, report) from builtin_models_cascade; "accurate" is a manifest whose members
    reuse `singles`' files when the same."""
    gate, report = _gate_for(row["members"], feats, nd)
    metrics = _metrics(row, feats, report)
    provenance = {
        "data": f"{data.name}: heads trained on the TRAIN split (centre crops)"
                + (" and wild-extra" if row["extra_trained"] else "") + "; ImageNet-1k backbones; features from "
                "ONNX Runtime", "variant": row["variant"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "app_version": __version__,
        "torch": torch.__version__, "script": "scripts/make_builtin_models.py",
    }
    arts = []
    for key, kind in row["members"]:
        w, b, _ = heads[key][kind]
        backbone = key.partition("@")[0]
        arts.append(ModelArtifact(backbone=backbone, classes=list(BREED_IDS), preprocessing=preprocessing(key),
                                  head_weight=w, head_bias=b,
                                  backbone_weights=backbone_spec(backbone).weights_reference(),
                                  temperature=row["temperature"], test_time_mirror=True, gate=gate.to_dict(),
                                  metrics=metrics, provenance=provenance))
    if name == "balanced":
        (art,) = arts  # its own gate is Lite1's alone: what the file does when opened by itself
        art.name = f"{backbone_spec(art.backbone).title} + mirror (the balanced model's breeds)"
        folder = resource(BUILTIN_MODELS[name]).parent
        save_artifact(art, folder / BALANCED_MEMBER)
        gate, report = cascade
        metrics["gate"] = {"fitted_on": "calibration dogs vs the not-dogs TUNE half; Lite0's ImageNet logits join "
                           "Lite1's inside the band", "test_dogs_and_not_dogs_heldout": report}
        ens = Ensemble([art], row["temperature"], gate.to_dict(),
                       f"{backbone_spec(art.backbone).title} + mirror ({TITLES[name]})",
                       metrics, provenance, gate_members=[singles["fast"]])
        text = json.dumps(ens.manifest([BALANCED_MEMBER], [Path(BUILTIN_MODELS["fast"]).name]), indent=1) + "\n"
        atomic_write(resource(BUILTIN_MODELS[name]), lambda tmp: tmp.write_text(text))
        print(json.dumps({name: row["variant"], **metrics}, indent=1), flush=True)
        return art
    if name != "accurate":
        (art,) = arts
        art.name = f"{backbone_spec(art.backbone).title} + mirror ({TITLES[name]})"
        save_artifact(art, resource(BUILTIN_MODELS[name]))
        print(json.dumps({name: row["variant"], **metrics}, indent=1), flush=True)
        return art
    files = []
    for a in arts:
        same = [n for n, s in singles.items() if s.backbone == a.backbone
                and np.array_equal(np.asarray(a.head_weight), np.asarray(s.head_weight))
                and np.array_equal(np.asarray(a.head_bias), np.asarray(s.head_bias))]
        if same:  # that one-backbone model's artifact doubles as this member (balanced's is under its manifest)
            files.append(BALANCED_MEMBER if same[0] == "balanced" else Path(BUILTIN_MODELS[same[0]]).name)
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
    return None


def write_table(rows, chosen: dict, members) -> None:
    """benchmarks/results/builtin_models_variants.md: every variant measured, the built-in ones marked."""
    def pct(m, k):
        return f"{m[k]:.1%}"

    lines = ["| variant | held-out top-1 | log loss | ECE (floor) | wild-dev top-1 | balanced | log loss | balanced log "
             "loss (chooses) | ECE (floor) | wild-extra top-1 | T |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t, w, e = r["test"], r["wild"], r["extra"]
        mark = "".join(f" **({name})**" for name, c in chosen.items() if c is r)
        extra = "–" if e is None else pct(e, "top1") + (" (trained on)" if r["extra_trained"] else "")
        lines.append(f"| {r['variant']}{mark} | {pct(t, 'top1')} | {t['log_loss']:.3f} | {pct(t, 'ece')} "
                     f"({pct(t, 'ece_floor')}) | {pct(w, 'top1')} | {pct(w, 'balanced_top1')} | {w['log_loss']:.3f} | "
                     f"{w['balanced_log_loss']:.4f} | {pct(w, 'ece')} ({pct(w, 'ece_floor')}) | {extra} | "
                     f"{r['temperature']:.3f} |")
    head = ("Held-out Stanford Dogs: the TEST split of training.holdout, 1,200 photos, never fitted on (they come from "
            "ImageNet, which the backbones were trained on: the figures flatter). wild-dev: 341 dog photos from outside "
            "ImageNet, the development set: temperatures are fitted and variants chosen on it (never weights), its "
            "figures cross-fitted over two folds by source (heads' epochs and recipes are chosen on it too). "
            "wild-extra: 965 more, mostly puppies, noisier labels; heads marked 'trained on' learnt from them. Every "
            "model averages the photo and its mirror image; temperatures are fitted on the CALIBRATION split (600 "
            "Stanford photos) and wild-dev, each half the loss; variants are chosen by wild-dev's cross-fitted "
            "per-breed log loss. ECE (floor): the ECE measured, and in brackets what a perfectly calibrated model "
            "reads at the same confidences on the same photos. Features from ONNX Runtime, averaged over both views "
            "(the app skips the mirror above 95 % confidence). Written by `scripts/make_builtin_models.py build`.\n\n")
    if members:
        head += f"The accurate model's members were given (`--members {','.join(members)}`) rather than chosen.\n\n"
    OUT_TABLE.parent.mkdir(parents=True, exist_ok=True)
    OUT_TABLE.write_text(head + "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
