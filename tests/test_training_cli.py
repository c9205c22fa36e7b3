"""`dogbreed-desktop train` end to end on tiny data: a run, predict with it, resume it, stop it by signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from dogbreed_desktop.cli import main
from training.synthetic import make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("cli") / "data", per_class=10, size=32, layout="kaggle")


def train_args(data, out, cache, *extra):
    return ["train", "--data", str(data), "--out", str(out), "--image-size", "32", "--device", "cpu",
            "--cache-dir", str(cache), "--lr", "0.01", *extra]


def test_train_then_predict_with_the_run_folder(shapes, tmp_path, capsys):
    out = tmp_path / "run1"
    assert main(train_args(shapes, out, tmp_path / "cache", "--epochs", "8", "--mode", "fast")) == 0
    text = capsys.readouterr().out
    assert "50 images in 5 classes" in text and "layout: kaggle" in text
    assert "mode: fast" in text and "device: CPU" in text
    assert "epoch start" in text and "epoch   1/8" in text
    assert f"model: {out / 'model.safetensors'}" in text
    assert main(["predict", "--model", str(out), "--json", str(shapes / "train" / "ring0001.png")]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["breed"] in {"circle", "square", "triangle", "cross", "ring"}


@pytest.mark.skipif(os.name == "nt", reason="POSIX shell quoting")
def test_the_command_it_suggests_can_be_pasted(shapes, tmp_path, capsys):
    """The "use it:" line is a shell command: a run folder with a space (macOS's "Application Support") is quoted."""
    import shlex

    out = tmp_path / "my runs" / "run 1"
    assert main(train_args(shapes, out, tmp_path / "cache", "--epochs", "1", "--mode", "fast")) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("use it: ")]
    assert shlex.split(line.removeprefix("use it: ")) == ["dogbreed-desktop", "predict", "--model", str(out),
                                                          "PHOTO..."]


def test_resume_needs_more_epochs_then_continues(shapes, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(shapes, out, tmp_path / "cache", "--epochs", "2", "--patience", "0")) == 0
    assert main(["train", "--resume", str(out)]) == 1
    assert "nothing left to do" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--epochs", "4"]) == 0
    assert "epoch   3/4" in capsys.readouterr().out
    rows = (out / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3", "4"]


def test_usage_errors(tmp_path, capsys):
    assert main(["train"]) == 2
    assert "--data" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r"), "--device", "cpu"]) == 1
    assert "no labelled images" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--val-fraction", "1.5"]) == 2


def test_sigterm_stops_at_the_next_batch_and_keeps_the_best(shapes, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "dogbreed_desktop", *train_args(shapes, out, tmp_path / "cache", "--epochs", "5000",
                                                                 "--patience", "0", "--quiet")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        # The first checkpoint is written after epoch 0: from then on it is training, with a best epoch to keep.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / "checkpoint.pt").exists() and proc.poll() is None:
            time.sleep(0.2)  # polling for the file, not waiting as evidence
        assert (out / "checkpoint.pt").exists(), "training never reached its first checkpoint"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "stopped by request" in stdout
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "stopped" and (out / "model.safetensors").exists()
