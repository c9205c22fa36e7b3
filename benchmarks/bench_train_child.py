"""The Train tab's training (a child process) against the CLI on the same machine, in one run: feature
extraction speed (images/s) and how long the window's event loop is ever blocked while it trains.

    DOGBREED_DATA=/path/to/dog-breed-identification python benchmarks/bench_train_child.py [--per-class 4] [--rounds 2]

Each round runs `dogbreed-desktop train --progress json --mode fast --epochs 1` from a plain process (the CLI)
and the same training from the Train tab offscreen (Start clicked; the tab runs it as a child process), each
with an empty feature cache, so every photo is decoded and run through the backbone. Extraction speed comes
from the run's own progress lines (first to last "extracting features" report). While the tab trains, a 10 ms
QTimer records every gap in the event loop. The two kinds of run alternate, so load from other programs falls
on both alike; the table gives the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rate(events: list[tuple[float, int, int]]) -> float:
    """images/s from (time, done, total) reports of the extraction phase."""
    if len(events) < 2 or events[-1][0] <= events[0][0]:
        return float("nan")
    return (events[-1][1] - events[0][1]) / (events[-1][0] - events[0][0])


class Probe:
    """A 10 ms QTimer recording every gap between its ticks: the event loop's longest block."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()


def cli_run(app, data: str, per_class: int, work: Path) -> tuple[float, list[float]]:
    """The CLI in a plain child process, while this process's event loop idles with the probe: what the
    machine's load alone does to the gaps."""
    import threading

    cmd = [sys.executable, "-m", "dogbreed_desktop", "train", "--progress", "json", "--data", data, "--out",
           str(work / "cli-run"), "--cache-dir", str(work / "cli-cache"), "--per-class", str(per_class),
           "--mode", "fast", "--epochs", "1", "--device", "cpu"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    events = []

    def read() -> None:
        for line in proc.stdout:
            e = json.loads(line)
            if e["event"] == "progress" and e["phase"] == "extracting features":
                events.append((time.perf_counter(), e["done"], e["total"]))

    reader = threading.Thread(target=read)
    reader.start()
    probe = Probe()
    probe.start()
    while reader.is_alive():
        app.processEvents()
        time.sleep(0.002)
    probe.timer.stop()
    if proc.wait() != 0:
        raise SystemExit("the CLI run failed")
    return rate(events), probe.gaps


def tab_run(app, data: str, per_class: int, work: Path) -> tuple[float, list[float]]:
    from dogbreed_desktop.gui.train_tab import TrainTab

    tab = TrainTab(runs_root=work / "tab-runs")
    tab.resize(1100, 720)
    tab.show()
    tab.settings.set_values(per_class=per_class, cache_dir=str(work / "tab-cache"), device="cpu", mode="fast",
                            epochs=1)
    tab.data.set_folder(data)
    while tab.data.report is None:
        app.processEvents()
        time.sleep(0.01)
    events, finished = [], []

    def progress(done: int, total: int, phase: str) -> None:
        if phase == "extracting features":
            events.append((time.perf_counter(), done, total))

    tab.child.progress.connect(progress)
    tab.run_finished.connect(finished.append)
    tab.child.died.connect(lambda message: finished.append(message))
    probe = Probe()
    tab.controls.start_button.click()
    probe.start()
    while not finished:
        app.processEvents()
        time.sleep(0.002)
    probe.timer.stop()
    tab.shutdown()
    tab.deleteLater()
    if not isinstance(finished[0], dict):
        raise SystemExit(f"the tab's run failed: {finished[0]}")
    return rate(events), probe.gaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("DOGBREED_DATA"))
    ap.add_argument("--per-class", type=int, default=4, help="photos per breed (x120) extracted per run; at least 2")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("set DOGBREED_DATA or pass --data")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    cli_rates, tab_rates, gaps = [], [], {"cli": [], "tab": []}
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            c, idle_gaps = cli_run(app, args.data, args.per_class, Path(tmp))
            t, tab_gaps = tab_run(app, args.data, args.per_class, Path(tmp))
        cli_rates.append(c)
        tab_rates.append(t)
        gaps["cli"] += idle_gaps
        gaps["tab"] += tab_gaps
        print(f"round {i + 1}: CLI {c:.1f} img/s, Train tab {t:.1f} img/s, event loop: longest gap "
              f"{1000 * max(tab_gaps):.0f} ms (idle window while the CLI ran: {1000 * max(idle_gaps):.0f} ms)",
              file=sys.stderr)
    ratios = [t / c for t, c in zip(tab_rates, cli_rates)]
    print(f"\n{120 * args.per_class} photos extracted per run, {args.rounds} rounds, {os.cpu_count()} cores\n")
    print("| | CLI (`train`) | Train tab (child process) | tab / CLI |")
    print("|---|---|---|---|")
    print(f"| feature extraction, img/s (median) | {statistics.median(cli_rates):.1f} | "
          f"{statistics.median(tab_rates):.1f} | {statistics.median(ratios):.2f}x |")
    print("| event loop gaps, 10 ms timer: p99 / longest / share over 50 ms | "
          + " | ".join(_gap_text(gaps[k]) for k in ("cli", "tab")) + " | |")
    print("\n(CLI column: this process's idle event loop while the CLI trains in another process, i.e. what the\n"
          "machine's load alone does; Train tab column: the window's event loop while it trains)")


def _gap_text(gaps: list[float]) -> str:
    s = sorted(gaps)
    over = sum(g > 0.05 for g in s) / max(1, len(s))
    return f"{1000 * s[int(0.99 * (len(s) - 1))]:.0f} ms / {1000 * s[-1]:.0f} ms / {over:.2%}"


if __name__ == "__main__":
    main()
