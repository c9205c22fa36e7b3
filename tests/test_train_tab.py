"""The Train tab with the real training code on tiny synthetic data: preflight, live curves, Early stop, a
usable model, "Use this model", and earlier runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from dogbreed_desktop.gui.train_tab import TrainTab  # noqa: E402
from training.synthetic import make_shapes  # noqa: E402

pytestmark = pytest.mark.gui
SIZE = 32


@pytest.fixture
def shapes(tmp_path):
    return make_shapes(tmp_path / "shapes", per_class=10, size=SIZE)


@pytest.fixture
def tab(qtbot, tmp_path):
    t = TrainTab(runs_root=tmp_path / "runs")
    qtbot.addWidget(t)
    t.settings.set_values(image_size=SIZE, cache_dir=str(tmp_path / "cache"), decode_threads=2, device="cpu")
    t.resize(1100, 720)
    yield t
    t.shutdown()


def check(qtbot, tab, folder):
    tab.data.set_folder(str(folder))
    qtbot.waitUntil(lambda: tab.data.report is not None, timeout=20_000)


def test_preflight_report_and_count_chart(qtbot, tab, shapes):
    (shapes / "ring" / "broken.png").write_bytes(b"nope")
    check(qtbot, tab, shapes)
    assert tab.data.chart.counts == {c: 10 for c in ("circle", "cross", "ring", "square", "triangle")}
    assert "50" in tab.data.summary.text() and "unreadable" in tab.data.summary.text()
    assert tab.controls.start_button.isEnabled()


def label_rects(axis) -> list:
    """The tick labels' rectangles as the axis lays them out to paint (pyqtgraph's own measurement)."""
    from PySide6.QtGui import QPainter, QPicture

    picture = QPicture()
    painter = QPainter(picture)
    try:
        return [rect for rect, _, text in axis.generateDrawSpecs(painter)[2] if text]
    finally:
        painter.end()


def apart(rects, gap: float = 1.0) -> bool:
    """No two rectangles closer than `gap` pixels."""
    grown = [r.adjusted(-gap / 2, -gap / 2, gap / 2, gap / 2) for r in rects]
    return not any(a.intersects(b) for i, a in enumerate(grown) for b in grown[i + 1:])


@pytest.mark.parametrize("classes", [4, 12, 120])
def test_the_count_chart_labels_never_overlap(qtbot, classes):
    """At the size the default window gives the chart: names (elided to their bar) up to 12 classes, a
    histogram of counts for more; every label clear of the next, on both axes."""
    from dogbreed_desktop.gui.train.count_chart import CountChart

    chart = CountChart()
    qtbot.addWidget(chart)
    chart.resize(370, 150)
    chart.show()
    qtbot.waitExposed(chart)
    counts = {f"american_staffordshire_terrier_{i}": 4 + (i * 37 % 120) ** 2 // 550 for i in range(classes)}
    chart.set_counts(counts)
    item = chart.plot.getPlotItem()
    qtbot.waitUntil(chart.settled, timeout=5_000)
    assert len(label_rects(item.getAxis("bottom"))) >= min(classes, 3) and len(label_rects(item.getAxis("left"))) >= 2
    assert apart(label_rects(item.getAxis("bottom"))) and apart(label_rects(item.getAxis("left")), gap=4)
    if classes <= 12:
        assert chart.per_class
        ticks = [t for _, t in item.getAxis("bottom")._tickLevels[0]]
        assert len(ticks) == classes and all(t.endswith("…") and n.startswith(t[:-1]) for t, n in zip(ticks, chart.names))
        assert chart.caption.isVisible() and "most: american" in chart.caption.text()  # shortened: named below
    else:
        assert not chart.per_class and chart.caption.isVisible()
        assert "most: american_staffordshire_terrier_" in chart.caption.text() and "Fewest" in chart.caption.text()
        assert sum(chart.bins[2]) == classes  # every class counted once
    chart.resize(230, 100)  # a smaller window: the ticks are spaced again
    qtbot.waitUntil(lambda: chart.plot.getPlotItem().getViewBox().width() < 200 and chart.settled(), timeout=5_000)
    assert apart(label_rects(item.getAxis("bottom"))) and apart(label_rects(item.getAxis("left")), gap=4)


def test_before_any_run_nothing_reads_as_a_result(qtbot, tab):
    """No "100 %" bar, no 0-1 axes: words say there is no run yet."""
    bar = tab.controls.bar
    assert bar.text() == "No run yet" and bar.value() == bar.minimum()
    curves = tab.curves
    for plot in (curves.loss_plot, curves.acc_plot):
        assert curves.is_empty(plot) and not curves.placeholders[plot].isHidden()
        assert not plot.getPlotItem().getAxis("left").style["showValues"]
    curves.add_batch(0.5, 1.2)  # the first point: the loss plot shows its scale, accuracy still waits
    assert not curves.is_empty(curves.loss_plot) and curves.loss_plot.getPlotItem().getAxis("left").style["showValues"]
    assert curves.is_empty(curves.acc_plot)
    curves.add_epoch({"epoch": 0, "train_loss": float("nan"), "val_loss": 0.9, "val_top1": 1.0, "val_top5": 1.0,
                      "lr": 0.01, "seconds": 1.0}, 0)
    assert not curves.is_empty(curves.acc_plot)
    low, high = curves.acc_plot.getPlotItem().getViewBox().viewRange()[1]
    assert high - low >= 5  # 100 % on every point: a 95-100 % scale, not 99.6-100.4
    curves.reset()
    assert curves.is_empty(curves.loss_plot) and curves.is_empty(curves.acc_plot)


def test_bad_folder_shows_an_error(qtbot, tab, tmp_path):
    (tmp_path / "empty").mkdir()
    tab.data.set_folder(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: "no labelled images" in tab.data.summary.text(), timeout=10_000)
    assert not tab.controls.start_button.isEnabled()


def test_train_watch_curves_early_stop_and_use_the_model(qtbot, tab, shapes, tmp_path):
    check(qtbot, tab, shapes)
    # many epochs, never stopping by itself: only the Early stop button ends it
    tab.settings.set_values(epochs=400, lr=0.02, patience=0, mode="fast")
    with qtbot.waitSignal(tab.controls.bar.valueChanged, timeout=90_000):  # a fresh child process: torch loads
        qtbot.mouseClick(tab.controls.start_button, qtbot_button())
    assert tab.training and tab.controls.stop_button.isEnabled() and not tab.controls.start_button.isEnabled()
    checks = tab._checks_file
    assert checks and Path(checks).is_file() and "--checks" in tab.child.process.arguments()
    qtbot.waitUntil(lambda: tab.curves.points() >= 6, timeout=60_000)  # epoch points appear as it trains
    with qtbot.waitSignal(tab.run_finished, timeout=30_000) as finished:
        qtbot.mouseClick(tab.controls.stop_button, qtbot_button())
    result = finished.args[0]
    assert result["status"] == "stopped"
    assert result["model_path"] and result["best_epoch"] is not None
    assert result["metrics"]["val_top1"] > result["metrics"]["start_val_top1"]  # it learned before the stop
    assert tab.curves.best_epoch == result["best_epoch"] and tab.curves.best_lines[0].isVisible()
    qtbot.waitUntil(lambda: not tab.training, timeout=30_000)  # the child process exits
    assert tab.controls.use_button.isEnabled() and tab.controls.start_button.isEnabled()

    from dogbreed_desktop.core.predict.classifier import Classifier

    with qtbot.waitSignal(tab.use_model) as used:
        qtbot.mouseClick(tab.controls.use_button, qtbot_button())
    run_dir = used.args[0]
    assert run_dir == result["run_dir"]
    clf = Classifier.load(run_dir)  # what the main window's open-model path does with it
    preds = clf.predict([shapes / c / f"{c}_0000.png" for c in ("circle", "cross", "ring", "square", "triangle")])
    assert sum(p.breed == c for p, c in zip(preds, ("circle", "cross", "ring", "square", "triangle"))) >= 3
    status = json.loads((tmp_path / "runs" / run_dir.rsplit("/", 1)[-1] / "status.json").read_text())
    assert status["status"] == "stopped"
    assert tab.controls.bar.text() == "Stopped by request"  # a word on the run, not a percentage
    # the child took the window's preflight of all 50 photos and read none of them again; the file is gone
    preflight = json.loads((tmp_path / "runs" / run_dir.rsplit("/", 1)[-1] / "preflight.json").read_text())
    assert preflight["reused_checks"] == 50 and preflight["images"] == 50
    assert not Path(checks).exists() and tab._checks_file is None

    # the run is listed; selecting it shows its curves
    assert tab.runs.list.count() == 1
    info = tab.runs.current()
    assert info.has_model and info.status == "stopped"
    tab.curves.reset()
    tab.runs.show_run.emit(info)
    assert tab.curves.points() == len(info.history)


def test_resume_from_the_runs_list(qtbot, tab, shapes, tmp_path):
    from training.runfolder import read_metrics

    check(qtbot, tab, shapes)
    tab.settings.set_values(epochs=300, lr=0.003, patience=0)
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.points() >= 3, timeout=60_000)
    with qtbot.waitSignal(tab.run_finished, timeout=30_000):
        tab.stop()
    qtbot.waitUntil(lambda: not tab.training, timeout=30_000)  # the child process exits
    info = tab.runs.current()
    assert info.status == "stopped" and info.can_resume and tab.runs.resume_button.isEnabled()
    stopped_at = info.history[-1]["epoch"]
    tab.runs.resume_button.click()
    assert tab.training and tab.curves.rows[0]["epoch"] == 0  # the earlier epochs stay on the curves
    qtbot.waitUntil(lambda: tab.curves.points() >= stopped_at + 4, timeout=60_000)
    with qtbot.waitSignal(tab.run_finished, timeout=30_000) as finished:
        tab.stop()
    assert finished.args[0]["status"] == "stopped"
    epochs = [r["epoch"] for r in read_metrics(info.path / "metrics.csv")]
    assert epochs == list(range(len(epochs))) and epochs[-1] >= stopped_at + 3  # continued the count


def test_shutdown_stops_a_running_training(qtbot, tab, shapes):
    check(qtbot, tab, shapes)
    tab.settings.set_values(epochs=1000, lr=0.003, patience=0)
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.points() >= 1, timeout=60_000)
    pid = tab.child.pid
    assert tab.training
    assert tab.shutdown(timeout_ms=120_000)  # the child stopped (generous: it saves its model as it stops)
    assert not tab.training
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # and exited
    status = json.loads((tab.runs.root / Path(tab._last_run).name / "status.json").read_text())
    assert status["status"] == "stopped"  # the child saw the request and ended the run properly


def test_building_the_tab_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]);"
            "from dogbreed_desktop.gui.train_tab import TrainTab; t = TrainTab(); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("False")


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
