"""How responsive the window stays while it classifies: drop N real photos on the Classify tab offscreen and
let a 10 ms QTimer probe record every gap in the event loop.

    DOGBREED_DATA=/path/to/dog-breed-identification python benchmarks/bench_gui_responsiveness.py [-n 200]

A gap is the time between two probe ticks; with nothing blocking it stays near 10 ms. Two phases are measured:
the model load (torch imported in the worker thread) and the classification of the dropped photos, during
which the list is also clicked every 250 ms (large photo decoded, chart redrawn) as a user would.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class Probe:
    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def take(self) -> list[float]:
        gaps, self.gaps = self.gaps, []
        return gaps


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def photos(data: Path, n: int) -> list[Path]:
    with open(data / "labels.csv", newline="") as f:
        ids = sorted(row["id"] for row in csv.DictReader(f))
    return [data / "train" / f"{i}.jpg" for i in random.Random(0).sample(ids, n)]


def wait_until(app, condition, timeout_s: float) -> None:
    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError
        app.processEvents()
        time.sleep(0.001)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200, help="photos to drop")
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"), help="dog-breed-identification folder")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--as-folder", action="store_true", help="drop one folder (of links to the photos) instead")
    args = ap.parse_args()
    if not args.data:
        ap.error("set DOGBREED_DATA or pass --data")
    from dogbreed_desktop.core import threads
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow

    threads.decide("gui")  # as the app's start does
    app = application()
    window = MainWindow(device=args.device)
    window.resize(900, 600)
    window.show()
    app.processEvents()
    assert "torch" not in sys.modules, "torch was imported before the worker loaded the model"
    probe, tab = Probe(), window.classify_tab
    loaded = []
    window.client.model_loaded.connect(loaded.append)
    probe.start()
    t0 = time.perf_counter()
    window.start(None, [])
    wait_until(app, lambda: loaded, 120)
    load_s, load_gaps = time.perf_counter() - t0, probe.take()

    files = photos(Path(args.data), args.n)
    dropped = files
    if args.as_folder:
        folder = Path(tempfile.mkdtemp(prefix="dogbreed-bench-"))
        for f in files:
            (folder / f.name).symlink_to(f)
        dropped = [folder]
    first: list[float] = []
    window.client.results.connect(lambda *_: first or first.append(time.perf_counter()))
    rng = random.Random(1)
    clicker = __import__("PySide6.QtCore", fromlist=["QTimer"]).QTimer()
    clicker.timeout.connect(lambda: tab.model.rowCount() and tab.list.select_row(rng.randrange(tab.model.rowCount())))
    probe.start()
    t0 = time.perf_counter()
    tab.add_paths(dropped)  # what a drop on the tab does with the dropped paths
    clicker.start(250)
    wait_until(app, lambda: tab.model.rowCount() == len(files) and not window.client.busy, 600)
    total_s, gaps = time.perf_counter() - t0, probe.take()
    clicker.stop()
    done = sum(r.state == "done" for r in tab.model.rows())
    info = window.client.model
    window.close()
    if args.as_folder:
        shutil.rmtree(dropped[0])

    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    how = "as one folder" if args.as_folder else "as files"
    print(f"model: {info.name} on {info.device}; {len(files)} photos dropped {how}, from {args.data}")
    print(f"{'phase':<34}{'max gap':>10}{'p99 gap':>10}{'p50 gap':>10}{'ticks':>8}")
    for name, g in ((f"model load ({load_s:.1f} s)", load_gaps), (f"classifying {len(files)} photos", gaps)):
        print(f"{name:<34}{ms(max(g)):>10}{ms(quantile(g, 0.99)):>10}{ms(quantile(g, 0.5)):>10}{len(g):>8}")
    print(f"time to first verdict: {ms(first[0] - t0)}; all {done} verdicts in {total_s:.1f} s "
          f"({len(files) / total_s:.1f} photos/s); ticks over 50 ms: {sum(g > 0.05 for g in gaps)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
