"""Photos dropped on the Classify tab: real drop events in, verdicts and chart values out."""

from __future__ import annotations

import pytest
from conftest import make_image
from gui_support import drop_files, file_mime, make_window

from dogbreed_desktop.gui.drop_zone import paths_from_mime, paths_from_text
from dogbreed_desktop.gui.results_model import DONE, FAILED

pytestmark = pytest.mark.gui


def test_a_drag_becomes_local_image_paths_and_folders(tmp_path):
    photo, folder = make_image(tmp_path / "a.JPG"), tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "notes.txt").write_text("no")
    mime = file_mime([photo, folder, tmp_path / "notes.txt"])
    mime.setUrls(mime.urls() + [__import__("PySide6.QtCore").QtCore.QUrl("https://example.com/dog.jpg")])
    assert paths_from_mime(mime) == [photo, folder]
    text = f"{photo}\nfile://{folder}\n{tmp_path / 'notes.txt'}\n\n{tmp_path / 'missing.jpg'}"
    assert paths_from_text(text) == [photo, folder]


def test_dragging_other_files_is_refused(qtbot, tmp_path):
    from dogbreed_desktop.gui.classify_tab import ClassifyTab
    from dogbreed_desktop.gui.inference_client import InferenceClient

    client = InferenceClient("cpu")
    tab = ClassifyTab(client)
    qtbot.addWidget(tab)
    (tmp_path / "notes.txt").write_text("no")
    try:
        assert not drop_files(tab, [tmp_path / "notes.txt"])
    finally:
        tab.shutdown()
        assert client.shutdown()


def test_dropped_real_photo_chart_equals_classifier_predict(qtbot, real_photos, default_classifier):
    path = next(p for p, breed in real_photos if breed == "golden_retriever")
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert drop_files(tab, [path])
    expected = default_classifier.predict([path], top_k=5)[0]
    chart = tab.panel.chart
    assert chart.names() == [s.name for s in expected.top_k]
    assert chart.values() == pytest.approx([s.probability for s in expected.top_k], rel=1e-5, abs=1e-7)
    assert expected.name in tab.panel.verdict.text()
    assert tab.model.row(0).state == DONE
    qtbot.waitUntil(tab.panel.photo.has_image, timeout=10_000)  # the large, EXIF-upright photo
    tab.panel.top_k.setCurrentIndex(tab.panel.top_k.count() - 1)  # "All 120"
    assert len(chart.values()) == 120 and sum(chart.values()) == pytest.approx(1, abs=1e-4)


def test_a_dropped_photo_is_decoded_once_for_the_model_and_its_thumbnail(qtbot, tmp_path, monkeypatch):
    """Twice in all: once for the model and the list's thumbnail (in the decoding threads), once for the large
    view; not a third time for the thumbnail on the inference thread."""
    from PIL import ImageFile

    photo = make_image(tmp_path / "dog.jpg", size=(900, 600))
    window = make_window(qtbot)
    tab = window.classify_tab
    decodes, load = [], ImageFile.ImageFile.load

    def counting_load(img):
        if img.tile and getattr(img, "filename", "") == str(photo):  # pixel data still to decode: a decode
            decodes.append(img.size)
        return load(img)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert drop_files(tab, [photo])
    qtbot.waitUntil(tab.panel.photo.has_image, timeout=10_000)
    row = tab.model.row(0)
    assert row.state == DONE and row.thumbnail is not None and not row.thumbnail.isNull()
    assert len(decodes) == 2, decodes


def test_folder_drop_fills_the_list(qtbot, tmp_path):
    folder = tmp_path / "dogs"
    for i in range(6):
        make_image(folder / ("sub" if i % 2 else "") / f"dog{i}.png", color=(40 * i, 90, 160), size=(80, 60))
    (folder / "readme.txt").write_text("skipped: not an image")
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert drop_files(tab, [folder])
    rows = tab.model.rows()
    assert len(rows) == 6 and all(r.state == DONE for r in rows)
    assert all(r.thumbnail is not None and len(r.probabilities) == 120 for r in rows)
    assert tab.splitter.isVisible()


def test_a_broken_file_shows_its_error_and_the_others_are_classified(qtbot, tmp_path):
    good = [make_image(tmp_path / f"good{i}.jpg", color=(200, 30 * i, 40), size=(320, 240)) for i in range(3)]
    truncated = tmp_path / "truncated.jpg"
    data = good[0].read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])  # header intact, scan data cut
    fake = tmp_path / "fake.png"
    fake.write_text("this is not a picture")
    window = make_window(qtbot)
    tab = window.classify_tab
    with qtbot.waitSignal(tab.request_finished, timeout=60_000):
        assert drop_files(tab, [good[0], truncated, good[1], fake, good[2]])
    states = {r.path: (r.state, r.error) for r in tab.model.rows()}
    assert [states[str(p)][0] for p in good] == [DONE] * 3
    assert states[str(truncated)][0] == FAILED and "corrupt" in states[str(truncated)][1]
    assert states[str(fake)] == (FAILED, "not an image, or a format Pillow cannot read")
    tab.list.select_row(tab.model.row_of(str(fake)))
    assert tab.panel.verdict.text().startswith("Could not read this file") and tab.panel.chart.values() == []
