"""The inference worker seen from the window: superseding, switching models, closing while busy, and torch
staying unimported until the worker loads the model."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import make_image
from gui_support import drop_files, file_mime, make_window

from dogbreed_desktop.gui.results_model import DONE, PENDING

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    return [make_image(folder / f"p{i:03d}.jpg", color=(i * 3 % 255, 120, 200 - i), size=(400, 300))
            for i in range(64)]


def test_a_superseding_request_drops_the_stale_one(qtbot, many_photos, tmp_path):
    window = make_window(qtbot)
    client = window.client
    seen: list[tuple[int, int]] = []  # (request id, verdicts) as the window receives them
    client.results.connect(lambda rid, verdicts: seen.append((rid, len(verdicts))))
    with qtbot.waitSignal(client.results, timeout=60_000):
        old = client.classify(many_photos)  # 64 photos: many batches
    new_photo = make_image(tmp_path / "new.png", color=(10, 200, 10))
    marker = len(seen)
    with qtbot.waitSignal(client.finished, timeout=60_000, check_params_cb=lambda rid: rid != old) as blocker:
        new = client.classify([new_photo], supersede=True)
    assert blocker.args == [new]
    # One worker thread runs the requests in turn and its signals arrive in order: whatever the old request
    # sent after being superseded has arrived by now, and was dropped.
    assert all(rid == new for rid, _ in seen[marker:])
    assert sum(n for rid, n in seen if rid == old) < len(many_photos)
    assert not client.busy
    assert window.classify_tab.model.row(window.classify_tab.model.row_of(str(new_photo))).state == DONE


def test_switching_models_reclassifies_the_list(qtbot, tmp_path):
    from dogbreed_desktop.core.model.artifact import load_artifact, save_artifact
    from dogbreed_desktop.paths import builtin_model_path

    hot = load_artifact(builtin_model_path("fast"))
    hot.name, hot.temperature = "Same weights, temperature 3", 3.0
    run_folder = tmp_path / "run-1"
    save_artifact(hot, run_folder / "model.safetensors")
    photo = make_image(tmp_path / "dog.jpg", color=(190, 150, 90), size=(300, 300))
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        tab.add_paths([photo])
    before = max(tab.model.row(0).probabilities)
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        window.train_tab.use_model.emit(str(run_folder))  # what "Use this model" after training does
    assert window.client.model.name == "Same weights, temperature 3"
    assert "Same weights, temperature 3" in window.model_label.text()
    after = max(tab.model.row(0).probabilities)
    assert after < before  # a hotter softmax: same ranking, flatter probabilities


def _model_variant(folder, name: str, temperature: float):
    """The built-in weights under another name and softmax temperature: same ranking, other probabilities."""
    from dogbreed_desktop.core.model.artifact import load_artifact, save_artifact
    from dogbreed_desktop.paths import builtin_model_path

    artifact = load_artifact(builtin_model_path("fast"))
    artifact.name, artifact.temperature = name, temperature
    return save_artifact(artifact, folder / name.replace(" ", "-") / "model.safetensors")


def _keep_busy(qtbot, client, photos):
    """Classify `photos` and return once the first batch is on screen: the worker is mid-way through the rest."""
    with qtbot.waitSignal(client.results, timeout=60_000):
        client.classify(photos)
    assert client.busy


def _classify_one(qtbot, window, photo):
    client, ids = window.client, []
    with qtbot.waitSignal(client.finished, timeout=60_000, check_params_cb=lambda rid: rid in ids):
        ids.append(client.classify([photo]))
    tab = window.classify_tab
    return tab.model.row(tab.model.row_of(str(photo))).probabilities


def test_the_last_of_two_quick_model_loads_is_the_one_that_classifies(qtbot, many_photos, tmp_path):
    from dogbreed_desktop.core.predict.classifier import Classifier

    model_a, model_b = _model_variant(tmp_path, "Model A", 3.0), _model_variant(tmp_path, "Model B", 0.5)
    window = make_window(qtbot)
    client = window.client
    _keep_busy(qtbot, client, many_photos[:40])
    client.load_model(model_a)  # the user opens one model, then another, while photos are being classified
    client.load_model(model_b)
    qtbot.waitUntil(lambda: not client.loading, timeout=60_000)
    photo = make_image(tmp_path / "after.jpg", color=(150, 110, 70), size=(300, 240))
    got = _classify_one(qtbot, window, photo)
    assert client.model.name == "Model B" and "Model B" in window.model_label.text()
    expected = Classifier.load(model_b, device="cpu").predict([photo])[0].probabilities
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-6)  # the model the window names is the one that ran


def test_a_superseded_model_load_reports_no_failure(qtbot, many_photos, tmp_path):
    bad = tmp_path / "bad" / "model.safetensors"
    bad.parent.mkdir()
    bad.write_bytes(b"\x80\x04pickle")
    window = make_window(qtbot)
    client = window.client
    failures: list = []
    client.model_failed.connect(lambda path, message: failures.append(path))
    _keep_busy(qtbot, client, many_photos[:40])
    window.open_model_path(str(bad))  # a wrong file, corrected at once by the built-in model
    client.load_model(None)
    qtbot.waitUntil(lambda: not client.loading, timeout=60_000)
    _classify_one(qtbot, window, make_image(tmp_path / "after.jpg", color=(150, 110, 70)))  # the queue has drained
    assert failures == [] and window.dialog is None
    assert client.model.name.startswith("EfficientNet-Lite1")  # the default, balanced


def test_a_bad_model_is_reported_and_the_old_one_kept(qtbot, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x80\x04pickle")
    window = make_window(qtbot)
    with qtbot.waitSignals([window.client.model_failed, window.client.model_loaded], timeout=30_000):
        window.open_model_path(str(bad))
    assert "pickle" in window.dialog.informativeText()
    assert window.client.model is not None and not window.client.loading


def test_closing_while_busy_stops_the_worker(qtbot, many_photos):
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(window.client.results, timeout=60_000):
        assert drop_files(tab, many_photos)
    assert window.client.busy
    start = time.monotonic()
    window.close()
    assert window.stopped_cleanly  # every runner's thread ended within its timeout
    assert time.monotonic() - start < 5  # at most the batch in progress
    assert any(r.state == PENDING for r in tab.model.rows())  # it really was stopped mid-way


def test_paste_image_data_and_copy_results(qtbot, tmp_path):
    from PySide6.QtGui import QColor, QGuiApplication, QImage

    window = make_window(qtbot)
    tab = window.classify_tab
    image = QImage(120, 90, QImage.Format.Format_RGB32)
    image.fill(QColor(180, 120, 60))
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert tab.paste()
    row = tab.model.row(0)
    assert row.state == DONE and row.path.endswith(".png") and "pasted" in row.path
    tab.copy_results()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t")[:4] == ["path", "error", "verdict", "breed"] and lines[1].startswith(row.path)
    out = tmp_path / "results.csv"
    tab.export_csv(out)
    exported = next(csv.DictReader(out.open(newline="")))
    assert exported["path"] == row.path and exported["verdict"] == row.verdict  # a flat colour: likely no dog
    assert (exported["breed"] != "") == (row.verdict in ("breed", "unsure")) and exported["breed_1"]
    photo = make_image(tmp_path / "copied in a file manager.jpg", color=(90, 60, 30))
    QGuiApplication.clipboard().setMimeData(file_mime([photo]))
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert tab.paste()
    assert tab.model.row(tab.model.row_of(str(photo))).state == DONE
    tab.clear()
    assert tab.model.rowCount() == 0 and not tab.splitter.isVisible()
    # Empty the clipboard while Qt is alive: data left in it is freed twice at interpreter exit (a segfault).
    QGuiApplication.clipboard().clear()


WINDOW_BEFORE_TORCH = textwrap.dedent("""
    import os, sys, traceback
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

    class WhoImportsTorch:  # names the first project file that imports torch, to make a failure useful
        def find_spec(self, name, path=None, target=None):
            if name == "torch":
                ours = [f for f in traceback.extract_stack()
                        if "dogbreed_desktop" in f.filename or "training" in f.filename]
                print("torch imported from:", " <- ".join(f"{f.filename}:{f.lineno}" for f in reversed(ours)))
                sys.meta_path.remove(self)
            return None

    sys.meta_path.insert(0, WhoImportsTorch())
    from dogbreed_desktop.gui.app import application
    from dogbreed_desktop.gui.main_window import MainWindow
    app = application()
    window = MainWindow(device="cpu")
    window.show()
    app.processEvents()
    print("torch after show:", "torch" in sys.modules)
    window.client.model_loaded.connect(lambda info: (print("loaded:", info.name), app.quit()))
    window.start(None, [])
    app.exec()
    print("torch after load:", "torch" in sys.modules)
    window.close()
""")


def test_the_window_shows_before_torch_is_imported():
    r = subprocess.run([sys.executable, "-c", WINDOW_BEFORE_TORCH], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "torch after show: False" in r.stdout, r.stdout
    # On the CPU the model runs on ONNX Runtime: loading it and classifying never import torch at all
    assert "loaded: EfficientNet-Lite1" in r.stdout and "torch after load: False" in r.stdout


def test_a_bad_model_on_the_command_line_falls_back_to_the_built_in_one(qtbot, tmp_path):
    from dogbreed_desktop.gui.main_window import MainWindow

    window = MainWindow(device="cpu")
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignals([window.client.model_failed, window.client.model_loaded], timeout=60_000):
        window.start(str(tmp_path / "no-such-model.safetensors"), [])
    assert "not found" in window.dialog.informativeText()
    assert window.client.model.name.startswith("EfficientNet-Lite1")  # the default, balanced
