"""Take docs/img/train_before.png, train_during.png, train_after.png and train_tab_child_died.png: the real window's
Train tab at its default size, offscreen, before a run (a 120-breed folder checked), during and after a real
short fast-mode run, and after that run, resumed, lost its training process (SIGKILL; POSIX).

    DOGBREED_DATA=/path/to/dog-breed-identification python scripts/make_train_screenshots.py [--out docs/img]

The photos are linked (never copied) into a temporary folder: 120 breeds with 4-30 photos each (a long tail)
for the chart, and 4 breeds x 8 photos for the run.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
RUN_BREEDS = ("beagle", "pug", "samoyed", "siberian_husky")


def link_photos(data: Path, dest: Path, counts) -> Path:
    """A folder per breed of symlinks to the Kaggle photos; `counts(i, breed)` photos for the i-th breed."""
    with open(data / "labels.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["id"])
    by_breed: dict[str, list[str]] = {}
    for r in rows:
        by_breed.setdefault(r["breed"], []).append(r["id"])
    for i, breed in enumerate(sorted(by_breed)):
        n = counts(i, breed)
        if n:
            (dest / breed).mkdir(parents=True, exist_ok=True)
        for image_id in by_breed[breed][:n]:
            (dest / breed / f"{image_id}.jpg").symlink_to(data / "train" / f"{image_id}.jpg")
    return dest


def save(widget, path: Path) -> None:
    widget.grab().save(str(path), "PNG")
    from PIL import Image

    with Image.open(path) as shot:  # a 256-colour palette, as make_screenshot.py does
        small = shot.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)
    print(f"wrote {path} ({widget.width()}x{widget.height()})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    if not args.data:
        ap.error("set DOGBREED_DATA or pass --data")
    tmp = Path(tempfile.mkdtemp(prefix="dogbreed-train-shots-"))
    os.environ.setdefault("DOGBREED_HOME", str(tmp / "home"))  # default settings, an empty runs folder
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow

    data = Path(args.data)
    many = link_photos(data, tmp / "breeds120", lambda i, _: 4 + round(26 * ((i * 37) % 120 / 119) ** 2))
    few = link_photos(data, tmp / "breeds4", lambda _, breed: 8 if breed in RUN_BREEDS else 0)
    app = application()
    window = MainWindow(device="cpu")  # its default size (window_state.DEFAULT_SIZE)
    window.show()
    window.start(None, [])
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)

    def settle(condition, timeout=300.0):
        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        if not condition():
            raise SystemExit("timed out")

    def pause(seconds=0.5):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    args.out.mkdir(parents=True, exist_ok=True)
    tab.data.set_folder(str(many))
    settle(lambda: tab.data.report is not None)
    pause()
    save(window, args.out / "train_before.png")

    tab.settings.set_values(mode="fast", device="cpu", epochs=300, patience=0, cache_dir=str(tmp / "features"))
    tab.data.set_folder(str(few))
    settle(lambda: tab.data.report is not None)
    tab.controls.start_button.click()
    settle(lambda: tab.curves.points() >= 12)
    pause(0.3)
    save(window, args.out / "train_during.png")
    finished = []
    tab.run_finished.connect(finished.append)
    tab.controls.stop_button.click()
    settle(lambda: bool(finished) and not tab.training)
    pause()
    save(window, args.out / "train_after.png")

    stopped_at = tab.curves.points()
    tab.runs.resume_button.click()  # the run just stopped, continued, then its process killed from outside
    settle(lambda: tab.curves.points() >= stopped_at + 5)
    died = []
    tab.child.died.connect(died.append)
    os.kill(tab.child.pid, signal.SIGKILL)
    settle(lambda: bool(died) and not tab.training)
    pause()
    save(window, args.out / "train_tab_child_died.png")
    window.close()


if __name__ == "__main__":
    main()
