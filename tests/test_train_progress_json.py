"""`dogbreed-desktop train --progress json`: the documented events, throttling, `stop` on stdin, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from dogbreed_desktop.core.jsonsafe import json_safe
from training.synthetic import make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return make_shapes(tmp_path_factory.mktemp("json") / "data", per_class=10, size=32)


def command(data, out, cache, *extra):
    return [sys.executable, "-m", "dogbreed_desktop", "train", "--progress", "json", "--data", str(data),
            "--out", str(out), "--image-size", "32", "--device", "cpu", "--cache-dir", str(cache), "--lr", "0.01",
            "--mode", "fast", *extra]


def test_json_safe_makes_nan_null_and_tensors_numbers():
    import torch

    assert json_safe({"a": float("nan"), "b": (1, float("inf")), "c": torch.tensor(0.5)}) == {"a": None, "b": [1, None],
                                                                                              "c": 0.5}


def test_events_then_stop_on_stdin(shapes, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(command(shapes, out, tmp_path / "cache", "--epochs", "5000", "--patience", "0"),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    events, times = [], []
    try:
        for line in proc.stdout:  # every stdout line is one JSON object
            events.append(json.loads(line))
            times.append(time.monotonic())
            if sum(e["event"] == "epoch" for e in events) == 4:
                proc.stdin.write("stop\n")
                proc.stdin.flush()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()
    kinds = [e["event"] for e in events]
    assert kinds[:3] == ["start", "config", "progress"] and kinds[-1] == "result"
    assert events[0]["schema"] == 1 and events[0]["run_dir"] == str(out) and events[0]["world_size"] == 1
    assert {"checking images", "extracting features", "training"} <= {e["phase"] for e in events
                                                                     if e["event"] == "progress"}
    assert "stopping" in [e.get("status") for e in events if e["event"] == "status"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert epochs[0]["metrics"]["epoch"] == 0 and epochs[0]["metrics"]["train_loss"] is None  # NaN -> null
    result = events[-1]
    assert result["status"] == "stopped" and result["model_path"] == str(out / "model.safetensors")
    assert result["best_epoch"] == max(e["best_epoch"] for e in epochs)
    assert json.loads((out / "status.json").read_text())["status"] == "stopped"
    # throttled: progress and batch lines at most ~10 a second each, over any one-second window
    for kind in ("progress", "batch"):
        stamps = [t for t, e in zip(times, events) if e["event"] == kind]
        busiest = max((sum(1 for u in stamps if t <= u < t + 1.0) for t in stamps), default=0)
        assert busiest <= 14, (kind, busiest)  # 10/s plus phase changes and ends


def test_a_bad_folder_is_an_error_event(tmp_path):
    (tmp_path / "empty").mkdir()
    r = subprocess.run(command(tmp_path / "empty", tmp_path / "run", tmp_path / "cache"), capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["event"] == "error" and "no labelled images" in last["message"] and last["exit_code"] == 1
    assert all(json.loads(line) for line in r.stdout.splitlines())  # nothing but JSON on stdout
    assert "no labelled images" in r.stderr


def test_stdout_going_away_stops_the_run(shapes, tmp_path):
    """The reader died (the window crashed): the run stops at the next batch and keeps its best model."""
    out = tmp_path / "run"
    proc = subprocess.Popen(command(shapes, out, tmp_path / "cache", "--epochs", "5000", "--patience", "0"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        seen = 0
        for line in proc.stdout:
            seen += json.loads(line)["event"] == "epoch"
            if seen >= 2:
                break
        proc.stdout.close()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "stopped" and (out / "model.safetensors").exists()
