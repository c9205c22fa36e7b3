"""Build the two built-in models (fast, accurate) from cached features of the fixed splits.

    DOGBREED_DATA=... python scripts/make_builtin_models.py extract   # stage 1: features + ImageNet logits
    DOGBREED_DATA=... python scripts/make_builtin_models.py build     # stage 2: heads, temperatures, gate

Stage 1 stores, per backbone (EfficientNet-Lite0/1/2), the pooled features and the full 1000-way ImageNet
logits of each photo and of its mirror image, a chunk per file under /tmp/i10-features/<backbone>/<part>/
(resumable: finished chunks are skipped). The order is `PLAN`; training photos come in a seeded shuffle, so
a partly finished run still holds a random sample for training.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch


from dogbreed_desktop.core.backbones import backbone_spec, build_backbone  # noqa: E402
from dogbreed_desktop.core.holdout import not_dogs_dir, not_dogs_split, stanford_split  # noqa: E402
from dogbreed_desktop.core.preprocess import load_image, normalize, resize_and_crop, to_uint8_array  # noqa: E402

CACHE = Path(os.environ.get("I10_FEATURES", "/tmp/i10-features"))
CHUNK = 100


def parts(data: Path) -> dict[str, list[tuple[Path, str]]]:
    st = stanford_split(data)
    nd = not_dogs_split(not_dogs_dir(data))
    train = list(st["train"])
    random.Random(1).shuffle(train)
    return {"calib": st["calib"], "test": st["test"], "notdogs": nd["tune"] + nd["heldout"], "train": train}


# (backbone, part, mirror, first N photos) in the order they run: what the fast model needs first, then the
# training photos for its head, then the ensemble's second member (without mirror: it costs 2.3 Lite0s), then
# more training photos (no mirror) in a seeded random order, so that a partly finished run still holds a random
# sample. The shared 2-core machine gave this a third of one core for the first half hour, hence the order.
LITE0, LITE1, LITE2 = "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"
MIRRORED = "+mirror"  # a part extracted again with mirror images, kept beside the first pass
PLAN = (
    [(LITE0, p, True, None) for p in ("calib", "test", "notdogs")]
    + [(LITE0, "train", False, 1200)]
    + [(LITE2, p, False, None) for p in ("calib", "test", "notdogs")]
    + [(LITE0, "train", False, None), (LITE2, "train", False, 2400), (LITE2, "train", False, None)]
    # once the machine got quieter: the second member's photos again, with their mirror images
    + [(LITE2, p + MIRRORED, True, None) for p in ("calib", "test", "notdogs")]
    + [(LITE1, p, True, None) for p in ("calib", "test", "notdogs")]
    + [(LITE1, "train", False, None)]
)


@torch.inference_mode()
def _forward(model, batch: torch.Tensor, prep) -> tuple[np.ndarray, np.ndarray]:
    x = normalize(batch, prep).contiguous(memory_format=torch.channels_last)
    feats = model.forward_features(x)
    return feats.numpy().astype(np.float32), model.imagenet_fc(feats).numpy().astype(np.float32)


def extract(data: Path) -> None:
    torch.set_num_threads(2)
    models: dict = {}
    pool = ThreadPoolExecutor(1)
    all_parts = parts(data)
    for name, part, mirror, limit in PLAN:
        items = all_parts[part.removesuffix(MIRRORED)][:limit]
        out_dir = CACHE / name / part
        out_dir.mkdir(parents=True, exist_ok=True)
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        for ci, chunk in enumerate(chunks):
            target = out_dir / f"{ci:04d}.npz"
            if target.exists():
                continue
            if name not in models:
                models[name] = build_backbone(name).to(memory_format=torch.channels_last)
            prep = backbone_spec(name).preprocessing
            t0 = time.time()
            images = list(pool.map(lambda it: load_image(it[0]), chunk))
            batch = torch.from_numpy(np.stack([to_uint8_array(resize_and_crop(img, prep)) for img in images]))
            out = {"paths": np.array([str(p) for p, _ in chunk]), "labels": np.array([lab for _, lab in chunk])}
            fs, ls, fms, lms = [], [], [], []
            for s in range(0, len(batch), 50):
                b = batch[s : s + 50]
                f, lo = _forward(models[name], b, prep)
                fs.append(f), ls.append(lo)
                if mirror:
                    fm, lm = _forward(models[name], b.flip(3), prep)
                    fms.append(fm), lms.append(lm)
            out["feat"], out["logit"] = np.concatenate(fs), np.concatenate(ls)
            if mirror:
                out["feat_m"], out["logit_m"] = np.concatenate(fms), np.concatenate(lms)
            tmp = out_dir / f".{ci:04d}.tmp.npz"
            np.savez(tmp, **out)
            os.replace(tmp, target)
            dt = time.time() - t0
            print(f"{time.strftime('%H:%M:%S')} {name} {part} chunk {ci + 1}/{len(chunks)}: {len(chunk)} photos "
                  f"in {dt:.1f}s ({len(chunk) / dt:.1f}/s)", flush=True)
    print("extract done", flush=True)


def load_part(name: str, part: str) -> dict[str, np.ndarray]:
    """All finished chunks of one backbone's part, concatenated; the mirrored pass when it is complete."""
    files = sorted((CACHE / name / part).glob("[0-9]*.npz"))
    mirrored = sorted((CACHE / name / (part + MIRRORED)).glob("[0-9]*.npz"))
    if files and len(mirrored) == len(files):
        files = mirrored
    if not files:
        raise SystemExit(f"no features for {name} {part} in {CACHE}: run the extract stage first")
    chunks = [dict(np.load(f)) for f in files]
    common = set.intersection(*(set(c) for c in chunks))  # mirror features only where every chunk has them
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0] if k in common}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=("extract", "build"))
    ap.add_argument("--data", type=Path, default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--table-only", action="store_true", help="build: measure and write the table, not the models")
    ap.add_argument("--members", help="build: the accurate ensemble's backbones, comma-separated "
                    "(default: the best ensemble by calibration log loss)")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    if args.stage == "extract":
        extract(Path(args.data))
    else:
        from builtin_models_fit import build  # noqa: E402 (stage 2 lives next to this script)

        members = tuple(args.members.split(",")) if args.members else None
        build(Path(args.data), write_models=not args.table_only, members=members)


if __name__ == "__main__":
    main()
