"""Training speed and accuracy on the real photo set, through the same code the app and the CLI run.

    python benchmarks/bench_training.py --data /work/shared/data/dog-breed-identification \
        [--backbones efficientnet_lite0 efficientnet_lite2] [--per-class N] [--finetune-batches 3]

Per backbone it prints: feature extraction speed (img/s, measured on uncached images), seconds per fast-mode
epoch on cached features (75% of the set: 9,000 images for the full set), the validation top-1 the fast mode
reaches on the fixed 25% split (seed 0) and where it started (the ImageNet dog rows), and the CPU time of a
fine-tuning step. Features for the whole set are cached in the app's cache folder (the first run extracts them;
later runs take seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from dogbreed_desktop.core.torch.backbones import build_backbone
from dogbreed_desktop.core.torch.network import BreedNet
from dogbreed_desktop.core.control import Control
from dogbreed_desktop.core.devices import describe_device, resolve_device
from dogbreed_desktop.core.torch.heads import initial_head
from dogbreed_desktop.core.torch.precision import Precision
from training.batches import ImageBatches
from training.config import make_config, preprocessing_for
from training.epochs import train_one_epoch
from training.features import Embedder, FeatureCache, extract_features
from training.preflight import preflight
from training.run import start_run
from training.runfolder import read_metrics
from training.split import stratified_split


class Bar(Control):
    """A progress line on stderr every `every` seconds and at each phase's end (bench_modes.py uses it too)."""

    def __init__(self, label: str, every: float = 5.0):
        super().__init__()
        self.label, self.last, self.every = label, 0.0, every

    def progress(self, done, total, message=""):
        now = time.monotonic()
        if now - self.last > self.every or done == total:
            self.last = now
            print(f"  {self.label}: {message} {done}/{total}", file=sys.stderr, flush=True)


def extraction_speed(samples, backbone_name, prep, device, n: int) -> tuple[float, str]:
    """Images/s of fast-mode feature extraction (decode + backbone, no cache), and the engine that ran it."""
    precision = Precision.resolve(device)
    embed = Embedder(backbone_name, precision.place(build_backbone(backbone_name)), prep, precision)
    subset = samples[:n]
    extract_features(subset[:32], embed)  # warm-up
    start = time.perf_counter()
    extract_features(subset, embed)  # no cache: everything decoded and computed
    return len(subset) / (time.perf_counter() - start), embed.engine


def finetune_step(split, classes, backbone_name, prep, device, batches: int, batch_size: int) -> float:
    from training.augment import train_transform

    backbone = build_backbone(backbone_name)
    head, _ = initial_head(backbone, classes)
    precision = Precision.resolve(device, amp=True, images=True)
    model = precision.place(BreedNet(backbone, head))
    index = {c: i for i, c in enumerate(classes)}
    samples = split.train[: batches * batch_size]
    data = ImageBatches(samples, [index[s.label] for s in samples], prep, batch_size, transform=train_transform(prep),
                        shuffle=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    train_one_epoch(model, [next(iter(data))], opt, loss_fn=loss_fn, precision=precision)  # warm-up
    out = train_one_epoch(model, data, opt, loss_fn=loss_fn, precision=precision, scaler=precision.grad_scaler())
    return out["seconds"] / max(1, out["batches"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--backbones", nargs="+", default=["efficientnet_lite0"])
    ap.add_argument("--per-class", type=int, help="only the first N photos of each breed")
    ap.add_argument("--speed-images", type=int, default=256, help="uncached images timed for extraction speed")
    ap.add_argument("--finetune-batches", type=int, default=3)
    ap.add_argument("--finetune-batch-size", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = resolve_device(args.device)
    report = preflight(args.data, per_class=args.per_class)
    print(f"data: {args.data}: {len(report.samples)} images, {len(report.classes)} classes; "
          f"device: {describe_device(device)}", flush=True)
    rows = []
    for name in args.backbones:
        config = make_config(args.data, mode="fast", device=args.device, backbone=name, per_class=args.per_class,
                             patience=3)
        prep = preprocessing_for(config)
        split = stratified_split(report.samples, config.val_fraction, config.seed)
        os.environ["DOGBREED_ENGINE"] = "torch"  # the extraction before ONNX Runtime, for the ratio
        torch_speed, _ = extraction_speed(split.train, name, prep, device, args.speed_images)
        os.environ.pop("DOGBREED_ENGINE")
        speed, engine = extraction_speed(split.train, name, prep, device, args.speed_images)
        print(f"{name}: extraction {speed:.1f} img/s ({engine}), torch {torch_speed:.1f} img/s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            cached = len(FeatureCache(_cache(), name, prep, engine))
            t0 = time.perf_counter()
            result = start_run(config, Path(tmp) / "run", control=Bar(name), report=report, device=device)
            total = time.perf_counter() - t0
            epochs = [r["seconds"] for r in result_history(Path(tmp) / "run") if r["epoch"] > 0]
        step = finetune_step(split, report.classes, name, prep, device, args.finetune_batches,
                             args.finetune_batch_size)
        rows.append({
            "backbone": name,
            "extract": speed,
            "engine": engine,
            "extract_torch": torch_speed,
            "train_images": len(split.train),
            "epoch_s": statistics.median(epochs) if epochs else float("nan"),
            "epochs": len(epochs),
            "best_epoch": result.best_epoch,
            "start": result.metrics.get("start_val_top1"),
            "top1": result.metrics["val_top1"],
            "top5": result.metrics["val_top5"],
            "run_s": total,
            "cached_before": cached,
            "ft_step": step,
        })
    print()
    print(f"| backbone | extraction img/s (engine) | torch extraction img/s | fast epoch s ({rows[0]['train_images']} train imgs) | epochs run (best) "
          f"| val top-1 start (ImageNet rows) | val top-1 reached | val top-5 | whole run s (cache) "
          f"| finetune CPU s/step (batch {args.finetune_batch_size}) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        start = f"{r['start']:.2%}" if r["start"] is not None else "-"
        print(f"| {r['backbone']} | {r['extract']:.1f} ({r['engine']}) | {r['extract_torch']:.1f} "
              f"({r['extract'] / r['extract_torch']:.1f}x) | {r['epoch_s']:.3f} | {r['epochs']} ({r['best_epoch']}) "
              f"| {start} | {r['top1']:.2%} | {r['top5']:.2%} | {r['run_s']:.1f} ({r['cached_before']} cached) "
              f"| {r['ft_step']:.2f} |")


def _cache() -> Path:
    from dogbreed_desktop.paths import cache_dir

    return cache_dir() / "features"


def result_history(run_dir: Path) -> list[dict]:
    return read_metrics(run_dir / "metrics.csv")


if __name__ == "__main__":
    main()
