"""The Train tab's training child process: killed from outside (SIGKILL), the window stays up with its photos,
says so in plain words, and Resume finishes the run."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
from conftest import make_image
from gui_support import drop_files, make_window

from dogbreed_desktop.gui.train.child import train_arguments, train_command
from training.synthetic import make_shapes

pytestmark = pytest.mark.gui


def test_the_child_runs_the_same_entry_point(monkeypatch):
    args = train_arguments("/runs/r", {"data": "/d", "backbone": "efficientnet_lite0", "epochs": None, "lr": 0.01,
                                       "gpus": 1, "image_size": 32})
    assert args[:3] == ["train", "--progress", "json"]
    assert args[3:] == ["--out", "/runs/r", "--data", "/d", "--backbone", "efficientnet_lite0", "--lr", "0.01",
                        "--image-size", "32"]
    assert "--gpus" in train_arguments("/r", {"data": "/d", "gpus": 2})
    assert train_arguments("/r", None, epochs=9) == ["train", "--progress", "json", "--resume", "/r", "--epochs", "9"]
    assert train_command(["train"]) == (sys.executable, ["-m", "dogbreed_desktop", "train"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert train_command(["train"]) == (sys.executable, ["train"])  # the frozen app runs itself


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_killed_child_leaves_the_window_up_and_resume_finishes(qtbot, tmp_path):
    window = make_window(qtbot)
    photo = make_image(tmp_path / "photo.jpg")
    with qtbot.waitSignal(window.classify_tab.request_finished, timeout=60_000):
        assert drop_files(window.classify_tab, [photo])
    tab = window.train_tab
    tab.settings.set_values(image_size=32, cache_dir=str(tmp_path / "cache"), decode_threads=2, device="cpu",
                            mode="fast", epochs=150, lr=0.003, patience=0)
    tab.data.set_folder(str(make_shapes(tmp_path / "shapes", per_class=10, size=32)))
    qtbot.waitUntil(lambda: tab.data.report is not None, timeout=20_000)
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.points() >= 3, timeout=60_000)
    with qtbot.waitSignal(tab.child.died, timeout=20_000):
        os.kill(tab.child.pid, signal.SIGKILL)
    assert window.isVisible() and window.classify_tab.model.rowCount() == 1  # the photo is still there
    assert not tab.training and tab.controls.start_button.isEnabled()
    text = tab.controls.outcome.text()
    assert "stopped unexpectedly" in text and "killed" in text and "Resume" in text
    assert not tab.controls.resume_button.isHidden() and tab.controls.resume_button.isEnabled()
    run = tab.runs.current()
    assert run.status == "interrupted" and run.can_resume  # what the runs list shows too
    killed_at = run.history[-1]["epoch"]

    with qtbot.waitSignal(tab.run_finished, timeout=120_000) as finished:
        tab.controls.resume_button.click()
    result = finished.args[0]
    assert result["status"] == "finished" and result["model_path"]
    rows = [r.split(",")[0] for r in (run.path / "metrics.csv").read_text().splitlines()[1:]]
    assert rows == [str(i) for i in range(151)] and killed_at < 150  # continued from the checkpoint
    assert json.loads((run.path / "status.json").read_text())["status"] == "finished"
    assert tab.curves.points() == 151 and tab.controls.resume_button.isHidden()
