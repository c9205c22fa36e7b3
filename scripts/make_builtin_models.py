"""Build the three built-in models (fast, balanced, accurate) from cached features of the fixed splits.

    DOGBREED_DATA=... python scripts/make_builtin_models.py extract   # stage 1: features + ImageNet logits
    DOGBREED_DATA=... python scripts/make_builtin_models.py build     # stage 2: heads, temperatures, gate

Stage 1 runs each backbone on ONNX Runtime (the app's own CPU engine, `core.engine.engine.OrtEngine`) and stores, per
backbone, part and VIEW of a photo, the pooled features and the full 1000-way ImageNet logits, a chunk per file
under /tmp/i20-features/<backbone>/<part>/<view>/ (resumable: finished chunks are skipped). Views: "c" the
centre crop the app uses and "m" its mirror image (the app averages both; heads train on each as its own
example). Parts: the splits of training.holdout, the not-dogs, and
wild-dev, which is MEASURED only (never fitted on). The order is `PLAN`; training photos come in a seeded
shuffle, so a partly finished run still holds a random sample.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from dogbreed_desktop.core.engine.engine import OrtEngine
from dogbreed_desktop.core.engine.graphs import package_artifact
from training.holdout import not_dogs_dir, not_dogs_split, stanford_split, wild_dev, wild_extra
from dogbreed_desktop.core.predict.preprocess import load_image, normalize, resize_and_crop, to_uint8_array

from builtin_features import (CACHE, LITE0, LITE0_HI, LITE1, LITE2, LITE2_HI, TEST_VIEWS,  # stage 2 shares these
                              preprocessing)

CHUNK = 100
EVAL_PARTS = ("calib", "test", "notdogs", "wild", "extra")


def parts(data: Path) -> dict[str, list[tuple[Path, str]]]:
    st = stanford_split(data)
    nd = not_dogs_split(not_dogs_dir(data))
    train = list(st["train"])
    random.Random(1).shuffle(train)
    return {"calib": st["calib"], "test": st["test"], "notdogs": nd["tune"] + nd["heldout"], "train": train,
            "wild": wild_dev(data), "extra": wild_extra(data)}


# (cache key, part, views, first N photos) in the order they run: the fast model's evaluation parts and centre
# crops of the training photos first, then the accurate model's second member, then the larger test resolutions
# (Lite0 at 256 px, Lite2 at 292: measured with the heads trained at the backbone's own size), then the training
# photos' mirror images (heads train on both views when they are there).
PLAN = (
    [(LITE0, p, TEST_VIEWS, None) for p in EVAL_PARTS] + [(LITE0, "train", ("c",), None)]
    + [(LITE2, p, TEST_VIEWS, None) for p in EVAL_PARTS] + [(LITE2, "train", ("c",), None)]
    + [(key, p, TEST_VIEWS, None) for key in (LITE0_HI, LITE2_HI) for p in ("calib", "wild", "extra", "test")]
    + [(LITE0, "train", ("m",), None), (LITE2, "train", ("m",), None)]
    + [(LITE1, p, TEST_VIEWS, None) for p in EVAL_PARTS] + [(LITE1, "train", ("c", "m"), None)]
)


def view(img, key: str, v: str) -> np.ndarray:
    x = to_uint8_array(resize_and_crop(img, preprocessing(key)))
    return x[:, :, ::-1] if v == "m" else x


def extract(data: Path, only: str | None = None) -> None:
    engines: dict = {}
    pool = ThreadPoolExecutor(1)
    all_parts = parts(data)
    for key, part, views, limit in PLAN:
        if only and key != only:
            continue
        items = all_parts[part][:limit]
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        for ci, chunk in enumerate(chunks):
            targets = {v: CACHE / key / part / v / f"{ci:04d}.npz" for v in views}
            todo = [v for v, t in targets.items() if not t.exists()]
            if not todo:
                continue
            if key not in engines:
                engines[key] = OrtEngine([package_artifact(key.partition("@")[0])], n_threads=2)
            prep = preprocessing(key)
            t0 = time.time()
            images = list(pool.map(lambda it: load_image(it[0], draft=prep.resize), chunk))
            meta = {"paths": np.array([str(p) for p, _ in chunk]), "labels": np.array([lab for _, lab in chunk])}
            for v in todo:
                batch = np.stack([view(img, key, v) for img in images])
                fs, ls = [], []
                for s in range(0, len(batch), 50):
                    out = engines[key].run(0, normalize(batch[s : s + 50], prep))
                    fs.append(out.features), ls.append(out.imagenet)
                targets[v].parent.mkdir(parents=True, exist_ok=True)
                tmp = targets[v].parent / f".{ci:04d}.tmp.npz"
                np.savez(tmp, feat=np.concatenate(fs), logit=np.concatenate(ls), **meta)
                os.replace(tmp, targets[v])
            dt = time.time() - t0
            print(f"{time.strftime('%H:%M:%S')} {key} {part} {'+'.join(todo)} chunk {ci + 1}/{len(chunks)}: "
                  f"{len(chunk)} photos in {dt:.1f}s", flush=True)
    print("extract done", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=("extract", "build"))
    ap.add_argument("--data", type=Path, default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--only", help="extract: only this cache key (e.g. efficientnet_lite0)")
    ap.add_argument("--table-only", action="store_true", help="build: measure and write the table, not the models")
    ap.add_argument("--keep-fast", action="store_true", help="build: write balanced and accurate only, keeping "
                    "the shipped fast model (its temperature too)")
    ap.add_argument("--members", help="build: the accurate ensemble's cache keys, comma-separated "
                    "(default: the best ensemble by calibration log loss)")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    if args.stage == "extract":
        extract(Path(args.data), args.only)
    else:
        from builtin_models_fit import build  # noqa: E402 (stage 2 lives next to this script)

        members = tuple(args.members.split(",")) if args.members else None
        build(Path(args.data), write_models=not args.table_only, members=members, keep_fast=args.keep_fast)


if __name__ == "__main__":
    main()
