"""What evaluation costs over plain prediction, and how responsive the Evaluate view stays.

    DOGBREED_DATA=/path/to/dog-breed-identification python benchmarks/bench_evaluate.py [-n 300] [--repeat 2]

1. The same N real photos (a fixed sample, 120 breeds) through `Classifier.iter_predict` (what `predict` runs)
   and through `evaluate_photos` (what `evaluate` and the Evaluate view run), alternating, best of --repeat
   each: the ratio is evaluation's overhead (label resolving and per-photo records).
2. The Evaluate view (offscreen) evaluating the same photos from scratch and filling its tabs, with a 10 ms
   QTimer probe recording every event-loop gap; then filling it again from that result, and reopening it
   (the saved result). "idle" is the probe with nothing to do: on a loaded machine, the floor.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def sample(data: Path, n: int):
    from dogbreed_desktop.core.datasets import LabelledImage

    with open(data / "labels.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["id"])
    return [LabelledImage(data / "train" / f"{r['id']}.jpg", r["breed"]) for r in random.Random(0).sample(rows, n)]


def time_core(items, repeat: int) -> tuple[float, float]:
    from dogbreed_desktop.core.predict.classifier import Classifier
    from dogbreed_desktop.core.evaluate.evaluation import evaluate_photos

    clf = Classifier.load()
    paths = [i.path for i in items]
    clf.predict(paths[:8])  # warm-up
    best = {"predict": float("inf"), "evaluate": float("inf")}
    for _ in range(repeat):
        t = time.perf_counter()
        for _r in clf.iter_predict(paths, top_k=5, batch_size=32):
            pass
        best["predict"] = min(best["predict"], time.perf_counter() - t)
        t = time.perf_counter()
        evaluate_photos(clf, items, batch_size=32)
        best["evaluate"] = min(best["evaluate"], time.perf_counter() - t)
    return best["predict"], best["evaluate"]


def time_view(items) -> list[tuple[str, float, list[float]]]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dogbreed_desktop.gui.evaluate import EvaluateView

    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="dogbreed-bench-eval-"))
    for i in items:
        (folder / i.label).mkdir(exist_ok=True)
        (folder / i.label / i.path.name).symlink_to(i.path)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    view = EvaluateView()
    view.resize(1280, 860)
    view.show()
    out = []

    def measure(phase: str, action) -> object:
        done: list = []
        view.evaluated.connect(done.append)
        gaps.clear()
        last[0] = time.perf_counter()
        probe.start()
        t = time.perf_counter()
        action()
        while not done:
            app.processEvents()
            time.sleep(0.001)
        seconds = time.perf_counter() - t
        end = time.perf_counter() + 2.0  # the galleries' thumbnails arrive meanwhile
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
        probe.stop()
        view.evaluated.disconnect(done.append)
        out.append((phase, seconds, list(gaps)))
        return done[0]

    measure("idle (baseline)", lambda: view.evaluated.emit(None))  # the machine's own noise floor
    ev = measure("evaluate + fill", lambda: view.evaluate(None, str(folder)))
    measure("fill only", lambda: view.show_evaluation(ev))
    measure("reopen (saved result)", lambda: view.evaluate(None, str(folder)))
    view.shutdown()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    args = ap.parse_args()
    if not args.data:
        ap.error("set DOGBREED_DATA or pass --data")
    os.environ["DOGBREED_HOME"] = tempfile.mkdtemp(prefix="dogbreed-bench-home-")  # nothing saved yet
    items = sample(Path(args.data), args.n)
    predict_s, evaluate_s = time_core(items, args.repeat)
    print(f"{len(items)} real photos, best of {args.repeat}, same process, CPU")
    print(f"{'path':<28}{'seconds':>10}{'photos/s':>10}")
    for name, s in (("predict (iter_predict)", predict_s), ("evaluate (evaluate_photos)", evaluate_s)):
        print(f"{name:<28}{s:>10.2f}{len(items) / s:>10.1f}")
    print(f"evaluate / predict = {evaluate_s / predict_s:.3f}")
    print()
    print(f"{'Evaluate view':<26}{'seconds':>9}{'max gap':>10}{'p99 gap':>10}{'> 50 ms':>9}")
    for phase, seconds, gaps in time_view(items):
        s = sorted(gaps)
        p99 = s[min(len(s) - 1, int(0.99 * len(s)))] if s else float("nan")
        print(f"{phase:<26}{seconds:>9.2f}{max(gaps) * 1000:>8.0f}ms{p99 * 1000:>8.0f}ms{sum(g > 0.05 for g in gaps):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
