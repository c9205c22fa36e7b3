"""The three training modes on the same small subset and split, on the CPU, through `start_run` (what the CLI
and the Train tab call):

    python benchmarks/bench_modes.py [--data DIR] [--breeds 30] [--per-breed 40] [--modes fast top finetune]
        [--write benchmarks/results/training_modes.md] [--set mode.key=value ...]

The subset: `--breeds` breeds of labels.csv drawn with seed 0 (the alphabetically first 20 start at 99 % top-1:
nothing to learn), the first `--per-breed` photos of each (sorted
ids), linked into a temporary folder; the split is the runs' own (stratified, 25 % validation, seed 0), the
same for every mode. Each mode starts with an empty cache, so its seconds include feature or activation
extraction; the ONNX export of a model with an embedded backbone is timed apart.

Prints one markdown row per mode: validation top-1, validation log loss (best epoch, with the temperature
fitted on those same validation photos, as every run does), the start (epoch 0), epochs run, seconds.
The photos come from ImageNet, which the backbone was trained on: the figures flatter all three modes.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
import time
from pathlib import Path

from dogbreed_desktop.core.threads import decide
from training.config import make_config
from training.run import start_run

from bench_training import Bar  # noqa: E402  (benchmarks/ is on the path when run as a script)


def subset(data: Path, breeds: int, per_breed: int, folder: Path) -> Path:
    """A Kaggle-layout folder (labels.csv + train/ links) holding the subset."""
    with open(data / "labels.csv", newline="") as f:
        rows = sorted((r["breed"], r["id"]) for r in csv.DictReader(f))
    chosen = sorted(random.Random(0).sample(sorted({b for b, _ in rows}), breeds))  # the first ones are easy
    picked = [(b, i) for b in chosen for i in [i for bb, i in rows if bb == b][:per_breed]]
    (folder / "train").mkdir(parents=True)
    with open(folder / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "breed"])
        for breed, image_id in picked:
            w.writerow([image_id, breed])
            os.symlink(data / "train" / f"{image_id}.jpg", folder / "train" / f"{image_id}.jpg")
    return folder


def parse_sets(items: list[str]) -> dict[str, dict]:
    """["finetune.lr=1e-3", ...] -> {"finetune": {"lr": 0.001}}."""
    out: dict[str, dict] = {}
    for item in items:
        key, value = item.split("=", 1)
        mode, name = key.split(".", 1)
        out.setdefault(mode, {})[name] = type_of(value)
    return out


def type_of(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def run_mode(mode: str, data: Path, work: Path, settings: dict, export: bool = True) -> dict:
    from dogbreed_desktop.core.engine import graph_making

    exported = []
    real = graph_making.write_graph_beside

    def timed(artifact):
        start = time.perf_counter()
        try:
            return real(artifact) if export else None
        finally:
            exported.append(time.perf_counter() - start)

    graph_making.write_graph_beside = timed
    try:
        cfg = make_config(data, mode=mode, device="cpu", cache_dir=str(work / f"cache-{mode}"), decode_threads=2,
                          **settings)
        start = time.perf_counter()
        result = start_run(cfg, work / f"run-{mode}", control=Bar(mode, every=30))
        seconds = time.perf_counter() - start
    finally:
        graph_making.write_graph_beside = real
    m = result.metrics
    export = sum(exported)
    from training.runfolder import read_metrics

    curve = " → ".join(f"{r['val_loss']:.3f}" for r in read_metrics(work / f"run-{mode}" / "metrics.csv"))
    return {"mode": mode, "top1": m["val_top1"], "log_loss": m["val_log_loss"], "start": m["start_val_top1"],
            "best": m["best_epoch"], "epochs": m["epochs_run"], "seconds": seconds - export, "export": export,
            "images": m["val_images"], "model": result.model_path, "curve": curve, "lr": cfg.lr if cfg.lr is not None else "default",
            "config": {k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr", "weight_decay", "label_smoothing")}}


def table(rows: list[dict]) -> str:
    lines = ["| mode | val top-1 | val log loss | start top-1 | best epoch / run | seconds | ONNX export s | "
             "raw val loss by epoch |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['top1']:.1%} | {r['log_loss']:.3f} | {r['start']:.1%} | "
                     f"{r['best']} / {r['epochs']} | {r['seconds']:.0f} | {r['export']:.0f} | {r['curve']} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("DOGBREED_DATA"), help="dog-breed-identification folder")
    p.add_argument("--breeds", type=int, default=30)
    p.add_argument("--per-breed", type=int, default=40)
    p.add_argument("--modes", nargs="+", default=["fast", "top", "finetune"])
    p.add_argument("--set", nargs="*", default=[], help="mode.setting=value, e.g. finetune.epochs=4")
    p.add_argument("--write", help="also write the table (with the settings) to this markdown file")
    p.add_argument("--export", action=argparse.BooleanOptionalAction, default=True,
                   help="write the ONNX graph beside adapted models, as training does (minutes on a busy CPU)")
    p.add_argument("--gate", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure the not-a-dog gate's rates on the adapted models (gate_rates.py)")
    args = p.parse_args()
    if not args.data:
        p.error("give --data or set DOGBREED_DATA")
    decide("cli")
    sets = parse_sets(args.set)
    with tempfile.TemporaryDirectory(prefix="bench-modes-") as tmp:
        work = Path(tmp)
        data = subset(Path(args.data), args.breeds, args.per_breed, work / "data")
        rows = []
        for mode in args.modes:
            rows.append(run_mode(mode, data, work, sets.get(mode, {}), args.export))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
        gates = ""
        adapted = {r["mode"]: r["model"] for r in rows if r["mode"] != "fast" and r["model"]}
        if args.gate and adapted:
            from gate_rates import measure

            from dogbreed_desktop.paths import builtin_model_path

            models = {"built-in fast (ImageNet backbone)": builtin_model_path("fast"), **adapted}
            trained_on = {p.resolve() for p in (data / "train").iterdir()}
            gates = measure(models, Path(args.data), exclude=trained_on)
            print(gates, flush=True)
    text = table(rows)
    print(f"\n{args.breeds} breeds x {args.per_breed} photos, {rows[0]['images']} validation photos, "
          f"CPU threads {os.cpu_count()}\n\n{text}")
    if args.write:
        settings = "\n".join(f"- {r['mode']}: {r['config']}" for r in rows)
        Path(args.write).write_text(
            f"# Training modes on the CPU ({args.breeds} breeds x {args.per_breed} photos)\n\n"
            f"`python benchmarks/bench_modes.py --breeds {args.breeds} --per-breed {args.per_breed}"
            f"{' --set ' + ' '.join(args.set) if args.set else ''}`: {rows[0]['images']} validation photos "
            "(stratified 25 %, seed 0), the same split for every mode, on a shared 2-core CPU. The photos come "
            "from ImageNet, which the backbone was trained on: every figure flatters.\n\n"
            f"{text}\n\nSettings:\n{settings}\n"
            + (f"\n## The not-a-dog gate on the adapted backbones (gate_rates.py)\n\n{gates}\n" if gates else ""),
            encoding="utf-8")


if __name__ == "__main__":
    main()
