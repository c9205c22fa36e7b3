"""The Evaluate view on real photos: clicking a confusion cell shows exactly those photos, a double-click opens
one in the Classify tab, a run's model is evaluated on its own validation photos and reopens from the saved
result, and Cancel stops it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from dogbreed_desktop.core.evaluate.report import analysis
from gui_support import make_window

pytestmark = [pytest.mark.gui, pytest.mark.realdata]
BREEDS = ("eskimo_dog", "siberian_husky", "malamute", "toy_poodle", "miniature_poodle", "collie",
          "shetland_sheepdog", "border_collie")


@pytest.fixture(scope="module")
def photo_folder(real_data, real_labels, tmp_path_factory) -> Path:
    """One folder per breed of links to 5 real photos each (the photos stay where they are)."""
    root = tmp_path_factory.mktemp("eval") / "photos"
    by_breed: dict[str, list[str]] = {}
    for image_id, breed in sorted(real_labels.items()):
        by_breed.setdefault(breed, []).append(image_id)
    for breed in BREEDS:
        (root / breed).mkdir(parents=True)
        for image_id in by_breed[breed][:5]:
            (root / breed / f"{image_id}.jpg").symlink_to(real_data / "train" / f"{image_id}.jpg")
    return root


def test_click_a_cell_see_exactly_those_photos_then_open_one(qtbot, photo_folder, default_classifier):
    window = make_window(qtbot)
    view = window.evaluate_view
    with qtbot.waitSignal(view.evaluated, timeout=180_000) as got:
        window.evaluate_view.prepare(None, str(photo_folder))
        window.evaluate_model(None)  # File ▸ Evaluate Model on Photos… with the active (built-in) model
    ev = got.args[0]
    assert window.tabs.currentWidget() is view and len(ev.records) == 5 * len(BREEDS)
    # By hand: the app's own predictions for the same photos.
    photos = sorted(photo_folder.rglob("*.jpg"))
    truth = {str(p): p.parent.name for p in photos}
    predicted = {r.source: r.breed for r in default_classifier.predict(photos, top_k=1)}
    pairs: dict[tuple[str, str], set[str]] = {}
    for path, breed in truth.items():
        if predicted[path] != breed:
            pairs.setdefault((breed, predicted[path]), set()).add(path)
    (true, pred), expected = max(pairs.items(), key=lambda kv: (len(kv[1]), kv[0]))
    index = {c: i for i, c in enumerate(ev.classes)}
    heatmap = view.confusion.heatmap
    view.tabs.setCurrentWidget(view.confusion)
    centre = heatmap.cell_rect(index[true], index[pred]).center()
    assert heatmap.cell_at(centre) == (index[true], index[pred])
    assert heatmap.tooltip(index[true], index[pred]).endswith(f"{len(expected)} photo{'s' * (len(expected) > 1)}")
    qtbot.mouseClick(heatmap, Qt.MouseButton.LeftButton, pos=centre)
    gallery = view.confusion.gallery
    assert set(gallery.paths()) == expected
    assert str(len(expected)) in gallery.title.text()
    # The weakest breed is on top of the table; the filter box narrows it.
    table = view.breeds
    by_name = {r.name: r for r in analysis.per_class(ev)}
    shown = [by_name[name] for name in table.shown_breeds()]
    f1 = [r.f1 for r in shown if r.photos]
    assert len(f1) == len(BREEDS) and f1 == sorted(f1) and shown[0].photos and f1[0] < 1
    table.filter.setText("poodle")
    assert set(table.shown_breeds()) == {"Toy Poodle", "Miniature Poodle", "Standard Poodle"}
    # Double-click a photo: it opens in the Classify tab.
    item = gallery.list.item(0)
    qtbot.waitUntil(lambda: gallery.list.visualItemRect(item).isValid())  # laid out
    rect = gallery.list.visualItemRect(item)
    with qtbot.waitSignal(window.classify_tab.request_finished, timeout=60_000):
        # A press first, as a real double-click has: item views act only on the index pressed.
        qtbot.mouseClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(gallery.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is window.classify_tab
    assert item.data(Qt.ItemDataRole.UserRole) in {r.path for r in window.classify_tab.model.rows()}
    wrong = [r for r in view.misclassified.paths()]
    assert set(wrong) == set().union(*pairs.values())


def fake_run(tmp_path: Path, photo_folder: Path) -> Path:
    """A run folder as training writes it (config, split, model), with the built-in model as its model."""
    from dogbreed_desktop.paths import builtin_model_path

    run = tmp_path / "runs" / "20260101-000000-efficientnet_lite0"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"backbone": "efficientnet_lite0", "mode": "fast"}))
    (run / "status.json").write_text(json.dumps({"status": "finished"}))
    shutil.copy(builtin_model_path("fast"), run / "model.safetensors")
    with open(run / "split.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "subset", "digest"])
        for i, p in enumerate(sorted(photo_folder.rglob("*.jpg"))):
            w.writerow([str(p), p.parent.name, "val" if i % 5 < 2 else "train", ""])
    return run


def test_a_run_is_evaluated_on_its_validation_photos_and_reopens_instantly(qtbot, photo_folder, tmp_path, request):
    from dogbreed_desktop.gui.evaluate import EvaluateView

    run = fake_run(tmp_path, photo_folder)
    view = EvaluateView()
    qtbot.addWidget(view)
    request.addfinalizer(view.shutdown)  # even when the test fails: no thread outlives its view
    with qtbot.waitSignal(view.evaluated, timeout=180_000) as first:
        view.evaluate(str(run / "model.safetensors"), None)
    ev = first.args[0]
    assert len(ev.records) == 2 * len(BREEDS) and ev.data == f"validation split of {run.name}"
    assert len(list((run / "evaluations").glob("*.json"))) == 1  # saved in the run folder
    with qtbot.waitSignal(view.evaluated, timeout=10_000) as again:
        view.evaluate(str(run / "model.safetensors"), None)
    assert again.args[0].records == ev.records and again.args[0].seconds == ev.seconds  # the saved result
    written = tmp_path / "report"
    with qtbot.waitSignal(view.exporter.exported, timeout=300_000):  # matplotlib: slow on a loaded machine
        view.export_report(str(written))
    assert (written / "report.html").is_file() and (written / "per_breed.csv").is_file()
    assert view.shutdown()


def test_cancel_stops_and_keeps_what_was_done(qtbot, photo_folder, tmp_path, request):
    from dogbreed_desktop.gui.evaluate import EvaluateView

    view = EvaluateView()
    qtbot.addWidget(view)
    request.addfinalizer(view.shutdown)  # even when the test fails: no thread outlives its view
    with qtbot.waitSignal(view.evaluated, timeout=180_000) as got:
        view.evaluate(None, str(photo_folder))
        qtbot.waitUntil(lambda: view.setup.progress.value() > 0 or not view.running, timeout=120_000)
        view.setup.cancel_button.click()
    ev = got.args[0]
    assert not ev.complete or len(ev.records) == 5 * len(BREEDS)  # a fast machine may finish first
    if not ev.complete:
        assert "Cancelled" in view.summary.text()
    qtbot.waitUntil(lambda: not view.running and view.setup.run_button.isEnabled())
    assert view.shutdown()


def test_train_tab_opens_a_runs_evaluation(qtbot, photo_folder, tmp_path):
    """A finished run is evaluated on its validation photos; the runs list's Evaluate reopens it (saved)."""
    run = fake_run(tmp_path, photo_folder)
    window = make_window(qtbot)
    view = window.evaluate_view
    with qtbot.waitSignal(view.evaluated, timeout=180_000) as got:
        window.train_tab.run_finished.emit({"run_dir": str(run), "model_path": str(run / "model.safetensors")})
    assert got.args[0].data == f"validation split of {run.name}"
    runs = window.train_tab.runs
    runs.set_root(run.parent)
    runs.list.setCurrentRow(0)
    assert runs.evaluate_button.isEnabled()
    with qtbot.waitSignal(view.evaluated, timeout=10_000) as again:
        runs.evaluate_button.click()
    assert window.tabs.currentWidget() is view and again.args[0].records == got.args[0].records
