"""Take docs/img/evaluate_*.png: the real window's Evaluate tab, offscreen, after evaluating a model on real photos.

    DOGBREED_DATA=/path/to/dog-breed-identification python scripts/make_evaluate_screenshots.py \
        [--model RUN_OR_FILE] [--per-class 10] [--out docs/img]

The photos are linked (not copied) into a temporary folder, one folder per breed.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent  # where docs/ is; the package itself comes from the installed one


def link_subset(data: Path, per_class: int, dest: Path) -> Path:
    with open(data / "labels.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["id"])
    seen: dict[str, int] = {}
    for r in rows:
        if seen.get(r["breed"], 0) < per_class:
            seen[r["breed"]] = seen.get(r["breed"], 0) + 1
            (dest / r["breed"]).mkdir(parents=True, exist_ok=True)
            (dest / r["breed"] / f"{r['id']}.jpg").symlink_to(data / "train" / f"{r['id']}.jpg")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    ap.add_argument("--validation", action="store_true", help="--model is a run: use its validation photos")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from dogbreed_desktop.gui.main_window import MainWindow

    app = QApplication([])
    window = MainWindow(device="cpu")
    window.resize(1280, 860)
    window.show()
    window.start(args.model, [])
    photos = None
    if not args.validation:
        photos = link_subset(Path(os.environ["DOGBREED_DATA"]), args.per_class, Path(tempfile.mkdtemp()) / "photos")
    view = window.evaluate_view
    done = []
    view.evaluated.connect(done.append)
    view.failed.connect(lambda m: sys.exit(f"failed: {m}"))
    while window.client.model is None:
        app.processEvents()
        time.sleep(0.02)
    if photos:
        view.prepare(None, str(photos))
    window.evaluate_model(None)  # File > Evaluate Model on Photos..., the active model
    while not done:
        app.processEvents()
        time.sleep(0.02)
    ev = done[0]
    print(f"{len(ev.records)} photos in {ev.seconds:.0f} s")

    def settle(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.02)

    view.tabs.setCurrentWidget(view.confusion)
    pairs = view.confusion.pairs
    pairs.setCurrentRow(0)
    view.confusion._pair_clicked(pairs.item(0))
    settle(4)
    out = Path(args.out)
    window.grab().save(str(out / "evaluate_confusion.png"))
    view.tabs.setCurrentWidget(view.misclassified)
    settle(6)
    window.grab().save(str(out / "evaluate_misclassified.png"))
    view.tabs.setCurrentWidget(view.breeds)
    settle(1)
    window.grab().save(str(out / "evaluate_breeds.png"))
    view.tabs.setCurrentWidget(view.reliability)
    settle(1)
    window.grab().save(str(out / "evaluate_reliability.png"))
    window.close()


if __name__ == "__main__":
    main()
