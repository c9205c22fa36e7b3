"""Photos from phones: a HEIC file (a real dog photo re-encoded by pillow-heif) gets the verdict of its JPEG in
the CLI and in the window, with no plugin to install by hand."""

from __future__ import annotations

import json

import pytest
from gui_support import drop_files, make_window

from dogbreed_desktop.cli import main
from dogbreed_desktop.gui.results_model import DONE

pytestmark = pytest.mark.realdata


def test_predict_gives_a_heic_photo_the_verdict_of_its_jpeg(heic_photo, capsys):
    assert main(["predict", "--json", *map(str, heic_photo)]) == 0
    jpeg, heic = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert heic["path"].endswith(".HEIC") and "error" not in heic
    assert heic["verdict"] == jpeg["verdict"] and heic["breed"] == jpeg["breed"]
    # re-encoding is lossy, not a new photo
    assert abs(heic["top_k"][0]["probability"] - jpeg["top_k"][0]["probability"]) < 0.1


def test_the_window_classifies_a_dropped_heic_photo(qtbot, heic_photo, capsys):
    assert main(["predict", "--json", str(heic_photo[1])]) == 0
    expected = json.loads(capsys.readouterr().out)
    w = make_window(qtbot)
    assert drop_files(w.classify_tab, [heic_photo[1]])  # .heic is an image suffix: the drop is taken
    rows = w.classify_tab.model.rows
    qtbot.waitUntil(lambda: len(rows()) == 1 and rows()[0].state == DONE, timeout=60_000)
    row = rows()[0]
    assert row.error == "" and row.verdict == expected["verdict"]
    assert w.classify_tab.model.class_names[max(range(120), key=row.probabilities.__getitem__)] == expected["name"]
    qtbot.waitUntil(lambda: w.classify_tab.panel.row is not None and w.classify_tab.panel.row.state == DONE)
    assert expected["name"] in w.classify_tab.panel.verdict.text()
    qtbot.waitUntil(lambda: not w.classify_tab.panel.photo._fitted.isNull(), timeout=30_000)  # the photo shows


def test_a_build_without_pillow_heif_names_the_format(heic_photo, monkeypatch):
    """The classify-only app leaves pillow-heif out: a HEIC file there says what it is, not "not an image"."""
    from PIL import Image, UnidentifiedImageError

    from dogbreed_desktop.core.predict import preprocess

    def without_plugin(fp, *args, **kwargs):  # what Pillow says when no plugin knows the format
        raise UnidentifiedImageError(f"cannot identify image file {fp!r}")

    monkeypatch.setattr(preprocess, "HEIF", False)
    monkeypatch.setattr(Image, "open", without_plugin)
    with pytest.raises(preprocess.ImageError, match="HEIC/HEIF photo: this build cannot read them"):
        preprocess.open_image(heic_photo[1])
